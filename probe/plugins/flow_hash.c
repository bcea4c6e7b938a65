/*
 * flow_hash.c - the flow hash plugin (ipfixprobe "flow_hash").
 *
 * Exports FLOW_ID (IANA flowId, 148): the cache's flow-key hash, the same for
 * both directions of a biflow and stable for the flow's lifetime.
 */
#include "../plugin.h"

typedef struct flow_hash_rec_st {
    uint64_t flow_id;
} flow_hash_rec_t;

static const fk_field_t flow_hash_fields[] = {
    FK_U64(flow_hash_rec_t, flow_id, "FLOW_ID", "flow_id", 0, 148, 0),
};

static int flow_hash_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)hp;
    ((flow_hash_rec_t *)state)->flow_id = flow->hash;
    return FP_HOOK_OK;
}

static unsigned flow_hash_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    (void)state;
    return 1;
}

static const void *flow_hash_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return state;
}

const fp_plugin_t fp_plugin_flow_hash = {
    .abi = FP_PLUGIN_ABI,
    .name = "flow_hash",
    .summary = "Flow id: the flow-key hash, the same for both directions",
    .options = NULL,
    .fields = flow_hash_fields,
    .nfields = sizeof(flow_hash_fields) / sizeof(flow_hash_fields[0]),
    .record_size = sizeof(flow_hash_rec_t),
    .state_size = sizeof(flow_hash_rec_t),
    .post_create = flow_hash_post_create,
    .records = flow_hash_records,
    .record = flow_hash_record,
};
