/*
 * ssadetector.c - ipfixprobe's "ssadetector" plugin: a tunnelled TCP
 * handshake shows as a SYN, SYN-ACK, ACK pattern in the payload lengths of
 * the outer flow; several such patterns suggest a VPN.
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on ovpn.pcap):
 *   - packets are looked at once the flow has at least 30 packets (counting
 *     the packet at hand), and only those with 60..150 captured payload
 *     octets;
 *   - per direction and per length, the time of the last such packet is
 *     kept in a table (index = length - 60);
 *   - a packet of length L in one direction completes a pattern when a
 *     packet of the other direction with a length in [L - 12, L] was kept
 *     less than 3 s ago (3 000 000 us or less; a time in the future counts
 *     too); the table is then cleared, L is remembered (the first 100) and
 *     the pattern counted; otherwise the packet is kept.
 *     ipfixprobe meant a third stage: SYN (kept), SYN-ACK (a reverse packet
 *     up to 10 octets longer, kept in a second table), ACK (matched against
 *     the second table up to 12 octets back).  Its ACK test reads the first
 *     table, so the SYN-ACK stage is never reached and any SYN / SYN-ACK
 *     pair counts; flowprobe reproduces that, and so keeps no second table.
 *   - at export, flows of 30 packets or fewer carry no record.  The level is
 *     1 when at least 3 patterns were seen, at most one per 2500 packets,
 *     and the remembered lengths are repetitive enough: distinct lengths /
 *     remembered lengths at most 0.6 (fewer than 15 patterns), 0.4 (fewer
 *     than 40) or 0.2 (more); else 0.
 *   - times are compared in microseconds, as ipfixprobe's timevals.  A slot
 *     never written is empty (ipfixprobe's zero timeval would count as
 *     recent in the first 3 s of 1970; flowprobe keeps 0 for "empty").
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"

#define SSA_MIN_LEN       60
#define SSA_MAX_LEN       150
#define SSA_TABLE_SIZE    (SSA_MAX_LEN - SSA_MIN_LEN + 1)
#define SSA_LOOKBACK      12      /* a reply may be up to this many octets shorter */
#define SSA_WINDOW_US     3000000 /* a reply within this much time */
#define SSA_LENS_MAX      100     /* pattern lengths remembered */
#define SSA_MIN_PACKETS   30      /* flow packets before looking, and for a record */
#define SSA_MIN_SUSPECTS  3
#define SSA_PKTS_PER_SUSP 2500 /* at most this many flow packets per pattern */
#define SSA_LOW_SUSPECTS  15
#define SSA_MID_SUSPECTS  40
#define SSA_LOW_RATIO     0.6
#define SSA_MID_RATIO     0.4
#define SSA_HIGH_RATIO    0.2

typedef struct ssa_record_st {
    uint8_t conf; /* SSA_CONF_LEVEL */
} ssa_record_t;

/*
 * Flags and counts first: they are all the cache zeroes for a new flow
 * (state_zero).  lens[] is read only as far as nlens counts, and seen[] is
 * cleared when a flow first has a packet to look at (seen_init), so most
 * flows -- fewer than 30 packets, or none of 60..150 octets -- never pay
 * for its 1.5 kB.
 */
typedef struct ssa_state_st {
    ssa_record_t r;
    uint8_t has;                /* set at export: the flow has enough packets */
    uint8_t nlens;              /* entries of lens[] used, <= SSA_LENS_MAX */
    uint8_t seen_init;          /* seen[] has been cleared for this flow */
    uint64_t suspects;          /* patterns seen */
    uint8_t lens[SSA_LENS_MAX]; /* payload length of each pattern's last packet */
    /* [length - SSA_MIN_LEN][direction]: capture time in us of the last
     * packet kept, 0 = none since the last pattern. */
    uint64_t seen[SSA_TABLE_SIZE][2];
} ssa_state_t;

static const fk_field_t ssa_fields[] = {
    FK_U8(ssa_record_t, conf, "SSA_CONF_LEVEL", "ssa_conf_level", 8057, 903, 0),
};

/* A packet of the other direction with a length in [len - SSA_LOOKBACK, len], recent enough. */
static bool ssa_match(const ssa_state_t *s, unsigned idx, unsigned dir, uint64_t now_us)
{
    unsigned lo = idx > SSA_LOOKBACK ? idx - SSA_LOOKBACK : 0;

    for (unsigned i = lo; i <= idx; i++) {
        uint64_t t = s->seen[i][dir];
        /* ipfixprobe computes now - t signed: a kept time after now matches. */
        if (t != 0 && (t >= now_us || now_us - t <= SSA_WINDOW_US))
            return true;
    }
    return false;
}

static void ssa_update(ssa_state_t *s, const fk_packet_t *pkt, uint8_t rev)
{
    uint32_t len = pkt->payload_len;
    uint64_t now_us = pkt->ts_ns / 1000;
    unsigned idx;

    if (len < SSA_MIN_LEN || len > SSA_MAX_LEN)
        return;
    idx = len - SSA_MIN_LEN;
    if (!s->seen_init) {
        memset(s->seen, 0, sizeof(s->seen));
        s->seen_init = 1;
    }
    if (ssa_match(s, idx, !rev, now_us)) {
        memset(s->seen, 0, sizeof(s->seen));
        if (s->nlens < SSA_LENS_MAX)
            s->lens[s->nlens++] = (uint8_t)len;
        s->suspects++;
        return;
    }
    s->seen[idx][rev] = now_us;
}

static int ssa_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    if ((uint64_t)flow->packets + flow->packets_rev >= SSA_MIN_PACKETS)
        ssa_update(state, hp->pkt, hp->rev);
    return FP_HOOK_OK;
}

/* Distinct values among lens[0..n) over n (n > 0). */
static double ssa_classes_ratio(const uint8_t *lens, unsigned n)
{
    uint8_t seen[256 / 8] = {0};
    unsigned distinct = 0;

    for (unsigned i = 0; i < n; i++) {
        if (!(seen[lens[i] >> 3] & (1u << (lens[i] & 7)))) {
            seen[lens[i] >> 3] |= (uint8_t)(1u << (lens[i] & 7));
            distinct++;
        }
    }
    return (double)distinct / (double)n;
}

static void ssa_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    ssa_state_t *s = state;
    uint64_t packets = (uint64_t)flow->packets + flow->packets_rev;
    double max_ratio;

    (void)ctx;
    s->has = packets > SSA_MIN_PACKETS;
    s->r.conf = 0;
    if (!s->has || s->suspects < SSA_MIN_SUSPECTS)
        return;
    if ((double)packets / (double)s->suspects > SSA_PKTS_PER_SUSP)
        return;
    if (s->suspects < SSA_LOW_SUSPECTS)
        max_ratio = SSA_LOW_RATIO;
    else if (s->suspects < SSA_MID_SUSPECTS)
        max_ratio = SSA_MID_RATIO;
    else
        max_ratio = SSA_HIGH_RATIO;
    if (ssa_classes_ratio(s->lens, s->nlens) > max_ratio)
        return;
    s->r.conf = 1;
}

static unsigned ssa_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const ssa_state_t *)state)->has ? 1 : 0;
}

static const void *ssa_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const ssa_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_ssadetector = {
    .abi = FP_PLUGIN_ABI,
    .name = "ssadetector",
    .summary = "SYN / SYN-ACK / ACK pattern in payload lengths: a tunnelled TCP handshake (VPN)",
    .fields = ssa_fields,
    .nfields = sizeof(ssa_fields) / sizeof(ssa_fields[0]),
    .record_size = sizeof(ssa_record_t),
    .state_size = sizeof(ssa_state_t),
    .state_zero = offsetof(ssa_state_t, lens),
    .post_update = ssa_post_update,
    .pre_export = ssa_pre_export,
    .records = ssa_records,
    .record = ssa_record,
};
