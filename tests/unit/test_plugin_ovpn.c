/*
 * test_plugin_ovpn.c - the ovpn plugin, driven through the real packet parser
 * and flow cache: a full OpenVPN session over UDP and over TCP reaches the
 * data state (level 100); the other ClientHello/ServerHello offsets; the
 * large-data ratio path with ipfixprobe's float threshold and its RTP
 * exclusion; the no-transition counter; short flows carry no record; and
 * truncated or tiny payloads (TCP payload of 2 octets) are never over-read.
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
#define MAXF 64

#include "tests/common/plugintest.h"

#define CLIENT_PORT 50000
#define SERVER_PORT 1194

static fp_cache_t *start(void)
{
    return pt_start("ovpn", collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

static uint8_t g_proto = 17;
static uint64_t g_t = 1 * SEC;

/*
 * A raw IPv4 frame client 10.0.0.1:50000 <-> server 10.0.0.2:1194 (fwd =
 * from the client) over g_proto carrying `pay`; only `cap` bytes (0 = all)
 * are captured, copied to a heap block of exactly that size for ASan.
 */
static void put_cap(fp_cache_t *c, int fwd, const uint8_t *pay, size_t n, size_t cap)
{
    assert_true(
        pt_put4(c, fwd, CLIENT_PORT, SERVER_PORT, g_proto, FK_TCP_ACK, pay, n, cap, 0, g_t));
    g_t += 1000000;
}

static void put(fp_cache_t *c, int fwd, const uint8_t *pay, size_t n)
{
    put_cap(c, fwd, pay, n, 0);
}

/*
 * An OpenVPN packet with `opcode` of `len` octets; over TCP a 16-bit length
 * comes first (the opcode then sits at offset 2).  Returns the payload length.
 */
static size_t pkt(uint8_t *out, uint8_t opcode, size_t len)
{
    size_t off = g_proto == 6 ? 2 : 0;

    for (size_t i = 0; i < off + len; i++)
        out[i] = (uint8_t)(0x11 + i * 3);
    if (off) {
        out[0] = (uint8_t)(len >> 8);
        out[1] = (uint8_t)len;
    }
    out[off] = (uint8_t)(opcode << 3 | 1); /* key id 1 */
    return off + len;
}

/* P_CONTROL carrying a TLS ClientHello (type 1) or ServerHello (type 2). */
static size_t hello(uint8_t *out, uint8_t hs, int second_offset)
{
    size_t off = g_proto == 6 ? 2 : 0;
    size_t rec = hs == 1 ? (second_offset ? 42 : 14) : (second_offset ? 54 : 26);
    size_t n = pkt(out, 4, 120);

    out[off + rec] = 0x16;
    out[off + rec + 5] = hs;
    return n;
}

/* Handshake, then `ndata` P_DATA_V2 packets of `datalen` octets. */
static void session(fp_cache_t *c, int second_offset, int ndata, size_t datalen)
{
    uint8_t m[1600];

    put(c, 1, m, pkt(m, 7, 14)); /* P_CONTROL_HARD_RESET_CLIENT_V2 */
    put(c, 0, m, pkt(m, 8, 26)); /* P_CONTROL_HARD_RESET_SERVER_V2 */
    put(c, 1, m, pkt(m, 5, 22)); /* P_ACK_V1 */
    put(c, 1, m, hello(m, 1, second_offset));
    put(c, 0, m, hello(m, 2, second_offset));
    put(c, 1, m, pkt(m, 5, 22)); /* P_ACK_V1: control_ack */
    for (int i = 0; i < ndata; i++)
        put(c, i & 1, m, pkt(m, 9, datalen));
}

static void test_ovpn_udp_session(void **state)
{
    (void)state;
    g_proto = 17;
    fp_cache_t *c = start();
    session(c, 0, 15, 100);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets + g_flow[0].packets_rev, 21);
    assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), 100);
    assert_string_equal(csv(0, "OVPN_CONF_LEVEL"), "100");
}

static void test_ovpn_tcp_session_second_offsets(void **state)
{
    (void)state;
    g_proto = 6;
    fp_cache_t *c = start();
    session(c, 1, 15, 100);
    finish(c);
    g_proto = 17;

    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), 100);
}

/* 20 packets are not enough for 100: it takes more than 20. */
static void test_ovpn_thresholds(void **state)
{
    (void)state;
    fp_cache_t *c = start();
    session(c, 0, 14, 100);
    finish(c);
    assert_int_equal(g_flow[0].packets + g_flow[0].packets_rev, 20);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), 0);

    /* 5 packets: no record at all (port scans); 6: a record. */
    uint8_t m[64];
    c = start();
    for (int i = 0; i < 5; i++)
        put(c, 1, m, pkt(m, 9, 40));
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 0);

    c = start();
    for (int i = 0; i < 6; i++)
        put(c, 1, m, pkt(m, 9, 40));
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), 0);
}

/* The ServerHello must go to the client, the ClientHello come from it. */
static void test_ovpn_wrong_direction(void **state)
{
    (void)state;
    uint8_t m[1600];
    fp_cache_t *c = start();

    put(c, 1, m, pkt(m, 7, 14));
    put(c, 0, m, pkt(m, 8, 26));
    put(c, 1, m, pkt(m, 5, 22));
    put(c, 0, m, hello(m, 1, 0)); /* ClientHello from the server */
    put(c, 0, m, hello(m, 2, 0));
    put(c, 1, m, pkt(m, 5, 22));
    for (int i = 0; i < 20; i++)
        put(c, i & 1, m, pkt(m, 9, 100));
    finish(c);
    assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), 0);
}

/*
 * After a transition, 4 packets that make none are tolerated; the 5th drops
 * the machine back to the start, so the server reset then fits nothing.
 */
static void test_ovpn_invalid_counter(void **state)
{
    (void)state;
    uint8_t m[1600];

    for (int extra = 4; extra <= 5; extra++) {
        fp_cache_t *c = start();
        put(c, 1, m, pkt(m, 7, 14));
        for (int i = 0; i < extra; i++)
            put(c, 1, m, pkt(m, 3, 30)); /* soft reset: no transition */
        put(c, 0, m, pkt(m, 8, 26));
        put(c, 1, m, pkt(m, 5, 22));
        put(c, 1, m, hello(m, 1, 0));
        put(c, 0, m, hello(m, 2, 0));
        put(c, 1, m, pkt(m, 5, 22));
        for (int i = 0; i < 20; i++)
            put(c, i & 1, m, pkt(m, 9, 100));
        finish(c);
        assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), extra == 4 ? 100 : 0);
    }
    /* A server reset from the client fits nowhere and counts twice: two are
     * tolerated, the third drops the machine back. */
    for (int misfits = 2; misfits <= 3; misfits++) {
        fp_cache_t *c = start();
        put(c, 1, m, pkt(m, 7, 14));
        for (int i = 0; i < misfits; i++)
            put(c, 1, m, pkt(m, 8, 26));
        put(c, 0, m, pkt(m, 8, 26));
        put(c, 1, m, pkt(m, 5, 22));
        put(c, 1, m, hello(m, 1, 0));
        put(c, 0, m, hello(m, 2, 0));
        put(c, 1, m, pkt(m, 5, 22));
        for (int i = 0; i < 20; i++)
            put(c, i & 1, m, pkt(m, 9, 100));
        finish(c);
        assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), misfits == 2 ? 100 : 0);
    }
}

/*
 * Without a handshake: more than 20 large (> 500 payload octets) packets of
 * which at least 0.6f are P_DATA give (data / large) * 80.  16 of 25 gives
 * 51; 15 of 25 is 0.6 in double, just under ipfixprobe's float 0.6f: 0.
 */
static void test_ovpn_large_ratio(void **state)
{
    (void)state;
    uint8_t m[1600];

    for (int ndata = 15; ndata <= 16; ndata++) {
        fp_cache_t *c = start();
        for (int i = 0; i < 25; i++)
            put(c, i & 1, m, pkt(m, i < ndata ? 6 : 0, 600));
        finish(c);
        assert_int_equal(g_nrec[0], 1);
        assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), ndata == 15 ? 0 : 51);
    }
}

/* RTP (version 2, payload type outside 72..95) is not counted as large. */
static void test_ovpn_rtp_excluded(void **state)
{
    (void)state;
    uint8_t m[1600];

    for (int pt = 96; pt >= 72; pt -= 24) {
        fp_cache_t *c = start();
        for (int i = 0; i < 21; i++)
            put(c, 1, m, pkt(m, 6, 600));
        for (int i = 0; i < 30; i++) {
            size_t n = pkt(m, 0, 600);
            m[0] = 0x80; /* RTP version 2 */
            m[1] = (uint8_t)pt;
            put(c, 0, m, n);
        }
        finish(c);
        /* pt 96: only the 21 data packets are large, 21/21 -> 80; pt 72
         * counts as RTCP, so 51 packets are large: 21/51 < 0.6 -> 0. */
        assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), pt == 96 ? 80 : 0);
    }
}

/* Truncated captures (the wire length still counts as large) and tiny payloads. */
static void test_ovpn_hostile(void **state)
{
    (void)state;
    uint8_t m[1600];

    for (int proto = 6; proto <= 17; proto += 11) {
        g_proto = (uint8_t)proto;
        fp_cache_t *c = start();
        size_t hl = proto == 6 ? 40 : 28;
        size_t n = hello(m, 1, 1);
        for (size_t cap = hl; cap <= hl + n; cap++)
            put_cap(c, 1, m, n, cap);
        put(c, 1, m, 0); /* no payload */
        put(c, 1, m, 1);
        put(c, 1, m, 2); /* TCP: the length prefix only */
        m[0] = m[1] = 0xff;
        put(c, 1, m, 3);
        finish(c);
        assert_int_equal(g_nout, 1);
        assert_int_equal(g_nrec[0], 1);
        assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), 0);
    }
    g_proto = 17;

    /* Large but truncated: 25 P_DATA of 600 octets on the wire, 10 captured. */
    fp_cache_t *c = start();
    for (int i = 0; i < 25; i++)
        put_cap(c, 1, m, pkt(m, 6, 600), 28 + 10);
    finish(c);
    assert_int_equal(u64(0, "OVPN_CONF_LEVEL"), 80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ovpn_udp_session),
        cmocka_unit_test(test_ovpn_tcp_session_second_offsets),
        cmocka_unit_test(test_ovpn_thresholds),
        cmocka_unit_test(test_ovpn_wrong_direction),
        cmocka_unit_test(test_ovpn_invalid_counter),
        cmocka_unit_test(test_ovpn_large_ratio),
        cmocka_unit_test(test_ovpn_rtp_excluded),
        cmocka_unit_test(test_ovpn_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
