/*
 * test_plugins_bp.c - the basicplus and idpcontent plugins, driven through the
 * real packet parser and flow cache: per-direction first/max semantics, the
 * TCP option bit mapping, SYN size, payload capture and hostile inputs
 * (short/absent payload, absent/malformed/truncated TCP options, UDP).
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

static fp_cache_t *start(const char *plugin)
{
    return pt_start(plugin, collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/* ---- raw IPv4 frames (LINKTYPE_RAW) ---- */

typedef struct {
    uint8_t fwd;   /* 1: 10.0.0.1:1000 -> 10.0.0.2:80, 0: the reverse */
    uint8_t proto; /* 6 or 17 */
    uint8_t ttl;
    uint8_t ipflags; /* 3 bits: reserved, DF, MF */
    uint8_t tcpflags;
    uint16_t win;
    const uint8_t *opt; /* TCP option bytes (padded to 4 by the caller) */
    size_t optlen;
    size_t paylen; /* payload bytes, filled with (i + seed) */
    uint8_t seed;
    size_t trunc; /* capture only this many bytes when non-zero */
} pk_t;

static uint8_t g_frame[2048];

static void put(fp_cache_t *c, const pk_t *k, uint64_t t)
{
    uint8_t *f = g_frame;
    size_t l4 = k->proto == 6 ? 20 + k->optlen : 8;
    size_t total = 20 + l4 + k->paylen;
    fk_packet_t pkt;

    assert_true(total <= sizeof(g_frame));
    memset(f, 0, total);
    f[0] = 0x45;
    f[2] = (uint8_t)(total >> 8);
    f[3] = (uint8_t)total;
    f[6] = (uint8_t)(k->ipflags << 5);
    f[8] = k->ttl;
    f[9] = k->proto;
    f[12] = f[16] = 10;
    f[15] = k->fwd ? 1 : 2;
    f[19] = k->fwd ? 2 : 1;
    uint8_t *h = f + 20;
    uint16_t sp = k->fwd ? 1000 : 80, dp = k->fwd ? 80 : 1000;
    h[0] = (uint8_t)(sp >> 8);
    h[1] = (uint8_t)sp;
    h[2] = (uint8_t)(dp >> 8);
    h[3] = (uint8_t)dp;
    if (k->proto == 6) {
        h[12] = (uint8_t)((l4 / 4) << 4);
        h[13] = k->tcpflags;
        h[14] = (uint8_t)(k->win >> 8);
        h[15] = (uint8_t)k->win;
        if (k->optlen)
            memcpy(h + 20, k->opt, k->optlen);
    } else {
        h[4] = (uint8_t)((8 + k->paylen) >> 8);
        h[5] = (uint8_t)(8 + k->paylen);
    }
    for (size_t i = 0; i < k->paylen; i++)
        h[l4 + i] = (uint8_t)(i + k->seed);
    size_t cap = k->trunc ? k->trunc : total;
    fk_packet_parse(&pkt, FK_LINK_RAW, f, (uint32_t)cap, (uint32_t)total, t);
    assert_true(fk_packet_has_key(&pkt));
    fp_cache_put(c, &pkt);
}

/* ---- basicplus ---- */

/* MSS 1460, SACK permitted, timestamps, NOP, window scale 7. */
static const uint8_t syn_opt[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                  0, 1, 0,    0,    0, 0, 1, 3,  3, 7};
static const uint8_t synack_opt[] = {2, 4, 0x05, 0x78, 1, 1, 4, 2};
static const uint8_t ts_opt[] = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1};

static void test_basicplus_handshake(void **state)
{
    (void)state;
    fp_cache_t *c = start("basicplus");
    pk_t syn = {.fwd = 1,
                .proto = 6,
                .ttl = 64,
                .ipflags = 2,
                .tcpflags = FK_TCP_SYN,
                .win = 64240,
                .opt = syn_opt,
                .optlen = sizeof(syn_opt)};
    pk_t synack = {.fwd = 0,
                   .proto = 6,
                   .ttl = 50,
                   .ipflags = 2,
                   .tcpflags = FK_TCP_SYN | FK_TCP_ACK,
                   .win = 65160,
                   .opt = synack_opt,
                   .optlen = sizeof(synack_opt)};
    pk_t ack = {.fwd = 1,
                .proto = 6,
                .ttl = 70,
                .ipflags = 0,
                .tcpflags = FK_TCP_ACK,
                .win = 502,
                .opt = ts_opt,
                .optlen = sizeof(ts_opt),
                .paylen = 10};
    pk_t data = {.fwd = 0,
                 .proto = 6,
                 .ttl = 55,
                 .ipflags = 0,
                 .tcpflags = FK_TCP_ACK,
                 .win = 509,
                 .opt = ts_opt,
                 .optlen = sizeof(ts_opt),
                 .paylen = 20};
    pk_t low = {.fwd = 0, .proto = 6, .ttl = 3, .tcpflags = FK_TCP_ACK, .win = 1};

    put(c, &syn, 1 * SEC);
    put(c, &synack, 1 * SEC + 1);
    put(c, &ack, 1 * SEC + 2);
    put(c, &data, 1 * SEC + 3);
    put(c, &low, 1 * SEC + 4);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    /* TTL: largest per direction; the rest from the first packet of each. */
    assert_int_equal(u64(0, "IP_TTL"), 70);
    assert_int_equal(u64(0, "IP_TTL_REV"), 55);
    assert_int_equal(u64(0, "IP_FLG"), 2);
    assert_int_equal(u64(0, "IP_FLG_REV"), 2);
    assert_int_equal(u64(0, "TCP_WIN"), 64240);
    assert_int_equal(u64(0, "TCP_WIN_REV"), 65160);
    assert_int_equal(u64(0, "TCP_MSS"), 1460);
    assert_int_equal(u64(0, "TCP_MSS_REV"), 1400);
    /* Kinds 1,2,3,4,8 -> bits 6,5,4,3 of octet 0 and bit 7 of octet 1. */
    assert_int_equal(u64(0, "TCP_OPT"), 0x40 | 0x20 | 0x10 | 0x08 | 0x8000);
    assert_int_equal(u64(0, "TCP_OPT_REV"), 0x40 | 0x20 | 0x08);
    assert_int_equal(u64(0, "TCP_SYN_SIZE"), 20 + 20 + sizeof(syn_opt));
    assert_string_equal(csv(0, "TCP_OPT"), "32888");
}

/* The reference case: NOP,NOP,TS in both directions gives 32832. */
static void test_basicplus_reference_bits(void **state)
{
    (void)state;
    fp_cache_t *c = start("basicplus");
    pk_t a = {.fwd = 1,
              .proto = 6,
              .ttl = 64,
              .ipflags = 2,
              .tcpflags = 0x18,
              .win = 229,
              .opt = ts_opt,
              .optlen = sizeof(ts_opt),
              .paylen = 77};
    pk_t b = {.fwd = 0,
              .proto = 6,
              .ttl = 41,
              .ipflags = 2,
              .tcpflags = 0x18,
              .win = 279,
              .opt = ts_opt,
              .optlen = sizeof(ts_opt),
              .paylen = 200};
    put(c, &a, 1 * SEC);
    put(c, &b, 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_string_equal(csv(0, "TCP_OPT"), "32832");
    assert_string_equal(csv(0, "TCP_OPT_REV"), "32832");
    assert_int_equal(u64(0, "TCP_SYN_SIZE"), 0); /* first packet not a bare SYN */
    assert_int_equal(u64(0, "TCP_MSS"), 0);
    assert_int_equal(u64(0, "IP_TTL_REV"), 41);
}

/* Options absent, malformed (length 1, length past the header), and EOL. */
static void test_basicplus_hostile_options(void **state)
{
    (void)state;
    static const uint8_t badlen[] = {2, 1, 0x05, 0xb4};           /* MSS with length 1 */
    static const uint8_t overrun[] = {1, 8, 40, 0};               /* TS claiming 40 bytes */
    static const uint8_t eol[] = {0, 2, 4, 0x05};                 /* EOL first: rest ignored */
    static const uint8_t highkind[] = {63, 2, 70, 2, 1, 1, 1, 0}; /* kinds 63 and 70 */
    fp_cache_t *c = start("basicplus");
    pk_t none = {.fwd = 1, .proto = 6, .ttl = 1, .tcpflags = FK_TCP_SYN, .win = 7};
    put(c, &none, 1 * SEC);
    pk_t r1 = {.fwd = 0,
               .proto = 6,
               .ttl = 2,
               .tcpflags = FK_TCP_SYN | FK_TCP_ACK,
               .opt = badlen,
               .optlen = sizeof(badlen)};
    put(c, &r1, 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(u64(0, "TCP_OPT"), 0);
    assert_int_equal(u64(0, "TCP_MSS"), 0);
    assert_int_equal(u64(0, "TCP_SYN_SIZE"), 40);
    assert_int_equal(u64(0, "TCP_WIN"), 7);
    assert_int_equal(u64(0, "TCP_MSS_REV"), 0); /* malformed MSS is not read */
    assert_int_equal(u64(0, "TCP_OPT_REV") & ~(uint64_t)0x20, 0);

    const uint8_t *opts[] = {overrun, eol, highkind};
    size_t lens[] = {sizeof(overrun), sizeof(eol), sizeof(highkind)};
    for (size_t i = 0; i < 3; i++) {
        c = start("basicplus");
        pk_t p = {.fwd = 1,
                  .proto = 6,
                  .ttl = 9,
                  .tcpflags = FK_TCP_SYN,
                  .opt = opts[i],
                  .optlen = lens[i]};
        put(c, &p, 1 * SEC);
        finish(c);
        assert_int_equal(g_nout, 1);
        assert_int_equal(u64(0, "TCP_MSS"), 0);
        uint64_t v = u64(0, "TCP_OPT");
        if (i == 1)
            assert_int_equal(v, 0x80); /* EOL = kind 0 = bit 7 of octet 0 */
        if (i == 2)
            assert_true(v & ((uint64_t)1 << 56)); /* kind 63: octet 7, bit 0 */
        /* the rest flows (no reverse packet) stay zero */
        assert_int_equal(u64(0, "TCP_OPT_REV"), 0);
        assert_int_equal(u64(0, "IP_TTL_REV"), 0);
    }
}

/* A truncated capture (options cut) and a UDP flow: no TCP values. */
static void test_basicplus_udp_and_truncated(void **state)
{
    (void)state;
    fp_cache_t *c = start("basicplus");
    pk_t u = {.fwd = 1, .proto = 17, .ttl = 128, .ipflags = 2, .paylen = 30};
    pk_t v = {.fwd = 0, .proto = 17, .ttl = 60, .paylen = 3};
    put(c, &u, 1 * SEC);
    put(c, &v, 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(u64(0, "IP_TTL"), 128);
    assert_int_equal(u64(0, "IP_TTL_REV"), 60);
    assert_int_equal(u64(0, "IP_FLG"), 2);
    assert_int_equal(u64(0, "TCP_WIN") + u64(0, "TCP_OPT") + u64(0, "TCP_MSS") +
                         u64(0, "TCP_SYN_SIZE") + u64(0, "TCP_WIN_REV"),
                     0);

    c = start("basicplus");
    pk_t t = {.fwd = 1,
              .proto = 6,
              .ttl = 5,
              .tcpflags = FK_TCP_SYN,
              .win = 3,
              .opt = syn_opt,
              .optlen = sizeof(syn_opt),
              .trunc = 20 + 20 + 2};
    /* Whether the parser keeps a TCP header whose options are cut off is its
     * business; the plugin must just not read past what it was given. */
    put(c, &t, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(u64(0, "IP_TTL"), 5);
}

/* ---- idpcontent ---- */

static void hex(char *out, uint8_t seed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", (uint8_t)(i + seed));
    out[2 * n] = 0;
}

static void test_idpcontent_first_payload(void **state)
{
    (void)state;
    char want[256];
    fp_cache_t *c = start("idpcontent");
    pk_t syn = {.fwd = 1, .proto = 6, .tcpflags = FK_TCP_SYN};
    pk_t synack = {.fwd = 0, .proto = 6, .tcpflags = FK_TCP_SYN | FK_TCP_ACK};
    pk_t req = {.fwd = 1, .proto = 6, .tcpflags = 0x18, .paylen = 30, .seed = 7};
    pk_t req2 = {.fwd = 1, .proto = 6, .tcpflags = 0x18, .paylen = 50, .seed = 99};
    pk_t resp = {.fwd = 0, .proto = 6, .tcpflags = 0x18, .paylen = 300, .seed = 1};
    pk_t resp2 = {.fwd = 0, .proto = 6, .tcpflags = 0x18, .paylen = 5, .seed = 2};
    put(c, &syn, 1 * SEC);
    put(c, &synack, 1 * SEC + 1);
    put(c, &req, 1 * SEC + 2);
    put(c, &req2, 1 * SEC + 3);
    put(c, &resp, 1 * SEC + 4);
    put(c, &resp2, 1 * SEC + 5);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    hex(want, 7, 30); /* shorter than 100: all of it */
    assert_string_equal(csv(0, "IDP_CONTENT"), want);
    hex(want, 1, 100); /* capped at 100 */
    assert_string_equal(csv(0, "IDP_CONTENT_REV"), want);
    assert_int_equal(field("IDP_CONTENT")->pen, 8057);
    assert_int_equal(field("IDP_CONTENT")->ie, 850);
    assert_int_equal(field("IDP_CONTENT_REV")->ie, 851);
}

static void test_idpcontent_hostile(void **state)
{
    (void)state;
    char want[256];

    /* No payload at all: a record with two empty values. */
    fp_cache_t *c = start("idpcontent");
    pk_t a = {.fwd = 1, .proto = 6, .tcpflags = FK_TCP_SYN};
    pk_t b = {.fwd = 0, .proto = 6, .tcpflags = FK_TCP_RST | FK_TCP_ACK};
    put(c, &a, 1 * SEC);
    put(c, &b, 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "IDP_CONTENT"), "");
    assert_string_equal(csv(0, "IDP_CONTENT_REV"), "");

    /* UDP, payload in the flow's first packet; 1-byte reverse payload. */
    c = start("idpcontent");
    pk_t u = {.fwd = 1, .proto = 17, .paylen = 100, .seed = 3};
    pk_t v = {.fwd = 0, .proto = 17, .paylen = 1, .seed = 9};
    put(c, &u, 1 * SEC);
    put(c, &v, 1 * SEC + 1);
    finish(c);
    hex(want, 3, 100);
    assert_string_equal(csv(0, "IDP_CONTENT"), want);
    assert_string_equal(csv(0, "IDP_CONTENT_REV"), "09");

    /* Payload cut by the snap length: only the captured bytes. */
    c = start("idpcontent");
    pk_t t = {.fwd = 1, .proto = 17, .paylen = 500, .seed = 0, .trunc = 20 + 8 + 12};
    put(c, &t, 1 * SEC);
    finish(c);
    hex(want, 0, 12);
    assert_string_equal(csv(0, "IDP_CONTENT"), want);

    /* A packet claiming payload without a pointer is ignored. */
    c = start("idpcontent");
    fk_packet_t p;
    memset(&p, 0, sizeof(p));
    p.ts_ns = 1 * SEC;
    p.layer_ok = FK_LAYER_L4;
    p.ip_version = 4;
    p.ip_proto = 17;
    p.src_ip[10] = p.src_ip[11] = p.dst_ip[10] = p.dst_ip[11] = 0xff;
    p.src_ip[15] = 1;
    p.dst_ip[15] = 2;
    p.src_port = 1;
    p.dst_port = 2;
    p.ip_len = 40;
    p.payload_len = 12;
    fp_cache_put(c, &p);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_string_equal(csv(0, "IDP_CONTENT"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basicplus_handshake),
        cmocka_unit_test(test_basicplus_reference_bits),
        cmocka_unit_test(test_basicplus_hostile_options),
        cmocka_unit_test(test_basicplus_udp_and_truncated),
        cmocka_unit_test(test_idpcontent_first_payload),
        cmocka_unit_test(test_idpcontent_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
