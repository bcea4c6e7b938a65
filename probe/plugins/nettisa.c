/*
 * nettisa.c - ipfixprobe's "nettisa" plugin: the NetTiSA flow statistics
 * (Koumar et al., "NetTiSA: Extended IP flow with time-series features for
 * universal bandwidth-constrained high-speed network traffic
 * classification", Computer Networks 2024) over payload lengths and packet
 * times of the whole biflow.
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on mixed.pcap).
 * The values are what ipfixprobe computes, including where that departs
 * from the statistics' textbook definitions; the float/double/integer mix
 * of every expression is kept, because it decides the printed digits:
 *   - lengths are ipfixprobe's payload_len_wire (ipxp_payload.h), times are
 *     microseconds; every packet counts, n is the flow's packet count so far
 *     (after this packet);
 *   - MEAN, MEAN_SCALED_TIME (time since the flow's first packet) and
 *     MEAN_DIFFTIMES (time since the previous packet) are running means in
 *     float: m += (x - m) / n;
 *   - STDEV is sqrt(mean of squares - (sum / n)^2), with sum / n an integer
 *     division (so a fractional mean is truncated first); KURTOSIS is the
 *     sum of (x - running mean)^4 over n * STDEV^4, or 0 when STDEV is 0;
 *     ROOT_MEAN_SQUARE is sqrt(sum of squares / n); AVERAGE_DISPERSION the
 *     mean of |x - running mean| taken before the mean includes x;
 *   - TIME_DISTRIBUTION is the sum of |running MEAN_DIFFTIMES - difftime|
 *     over n - 1, divided by (MAX_DIFFTIMES - NTS_MIN): ipfixprobe divides
 *     by the smallest *length*, not the smallest time difference.  A zero or
 *     negative denominator gives inf or nan, printed as such;
 *   - MIN_DIFFTIMES is always 0 (the first packet's difference to itself);
 *   - SWITCHING_RATIO counts the packets whose frame length differs from
 *     the previous counted one (starting from 0), over n;
 *   - a packet earlier than the previous one (the capture went back in
 *     time) makes an unsigned 64-bit difference wrap: ipfixprobe then counts
 *     a difference of about 1.8e19 us, and a time before the flow's first
 *     packet likewise.  Reproduced;
 *   - a flow of one packet carries no record.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"
#include "ipxp_payload.h"

typedef struct nettisa_record_st {
    float mean;
    float stdev;
    float kurtosis;
    float root_mean_square;
    float average_dispersion;
    float mean_scaled_time;
    float mean_difftimes;
    float min_difftimes;
    float max_difftimes;
    float time_distribution;
    float switching_ratio;
    uint16_t min;
    uint16_t max;
} nettisa_record_t;

/* While the flow lives, some record members hold sums that pre_export turns into the values. */
typedef struct nettisa_state_st {
    nettisa_record_t r;
    uint64_t prev_us;     /* time of the previous packet */
    uint64_t sum_payload; /* sum of lengths */
    uint16_t prev_frame;  /* frame length of the last packet that switched */
    uint8_t has;          /* set at export: the flow carries a record */
} nettisa_state_t;

/* Template order: NTS_MEAN ... NTS_SWITCHING_RATIO (CESNET 1020-1032). */
static const fk_field_t nettisa_fields[] = {
    FK_FLT(nettisa_record_t, mean, "NTS_MEAN", "nts_mean", 8057, 1020, 0),
    FK_U16(nettisa_record_t, min, "NTS_MIN", "nts_min", 8057, 1021, 0),
    FK_U16(nettisa_record_t, max, "NTS_MAX", "nts_max", 8057, 1022, 0),
    FK_FLT(nettisa_record_t, stdev, "NTS_STDEV", "nts_stdev", 8057, 1023, 0),
    FK_FLT(nettisa_record_t, kurtosis, "NTS_KURTOSIS", "nts_kurtosis", 8057, 1024, 0),
    FK_FLT(nettisa_record_t, root_mean_square, "NTS_ROOT_MEAN_SQUARE", "nts_root_mean_square", 8057,
           1025, 0),
    FK_FLT(nettisa_record_t, average_dispersion, "NTS_AVERAGE_DISPERSION", "nts_average_dispersion",
           8057, 1026, 0),
    FK_FLT(nettisa_record_t, mean_scaled_time, "NTS_MEAN_SCALED_TIME", "nts_mean_scaled_time", 8057,
           1027, 0),
    FK_FLT(nettisa_record_t, mean_difftimes, "NTS_MEAN_DIFFTIMES", "nts_mean_difftimes", 8057, 1028,
           0),
    FK_FLT(nettisa_record_t, min_difftimes, "NTS_MIN_DIFFTIMES", "nts_min_difftimes", 8057, 1029,
           0),
    FK_FLT(nettisa_record_t, max_difftimes, "NTS_MAX_DIFFTIMES", "nts_max_difftimes", 8057, 1030,
           0),
    FK_FLT(nettisa_record_t, time_distribution, "NTS_TIME_DISTRIBUTION", "nts_time_distribution",
           8057, 1031, 0),
    FK_FLT(nettisa_record_t, switching_ratio, "NTS_SWITCHING_RATIO", "nts_switching_ratio", 8057,
           1032, 0),
};

/* nettisa takes no options; any given is an error (STYLE.md rule 10). */
static int nettisa_init(void **ctx, const fk_opts_t *opts, fk_err_t *e)
{
    (void)ctx;
    if (opts && opts->n > 0)
        return fk_opts_lookup(opts, 0, NULL, "nettisa", e);
    return 0;
}

/* One packet; the expression types mirror ipfixprobe's (see top). */
static void nettisa_update(nettisa_state_t *s, const fp_flow_t *flow, const fk_packet_t *pkt)
{
    nettisa_record_t *r = &s->r;
    uint16_t len = fp_ipxp_payload_len(pkt);
    float variation = (float)len - r->mean;
    uint32_t n = flow->packets + flow->packets_rev;
    uint64_t now_us = pkt->ts_ns / 1000;
    uint64_t first_us = flow->time_first / 1000;
    float diff = (float)fmax((double)(now_us - s->prev_us), 0); /* unsigned: wraps backwards */

    s->sum_payload += len;
    s->prev_us = now_us;
    r->mean += variation / (float)n;
    if (len < r->min)
        r->min = len;
    if (len > r->max)
        r->max = len;
    /* pow(len, 2) of a 16-bit length is exact, so is the product (< 2^32). */
    r->root_mean_square += (double)len * len;
    r->average_dispersion += fabsf(variation);
    r->kurtosis += pow(variation, 4);
    r->mean_scaled_time += ((float)(now_us - first_us) - r->mean_scaled_time) / (float)n;
    r->mean_difftimes += (diff - r->mean_difftimes) / (float)n;
    r->min_difftimes = fminf(r->min_difftimes, diff);
    r->max_difftimes = fmaxf(r->max_difftimes, diff);
    r->time_distribution += fabsf(r->mean_difftimes - diff);
    if (s->prev_frame != (uint16_t)pkt->wirelen) {
        r->switching_ratio += 1;
        s->prev_frame = (uint16_t)pkt->wirelen;
    }
}

static int nettisa_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    nettisa_state_t *s = state;

    (void)ctx;
    s->r.min = UINT16_MAX;
    s->r.min_difftimes = FLT_MAX;
    s->prev_us = hp->pkt->ts_ns / 1000;
    nettisa_update(s, flow, hp->pkt);
    return FP_HOOK_OK;
}

static int nettisa_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    nettisa_update(state, flow, hp->pkt);
    return FP_HOOK_OK;
}

/* Turn the sums into the exported values, as ipfixprobe's pre_export. */
static void nettisa_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    nettisa_state_t *s = state;
    nettisa_record_t *r = &s->r;
    uint32_t n = flow->packets + flow->packets_rev;

    (void)ctx;
    s->has = n > 1;
    if (!s->has)
        return;
    r->switching_ratio = r->switching_ratio / (float)n;
    r->stdev =
        (float)pow(r->root_mean_square / (float)n - pow((double)(s->sum_payload / n), 2), 0.5);
    if (r->stdev == 0)
        r->kurtosis = 0;
    else
        r->kurtosis = (float)(r->kurtosis / ((double)n * pow(r->stdev, 4)));
    r->time_distribution =
        (r->time_distribution / (float)(n - 1)) / (r->max_difftimes - (float)r->min);
    r->root_mean_square = (float)pow(r->root_mean_square / (float)n, 0.5);
    r->average_dispersion = r->average_dispersion / (float)n;
}

static unsigned nettisa_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const nettisa_state_t *)state)->has ? 1 : 0;
}

static const void *nettisa_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const nettisa_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_nettisa = {
    .abi = FP_PLUGIN_ABI,
    .name = "nettisa",
    .summary = "NetTiSA statistics of payload lengths and packet times (13 values)",
    .fields = nettisa_fields,
    .nfields = sizeof(nettisa_fields) / sizeof(nettisa_fields[0]),
    .record_size = sizeof(nettisa_record_t),
    .state_size = sizeof(nettisa_state_t),
    .init = nettisa_init,
    .post_create = nettisa_post_create,
    .post_update = nettisa_post_update,
    .pre_export = nettisa_pre_export,
    .records = nettisa_records,
    .record = nettisa_record,
};
