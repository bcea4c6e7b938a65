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
            pt_same_as_fresh(dirty, fresh[k], 0, k ? 1 : 0);
        }
    }
    assert_string_equal(fresh[1], "\"\"|\"\"|\"\"|404|\"\"|\"\"|");
    assert_string_equal(fresh[2], "\"PLAY\"|\"\"|\"rtsp://h/t\"|0|\"\"|\"\"|");
}

/* ---- The reference: probe/plugins/httpline.h, http.c and rtsp.c as of
 * commit 790c146 (before the one-pass header reader), renamed ref_*.  Kept
 * verbatim but for the names: the equivalence tests below compare the
 * plugins with it, field by field, on random and mutated messages. */
#define REF_HL_NAME_CAP 64 /* ipfixprobe's scratch buffer for names and codes */

/*
 * Copy [b, e) into dst (cap > 0 bytes, NUL included) as ipfixprobe's
 * copy_str does: at most cap - 1 bytes, then one trailing LF and then one
 * trailing CR dropped.  An inverted span (e < b) gives "" (ipfixprobe would
 * memcpy a negative length).  Bytes after a NUL are copied but not seen by
 * C-string readers, exactly as in ipfixprobe.
 */
static inline void ref_hl_copy(char *dst, size_t cap, const uint8_t *b, const uint8_t *e)
{
    size_t len = e > b ? (size_t)(e - b) : 0;

    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(dst, b, len);
    if (len >= 1 && dst[len - 1] == '\n')
        len--;
    if (len >= 1 && dst[len - 1] == '\r')
        len--;
    dst[len] = 0;
}

/* The C string src cut to cap - 1 bytes into dst (ipfixprobe's strncpy + NUL). */
static inline void ref_hl_cut(char *dst, size_t cap, const char *src)
{
    size_t len = 0;

    while (len < cap - 1 && src[len]) /* a method: a few bytes, no strnlen call */
        len++;
    memcpy(dst, src, len);
    memset(dst + len, 0, cap - len);
}

/*
 * The first byte c in [p, e), or NULL when there is none or a NUL byte comes
 * first (ipfixprobe's strnstr with a one-character needle).
 */
static inline const uint8_t *ref_hl_strnchr(const uint8_t *p, const uint8_t *e, uint8_t c)
{
    for (; p < e; p++) {
        if (*p == c)
            return p;
        if (*p == 0)
            return NULL;
    }
    return NULL;
}

/*
 * The first byte equal to a or b in [p, e), or e (a == b: one byte value).
 * Sixteen bytes per step with SSE2 (every x86-64), else eight per step where
 * a word holds neither (Bit Twiddling Hacks "haszero" on the word XOR each
 * value; the lowest flagged byte is always a real match, the first in
 * memory on a little-endian machine).  Inline, so the values are constants:
 * a header line is a few tens of bytes, shorter than a library call's
 * set-up pays for.
 */
static inline const uint8_t *ref_hl_find2(const uint8_t *p, const uint8_t *e, uint8_t a, uint8_t b)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_cmpeq_epi8(x, va);
        if (a != b) /* a constant test once inlined */
            hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, vb));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL;
    while (e - p >= 8) {
        uint64_t x, y, z;
        memcpy(&x, p, 8);
        y = x ^ (ones * a);
        z = x ^ (ones * b);
        x = ((y - ones) & ~y) | (a != b ? (z - ones) & ~z : 0);
        x &= ones * 0x80;
        if (x)
            return p + (__builtin_ctzll(x) >> 3);
        p += 8;
    }
#endif
    while (p < e && *p != a && *p != b)
        p++;
    return p;
}

/* The first CR or NUL byte in [p, e), or e. */
static inline const uint8_t *ref_hl_cr_or_nul(const uint8_t *p, const uint8_t *e)
{
    return ref_hl_find2(p, e, '\r', 0);
}

/*
 * The CR of the first CRLF wholly inside [p, e), or NULL when there is none
 * or a NUL byte comes before it (ipfixprobe's strnstr(p, "\r\n", e - p)).
 * Only the bytes up to that CRLF are read: a response's body after its head
 * is never scanned for a NUL.
 */
static inline const uint8_t *ref_hl_crlf(const uint8_t *p, const uint8_t *e)
{
    for (;;) {
        const uint8_t *cr = ref_hl_cr_or_nul(p, e);
        if (e - cr < 2 || *cr == 0)
            return NULL; /* no CR with a byte after it before the end or a NUL */
        if (cr[1] == '\n')
            return cr;
        p = cr + 1; /* a CR alone (or before a NUL: the next step sees it) */
    }
}

/*
 * atoi() of a C string as glibc computes it: (int)strtol(s, NULL, 10), so a
 * value past the range of long saturates and the conversion to int keeps the
 * low 32 bits.  ipfixprobe rejects a status code <= 0 and stores the rest in
 * 16 bits.
 */
static inline int32_t ref_hl_atoi(const char *s)
{
    long v = strtol(s, NULL, 10);

    return (int32_t)(uint32_t)(unsigned long)v;
}

/*
 * Split a start line: *sp1 = the payload's first space, *sp2 = the next
 * space after it.  False when either is missing.
 */
static inline bool ref_hl_split(const uint8_t *p, const uint8_t *end, const uint8_t **sp1,
                                const uint8_t **sp2)
{
    const uint8_t *a = memchr(p, ' ', (size_t)(end - p));

    if (!a)
        return false;
    *sp1 = a;
    *sp2 = memchr(a + 1, ' ', (size_t)(end - (a + 1)));
    return *sp2 != NULL;
}

/* True when the `n` bytes of `lit` start at p, all before end. */
static inline bool ref_hl_at(const uint8_t *p, const uint8_t *end, const char *lit, size_t n)
{
    return p <= end && (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* One header line handed out by ref_hl_next(). */
typedef struct ref_hl_hdr_st {
    char name[REF_HL_NAME_CAP]; /* the field name as ipfixprobe compares it (see top);
                                  filled only when the walk's `names` is set */
    const uint8_t *nb;          /* the same name in the payload: nb[0..nlen), cut */
    size_t nlen;                /* and trimmed; a NUL inside ends it (C string) */
    const uint8_t *line;        /* the line's first byte */
    const uint8_t *vb;          /* value start: two bytes after the ':' */
    const uint8_t *ve;          /* value end: the line's LF.  ve < vb when the ':'
                                   is on a later line: the value is then empty */
} ref_hl_hdr_t;

/* A walk over the header section of one payload. */
typedef struct ref_hl_walk_st {
    const uint8_t *p;     /* first byte of the next line; p <= end */
    const uint8_t *end;   /* one past the payload */
    const uint8_t *colon; /* the first ':' at or after the last search start
                             (<= p), NULL if none: still right while >= p */
    bool crlf;            /* true: http (CRLF lines), false: rtsp (LF lines) */
    bool names;           /* copy each name into h->name (default); without it,
                             compare names with ref_hl_name_is */
} ref_hl_walk_t;

static inline void ref_hl_walk_init(ref_hl_walk_t *w, const uint8_t *p, const uint8_t *end,
                                    bool crlf)
{
    w->p = p;
    w->end = end;
    w->crlf = crlf;
    w->names = true;
    w->colon = memchr(p, ':', (size_t)(end - p));
}

enum {
    REF_HL_BAD = -1, /* a line without its end or without any ':' after it: the
                       message counts as not parsed (fields read so far stay) */
    REF_HL_END = 0,  /* the empty line, or the payload ended right after a line */
    REF_HL_HDR = 1,  /* *h holds the next header line */
};

/* Read the next header line into *h (REF_HL_HDR), or say why not. */
static inline int ref_hl_next(ref_hl_walk_t *w, ref_hl_hdr_t *h)
{
    const uint8_t *lf, *colon;

    if (w->p >= w->end)
        return REF_HL_END;
    if (w->crlf) {
        const uint8_t *cr = ref_hl_crlf(w->p, w->end);
        if (!cr)
            return REF_HL_BAD;
        lf = cr + 1;
        if (lf - w->p == 1) /* "\r\n" alone */
            return REF_HL_END;
    } else {
        lf = memchr(w->p, '\n', (size_t)(w->end - w->p));
        if (!lf)
            return REF_HL_BAD;
        if (lf - w->p <= 1) /* "\n", "\r\n" -- and ipfixprobe's rtsp: any one byte + LF */
            return REF_HL_END;
    }
    /* The first ':' at or after the line start, reusing the last search
     * while it is still ahead of us (lines only move forward). */
    if (w->colon && w->colon < w->p) {
        w->colon = memchr(w->p, ':', (size_t)(w->end - w->p));
    }
    colon = w->colon;
    if (!colon)
        return REF_HL_BAD;
    /* The name as ref_hl_copy would cut it, read where it is: at most 63
     * bytes, one trailing LF and one trailing CR dropped. */
    size_t nlen = (size_t)(colon - w->p);
    if (nlen >= REF_HL_NAME_CAP)
        nlen = REF_HL_NAME_CAP - 1;
    if (nlen >= 1 && w->p[nlen - 1] == '\n')
        nlen--;
    if (nlen >= 1 && w->p[nlen - 1] == '\r')
        nlen--;
    h->nb = w->p;
    h->nlen = nlen;
    if (w->names)
        ref_hl_copy(h->name, sizeof(h->name), w->p, colon);
    h->line = w->p;
    h->ve = lf;
    /* colon < lf keeps colon + 2 <= lf + 1 <= end; a ':' on a later line (or
     * right before the LF) leaves vb > ve: an empty value. */
    h->vb = colon < lf ? colon + 2 : lf + 1;
    w->p = lf + 1;
    return REF_HL_HDR;
}

/*
 * The header's name equals lit (n bytes, no NUL), as strcmp(h->name, lit)
 * == 0 would say: the name starts with lit and ends right after it, at its
 * end or at a NUL byte.
 */
static inline bool ref_hl_name_is(const ref_hl_hdr_t *h, const char *lit, size_t n)
{
    return h->nlen >= n && memcmp(h->nb, lit, n) == 0 && (h->nlen == n || h->nb[n] == 0);
}

/* Copy a header value into dst (cap bytes) as ipfixprobe does; "" when inverted. */
static inline void ref_hl_value(char *dst, size_t cap, const ref_hl_hdr_t *h)
{
    ref_hl_copy(dst, cap, h->vb, h->ve);
}

#define REF_HTTP_SNIFF_METHOD_MAX 32 /* ipfixprobe looks for the first space this far */

typedef struct ref_http_record_st {
    char user_agent[128];
    char method[16];
    char host[64];
    char referer[128];
    char uri[128];
    char content_type[32];
    char server[128];
    char set_cookie[512];
    uint16_t code;
} ref_http_record_t;

/*
 * The flags come first: only they are zeroed when a flow is created
 * (state_zero); r is cleared when a message first writes to it, so the many
 * flows that never carry HTTP never pay for a kilobyte of memset.
 */
typedef struct ref_http_state_st {
    uint8_t has;         /* a request or response parsed: the flow carries r */
    uint8_t req;         /* r holds a parsed request */
    uint8_t resp;        /* r holds a parsed response */
    uint8_t r_init;      /* r has been cleared for this flow */
    ref_http_record_t r; /* what record() returns */
} ref_http_state_t;

/* Field table in the order of ipfixprobe's IPFIX template (IPFIX_HTTP_TEMPLATE). */
static const fk_field_t ref_http_fields[] = {
    FK_STR(ref_http_record_t, user_agent, "REF_HTTP_REQUEST_AGENT", "ref_http_request_agent", 39499,
           20, 0),
    FK_STR(ref_http_record_t, method, "REF_HTTP_REQUEST_METHOD", "ref_http_request_method", 8057,
           200, 0),
    FK_STR(ref_http_record_t, host, "REF_HTTP_REQUEST_HOST", "ref_http_request_host", 39499, 1, 0),
    FK_STR(ref_http_record_t, referer, "REF_HTTP_REQUEST_REFERER", "ref_http_request_referer",
           39499, 3, 0),
    FK_STR(ref_http_record_t, uri, "REF_HTTP_REQUEST_URL", "ref_http_request_url", 39499, 2, 0),
    FK_STR(ref_http_record_t, content_type, "REF_HTTP_RESPONSE_CONTENT_TYPE",
           "ref_http_response_content_type", 39499, 10, 0),
    FK_STR(ref_http_record_t, server, "REF_HTTP_RESPONSE_SERVER", "ref_http_response_server", 8057,
           201, 0),
    FK_STR(ref_http_record_t, set_cookie, "REF_HTTP_RESPONSE_SET_COOKIE_NAMES",
           "ref_http_response_set_cookie_names", 8057, 202, 0),
    FK_U16(ref_http_record_t, code, "REF_HTTP_RESPONSE_STATUS_CODE",
           "ref_http_response_status_code", 39499, 12, 0),
};

enum {
    REF_HTTP_FAIL = 0,  /* not parsed (what was read so far stays) */
    REF_HTTP_OK = 1,    /* parsed */
    REF_HTTP_FLUSH = 2, /* a second request/response: export, then re-create */
};

/* Before the first write to r in a flow: make it read as empty. */
static void ref_http_clear(ref_http_state_t *s)
{
    if (!s->r_init) {
        fk_record_clear(ref_http_fields, sizeof(ref_http_fields) / sizeof(ref_http_fields[0]),
                        &s->r);
        s->r_init = 1;
    }
}

static bool ref_http_is_request(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n, *sp1, *sp2;

    if (n < 4)
        return false;
    /* The nine method prefixes, told apart by their first byte first (one
     * switch, then one 4-byte compare) rather than nine compares per payload. */
    switch (p[0]) {
    case 'G':
        if (memcmp(p, "GET ", 4) == 0)
            return true;
        break;
    case 'P':
        if (memcmp(p, "POST", 4) == 0 || memcmp(p, "PUT ", 4) == 0 || memcmp(p, "PATC", 4) == 0)
            return true;
        break;
    case 'H':
        if (memcmp(p, "HEAD", 4) == 0)
            return true;
        break;
    case 'D':
        if (memcmp(p, "DELE", 4) == 0)
            return true;
        break;
    case 'T':
        if (memcmp(p, "TRAC", 4) == 0)
            return true;
        break;
    case 'O':
        if (memcmp(p, "OPTI", 4) == 0)
            return true;
        break;
    case 'C':
        if (memcmp(p, "CONN", 4) == 0)
            return true;
        break;
    default:
        break;
    }
    /* Any method: "X Y HTTP" with the first space within 32 bytes.  Every
     * payload of a flow comes here (bodies, TLS records ...): the spaces
     * are looked for inline first, a library call costs more than the few
     * bytes up to the usual space. */
    const uint8_t *lim = p + (n < REF_HTTP_SNIFF_METHOD_MAX ? n : REF_HTTP_SNIFF_METHOD_MAX);
    sp1 = ref_hl_find2(p, lim, ' ', ' ');
    if (sp1 == lim)
        return false;
    lim = end - (sp1 + 1) > 64 ? sp1 + 1 + 64 : end;
    sp2 = ref_hl_find2(sp1 + 1, lim, ' ', ' ');
    if (sp2 == lim)
        sp2 = lim < end ? memchr(lim, ' ', (size_t)(end - lim)) : NULL;
    return sp2 && ref_hl_at(sp2 + 1, end, "HTTP", 4);
}

static bool ref_http_is_response(const uint8_t *p, size_t n)
{
    return n >= 4 && memcmp(p, "HTTP", 4) == 0;
}

/*
 * Append one cookie name [b, e) to the ';'-separated list, as ipfixprobe's
 * add_str does (see the top comment for its trailing-CR/LF test).
 */
static void ref_http_add_cookie(char *dst, size_t cap, const uint8_t *b, const uint8_t *e)
{
    size_t dl = strnlen(dst, cap - 1), len, at, pos;

    if (e < b)
        return; /* ipfixprobe: negative memcpy */
    len = (size_t)(e - b);
    if (dl > 0) {
        if (dl + 2 >= cap)
            return; /* full */
        if (len + dl + 1 >= cap)
            len = cap - dl - 2;
        dst[dl] = ';';
        at = dl + 1;
    } else {
        if (len >= cap)
            len = cap - 1;
        at = 0;
    }
    /* strcat of the name: it ends at a NUL byte. */
    pos = at;
    for (size_t i = 0; i < len && b[i]; i++)
        dst[pos++] = (char)b[i];
    dst[pos] = 0;
    /* ipfixprobe's trailing-LF/CR test, at index len - 1 of the whole list. */
    if (len >= 1 && dst[len - 1] == '\n')
        len--;
    if (len >= 1 && dst[len - 1] == '\r')
        len--;
    dst[at + len] = 0; /* at + len <= cap - 1 */
}

static int ref_http_parse_request(ref_http_state_t *s, const uint8_t *p, size_t n)
{
    ref_http_record_t *r = &s->r;
    const uint8_t *end = p + n, *sp1, *sp2, *cr;
    char name[REF_HL_NAME_CAP];
    ref_hl_walk_t w;
    ref_hl_hdr_t h;
    int rc;

    if (n == 0 || !ref_hl_split(p, end, &sp1, &sp2) || !ref_hl_at(sp2 + 1, end, "HTTP", 4))
        return REF_HTTP_FAIL;
    if (s->req)
        return REF_HTTP_FLUSH;
    ref_http_clear(s);
    /* The method goes through the 64-byte scratch buffer, then into 16. */
    ref_hl_copy(name, sizeof(name), p, sp1);
    ref_hl_cut(r->method, sizeof(r->method), name);
    ref_hl_copy(r->uri, sizeof(r->uri), sp1 + 1, sp2);

    cr = ref_hl_crlf(sp2, end);
    if (!cr)
        return REF_HTTP_FAIL;
    r->host[0] = 0;
    r->user_agent[0] = 0;
    r->referer[0] = 0;
    ref_hl_walk_init(&w, cr + 2, end, true);
    w.names = false; /* compared in place */
    while ((rc = ref_hl_next(&w, &h)) == REF_HL_HDR) {
        if (ref_hl_name_is(&h, "Host", 4))
            ref_hl_value(r->host, sizeof(r->host), &h);
        else if (ref_hl_name_is(&h, "User-Agent", 10))
            ref_hl_value(r->user_agent, sizeof(r->user_agent), &h);
        else if (ref_hl_name_is(&h, "Referer", 7))
            ref_hl_value(r->referer, sizeof(r->referer), &h);
    }
    if (rc == REF_HL_BAD)
        return REF_HTTP_FAIL;
    s->req = 1;
    return REF_HTTP_OK;
}

static int ref_http_parse_response(ref_http_state_t *s, const uint8_t *p, size_t n)
{
    ref_http_record_t *r = &s->r;
    const uint8_t *end = p + n, *sp1, *sp2, *cr;
    char num[REF_HL_NAME_CAP];
    ref_hl_walk_t w;
    ref_hl_hdr_t h;
    int32_t code;
    int rc;

    if (!ref_http_is_response(p, n) || !ref_hl_split(p, end, &sp1, &sp2))
        return REF_HTTP_FAIL;
    ref_hl_copy(num, sizeof(num), sp1 + 1, sp2);
    code = ref_hl_atoi(num);
    if (code <= 0)
        return REF_HTTP_FAIL;
    if (s->resp)
        return REF_HTTP_FLUSH;
    ref_http_clear(s);
    r->code = (uint16_t)code; /* ipfixprobe stores the int in 16 bits */

    cr = ref_hl_crlf(sp2, end);
    if (!cr)
        return REF_HTTP_FAIL;
    r->content_type[0] = 0;
    r->server[0] = 0;
    r->set_cookie[0] = 0;
    ref_hl_walk_init(&w, cr + 2, end, true);
    w.names = false; /* compared in place */
    while ((rc = ref_hl_next(&w, &h)) == REF_HL_HDR) {
        if (ref_hl_name_is(&h, "Content-Type", 12)) {
            ref_hl_value(r->content_type, sizeof(r->content_type), &h);
        } else if (ref_hl_name_is(&h, "Server", 6)) {
            ref_hl_value(r->server, sizeof(r->server), &h);
        } else if (ref_hl_name_is(&h, "Set-Cookie", 10)) {
            /* RFC 6265 4.1: cookie-pair = cookie-name "=" cookie-value */
            const uint8_t *eq = ref_hl_strnchr(h.line, h.ve, '=');
            if (!eq)
                break; /* ipfixprobe stops reading headers here */
            ref_http_add_cookie(r->set_cookie, sizeof(r->set_cookie), h.vb, eq);
        }
    }
    if (rc == REF_HL_BAD)
        return REF_HTTP_FAIL;
    s->resp = 1;
    return REF_HTTP_OK;
}

/* Parse a segment of a flow; returns REF_HTTP_FAIL / REF_HTTP_OK / REF_HTTP_FLUSH. */
static int ref_http_segment(ref_http_state_t *s, const fk_packet_t *pkt)
{
    const uint8_t *p = pkt->payload;
    size_t n = pkt->payload_len;
    int rc;

    if (!p)
        return REF_HTTP_FAIL;
    if (ref_http_is_request(p, n))
        rc = ref_http_parse_request(s, p, n);
    else if (ref_http_is_response(p, n))
        rc = ref_http_parse_response(s, p, n);
    else
        return REF_HTTP_FAIL;
    if (rc == REF_HTTP_OK)
        s->has = 1;
    return rc;
}
typedef struct ref_rtsp_record_st {
    char method[10];
    char user_agent[128];
    char uri[128];
    char server[128];
    char content_type[32];
    uint16_t code;
} ref_rtsp_record_t;

/*
 * The flags come first: only they are zeroed when a flow is created
 * (state_zero); r is cleared when a message first writes to it, so the
 * flows that never carry RTSP never pay for its 430 bytes.
 */
typedef struct ref_rtsp_state_st {
    uint8_t has;         /* a request or response parsed: the flow carries r */
    uint8_t req;         /* r holds a parsed request */
    uint8_t resp;        /* r holds a parsed response */
    uint8_t r_init;      /* r has been cleared for this flow */
    ref_rtsp_record_t r; /* what record() returns */
} ref_rtsp_state_t;

/* Field table in the order of ipfixprobe's IPFIX template (IPFIX_RTSP_TEMPLATE). */
static const fk_field_t ref_rtsp_fields[] = {
    FK_STR(ref_rtsp_record_t, method, "REF_RTSP_REQUEST_METHOD", "ref_rtsp_request_method", 8057,
           1040, 0),
    FK_STR(ref_rtsp_record_t, user_agent, "REF_RTSP_REQUEST_AGENT", "ref_rtsp_request_agent", 8057,
           1041, 0),
    FK_STR(ref_rtsp_record_t, uri, "REF_RTSP_REQUEST_URI", "ref_rtsp_request_uri", 8057, 1042, 0),
    FK_U16(ref_rtsp_record_t, code, "REF_RTSP_RESPONSE_STATUS_CODE",
           "ref_rtsp_response_status_code", 8057, 1043, 0),
    FK_STR(ref_rtsp_record_t, server, "REF_RTSP_RESPONSE_SERVER", "ref_rtsp_response_server", 8057,
           1045, 0),
    FK_STR(ref_rtsp_record_t, content_type, "REF_RTSP_RESPONSE_CONTENT_TYPE",
           "ref_rtsp_response_content_type", 8057, 1044, 0),
};

enum {
    REF_RTSP_FAIL = 0,  /* not parsed (what was read so far stays) */
    REF_RTSP_OK = 1,    /* parsed */
    REF_RTSP_FLUSH = 2, /* a second request/response: export, then re-create */
};

/* Before the first write to r in a flow: make it read as empty. */
static void ref_rtsp_clear(ref_rtsp_state_t *s)
{
    if (!s->r_init) {
        fk_record_clear(ref_rtsp_fields, sizeof(ref_rtsp_fields) / sizeof(ref_rtsp_fields[0]),
                        &s->r);
        s->r_init = 1;
    }
}

static bool ref_rtsp_is_request(const uint8_t *p, size_t n)
{
    static const char methods[][4] = {"GET ", "POST", "PUT ", "HEAD", "DELE", "TRAC",
                                      "OPTI", "CONN", "PATC", "DESC", "SETU", "PLAY",
                                      "PAUS", "TEAR", "RECO", "ANNO"};

    if (n < 4)
        return false;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (memcmp(p, methods[i], 4) == 0)
            return true;
    return false;
}

static bool ref_rtsp_is_response(const uint8_t *p, size_t n)
{
    return n >= 4 && memcmp(p, "RTSP", 4) == 0;
}

static int ref_rtsp_parse_request(ref_rtsp_state_t *s, const uint8_t *p, size_t n)
{
    ref_rtsp_record_t *r = &s->r;
    const uint8_t *end = p + n, *sp1, *sp2, *lf;
    char name[REF_HL_NAME_CAP];
    ref_hl_walk_t w;
    ref_hl_hdr_t h;
    int rc;

    if (n == 0 || !ref_hl_split(p, end, &sp1, &sp2) || !ref_hl_at(sp2 + 1, end, "RTSP", 4))
        return REF_RTSP_FAIL;
    if (s->req)
        return REF_RTSP_FLUSH;
    ref_rtsp_clear(s);
    /* The method goes through the 64-byte scratch buffer, then into 10. */
    ref_hl_copy(name, sizeof(name), p, sp1);
    ref_hl_cut(r->method, sizeof(r->method), name);
    ref_hl_copy(r->uri, sizeof(r->uri), sp1 + 1, sp2);

    lf = memchr(sp2, '\n', (size_t)(end - sp2));
    if (!lf)
        return REF_RTSP_FAIL;
    r->user_agent[0] = 0;
    ref_hl_walk_init(&w, lf + 1, end, false);
    while ((rc = ref_hl_next(&w, &h)) == REF_HL_HDR)
        if (strcmp(h.name, "User-Agent") == 0)
            ref_hl_value(r->user_agent, sizeof(r->user_agent), &h);
    if (rc == REF_HL_BAD)
        return REF_RTSP_FAIL;
    s->req = 1;
    return REF_RTSP_OK;
}

static int ref_rtsp_parse_response(ref_rtsp_state_t *s, const uint8_t *p, size_t n)
{
    ref_rtsp_record_t *r = &s->r;
    const uint8_t *end = p + n, *sp1, *sp2, *lf;
    char num[REF_HL_NAME_CAP];
    ref_hl_walk_t w;
    ref_hl_hdr_t h;
    int32_t code;
    int rc;

    if (!ref_rtsp_is_response(p, n) || !ref_hl_split(p, end, &sp1, &sp2))
        return REF_RTSP_FAIL;
    ref_hl_copy(num, sizeof(num), sp1 + 1, sp2);
    code = ref_hl_atoi(num);
    if (code <= 0)
        return REF_RTSP_FAIL;
    if (s->resp)
        return REF_RTSP_FLUSH;
    ref_rtsp_clear(s);
    r->code = (uint16_t)code; /* ipfixprobe stores the int in 16 bits */

    lf = memchr(sp2, '\n', (size_t)(end - sp2));
    if (!lf)
        return REF_RTSP_FAIL;
    r->content_type[0] = 0; /* but not server: see the top comment */
    ref_hl_walk_init(&w, lf + 1, end, false);
    while ((rc = ref_hl_next(&w, &h)) == REF_HL_HDR) {
        if (strcmp(h.name, "Content-Type") == 0)
            ref_hl_value(r->content_type, sizeof(r->content_type), &h);
        else if (strcmp(h.name, "Server") == 0)
            ref_hl_value(r->server, sizeof(r->server), &h);
    }
    if (rc == REF_HL_BAD)
        return REF_RTSP_FAIL;
    s->resp = 1;
    return REF_RTSP_OK;
}

/* Parse a segment of a flow; returns REF_RTSP_FAIL / REF_RTSP_OK / REF_RTSP_FLUSH. */
static int ref_rtsp_segment(ref_rtsp_state_t *s, const fk_packet_t *pkt)
{
    const uint8_t *p = pkt->payload;
    size_t n = pkt->payload_len;
    int rc;

    if (!p)
        return REF_RTSP_FAIL;
    if (ref_rtsp_is_request(p, n))
        rc = ref_rtsp_parse_request(s, p, n);
    else if (ref_rtsp_is_response(p, n))
        rc = ref_rtsp_parse_response(s, p, n);
    else
        return REF_RTSP_FAIL;
    if (rc == REF_RTSP_OK)
        s->has = 1;
    return rc;
}

/*
 * ------------------------------------------------------------ equivalence
 *
 * The plugins against the reference above: random and mutated HTTP and RTSP
 * messages (names from the set the plugins look for and near misses, every
 * separator and line end, NULs, lone CRs, long names and lines, cuts at any
 * byte), in flows of a few segments, driven through the hooks as the cache
 * drives them (post_create first, pre_update after, a re-created flow on
 * FP_HOOK_FLUSH_REINSERT).  After every hook the return code, records() and
 * every field of the record (also a failed message's leftovers) must agree.
 */

/* A small deterministic generator (xorshift64*), independent of rand(). */
static uint64_t g_eq_rng = 0x9e3779b97f4a7c15ULL;

static uint32_t eq_rand(void)
{
    g_eq_rng ^= g_eq_rng >> 12;
    g_eq_rng ^= g_eq_rng << 25;
    g_eq_rng ^= g_eq_rng >> 27;
    return (uint32_t)((g_eq_rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint32_t eq_below(uint32_t n)
{
    return eq_rand() % n;
}

#define EQ_MAX 4096 /* bytes of one generated payload */

typedef struct eq_buf_st {
    uint8_t b[EQ_MAX];
    size_t n;
} eq_buf_t;

static void eq_put(eq_buf_t *m, const void *s, size_t n)
{
    if (n > EQ_MAX - m->n)
        n = EQ_MAX - m->n;
    memcpy(m->b + m->n, s, n);
    m->n += n;
}

static void eq_puts(eq_buf_t *m, const char *s)
{
    eq_put(m, s, strlen(s));
}

static const char *eq_pick(const char *const *v, size_t n)
{
    return v[eq_below((uint32_t)n)];
}
#define EQ_PICK(v) eq_pick(v, sizeof(v) / sizeof(v[0]))

/* Random text of up to max bytes; now and then a byte the readers care about. */
static void eq_text(eq_buf_t *m, size_t max)
{
    static const char special[] = " :=;\r\n\t\0";
    size_t n = eq_below((uint32_t)max + 1);

    for (size_t i = 0; i < n && m->n < EQ_MAX; i++) {
        uint32_t r = eq_below(40);
        uint8_t c = r == 0   ? (uint8_t)special[eq_below(sizeof(special))]
                    : r == 1 ? (uint8_t)eq_rand()
                             : (uint8_t) "abcdefghijklmnopqrstuvwxyz0123456789/.-"[eq_below(39)];
        m->b[m->n++] = c;
    }
}

static void eq_eol(eq_buf_t *m)
{
    static const char *const odd[] = {"\n", "\r", "", "\r\r\n", "\n\r"};
    eq_puts(m, eq_below(8) ? "\r\n" : EQ_PICK(odd));
}

/* One message: a start line, header lines, maybe the empty line and a body. */
static void eq_message(eq_buf_t *m, bool rtsp)
{
    static const char *const methods[] = {
        "GET",      "POST",     "PUT",     "HEAD",     "DELETE",
        "TRACE",    "OPTIONS",  "CONNECT", "PATCH",    "GETX",
        "POS",      "PROPFIND", "FOO",     "M-SEARCH", "get",
        "DESCRIBE", "SETUP",    "PLAY",    "PAUSE",    "TEARDOWN",
        "RECORD",   "ANNOUNCE", "",        "\r\n",     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "GET\n",    "GE\r",     "G\0T"};
    static const char *const versions[] = {"HTTP/1.1", "HTTP/1.0", "HTTP", "HTT",       "RTSP/1.0",
                                           "RTSP",     "FTP/1.0",  "",     "HTTP/1.1 x"};
    static const char *const codes[] = {"200",        "404",       "200abc", "abc",
                                        "-1",         "0",         "",       "99999999999999999999",
                                        "70000",      "\t42",      "+7",     "007",
                                        "1234567890", "123456789", "2\r\n",  "3\n",
                                        " 204",       "1e3"};
    static const char *const names[] = {
        "Host",
        "User-Agent",
        "Referer",
        "Content-Type",
        "Server",
        "Set-Cookie",
        "Accept",
        "Cookie",
        "host",
        "HOST",
        "Hos",
        "Hostx",
        "Host ",
        "Set-Cookie2",
        "X",
        "",
        "Referer\r",
        "User-Agent\n",
        "Server\r\n",
        "Content-Typ",
        "Content-Type ",
        "Date",
        "Connection",
        "Content-Length",
        "CSeq",
        "Server\0",
        "A-very-long-header-field-name-that-goes-past-the-sixty-four-byte-scratch-buffer"};
    static const char *const seps[] = {": ", ": ", ": ", ":", " : ", "", "\r\n: ", "::", ": \0"};

    if (!eq_below(8)) { /* a body: text, maybe with spaces and "HTTP" in it */
        eq_text(m, eq_below(4) ? 60 : 2000);
        if (eq_below(2))
            eq_puts(m, eq_below(2) ? " HTTP" : "HTTP/1.1 200 OK\r\n");
        eq_text(m, 40);
        return;
    }
    if (eq_below(2)) {
        if (eq_below(4)) {
            eq_puts(m, EQ_PICK(methods));
        } else { /* a method prefix, then letters: the first space may be past 32 */
            static const char *const prefix[] = {"GET ", "POST", "PUT ", "HEAD", "DELE",
                                                 "TRAC", "OPTI", "CONN", "PATC"};
            eq_puts(m, EQ_PICK(prefix));
            for (uint32_t k = eq_below(48); k > 0; k--)
                eq_put(m, &"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[eq_below(26)], 1);
        }
        eq_puts(m, eq_below(10) ? " " : "  ");
        eq_text(m, eq_below(5) ? 40 : 200);
        eq_puts(m, eq_below(10) ? " " : "");
        eq_puts(m, eq_below(3) ? (rtsp ? "RTSP/1.0" : "HTTP/1.1") : EQ_PICK(versions));
    } else {
        eq_puts(m, eq_below(3) ? (rtsp ? "RTSP/1.0" : "HTTP/1.1") : EQ_PICK(versions));
        eq_puts(m, eq_below(10) ? " " : "");
        eq_puts(m, EQ_PICK(codes));
        eq_puts(m, eq_below(10) ? " " : "");
        eq_text(m, 20);
    }
    eq_eol(m);
    for (uint32_t k = eq_below(9); k > 0; k--) {
        const char *nm = EQ_PICK(names);
        eq_put(m, nm, strcmp(nm, "Server") == 0 && !eq_below(20) ? 7 : strlen(nm));
        const char *sep = EQ_PICK(seps);
        eq_put(m, sep, strcmp(sep, ": ") == 0 && !eq_below(20) ? 3 : strlen(sep));
        eq_text(m, eq_below(8) ? 40 : 300);
        eq_eol(m);
    }
    if (eq_below(4))
        eq_puts(m, eq_below(5) ? "\r\n" : "x\n");
    if (eq_below(3))
        eq_text(m, 100);
}

/* A few bytes of the message changed to ones the readers look for, or cut. */
static void eq_mutate(eq_buf_t *m)
{
    static const char special[] = " :=\r\n\0HTP";

    if (m->n && !eq_below(3))
        for (uint32_t k = 1 + eq_below(3); k > 0; k--)
            m->b[eq_below((uint32_t)m->n)] = (uint8_t)special[eq_below(sizeof(special))];
    if (m->n && !eq_below(3))
        m->n = eq_below((uint32_t)m->n + 1);
}

/* One plugin and its reference, each with a state slab and hooks. */
typedef struct eq_side_st {
    const fp_plugin_t *p;   /* the plugin under test */
    void *st;               /* its slab */
    fp_body_pool_t *bodies; /* its bodies (http), as a cache would give them */
    bool live;              /* st holds a flow (its body pointer is one) */
    /* the reference */
    void *ref_st;
    size_t ref_zero;
    int (*ref_segment)(void *st, const fk_packet_t *pkt);
    unsigned (*ref_records)(const void *st);
    const void *(*ref_record)(const void *st);
} eq_side_t;

static int eq_ref_http_segment(void *st, const fk_packet_t *pkt)
{
    return ref_http_segment(st, pkt);
}
static unsigned eq_ref_http_records(const void *st)
{
    return ((const ref_http_state_t *)st)->has ? 1 : 0;
}
static const void *eq_ref_http_record(const void *st)
{
    return &((const ref_http_state_t *)st)->r;
}
static int eq_ref_rtsp_segment(void *st, const fk_packet_t *pkt)
{
    return ref_rtsp_segment(st, pkt);
}
static unsigned eq_ref_rtsp_records(const void *st)
{
    return ((const ref_rtsp_state_t *)st)->has ? 1 : 0;
}
static const void *eq_ref_rtsp_record(const void *st)
{
    return &((const ref_rtsp_state_t *)st)->r;
}

/* The reference's slab: the larger of the two references' states. */
#define EQ_REF_STATE                                                                \
    (sizeof(ref_http_state_t) > sizeof(ref_rtsp_state_t) ? sizeof(ref_http_state_t) \
                                                         : sizeof(ref_rtsp_state_t))

/* A pool for a plugin with bodies: two, the flow's and the one it may
 * take after a flush, since eq_create gives the old one back first. */
static void eq_bodies(eq_side_t *s)
{
    s->bodies = NULL;
    s->live = false;
    if (s->p->body_size)
        assert_non_null(s->bodies = fp_body_pool_new(s->p->body_size, 2));
}

/* A flow (re-)created: the first state_zero bytes zeroed, the rest as it
 * was; the last flow's body, if any, back to the pool first (the cache's
 * order when it reuses a record). */
static void eq_create(eq_side_t *s)
{
    void *b;

    if (s->bodies && s->live) {
        memcpy(&b, s->st, sizeof(b));
        if (b)
            fp_body_give(s->bodies, b);
    }
    s->live = true;
    memset(s->st, 0, s->p->state_zero ? s->p->state_zero : s->p->state_size);
    memset(s->ref_st, 0, s->ref_zero);
}

/* Both sides' records must read the same, field by field (bounded, so a
 * field never written is compared as the same garbage, not overrun). */
static void eq_compare(const eq_side_t *s, long step)
{
    unsigned nr = s->p->records(NULL, NULL, s->st);

    if (nr != s->ref_records(s->ref_st))
        fail_msg("step %ld: records %u, reference %u", step, nr, s->ref_records(s->ref_st));
    if (nr == 0)
        return; /* record() is for flows that have one (plugin.h) */
    const uint8_t *a = s->p->record(NULL, NULL, s->st, 0), *b = s->ref_record(s->ref_st);
    for (size_t i = 0; i < s->p->nfields; i++) {
        const fk_field_t *f = &s->p->fields[i];
        if (f->type == FK_T_STR) {
            size_t la = strnlen((const char *)a + f->off, f->cap);
            size_t lb = strnlen((const char *)b + f->off, f->cap);
            if (la != lb || memcmp(a + f->off, b + f->off, la) != 0)
                fail_msg("step %ld: %s \"%.*s\", reference \"%.*s\"", step, f->name, (int)la,
                         a + f->off, (int)lb, b + f->off);
        } else if (fk_field_u64(f, a, 0) != fk_field_u64(f, b, 0)) {
            fail_msg("step %ld: %s %llu, reference %llu", step, f->name,
                     (unsigned long long)fk_field_u64(f, a, 0),
                     (unsigned long long)fk_field_u64(f, b, 0));
        }
    }
}

/* One segment through both sides; first = the flow's first packet. */
static void eq_packet(eq_side_t *s, const uint8_t *pay, size_t n, bool first, long step)
{
    fk_packet_t pkt;
    fp_hookpkt_t hp;
    int rc, rrc;

    memset(&pkt, 0, sizeof(pkt));
    pkt.payload = pay;
    pkt.payload_len = (uint32_t)n;
    hp.pkt = &pkt;
    hp.rev = 0;
    hp.bodies = s->bodies;
    if (first) {
        eq_create(s);
        assert_int_equal(s->p->post_create(NULL, NULL, s->st, &hp), FP_HOOK_OK);
        (void)s->ref_segment(s->ref_st, &pkt);
        eq_compare(s, step);
        return;
    }
    if (n == 0 && (s->p->flags & FP_PLUGIN_PAYLOAD_HOOKS))
        return; /* the cache does not call it */
    rc = s->p->pre_update(NULL, NULL, s->st, &hp);
    rrc = s->ref_segment(s->ref_st, &pkt);
    if (rc != (rrc == 2 ? FP_HOOK_FLUSH_REINSERT : FP_HOOK_OK))
        fail_msg("step %ld: pre_update %d, reference %d", step, rc, rrc);
    eq_compare(s, step);
    if (rc == FP_HOOK_FLUSH_REINSERT) { /* export (compared), then re-create */
        eq_create(s);
        assert_int_equal(s->p->post_create(NULL, NULL, s->st, &hp), FP_HOOK_OK);
        (void)s->ref_segment(s->ref_st, &pkt);
        eq_compare(s, step);
    }
}

/* n flows of 1-6 segments each; returns the records made (so a run that
 * parses nothing shows). */
static unsigned long eq_run(const char *name, long nflows)
{
    const fp_plugin_t *p = fp_plugin_find(name);
    bool rtsp = strcmp(name, "rtsp") == 0;
    eq_side_t s;
    unsigned long made = 0;
    long step = 0;
    eq_buf_t m;

    assert_non_null(p);
    memset(&s, 0, sizeof(s));
    s.p = p;
    s.st = malloc(p->state_size);
    eq_bodies(&s);
    if (rtsp) {
        assert_int_equal(sizeof(ref_rtsp_record_t), p->body_size);
        s.ref_zero = offsetof(ref_rtsp_state_t, r);
        s.ref_segment = eq_ref_rtsp_segment;
        s.ref_records = eq_ref_rtsp_records;
        s.ref_record = eq_ref_rtsp_record;
    } else {
        assert_int_equal(sizeof(ref_http_record_t), p->body_size);
        s.ref_zero = offsetof(ref_http_state_t, r);
        s.ref_segment = eq_ref_http_segment;
        s.ref_records = eq_ref_http_records;
        s.ref_record = eq_ref_http_record;
    }
    s.ref_st = malloc(EQ_REF_STATE);
    assert_non_null(s.st);
    assert_non_null(s.ref_st);
    /* The never-zeroed part starts as the same garbage on both sides. */
    memset(s.st, 'G', p->state_size);
    memset(s.ref_st, 'G', EQ_REF_STATE);
    for (long f = 0; f < nflows; f++) {
        uint32_t segs = 1 + eq_below(6);
        for (uint32_t k = 0; k < segs; k++, step++) {
            m.n = 0;
            eq_message(&m, rtsp);
            eq_mutate(&m);
            /* The payload in a block of exactly its size: ASan sees over-reads. */
            uint8_t *pay = m.n ? malloc(m.n) : NULL;
            if (m.n) {
                assert_non_null(pay);
                memcpy(pay, m.b, m.n);
            }
            eq_packet(&s, pay, m.n, k == 0, step);
            free(pay);
        }
        made += p->records(NULL, NULL, s.st);
    }
    free(s.st);
    free(s.ref_st);
    fp_body_pool_free(s.bodies);
    return made;
}

static void test_http_equivalence(void **state)
{
    (void)state;
    g_eq_rng = 0x9e3779b97f4a7c15ULL;
    unsigned long made = eq_run("http", 40000);
    assert_true(made > 4000); /* a fair share of the messages parse */
}

static void test_rtsp_equivalence(void **state)
{
    (void)state;
    g_eq_rng = 0x2545f4914f6cdd1dULL;
    unsigned long made = eq_run("rtsp", 20000);
    assert_true(made > 2000);
}

/*
 * Every message cut at every length: the request and response heads a
 * client and a server send, each header kind at each 16-byte phase, so
 * the one-pass reader's chunk and tail paths all meet every line end.
 */
static void test_http_equivalence_cuts(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        "GET /a HTTP/1.1\r\nHost: h.example\r\nUser-Agent: agent/1.0 (x; y)\r\n"
        "Referer: http://r.example/p?q=1\r\nAccept: */*\r\nHost\r\n: late\r\n\r\nbody",
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
        "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b\n=2\r\nSet-Cookie: c\r\n\r\n",
        "PROPFIND /dav HTTP/1.1\r\nX:\r\nReferer\r: r\r\nHost:x\r\nUser-Agent:\r\n\r\n",
        "HTTP/1.0 0404 x\r\nContent-Type:\r\n\r\n",
        "DESCRIBE rtsp://h/t RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: u\r\n\r\n",
        "RTSP/1.0 200 OK\nServer: s\nContent-Type: c\nx\n",
    };
    eq_side_t s;
    long step = 0;

    for (int pl = 0; pl < 2; pl++) {
        const fp_plugin_t *p = fp_plugin_find(pl ? "rtsp" : "http");
        memset(&s, 0, sizeof(s));
        s.p = p;
        s.st = malloc(p->state_size);
        eq_bodies(&s);
        s.ref_st = malloc(EQ_REF_STATE);
        assert_non_null(s.st);
        assert_non_null(s.ref_st);
        memset(s.st, 'G', p->state_size);
        memset(s.ref_st, 'G', EQ_REF_STATE);
        s.ref_zero = pl ? offsetof(ref_rtsp_state_t, r) : offsetof(ref_http_state_t, r);
        s.ref_segment = pl ? eq_ref_rtsp_segment : eq_ref_http_segment;
        s.ref_records = pl ? eq_ref_rtsp_records : eq_ref_http_records;
        s.ref_record = pl ? eq_ref_rtsp_record : eq_ref_http_record;
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
            for (size_t pad = 0; pad < 16; pad++) {
                /* pad bytes of a throw-away header shift every line's phase */
                eq_buf_t m;
                m.n = 0;
                const char *eol = strchr(msgs[i], '\n');
                eq_put(&m, msgs[i], (size_t)(eol - msgs[i]) + 1);
                eq_puts(&m, "P: ");
                for (size_t k = 0; k < pad; k++)
                    eq_puts(&m, "p");
                eq_puts(&m, eol[-1] == '\r' ? "\r\n" : "\n");
                eq_puts(&m, eol + 1);
                for (size_t cut = 0; cut <= m.n; cut++, step++) {
                    uint8_t *pay = cut ? malloc(cut) : NULL;
                    if (cut)
                        memcpy(pay, m.b, cut);
                    eq_packet(&s, pay, cut, true, step);
                    eq_packet(&s, pay, cut, false, step); /* the same again: a flush */
                    free(pay);
                }
            }
        }
        free(s.st);
        free(s.ref_st);
        fp_body_pool_free(s.bodies);
    }
}

/* The shared readers themselves, on the random messages: fp_hl_next in both
 * dialects with names copied, the status code and the method. */
static void test_httpline_equivalence(void **state)
{
    (void)state;
    eq_buf_t m;

    g_eq_rng = 0x1234567887654321ULL;
    for (long round = 0; round < 60000; round++) {
        m.n = 0;
        eq_message(&m, round & 1);
        eq_mutate(&m);
        uint8_t *buf = malloc(m.n ? m.n : 1);
        assert_non_null(buf);
        memcpy(buf, m.b, m.n);
        const uint8_t *end = buf + m.n;
        for (size_t start = 0; start < m.n && start < 40; start += 1 + eq_below(13)) {
            for (int crlf = 0; crlf < 2; crlf++) {
                fp_hl_walk_t w;
                ref_hl_walk_t rw;
                fp_hl_hdr_t h;
                ref_hl_hdr_t rh;
                int rc, rrc;
                fp_hl_walk_init(&w, buf + start, end, crlf);
                ref_hl_walk_init(&rw, buf + start, end, crlf);
                do {
                    rc = fp_hl_next(&w, &h);
                    rrc = ref_hl_next(&rw, &rh);
                    assert_int_equal(rc, rrc);
                    if (rc != FP_HL_HDR)
                        break;
                    assert_string_equal(h.name, rh.name);
                    assert_ptr_equal(h.nb, rh.nb);
                    assert_int_equal(h.nlen, rh.nlen);
                    assert_ptr_equal(h.line, rh.line);
                    assert_ptr_equal(h.vb, rh.vb);
                    assert_ptr_equal(h.ve, rh.ve);
                    assert_true(fp_hl_name_is(&h, h.name, strlen(h.name)));
                    if (crlf) /* the one-compare form agrees with the C-string one */
                        for (int k = 0; k < 3; k++) {
                            static const char *const lit[] = {"Host", "Server", "Set-Cookie"};
                            assert_int_equal(fp_hl_name_eq(&h, lit[k], strlen(lit[k])),
                                             fp_hl_name_is(&h, lit[k], strlen(lit[k])));
                        }
                } while (1);
            }
        }
        /* The status code and the method of whatever splits. */
        const uint8_t *sp1, *sp2, *rsp1, *rsp2;
        bool sp = fp_hl_split(buf, end, &sp1, &sp2);
        assert_int_equal(sp, ref_hl_split(buf, end, &rsp1, &rsp2));
        if (sp) {
            char num[REF_HL_NAME_CAP], a[16], b[16], scratch[REF_HL_NAME_CAP];
            assert_ptr_equal(sp1, rsp1);
            assert_ptr_equal(sp2, rsp2);
            ref_hl_copy(num, sizeof(num), sp1 + 1, sp2);
            assert_int_equal(fp_hl_status(sp1 + 1, sp2), ref_hl_atoi(num));
            ref_hl_copy(scratch, sizeof(scratch), buf, sp1);
            ref_hl_cut(b, sizeof(b), scratch);
            memset(a, 'x', sizeof(a));
            fp_hl_method(a, sizeof(a), buf, sp1);
            assert_memory_equal(a, b, sizeof(a));
        }
        free(buf);
    }
    /* Status codes the generator rarely makes. */
    static const char *const codes[] = {
        "2147483647", "2147483648", "4294967297", "-0",         "+200",
        " 1",         "\v3",        "999999999",  "0000000001", "12345678901234567890123",
        "-2147483649"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char num[REF_HL_NAME_CAP];
        const uint8_t *b = (const uint8_t *)codes[i], *e = b + strlen(codes[i]);
        ref_hl_copy(num, sizeof(num), b, e);
        assert_int_equal(fp_hl_status(b, e), ref_hl_atoi(num));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_exchange),        cmocka_unit_test(test_http_reinsert),
        cmocka_unit_test(test_http_detection),       cmocka_unit_test(test_http_quirks),
        cmocka_unit_test(test_http_truncated),       cmocka_unit_test(test_http_hostile),
        cmocka_unit_test(test_http_crlf_scan),       cmocka_unit_test(test_rtsp_exchange),
        cmocka_unit_test(test_rtsp_reinsert),        cmocka_unit_test(test_rtsp_quirks),
        cmocka_unit_test(test_rtsp_truncated),       cmocka_unit_test(test_rtsp_hostile),
        cmocka_unit_test(test_rtsp_reused_record),   cmocka_unit_test(test_http_equivalence),
        cmocka_unit_test(test_rtsp_equivalence),     cmocka_unit_test(test_http_equivalence_cuts),
        cmocka_unit_test(test_httpline_equivalence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
