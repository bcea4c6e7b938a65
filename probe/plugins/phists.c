/*
 * phists.c - ipfixprobe's "phists" plugin: per-direction histograms of packet
 * lengths and inter-packet times on a log2 scale.
 *
 * Eight bins, for lengths in bytes and times in milliseconds alike:
 *   0-15, 16-31, 32-63, 64-127, 128-255, 256-511, 512-1023, 1024 and more.
 * A bin count stops at 2^32 - 1 instead of wrapping.
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on mixed.pcap):
 *   - every packet of the flow is looked at; the length is ipfixprobe's
 *     payload_len_wire (ipxp_payload.h: for ICMP the whole IP payload), and
 *     a packet of length 0 is skipped entirely (no length, no time) unless
 *     the option includezeroes is given;
 *   - the inter-packet time is taken between recorded packets of the same
 *     direction, on millisecond timestamps (seconds * 1000 + microseconds /
 *     1000, so sub-millisecond differences can round either way);
 *   - ipfixprobe keeps the previous timestamp in 32 bits, then subtracts it
 *     from the 64-bit one and keeps the low 32 bits of the difference as a
 *     signed number.  For real (post-1970 + 50 days) times this gives the
 *     true difference, except that a packet earlier than the previous one
 *     gives a negative difference that is binned as a huge unsigned value
 *     (last bin), and exactly -1 ms is not binned at all (it is
 *     ipfixprobe's "no previous packet" marker).  A stored timestamp whose
 *     low 32 bits are 0 reads as "no previous packet".  When the 64-bit
 *     difference itself is negative (times below 2^32 ms, i.e. the first 50
 *     days of 1970) it is clamped to 0.  All of this is reproduced;
 *   - a flow of one packet with SYN set carries no record; every other flow
 *     does.
 *
 * ipfixprobe spells the option "includezeroes" in its source and
 * "includezeros" in its README; both are accepted here.
 */
#include <stdint.h>
#include <string.h>

#include "../plugin.h"
#include "ipxp_payload.h"

#define PHISTS_BINS   8
#define PHISTS_MINLEN 1 /* flows of at most this many SYN packets carry no record */
#define PHISTS_NO_IPT (-1)

typedef struct phists_record_st {
    uint32_t sizes[2][PHISTS_BINS]; /* [0] SRC -> DST, [1] DST -> SRC */
    uint32_t ipt[2][PHISTS_BINS];
    uint16_t bins; /* always PHISTS_BINS: the arrays' element count */
} phists_record_t;

typedef struct phists_state_st {
    phists_record_t r;
    uint32_t last_ms[2]; /* ipfixprobe's 32-bit previous timestamp; 0 = none */
} phists_state_t;

static const fk_optspec_t phists_opts[] = {
    {"i", "includezeroes", NULL, "also count packets without payload"},
    {NULL, "includezeros", NULL, "same as includezeroes (the spelling of ipfixprobe's README)"},
    {NULL, NULL, NULL, NULL},
};

/* Template order: S_PHISTS_SIZES, S_PHISTS_IPT, D_PHISTS_SIZES, D_PHISTS_IPT (CESNET 1060-1063). */
static const fk_field_t phists_fields[] = {
    FK_ARRAY(FK_T_A_U32, 4, phists_record_t, sizes[0], bins, "S_PHISTS_SIZES", "s_phists_sizes",
             8057, 1060, 0),
    FK_ARRAY(FK_T_A_U32, 4, phists_record_t, ipt[0], bins, "S_PHISTS_IPT", "s_phists_ipt", 8057,
             1061, 0),
    FK_ARRAY(FK_T_A_U32, 4, phists_record_t, sizes[1], bins, "D_PHISTS_SIZES", "d_phists_sizes",
             8057, 1062, 0),
    FK_ARRAY(FK_T_A_U32, 4, phists_record_t, ipt[1], bins, "D_PHISTS_IPT", "d_phists_ipt", 8057,
             1063, 0),
};

static int phists_init(void **ctx, const fk_opts_t *opts, fk_err_t *e)
{
    uintptr_t zeros = 0;

    for (size_t i = 0; opts && i < opts->n; i++) {
        if (fk_opts_lookup(opts, i, phists_opts, "phists", e) < 0)
            return -1;
        zeros = 1;
    }
    *ctx = (void *)zeros; /* the context is just the includezeroes flag */
    return 0;
}

/* Bin of a value: 0 below 16, 7 from 1024 on, else floor(log2(v)) - 3. */
static unsigned phists_bin(uint32_t v)
{
    if (v < 16)
        return 0;
    if (v > 1023)
        return PHISTS_BINS - 1;
    return (unsigned)(31 - __builtin_clz(v)) - 3;
}

static void phists_count(uint32_t *hist, uint32_t v)
{
    unsigned b = phists_bin(v);

    if (hist[b] != UINT32_MAX)
        hist[b]++;
}

/* The inter-packet time as ipfixprobe computes it (see top), or PHISTS_NO_IPT. */
static int32_t phists_ipt(phists_state_t *s, unsigned d, uint64_t ts_ns)
{
    int64_t ms = (int64_t)(ts_ns / 1000 / 1000); /* via whole microseconds, as a timeval */
    int64_t diff;

    if (s->last_ms[d] == 0) {
        s->last_ms[d] = (uint32_t)ms;
        return PHISTS_NO_IPT;
    }
    diff = ms - (int64_t)s->last_ms[d];
    s->last_ms[d] = (uint32_t)ms;
    if (diff < 0)
        diff = 0;
    return (int32_t)(uint32_t)diff; /* the low 32 bits, two's complement */
}

static void phists_update(uintptr_t zeros, phists_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    unsigned d = hp->rev ? 1 : 0;
    uint16_t len = fp_ipxp_payload_len(pkt);
    int32_t ipt;

    if (len == 0 && !zeros)
        return;
    phists_count(s->r.sizes[d], len);
    ipt = phists_ipt(s, d, pkt->ts_ns);
    if (ipt != PHISTS_NO_IPT)
        phists_count(s->r.ipt[d], (uint32_t)ipt);
}

static int phists_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    phists_state_t *s = state;

    (void)flow;
    s->r.bins = PHISTS_BINS;
    phists_update((uintptr_t)ctx, s, hp);
    return FP_HOOK_OK;
}

static int phists_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)flow;
    phists_update((uintptr_t)ctx, state, hp);
    return FP_HOOK_OK;
}

static unsigned phists_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    uint64_t packets = (uint64_t)flow->packets + flow->packets_rev;

    (void)ctx;
    (void)state;
    if (packets <= PHISTS_MINLEN && ((flow->tcp_flags | flow->tcp_flags_rev) & FK_TCP_SYN))
        return 0;
    return 1;
}

static const void *phists_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const phists_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_phists = {
    .abi = FP_PLUGIN_ABI,
    .name = "phists",
    .summary = "log2 histograms of packet lengths and inter-packet times per direction",
    .options = phists_opts,
    .fields = phists_fields,
    .nfields = sizeof(phists_fields) / sizeof(phists_fields[0]),
    .record_size = sizeof(phists_record_t),
    .state_size = sizeof(phists_state_t),
    .init = phists_init,
    .post_create = phists_post_create,
    .post_update = phists_post_update,
    .records = phists_records,
    .record = phists_record,
};
