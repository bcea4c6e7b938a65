/*
 * icmp.c - the ICMP plugin (ipfixprobe "icmp").
 *
 * Exports the ICMP / ICMPv6 type and code of the flow's first packet as one
 * uint16 (type in the high byte), L4_ICMP_TYPE_CODE, IANA icmpTypeCodeIPv4
 * (32) as ipfixprobe does for both versions.  Other flows carry no record.
 */
#include "../plugin.h"

#define PROTO_ICMP   1
#define PROTO_ICMPV6 58

typedef struct icmp_rec_st {
    uint16_t type_code; /* type << 8 | code */
    uint8_t present;    /* the first packet had an ICMP header */
} icmp_rec_t;

static const fk_field_t icmp_fields[] = {
    FK_U16(icmp_rec_t, type_code, "L4_ICMP_TYPE_CODE", "icmp_type_code", 0, 32, 0),
};

static int icmp_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    icmp_rec_t *r = state;
    const fk_packet_t *p = hp->pkt;

    (void)ctx;
    (void)flow;
    if ((p->ip_proto != PROTO_ICMP && p->ip_proto != PROTO_ICMPV6) || p->layer_ok < FK_LAYER_L4)
        return FP_HOOK_OK;
    r->type_code = (uint16_t)(p->icmp_type << 8 | p->icmp_code);
    r->present = 1;
    return FP_HOOK_OK;
}

static unsigned icmp_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const icmp_rec_t *)state)->present ? 1 : 0;
}

static const void *icmp_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return state;
}

const fp_plugin_t fp_plugin_icmp = {
    .abi = FP_PLUGIN_ABI,
    .name = "icmp",
    .summary = "ICMP / ICMPv6 type and code of the flow's first packet",
    .options = NULL,
    .fields = icmp_fields,
    .nfields = sizeof(icmp_fields) / sizeof(icmp_fields[0]),
    .record_size = sizeof(icmp_rec_t),
    .state_size = sizeof(icmp_rec_t),
    .post_create = icmp_post_create,
    .records = icmp_records,
    .record = icmp_record,
};
