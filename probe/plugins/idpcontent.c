/*
 * idpcontent.c - ipfixprobe's "idpcontent" plugin: the first bytes of the
 * initial data packet of each direction.
 *
 * As ipfixprobe 5.7.0: the first packet of a direction that has payload gives
 * min(100, captured payload bytes) bytes (any transport: TCP, UDP, other IP);
 * later packets do not change it.  Every flow carries a record (empty values
 * when a direction had no payload).
 */
#include <stdint.h>
#include <string.h>

#include "../plugin.h"

#define IDP_CONTENT_SIZE 100

typedef struct idp_record_st {
    uint16_t len[2];
    uint8_t data[2][IDP_CONTENT_SIZE];
} idp_record_t;

static const fk_field_t idp_fields[] = {
    FK_BYTES(idp_record_t, data[0], len[0], "IDP_CONTENT", "idp_content", 8057, 850, 0),
    FK_BYTES(idp_record_t, data[1], len[1], "IDP_CONTENT_REV", "idp_content_rev", 8057, 851, 0),
};

static void idp_update(idp_record_t *r, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    unsigned d = hp->rev ? 1 : 0;
    uint32_t n;

    if (r->len[d] || !pkt->payload || pkt->payload_len == 0)
        return;
    n = pkt->payload_len < IDP_CONTENT_SIZE ? pkt->payload_len : IDP_CONTENT_SIZE;
    memcpy(r->data[d], pkt->payload, n);
    r->len[d] = (uint16_t)n;
}

static int idp_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    idp_update(state, hp);
    return FP_HOOK_OK;
}

static int idp_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    idp_update(state, hp);
    return FP_HOOK_OK;
}

static unsigned idp_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    (void)state;
    return 1;
}

static const void *idp_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return state;
}

const fp_plugin_t fp_plugin_idpcontent = {
    .abi = FP_PLUGIN_ABI,
    .name = "idpcontent",
    .summary = "first 100 payload bytes of each direction",
    .fields = idp_fields,
    .nfields = sizeof(idp_fields) / sizeof(idp_fields[0]),
    .record_size = sizeof(idp_record_t),
    .state_size = sizeof(idp_record_t),
    .post_create = idp_post_create,
    .post_update = idp_post_update,
    .records = idp_records,
    .record = idp_record,
};
