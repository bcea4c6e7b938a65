/*
 * test_plugin_ntp.c - the ntp plugin, driven through the real packet parser
 * and flow cache: a valid server response (fields, reference id, the
 * ipfixprobe timestamp formatting quirks), one record per NTP packet, kiss
 * codes, and hostile inputs (truncated header, garbage, other ports).
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
#define MAXF 16

#include "tests/common/plugintest.h"

static fp_cache_t *start(void)
{
    return pt_start("ntp", collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/* A raw IPv4/UDP frame 10.0.0.1:sport -> 10.0.0.2:dport carrying `pay`. */
static void put(fp_cache_t *c, uint16_t sport, uint16_t dport, const uint8_t *pay, size_t paylen,
                size_t trunc, uint64_t t)
{
    assert_true(pt_put4(c, 1, sport, dport, 17, 0, pay, paylen, trunc, 0, t));
}

/* leap 0, version 4, mode 4 (server), stratum 2, poll 6, precision -20. */
static const uint8_t resp[48] = {
    0x24, 2,    6,    0xec, 0,    0,    0x01, 0x00, /* root delay (not exported) */
    0,    0,    0x02, 0x00,                         /* root dispersion (not exported) */
    195,  113,  144,  238,                          /* reference id */
    0xda, 0xb4, 0x1a, 0x2b, 0x80, 0x10, 0x20, 0x30, /* reference */
    0,    0,    0,    0,    0,    0,    0,    0,    /* origin: zero */
    0xda, 0xb4, 0x0a, 0x05, 0x80, 0x00, 0x00, 0x00, /* receive: short octets */
    0xda, 0xb4, 0x1a, 0x2b, 0xff, 0xff, 0xff, 0xff, /* transmit: rounds up */
};

static void test_ntp_valid(void **state)
{
    (void)state;
    fp_cache_t *c = start();
    put(c, 123, 123, resp, sizeof(resp), 0, 1 * SEC);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].end_reason, FP_END_FORCED);
    assert_int_equal(u64(0, "NTP_LEAP"), 0);
    assert_int_equal(u64(0, "NTP_VERSION"), 4);
    assert_int_equal(u64(0, "NTP_MODE"), 4);
    assert_int_equal(u64(0, "NTP_STRATUM"), 2);
    assert_int_equal(u64(0, "NTP_POLL"), 6);
    assert_int_equal(u64(0, "NTP_PRECISION"), 236);
    /* ipfixprobe never parses these and exports its initial 9. */
    assert_int_equal(u64(0, "NTP_DELAY"), 9);
    assert_int_equal(u64(0, "NTP_DISPERSION"), 9);
    assert_string_equal(csv(0, "NTP_REF_ID"), "\"195.113.144.238\"");
    assert_string_equal(csv(0, "NTP_REF"), "\"3669236267.500246\"");
    assert_string_equal(csv(0, "NTP_ORIG"), "\"0.000000\"");
    /* Octets as unpadded hex: da b4 a 5 -> 0xdab4a5; 80 0 0 0 -> 0x80000. */
    assert_string_equal(csv(0, "NTP_RECV"), "\"14333093.000122\"");
    assert_string_equal(csv(0, "NTP_SENT"), "\"3669236267.000000\"");
}

static void test_ntp_flush_and_kiss(void **state)
{
    (void)state;
    uint8_t req[48];
    uint8_t kiss[48];

    memcpy(req, resp, sizeof(req));
    req[0] = 0x23; /* mode 3: client */
    memcpy(kiss, resp, sizeof(kiss));
    kiss[0] = 0xe3; /* leap 3, version 4, mode 3 */
    kiss[1] = 0;    /* stratum 0: kiss code */
    memcpy(kiss + 12, "INIT", 4);

    fp_cache_t *c = start();
    put(c, 40000, 123, req, sizeof(req), 0, 1 * SEC);
    put(c, 40000, 123, kiss, sizeof(kiss), 0, 2 * SEC);
    finish(c);

    /* Every NTP packet ends its flow: two records on one 5-tuple. */
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_nrec[1], 1);
    assert_int_equal(g_flow[0].packets, 1);
    assert_int_equal(g_flow[1].packets, 1);
    assert_int_equal(u64(0, "NTP_MODE"), 3);
    assert_string_equal(csv(0, "NTP_REF_ID"), "\"195.113.144.238\"");
    assert_int_equal(u64(1, "NTP_LEAP"), 3);
    assert_int_equal(u64(1, "NTP_STRATUM"), 0);
    assert_string_equal(csv(1, "NTP_REF_ID"), "\"INIT\"");
}

static void test_ntp_truncated(void **state)
{
    (void)state;
    fp_cache_t *c = start();
    /* 47 of 48 header bytes on the wire, then 48 announced but 40 captured. */
    put(c, 123, 123, resp, 47, 0, 1 * SEC);
    put(c, 123, 123, resp, sizeof(resp), 28 + 40, 2 * SEC);
    put(c, 123, 123, resp, 0, 0, 3 * SEC);
    finish(c);

    assert_int_equal(g_nout, 3);
    for (size_t i = 0; i < g_nout; i++)
        assert_int_equal(g_nrec[i], 0);
}

static void test_ntp_garbage(void **state)
{
    (void)state;
    uint8_t junk[48];
    uint8_t bad[48];
    fp_cache_t *c = start();

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(0xff - i * 7);
    put(c, 123, 5000, junk, sizeof(junk), 0, 1 * SEC);
    memcpy(bad, resp, sizeof(bad));
    bad[0] = 0x1c; /* version 3 */
    put(c, 123, 5001, bad, sizeof(bad), 0, 1 * SEC);
    bad[0] = 0x25; /* mode 5 (broadcast) */
    put(c, 123, 5002, bad, sizeof(bad), 0, 1 * SEC);
    bad[0] = 0x24;
    bad[1] = 17; /* stratum above 16 */
    put(c, 123, 5003, bad, sizeof(bad), 0, 1 * SEC);
    bad[1] = 2;
    bad[2] = 18; /* poll above 17 */
    put(c, 123, 5004, bad, sizeof(bad), 0, 1 * SEC);
    /* A valid-looking header on other ports: no record, no flush. */
    put(c, 5000, 6000, resp, sizeof(resp), 0, 1 * SEC);
    put(c, 5000, 6000, resp, sizeof(resp), 0, 2 * SEC);
    finish(c);

    assert_int_equal(g_nout, 6);
    for (size_t i = 0; i < g_nout; i++) {
        assert_int_equal(g_nrec[i], 0);
        if (g_flow[i].src_port == 5000)
            assert_int_equal(g_flow[i].packets, 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ntp_valid),
        cmocka_unit_test(test_ntp_flush_and_kiss),
        cmocka_unit_test(test_ntp_truncated),
        cmocka_unit_test(test_ntp_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
