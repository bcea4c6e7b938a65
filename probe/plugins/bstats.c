/*
 * bstats.c - ipfixprobe's "bstats" plugin: the first 15 bursts of each
 * direction of a biflow, each as packets, bytes, start and stop time.
 *
 * A burst is a run of at least 3 packets with payload in one direction, each
 * less than 1 s after the previous one.  Semantics follow ipfixprobe 5.7.0
 * (its conformance case on bstats.pcap):
 *   - the packet is looked at before it is added to the flow (pre_update),
 *     and so is the packet that creates the flow;
 *   - packets whose payload_len_wire (ipxp_payload.h) is 0 are ignored, and
 *     so is everything in a direction once it holds 15 bursts;
 *   - a packet less than 1 s (strictly, in microseconds) after the end of the
 *     direction's current run joins it: one more packet, its length added
 *     to the bytes, the end moved to its time.  A packet earlier than the end
 *     (the capture went back in time) joins it too, and moves the end back,
 *     as ipfixprobe's timersub/timercmp do;
 *   - otherwise the current run is kept as a burst when it has at least 3
 *     packets, else forgotten, and the packet starts a new run;
 *   - at export, a direction's current run counts as a burst when it has at
 *     least 3 packets;
 *   - a flow of at most 3 packets (both directions together) carries no
 *     record; a longer one always does, even with no bursts (empty arrays).
 * The bytes of a burst add up in 32 bits, wrapping as ipfixprobe's do.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"
#include "ipxp_payload.h"

#define BSTATS_MAX        15      /* ipfixprobe's BSTATS_MAXELENCOUNT, per direction */
#define BSTATS_MIN_PKTS   3       /* MINIMAL_PACKETS_IN_BURST */
#define BSTATS_MAX_GAP_US 1000000 /* MAXIMAL_INTERPKT_TIME, 1000 ms */

typedef struct bstats_record_st {
    uint16_t count[2]; /* bursts kept; the run being built is at index count (< BSTATS_MAX) */
    uint64_t start[2][BSTATS_MAX]; /* ns since the epoch; [0] SRC -> DST, [1] DST -> SRC */
    uint64_t stop[2][BSTATS_MAX];
    uint32_t pkts[2][BSTATS_MAX];
    uint32_t bytes[2][BSTATS_MAX];
} bstats_record_t;

/*
 * The flags, then the record's counts: they are all the cache zeroes for a
 * new flow (state_zero).  Every array element below a count, and the current
 * run at index count of a started direction, is written before it is read,
 * so the rest of the 700 bytes may hold an earlier flow's leftovers.
 */
typedef struct bstats_state_st {
    uint8_t started[2]; /* the direction has a run (a packet with payload was seen) */
    uint8_t has;        /* set at export: the flow carries a record */
    bstats_record_t r;
} bstats_state_t;

/* Template order: SBI_BRST_* then DBI_BRST_*, each packets, bytes, start, stop (CESNET 1050-1057).
 */
static const fk_field_t bstats_fields[] = {
    FK_ARRAY(FK_T_A_U32, 4, bstats_record_t, pkts[0], count[0], "SBI_BRST_PACKETS",
             "sbi_brst_packets", 8057, 1050, 0),
    FK_ARRAY(FK_T_A_U32, 4, bstats_record_t, bytes[0], count[0], "SBI_BRST_BYTES", "sbi_brst_bytes",
             8057, 1051, 0),
    FK_ARRAY(FK_T_A_TIME, 8, bstats_record_t, start[0], count[0], "SBI_BRST_TIME_START",
             "sbi_brst_time_start", 8057, 1052, 0),
    FK_ARRAY(FK_T_A_TIME, 8, bstats_record_t, stop[0], count[0], "SBI_BRST_TIME_STOP",
             "sbi_brst_time_stop", 8057, 1053, 0),
    FK_ARRAY(FK_T_A_U32, 4, bstats_record_t, pkts[1], count[1], "DBI_BRST_PACKETS",
             "dbi_brst_packets", 8057, 1054, 0),
    FK_ARRAY(FK_T_A_U32, 4, bstats_record_t, bytes[1], count[1], "DBI_BRST_BYTES", "dbi_brst_bytes",
             8057, 1055, 0),
    FK_ARRAY(FK_T_A_TIME, 8, bstats_record_t, start[1], count[1], "DBI_BRST_TIME_START",
             "dbi_brst_time_start", 8057, 1056, 0),
    FK_ARRAY(FK_T_A_TIME, 8, bstats_record_t, stop[1], count[1], "DBI_BRST_TIME_STOP",
             "dbi_brst_time_stop", 8057, 1057, 0),
};

/* bstats takes no options; any given is an error (STYLE.md rule 10). */
static int bstats_init(void **ctx, const fk_opts_t *opts, fk_err_t *e)
{
    (void)ctx;
    if (opts && opts->n > 0)
        return fk_opts_lookup(opts, 0, NULL, "bstats", e);
    return 0;
}

static void bstats_start_run(bstats_record_t *r, unsigned d, uint16_t len, uint64_t ts)
{
    unsigned i = r->count[d];

    r->pkts[d][i] = 1;
    r->bytes[d][i] = len;
    r->start[d][i] = ts;
    r->stop[d][i] = ts;
}

static void bstats_update(bstats_state_t *s, const fp_hookpkt_t *hp)
{
    bstats_record_t *r = &s->r;
    const fk_packet_t *pkt = hp->pkt;
    unsigned d = hp->rev ? 1 : 0;
    uint16_t len = fp_ipxp_payload_len(pkt);
    unsigned i = r->count[d];

    if (len == 0 || i >= BSTATS_MAX)
        return;
    if (!s->started[d]) {
        s->started[d] = 1;
        bstats_start_run(r, d, len, pkt->ts_ns);
        return;
    }
    /* Compare in whole microseconds, as ipfixprobe's struct timeval. */
    int64_t gap = (int64_t)(pkt->ts_ns / 1000) - (int64_t)(r->stop[d][i] / 1000);
    if (gap < BSTATS_MAX_GAP_US) {
        r->pkts[d][i]++;
        r->bytes[d][i] += len;
        r->stop[d][i] = pkt->ts_ns;
        return;
    }
    if (r->pkts[d][i] >= BSTATS_MIN_PKTS)
        r->count[d]++;
    if (r->count[d] < BSTATS_MAX)
        bstats_start_run(r, d, len, pkt->ts_ns);
}

static int bstats_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    bstats_update(state, hp);
    return FP_HOOK_OK;
}

static int bstats_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    bstats_update(state, hp);
    return FP_HOOK_OK;
}

static void bstats_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    bstats_state_t *s = state;
    uint64_t packets = (uint64_t)flow->packets + flow->packets_rev;

    (void)ctx;
    s->has = packets > BSTATS_MIN_PKTS;
    if (!s->has)
        return;
    for (unsigned d = 0; d < 2; d++) {
        uint16_t i = s->r.count[d];
        /* A direction without packets has no run (its pkts[d][0] is stale). */
        if (s->started[d] && i < BSTATS_MAX && s->r.pkts[d][i] >= BSTATS_MIN_PKTS)
            s->r.count[d]++;
    }
}

static unsigned bstats_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const bstats_state_t *)state)->has ? 1 : 0;
}

static const void *bstats_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const bstats_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_bstats = {
    .abi = FP_PLUGIN_ABI,
    .name = "bstats",
    .summary = "first 15 bursts per direction (>= 3 packets, < 1 s apart): packets, bytes, times",
    .fields = bstats_fields,
    .nfields = sizeof(bstats_fields) / sizeof(bstats_fields[0]),
    .record_size = sizeof(bstats_record_t),
    .state_size = sizeof(bstats_state_t),
    .state_zero = offsetof(bstats_state_t, r.start),
    .init = bstats_init,
    .post_create = bstats_post_create,
    .pre_update = bstats_pre_update,
    .pre_export = bstats_pre_export,
    .records = bstats_records,
    .record = bstats_record,
};
