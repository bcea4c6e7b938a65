/*
 * test_plugin_ssadetector.c - the ssadetector plugin, driven through the real
 * packet parser and flow cache: a "SYN" of one direction answered within 3 s
 * by a reverse packet 0..12 octets longer is a pattern; three or more
 * repetitive ones give level 1.  Each rule is checked on both sides of its
 * boundary: the 30-packet gate, the time window, the length window and range,
 * direction, the table reset after a pattern, the distinct-length tiers,
 * packets per pattern, more than 100 patterns, truncated captures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#define SEC  1000000000ULL
#define MS   1000000ULL
#define US   1000ULL
#define MAXF 16

#include "tests/common/plugintest.h"

static fp_cache_t *start(void)
{
    fp_cache_cfg_t cfg;
    fp_cache_cfg_default(&cfg);
    cfg.active_s = 100000; /* long sessions stay one flow */
    cfg.inactive_s = 100000;
    return pt_start_cfg("ssadetector", collect, &cfg);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

static uint16_t g_cport = 40000; /* the client port: the flow */

/*
 * A raw IPv4/TCP frame 10.0.0.1:40000 -> 10.0.0.2:443 (fwd) or back with `n`
 * payload octets at time t; `cap` (0 = all) bytes are captured, in a heap
 * block of exactly that size.
 */
static void put_cap(fp_cache_t *c, int fwd, size_t n, size_t cap, uint64_t t)
{
    static uint8_t pay[2048];
    assert_true(n <= sizeof(pay));
    memset(pay, 0xa5, n);
    assert_true(pt_put4(c, fwd, g_cport, 443, 6, FK_TCP_ACK | 0x08, pay, n, cap, 0, t));
}

static uint64_t g_t;

static void put(fp_cache_t *c, int fwd, size_t n, uint64_t t)
{
    put_cap(c, fwd, n, 0, t);
}

/* The 30 packets before the detector looks; no payload, so no pattern. */
static void warmup(fp_cache_t *c)
{
    g_t = 1000 * SEC;
    for (int i = 0; i < 30; i++)
        put(c, i & 1, 0, g_t += MS);
}

/* SRC sends `s` octets, DST answers `r` octets `dt` later; then 4 s pass. */
static void pair(fp_cache_t *c, size_t s, size_t r, uint64_t dt)
{
    put(c, 1, s, g_t);
    put(c, 0, r, g_t + dt);
    g_t += 4 * SEC;
}

/* Level of a flow of warm-up, two patterns 116 -> 120, and `extra`. */
static unsigned level_with(void (*extra)(fp_cache_t *, const void *), const void *arg)
{
    fp_cache_t *c = start();
    warmup(c);
    pair(c, 116, 120, MS);
    pair(c, 116, 120, MS);
    extra(c, arg);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    return (unsigned)u64(0, "SSA_CONF_LEVEL");
}

typedef struct pair_arg_st {
    size_t s, r;
    uint64_t dt;
} pair_arg_t;

static void extra_pair(fp_cache_t *c, const void *arg)
{
    const pair_arg_t *p = arg;
    pair(c, p->s, p->r, p->dt);
}

/* Three patterns s -> r, the third answered after dt. */
static unsigned level_pair(size_t s, size_t r, uint64_t dt)
{
    pair_arg_t p = {s, r, dt};
    fp_cache_t *c = start();

    warmup(c);
    pair(c, s, r, MS);
    pair(c, s, r, MS);
    extra_pair(c, &p);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    return (unsigned)u64(0, "SSA_CONF_LEVEL");
}

static void test_ssa_basic(void **state)
{
    (void)state;
    /* three patterns of one length: 1 distinct / 3 <= 0.6 */
    assert_int_equal(level_pair(116, 120, MS), 1);
    assert_string_equal(csv(0, "SSA_CONF_LEVEL"), "1");
    assert_int_equal(g_flow[0].packets + g_flow[0].packets_rev, 36);
    /* the reply may equal the request */
    assert_int_equal(level_pair(116, 116, MS), 1);
    /* two patterns are not enough */
    fp_cache_t *c = start();
    warmup(c);
    pair(c, 116, 120, MS);
    pair(c, 116, 120, MS);
    finish(c);
    assert_int_equal(u64(0, "SSA_CONF_LEVEL"), 0);
}

static void test_ssa_time_window(void **state)
{
    (void)state;
    assert_int_equal(level_pair(116, 120, 3 * SEC), 1);
    assert_int_equal(level_pair(116, 120, 3 * SEC + 1 * US), 0);
    /* sub-microsecond parts are dropped, as ipfixprobe's timevals do */
    assert_int_equal(level_pair(116, 120, 3 * SEC + 999), 1);
}

/* A reverse packet 0..12 octets longer; the "SYN" range is 60..150 octets. */
static void test_ssa_lengths(void **state)
{
    (void)state;
    assert_int_equal(level_pair(100, 112, MS), 1);
    assert_int_equal(level_pair(100, 113, MS), 0);
    assert_int_equal(level_pair(100, 99, MS), 0);
    assert_int_equal(level_pair(60, 60, MS), 1);
    assert_int_equal(level_pair(59, 59, MS), 0);
    assert_int_equal(level_pair(150, 150, MS), 1);
    assert_int_equal(level_pair(151, 151, MS), 0);
    assert_int_equal(level_pair(59, 60, MS), 0);
}

static void extra_same_dir(fp_cache_t *c, const void *arg)
{
    (void)arg;
    put(c, 1, 116, g_t);
    put(c, 1, 120, g_t + MS);
}

/* After a pattern the table is empty: a second reply does not match the SYN. */
static void extra_reset(fp_cache_t *c, const void *arg)
{
    (void)arg;
    put(c, 1, 100, g_t);
    put(c, 0, 104, g_t + MS);     /* pattern 3 */
    put(c, 0, 104, g_t + 2 * MS); /* would be pattern 4 without the reset */
}

/* A kept time after the packet's (the capture went back) still matches. */
static void extra_backwards(fp_cache_t *c, const void *arg)
{
    (void)arg;
    put(c, 1, 116, g_t + SEC);
    put(c, 0, 120, g_t);
}

/* Truncated to 50 captured octets: lengths are the captured ones. */
static void extra_truncated(fp_cache_t *c, const void *arg)
{
    (void)arg;
    put_cap(c, 1, 116, 40 + 50, g_t);
    put_cap(c, 0, 120, 40 + 50, g_t + MS);
    /* cut right after the TCP header: no payload at all */
    put_cap(c, 1, 116, 40, g_t + 2 * MS);
    put_cap(c, 0, 120, 40, g_t + 3 * MS);
}

static void test_ssa_rules(void **state)
{
    (void)state;
    assert_int_equal(level_with(extra_same_dir, NULL), 0);
    /* base lengths 120, 120 and one 104: 2 distinct / 3 > 0.6; a fourth
     * pattern (no reset) would give 2 / 4 and level 1 */
    assert_int_equal(level_with(extra_reset, NULL), 0);
    assert_int_equal(level_with(extra_backwards, NULL), 1);
    assert_int_equal(level_with(extra_truncated, NULL), 0);
}

/* Patterns before the flow's 30th packet are not looked at. */
static void test_ssa_gate(void **state)
{
    (void)state;
    fp_cache_t *c = start();
    g_t = 1000 * SEC;
    for (int i = 0; i < 3; i++)
        pair(c, 116, 120, MS);
    for (int i = 0; i < 30; i++)
        put(c, i & 1, 0, g_t += MS);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "SSA_CONF_LEVEL"), 0);

    /* a flow of 30 packets carries no record, one of 31 does */
    c = start();
    warmup(c);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 0);
    c = start();
    warmup(c);
    put(c, 1, 0, g_t + MS);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "SSA_CONF_LEVEL"), 0);
}

/* n patterns cycling through `distinct` lengths 100, 101, ... */
static unsigned level_distinct(unsigned n, unsigned distinct)
{
    fp_cache_t *c = start();
    warmup(c);
    for (unsigned i = 0; i < n; i++)
        pair(c, 100 + i % distinct, 100 + i % distinct, MS);
    finish(c);
    return (unsigned)u64(0, "SSA_CONF_LEVEL");
}

/* Distinct lengths / patterns: at most 0.6 below 15 patterns, 0.4 below 40, else 0.2. */
static void test_ssa_tiers(void **state)
{
    (void)state;
    assert_int_equal(level_distinct(14, 8), 1); /* 0.571 */
    assert_int_equal(level_distinct(14, 9), 0); /* 0.643 */
    assert_int_equal(level_distinct(15, 6), 1); /* 0.4 */
    assert_int_equal(level_distinct(15, 7), 0); /* 0.467 */
    assert_int_equal(level_distinct(40, 8), 1); /* 0.2 */
    assert_int_equal(level_distinct(40, 9), 0); /* 0.225 */
    /* more than 100 patterns: the first 100 lengths are kept */
    assert_int_equal(level_distinct(150, 20), 1); /* 20 / 100 */
    assert_int_equal(level_distinct(150, 21), 0); /* 21 / 100 */
}

/* At most 2500 flow packets per pattern. */
static void test_ssa_packets_per_pattern(void **state)
{
    (void)state;
    for (unsigned total = 7500; total <= 7501; total++) {
        fp_cache_t *c = start();
        warmup(c);
        for (int i = 0; i < 3; i++)
            pair(c, 116, 120, MS);
        for (unsigned i = 36; i < total; i++)
            put(c, i & 1, 0, g_t += MS);
        finish(c);
        assert_int_equal(g_flow[0].packets + g_flow[0].packets_rev, total);
        assert_int_equal(u64(0, "SSA_CONF_LEVEL"), total == 7500 ? 1 : 0);
    }
}

/*
 * A flow in a record an earlier flow filled (the record freed last is the
 * next one taken) must be judged as in a fresh cache.  The earlier flow
 * leaves three patterns and a kept 116-octet packet with a time after the
 * new flow's packets (so it would count as recent); the new flow's first
 * 120-octet reply would complete a third pattern with it.
 */
static unsigned reused_level(int dirty)
{
    fp_cache_t *c = start();

    if (dirty) {
        g_cport = 40000;
        warmup(c);
        g_t = 5000 * SEC;
        pair(c, 116, 120, MS);
        pair(c, 116, 120, MS);
        pair(c, 116, 120, MS);
        put(c, 1, 116, g_t); /* kept, never answered */
        fp_cache_flush(c);
        assert_int_equal(g_nout, 1);
        assert_int_equal(u64(0, "SSA_CONF_LEVEL"), 1);
        g_nout = 0;
    }
    g_cport = 40001; /* another flow */
    warmup(c);
    put(c, 0, 120, g_t);
    g_t += 4 * SEC;
    pair(c, 116, 120, MS);
    pair(c, 116, 120, MS);
    finish(c);
    g_cport = 40000;
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    return (unsigned)u64(0, "SSA_CONF_LEVEL");
}

static void test_ssa_reused_record(void **state)
{
    (void)state;
    assert_int_equal(reused_level(0), 0); /* two patterns */
    assert_int_equal(reused_level(1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssa_basic),
        cmocka_unit_test(test_ssa_time_window),
        cmocka_unit_test(test_ssa_lengths),
        cmocka_unit_test(test_ssa_rules),
        cmocka_unit_test(test_ssa_gate),
        cmocka_unit_test(test_ssa_tiers),
        cmocka_unit_test(test_ssa_packets_per_pattern),
        cmocka_unit_test(test_ssa_reused_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
