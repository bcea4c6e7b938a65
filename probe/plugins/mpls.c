/*
 * mpls.c - the MPLS plugin (ipfixprobe "mpls").
 *
 * Exports the top label stack entry of the flow's first packet without its
 * TTL: the 3 bytes label(20) | TC(3) | S(1) in network order, as ipfixprobe's
 * MPLS_TOP_LABEL_STACK_SECTION (bytes; IANA mplsTopLabelStackSection, 70).
 * Flows whose first packet had no MPLS header carry no record.
 */
#include "../plugin.h"

#define SECTION_LEN 3

typedef struct mpls_rec_st {
    uint8_t section[SECTION_LEN]; /* top LSE without the TTL byte */
    uint16_t section_len;         /* SECTION_LEN, or 0 = no MPLS */
} mpls_rec_t;

static const fk_field_t mpls_fields[] = {
    FK_BYTES(mpls_rec_t, section, section_len, "MPLS_TOP_LABEL_STACK_SECTION",
             "mpls_top_label_stack_section", 0, 70, 0),
};

static int mpls_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    mpls_rec_t *r = state;
    uint32_t lse;

    (void)ctx;
    (void)flow;
    if (!hp->pkt->mpls_count)
        return FP_HOOK_OK;
    lse = hp->pkt->mpls[0];
    r->section[0] = (uint8_t)(lse >> 24);
    r->section[1] = (uint8_t)(lse >> 16);
    r->section[2] = (uint8_t)(lse >> 8);
    r->section_len = SECTION_LEN;
    return FP_HOOK_OK;
}

static unsigned mpls_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const mpls_rec_t *)state)->section_len ? 1 : 0;
}

static const void *mpls_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return state;
}

const fp_plugin_t fp_plugin_mpls = {
    .abi = FP_PLUGIN_ABI,
    .name = "mpls",
    .summary = "Top MPLS label stack entry (label, TC, S; no TTL) of the flow's first packet",
    .options = NULL,
    .fields = mpls_fields,
    .nfields = sizeof(mpls_fields) / sizeof(mpls_fields[0]),
    .record_size = sizeof(mpls_rec_t),
    .state_size = sizeof(mpls_rec_t),
    .post_create = mpls_post_create,
    .records = mpls_records,
    .record = mpls_record,
};
