/*
 * test_plugin_dnssd.c - the dnssd plugin, driven through the real packet
 * parser and flow cache with crafted mDNS messages: queries collected once
 * and "arpa" names skipped, SRV/HINFO/TXT merged by name, known answers of
 * queries ignored, the txt option with and without a whitelist file (and
 * init errors for a missing or garbage file), ipfixprobe's OPT quirk, the
 * fixed capacity, and hostile messages (loops, every truncation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#define SEC  1000000000ULL
#define MAXF 8

#include "tests/common/dnsbuild.h"

static fp_plugin_inst_t g_pi;
static size_t g_nout;
static unsigned g_nrec[MAXF];
static char g_q[MAXF][4096];
static char g_r[MAXF][4096];

/* Keep each exported flow's two strings as the CSV output prints them. */
static const fp_flow_t *collect(void *arg, fp_flow_t *flow)
{
    const void *st = fp_plugin_state(&g_pi, flow);
    (void)arg;

    assert_true(g_nout < MAXF);
    g_nrec[g_nout] = g_pi.p->records(g_pi.ctx, flow, st);
    g_q[g_nout][0] = g_r[g_nout][0] = '\0';
    if (g_nrec[g_nout]) {
        const void *rec = g_pi.p->record(g_pi.ctx, flow, st, 0);
        for (size_t i = 0; i < g_pi.p->nfields; i++) {
            fk_buf_t b;
            char *out = i == 0 ? g_q[g_nout] : g_r[g_nout];
            assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
            fk_field_text(&b, &g_pi.p->fields[i], rec);
            assert_true(b.len < sizeof(g_q[0]));
            memcpy(out, b.data, b.len);
            out[b.len] = '\0';
            fk_buf_free(&b);
        }
    }
    g_nout++;
    return NULL;
}

static int init_plugin(const char *arg, fk_err_t *e)
{
    fk_opts_t o;

    memset(&g_pi, 0, sizeof(g_pi));
    g_pi.p = fp_plugin_find("dnssd");
    assert_non_null(g_pi.p);
    assert_int_equal(g_pi.p->abi, FP_PLUGIN_ABI);
    assert_int_equal(fk_opts_parse(arg, &o, e), 0);
    int rc = g_pi.p->init(&g_pi.ctx, &o, e);
    fk_opts_free(&o);
    return rc;
}

static fp_cache_t *start(const char *arg)
{
    fp_cache_cfg_t cfg;
    fk_err_t e;

    assert_int_equal(init_plugin(arg, &e), 0);
    g_nout = 0;
    fp_cache_cfg_default(&cfg);
    fp_cache_t *c = fp_cache_new(&cfg, &g_pi, 1, collect, NULL, &e);
    assert_non_null(c);
    return c;
}

static void finish(fp_cache_t *c)
{
    fp_cache_flush(c);
    fp_cache_free(c);
    g_pi.p->fini(g_pi.ctx);
}

/* Send mDNS messages on one flow 10.0.0.1:5353 -> 10.0.0.2:5353. */
static void mdns(fp_cache_t *c, const dmsg_t *m, long trunc, uint64_t t)
{
    d_send(c, 17, 0, 5353, 5353, m->b, m->n, trunc, t);
}

/* A query: three names (one twice, one reverse) and a known answer. */
static void build_query(dmsg_t *m)
{
    d_hdr(m, 0, 0x0000, 4, 1, 0, 0);
    d_question(m, "_http._tcp.local", 12);
    d_question(m, "_http._tcp.local", 12);
    d_question(m, "1.0.0.10.in-addr.arpa", 12);
    d_question(m, "_ipp._tcp.local", 12);
    /* a known answer (RFC 6762 7.1): not an advertisement */
    d_name(m, "old._ipp._tcp.local");
    d_rrfix(m, 33, 1, 120, 8);
    d_raw(m, "\0\0\0\0\x02\x77\xC0\x0C", 8);
}

/* A response: PTR, SRV, TXT, HINFO, and a second TXT in the additional section. */
static void build_response(dmsg_t *m)
{
    d_hdr(m, 0, 0x8400, 0, 4, 0, 1);
    d_name(m, "_http._tcp.local"); /* offset 12: "_http" 12, "_tcp" 18, "local" 23 */
    d_rrfix(m, 12, 1, 4500, 6);
    d_raw(m, "\x03web\xC0\x0C", 6); /* web._http._tcp.local at offset 40 */
    d_ptr(m, 40);
    d_rrfix(m, 33, 0x8001, 120, 13);
    d_raw(m, "\0\0\0\0\0\x50\x04host\xC0\x17", 13); /* port 80, host.local */
    d_ptr(m, 40);
    d_rrfix(m, 16, 0x8001, 4500, 11);
    d_raw(m, "\x06path=/\x03v=1", 11);
    d_name(m, "host.local");
    d_rrfix(m, 13, 0x8001, 120, 10);
    d_raw(m, "\x03X86\x05LINUX", 10);
    d_ptr(m, 40);
    d_rrfix(m, 16, 0x8001, 4500, 8);
    d_raw(m,
          "\x07"
          "extra=1",
          8);
}

static void test_dnssd_collect(void **state)
{
    dmsg_t q, r;
    (void)state;

    build_query(&q);
    build_response(&r);
    fp_cache_t *c = start("dnssd");
    mdns(c, &q, -1, 1 * SEC);
    mdns(c, &r, -1, 2 * SEC);
    mdns(c, &q, -1, 3 * SEC); /* nothing new */
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(g_q[0], "_http._tcp.local;_ipp._tcp.local;");
    /* without txt, TXT records still name a service but keep no strings */
    assert_string_equal(g_r[0], "web._http._tcp.local;80;host.local;;;host.local;-1;;X86:LINUX;;");
}

static void test_dnssd_txt_all(void **state)
{
    dmsg_t r;
    (void)state;

    build_response(&r);
    fp_cache_t *c = start("dnssd;txt");
    mdns(c, &r, -1, 1 * SEC);
    finish(c);

    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(g_q[0], "");
    /* strings each with ':'; an existing name gets one more ':' (ipfixprobe) */
    assert_string_equal(
        g_r[0],
        "web._http._tcp.local;80;host.local;;path=/:v=1::extra=1::;host.local;-1;;X86:LINUX;;");

    /* TXT first: the entry is created with the strings, port -1 until SRV */
    dmsg_t t;
    d_hdr(&t, 0, 0x8400, 0, 2, 0, 0);
    d_name(&t, "a._x._tcp.local");
    d_rrfix(&t, 16, 1, 1, 4);
    d_raw(&t, "\x03k=v", 4);
    d_ptr(&t, 12);
    d_rrfix(&t, 16, 1, 1, 4);
    d_raw(&t, "\x03k=v", 4); /* already there: not added again */
    c = start("dnssd;t");
    mdns(c, &t, -1, 1 * SEC);
    finish(c);
    assert_string_equal(g_r[0], "a._x._tcp.local;-1;;;k=v:;");
}

static char g_path[64];

static const char *write_file(const void *text, size_t n)
{
    strcpy(g_path, "/tmp/fk-dnssd-XXXXXX");
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return g_path;
}

static void test_dnssd_whitelist(void **state)
{
    dmsg_t r;
    char arg[128];
    (void)state;

    build_response(&r);
    const char *wl = "_ipp._tcp.local,note\r\n\n_http._tcp.local,path,other\n";
    snprintf(arg, sizeof(arg), "dnssd;txt=%s", write_file(wl, strlen(wl)));
    fp_cache_t *c = start(arg);
    mdns(c, &r, -1, 1 * SEC);
    finish(c);
    unlink(g_path);
    /* only the listed keys of the listed service; "extra" adds nothing */
    assert_string_equal(g_r[0],
                        "web._http._tcp.local;80;host.local;;path=/::;host.local;-1;;X86:LINUX;;");

    /* a service not listed keeps no strings */
    wl = "_ipp._tcp.local,path";
    snprintf(arg, sizeof(arg), "dnssd;txt=%s", write_file(wl, strlen(wl)));
    c = start(arg);
    mdns(c, &r, -1, 1 * SEC);
    finish(c);
    unlink(g_path);
    assert_string_equal(g_r[0], "web._http._tcp.local;80;host.local;;;host.local;-1;;X86:LINUX;;");
}

static void test_dnssd_init_errors(void **state)
{
    fk_err_t e;
    char arg[128];
    (void)state;

    assert_int_equal(init_plugin("dnssd;txt=/nonexistent/fk-whitelist.csv", &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/fk-whitelist.csv"));
    assert_null(g_pi.ctx);

    static const uint8_t bin[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0};
    snprintf(arg, sizeof(arg), "dnssd;txt=%s", write_file(bin, sizeof(bin)));
    assert_int_equal(init_plugin(arg, &e), -1);
    assert_non_null(strstr(e.msg, "control byte"));
    unlink(g_path);

    snprintf(arg, sizeof(arg), "dnssd;txt=%s", write_file(",path\n", 6));
    assert_int_equal(init_plugin(arg, &e), -1);
    assert_non_null(strstr(e.msg, "line 1"));
    unlink(g_path);

    assert_int_equal(init_plugin("dnssd;bogus", &e), -1);
    assert_non_null(strstr(e.msg, "bogus"));

    /* an empty file is a whitelist of nothing */
    snprintf(arg, sizeof(arg), "dnssd;txt=%s", write_file("", 0));
    assert_int_equal(init_plugin(arg, &e), 0);
    g_pi.p->fini(g_pi.ctx);
    unlink(g_path);
}

static void test_dnssd_opt_quirk(void **state)
{
    dmsg_t r;
    (void)state;

    /* additional: OPT, then an SRV ipfixprobe never reaches (it looks for
     * the next record 10 octets early, inside OPT's fixed part) */
    d_hdr(&r, 0, 0x8400, 0, 1, 0, 2);
    d_name(&r, "a._x._tcp.local");
    d_rrfix(&r, 33, 1, 1, 8);
    d_raw(&r, "\0\0\0\0\0\x01\xC0\x0C", 8);
    d_opt(&r, 1440, 0);
    d_name(&r, "b._x._tcp.local");
    d_rrfix(&r, 33, 1, 1, 8);
    d_raw(&r, "\0\0\0\0\0\x02\xC0\x0C", 8);
    fp_cache_t *c = start("dnssd");
    mdns(c, &r, -1, 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(g_r[0], "a._x._tcp.local;1;a._x._tcp.local;;;");
}

static void test_dnssd_damaged(void **state)
{
    dmsg_t bad, q, r;
    (void)state;

    /* a question that loops on itself */
    d_hdr(&bad, 0, 0, 1, 0, 0, 0);
    d_ptr(&bad, 12);
    d_u16(&bad, 12);
    d_u16(&bad, 1);
    fp_cache_t *c = start("dnssd");
    mdns(c, &bad, -1, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 0);

    /* once the flow has a record, a damaged message keeps what it added
     * before the damage: here its first question */
    build_query(&q);
    d_hdr(&r, 0, 0, 2, 0, 0, 0);
    d_question(&r, "_new._tcp.local", 12);
    d_ptr(&r, (uint16_t)r.n);
    d_u16(&r, 12);
    d_u16(&r, 1);
    c = start("dnssd");
    mdns(c, &bad, -1, 1 * SEC);
    mdns(c, &q, -1, 2 * SEC);
    mdns(c, &r, -1, 3 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(g_q[0], "_http._tcp.local;_ipp._tcp.local;_new._tcp.local;");

    /* other ports are not read */
    c = start("dnssd");
    d_send(c, 17, 0, 5300, 53, q.b, q.n, -1, 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 0);
}

static void test_dnssd_capacity(void **state)
{
    dmsg_t r;
    char name[400];
    (void)state;

    /* 20 services: the first 16 are kept */
    d_hdr(&r, 0, 0x8400, 0, 20, 0, 0);
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "s%02d._x._tcp.local", i);
        d_name(&r, name);
        d_rrfix(&r, 33, 1, 1, 7);
        d_raw(&r, "\0\0\0\0\0\x07\0", 7);
    }
    fp_cache_t *c = start("dnssd");
    mdns(c, &r, -1, 1 * SEC);
    finish(c);
    assert_non_null(strstr(g_r[0], "s15._x._tcp.local;7;;;;"));
    assert_null(strstr(g_r[0], "s16."));

    /* a 319-octet name is kept to 255 octets */
    for (int i = 0; i < 5; i++) {
        memset(name + 64 * i, 'a' + i, 63);
        name[64 * i + 63] = i < 4 ? '.' : '\0';
    }
    d_hdr(&r, 0, 0, 1, 0, 0, 0);
    d_question(&r, name, 12);
    c = start("dnssd");
    mdns(c, &r, -1, 1 * SEC);
    finish(c);
    assert_int_equal(strlen(g_q[0]), 255 + 1);
    assert_memory_equal(g_q[0], name, 255);

    /* many long queries: the output holds whole names only */
    c = start("dnssd");
    for (int k = 0; k < 8; k++) {
        d_hdr(&r, 0, 0, 1, 0, 0, 0);
        name[0] = (char)('a' + k);
        d_question(&r, name, 12);
        mdns(c, &r, -1, (uint64_t)(1 + k) * SEC);
    }
    finish(c);
    size_t n = strlen(g_q[0]);
    assert_true(n > 0 && n < 512);
    assert_int_equal(n % 256, 0); /* whole "name;" entries of 256 octets */
}

/* Every cut of a response: no read past the capture, sane strings. */
static void test_dnssd_truncation_every_length(void **state)
{
    dmsg_t r;
    (void)state;

    build_response(&r);
    for (long cut = 0; cut <= (long)r.n; cut++) {
        fp_cache_t *c = start("dnssd;txt");
        mdns(c, &r, cut, 1 * SEC);
        dmsg_t s = r;
        s.n = (size_t)cut;
        mdns(c, &s, -1, 2 * SEC);
        finish(c);
        assert_int_equal(g_nout, 1);
        assert_true(g_nrec[0] <= 1);
        assert_true(strlen(g_r[0]) < 2048);
        if (cut < 12)
            assert_int_equal(g_nrec[0], 0);
    }
}

/*
 * A flow in a record an earlier mDNS flow filled (the record freed last is
 * the next one taken): only dnssd's flag and counts are zeroed for it, so it
 * must read exactly as in a fresh cache -- also when its first message is
 * unreadable and empties the counts again.
 */
static void run_reused(const dmsg_t *bad, const dmsg_t *q, bool dirty)
{
    dmsg_t r;

    build_response(&r);
    fp_cache_t *c = start("dnssd;txt");
    fp_cache_poison(c, 0xff);
    if (dirty) {
        mdns(c, &r, -1, 1 * SEC); /* services, TXT strings, queries: a full arena */
        mdns(c, q, -1, 1 * SEC);
        fp_cache_flush(c);
        assert_int_equal(g_nout, 1);
        g_nout = 0;
    }
    /* another flow (client port 6000): the record the first one left */
    if (bad)
        d_send(c, 17, 0, 6000, 5353, bad->b, bad->n, -1, 2 * SEC);
    d_send(c, 17, 0, 6000, 5353, q->b, q->n, -1, 3 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
}

static void test_dnssd_reused_record(void **state)
{
    dmsg_t bad, q;
    char fq[sizeof(g_q[0])], fr[sizeof(g_r[0])];
    (void)state;

    d_hdr(&bad, 0, 0, 2, 0, 0, 0); /* a readable question, then a looping one */
    d_question(&bad, "_gone._tcp.local", 12);
    d_ptr(&bad, (uint16_t)bad.n);
    d_u16(&bad, 12);
    d_u16(&bad, 1);
    d_hdr(&q, 0, 0, 1, 0, 0, 0);
    d_question(&q, "_ipp._tcp.local", 12);

    for (int first_bad = 0; first_bad < 2; first_bad++) {
        run_reused(first_bad ? &bad : NULL, &q, false);
        assert_int_equal(g_nrec[0], 1);
        assert_string_equal(g_q[0], "_ipp._tcp.local;");
        assert_string_equal(g_r[0], "");
        memcpy(fq, g_q[0], sizeof(fq));
        memcpy(fr, g_r[0], sizeof(fr));

        run_reused(first_bad ? &bad : NULL, &q, true);
        assert_int_equal(g_nrec[0], 1);
        assert_string_equal(g_q[0], fq);
        assert_string_equal(g_r[0], fr);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dnssd_collect),
        cmocka_unit_test(test_dnssd_txt_all),
        cmocka_unit_test(test_dnssd_whitelist),
        cmocka_unit_test(test_dnssd_init_errors),
        cmocka_unit_test(test_dnssd_opt_quirk),
        cmocka_unit_test(test_dnssd_damaged),
        cmocka_unit_test(test_dnssd_capacity),
        cmocka_unit_test(test_dnssd_truncation_every_length),
        cmocka_unit_test(test_dnssd_reused_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
