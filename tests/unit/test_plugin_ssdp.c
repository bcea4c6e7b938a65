/*
 * test_plugin_ssdp.c - the ssdp plugin, driven through the real packet parser
 * and flow cache: NOTIFY and M-SEARCH headers accumulated per flow (lists
 * with their CRs, de-duplication, size caps), LOCATION port parsing and its
 * ipfixprobe quirks, which flows get a record; and hostile payloads (cut at
 * every length into exact-size buffers, so ASan sees any over-read, 100 kB
 * header lines, lines without CRLF, blank values, NUL bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#define SEC    1000000000ULL
#define MAXF   64
#define MAXREC 2048
#include "tests/common/plugintest.h"

static fp_cache_t *start(void)
{
    return pt_start("ssdp", collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

#define V6  1 /* put() flags */
#define REV 2

/*
 * A raw IPv4 (10.0.0.1 -> 239.255.255.250) or IPv6 (V6: fe80::1 -> ff02::c)
 * UDP frame carrying `pay`, addresses swapped with REV, captured up to `cap`
 * bytes (0 = all) into a heap buffer of exactly that size, so an over-read
 * trips ASan.
 */
static void put(fp_cache_t *c, int fl, uint16_t sport, uint16_t dport, const void *pay, size_t n,
                size_t cap, uint64_t t)
{
    int v6 = fl & V6;
    size_t hl = v6 ? 48 : 28, total = hl + n;
    uint8_t *f = calloc(1, total);
    fk_packet_t pkt;

    assert_non_null(f);
    assert_true(total <= 65535);
    if (v6) {
        f[0] = 0x60;
        f[4] = (uint8_t)((8 + n) >> 8);
        f[5] = (uint8_t)(8 + n);
        f[6] = 17;
        f[7] = 1;
        f[8] = 0xfe;
        f[9] = 0x80;
        f[23] = 1;
        f[24] = 0xff;
        f[25] = 0x02;
        f[39] = 0x0c;
    } else {
        f[0] = 0x45;
        f[2] = (uint8_t)(total >> 8);
        f[3] = (uint8_t)total;
        f[8] = 1;
        f[9] = 17;
        f[12] = 10;
        f[15] = 1;
        f[16] = 239;
        f[17] = f[18] = 255;
        f[19] = 250;
    }
    f[hl - 8] = (uint8_t)(sport >> 8);
    f[hl - 7] = (uint8_t)sport;
    f[hl - 6] = (uint8_t)(dport >> 8);
    f[hl - 5] = (uint8_t)dport;
    f[hl - 4] = (uint8_t)((8 + n) >> 8);
    f[hl - 3] = (uint8_t)(8 + n);
    if (fl & REV) {
        size_t al = v6 ? 16 : 4, so = v6 ? 8 : 12;
        uint8_t tmp[16];
        memcpy(tmp, f + so, al);
        memcpy(f + so, f + so + al, al);
        memcpy(f + so + al, tmp, al);
    }
    if (n)
        memcpy(f + hl, pay, n);
    if (cap == 0 || cap > total)
        cap = total;
    uint8_t *g = malloc(cap);
    assert_non_null(g);
    memcpy(g, f, cap);
    free(f);
    fk_packet_parse(&pkt, FK_LINK_RAW, g, (uint32_t)cap, (uint32_t)total, t);
    if (fk_packet_has_key(&pkt))
        fp_cache_put(c, &pkt);
    free(g);
}

static void puts4(fp_cache_t *c, const char *msg, uint64_t t)
{
    put(c, 0, 50000, 1900, msg, strlen(msg), 0, t);
}

/*
 * Run the plugin's hooks on `n` bytes (in a buffer of exactly n bytes) as
 * the first packet of a flow to port 1900, without the packet parser, which
 * caps payloads at 64 kB.  The record is left in g_rec[0].
 */
static void direct(const void *pay, size_t n, uint8_t ipver)
{
    uint8_t *buf = n ? malloc(n) : NULL;
    void *st = calloc(1, g_pi.p->state_size);
    fp_flow_t flow;
    fk_packet_t pkt;
    /* the record is a body: one from a pool of our own, as a cache gives it */
    fp_body_pool_t *bodies = fp_body_pool_new(g_pi.p->body_size, 1);
    fp_hookpkt_t hp = {&pkt, 0, bodies};

    assert_true(n == 0 || buf != NULL);
    assert_non_null(st);
    assert_non_null(bodies);
    if (n)
        memcpy(buf, pay, n);
    memset(&flow, 0, sizeof(flow));
    memset(&pkt, 0, sizeof(pkt));
    flow.ip_version = ipver;
    pkt.ip_version = ipver;
    pkt.ip_proto = 17;
    pkt.src_port = 50000;
    pkt.dst_port = 1900;
    pkt.payload = buf;
    pkt.payload_len = (uint32_t)n;
    assert_int_equal(g_pi.p->post_create(g_pi.ctx, &flow, st, &hp), FP_HOOK_OK);
    g_nrec[0] = g_pi.p->records(g_pi.ctx, &flow, st);
    memset(g_rec[0], 0, MAXREC);
    if (g_nrec[0])
        memcpy(g_rec[0], g_pi.p->record(g_pi.ctx, &flow, st, 0), g_pi.p->record_size);
    free(st);
    free(buf);
    fp_body_pool_free(bodies);
}

/* A message given as a string literal, to an IPv4 flow. */
#define DIRECT(s) direct(s, strlen(s), 4)

static const char notify1[] = "NOTIFY * HTTP/1.1\r\n"
                              "HOST: 239.255.255.250:1900\r\n"
                              "CACHE-CONTROL: max-age=1800\r\n"
                              "LOCATION: http://192.168.1.5:49152/desc.xml\r\n"
                              "NT: urn:schemas-upnp-org:device:MediaServer:1\r\n"
                              "NTS: ssdp:alive\r\n"
                              "SERVER: Linux/5.4 UPnP/1.0 Test/2.1\r\n"
                              "ST: urn:ignored-in-notify:1\r\n"
                              "USER-AGENT: ignored in notify\r\n"
                              "USN: uuid:1234::urn:schemas-upnp-org:device:MediaServer:1\r\n"
                              "\r\n";

static const char notify2[] = "NOTIFY * HTTP/1.1\r\n"
                              "nt:urn:schemas-upnp-org:service:ContentDirectory:1\r\n"
                              "Location:http://192.168.1.5:49153/cd.xml\r\n"
                              "Server:Linux/5.4 UPnP/1.0 Test/2.1\r\n"
                              "\r\n";

static const char notify3[] = "NOTIFY * HTTP/1.1\r\n"
                              "NT: upnp:rootdevice\r\n" /* not a urn: ignored */
                              "NT: urn:schemas-upnp-org:device:MediaServer:1\r\n" /* again */
                              "LOCATION: http://nodots/x\r\n" /* no '.': port stays */
                              "SERVER: Other/1.0\r\n"
                              "\r\n";

static void test_ssdp_notify(void **state)
{
    (void)state;
    fp_cache_t *c = start();
    puts4(c, notify1, 1 * SEC);
    puts4(c, notify2, 2 * SEC);
    puts4(c, notify3, 3 * SEC);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets, 3);
    assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 49153); /* last non-zero wins */
    /* Values keep the CR before the LF, as ipfixprobe stores them. */
    assert_string_equal(str(0, "SSDP_NT"), "schemas-upnp-org:device:MediaServer:1\r;"
                                           "schemas-upnp-org:service:ContentDirectory:1\r;");
    assert_string_equal(str(0, "SSDP_SERVER"), "Linux/5.4 UPnP/1.0 Test/2.1\r;Other/1.0\r;");
    assert_string_equal(str(0, "SSDP_ST"), "");
    assert_string_equal(str(0, "SSDP_USER_AGENT"), "");
    /* The CSV output drops them, as the NEMEA logger does. */
    assert_string_equal(csv(0, "SSDP_NT"), "\"schemas-upnp-org:device:MediaServer:1;"
                                           "schemas-upnp-org:service:ContentDirectory:1;\"");
    assert_string_equal(csv(0, "SSDP_SERVER"), "\"Linux/5.4 UPnP/1.0 Test/2.1;Other/1.0;\"");
}

static void test_ssdp_msearch(void **state)
{
    (void)state;
    static const char s1[] = "M-SEARCH * HTTP/1.1\r\n"
                             "HOST: [FF02::C]:1900\r\n"
                             "MAN: \"ssdp:discover\"\r\n"
                             "ST: urn:dial-multiscreen-org:service:dial:1\r\n"
                             "User-Agent: Chrome/83 Linux\r\n"
                             "NT: urn:ignored-in-search:1\r\n"
                             "SERVER: ignored in search\r\n"
                             "LOCATION: http://[fe80::1]:80/\r\n"
                             "\r\n";
    static const char s2[] = "M-SEARCH * HTTP/1.1\r\n"
                             "st:\t URN:\t schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                             "ST : urn:space-before-colon:1\r\n"
                             "ST: ssdp:all\r\n"
                             "USER-AGENT:Chrome/83 Linux\r\n" /* already listed */
                             "\r\n";
    fp_cache_t *c = start();
    put(c, V6, 50000, 1900, s1, strlen(s1), 0, 1 * SEC);
    put(c, V6, 50000, 1900, s2, strlen(s2), 0, 2 * SEC);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);
    assert_string_equal(str(0, "SSDP_ST"), "dial-multiscreen-org:service:dial:1\r;"
                                           "schemas-upnp-org:device:InternetGatewayDevice:1\r;");
    assert_string_equal(str(0, "SSDP_USER_AGENT"), "Chrome/83 Linux\r;");
    assert_string_equal(str(0, "SSDP_NT"), "");
    assert_string_equal(str(0, "SSDP_SERVER"), "");
}

/* Which packets attach a record, and which are read. */
static void test_ssdp_which_flows(void **state)
{
    (void)state;
    static const char ok[] = "HTTP/1.1 200 OK\r\nST: urn:x:1\r\nLOCATION: http://1.2.3.4:99/\r\n"
                             "SERVER: S\r\n\r\n";
    static const char empty[] = "M-SEARCH * HTTP/1.1\r\nMX: 3\r\n\r\n";
    static const char other[] = "XOTIFY * HTTP/1.1\r\nNT: urn:x:1\r\n\r\n";
    static const char later[] = "NOTIFY * HTTP/1.1\r\nNT: urn:later:1\r\n\r\n";
    static const char back[] = "NOTIFY * HTTP/1.1\r\nNT: urn:back:1\r\n\r\n";
    fp_cache_t *c = start();

    /* A unicast answer from port 1900: no record, and a later packet of the
     * same flow sent to 1900 does not make one (ipfixprobe dereferences a
     * null record there). */
    put(c, 0, 1900, 40000, ok, strlen(ok), 0, 1 * SEC);
    put(c, REV, 40000, 1900, later, strlen(later), 0, 2 * SEC);
    /* To 1900 with nothing useful: an empty record all the same. */
    put(c, 0, 40001, 1900, empty, strlen(empty), 0, 1 * SEC);
    /* To 1900, neither 'N' nor 'M' first: an empty record. */
    put(c, 0, 40002, 1900, other, strlen(other), 0, 1 * SEC);
    /* To 1900, empty payload: an empty record; a later NOTIFY fills it, an
     * answer of the same flow (from 1900) is not read. */
    put(c, 0, 40003, 1900, NULL, 0, 0, 1 * SEC);
    put(c, 0, 40003, 1900, later, strlen(later), 0, 2 * SEC);
    put(c, REV, 1900, 40003, back, strlen(back), 0, 3 * SEC);
    /* 1900 <-> 1900: both directions are sent to 1900, both are read. */
    put(c, 0, 1900, 1900, later, strlen(later), 0, 1 * SEC);
    put(c, REV, 1900, 1900, back, strlen(back), 0, 2 * SEC);
    finish(c);

    assert_int_equal(g_nout, 5);
    for (size_t i = 0; i < g_nout; i++) {
        uint32_t pkts = g_flow[i].packets + g_flow[i].packets_rev;
        const char *nt = "";

        switch (g_flow[i].src_port) {
        case 1900:
            if (g_flow[i].dst_port == 40000) {
                assert_int_equal(g_nrec[i], 0);
                assert_int_equal(pkts, 2);
                continue;
            }
            assert_int_equal(pkts, 2);
            nt = "later:1\r;back:1\r;";
            break;
        case 40003:
            assert_int_equal(pkts, 3);
            nt = "later:1\r;";
            break;
        default:
            assert_int_equal(pkts, 1);
        }
        assert_int_equal(g_nrec[i], 1);
        assert_string_equal(str(i, "SSDP_NT"), nt);
        assert_string_equal(str(i, "SSDP_ST"), "");
        assert_string_equal(str(i, "SSDP_SERVER"), "");
        assert_int_equal(u64(i, "SSDP_LOCATION_PORT"), 0);
    }
}

/* LOCATION: the port as ipfixprobe finds it. */
static uint16_t loc_port(const char *value, uint8_t ipver)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\nLOCATION: %s\r\n\r\n", value);
    direct(msg, strlen(msg), ipver);
    assert_int_equal(g_nrec[0], 1);
    return (uint16_t)u64(0, "SSDP_LOCATION_PORT");
}

static void test_ssdp_location(void **state)
{
    (void)state;
    fp_cache_t *c = start(); /* only for g_pi */

    assert_int_equal(loc_port("http://10.0.0.1:2869/x", 4), 2869);
    assert_int_equal(loc_port("http://dev.example:8080/x", 4), 8080);
    assert_int_equal(loc_port("http://[fe80::1]:5000/x", 6), 5000);
    /* IPv6 flows look for ']', IPv4 flows for '.'. */
    assert_int_equal(loc_port("http://10.0.0.1:2869/x", 6), 0);
    assert_int_equal(loc_port("http://[fe80::1]:5000/x", 4), 0);
    assert_int_equal(loc_port("http://localhost:80/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1:/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1:abc/x", 4), 0);
    /* strtol(..., 0): prefixes, sign, blanks, saturation, 16-bit cut. */
    assert_int_equal(loc_port("http://10.0.0.1:0x1F90/x", 4), 8080);
    assert_int_equal(loc_port("http://10.0.0.1:0X1f90/x", 4), 8080);
    assert_int_equal(loc_port("http://10.0.0.1:010/x", 4), 8);
    assert_int_equal(loc_port("http://10.0.0.1:0x/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1:09/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1: +443/x", 4), 443);
    assert_int_equal(loc_port("http://10.0.0.1:-1/x", 4), 65535);
    assert_int_equal(loc_port("http://10.0.0.1:65537/x", 4), 1);
    assert_int_equal(loc_port("http://10.0.0.1:65536/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1:99999999999999999999999/x", 4), 65535);
    assert_int_equal(loc_port("http://10.0.0.1:-99999999999999999999999/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1:9223372036854775807/x", 4), 65535);
    assert_int_equal(loc_port("http://10.0.0.1:-9223372036854775808/x", 4), 0);
    assert_int_equal(loc_port("http://10.0.0.1:-9223372036854775807/x", 4), 1);
    /* The ':' search spans the value's length from the '.', so it can
     * reach into the next header line (ipfixprobe's reading). */
    {
        static const char m[] = "NOTIFY * HTTP/1.1\r\nLOCATION: http://a.b/x\r\nX:7\r\n\r\n";
        direct(m, strlen(m), 4);
        assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 7);
        static const char far[] = "NOTIFY * HTTP/1.1\r\nLOCATION: http://a.b/x\r\nABCDEFGHIJ:7\r\n";
        direct(far, strlen(far), 4);
        assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);
    }
    /* ... but never past the payload: the value is the last bytes. */
    {
        static const char m[] = "NOTIFY * HTTP/1.1\r\nLOCATION: http://a.b/x\r\n";
        direct(m, strlen(m), 4);
        assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);
        static const char d[] = "NOTIFY * HTTP/1.1\r\nLOCATION: http://a.b:1\r\n";
        direct(d, strlen(d) - 2, 4); /* "...:1" with no CRLF: never read */
        assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);
        static const char e[] = "NOTIFY * HTTP/1.1\r\nLOCATION: http://a.b/\r\nX:12";
        direct(e, strlen(e), 4); /* the number ends the payload */
        assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 12);
    }
    finish(c);
}

/* De-duplication is a substring search; lists stop at their size. */
static void test_ssdp_lists(void **state)
{
    (void)state;
    char msg[4096];
    char val[600];
    fp_cache_t *c = start();

    /* "bar:1\r" occurs inside "foo:bar:1\r;": not added again. */
    DIRECT("NOTIFY * HTTP/1.1\r\nNT: urn:foo:bar:1\r\nNT: urn:bar:1\r\nNT: urn:baz:1\r\n");
    assert_string_equal(str(0, "SSDP_NT"), "foo:bar:1\r;baz:1\r;");

    /* SERVER holds 254 characters: a 253-byte value (252 + CR) fits with its
     * ';', one byte more does not; a short one still fits after a refusal. */
    memset(val, 'S', sizeof(val));
    val[252] = 0;
    snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\nSERVER: %s\r\n", val);
    direct(msg, strlen(msg), 4);
    assert_int_equal(strlen(str(0, "SSDP_SERVER")), 254);
    val[252] = 'S';
    val[253] = 0;
    snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\nSERVER: %s\r\nSERVER: ok\r\n", val);
    direct(msg, strlen(msg), 4);
    assert_string_equal(str(0, "SSDP_SERVER"), "ok\r;");

    /* NT fills up to 510 characters over many values, then refuses. */
    size_t len = (size_t)snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\n");
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(msg + len, sizeof(msg) - len, "NT: urn:%c%c-service:%02d\r\n",
                                'a' + i % 26, 'a' + i / 26, i);
    direct(msg, len, 4);
    const char *nt = str(0, "SSDP_NT");
    assert_true(strlen(nt) <= 510);
    assert_true(strlen(nt) > 510 - 16);
    assert_int_equal(nt[strlen(nt) - 1], ';');
    assert_memory_equal(nt, "aa-service:00\r;ba-service:01\r;", 30);
    finish(c);
}

/* Every cut of a NOTIFY, in exact-size capture buffers. */
static void test_ssdp_truncated(void **state)
{
    (void)state;
    size_t n = strlen(notify1);
    const char *loc = strstr(notify1, "LOCATION");
    size_t loc_end = (size_t)(strchr(loc, '\n') - notify1) + 1;

    for (size_t cut = 0; cut <= n; cut++) {
        fp_cache_t *c = start();
        put(c, 0, 50000, 1900, notify1, n, 28 + cut, 1 * SEC);
        finish(c);
        assert_int_equal(g_nout, 1);
        assert_int_equal(g_nrec[0], 1);
        /* A header counts once its CRLF is captured. */
        assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), cut >= loc_end ? 49152 : 0);
        if (cut == n)
            assert_string_equal(str(0, "SSDP_SERVER"), "Linux/5.4 UPnP/1.0 Test/2.1\r;");

        /* The same bytes as a whole payload (no caplen cut). */
        direct(notify1, cut, 4);
        assert_int_equal(g_nrec[0], 1);
        assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), cut >= loc_end ? 49152 : 0);
    }
}

static void test_ssdp_hostile(void **state)
{
    (void)state;
    const size_t big = 100 * 1024;
    char *m = malloc(big + 256);
    fp_cache_t *c = start();

    assert_non_null(m);

    /* A 100 kB USER-AGENT: not stored; the next header still is. */
    size_t len = (size_t)sprintf(m, "M-SEARCH * HTTP/1.1\r\nUSER-AGENT: ");
    memset(m + len, 'A', big);
    len += big;
    len += (size_t)sprintf(m + len, "\r\nST: urn:after:1\r\n");
    direct(m, len, 4);
    assert_string_equal(str(0, "SSDP_USER_AGENT"), "");
    assert_string_equal(str(0, "SSDP_ST"), "after:1\r;");

    /* A 100 kB line with no CRLF at all, then nothing. */
    len = (size_t)sprintf(m, "M-SEARCH * HTTP/1.1\r\nST: urn:");
    memset(m + len, 'B', big);
    direct(m, len + big, 4);
    assert_string_equal(str(0, "SSDP_ST"), "");

    /* A LOCATION of 100 kB of blanks: ignored, the next line is not read
     * for it; then the same blanks ending the payload without a line end. */
    len = (size_t)sprintf(m, "NOTIFY * HTTP/1.1\r\nLOCATION:");
    memset(m + len, ' ', big);
    size_t tail = (size_t)sprintf(m + len + big, "\r\n1.2:80\r\n");
    direct(m, len + big + tail, 4);
    assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);
    direct(m, len + big, 4);
    assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);
    memset(m + len, '\r', big); /* "\r\r\r...\r\n": one line, all blanks */
    direct(m, len + big + tail, 4);
    assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);

    /* 100 kB of CRLFs: 50 000 empty lines. */
    len = (size_t)sprintf(m, "NOTIFY * HTTP/1.1");
    for (size_t i = 0; i < big; i += 2)
        memcpy(m + len + i, "\r\n", 2);
    direct(m, len + big, 4);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(str(0, "SSDP_NT"), "");

    /* A 100 kB LOCATION value: '.', then 100 kB before a ':' the value's
     * length still reaches; the port is read up to the payload's end. */
    len = (size_t)sprintf(m, "NOTIFY * HTTP/1.1\r\nLOCATION: http://a.");
    memset(m + len, 'x', big);
    len += big;
    len += (size_t)sprintf(m + len, ":4242\r\n");
    direct(m, len, 4);
    assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 4242);

    /* Headers ended by LF only, or by CR only: no line ends, nothing read. */
    DIRECT("NOTIFY * HTTP/1.1\nNT: urn:lf:1\nSERVER: x\n\n");
    assert_string_equal(str(0, "SSDP_NT"), "");
    assert_string_equal(str(0, "SSDP_SERVER"), "");
    DIRECT("NOTIFY * HTTP/1.1\rNT: urn:cr:1\rSERVER: x\r\r");
    assert_string_equal(str(0, "SSDP_NT"), "");
    /* An LF inside a line is part of its value; a bare name matches nothing. */
    DIRECT("NOTIFY * HTTP/1.1\r\nSERVER: a\nb\r\nSERVER\r\nNT\r\n:\r\n");
    assert_string_equal(str(0, "SSDP_SERVER"), "a\nb\r;");

    /* Blank values (ipfixprobe: negative length) add nothing; the next
     * line is not taken for the value. */
    static const char blank[] = "NOTIFY * HTTP/1.1\r\nSERVER:  \t \r\nurn:x\r\nNT:\r\nurn:y:1\r\n"
                                "NT: urn: \r\nLOCATION: \r\n10.0.0.1:80\r\n\r\n";
    direct(blank, strlen(blank), 4);
    assert_string_equal(str(0, "SSDP_SERVER"), "");
    assert_string_equal(str(0, "SSDP_NT"), "");
    assert_int_equal(u64(0, "SSDP_LOCATION_PORT"), 0);

    /* A NUL byte ends the scan. */
    static const char nul[] = "NOTIFY * HTTP/1.1\r\nSERVER: a\r\n\0SERVER: b\r\n";
    direct(nul, sizeof(nul) - 1, 4);
    assert_string_equal(str(0, "SSDP_SERVER"), "a\r;");
    static const char nul2[] = "NOTIFY * HTTP/1.1\r\nSERVER: a\0b\r\n";
    direct(nul2, sizeof(nul2) - 1, 4);
    assert_string_equal(str(0, "SSDP_SERVER"), "");

    /* Tiny payloads. */
    direct("N", 1, 4);
    assert_int_equal(g_nrec[0], 1);
    direct("M\r\n", 3, 6);
    direct("\r\n", 2, 4);
    direct(NULL, 0, 4);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(str(0, "SSDP_NT"), "");

    /* Through the cache: a 65 000-byte SERVER line, cut at a few places. */
    len = (size_t)sprintf(m, "NOTIFY * HTTP/1.1\r\nSERVER: ");
    memset(m + len, 'C', 65000 - len - 2);
    memcpy(m + 65000 - 2, "\r\n", 2);
    const size_t cuts[] = {0, 20, 28, 29, 28 + 30, 28 + 64999, 28 + 65000};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        put(c, 0, (uint16_t)(41000 + i), 1900, m, 65000, cuts[i], 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 6); /* a cut before the UDP ports gives no flow */
    for (size_t i = 0; i < g_nout; i++) {
        assert_int_equal(g_nrec[i], 1);
        assert_string_equal(str(i, "SSDP_SERVER"), "");
    }
    free(m);
}

/*
 * A flow in a record an earlier SSDP flow filled (the record freed last is
 * the next one taken) gives what a fresh cache gives: no record when its
 * first packet is not to port 1900, and an M-SEARCH record without the
 * NOTIFY's lists and port.
 */
static void test_ssdp_reused_record(void **state)
{
    static const char search[] = "M-SEARCH * HTTP/1.1\r\n"
                                 "ST: urn:x:1\r\n"
                                 "USER-AGENT: UA\r\n"
                                 "\r\n";
    char fresh[2][4 * MAXREC];
    (void)state;

    for (int dirty = 0; dirty < 2; dirty++) {
        for (int to1900 = 0; to1900 < 2; to1900++) {
            fp_cache_t *c = start();
            if (dirty) {
                puts4(c, notify1, 1 * SEC); /* NT, SERVER, LOCATION port */
                puts4(c, notify2, 2 * SEC);
                fp_cache_flush(c);
                assert_int_equal(g_nout, 1);
                assert_int_equal(g_nrec[0], 1);
                g_nout = 0;
            }
            /* another flow: from port 1900 (no record), or to it */
            if (to1900)
                put(c, 0, 50001, 1900, search, strlen(search), 0, 3 * SEC);
            else
                put(c, 0, 1900, 50001, search, strlen(search), 0, 3 * SEC);
            finish(c);
            pt_same_as_fresh(dirty, fresh[to1900], 0, to1900 ? 1 : 0);
        }
    }
    assert_string_equal(fresh[1], "0|\"\"|\"UA;\"|\"x:1;\"|\"\"|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssdp_notify),      cmocka_unit_test(test_ssdp_msearch),
        cmocka_unit_test(test_ssdp_which_flows), cmocka_unit_test(test_ssdp_location),
        cmocka_unit_test(test_ssdp_lists),       cmocka_unit_test(test_ssdp_truncated),
        cmocka_unit_test(test_ssdp_hostile),     cmocka_unit_test(test_ssdp_reused_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
