/*
 * test_plugin_sip.c - the sip plugin, driven through the real packet parser
 * and flow cache: a request and a response with exact fields, one record per
 * SIP message (flush and re-insert keeps the flow's orientation), every
 * message type and the look-alikes that are not SIP, compact and upper-case
 * header names, ipfixprobe's quirks (bare URIs, Call-Info, URIs that run past
 * their line, atoi status codes), SIP over TCP and on any port, and hostile
 * input (capture cut at every length, lying UDP lengths, 60 kB lines, Via
 * overflow, lines without LF, skips past the line end).
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

#define SEC  1000000000ULL
#define MAXF 16

#include "tests/common/plugintest.h"

static fp_cache_t *start(void)
{
    return pt_start("sip", collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/* Transport and ports of the frames put() builds; ulen != 0 overrides the UDP length. */
static uint8_t g_proto = 17;
static uint16_t g_aport = 5060, g_bport = 5060, g_ulen;

/*
 * A raw IPv4 UDP or TCP frame 10.0.0.1:aport -> 10.0.0.2:bport (or back when
 * !fwd) carrying `pay`; only `trunc` bytes are captured when trunc != 0.
 */
static void put_tr(fp_cache_t *c, int fwd, const void *pay, size_t n, size_t trunc, uint64_t t)
{
    assert_true(
        pt_put4(c, fwd, g_aport, g_bport, g_proto, FK_TCP_ACK | 0x08, pay, n, trunc, g_ulen, t));
}

static void put(fp_cache_t *c, int fwd, const char *s, uint64_t t)
{
    put_tr(c, fwd, s, strlen(s), 0, t);
}

/* One message through a fresh cache; returns the records of its flow. */
static unsigned one_n(const void *pay, size_t n, size_t trunc)
{
    fp_cache_t *c = start();
    put_tr(c, 1, pay, n, trunc, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    return g_nrec[0];
}

static unsigned one(const char *s)
{
    return one_n(s, strlen(s), 0);
}

/* Padding header that matches no field, so short messages reach 64 bytes. */
#define PAD "X-Pad: 0123456789012345678901234567890123456789012345678901234567890123\r\n"

static const char invite[] = "INVITE sip:bob@b.example;transport=udp SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
                             "v: SIP/2.0/TCP proxy.example\r\n"
                             "From: \"Alice\" <sip:alice@a.example>;tag=1\r\n"
                             "To: <sips:bob@b.example>\r\n"
                             "Call-ID: abc123@host\r\n"
                             "CSeq: 1 INVITE\r\n"
                             "User-Agent: TestUA/1.0\r\n"
                             "Contact: <sip:alice@10.0.0.1>\r\n"
                             "Content-Length: 0\r\n"
                             "\r\n";

static const char ringing[] = "SIP/2.0 180 Ringing\r\n"
                              "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
                              "f: <sip:alice@a.example>;tag=1\r\n"
                              "t: <sip:bob@b.example>;tag=2\r\n"
                              "i: abc123@host\r\n"
                              "CSeq: 1 INVITE\r\n"
                              "\r\n";

static void check_invite(size_t i)
{
    assert_int_equal(u64(i, "SIP_MSG_TYPE"), 1);
    assert_int_equal(u64(i, "SIP_STATUS_CODE"), 0);
    assert_string_equal(csv(i, "SIP_REQUEST_URI"), "\"sip:bob@b.example\"");
    assert_string_equal(csv(i, "SIP_VIA"),
                        "\"SIP/2.0/UDP 10.0.0.1:5060;SIP/2.0/TCP proxy.example\"");
    assert_string_equal(csv(i, "SIP_CALLING_PARTY"), "\"sip:alice@a.example\"");
    assert_string_equal(csv(i, "SIP_CALLED_PARTY"), "\"sips:bob@b.example\"");
    assert_string_equal(csv(i, "SIP_CALL_ID"), "\"abc123@host\"");
    assert_string_equal(csv(i, "SIP_CSEQ"), "\"1 INVITE\"");
    assert_string_equal(csv(i, "SIP_USER_AGENT"), "\"TestUA/1.0\"");
}

/*
 * INVITE, a non-SIP packet (counted in the INVITE's record), the response:
 * the response re-inserts the flow, which keeps the INVITE's orientation and
 * starts at the INVITE record's last packet.
 */
static void test_sip_dialog(void **state)
{
    (void)state;
    static const uint8_t rtp[100] = {0x80, 0x00};
    fp_cache_t *c = start();

    put(c, 1, invite, 1 * SEC);
    put_tr(c, 1, rtp, sizeof(rtp), 0, 2 * SEC);
    put(c, 0, ringing, 3 * SEC);
    put(c, 0, ringing, 4 * SEC);
    finish(c);

    assert_int_equal(g_nout, 3);
    assert_int_equal(g_nrec[0], 1);
    check_invite(0);
    assert_int_equal(g_flow[0].packets, 2);
    assert_int_equal(g_flow[0].packets_rev, 0);
    assert_int_equal(g_flow[0].time_first, 1 * SEC);
    assert_int_equal(g_flow[0].time_last, 2 * SEC);

    for (size_t i = 1; i <= 2; i++) {
        assert_int_equal(g_nrec[i], 1);
        assert_int_equal(g_flow[i].src_ip[15], 1); /* still the INVITE's SRC */
        assert_int_equal(g_flow[i].packets, 0);
        assert_int_equal(g_flow[i].packets_rev, 1);
        assert_int_equal(g_flow[i].bytes_rev, 28 + sizeof(ringing) - 1);
        assert_int_equal(g_flow[i].time_first, (i + 1) * SEC);
        assert_int_equal(g_flow[i].time_last, (i + 2) * SEC);
        assert_int_equal(u64(i, "SIP_MSG_TYPE"), 99);
        assert_int_equal(u64(i, "SIP_STATUS_CODE"), 180);
        assert_string_equal(csv(i, "SIP_REQUEST_URI"), "\"\"");
        assert_string_equal(csv(i, "SIP_USER_AGENT"), "\"\"");
        assert_string_equal(csv(i, "SIP_VIA"), "\"SIP/2.0/UDP 10.0.0.1:5060\"");
        assert_string_equal(csv(i, "SIP_CALLING_PARTY"), "\"sip:alice@a.example\"");
        assert_string_equal(csv(i, "SIP_CALLED_PARTY"), "\"sip:bob@b.example\"");
        assert_string_equal(csv(i, "SIP_CALL_ID"), "\"abc123@host\"");
        assert_string_equal(csv(i, "SIP_CSEQ"), "\"1 INVITE\"");
    }
}

/* A flow that did not start with SIP has no record, but a SIP packet still
 * flushes it and starts a record of its own. */
static void test_sip_late_start(void **state)
{
    (void)state;
    static const uint8_t junk[80] = {1, 2, 3};
    fp_cache_t *c = start();

    put_tr(c, 1, junk, sizeof(junk), 0, 1 * SEC);
    put(c, 1, invite, 2 * SEC);
    finish(c);
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_nrec[0], 0);
    assert_int_equal(g_nrec[1], 1);
    check_invite(1);
    assert_int_equal(g_flow[1].time_first, 1 * SEC);
}

static void test_sip_msg_types(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        unsigned type;
    } ok[] = {
        {"INVITE sip:a@b SIP/2.0\r\n", 1},   {"ACK sip:a@b SIP/2.0\r\n", 2},
        {"CANCEL sip:a@b SIP/2.0\r\n", 3},   {"BYE sip:a@b SIP/2.0\r\n", 4},
        {"REGISTER sip:a@b SIP/2.0\r\n", 5}, {"OPTIONS sip:a@b SIP/2.0\r\n", 6},
        {"PUBLISH sip:a@b SIP/2.0\r\n", 7},  {"NOTIFY sip:a@b SIP/2.0\r\n", 8},
        {"INFO sip:a@b SIP/2.0\r\n", 9},     {"SUBSCRIBE sip:a@b SIP/2.0\r\n", 10},
        {"SIP/2.0 200 OK\r\n", 99},
    };
    static const char *bad[] = {
        "OPTIONS * HTTP/1.1\r\n",     "OPTIONS SIP:a@b SIP/2.0\r\n", "NOTIFY * HTTP/1.1\r\n",
        "invite sip:a@b SIP/2.0\r\n", "GET / HTTP/1.1\r\n",          "SIP 200 OK\r\n",
        "ACKX sip:a@b SIP/2.0\r\n",
    };
    char buf[256];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", ok[i].head, PAD);
        assert_int_equal(one(buf), 1);
        assert_int_equal(u64(0, "SIP_MSG_TYPE"), ok[i].type);
        if (ok[i].type < 99)
            assert_string_equal(csv_text(0, "SIP_REQUEST_URI"), "sip:a@b");
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", bad[i], PAD);
        assert_int_equal(one(buf), 0);
    }
    /* 63 bytes are too few, 64 enough. */
    memset(buf, 'x', 64);
    memcpy(buf, "BYE ", 4);
    assert_int_equal(one_n(buf, 63, 0), 0);
    assert_int_equal(one_n(buf, 64, 0), 1);
    assert_int_equal(u64(0, "SIP_MSG_TYPE"), 4);
}

/* Compact and upper-case header names (RFC 3261 7.3.3); later values win,
 * Via values add up. */
static void test_sip_header_forms(void **state)
{
    (void)state;
    assert_int_equal(one("REGISTER sip:reg SIP/2.0\r\n"
                         "FROM: <SIP:Upper@x>\r\n"
                         "TO: <sip:to1@x>\r\n"
                         "T: <sip:to2@x>\r\n"
                         "VIA: SIP/2.0/UDP h1\r\n"
                         "V: SIP/2.0/UDP h2;rport\r\n"
                         "CALL-ID: id-one\r\n"
                         "I: id-two\r\n"
                         "USER-AGENT: ua\r\n"
                         "CSEQ: 7 REGISTER\r\n"
                         "cseq: 8 REGISTER\r\n"),
                     1);
    assert_string_equal(csv_text(0, "SIP_CALLING_PARTY"), "SIP:Upper@x");
    assert_string_equal(csv_text(0, "SIP_CALLED_PARTY"), "sip:to2@x");
    assert_string_equal(csv_text(0, "SIP_VIA"), "SIP/2.0/UDP h1;SIP/2.0/UDP h2");
    assert_string_equal(csv_text(0, "SIP_CALL_ID"), "id-two");
    assert_string_equal(csv_text(0, "SIP_USER_AGENT"), "ua");
    assert_string_equal(csv_text(0, "SIP_CSEQ"), "8 REGISTER");
    assert_string_equal(csv_text(0, "SIP_REQUEST_URI"), "sip:reg");
}

/* ipfixprobe's parsing quirks, reproduced. */
static void test_sip_quirks(void **state)
{
    (void)state;

    /* A URI without '>' or ';' loses its trailing non-letters. */
    assert_int_equal(one("INVITE sip:a@b SIP/2.0\r\n"
                         "From: sip:100@1.1.1.1\r\n"
                         "To: sip:bob@example\r\n" PAD),
                     1);
    assert_string_equal(csv_text(0, "SIP_CALLING_PARTY"), "sip");
    assert_string_equal(csv_text(0, "SIP_CALLED_PARTY"), "sip:bob@example");

    /* "Call-Info" is taken for Call-ID (its first four bytes are CALL). */
    assert_int_equal(one("INVITE sip:a@b SIP/2.0\r\n"
                         "Call-ID: abc\r\n"
                         "Call-Info: <http://x/y>\r\n" PAD),
                     1);
    assert_string_equal(csv_text(0, "SIP_CALL_ID"), "o: <http://x/y");

    /* A URI after an earlier ':' runs past its line: 3 bytes here (" a:"),
     * CR LF "Vi" -- the CSV drops CR and LF. */
    assert_int_equal(one("INVITE sip:a@b SIP/2.0\r\n" PAD "From: a:b sip:x@y\r\n"
                         "Via: z\r\n"),
                     1);
    assert_string_equal(csv_text(0, "SIP_CALLING_PARTY"), "sip:x@yVi");
    /* ... but never past the payload. */
    assert_int_equal(one("INVITE sip:a@b SIP/2.0\r\n" PAD "From: a:b sip:x@y"), 1);
    assert_string_equal(csv_text(0, "SIP_CALLING_PARTY"), "sip:x@y");

    /* No SIP URI: the field is left empty; a later From with one fills it. */
    assert_int_equal(one("INVITE sip:a@b SIP/2.0\r\n"
                         "From: <tel:+123>\r\n" PAD),
                     1);
    assert_string_equal(csv_text(0, "SIP_CALLING_PARTY"), "");

    /* A line of one byte ends the header walk (here before CSeq). */
    assert_int_equal(one("INVITE sip:a@b SIP/2.0\r\n"
                         "Call-ID: x1\r\n"
                         "\n"
                         "CSeq: 9 INVITE\r\n" PAD),
                     1);
    assert_string_equal(csv_text(0, "SIP_CALL_ID"), "x1");
    assert_string_equal(csv_text(0, "SIP_CSEQ"), "");

    /* A value is cut at ';' after trimming; leading/trailing punctuation goes. */
    assert_int_equal(one("INVITE <sip:a@b> SIP/2.0\r\n"
                         "User-Agent: ((UA;v=1))\r\n"
                         "CSeq: ;5\r\n" PAD),
                     1);
    assert_string_equal(csv_text(0, "SIP_REQUEST_URI"), "sip:a@b");
    assert_string_equal(csv_text(0, "SIP_USER_AGENT"), "UA");
    assert_string_equal(csv_text(0, "SIP_CSEQ"), "5");

    /* A first line without a second word: no Request-URI. */
    assert_int_equal(one("INVITE\r\n" PAD), 1);
    assert_string_equal(csv_text(0, "SIP_REQUEST_URI"), "");
}

static unsigned status(const char *line)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "%s%s", line, PAD);
    assert_int_equal(one(buf), 1);
    assert_int_equal(u64(0, "SIP_MSG_TYPE"), 99);
    return (unsigned)u64(0, "SIP_STATUS_CODE");
}

/* SIP_STATUS_CODE is atoi() of the second word, truncated to 16 bits. */
static void test_sip_status_codes(void **state)
{
    (void)state;
    assert_int_equal(status("SIP/2.0 401 Unauthorized\r\n"), 401);
    assert_int_equal(status("SIP/2.0 abc\r\n"), 0);
    assert_int_equal(status("SIP/2.0\r\n"), 999);
    assert_int_equal(status("SIP/2.0  200 two spaces\r\n"), 200);
    assert_int_equal(status("SIP/2.0 +200 OK\r\n"), 200);
    assert_int_equal(status("SIP/2.0 -1 OK\r\n"), 65535);
    assert_int_equal(status("SIP/2.0 99999 OK\r\n"), 99999 & 0xffff);
    assert_int_equal(status("SIP/2.0 99999999999999999999999 OK\r\n"), 0xffff);
    assert_int_equal(status("SIP/2.0 -99999999999999999999999 OK\r\n"), 0);
    /* atoi skips CR LF and reads the next line. */
    assert_int_equal(status("SIP/2.0 \r\n123 x\r\n"), 123);
    /* The only response line, digits to the payload end: no read past it. */
    char buf[80];
    memset(buf, '7', sizeof(buf));
    memcpy(buf, "SIP/2.0 ", 8);
    assert_int_equal(one_n(buf, sizeof(buf), 0), 1);
    assert_int_equal(u64(0, "SIP_STATUS_CODE"), 0xffff); /* 72 sevens saturate */
}

/* SIP over TCP, and on ports other than 5060: ipfixprobe looks at every
 * payload. */
static void test_sip_transports(void **state)
{
    (void)state;

    g_proto = 6;
    fp_cache_t *c = start();
    put(c, 1, invite, 1 * SEC);
    put(c, 0, ringing, 2 * SEC);
    finish(c);
    assert_int_equal(g_nout, 2);
    check_invite(0);
    assert_int_equal(u64(1, "SIP_STATUS_CODE"), 180);
    assert_int_equal(g_flow[1].proto, 6);

    g_aport = 40000;
    g_bport = 7000;
    assert_int_equal(one(invite), 1);
    check_invite(0);
    g_proto = 17;
    assert_int_equal(one(invite), 1);
    check_invite(0);
    g_aport = g_bport = 5060;
}

/* The capture cut at every length: below 64 bytes no record, above a record
 * whose fields come from what was captured; ASan checks the reads. */
static void test_sip_truncation(void **state)
{
    (void)state;
    size_t n = sizeof(invite) - 1;

    for (size_t k = 0; k <= n; k++) {
        unsigned r = one_n(invite, n, 28 + k);
        assert_int_equal(r, k >= 64);
        if (!r)
            continue;
        assert_int_equal(u64(0, "SIP_MSG_TYPE"), 1);
        assert_string_equal(csv_text(0, "SIP_REQUEST_URI"), "sip:bob@b.example");
        assert_true(strlen(csv_text(0, "SIP_VIA")) < 128);
    }
    check_invite(0);
}

/* UDP lengths that lie: shorter than the data trims the payload, longer is
 * ignored in favour of the IP length. */
static void test_sip_udp_length(void **state)
{
    (void)state;
    g_ulen = 8 + 40;
    assert_int_equal(one(invite), 0);
    g_ulen = 0xffff;
    assert_int_equal(one(invite), 1);
    check_invite(0);
    g_ulen = 0;
}

/* Long lines and many headers: every string holds at most 127 bytes. */
static void test_sip_long_fields(void **state)
{
    (void)state;
    static char big[60000];
    char want[128];
    size_t off;

    /* A 60 kB Call-ID and a 60 kB line without LF. */
    off = (size_t)snprintf(big, sizeof(big), "INVITE sip:a@b SIP/2.0\r\nCall-ID: ");
    memset(big + off, 'c', sizeof(big) - off);
    assert_int_equal(one_n(big, sizeof(big), 0), 1);
    memset(want, 'c', 127);
    want[127] = 0;
    assert_string_equal(csv_text(0, "SIP_CALL_ID"), want);

    memset(big, 'u', sizeof(big));
    memcpy(big, "INVITE ", 7);
    assert_int_equal(one_n(big, sizeof(big), 0), 1);
    assert_int_equal(strlen(csv_text(0, "SIP_REQUEST_URI")), 127);
    assert_string_equal(csv_text(0, "SIP_CALL_ID"), "");

    /* Via fills up: whole values while they fit, then a cut one, then none. */
    off = (size_t)snprintf(big, sizeof(big), "INVITE sip:a@b SIP/2.0\r\n");
    for (int i = 1; i <= 10; i++)
        off += (size_t)snprintf(big + off, sizeof(big) - off, "Via: SIP/2.0/UDP host-%02d\r\n", i);
    assert_int_equal(one_n(big, off, 0), 1);
    assert_string_equal(csv_text(0, "SIP_VIA"),
                        "SIP/2.0/UDP host-01;SIP/2.0/UDP host-02;SIP/2.0/UDP "
                        "host-03;SIP/2.0/UDP host-04;SIP/2.0/UDP host-05;SIP/2.0/"
                        "UDP host-06;SIP/2.0");

    /* 126 bytes, then a second Via: only its ';' fits. */
    off = (size_t)snprintf(big, sizeof(big), "INVITE sip:a@b SIP/2.0\r\nVia: ");
    memset(big + off, 'v', 126);
    off += 126;
    off += (size_t)snprintf(big + off, sizeof(big) - off, "\r\nVia: next\r\nVia: more\r\n");
    assert_int_equal(one_n(big, off, 0), 1);
    memset(want, 'v', 126);
    want[126] = ';';
    want[127] = 0;
    assert_string_equal(csv_text(0, "SIP_VIA"), want);

    /* A name whose fixed skip passes its line end: an empty value. */
    assert_int_equal(one("INVITE sip:a@b SIP/2.0\r\n"
                         "Call-ID: first\r\n"
                         "Call\r\n"
                         "User\r\n"
                         "From\r\n" PAD),
                     1);
    assert_string_equal(csv_text(0, "SIP_CALL_ID"), "");
    assert_string_equal(csv_text(0, "SIP_USER_AGENT"), "");
    assert_string_equal(csv_text(0, "SIP_CALLING_PARTY"), "");

    /* No LF at all: only the first line is read. */
    assert_int_equal(one("INVITE sip:x SIP/2.0 Call-ID: nope CSeq: 1 INVITE " PAD), 1);
    assert_string_equal(csv_text(0, "SIP_REQUEST_URI"), "sip:x");
    assert_string_equal(csv_text(0, "SIP_CALL_ID"), "");
}

/*
 * A flow in a record an earlier SIP flow filled (the record freed last is
 * the next one taken) gives what a fresh cache gives: no record when its
 * first packet is not SIP, and a response's record without the INVITE's
 * Request-URI, User-Agent and Via.
 */
static void test_sip_reused_record(void **state)
{
    static const char other[] = "GET / HTTP/1.1\r\n" PAD "\r\n";
    static const char resp[] = "SIP/2.0 200 OK\r\n"
                               "i: x@y\r\n" PAD "\r\n";
    char fresh[2][4 * MAXREC];
    (void)state;

    for (int dirty = 0; dirty < 2; dirty++) {
        for (int sip = 0; sip < 2; sip++) {
            fp_cache_t *c = start();
            if (dirty) {
                put(c, 1, invite, 1 * SEC);
                fp_cache_flush(c);
                assert_int_equal(g_nout, 1);
                check_invite(0);
                g_nout = 0;
            }
            g_aport = 5062; /* another flow */
            put(c, 1, sip ? resp : other, 2 * SEC);
            g_aport = 5060;
            finish(c);
            pt_same_as_fresh(dirty, fresh[sip], 0, sip ? 1 : 0);
        }
    }
    assert_string_equal(fresh[1], "99|200|\"\"|\"\"|\"\"|\"x@y\"|\"\"|\"\"|\"\"|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sip_dialog),        cmocka_unit_test(test_sip_late_start),
        cmocka_unit_test(test_sip_msg_types),     cmocka_unit_test(test_sip_header_forms),
        cmocka_unit_test(test_sip_quirks),        cmocka_unit_test(test_sip_status_codes),
        cmocka_unit_test(test_sip_transports),    cmocka_unit_test(test_sip_truncation),
        cmocka_unit_test(test_sip_udp_length),    cmocka_unit_test(test_sip_long_fields),
        cmocka_unit_test(test_sip_reused_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
