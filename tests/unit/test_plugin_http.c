/*
 * test_plugin_http.c - the http and rtsp plugins, driven through the real
 * packet parser and flow cache with crafted TCP segments: exact field values
 * of request/response exchanges, the flush-and-re-create of a second request
 * or response (ipfixprobe's FLOW_FLUSH_WITH_REINSERT), ipfixprobe's parsing
 * quirks that show in exported values, and hostile input: start lines cut at
 * every length (short payloads and short captures, each copied to a buffer
 * of exactly the captured size so ASan sees any over-read), header lines of
 * 100 kB over segments and of 64 kB in one packet, LF-only lines, NUL bytes,
 * status codes that are not numbers, ':' on a later line, cookie lists that
 * overflow.
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
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"
#include "probe/plugins/httpline.h"

#define SEC    1000000000ULL
#define MS     1000000ULL
#define MAXF   16
#define MAXREC 2048

#include "tests/common/plugintest.h"

#define IPTCP 40 /* IPv4 + TCP header bytes of the crafted frames */

static fp_cache_t *start(const char *name)
{
    fp_cache_t *c = pt_start(name, collect);
    assert_null(g_pi.p->init); /* no options, no context */
    assert_null(g_pi.p->options);
    return c;
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/*
 * One IPv4/TCP segment 10.0.0.1:40000 <-> 10.0.0.2:PORT (fwd = client to
 * server) announcing n payload bytes of which `cap` are captured.  The frame
 * is copied to a heap buffer of exactly the captured size.
 */
static uint16_t g_port = 80;

static void put_tr(fp_cache_t *c, int fwd, const void *pay, size_t n, size_t cap, uint64_t t)
{
    size_t total = IPTCP + n, caplen = IPTCP + cap;
    uint8_t *f = malloc(total ? total : 1);
    uint8_t *cut;
    fk_packet_t pkt;

    assert_non_null(f);
    assert_true(total <= 65535 && cap <= n);
    memset(f, 0, IPTCP);
    f[0] = 0x45;
    f[2] = (uint8_t)(total >> 8);
    f[3] = (uint8_t)total;
    f[8] = 64;
    f[9] = 6;
    f[12] = f[16] = 10;
    f[15] = fwd ? 1 : 2;
    f[19] = fwd ? 2 : 1;
    uint16_t sp = fwd ? 40000 : g_port, dp = fwd ? g_port : 40000;
    f[20] = (uint8_t)(sp >> 8);
    f[21] = (uint8_t)sp;
    f[22] = (uint8_t)(dp >> 8);
    f[23] = (uint8_t)dp;
    f[32] = 5 << 4;
    f[33] = FK_TCP_ACK | 0x08; /* ACK PSH */
    f[34] = 0xff;
    if (n)
        memcpy(f + IPTCP, pay, n);
    cut = malloc(caplen);
    assert_non_null(cut);
    memcpy(cut, f, caplen);
    free(f);
    fk_packet_parse(&pkt, FK_LINK_RAW, cut, (uint32_t)caplen, (uint32_t)total, t);
    assert_true(fk_packet_has_key(&pkt));
    assert_int_equal(pkt.payload_len, cap);
    fp_cache_put(c, &pkt);
    free(cut);
}

static void put(fp_cache_t *c, int fwd, const void *pay, size_t n, uint64_t t)
{
    put_tr(c, fwd, pay, n, n, t);
}

static void put_s(fp_cache_t *c, int fwd, const char *s, uint64_t t)
{
    put(c, fwd, s, strlen(s), t);
}

/* Run one payload as the only packet of a fresh flow; return its record count. */
static unsigned one(const char *plugin, const void *pay, size_t n, size_t cap)
{
    fp_cache_t *c = start(plugin);

    put_tr(c, 1, pay, n, cap, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    return g_nrec[0];
}

static unsigned one_s(const char *plugin, const char *s)
{
    return one(plugin, s, strlen(s), strlen(s));
}

/* ------------------------------------------------------------------ http */

static const char req1[] = "GET /index.html?q=1 HTTP/1.1\r\n"
                           "Host: example.org\r\n"
                           "User-Agent: curl/8.0\r\n"
                           "Referer: http://ref.example/\r\n"
                           "Accept: */*\r\n"
                           "\r\n";
static const char resp1[] = "HTTP/1.1 200 OK\r\n"
                            "Server: nginx/1.2\r\n"
                            "Content-Type: text/html; charset=utf-8\r\n"
                            "Set-Cookie: sid=abc; Path=/\r\n"
                            "Set-Cookie: lang=en\r\n"
                            "Content-Length: 3\r\n"
                            "\r\n"
                            "abc";
static const char req2[] = "POST /api HTTP/1.1\r\nHost: two.example\r\n\r\n";
static const char resp2[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n";

static void test_http_exchange(void **state)
{
    (void)state;
    fp_cache_t *c = start("http");

    put_s(c, 1, req1, 1 * SEC);
    put_s(c, 0, resp1, 1 * SEC + 5 * MS);
    put_s(c, 0, "body bytes, not a response", 1 * SEC + 6 * MS);
    put_s(c, 1, "", 1 * SEC + 7 * MS);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets, 2);
    assert_int_equal(g_flow[0].packets_rev, 2);
    assert_string_equal(str(0, "HTTP_REQUEST_METHOD"), "GET");
    assert_string_equal(str(0, "HTTP_REQUEST_HOST"), "example.org");
    assert_string_equal(str(0, "HTTP_REQUEST_URL"), "/index.html?q=1");
    assert_string_equal(str(0, "HTTP_REQUEST_AGENT"), "curl/8.0");
    assert_string_equal(str(0, "HTTP_REQUEST_REFERER"), "http://ref.example/");
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 200);
    assert_string_equal(str(0, "HTTP_RESPONSE_CONTENT_TYPE"), "text/html; charset=utf-8");
    assert_string_equal(str(0, "HTTP_RESPONSE_SERVER"), "nginx/1.2");
    assert_string_equal(str(0, "HTTP_RESPONSE_SET_COOKIE_NAMES"), "sid;lang");
    assert_string_equal(csv(0, "HTTP_REQUEST_HOST"), "\"example.org\"");
    assert_string_equal(csv(0, "HTTP_RESPONSE_STATUS_CODE"), "200");
}

/* Keep-alive: a second request re-creates the flow; so does a second response. */
static void test_http_reinsert(void **state)
{
    (void)state;
    fp_cache_t *c = start("http");

    put_s(c, 1, req1, 1 * SEC);
    put_s(c, 0, resp1, 1 * SEC + 10 * MS);
    put_s(c, 1, req2, 1 * SEC + 20 * MS); /* flush: record 1 ends */
    put_s(c, 0, resp2, 1 * SEC + 30 * MS);
    put_s(c, 0, resp1, 1 * SEC + 40 * MS); /* response after response: flush */
    finish(c);

    assert_int_equal(g_nout, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(g_nrec[i], 1);
        assert_int_equal(g_flow[i].src_ip[15], 1); /* SRC stays the client */
        assert_int_equal(g_flow[i].src_port, 40000);
    }
    assert_int_equal(g_flow[0].end_reason, FP_END_FORCED);
    assert_int_equal(g_flow[0].packets, 1);
    assert_int_equal(g_flow[0].packets_rev, 1);
    assert_int_equal(g_flow[0].time_last, 1 * SEC + 10 * MS);
    assert_string_equal(str(0, "HTTP_REQUEST_URL"), "/index.html?q=1");
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 200);

    /* Record 2 starts where record 1 ended (ipfixprobe's reinsert). */
    assert_int_equal(g_flow[1].time_first, 1 * SEC + 10 * MS);
    assert_int_equal(g_flow[1].time_last, 1 * SEC + 30 * MS);
    assert_int_equal(g_flow[1].packets, 1);
    assert_int_equal(g_flow[1].packets_rev, 1);
    assert_string_equal(str(1, "HTTP_REQUEST_METHOD"), "POST");
    assert_string_equal(str(1, "HTTP_REQUEST_URL"), "/api");
    assert_string_equal(str(1, "HTTP_REQUEST_HOST"), "two.example");
    assert_string_equal(str(1, "HTTP_REQUEST_AGENT"), "");
    assert_int_equal(u64(1, "HTTP_RESPONSE_STATUS_CODE"), 404);
    assert_string_equal(str(1, "HTTP_RESPONSE_CONTENT_TYPE"), "text/plain");
    assert_string_equal(str(1, "HTTP_RESPONSE_SERVER"), "");
    assert_string_equal(str(1, "HTTP_RESPONSE_SET_COOKIE_NAMES"), "");

    /* Record 3: re-created from a reverse packet, only the response. */
    assert_int_equal(g_flow[2].time_first, 1 * SEC + 30 * MS);
    assert_int_equal(g_flow[2].packets, 0);
    assert_int_equal(g_flow[2].packets_rev, 1);
    assert_string_equal(str(2, "HTTP_REQUEST_METHOD"), "");
    assert_int_equal(u64(2, "HTTP_RESPONSE_STATUS_CODE"), 200);
    assert_string_equal(str(2, "HTTP_RESPONSE_SERVER"), "nginx/1.2");
}

/* Which segments are requests or responses, and which flows carry records. */
static void test_http_detection(void **state)
{
    (void)state;
    /* A response alone makes a record. */
    assert_int_equal(one_s("http", "HTTP/1.0 301 Moved\r\nServer: x\r\n\r\n"), 1);
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 301);
    assert_string_equal(str(0, "HTTP_REQUEST_METHOD"), "");
    /* Any method, when " HTTP" follows the target and the method is short. */
    assert_int_equal(one_s("http", "PROPFIND /d HTTP/1.1\r\n\r\n"), 1);
    assert_string_equal(str(0, "HTTP_REQUEST_METHOD"), "PROPFIND");
    assert_int_equal(one_s("http", "FOO /x FTP/1.0\r\n\r\n"), 0);
    char longm[64];
    memset(longm, 'M', 40);
    strcpy(longm + 40, " / HTTP/1.1\r\n\r\n"); /* first space past 32 bytes */
    assert_int_equal(one_s("http", longm), 0);
    /* A known method prefix is enough to try; " HTTP" must still follow. */
    assert_int_equal(one_s("http", "GET /x\r\n\r\n"), 0);
    assert_int_equal(one_s("http", "GET /x HTT"), 0);
    assert_int_equal(one_s("http", "SSH-2.0-OpenSSH_9.0\r\n"), 0);
    assert_int_equal(one_s("http", "HTT"), 0);
    assert_int_equal(one("http", "", 0, 0), 0);
    /* No blank line is needed when the segment ends after a whole line. */
    assert_int_equal(one_s("http", "GET / HTTP/1.1\r\nHost: h\r\n"), 1);
    assert_string_equal(str(0, "HTTP_REQUEST_HOST"), "h");
    /* A method is cut to 15 bytes (through a 64-byte scratch buffer). */
    assert_int_equal(one_s("http", "ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n\r\n"), 1);
    assert_string_equal(str(0, "HTTP_REQUEST_METHOD"), "ABCDEFGHIJKLMNO");
}

/* ipfixprobe's reading of names and values, reproduced. */
static void test_http_quirks(void **state)
{
    (void)state;
    /* ": " is assumed: "Host:x" loses its first byte; last occurrence wins;
     * names are case-sensitive; a name's trailing CR is dropped. */
    assert_int_equal(one_s("http", "GET / HTTP/1.1\r\nHost:xy\r\nuser-agent: no\r\n"
                                   "Referer: r1\r\nReferer\r: r2\r\n\r\n"),
                     1);
    assert_string_equal(str(0, "HTTP_REQUEST_HOST"), "y");
    assert_string_equal(str(0, "HTTP_REQUEST_AGENT"), "");
    assert_string_equal(str(0, "HTTP_REQUEST_REFERER"), "r2");

    /* Values are cut to ipfixprobe's buffers. */
    char buf[1024];
    char h70[71], ct40[41];
    memset(h70, 'h', 70);
    h70[70] = 0;
    memset(ct40, 'c', 40);
    ct40[40] = 0;
    snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", h70);
    assert_int_equal(one_s("http", buf), 1);
    assert_int_equal(strlen(str(0, "HTTP_REQUEST_HOST")), 63);
    snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", ct40);
    assert_int_equal(one_s("http", buf), 1);
    assert_int_equal(strlen(str(0, "HTTP_RESPONSE_CONTENT_TYPE")), 31);

    /* Status codes: atoi, stored in 16 bits. */
    assert_int_equal(one_s("http", "HTTP/1.1 200abc OK\r\n\r\n"), 1);
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 200);
    assert_int_equal(one_s("http", "HTTP/1.1 70000 Big\r\n\r\n"), 1);
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 70000 & 0xffff);
    assert_int_equal(one_s("http", "HTTP/1.1  204 Two spaces\r\n\r\n"), 0); /* empty code */

    /* A Set-Cookie without '=' ends the header section; the response parsed. */
    assert_int_equal(one_s("http", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: bad\r\n"
                                   "Server: late\r\n\r\n"),
                     1);
    assert_string_equal(str(0, "HTTP_RESPONSE_SET_COOKIE_NAMES"), "a");
    assert_string_equal(str(0, "HTTP_RESPONSE_SERVER"), "");

    /* The trailing-LF test after an appended name looks at the wrong byte:
     * the first name loses its LF, the second keeps it. */
    assert_int_equal(one_s("http", "HTTP/1.1 200 OK\r\nSet-Cookie: a\n=1\r\n"
                                   "Set-Cookie: bb\n=2\r\n\r\n"),
                     1);
    assert_string_equal(str(0, "HTTP_RESPONSE_SET_COOKIE_NAMES"), "a;bb\n");

    /* A failed request leaves its fields in the flow; a later response
     * that parses exports them (ipfixprobe's reused scratch record). */
    fp_cache_t *c = start("http");
    put_s(c, 1, "GET /half HTTP/1.1\r\nHost: h1\r\nUser-Agent: cut-her", 1 * SEC);
    put_s(c, 0, "HTTP/1.1 204 No Content\r\n\r\n", 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(str(0, "HTTP_REQUEST_URL"), "/half");
    assert_string_equal(str(0, "HTTP_REQUEST_HOST"), "h1");
    assert_string_equal(str(0, "HTTP_REQUEST_AGENT"), "");
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 204);

    /* A response that fails after its Server line clears Server when the next
     * response parses (rtsp keeps it: see test_rtsp_quirks). */
    c = start("http");
    put_s(c, 1, req2, 1 * SEC);
    put_s(c, 0, "HTTP/1.1 200 OK\r\nServer: s1\r\nno colon here\r\n\r\n", 1 * SEC + 1);
    put_s(c, 0, "HTTP/1.1 404 NF\r\nContent-Type: t\r\n\r\n", 1 * SEC + 2);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 404);
    assert_string_equal(str(0, "HTTP_RESPONSE_SERVER"), "");
    assert_string_equal(str(0, "HTTP_RESPONSE_CONTENT_TYPE"), "t");
}

/* The request cut at every length, as a short payload and as a short capture. */
static void test_http_truncated(void **state)
{
    (void)state;
    static const char msg[] = "GET /index.html HTTP/1.1\r\nHost: a.b\r\n\r\n";
    const size_t l1 = strlen("GET /index.html HTTP/1.1\r\n");
    const size_t l2 = l1 + strlen("Host: a.b\r\n");
    const size_t len = sizeof(msg) - 1;

    for (size_t cut = 0; cut <= len; cut++) {
        /* Parses only when the cut falls at a line end after the request line. */
        unsigned want = cut == l1 || cut == l2 || cut == len;
        assert_int_equal(one("http", msg, cut, cut), want);
        if (want)
            assert_string_equal(str(0, "HTTP_REQUEST_HOST"), cut >= l2 ? "a.b" : "");
        assert_int_equal(one("http", msg, len, cut), want);
    }
    static const char rsp[] = "HTTP/1.1 503 Busy\r\nServer: s\r\n\r\n";
    for (size_t cut = 0; cut <= sizeof(rsp) - 1; cut++) {
        unsigned want = cut == 19 || cut == 30 || cut == 32;
        assert_int_equal(one("http", rsp, sizeof(rsp) - 1, cut), want);
        if (want)
            assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 503);
    }
}

static void test_http_hostile(void **state)
{
    (void)state;
    static char big[65000];
    fp_cache_t *c;

    /* Status codes that are not numbers, or not positive. */
    assert_int_equal(one_s("http", "HTTP/1.1 abc OK\r\n\r\n"), 0);
    assert_int_equal(one_s("http", "HTTP/1.1 -200 OK\r\n\r\n"), 0);
    assert_int_equal(one_s("http", "HTTP/1.1 0 OK\r\n\r\n"), 0);
    assert_int_equal(one_s("http", "HTTP/1.1 99999999999999999999 OK\r\n\r\n"), 0);
    /* No second space on the status line: the code spans lines, "OK" is 0. */
    assert_int_equal(one_s("http", "HTTP/1.1 OK\r\nServer: x y\r\n\r\n"), 0);
    assert_int_equal(one_s("http", "HTTP/1.1"), 0);

    /* Lines ended by LF alone are not lines for the http plugin. */
    assert_int_equal(one_s("http", "GET / HTTP/1.1\nHost: h\n\n"), 0);
    assert_int_equal(one_s("http", "GET / HTTP/1.1\r\nHost: h\n\n"), 0);
    /* A header line without ':' anywhere after it, or with a NUL before CRLF. */
    assert_int_equal(one_s("http", "GET / HTTP/1.1\r\nno colon\r\n\r\n"), 0);
    static const char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    assert_int_equal(one("http", nul, sizeof(nul) - 1, sizeof(nul) - 1), 0);
    static const char nul2[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n";
    assert_int_equal(one("http", nul2, sizeof(nul2) - 1, sizeof(nul2) - 1), 0);

    /* A name whose ':' sits on the next line: matched, empty value (ipfixprobe
     * copies a negative length here). */
    assert_int_equal(one_s("http", "GET / HTTP/1.1\r\nHost\r\n: evil\r\nUser-Agent: u\r\n\r\n"), 1);
    assert_string_equal(str(0, "HTTP_REQUEST_HOST"), "");
    assert_string_equal(str(0, "HTTP_REQUEST_AGENT"), "u");
    /* A Set-Cookie whose '=' comes before the value start is skipped. */
    assert_int_equal(one_s("http", "HTTP/1.1 200 OK\r\nSet-Cookie:=x\r\nSet-Cookie: b=1\r\n\r\n"),
                     1);
    assert_string_equal(str(0, "HTTP_RESPONSE_SET_COOKIE_NAMES"), "b");

    /* 60 cookies: the list stops at 511 bytes, the 47th name cut to 5. */
    size_t o = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "Set-Cookie: name%06d=v\r\n", i);
    o += (size_t)snprintf(big + o, sizeof(big) - o, "\r\n");
    assert_int_equal(one("http", big, o, o), 1);
    const char *list = str(0, "HTTP_RESPONSE_SET_COOKIE_NAMES");
    assert_int_equal(strlen(list), 511);
    assert_memory_equal(list, "name000000;name000001;", 22);
    assert_string_equal(list + 506, "name0");
    /* One cookie name longer than the list. */
    o = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nSet-Cookie: ");
    memset(big + o, 'n', 600);
    o += 600;
    o += (size_t)snprintf(big + o, sizeof(big) - o, "=v\r\n\r\n");
    assert_int_equal(one("http", big, o, o), 1);
    assert_int_equal(strlen(str(0, "HTTP_RESPONSE_SET_COOKIE_NAMES")), 511);

    /* A 64 kB header line in one packet, then the same with its end cut. */
    o = (size_t)snprintf(big, sizeof(big), "GET /big HTTP/1.1\r\nUser-Agent: ");
    memset(big + o, 'A', sizeof(big) - o - 20);
    o = sizeof(big) - 20;
    o += (size_t)snprintf(big + o, 20, "\r\nHost: end\r\n\r\n");
    assert_int_equal(one("http", big, o, o), 1);
    assert_int_equal(strlen(str(0, "HTTP_REQUEST_AGENT")), 127);
    assert_string_equal(str(0, "HTTP_REQUEST_HOST"), "end");
    assert_int_equal(one("http", big, o, 30000), 0);

    /* 64 kB of one-byte-name lines whose only ':' is at the very end: every
     * line looks for a ':' ahead (linear overall, not quadratic). */
    o = (size_t)snprintf(big, sizeof(big), "GET /many HTTP/1.1\r\n");
    while (o + 4 < sizeof(big) - 8)
        o += (size_t)snprintf(big + o, 4, "x\r\n");
    o += (size_t)snprintf(big + o, 8, "Host:\r\n");
    assert_int_equal(one("http", big, o, o), 1);
    assert_string_equal(str(0, "HTTP_REQUEST_URL"), "/many");

    /* A 100 kB header line over 72 segments: the first segment has no line
     * end (not parsed), the rest are continuations (ignored); the response
     * makes the record, with the request line read before the failure. */
    c = start("http");
    o = (size_t)snprintf(big, sizeof(big), "GET /long HTTP/1.1\r\nHost: h\r\nCookie: ");
    memset(big + o, 'c', 1400 - o);
    put(c, 1, big, 1400, 1 * SEC);
    memset(big, 'c', 1400);
    for (int i = 0; i < 70; i++)
        put(c, 1, big, 1400, 1 * SEC + (uint64_t)(i + 1) * MS);
    memcpy(big + 1000, "\r\nUser-Agent: u\r\n\r\n", 19);
    put(c, 1, big, 1019, 1 * SEC + 80 * MS);
    put_s(c, 0, "HTTP/1.1 431 Too Large\r\n\r\n", 1 * SEC + 90 * MS);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets, 72);
    assert_string_equal(str(0, "HTTP_REQUEST_URL"), "/long");
    assert_string_equal(str(0, "HTTP_REQUEST_HOST"), "h");
    assert_string_equal(str(0, "HTTP_REQUEST_AGENT"), "");
    assert_int_equal(u64(0, "HTTP_RESPONSE_STATUS_CODE"), 431);

    /* Random bytes after a valid start: nothing read past the payload. */
    srand(7);
    for (int round = 0; round < 300; round++) {
        size_t n = 16 + (size_t)(rand() % 200);
        memcpy(big, round & 1 ? "HTTP/1.1 200 x\r\n" : "GET / HTTP/1.1\r\n", 16);
        for (size_t i = 16; i < n; i++) {
            static const char alpha[] = "ab:= \r\n\0";
            big[i] = alpha[rand() % 8];
        }
        (void)one("http", big, n, n);
    }
}

/*
 * fp_hl_crlf (16-byte SSE2 and 8-byte word steps) against the definition it implements:
 * ipfixprobe's strnstr(p, "\r\n", n), which stops at a NUL byte.  Every
 * length up to 40 (the tail loop, both step sizes, matches in every
 * byte lane) over an alphabet of CR, LF, NUL and two ordinary bytes.
 */
static const uint8_t *crlf_model(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && p[i]; i++)
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            return p + i;
    return NULL;
}

static void test_http_crlf_scan(void **state)
{
    (void)state;
    static const uint8_t alpha[] = {'\r', '\n', 0, 'a', ' '};
    uint8_t buf[48];

    srand(11);
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand() % 41);
        /* Mostly ordinary bytes, so matches land anywhere in a long run. */
        for (size_t i = 0; i < n; i++)
            buf[i] = rand() % 4 ? 'a' : alpha[rand() % 5];
        buf[n] = '\r'; /* past the end: must not be taken as a match */
        assert_ptr_equal(fp_hl_crlf(buf, buf + n), crlf_model(buf, n));
    }
}

/* ------------------------------------------------------------------ rtsp */

static const char describe[] = "DESCRIBE rtsp://media.example/tfm RTSP/1.0\r\n"
                               "CSeq: 1\r\n"
                               "User-Agent: WMPlayer/10\r\n"
                               "Accept: application/sdp\r\n"
                               "\r\n";
static const char rtsp_ok[] = "RTSP/1.0 200 OK\r\n"
                              "CSeq: 1\r\n"
                              "Server: WMServer/9\r\n"
                              "Content-Type: application/sdp\r\n"
                              "\r\n";

static void test_rtsp_exchange(void **state)
{
    (void)state;
    g_port = 554;
    fp_cache_t *c = start("rtsp");

    put_s(c, 1, describe, 1 * SEC);
    put_s(c, 0, rtsp_ok, 1 * SEC + 1);
    put_s(c, 0, "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n", 1 * SEC + 2);
    finish(c);
    g_port = 80;

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(str(0, "RTSP_REQUEST_METHOD"), "DESCRIBE");
    assert_string_equal(str(0, "RTSP_REQUEST_URI"), "rtsp://media.example/tfm");
    assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), "WMPlayer/10");
    assert_int_equal(u64(0, "RTSP_RESPONSE_STATUS_CODE"), 200);
    assert_string_equal(str(0, "RTSP_RESPONSE_SERVER"), "WMServer/9");
    assert_string_equal(str(0, "RTSP_RESPONSE_CONTENT_TYPE"), "application/sdp");
    assert_string_equal(csv(0, "RTSP_REQUEST_METHOD"), "\"DESCRIBE\"");
}

/* A retransmitted request re-creates the flow, as in ipfixprobe's reference. */
static void test_rtsp_reinsert(void **state)
{
    (void)state;
    fp_cache_t *c = start("rtsp");

    put(c, 1, NULL, 0, 1 * SEC); /* SYN-like, no payload */
    put_s(c, 1, describe, 2 * SEC);
    put_s(c, 1, describe, 5 * SEC); /* retransmission: flush */
    put_s(c, 0, "RTSP/1.0 500 Internal Server Error\r\nServer: S\r\n\r\n", 6 * SEC);
    put_s(c, 0, "RTSP/1.0 200 OK\r\n\r\n", 7 * SEC); /* second response: flush */
    finish(c);

    assert_int_equal(g_nout, 3);
    assert_int_equal(g_flow[0].packets, 2);
    assert_int_equal(g_flow[0].time_last, 2 * SEC);
    assert_int_equal(u64(0, "RTSP_RESPONSE_STATUS_CODE"), 0);
    assert_string_equal(str(0, "RTSP_REQUEST_METHOD"), "DESCRIBE");
    assert_int_equal(g_flow[1].time_first, 2 * SEC);
    assert_int_equal(g_flow[1].time_last, 6 * SEC);
    assert_int_equal(g_flow[1].packets, 1);
    assert_int_equal(g_flow[1].packets_rev, 1);
    assert_string_equal(str(1, "RTSP_REQUEST_METHOD"), "DESCRIBE");
    assert_int_equal(u64(1, "RTSP_RESPONSE_STATUS_CODE"), 500);
    assert_string_equal(str(1, "RTSP_RESPONSE_SERVER"), "S");
    assert_int_equal(g_flow[2].time_first, 6 * SEC);
    assert_int_equal(g_flow[2].packets_rev, 1);
    assert_string_equal(str(2, "RTSP_REQUEST_METHOD"), "");
    assert_int_equal(u64(2, "RTSP_RESPONSE_STATUS_CODE"), 200);
}

static void test_rtsp_quirks(void **state)
{
    (void)state;
    /* LF-only lines; a one-byte line ends the header section. */
    assert_int_equal(one_s("rtsp", "SETUP rtsp://h/t RTSP/1.0\nCSeq: 2\nx\nUser-Agent: late\n\n"),
                     1);
    assert_string_equal(str(0, "RTSP_REQUEST_METHOD"), "SETUP");
    assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), "");
    assert_int_equal(one_s("rtsp", "PLAY rtsp://h/t RTSP/1.0\nUser-Agent: a b\n"), 1);
    assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), "a b");
    /* The method is cut to 9 bytes; only the 16 known prefixes are requests. */
    assert_int_equal(one_s("rtsp", "DESCRIBEXYZ rtsp://h/ RTSP/1.0\r\n\r\n"), 1);
    assert_string_equal(str(0, "RTSP_REQUEST_METHOD"), "DESCRIBEX");
    assert_int_equal(one_s("rtsp", "GET_PARAMETER rtsp://h/ RTSP/1.0\r\n\r\n"), 0);
    assert_int_equal(one_s("rtsp", "DESCRIBE rtsp://h/ HTTP/1.0\r\n\r\n"), 0);
    /* The http plugin does not take RTSP, nor rtsp HTTP responses. */
    assert_int_equal(one_s("http", describe), 0);
    assert_int_equal(one_s("rtsp", "HTTP/1.1 200 OK\r\n\r\n"), 0);

    /* A response keeps the Server of an earlier failed one (not cleared). */
    fp_cache_t *c = start("rtsp");
    put_s(c, 1, describe, 1 * SEC);
    put_s(c, 0, "RTSP/1.0 200 OK\nServer: s1\nno colon here\n\n", 1 * SEC + 1);
    put_s(c, 0, "RTSP/1.0 404 NF\nContent-Type: t\n\n", 1 * SEC + 2);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(u64(0, "RTSP_RESPONSE_STATUS_CODE"), 404);
    assert_string_equal(str(0, "RTSP_RESPONSE_SERVER"), "s1");
    assert_string_equal(str(0, "RTSP_RESPONSE_CONTENT_TYPE"), "t");
}

static void test_rtsp_truncated(void **state)
{
    (void)state;
    static const char msg[] = "OPTIONS rtsp://h/ RTSP/1.0\r\nUser-Agent: u\r\n\r\n";
    const size_t l1 = strlen("OPTIONS rtsp://h/ RTSP/1.0\r\n");
    const size_t l2 = l1 + strlen("User-Agent: u\r\n");
    const size_t len = sizeof(msg) - 1;

    for (size_t cut = 0; cut <= len; cut++) {
        /* LF lines: a cut right after a LF, or after the last line's "\r\n"
         * pair (a one-byte line "\r" needs its LF too). */
        unsigned want = cut == l1 || cut == l2 || cut == len;
        assert_int_equal(one("rtsp", msg, cut, cut), want);
        if (want)
            assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), cut >= l2 ? "u" : "");
        assert_int_equal(one("rtsp", msg, len, cut), want);
    }
}

static void test_rtsp_hostile(void **state)
{
    (void)state;
    static char big[65000];
    size_t o;

    assert_int_equal(one_s("rtsp", "RTSP/1.0 abc OK\r\n\r\n"), 0);
    assert_int_equal(one_s("rtsp", "RTSP/1.0 -1 OK\r\n\r\n"), 0);
    assert_int_equal(one_s("rtsp", "RTSP/1.0 200"), 0);
    assert_int_equal(one_s("rtsp", "RTSP/1.0 200 OK"), 0);            /* no line end */
    assert_int_equal(one_s("rtsp", "RTSP/1.0 200 OK\r\nCSeq: 1"), 0); /* header cut */
    /* A value whose ':' ends the line: empty (ipfixprobe: negative copy). */
    assert_int_equal(one_s("rtsp", "PLAY rtsp://h/ RTSP/1.0\nUser-Agent:\n\n"), 1);
    assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), "");
    assert_int_equal(one_s("rtsp", "PLAY rtsp://h/ RTSP/1.0\nUser-Agent\n: x\n\n"), 1);
    assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), "");
    /* NUL bytes do not end rtsp lines; the name ends at the NUL. */
    static const char nul[] = "PLAY rtsp://h/ RTSP/1.0\nUser-Agent\0junk: a\0b\n\n";
    assert_int_equal(one("rtsp", nul, sizeof(nul) - 1, sizeof(nul) - 1), 1);
    assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), "a");

    /* A 64 kB User-Agent in one packet, cut to 127. */
    o = (size_t)snprintf(big, sizeof(big), "PLAY rtsp://h/ RTSP/1.0\r\nUser-Agent: ");
    memset(big + o, 'U', sizeof(big) - o - 4);
    memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
    assert_int_equal(one("rtsp", big, sizeof(big), sizeof(big)), 1);
    assert_int_equal(strlen(str(0, "RTSP_REQUEST_AGENT")), 127);
    assert_int_equal(one("rtsp", big, sizeof(big), 40000), 0);

    /* 100 kB over segments: continuations are ignored. */
    fp_cache_t *c = start("rtsp");
    o = (size_t)snprintf(big, sizeof(big), "ANNOUNCE rtsp://h/ RTSP/1.0\r\nUser-Agent: ");
    memset(big + o, 'u', 1400 - o);
    put(c, 1, big, 1400, 1 * SEC);
    memset(big, 'u', 1400);
    for (int i = 0; i < 72; i++)
        put(c, 1, big, 1400, 1 * SEC + (uint64_t)(i + 1) * MS);
    put_s(c, 0, "RTSP/1.0 200 OK\r\n\r\n", 1 * SEC + 90 * MS);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(str(0, "RTSP_REQUEST_METHOD"), "ANNOUNCE");
    assert_string_equal(str(0, "RTSP_REQUEST_AGENT"), "");
    assert_int_equal(u64(0, "RTSP_RESPONSE_STATUS_CODE"), 200);

    srand(11);
    for (int round = 0; round < 300; round++) {
        size_t n = 16 + (size_t)(rand() % 200);
        memcpy(big, round & 1 ? "RTSP/1.0 2000 x\n" : "PLAY / RTSP/1.0\n", 16);
        for (size_t i = 16; i < n; i++) {
            static const char alpha[] = "ab:= \r\n\0";
            big[i] = alpha[rand() % 8];
        }
        (void)one("rtsp", big, n, n);
    }
}

/*
 * A flow in a record an earlier RTSP exchange filled (the record freed last
 * is the next one taken) gives what a fresh cache gives: no record for a
 * segment that is not RTSP, a response without the exchange's request
 * fields or Server (which a response does not clear), a request without
 * its response fields.
 */
static void test_rtsp_reused_record(void **state)
{
    static const char *const msgs[] = {
        "SSH-2.0-OpenSSH_9.6\r\n",
        "RTSP/1.0 404 NF\r\n\r\n",
        "PLAY rtsp://h/t RTSP/1.0\r\n\r\n",
    };
    char fresh[3][4 * MAXREC];
    (void)state;

    for (int dirty = 0; dirty < 2; dirty++) {
        for (int k = 0; k < 3; k++) {
            fp_cache_t *c = start("rtsp");
            if (dirty) {
                g_port = 554;
                put_s(c, 1, describe, 1 * SEC);
                put_s(c, 0, rtsp_ok, 1 * SEC + 1);
                fp_cache_flush(c);
                assert_int_equal(g_nout, 1);
                assert_string_equal(str(0, "RTSP_RESPONSE_SERVER"), "WMServer/9");
                g_nout = 0;
            }
            g_port = 555; /* another flow */
            put_s(c, k != 1, msgs[k], 2 * SEC);
            g_port = 80;
            finish(c);
            assert_int_equal(g_nout, 1);
            assert_int_equal(g_nrec[0], k ? 1 : 0);
            if (!dirty)
                strcpy(fresh[k], g_nrec[0] ? pt_all_fields(0) : "");
            else
                assert_string_equal(g_nrec[0] ? pt_all_fields(0) : "", fresh[k]);
        }
    }
    assert_string_equal(fresh[1], "\"\"|\"\"|\"\"|404|\"\"|\"\"|");
    assert_string_equal(fresh[2], "\"PLAY\"|\"\"|\"rtsp://h/t\"|0|\"\"|\"\"|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_exchange),      cmocka_unit_test(test_http_reinsert),
        cmocka_unit_test(test_http_detection),     cmocka_unit_test(test_http_quirks),
        cmocka_unit_test(test_http_truncated),     cmocka_unit_test(test_http_hostile),
        cmocka_unit_test(test_http_crlf_scan),     cmocka_unit_test(test_rtsp_exchange),
        cmocka_unit_test(test_rtsp_reinsert),      cmocka_unit_test(test_rtsp_quirks),
        cmocka_unit_test(test_rtsp_truncated),     cmocka_unit_test(test_rtsp_hostile),
        cmocka_unit_test(test_rtsp_reused_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
