/*
 * test_plugin_stats.c - the packet-statistics plugins pstats, phists, bstats
 * and nettisa, driven through the real packet parser and flow cache with
 * crafted IPv4/IPv6 TCP, UDP and ICMP packets: exact values on normal
 * sequences (30+ packets, duplicates for skipdup, zero-payload packets for
 * includezeroes, burst boundaries), ipfixprobe's length and time quirks,
 * packets that go back in time or share a timestamp, and hostile packets
 * (cut at every capture length, lying IP and UDP lengths).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#define MS   1000000ULL
#define US   1000ULL
#define SEC  1000000000ULL
#define MAXF 40

#include "tests/common/plugintest.h"

/* 2016-10-28T17:07:52.625696 UTC, the start of a flow in mixed.pcap. */
#define T0 (1477674472ULL * SEC + 625696ULL * US)

/* ---- harness ------------------------------------------------------------ */

/* Start a cache with plugin `arg` ("pstats;skipdup"), its options parsed as -p does. */
static fp_cache_t *start(const char *arg)
{
    return pt_start(arg, collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/* 0 when plugin `arg` accepts its options, else -1 (and a message). */
static int init_rc(const char *arg)
{
    fk_opts_t o;
    fk_err_t e;
    void *ctx = NULL;

    assert_int_equal(fk_opts_parse(arg, &o, &e), 0);
    const fp_plugin_t *p = fp_plugin_find(o.name);
    assert_non_null(p);
    int rc = p->init ? p->init(&ctx, &o, &e) : 0;
    fk_opts_free(&o);
    if (rc == 0 && p->fini)
        p->fini(ctx);
    return rc;
}

/* One crafted packet.  Unset fields are 0: IPv4, forward, no payload. */
typedef struct pk_st {
    uint8_t proto;    /* 6 TCP, 17 UDP, 1 ICMP */
    uint8_t v6;       /* IPv6 with one 8-byte Hop-by-Hop header before the transport */
    uint8_t rev;      /* DST -> SRC */
    uint16_t sport;   /* SRC's port (defaults 1000 / 2000) */
    uint16_t paylen;  /* bytes after the TCP/UDP/ICMP header */
    uint8_t flags;    /* TCP flags */
    uint32_t seq;     /* TCP */
    uint32_t ack;     /* TCP */
    uint16_t udp_len; /* UDP Length field if not 0 (a lying one) */
    uint16_t ip_plus; /* added to the IPv4 Total Length (a lying one) */
    uint16_t frag;    /* IPv4 fragment offset in 8-byte units: no transport header */
    uint8_t mf;       /* IPv4 More Fragments */
    uint32_t cap;     /* captured bytes if not 0 */
    uint64_t t;       /* ns */
} pk_t;

static uint8_t g_frame[2048];

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v);
}

/* Build the frame of `k` into g_frame; returns its length. */
static size_t build(const pk_t *k)
{
    uint8_t proto = k->proto ? k->proto : 17;
    size_t l4 = k->frag ? 0 : proto == 6 ? 20 : 8;
    size_t ip = k->v6 ? 40 + 8 : 20;
    size_t total = ip + l4 + k->paylen;
    uint16_t sp = k->sport ? k->sport : 1000, dp = 2000;
    uint8_t a = 1, b = 2;

    assert_true(total <= sizeof(g_frame));
    memset(g_frame, 0, total);
    if (k->rev) {
        uint16_t t = sp;
        sp = dp;
        dp = t;
        a = 2;
        b = 1;
    }
    if (k->v6) {
        g_frame[0] = 0x60;
        be16(g_frame + 4, (uint32_t)(total - 40));
        g_frame[6] = 0; /* Hop-by-Hop options (RFC 8200 4.3) */
        g_frame[7] = 64;
        g_frame[8] = 0x20;
        g_frame[23] = a;
        g_frame[24] = 0x20;
        g_frame[39] = b;
        g_frame[40] = proto; /* next header */
        g_frame[41] = 0;     /* 8 bytes: Next Header, Hdr Ext Len, 6 bytes of padding */
        g_frame[42] = 1;     /* PadN */
        g_frame[43] = 4;
    } else {
        g_frame[0] = 0x45;
        be16(g_frame + 2, (uint32_t)(total + k->ip_plus));
        be16(g_frame + 6, (uint32_t)(k->mf ? 0x2000 : 0) | k->frag);
        g_frame[8] = 64;
        g_frame[9] = proto;
        g_frame[12] = 10;
        g_frame[15] = a;
        g_frame[16] = 10;
        g_frame[19] = b;
    }
    uint8_t *h = g_frame + ip;
    if (k->frag) {
        /* a later fragment: data only */
    } else if (proto == 1) {
        h[0] = 8; /* echo request (RFC 792) */
    } else {
        be16(h, sp);
        be16(h + 2, dp);
    }
    if (proto == 6) {
        be32(h + 4, k->seq);
        be32(h + 8, k->ack);
        h[12] = 5 << 4;
        h[13] = k->flags;
        be16(h + 14, 65535);
    } else if (proto == 17 && !k->frag) {
        be16(h + 4, k->udp_len ? k->udp_len : (uint32_t)(8 + k->paylen));
    }
    for (size_t i = 0; i < k->paylen; i++)
        h[l4 + i] = (uint8_t)(i * 7 + 1);
    return total;
}

static void put(fp_cache_t *c, const pk_t *k)
{
    size_t total = build(k);
    uint32_t cap = k->cap ? k->cap : (uint32_t)total;
    fk_packet_t pkt;

    fk_packet_parse(&pkt, FK_LINK_RAW, g_frame, cap, (uint32_t)total, k->t);
    assert_true(fk_packet_has_key(&pkt));
    fp_cache_put(c, &pkt);
}

/* Shorthands: a UDP packet forward / reverse with n payload bytes at time t. */
static void udp(fp_cache_t *c, int rev, uint16_t n, uint64_t t)
{
    pk_t k = {.proto = 17, .rev = (uint8_t)rev, .paylen = n, .t = t};
    put(c, &k);
}

static void tcp(fp_cache_t *c, int rev, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t n,
                uint64_t t)
{
    pk_t k = {.proto = 6,
              .rev = (uint8_t)rev,
              .flags = flags,
              .seq = seq,
              .ack = ack,
              .paylen = n,
              .t = t};
    put(c, &k);
}

/* Index of the exported flow whose SRC port is `sport`. */
static size_t flow_by_port(uint16_t sport)
{
    for (size_t i = 0; i < g_nout; i++)
        if (g_flow[i].src_port == sport)
            return i;
    fail_msg("no flow from port %u", sport);
    return 0;
}

static const char *json(size_t flow, const char *name)
{
    static char out[1024];
    fk_buf_t b;

    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    fk_field_json(&b, field(name), g_rec[flow]);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.data, b.len);
    out[b.len] = 0;
    fk_buf_free(&b);
    return out;
}

/* ---- pstats ------------------------------------------------------------- */

static void test_pstats_basic(void **state)
{
    (void)state;
    fp_cache_t *c = start("pstats");
    udp(c, 0, 100, T0);
    udp(c, 1, 200, T0 + 1500 * US);
    udp(c, 0, 0, T0 + 2 * MS); /* no payload: not recorded */
    udp(c, 0, 50, T0 + 3 * MS);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets, 3);
    assert_int_equal(g_flow[0].packets_rev, 1);
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[100|200|50]");
    assert_string_equal(csv(0, "PPI_PKT_DIRECTIONS"), "[1|-1|1]");
    assert_string_equal(csv(0, "PPI_PKT_FLAGS"), "[0|0|0]");
    assert_string_equal(csv(0, "PPI_PKT_TIMES"),
                        "[2016-10-28T17:07:52.625696|2016-10-28T17:07:52.627196|"
                        "2016-10-28T17:07:52.628696]");
    assert_string_equal(json(0, "PPI_PKT_DIRECTIONS"), "[1,-1,1]");
    assert_string_equal(json(0, "PPI_PKT_TIMES"),
                        "[1477674472625696000,1477674472627196000,1477674472628696000]");
}

/*
 * ipfixprobe's payload_len_wire: ICMP counts its header, UDP is the IP payload
 * minus 8 whatever the UDP Length says, IPv6 extension headers are not
 * payload, and only header lengths count, not what was captured.
 */
static void test_pstats_lengths(void **state)
{
    (void)state;
    fp_cache_t *c = start("pstats");
    pk_t icmp = {.proto = 1, .paylen = 56, .t = T0};
    put(c, &icmp);
    pk_t short_udp = {.proto = 17, .sport = 1001, .paylen = 40, .udp_len = 20, .t = T0};
    put(c, &short_udp);
    pk_t long_udp = {.proto = 17, .sport = 1002, .paylen = 40, .udp_len = 900, .t = T0};
    put(c, &long_udp);
    pk_t v6 = {.proto = 17, .sport = 1003, .v6 = 1, .paylen = 30, .t = T0};
    put(c, &v6);
    pk_t v6tcp = {.proto = 6, .sport = 1004, .v6 = 1, .paylen = 7, .flags = 0x18, .t = T0};
    put(c, &v6tcp);
    /* Total Length 300 bytes more than the frame: the capture is short. */
    pk_t cut = {.proto = 17, .sport = 1005, .paylen = 10, .ip_plus = 300, .t = T0};
    put(c, &cut);
    /* A UDP datagram in two fragments (RFC 791 3.2): the first counts its IP
     * payload minus the UDP header, the second (no header) all of it. */
    pk_t f1 = {.proto = 17, .sport = 1006, .paylen = 16, .udp_len = 8 + 16 + 20, .mf = 1, .t = T0};
    put(c, &f1);
    pk_t f2 = {.proto = 17, .paylen = 20, .frag = 3, .t = T0 + 1 * MS};
    put(c, &f2);
    finish(c);

    assert_int_equal(g_nout, 7);
    assert_string_equal(csv(flow_by_port(1006), "PPI_PKT_LENGTHS"), "[16|20]");
    assert_string_equal(csv(flow_by_port(0), "PPI_PKT_LENGTHS"), "[64]"); /* 8 + 56 */
    assert_string_equal(csv(flow_by_port(1001), "PPI_PKT_LENGTHS"), "[40]");
    assert_string_equal(csv(flow_by_port(1002), "PPI_PKT_LENGTHS"), "[40]");
    assert_string_equal(csv(flow_by_port(1003), "PPI_PKT_LENGTHS"), "[30]");
    assert_string_equal(csv(flow_by_port(1004), "PPI_PKT_LENGTHS"), "[7]");
    assert_string_equal(csv(flow_by_port(1004), "PPI_PKT_FLAGS"), "[24]");
    assert_string_equal(csv(flow_by_port(1005), "PPI_PKT_LENGTHS"), "[310]");
}

/* Only the first 30 packets are kept; the flow goes on counting. */
static void test_pstats_thirty(void **state)
{
    (void)state;
    char expect[512] = "[";
    fp_cache_t *c = start("pstats");

    for (unsigned i = 0; i < 35; i++)
        udp(c, (int)(i % 3 == 2), (uint16_t)(i + 1), T0 + i * MS);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_flow[0].packets + g_flow[0].packets_rev, 35);
    for (unsigned i = 0; i < 30; i++)
        snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "%s%u", i ? "|" : "",
                 i + 1);
    strcat(expect, "]");
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), expect);
    assert_string_equal(csv(0, "PPI_PKT_DIRECTIONS"), "[1|1|-1|1|1|-1|1|1|-1|1|1|-1|1|1|-1|"
                                                      "1|1|-1|1|1|-1|1|1|-1|1|1|-1|1|1|-1]");
    assert_int_equal(fk_field_count(field("PPI_PKT_TIMES"), g_rec[0]), 30);
    assert_int_equal(fk_field_u64(field("PPI_PKT_TIMES"), g_rec[0], 29), T0 + 29 * MS);
}

/* A TCP handshake: zero-length packets only with includezeroes (either spelling). */
static void handshake(fp_cache_t *c)
{
    tcp(c, 0, 0x02, 100, 0, 0, T0);
    tcp(c, 1, 0x12, 500, 101, 0, T0 + 1 * MS);
    tcp(c, 0, 0x10, 101, 501, 0, T0 + 2 * MS);
    tcp(c, 0, 0x18, 101, 501, 10, T0 + 3 * MS);
}

static void test_pstats_includezeros(void **state)
{
    (void)state;
    static const char *const args[] = {"pstats;includezeroes", "pstats;includezeros", "pstats;i"};
    fp_cache_t *c = start("pstats");
    handshake(c);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[10]");
    assert_string_equal(csv(0, "PPI_PKT_FLAGS"), "[24]");

    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        c = start(args[i]);
        handshake(c);
        finish(c);
        assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[0|0|0|10]");
        assert_string_equal(csv(0, "PPI_PKT_FLAGS"), "[2|18|16|24]");
        assert_string_equal(csv(0, "PPI_PKT_DIRECTIONS"), "[1|-1|1|1]");
    }
}

/* A flow that is one SYN (a scan probe) carries no record; others do, even empty. */
static void test_pstats_syn_only(void **state)
{
    (void)state;
    fp_cache_t *c = start("pstats");
    pk_t syn = {.proto = 6, .sport = 3000, .flags = 0x02, .t = T0};
    put(c, &syn);
    pk_t ack = {.proto = 6, .sport = 3001, .flags = 0x10, .t = T0};
    put(c, &ack);
    pk_t syn2 = {.proto = 6, .sport = 3002, .flags = 0x02, .t = T0};
    put(c, &syn2);
    syn2.rev = 1;
    syn2.flags = 0x12;
    put(c, &syn2);
    udp(c, 0, 0, T0);
    finish(c);

    assert_int_equal(g_nout, 4);
    assert_int_equal(g_nrec[flow_by_port(3000)], 0);
    assert_int_equal(g_nrec[flow_by_port(3001)], 1);
    assert_string_equal(csv(flow_by_port(3001), "PPI_PKT_LENGTHS"), "[]");
    assert_int_equal(g_nrec[flow_by_port(3002)], 1);
    assert_int_equal(g_nrec[flow_by_port(1000)], 1);
    assert_string_equal(csv(flow_by_port(1000), "PPI_PKT_TIMES"), "[]");
}

/* skipdup: a TCP packet repeating its direction's previous one is not recorded. */
static void dup_sequence(fp_cache_t *c)
{
    tcp(c, 0, 0x18, 1000, 500, 10, T0);
    tcp(c, 0, 0x18, 1000, 500, 10, T0 + 1 * MS); /* retransmission */
    tcp(c, 1, 0x18, 500, 1010, 10, T0 + 2 * MS); /* other direction: compared apart */
    tcp(c, 0, 0x18, 1000, 500, 11, T0 + 3 * MS); /* other length: recorded */
    tcp(c, 0, 0x18, 1000, 500, 11, T0 + 4 * MS); /* repeats the one before */
    tcp(c, 0, 0x10, 1000, 500, 11, T0 + 5 * MS); /* other flags: recorded */
    tcp(c, 0, 0x10, 1011, 500, 11, T0 + 6 * MS); /* seq ahead: recorded */
    tcp(c, 0, 0x10, 1000, 500, 11, T0 + 7 * MS); /* seq behind, rest equal: skipped */
    tcp(c, 0, 0x10, 1000, 510, 11, T0 + 8 * MS); /* ack ahead: recorded */
}

static void test_pstats_skipdup(void **state)
{
    (void)state;
    fp_cache_t *c = start("pstats");
    dup_sequence(c);
    finish(c);
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[10|10|10|11|11|11|11|11|11]");

    c = start("pstats;skipdup");
    dup_sequence(c);
    finish(c);
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[10|10|11|11|11|11]");
    assert_string_equal(csv(0, "PPI_PKT_DIRECTIONS"), "[1|-1|1|1|1|1]");
    assert_string_equal(csv(0, "PPI_PKT_FLAGS"), "[24|24|24|16|16|16]");

    /* A sequence number that wrapped past 2^32 is ahead, not a duplicate. */
    c = start("pstats;s");
    tcp(c, 0, 0x18, 0xfffffff0u, 7, 10, T0);
    tcp(c, 0, 0x18, 0x00000010u, 7, 10, T0 + 1 * MS);
    tcp(c, 0, 0x18, 0x00000010u, 7, 10, T0 + 2 * MS);
    finish(c);
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[10|10]");

    /*
     * The flow's first packet is never a duplicate, even when it matches the
     * zeroed "previous packet" (seq, ack, length and flags all 0).  The first
     * packet of the other direction is compared with that zeroed state
     * (ipfixprobe compares it with uninitialised memory).
     */
    c = start("pstats;skipdup;includezeros");
    tcp(c, 0, 0, 0, 0, 0, T0);
    tcp(c, 1, 0, 0, 0, 0, T0 + 1 * MS);
    tcp(c, 1, 0, 1, 0, 0, T0 + 2 * MS);
    finish(c);
    assert_string_equal(csv(0, "PPI_PKT_DIRECTIONS"), "[1|-1]");
    assert_string_equal(csv(0, "PPI_PKT_TIMES"),
                        "[2016-10-28T17:07:52.625696|2016-10-28T17:07:52.627696]");

    /* UDP is never a duplicate. */
    c = start("pstats;skipdup");
    udp(c, 0, 10, T0);
    udp(c, 0, 10, T0);
    finish(c);
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[10|10]");
}

/* Times are recorded as they come, backwards or equal. */
static void test_pstats_weird_times(void **state)
{
    (void)state;
    fp_cache_t *c = start("pstats");
    udp(c, 0, 1, T0 + 5 * MS);
    udp(c, 1, 2, T0 + 2 * MS);
    udp(c, 0, 3, T0 + 2 * MS);
    udp(c, 0, 4, T0);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_string_equal(csv(0, "PPI_PKT_TIMES"),
                        "[2016-10-28T17:07:52.630696|2016-10-28T17:07:52.627696|"
                        "2016-10-28T17:07:52.627696|2016-10-28T17:07:52.625696]");
    assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[1|2|3|4]");
}

static void test_pstats_options(void **state)
{
    (void)state;
    assert_int_equal(init_rc("pstats"), 0);
    assert_int_equal(init_rc("pstats;includezeroes;skipdup"), 0);
    assert_int_equal(init_rc("pstats;includezeros;s;i"), 0);
    assert_int_equal(init_rc("pstats;bogus"), -1);
    assert_int_equal(init_rc("pstats;skipdup=1"), -1);
    assert_int_equal(init_rc("phists;includezeros"), 0);
    assert_int_equal(init_rc("phists;skipdup"), -1);
    assert_int_equal(init_rc("bstats"), 0);
    assert_int_equal(init_rc("bstats;i"), -1);
    assert_int_equal(init_rc("nettisa"), 0);
    assert_int_equal(init_rc("nettisa;x=1"), -1);
}

/*
 * A TCP packet with 100 payload bytes, cut at every capture length: whenever
 * the packet still makes a flow, every plugin measures it by its headers
 * (100 bytes), never by what was captured, and reads nothing past the capture.
 */
static void test_stats_truncated(void **state)
{
    (void)state;
    static const char *const plugins[] = {"pstats", "phists", "bstats", "nettisa"};
    pk_t k = {.proto = 6, .flags = 0x18, .seq = 1, .ack = 1, .paylen = 100, .t = T0};
    size_t total = build(&k);
    int keyed = 0;

    for (size_t pi = 0; pi < sizeof(plugins) / sizeof(plugins[0]); pi++) {
        for (uint32_t cap = 0; cap <= total; cap++) {
            fk_packet_t pkt[4];
            uint8_t *copy = malloc(cap ? cap : 1); /* exact size: ASan sees any over-read */
            assert_non_null(copy);
            build(&k);
            memcpy(copy, g_frame, cap);
            fk_packet_parse(&pkt[0], FK_LINK_RAW, copy, cap, (uint32_t)total, T0);
            if (!fk_packet_has_key(&pkt[0])) {
                free(copy);
                continue;
            }
            keyed++;
            fp_cache_t *c = start(plugins[pi]);
            for (unsigned i = 0; i < 4; i++) {
                fk_packet_parse(&pkt[i], FK_LINK_RAW, copy, cap, (uint32_t)total, T0 + i * MS);
                fp_cache_put(c, &pkt[i]);
            }
            finish(c);
            free(copy);
            assert_int_equal(g_nout, 1);
            assert_int_equal(g_nrec[0], 1);
            if (pi == 0)
                assert_string_equal(csv(0, "PPI_PKT_LENGTHS"), "[100|100|100|100]");
            else if (pi == 1)
                assert_string_equal(csv(0, "S_PHISTS_SIZES"), "[0|0|0|4|0|0|0|0]");
            else if (pi == 2)
                assert_string_equal(csv(0, "SBI_BRST_BYTES"), "[400]");
            else
                assert_int_equal(u64(0, "NTS_MAX"), 100);
        }
    }
    assert_true(keyed > 4); /* the loop did test something */
}

/* ---- phists ------------------------------------------------------------- */

static void test_phists_size_bins(void **state)
{
    (void)state;
    static const uint16_t lens[] = {15,  16,  31,  32,  63,   64,   127, 128,
                                    255, 256, 511, 512, 1023, 1024, 1400};
    fp_cache_t *c = start("phists");

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        udp(c, 0, lens[i], T0 + i * 2 * MS);
    udp(c, 0, 0, T0 + 100 * MS); /* no payload: neither a length nor a time */
    udp(c, 1, 700, T0 + 200 * MS);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "S_PHISTS_SIZES"), "[1|2|2|2|2|2|2|2]");
    assert_string_equal(csv(0, "S_PHISTS_IPT"), "[14|0|0|0|0|0|0|0]");
    assert_string_equal(csv(0, "D_PHISTS_SIZES"), "[0|0|0|0|0|0|1|0]");
    assert_string_equal(csv(0, "D_PHISTS_IPT"), "[0|0|0|0|0|0|0|0]");
    assert_string_equal(json(0, "S_PHISTS_SIZES"), "[1,2,2,2,2,2,2,2]");
}

static void test_phists_ipt_bins(void **state)
{
    (void)state;
    /* Gaps in ms, each at a bin edge; each direction has its own previous packet. */
    static const unsigned gaps[] = {15,  16,  31,  32,  63,   64,   127, 128,
                                    255, 256, 511, 512, 1023, 1024, 5000};
    uint64_t t = T0;
    fp_cache_t *c = start("phists");

    udp(c, 0, 20, t);
    udp(c, 1, 20, t + 1 * MS);
    for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
        t += gaps[i] * MS;
        udp(c, 0, 20, t);
    }
    udp(c, 1, 20, T0 + 2025 * MS); /* 2024 ms after its direction's last one */
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_string_equal(csv(0, "S_PHISTS_IPT"), "[1|2|2|2|2|2|2|2]");
    assert_string_equal(csv(0, "S_PHISTS_SIZES"), "[0|16|0|0|0|0|0|0]");
    assert_string_equal(csv(0, "D_PHISTS_IPT"), "[0|0|0|0|0|0|0|1]");
    assert_string_equal(csv(0, "D_PHISTS_SIZES"), "[0|2|0|0|0|0|0|0]");
}

static void test_phists_includezeros(void **state)
{
    (void)state;
    fp_cache_t *c = start("phists;includezeros");
    handshake(c);
    finish(c);
    assert_string_equal(csv(0, "S_PHISTS_SIZES"), "[3|0|0|0|0|0|0|0]");
    assert_string_equal(csv(0, "S_PHISTS_IPT"), "[2|0|0|0|0|0|0|0]");
    assert_string_equal(csv(0, "D_PHISTS_SIZES"), "[1|0|0|0|0|0|0|0]");

    c = start("phists");
    handshake(c);
    finish(c);
    assert_string_equal(csv(0, "S_PHISTS_SIZES"), "[1|0|0|0|0|0|0|0]");
    assert_string_equal(csv(0, "S_PHISTS_IPT"), "[0|0|0|0|0|0|0|0]");
    assert_string_equal(csv(0, "D_PHISTS_SIZES"), "[0|0|0|0|0|0|0|0]");

    /* One SYN: no record. */
    c = start("phists;i");
    tcp(c, 0, 0x02, 1, 0, 0, T0);
    finish(c);
    assert_int_equal(g_nrec[0], 0);
}

/*
 * ipfixprobe's 32-bit previous timestamp (see phists.c): with 2016 times a
 * packet 5 ms back in time lands in the last bin and one exactly 1 ms back is
 * not binned; equal times give 0.  With times in the first 50 days of 1970
 * the difference is negative in 64 bits and clamps to 0; a first packet at
 * time 0 reads as "no previous packet".
 */
static void test_phists_weird_times(void **state)
{
    (void)state;
    fp_cache_t *c = start("phists");
    udp(c, 0, 100, T0);
    udp(c, 0, 100, T0 + 100 * MS); /* +100 ms: bin 3 */
    udp(c, 0, 100, T0 + 95 * MS);  /* -5 ms: 2^32 - 5, last bin */
    udp(c, 0, 100, T0 + 94 * MS);  /* -1 ms: not binned */
    udp(c, 0, 100, T0 + 94 * MS);  /* 0 ms: bin 0 */
    finish(c);
    assert_string_equal(csv(0, "S_PHISTS_IPT"), "[1|0|0|1|0|0|0|1]");
    assert_string_equal(csv(0, "S_PHISTS_SIZES"), "[0|0|0|5|0|0|0|0]");

    c = start("phists");
    udp(c, 0, 100, 10 * SEC);
    udp(c, 0, 100, 10 * SEC + 100 * MS);
    udp(c, 0, 100, 10 * SEC + 95 * MS);
    udp(c, 0, 100, 10 * SEC + 94 * MS);
    finish(c);
    assert_string_equal(csv(0, "S_PHISTS_IPT"), "[2|0|0|1|0|0|0|0]");

    c = start("phists");
    udp(c, 0, 100, 0);
    udp(c, 0, 100, 500 * MS);
    udp(c, 0, 100, 1000 * MS); /* 500 ms after the second: bin 5 */
    finish(c);
    assert_string_equal(csv(0, "S_PHISTS_IPT"), "[0|0|0|0|0|1|0|0]");
}

/* ---- bstats ------------------------------------------------------------- */

static void test_bstats_bursts(void **state)
{
    (void)state;
    fp_cache_t *c = start("bstats");
    udp(c, 0, 10, T0); /* run A: 3 packets within 1 s of each other */
    udp(c, 1, 5, T0 + 200 * MS);
    udp(c, 0, 20, T0 + 500 * MS);
    udp(c, 1, 5, T0 + 300 * MS);
    udp(c, 0, 30, T0 + 999900 * US);
    udp(c, 0, 7, T0 + 1999900 * US); /* exactly 1 s later: run B */
    udp(c, 0, 7, T0 + 2999800 * US); /* 0.9999 s: joins B (2 packets: too few) */
    udp(c, 0, 5, T0 + 8 * SEC);      /* run C */
    udp(c, 0, 5, T0 + 8100 * MS);
    udp(c, 0, 0, T0 + 8150 * MS); /* no payload: ignored */
    udp(c, 0, 5, T0 + 8200 * MS);
    udp(c, 0, 5, T0 + 8300 * MS);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "SBI_BRST_PACKETS"), "[3|4]");
    assert_string_equal(csv(0, "SBI_BRST_BYTES"), "[60|20]");
    assert_string_equal(csv(0, "SBI_BRST_TIME_START"),
                        "[2016-10-28T17:07:52.625696|2016-10-28T17:08:00.625696]");
    assert_string_equal(csv(0, "SBI_BRST_TIME_STOP"),
                        "[2016-10-28T17:07:53.625596|2016-10-28T17:08:00.925696]");
    /* The reverse direction had 2 packets: no burst. */
    assert_string_equal(csv(0, "DBI_BRST_PACKETS"), "[]");
    assert_string_equal(csv(0, "DBI_BRST_BYTES"), "[]");
    assert_string_equal(csv(0, "DBI_BRST_TIME_START"), "[]");
    assert_string_equal(csv(0, "DBI_BRST_TIME_STOP"), "[]");
    assert_string_equal(json(0, "SBI_BRST_TIME_START"),
                        "[1477674472625696000,1477674480625696000]");
}

/* Flows of at most 3 packets carry nothing; longer ones always a record. */
static void test_bstats_short_flows(void **state)
{
    (void)state;
    fp_cache_t *c = start("bstats");
    for (unsigned i = 0; i < 3; i++) {
        pk_t k = {.proto = 17, .sport = 1001, .paylen = 10, .t = T0 + i * MS};
        put(c, &k);
    }
    for (unsigned i = 0; i < 4; i++) {
        pk_t k = {.proto = 17,
                  .sport = 1002,
                  .rev = (uint8_t)(i & 1),
                  .paylen = 10,
                  .t = T0 + i * 2 * SEC};
        put(c, &k);
    }
    for (unsigned i = 0; i < 4; i++) {
        pk_t k = {.proto = 17, .sport = 1003, .paylen = (uint16_t)(i == 0 ? 10 : 0), .t = T0};
        put(c, &k);
    }
    finish(c);

    assert_int_equal(g_nout, 3);
    assert_int_equal(g_nrec[flow_by_port(1001)], 0);
    size_t i = flow_by_port(1002);
    assert_int_equal(g_nrec[i], 1);
    assert_string_equal(csv(i, "SBI_BRST_PACKETS"), "[]");
    assert_string_equal(csv(i, "DBI_BRST_TIME_STOP"), "[]");
    /* One packet with payload and three without: a record, no burst. */
    i = flow_by_port(1003);
    assert_int_equal(g_nrec[i], 1);
    assert_string_equal(csv(i, "SBI_BRST_PACKETS"), "[]");
}

/* At most 15 bursts per direction; both directions are counted apart. */
static void test_bstats_fifteen(void **state)
{
    (void)state;
    char pk[128] = "[", starts[1024] = "[";
    fp_cache_t *c = start("bstats");

    for (unsigned b = 0; b < 17; b++)
        for (unsigned i = 0; i < 3; i++)
            udp(c, 0, (uint16_t)(b + 1), T0 + b * 2 * SEC + i * 10 * MS);
    for (unsigned i = 0; i < 5; i++)
        udp(c, 1, 100, T0 + SEC + i * 100 * MS);
    finish(c);

    assert_int_equal(g_nout, 1);
    for (unsigned b = 0; b < 15; b++) {
        snprintf(pk + strlen(pk), sizeof(pk) - strlen(pk), "%s%u", b ? "|" : "", 3 * (b + 1));
        fk_buf_t buf;
        assert_int_equal(fk_buf_init(&buf, NULL, 32), 0);
        fk_buf_time_us(&buf, T0 + b * 2 * SEC);
        snprintf(starts + strlen(starts), sizeof(starts) - strlen(starts), "%s%.*s", b ? "|" : "",
                 (int)buf.len, buf.data);
        fk_buf_free(&buf);
    }
    strcat(pk, "]");
    strcat(starts, "]");
    assert_string_equal(csv(0, "SBI_BRST_BYTES"), pk);
    assert_string_equal(csv(0, "SBI_BRST_PACKETS"), "[3|3|3|3|3|3|3|3|3|3|3|3|3|3|3]");
    assert_string_equal(csv(0, "SBI_BRST_TIME_START"), starts);
    assert_string_equal(csv(0, "DBI_BRST_PACKETS"), "[5]");
    assert_string_equal(csv(0, "DBI_BRST_BYTES"), "[500]");
}

/* Back in time: the packet joins the run and moves its end back; equal times join. */
static void test_bstats_weird_times(void **state)
{
    (void)state;
    fp_cache_t *c = start("bstats");
    udp(c, 0, 1, T0 + 5 * SEC);
    udp(c, 0, 2, T0 + 4 * SEC);
    udp(c, 0, 3, T0 + 4500 * MS);
    udp(c, 0, 4, T0 + 10 * SEC); /* 5.5 s after the end: a new run */
    udp(c, 0, 5, T0 + 10 * SEC);
    udp(c, 0, 6, T0 + 10 * SEC);
    finish(c);

    assert_string_equal(csv(0, "SBI_BRST_PACKETS"), "[3|3]");
    assert_string_equal(csv(0, "SBI_BRST_BYTES"), "[6|15]");
    assert_string_equal(csv(0, "SBI_BRST_TIME_START"),
                        "[2016-10-28T17:07:57.625696|2016-10-28T17:08:02.625696]");
    assert_string_equal(csv(0, "SBI_BRST_TIME_STOP"),
                        "[2016-10-28T17:07:57.125696|2016-10-28T17:08:02.625696]");
}

/*
 * A flow in a record an earlier flow filled (the record freed last is the
 * next one taken) gives what a fresh cache gives: the earlier flow leaves
 * bursts in both directions (and a run of 3 reverse packets at index 0);
 * the new flow has one forward burst and no reverse packet at all.
 */
static void test_bstats_reused_record(void **state)
{
    static const char *const names[] = {
        "SBI_BRST_PACKETS", "SBI_BRST_BYTES", "SBI_BRST_TIME_START", "SBI_BRST_TIME_STOP",
        "DBI_BRST_PACKETS", "DBI_BRST_BYTES", "DBI_BRST_TIME_START", "DBI_BRST_TIME_STOP"};
    char fresh[8][256];
    (void)state;

    for (int dirty = 0; dirty < 2; dirty++) {
        fp_cache_t *c = start("bstats");
        if (dirty) {
            for (unsigned b = 0; b < 4; b++)
                for (unsigned i = 0; i < 3; i++) {
                    udp(c, 0, 100, T0 + b * 2 * SEC + i * MS);
                    udp(c, 1, 200, T0 + b * 2 * SEC + i * MS);
                }
            fp_cache_flush(c);
            assert_int_equal(g_nout, 1);
            assert_string_equal(csv(0, "DBI_BRST_PACKETS"), "[3|3|3|3]");
            g_nout = 0;
        }
        for (unsigned i = 0; i < 4; i++) {
            pk_t k = {.proto = 17, .sport = 1009, .paylen = 10, .t = T0 + 20 * SEC + i * MS};
            put(c, &k);
        }
        finish(c);
        assert_int_equal(g_nout, 1);
        assert_int_equal(g_nrec[0], 1);
        for (size_t f = 0; f < 8; f++) {
            if (!dirty)
                strcpy(fresh[f], csv(0, names[f]));
            else
                assert_string_equal(csv(0, names[f]), fresh[f]);
        }
    }
    assert_string_equal(fresh[0], "[4]");
    assert_string_equal(fresh[1], "[40]");
    assert_string_equal(fresh[4], "[]");
}

/* ---- nettisa ------------------------------------------------------------ */

/*
 * The ICMP flow 10.5.5.26 -> 10.5.5.1 of mixed.pcap rebuilt: IP payloads 68,
 * 68 and 76 bytes, 87 us and 5005910 us apart.  ipfixprobe's own output for
 * it (outputs/nettisa) is the expectation.
 */
static void test_nettisa_reference_flow(void **state)
{
    (void)state;
    fp_cache_t *c = start("nettisa");
    pk_t k = {.proto = 1, .paylen = 60, .t = T0};
    put(c, &k);
    k.t = T0 + 87 * US;
    put(c, &k);
    k.paylen = 68;
    k.t = T0 + 5005997 * US;
    put(c, &k);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "NTS_MEAN"), "70.666664");
    assert_int_equal(u64(0, "NTS_MIN"), 68);
    assert_int_equal(u64(0, "NTS_MAX"), 76);
    assert_string_equal(csv(0, "NTS_STDEV"), "10.392304");
    assert_string_equal(csv(0, "NTS_KURTOSIS"), "611.153259");
    assert_string_equal(csv(0, "NTS_ROOT_MEAN_SQUARE"), "70.767227");
    assert_string_equal(csv(0, "NTS_AVERAGE_DISPERSION"), "25.333334");
    assert_string_equal(csv(0, "NTS_MEAN_SCALED_TIME"), "1668694.625000");
    assert_string_equal(csv(0, "NTS_MEAN_DIFFTIMES"), "1668665.625000");
    assert_string_equal(csv(0, "NTS_MIN_DIFFTIMES"), "0.000000");
    assert_string_equal(csv(0, "NTS_MAX_DIFFTIMES"), "5005910.000000");
    assert_string_equal(csv(0, "NTS_TIME_DISTRIBUTION"), "0.333339");
    assert_string_equal(csv(0, "NTS_SWITCHING_RATIO"), "0.666667");
}

/*
 * Lengths 1 and 2, 1 ms apart, both directions: STDEV takes the integer
 * mean 3 / 2 = 1, so sqrt(5 / 2 - 1) = 1.224745 (the textbook value is 0.5);
 * TIME_DISTRIBUTION divides by MAX_DIFFTIMES - NTS_MIN = 1000 - 1.
 */
static void test_nettisa_quirks(void **state)
{
    (void)state;
    fp_cache_t *c = start("nettisa");
    udp(c, 0, 1, T0);
    udp(c, 1, 2, T0 + 1 * MS);
    finish(c);

    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "NTS_MEAN"), "1.500000");
    assert_int_equal(u64(0, "NTS_MIN"), 1);
    assert_int_equal(u64(0, "NTS_MAX"), 2);
    assert_string_equal(csv(0, "NTS_STDEV"), "1.224745");
    assert_string_equal(csv(0, "NTS_KURTOSIS"), "0.444444");
    assert_string_equal(csv(0, "NTS_ROOT_MEAN_SQUARE"), "1.581139");
    assert_string_equal(csv(0, "NTS_AVERAGE_DISPERSION"), "1.000000");
    assert_string_equal(csv(0, "NTS_MEAN_SCALED_TIME"), "500.000000");
    assert_string_equal(csv(0, "NTS_MEAN_DIFFTIMES"), "500.000000");
    assert_string_equal(csv(0, "NTS_MAX_DIFFTIMES"), "1000.000000");
    assert_string_equal(csv(0, "NTS_TIME_DISTRIBUTION"), "0.500501");
    assert_string_equal(csv(0, "NTS_SWITCHING_RATIO"), "1.000000");

    /* One packet: no record. */
    c = start("nettisa");
    udp(c, 0, 1, T0);
    finish(c);
    assert_int_equal(g_nrec[0], 0);
}

/*
 * Lengths 20, 21 and 60 (fractional deviations from the running mean), cut
 * to 40 captured bytes: the switching ratio looks at frame lengths on the
 * wire (48, 49, 88: three switches), the dispersions at |x - mean| in float.
 * Expected values from a float32 model of ipfixprobe's arithmetic, checked
 * against its reference output.
 */
static void test_nettisa_fractions(void **state)
{
    (void)state;
    fp_cache_t *c = start("nettisa");
    pk_t k = {.proto = 17, .paylen = 20, .cap = 40, .t = T0};
    put(c, &k);
    k.paylen = 21;
    k.t = T0 + 1000 * US;
    put(c, &k);
    k.paylen = 60;
    k.t = T0 + 1001 * US;
    put(c, &k);
    finish(c);

    assert_string_equal(csv(0, "NTS_MEAN"), "33.666668");
    assert_int_equal(u64(0, "NTS_MIN"), 20);
    assert_int_equal(u64(0, "NTS_MAX"), 60);
    assert_string_equal(csv(0, "NTS_STDEV"), "19.782148");
    assert_string_equal(csv(0, "NTS_KURTOSIS"), "5.647012");
    assert_string_equal(csv(0, "NTS_ROOT_MEAN_SQUARE"), "38.475101");
    assert_string_equal(csv(0, "NTS_AVERAGE_DISPERSION"), "20.166666");
    assert_string_equal(csv(0, "NTS_MEAN_SCALED_TIME"), "667.000000");
    assert_string_equal(csv(0, "NTS_MEAN_DIFFTIMES"), "333.666687");
    assert_string_equal(csv(0, "NTS_MAX_DIFFTIMES"), "1000.000000");
    assert_string_equal(csv(0, "NTS_TIME_DISTRIBUTION"), "0.424830");
    assert_string_equal(csv(0, "NTS_SWITCHING_RATIO"), "1.000000");
}

/*
 * A packet 1 s before the previous one: the unsigned microsecond difference
 * wraps to about 2^64, which ipfixprobe keeps as a float.  Two packets with
 * the same time and no payload: 0 / 0 in TIME_DISTRIBUTION, which CSV prints
 * as printf does and JSON as null.
 */
static void test_nettisa_weird_times(void **state)
{
    (void)state;
    fp_cache_t *c = start("nettisa");
    udp(c, 0, 10, T0 + SEC);
    udp(c, 0, 10, T0);
    udp(c, 0, 10, T0 + 2 * SEC);
    finish(c);
    assert_string_equal(csv(0, "NTS_MAX_DIFFTIMES"), "18446744073709551616.000000");
    assert_string_equal(csv(0, "NTS_MIN_DIFFTIMES"), "0.000000");
    assert_string_equal(csv(0, "NTS_MEAN"), "10.000000");
    assert_string_equal(csv(0, "NTS_STDEV"), "0.000000");
    assert_string_equal(csv(0, "NTS_KURTOSIS"), "0.000000");

    c = start("nettisa");
    udp(c, 0, 0, T0);
    udp(c, 1, 0, T0);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "NTS_MAX_DIFFTIMES"), "0.000000");
    assert_string_equal(csv(0, "NTS_MEAN"), "0.000000");
    assert_string_equal(csv(0, "NTS_SWITCHING_RATIO"), "0.500000");
    const char *td = csv(0, "NTS_TIME_DISTRIBUTION");
    assert_true(strcmp(td, "-nan") == 0 || strcmp(td, "nan") == 0);
    assert_string_equal(json(0, "NTS_TIME_DISTRIBUTION"), "null");
    assert_string_equal(json(0, "NTS_MEAN"), "0.000000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pstats_basic),           cmocka_unit_test(test_pstats_lengths),
        cmocka_unit_test(test_pstats_thirty),          cmocka_unit_test(test_pstats_includezeros),
        cmocka_unit_test(test_pstats_syn_only),        cmocka_unit_test(test_pstats_skipdup),
        cmocka_unit_test(test_pstats_weird_times),     cmocka_unit_test(test_pstats_options),
        cmocka_unit_test(test_stats_truncated),        cmocka_unit_test(test_phists_size_bins),
        cmocka_unit_test(test_phists_ipt_bins),        cmocka_unit_test(test_phists_includezeros),
        cmocka_unit_test(test_phists_weird_times),     cmocka_unit_test(test_bstats_bursts),
        cmocka_unit_test(test_bstats_short_flows),     cmocka_unit_test(test_bstats_fifteen),
        cmocka_unit_test(test_bstats_weird_times),     cmocka_unit_test(test_bstats_reused_record),
        cmocka_unit_test(test_nettisa_reference_flow), cmocka_unit_test(test_nettisa_quirks),
        cmocka_unit_test(test_nettisa_fractions),      cmocka_unit_test(test_nettisa_weird_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
