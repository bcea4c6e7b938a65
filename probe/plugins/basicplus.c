/*
 * basicplus.c - ipfixprobe's "basicplus" plugin: IP TTL and flags, TCP window,
 * options, MSS and SYN size, per direction.
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on http.pcap):
 *   - the first packet of each direction sets IP_FLG, TCP_WIN, TCP_OPT and
 *     TCP_MSS of that direction; later packets do not change them;
 *   - IP_TTL is the largest TTL seen in the direction;
 *   - TCP_SYN_SIZE is the IP total length of the flow's first packet when that
 *     packet is a bare SYN (flags exactly SYN), else 0;
 *   - TCP_OPT is the IPFIX tcpOptions (IE 209) bit field as ipfixprobe holds
 *     it: option kind k is bit k counted from the most significant bit of the
 *     first octet in network order, and ipfixprobe reads those eight octets as
 *     a little-endian integer.  So kind k is integer bit 8*(k/8) + 7 - k%8
 *     (NOP=1 -> 0x40, timestamps=8 -> 0x8000; the reference shows 32832 for
 *     NOP,NOP,TS).
 *   - a record is attached to every flow (ipfixprobe adds the extension in
 *     post_create unconditionally).
 */
#include <stdint.h>
#include <string.h>

#include "../plugin.h"

typedef struct bp_record_st {
    uint64_t tcp_opt[2];
    uint32_t tcp_mss[2];
    uint16_t tcp_win[2];
    uint16_t tcp_syn_size;
    uint8_t ip_ttl[2];
    uint8_t ip_flg[2];
} bp_record_t;

typedef struct bp_state_st {
    bp_record_t r;
    uint8_t rev_filled;
} bp_state_t;

static const fk_field_t bp_fields[] = {
    FK_U8(bp_record_t, ip_ttl[0], "IP_TTL", "ip_ttl", 0, 192, 0),
    FK_U8(bp_record_t, ip_ttl[1], "IP_TTL_REV", "ip_ttl_rev", 29305, 192, 0),
    FK_U8(bp_record_t, ip_flg[0], "IP_FLG", "ip_flg", 0, 197, 0),
    FK_U8(bp_record_t, ip_flg[1], "IP_FLG_REV", "ip_flg_rev", 29305, 197, 0),
    FK_U16(bp_record_t, tcp_win[0], "TCP_WIN", "tcp_win", 0, 186, 0),
    FK_U16(bp_record_t, tcp_win[1], "TCP_WIN_REV", "tcp_win_rev", 29305, 186, 0),
    FK_U64(bp_record_t, tcp_opt[0], "TCP_OPT", "tcp_opt", 0, 209, 0),
    FK_U64(bp_record_t, tcp_opt[1], "TCP_OPT_REV", "tcp_opt_rev", 29305, 209, 0),
    FK_U32(bp_record_t, tcp_mss[0], "TCP_MSS", "tcp_mss", 8057, 900, 0),
    FK_U32(bp_record_t, tcp_mss[1], "TCP_MSS_REV", "tcp_mss_rev", 8057, 901, 0),
    FK_U16(bp_record_t, tcp_syn_size, "TCP_SYN_SIZE", "tcp_syn_size", 8057, 902, 0),
};

/* fk_packet_t's "bit k = kind k" to ipfixprobe's TCP_OPT value (see top). */
static uint64_t bp_opt_bits(uint64_t kinds)
{
    uint64_t out = 0;

    while (kinds) {
        unsigned k = (unsigned)__builtin_ctzll(kinds);
        kinds &= kinds - 1;
        out |= (uint64_t)1 << ((k & ~7u) | (7u - (k & 7u)));
    }
    return out;
}

static void bp_fill(bp_record_t *r, unsigned d, const fk_packet_t *pkt)
{
    r->ip_ttl[d] = pkt->ip_ttl;
    r->ip_flg[d] = pkt->ip_flags;
    r->tcp_mss[d] = pkt->tcp_mss;
    r->tcp_opt[d] = bp_opt_bits(pkt->tcp_options);
    r->tcp_win[d] = pkt->tcp_window;
}

static int bp_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    bp_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)ctx;
    (void)flow;
    bp_fill(&s->r, 0, pkt);
    if (pkt->ip_proto == 6 && pkt->tcp_flags == FK_TCP_SYN)
        s->r.tcp_syn_size = pkt->ip_len;
    return FP_HOOK_OK;
}

static int bp_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    bp_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;
    unsigned d = hp->rev ? 1 : 0;

    (void)ctx;
    (void)flow;
    if (s->r.ip_ttl[d] < pkt->ip_ttl)
        s->r.ip_ttl[d] = pkt->ip_ttl;
    if (d && !s->rev_filled) {
        bp_fill(&s->r, 1, pkt);
        s->rev_filled = 1;
    }
    return FP_HOOK_OK;
}

static unsigned bp_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    (void)state;
    return 1;
}

static const void *bp_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const bp_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_basicplus = {
    .abi = FP_PLUGIN_ABI,
    .name = "basicplus",
    .summary = "IP TTL/flags and TCP window, options, MSS and SYN size per direction",
    .fields = bp_fields,
    .nfields = sizeof(bp_fields) / sizeof(bp_fields[0]),
    .record_size = sizeof(bp_record_t),
    .state_size = sizeof(bp_state_t),
    .post_create = bp_post_create,
    .pre_update = bp_pre_update,
    .records = bp_records,
    .record = bp_record,
};
