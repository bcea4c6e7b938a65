/*
 * test_tcpframe.c - IPFIX over TCP stream framing (collector/listen/tcp.c,
 * RFC 7011 section 10.4): messages cut at their Length field whatever the
 * read boundaries, ipfixprobe's LZ4 framing recognised and decompressed, and
 * streams that cannot be framed refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/listen/tcp.h"
#include "lib/ipfix/lz4s.h"

typedef struct got_st {
    size_t n;
    size_t len[16];
    uint8_t first[16]; /* byte 16 of each message (our marker) */
} got_t;

static void on_msg(void *arg, const uint8_t *m, size_t len)
{
    got_t *g = arg;
    if (g->n < 16) {
        g->len[g->n] = len;
        g->first[g->n] = len > 16 ? m[16] : 0;
    }
    g->n++;
}

/* An IPFIX message of `len` bytes (header only plus filler), marked with `mark`. */
static size_t msg(uint8_t *p, size_t len, uint8_t mark)
{
    memset(p, 0, len);
    p[0] = 0;
    p[1] = 10;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    if (len > 16)
        p[16] = mark;
    return len;
}

static void test_split_anywhere(void **state)
{
    uint8_t s[2000];
    size_t n = 0;
    (void)state;
    n += msg(s + n, 16, 0); /* a header-only message is legal */
    n += msg(s + n, 1000, 1);
    n += msg(s + n, 300, 2);
    /* every chunk size from 1 byte to the whole stream */
    for (size_t chunk = 1; chunk <= n; chunk += chunk < 40 ? 1 : 97) {
        fc_tcpframe_t *f = fc_tcpframe_new();
        got_t g = {0};
        fk_err_t e;
        for (size_t off = 0; off < n; off += chunk) {
            size_t take = n - off < chunk ? n - off : chunk;
            assert_int_equal(fc_tcpframe_feed(f, s + off, take, on_msg, &g, &e), 0);
        }
        assert_int_equal(g.n, 3);
        assert_int_equal(g.len[0], 16);
        assert_int_equal(g.len[1], 1000);
        assert_int_equal(g.first[1], 1);
        assert_int_equal(g.len[2], 300);
        assert_int_equal(g.first[2], 2);
        assert_int_equal(fc_tcpframe_pending(f), 0);
        assert_false(fc_tcpframe_lz4(f));
        fc_tcpframe_free(f);
    }
}

static void test_pending(void **state)
{
    uint8_t s[200];
    fc_tcpframe_t *f = fc_tcpframe_new();
    got_t g = {0};
    fk_err_t e;
    (void)state;
    msg(s, 200, 7);
    assert_int_equal(fc_tcpframe_feed(f, s, 150, on_msg, &g, &e), 0);
    assert_int_equal(g.n, 0);
    assert_int_equal(fc_tcpframe_pending(f), 150); /* what a close now would lose */
    assert_int_equal(fc_tcpframe_feed(f, s + 150, 50, on_msg, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(fc_tcpframe_pending(f), 0);
    fc_tcpframe_free(f);
}

static void refused(const uint8_t *s, size_t n, const char *why)
{
    fc_tcpframe_t *f = fc_tcpframe_new();
    got_t g = {0};
    fk_err_t e = {{0}};
    assert_int_equal(fc_tcpframe_feed(f, s, n, on_msg, &g, &e), -1);
    if (!strstr(e.msg, why))
        fail_msg("got \"%s\", want \"%s\"", e.msg, why);
    /* broken stays broken, with the same reason */
    fk_err_t e2 = {{0}};
    assert_int_equal(fc_tcpframe_feed(f, s, n, on_msg, &g, &e2), -1);
    assert_string_equal(e.msg, e2.msg);
    fc_tcpframe_free(f);
}

static void test_refused(void **state)
{
    (void)state;
    static const uint8_t v9[] = {0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    static const uint8_t v5[] = {0, 5, 0, 1, 0, 0, 0, 0};
    static const uint8_t short_len[] = {0, 10, 0, 15, 0, 0, 0, 0};
    static const uint8_t junk[] = {'G', 'E', 'T', ' ', '/'};
    static const uint8_t tls[] = {22, 3, 1, 0, 42};
    refused(v9, sizeof(v9), "NetFlow v9 on TCP");
    refused(v5, sizeof(v5), "NetFlow v5 on TCP");
    refused(short_len, sizeof(short_len), "shorter than its 16-byte header");
    refused(junk, sizeof(junk), "not an IPFIX message");
    refused(tls, sizeof(tls), "TLS");
    /* a good message, then garbage: the good one is delivered first */
    uint8_t s[64];
    fc_tcpframe_t *f = fc_tcpframe_new();
    got_t g = {0};
    fk_err_t e;
    size_t n = msg(s, 32, 3);
    memcpy(s + n, junk, sizeof(junk));
    assert_int_equal(fc_tcpframe_feed(f, s, n + sizeof(junk), on_msg, &g, &e), -1);
    assert_int_equal(g.n, 1);
    fc_tcpframe_free(f);
}

static void test_lz4(void **state)
{
    fk_err_t e;
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(1458, 0, &e);
    fk_lz4s_out_t out;
    uint8_t m[1400];
    (void)state;
    assert_non_null(w);
    fk_lz4s_out_init(&out);
    for (int i = 0; i < 5; i++) {
        size_t len = msg(m, 200 + (size_t)i * 250, (uint8_t)(10 + i));
        assert_int_equal(fk_lz4s_write(w, m, len, &out, &e), 0);
    }
    for (size_t chunk = 1; chunk <= out.len; chunk = chunk * 3 + 1) {
        fc_tcpframe_t *f = fc_tcpframe_new();
        got_t g = {0};
        for (size_t off = 0; off < out.len; off += chunk) {
            size_t take = out.len - off < chunk ? out.len - off : chunk;
            assert_int_equal(fc_tcpframe_feed(f, out.data + off, take, on_msg, &g, &e), 0);
        }
        assert_true(fc_tcpframe_lz4(f));
        assert_int_equal(g.n, 5);
        for (int i = 0; i < 5; i++) {
            assert_int_equal(g.len[i], 200 + (size_t)i * 250);
            assert_int_equal(g.first[i], 10 + i);
        }
        fc_tcpframe_free(f);
    }
    /* a corrupt block breaks the stream */
    out.data[out.len - 3] ^= 0xff;
    out.data[20] ^= 0x55;
    fc_tcpframe_t *f = fc_tcpframe_new();
    got_t g = {0};
    int rc = fc_tcpframe_feed(f, out.data, out.len, on_msg, &g, &e);
    assert_true(rc == -1 || g.n < 5);
    fc_tcpframe_free(f);
    fk_lz4s_out_free(&out);
    fk_lz4s_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_anywhere),
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_lz4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
