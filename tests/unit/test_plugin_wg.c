/*
 * test_plugin_wg.c - the wg plugin, driven through the real packet parser and
 * flow cache: a full handshake and transport data give the peers of both
 * sides; a new Initiation re-creates the flow (keeping SRC/DST and touching
 * the old record's end); the DNS look-alike gives level 1; a non-WireGuard
 * packet ends the parsing; wrong lengths, types, reserved octets, truncation
 * at every length and lying UDP lengths never give a record or an over-read.
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
#define MAXF 256

#include "tests/common/plugintest.h"

#define A_PORT 51820
#define B_PORT 41414

static fp_cache_t *start(void)
{
    return pt_start("wg", collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/*
 * A raw IPv4 frame 10.0.0.1:sport -> 10.0.0.2:dport (fwd) or back, protocol
 * `proto` (17 UDP, 6 TCP), carrying `pay`.  Only `cap` bytes (0 = all) are
 * handed to the parser, in a heap block of exactly that size so that ASan
 * sees any read past the capture.  `ulen` overrides the UDP length field.
 */
static void put_raw(fp_cache_t *c, int fwd, uint16_t sport, uint8_t proto, const uint8_t *pay,
                    size_t n, size_t cap, unsigned ulen, uint64_t t)
{
    pt_put4(c, fwd, sport, B_PORT, proto, FK_TCP_ACK, pay, n, cap, ulen, t);
}

static void put(fp_cache_t *c, int fwd, const uint8_t *pay, size_t n, uint64_t t)
{
    put_raw(c, fwd, A_PORT, 17, pay, n, 0, 0, t);
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* WireGuard messages (whitepaper 5.4), bodies filled with non-zero noise. */
static size_t msg(uint8_t *out, uint8_t type, uint32_t a, uint32_t b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(0x5a ^ (i * 13));
    out[0] = type;
    out[1] = out[2] = out[3] = 0;
    le32(out + 4, a);
    if (len >= 12)
        le32(out + 8, b);
    return len;
}

static size_t initiation(uint8_t *out, uint32_t sender)
{
    return msg(out, 1, sender, 0x01010101, 148);
}

static size_t response(uint8_t *out, uint32_t sender, uint32_t receiver)
{
    return msg(out, 2, sender, receiver, 92);
}

static size_t cookie(uint8_t *out, uint32_t receiver)
{
    return msg(out, 3, receiver, 0x02020202, 64);
}

static size_t data(uint8_t *out, uint32_t receiver, size_t len)
{
    return msg(out, 4, receiver, 7, len);
}

#define IA 0x11223344u /* A's (SRC's) index */
#define IB 0x55667788u /* B's (DST's) index */

static void test_wg_handshake(void **state)
{
    (void)state;
    uint8_t m[1500];
    fp_cache_t *c = start();

    put(c, 1, m, initiation(m, IA), 1 * SEC);
    put(c, 0, m, response(m, IB, IA), 1 * SEC + 1 * MS);
    put(c, 1, m, data(m, IB, 32), 1 * SEC + 2 * MS);   /* keepalive */
    put(c, 0, m, data(m, IA, 1453), 1 * SEC + 3 * MS); /* not a multiple of 16 */
    put(c, 1, m, initiation(m, IA), 1 * SEC + 4 * MS); /* retransmitted: same session */
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets, 3);
    assert_int_equal(g_flow[0].packets_rev, 2);
    assert_int_equal(u64(0, "WG_CONF_LEVEL"), 100);
    assert_int_equal(u64(0, "WG_SRC_PEER"), IA);
    assert_int_equal(u64(0, "WG_DST_PEER"), IB);
    assert_string_equal(csv(0, "WG_SRC_PEER"), "287454020");
}

/* The responder is the flow's SRC when its packet is the first one seen. */
static void test_wg_response_first_and_cookie(void **state)
{
    (void)state;
    uint8_t m[1500];
    fp_cache_t *c = start();

    put(c, 1, m, response(m, IA, IB), 1 * SEC); /* SRC responds to DST's IB */
    put(c, 0, m, cookie(m, IA), 1 * SEC + 1);   /* a cookie for SRC names IA */
    finish(c);

    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "WG_SRC_PEER"), IA);
    assert_int_equal(u64(0, "WG_DST_PEER"), IB);

    c = start();
    put(c, 1, m, cookie(m, IB), 1 * SEC); /* a cookie from SRC names DST's index */
    put(c, 0, m, response(m, IB, IA), 1 * SEC + 1);
    put(c, 0, m, data(m, IA, 48), 1 * SEC + 2);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "WG_SRC_PEER"), IA);
    assert_int_equal(u64(0, "WG_DST_PEER"), IB);
}

/*
 * A new Initiation from either side: the flow is exported without it and
 * re-created from it.  As ipfixprobe's record reuse, the new record keeps
 * SRC/DST (B stays DST even when B initiates) and starts at the old one's
 * last packet, so the records touch (wg.pcap's reference shows both).
 */
static void test_wg_new_session_reinsert(void **state)
{
    (void)state;
    uint8_t m[1500];
    fp_cache_t *c = start();

    put(c, 1, m, initiation(m, IA), 10 * SEC);
    put(c, 0, m, response(m, IB, IA), 11 * SEC);
    put(c, 1, m, data(m, IB, 64), 12 * SEC);
    /* B starts a new session: B is DST, its new index 0x99. */
    put(c, 0, m, initiation(m, 0x99), 13 * SEC);
    put(c, 1, m, response(m, 0x77, 0x99), 14 * SEC);
    /* then A does, with 0x42. */
    put(c, 1, m, initiation(m, 0x42), 15 * SEC);
    finish(c);

    assert_int_equal(g_nout, 3);
    /* 1: ends at the data packet, without B's initiation */
    assert_int_equal(g_flow[0].time_first, 10 * SEC);
    assert_int_equal(g_flow[0].time_last, 12 * SEC);
    assert_int_equal(g_flow[0].packets, 2);
    assert_int_equal(g_flow[0].packets_rev, 1);
    assert_int_equal(g_flow[0].end_reason, FP_END_FORCED);
    assert_int_equal(u64(0, "WG_SRC_PEER"), IA);
    assert_int_equal(u64(0, "WG_DST_PEER"), IB);
    /* 2: SRC is still 10.0.0.1 (A); B's initiation counts DST -> SRC */
    assert_int_equal(g_flow[1].src_ip[15], 1);
    assert_int_equal(g_flow[1].src_port, A_PORT);
    assert_int_equal(g_flow[1].time_first, 12 * SEC);
    assert_int_equal(g_flow[1].time_last, 14 * SEC);
    assert_int_equal(g_flow[1].packets, 1);
    assert_int_equal(g_flow[1].packets_rev, 1);
    assert_int_equal(g_nrec[1], 1);
    assert_int_equal(u64(1, "WG_CONF_LEVEL"), 100);
    assert_int_equal(u64(1, "WG_SRC_PEER"), 0x77);
    assert_int_equal(u64(1, "WG_DST_PEER"), 0x99);
    /* 3: A's new session: SRC's index replaced, DST's unknown yet */
    assert_int_equal(g_flow[2].time_first, 14 * SEC);
    assert_int_equal(g_flow[2].time_last, 15 * SEC);
    assert_int_equal(g_flow[2].packets, 1);
    assert_int_equal(g_flow[2].packets_rev, 0);
    assert_int_equal(u64(2, "WG_SRC_PEER"), 0x42);
    assert_int_equal(u64(2, "WG_DST_PEER"), 0);
}

/* Octets 4..7 = 00 01 00 00 could be a DNS query header: level 1, per packet. */
static void test_wg_dns_lookalike(void **state)
{
    (void)state;
    uint8_t m[1500];
    fp_cache_t *c = start();

    put(c, 1, m, cookie(m, 0x100), 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "WG_CONF_LEVEL"), 1);
    assert_int_equal(u64(0, "WG_DST_PEER"), 256);

    c = start();
    put(c, 1, m, data(m, 0x100, 32), 1 * SEC);
    put(c, 0, m, data(m, IA, 32), 2 * SEC);
    finish(c);
    assert_int_equal(u64(0, "WG_CONF_LEVEL"), 100);
}

/* The first packet that is not WireGuard: level 0, parsing stops, record stays. */
static void test_wg_stops_on_other(void **state)
{
    (void)state;
    uint8_t m[1500];
    fp_cache_t *c = start();

    put(c, 1, m, initiation(m, IA), 1 * SEC);
    put(c, 1, m, data(m, IB, 31), 2 * SEC);     /* too short */
    put(c, 0, m, response(m, IB, IA), 3 * SEC); /* no longer parsed */
    put(c, 1, m, initiation(m, 0x42), 4 * SEC); /* nor is a new session seen */
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets + g_flow[0].packets_rev, 4);
    assert_int_equal(u64(0, "WG_CONF_LEVEL"), 0);
    assert_int_equal(u64(0, "WG_SRC_PEER"), IA);
    assert_int_equal(u64(0, "WG_DST_PEER"), 0);
}

/* Every fixed-length message must have its exact length; headers must be clean. */
static void test_wg_bad_first_packets(void **state)
{
    (void)state;
    uint8_t m[1500];
    uint16_t port = 1000;
    fp_cache_t *c = start();

    for (size_t len = 0; len < 32; len++) /* below the smallest message */
        put_raw(c, 1, port++, 17, m, data(m, IB, len), 0, 0, 1 * SEC);
    static const size_t badlen[][2] = {{1, 147}, {1, 149}, {2, 91}, {2, 93}, {3, 63}, {3, 65}};
    for (size_t i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++)
        put_raw(c, 1, port++, 17, m, msg(m, (uint8_t)badlen[i][0], IA, IB, badlen[i][1]), 0, 0,
                1 * SEC);
    put_raw(c, 1, port++, 17, m, msg(m, 0, IA, IB, 64), 0, 0, 1 * SEC);
    put_raw(c, 1, port++, 17, m, msg(m, 5, IA, IB, 64), 0, 0, 1 * SEC);
    put_raw(c, 1, port++, 17, m, msg(m, 0xff, IA, IB, 148), 0, 0, 1 * SEC);
    for (int r = 1; r <= 3; r++) { /* a reserved octet set */
        initiation(m, IA);
        m[r] = 1;
        put_raw(c, 1, port++, 17, m, 148, 0, 0, 1 * SEC);
    }
    /* WireGuard bytes over TCP */
    put_raw(c, 1, port++, 6, m, initiation(m, IA), 0, 0, 1 * SEC);
    finish(c);

    assert_int_equal(g_nout, port - 1000);
    for (size_t i = 0; i < g_nout; i++)
        assert_int_equal(g_nrec[i], 0);
}

/*
 * Truncated captures: an Initiation cut at every length is not one (the
 * length is the captured one, as ipfixprobe's); transport data cut to 32
 * octets or more still is.  Heap copies of the exact length catch over-reads.
 */
static void test_wg_truncated(void **state)
{
    (void)state;
    uint8_t m[1500];
    fp_cache_t *c = start();
    uint16_t port = 2000;

    for (size_t cap = 28; cap < 28 + 148; cap++)
        put_raw(c, 1, port++, 17, m, initiation(m, IA), cap, 0, 1 * SEC);
    put_raw(c, 1, port++, 17, m, initiation(m, IA), 0, 0, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 149);
    for (size_t i = 0; i < g_nout; i++)
        assert_int_equal(g_nrec[i], g_flow[i].src_port == port - 1 ? 1 : 0);

    c = start();
    port = 3000;
    for (size_t cap = 28; cap <= 28 + 100; cap++)
        put_raw(c, 1, port++, 17, m, data(m, IB, 100), cap, 0, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 101);
    for (size_t i = 0; i < g_nout; i++) {
        size_t cap = 28 + (g_flow[i].src_port - 3000);
        assert_int_equal(g_nrec[i], cap >= 28 + 32 ? 1 : 0);
    }
}

/*
 * UDP lengths that lie.  Past the IP length (or below 8) the parser keeps the
 * IP-bounded payload; a shorter one cuts the payload, so a 148-octet
 * Initiation announced as 92 octets is 92 octets: not an Initiation.
 */
static void test_wg_lying_udp_length(void **state)
{
    (void)state;
    uint8_t m[1500];
    fp_cache_t *c = start();

    put_raw(c, 1, 4000, 17, m, initiation(m, IA), 0, 0xffff, 1 * SEC);
    put_raw(c, 1, 4001, 17, m, initiation(m, IA), 0, 8 + 92, 1 * SEC);
    put_raw(c, 1, 4002, 17, m, data(m, IB, 40), 0, 3, 1 * SEC);
    put_raw(c, 1, 4003, 17, m, data(m, IB, 40), 0, 8 + 31, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 4);
    for (size_t i = 0; i < g_nout; i++) {
        unsigned want = g_flow[i].src_port == 4000 || g_flow[i].src_port == 4002;
        assert_int_equal(g_nrec[i], want);
        if (want)
            assert_int_equal(u64(i, "WG_CONF_LEVEL"), 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wg_handshake),
        cmocka_unit_test(test_wg_response_first_and_cookie),
        cmocka_unit_test(test_wg_new_session_reinsert),
        cmocka_unit_test(test_wg_dns_lookalike),
        cmocka_unit_test(test_wg_stops_on_other),
        cmocka_unit_test(test_wg_bad_first_packets),
        cmocka_unit_test(test_wg_truncated),
        cmocka_unit_test(test_wg_lying_udp_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
