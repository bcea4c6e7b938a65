/*
 * pstats.c - ipfixprobe's "pstats" plugin: length, time, TCP flags and
 * direction of the first 30 packets of a biflow (the "packet sequence" view
 * that traffic classifiers feed on).
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on mixed.pcap):
 *   - every packet of the flow is looked at (post_create and post_update);
 *     a packet is recorded while fewer than 30 are, the rest are ignored;
 *   - the length is ipfixprobe's payload_len_wire (ipxp_payload.h: for ICMP
 *     the whole IP payload); a packet with length 0 is skipped unless the
 *     option includezeroes is given;
 *   - direction is 1 for SRC -> DST and -1 for DST -> SRC; the flags are the
 *     TCP flags byte (0 for other protocols);
 *   - option skipdup drops a TCP packet that repeats the previous one of its
 *     direction: sequence and acknowledgment numbers not ahead of the
 *     previous ones (RFC 9293 3.4 modular order, ipfixprobe's own wrap test),
 *     same captured payload length and same flags.  Nothing is dropped
 *     while no packet is recorded (so never the flow's first packet).  The
 *     "previous packet" is updated by every packet not dropped, zero-length
 *     ones included.  It starts zeroed, so the first packet of the reverse
 *     direction is compared with seq 0, ack 0, length 0, no flags
 *     (ipfixprobe compares it with uninitialised memory);
 *   - a flow of one packet with SYN set (a port scan, mostly) carries no
 *     record; every other flow does, even with no packet recorded.
 *
 * ipfixprobe spells the first option "includezeroes" in its source and
 * "includezeros" in its README; both are accepted here.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"
#include "ipxp_payload.h"

#define PSTATS_MAX      30 /* ipfixprobe's PSTATS_MAXELEMCOUNT */
#define PSTATS_MINLEN   1  /* flows of at most this many SYN packets carry no record */
#define PSTATS_ZEROS    0x1
#define PSTATS_SKIPDUP  0x2
#define PSTATS_TCP      6
#define PSTATS_WRAP_LIM -4252017623LL /* ipfixprobe's threshold for a wrapped seq/ack */

typedef struct pstats_record_st {
    uint16_t count; /* packets recorded, <= PSTATS_MAX; shared by all four arrays */
    uint16_t lengths[PSTATS_MAX];
    uint8_t flags[PSTATS_MAX];
    int8_t dirs[PSTATS_MAX];
    uint64_t times[PSTATS_MAX]; /* ns since the epoch */
} pstats_record_t;

/*
 * The last packet not dropped as a duplicate, per direction (0 = SRC -> DST),
 * then the record.  Only the bytes up to r.count's end are zeroed when a flow
 * is created (state_zero): the arrays are written before they are read.
 */
typedef struct pstats_state_st {
    uint32_t seq[2];
    uint32_t ack[2];
    uint16_t len[2]; /* captured payload bytes, as ipfixprobe's payload_len */
    uint8_t tcp_flags[2];
    pstats_record_t r;
} pstats_state_t;

#define PSTATS_ZERO \
    (offsetof(pstats_state_t, r) + offsetof(pstats_record_t, count) + sizeof(uint16_t))

static const fk_optspec_t pstats_opts[] = {
    {"i", "includezeroes", NULL, "also record packets without payload"},
    {NULL, "includezeros", NULL, "same as includezeroes (the spelling of ipfixprobe's README)"},
    {"s", "skipdup", NULL, "skip retransmitted (duplicate) TCP packets"},
    {NULL, NULL, NULL, NULL},
};

/* Template order: STATS_PCKT_SIZES, _TIMESTAMPS, _TCPFLGS, _DIRECTIONS (CESNET 1013-1016). */
static const fk_field_t pstats_fields[] = {
    FK_ARRAY(FK_T_A_U16, 2, pstats_record_t, lengths, count, "PPI_PKT_LENGTHS", "ppi_pkt_lengths",
             8057, 1013, 0),
    FK_ARRAY(FK_T_A_TIME, 8, pstats_record_t, times, count, "PPI_PKT_TIMES", "ppi_pkt_times", 8057,
             1014, 0),
    FK_ARRAY(FK_T_A_U8, 1, pstats_record_t, flags, count, "PPI_PKT_FLAGS", "ppi_pkt_flags", 8057,
             1015, 0),
    FK_ARRAY(FK_T_A_I8, 1, pstats_record_t, dirs, count, "PPI_PKT_DIRECTIONS", "ppi_pkt_directions",
             8057, 1016, 0),
};

static int pstats_init(void **ctx, const fk_opts_t *opts, fk_err_t *e)
{
    uintptr_t mode = 0;

    for (size_t i = 0; opts && i < opts->n; i++) {
        int k = fk_opts_lookup(opts, i, pstats_opts, "pstats", e);
        if (k < 0)
            return -1;
        mode |= k == 2 ? PSTATS_SKIPDUP : PSTATS_ZEROS;
    }
    *ctx = (void *)mode; /* the context is just the option bits */
    return 0;
}

/*
 * ipfixprobe's "cur is not ahead of prev" for 32-bit sequence space: cur <=
 * prev unless the difference is so negative that cur must have wrapped past
 * 2^32, or cur > prev only because prev is about to wrap.
 */
static int pstats_wrapped(uint32_t cur, uint32_t prev)
{
    return (int64_t)cur - (int64_t)prev < PSTATS_WRAP_LIM;
}

static int pstats_not_ahead(uint32_t cur, uint32_t prev)
{
    return (cur <= prev && !pstats_wrapped(cur, prev)) || (cur > prev && pstats_wrapped(cur, prev));
}

static void pstats_update(uintptr_t mode, pstats_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    unsigned d = hp->rev ? 1 : 0;
    uint16_t caplen = (uint16_t)pkt->payload_len;
    uint16_t len = fp_ipxp_payload_len(pkt);
    pstats_record_t *r = &s->r;

    if ((mode & PSTATS_SKIPDUP) && pkt->ip_proto == PSTATS_TCP && r->count != 0 &&
        pstats_not_ahead(pkt->tcp_seq, s->seq[d]) && pstats_not_ahead(pkt->tcp_ack, s->ack[d]) &&
        caplen == s->len[d] && pkt->tcp_flags == s->tcp_flags[d])
        return;
    s->seq[d] = pkt->tcp_seq;
    s->ack[d] = pkt->tcp_ack;
    s->len[d] = caplen;
    s->tcp_flags[d] = pkt->tcp_flags;

    if (len == 0 && !(mode & PSTATS_ZEROS))
        return;
    if (r->count >= PSTATS_MAX)
        return;
    r->lengths[r->count] = len;
    r->flags[r->count] = pkt->tcp_flags;
    r->times[r->count] = pkt->ts_ns;
    r->dirs[r->count] = hp->rev ? -1 : 1;
    r->count++;
}

static int pstats_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)flow;
    pstats_update((uintptr_t)ctx, state, hp);
    return FP_HOOK_OK;
}

static int pstats_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    const pstats_state_t *s = state;

    (void)flow;
    pstats_update((uintptr_t)ctx, state, hp);
    /* Full: later packets can change only the previous-packet memory, which
     * serves skipdup's test of packets that would not be recorded anyway. */
    return s->r.count >= PSTATS_MAX ? FP_HOOK_DONE : FP_HOOK_OK;
}

static unsigned pstats_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    uint64_t packets = (uint64_t)flow->packets + flow->packets_rev;

    (void)ctx;
    (void)state;
    if (packets <= PSTATS_MINLEN && ((flow->tcp_flags | flow->tcp_flags_rev) & FK_TCP_SYN))
        return 0;
    return 1;
}

static const void *pstats_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const pstats_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_pstats = {
    .abi = FP_PLUGIN_ABI,
    .name = "pstats",
    .summary = "lengths, times, TCP flags and directions of the first 30 packets",
    .options = pstats_opts,
    .fields = pstats_fields,
    .nfields = sizeof(pstats_fields) / sizeof(pstats_fields[0]),
    .record_size = sizeof(pstats_record_t),
    .state_size = sizeof(pstats_state_t),
    .state_zero = PSTATS_ZERO,
    .init = pstats_init,
    .post_create = pstats_post_create,
    .post_update = pstats_post_update,
    .records = pstats_records,
    .record = pstats_record,
};
