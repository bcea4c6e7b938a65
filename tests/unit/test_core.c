/*
 * test_core.c - lib/core: the bounded read cursor, plugin option strings, the
 * output buffer's formatters, the field-table value writers and UniRec order.
 */
#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/cursor.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/core/spsc.h"

/* ---- fk_cursor --------------------------------------------------------- */

/* A heap copy of exactly n bytes, so ASan reports a getter reading past it. */
static uint8_t *exact(const void *p, size_t n)
{
    uint8_t *d = malloc(n);
    assert_non_null(d);
    memcpy(d, p, n);
    return d;
}

static const uint8_t SEQ[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

static void test_cursor_basics(void **state)
{
    (void)state;
    uint8_t *b = exact(SEQ, 8);
    fk_cursor_t c = fk_cur_make(b, 8);

    assert_int_equal(fk_cur_left(&c), 8);
    assert_true(fk_cur_has(&c, 0));
    assert_true(fk_cur_has(&c, 8));
    assert_false(fk_cur_has(&c, 9));
    assert_false(fk_cur_has(&c, SIZE_MAX));

    assert_false(fk_cur_skip(&c, 9));
    assert_int_equal(fk_cur_left(&c), 8);
    assert_true(fk_cur_skip(&c, 0));
    assert_true(fk_cur_skip(&c, 3));
    assert_ptr_equal(c.p, b + 3);
    assert_true(fk_cur_skip(&c, 5));
    assert_int_equal(fk_cur_left(&c), 0);
    assert_false(fk_cur_skip(&c, 1));
    assert_true(fk_cur_skip(&c, 0));
    assert_ptr_equal(c.p, c.end);

    /* An empty cursor refuses every read. */
    uint8_t u8 = 0xee;
    uint16_t u16 = 0xeeee;
    uint32_t u32 = 0xeeeeeeee;
    uint64_t u64 = 0xee;
    assert_false(fk_cur_u8(&c, &u8));
    assert_false(fk_cur_be16(&c, &u16));
    assert_false(fk_cur_le16(&c, &u16));
    assert_false(fk_cur_be32(&c, &u32));
    assert_false(fk_cur_le32(&c, &u32));
    assert_false(fk_cur_be64(&c, &u64));
    /* A failed getter stores 0 (never garbage); a failed peek writes nothing. */
    assert_int_equal(u8, 0);
    assert_int_equal(u16, 0);
    assert_int_equal(u32, 0);
    assert_int_equal(u64, 0);
    u8 = 0xee;
    u16 = 0xeeee;
    assert_false(fk_cur_peek_u8(&c, 0, &u8));
    assert_false(fk_cur_peek_be16(&c, 0, &u16));
    assert_int_equal(u8, 0xee);
    assert_int_equal(u16, 0xeeee);
    free(b);
}

/* Each getter at exactly its size succeeds, one byte short fails and moves nothing. */
static void test_cursor_getters_at_boundary(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 8; n++) {
        uint8_t *b = exact(SEQ, n);
        fk_cursor_t c = fk_cur_make(b, n);
        uint8_t u8 = 0xee;
        uint16_t u16 = 0xeeee;
        uint32_t u32 = 0xeeeeeeee;
        uint64_t u64 = 0xee;
        fk_cursor_t t;

        t = c;
        assert_int_equal(fk_cur_u8(&t, &u8), n >= 1);
        assert_ptr_equal(t.p, n >= 1 ? b + 1 : b);
        assert_int_equal(u8, n >= 1 ? 0x01 : 0);

        t = c;
        assert_int_equal(fk_cur_be16(&t, &u16), n >= 2);
        assert_ptr_equal(t.p, n >= 2 ? b + 2 : b);
        assert_int_equal(u16, n >= 2 ? 0x0102 : 0);
        u16 = 0xeeee;
        t = c;
        assert_int_equal(fk_cur_le16(&t, &u16), n >= 2);
        assert_int_equal(u16, n >= 2 ? 0x0201 : 0);

        t = c;
        assert_int_equal(fk_cur_be32(&t, &u32), n >= 4);
        assert_ptr_equal(t.p, n >= 4 ? b + 4 : b);
        assert_int_equal(u32, n >= 4 ? 0x01020304 : 0);
        u32 = 0xeeeeeeee;
        t = c;
        assert_int_equal(fk_cur_le32(&t, &u32), n >= 4);
        assert_int_equal(u32, n >= 4 ? 0x04030201 : 0);

        t = c;
        assert_int_equal(fk_cur_be64(&t, &u64), n >= 8);
        assert_ptr_equal(t.p, n >= 8 ? b + 8 : b);
        assert_int_equal(u64, n >= 8 ? 0x0102030405060708ULL : 0);

        uint8_t out[8] = {0};
        t = c;
        assert_int_equal(fk_cur_copy(&t, out, 5), n >= 5);
        assert_ptr_equal(t.p, n >= 5 ? b + 5 : b);
        if (n >= 5)
            assert_memory_equal(out, SEQ, 5);
        else
            assert_int_equal(out[0], 0);
        free(b);
    }
}

static void test_cursor_be64_high_bit(void **state)
{
    (void)state;
    static const uint8_t ff[8] = {0xff, 0xfe, 0xfd, 0xfc, 0x80, 0x00, 0x00, 0x01};
    uint8_t *b = exact(ff, 8);
    fk_cursor_t c = fk_cur_make(b, 8);
    uint64_t v;
    assert_true(fk_cur_be64(&c, &v));
    assert_int_equal(v, 0xfffefdfc80000001ULL);
    free(b);
}

static void test_cursor_sub(void **state)
{
    (void)state;
    uint8_t *b = exact(SEQ, 8);
    fk_cursor_t c = fk_cur_make(b, 8), s = {NULL, NULL};
    uint32_t v;

    assert_false(fk_cur_sub(&c, 9, &s));
    assert_null(s.p);
    assert_int_equal(fk_cur_left(&c), 8);

    assert_true(fk_cur_sub(&c, 3, &s));
    assert_ptr_equal(s.p, b);
    assert_int_equal(fk_cur_left(&s), 3);
    assert_ptr_equal(c.p, b + 3);
    /* The sub-cursor cannot read into its parent's remaining bytes. */
    assert_false(fk_cur_be32(&s, &v));
    assert_true(fk_cur_skip(&s, 3));
    assert_false(fk_cur_skip(&s, 1));

    assert_true(fk_cur_sub(&c, 0, &s));
    assert_int_equal(fk_cur_left(&s), 0);
    assert_true(fk_cur_sub(&c, 5, &s));
    assert_int_equal(fk_cur_left(&c), 0);
    assert_true(fk_cur_be32(&s, &v));
    assert_int_equal(v, 0x04050607);
    free(b);
}

static void test_cursor_peeks(void **state)
{
    (void)state;
    uint8_t *b = exact(SEQ, 4);
    fk_cursor_t c = fk_cur_make(b, 4);
    uint8_t u8 = 0;
    uint16_t u16 = 0;

    assert_true(fk_cur_peek_u8(&c, 0, &u8));
    assert_int_equal(u8, 1);
    assert_true(fk_cur_peek_u8(&c, 3, &u8));
    assert_int_equal(u8, 4);
    assert_false(fk_cur_peek_u8(&c, 4, &u8));
    assert_false(fk_cur_peek_u8(&c, SIZE_MAX, &u8));
    assert_int_equal(u8, 4);

    assert_true(fk_cur_peek_be16(&c, 0, &u16));
    assert_int_equal(u16, 0x0102);
    assert_true(fk_cur_peek_be16(&c, 2, &u16));
    assert_int_equal(u16, 0x0304);
    assert_false(fk_cur_peek_be16(&c, 3, &u16));
    assert_false(fk_cur_peek_be16(&c, 4, &u16));
    assert_false(fk_cur_peek_be16(&c, SIZE_MAX, &u16));
    assert_false(fk_cur_peek_be16(&c, SIZE_MAX - 1, &u16));
    assert_int_equal(u16, 0x0304);

    /* Peeks never move the cursor. */
    assert_ptr_equal(c.p, b);

    fk_cursor_t one = fk_cur_make(b, 1);
    assert_false(fk_cur_peek_be16(&one, 0, &u16));
    free(b);
}

static void test_cursor_loads(void **state)
{
    (void)state;
    static const uint8_t v[4] = {0xde, 0xad, 0xbe, 0xef};
    assert_int_equal(fk_load_be16(v), 0xdead);
    assert_int_equal(fk_load_le16(v), 0xadde);
    assert_int_equal(fk_load_be32(v), 0xdeadbeef);
    assert_int_equal(fk_load_le32(v), 0xefbeadde);
}

/* ---- fk_opts ----------------------------------------------------------- */

static const fk_optspec_t SPEC[] = {
    {"s", "size", "EXPONENT", "cache size as a power of two"},
    {"f", "force", NULL, "overwrite existing files"},
    {NULL, "filter", "EXPR", "a BPF expression"},
    {NULL, NULL, NULL, NULL},
};
static const fk_optspec_t NO_OPTS[] = {{NULL, NULL, NULL, NULL}};

static void test_opts_name_only(void **state)
{
    (void)state;
    fk_opts_t o;
    fk_err_t e = {{0}};

    assert_int_equal(fk_opts_parse("cache", &o, &e), 0);
    assert_string_equal(o.name, "cache");
    assert_int_equal(o.n, 0);
    fk_opts_free(&o);
    assert_null(o.buf);
    fk_opts_free(&o); /* twice is harmless */

    /* A trailing ';' or only empty tokens leave no options either. */
    assert_int_equal(fk_opts_parse("cache;", &o, &e), 0);
    assert_string_equal(o.name, "cache");
    assert_int_equal(o.n, 0);
    fk_opts_free(&o);
    assert_int_equal(fk_opts_parse("cache;;;", &o, &e), 0);
    assert_int_equal(o.n, 0);
    fk_opts_free(&o);
}

static void test_opts_empty_name(void **state)
{
    (void)state;
    fk_opts_t o;
    fk_err_t e = {{0}};

    assert_int_equal(fk_opts_parse("", &o, &e), -1);
    assert_non_null(strstr(e.msg, "the name is empty"));
    assert_null(o.buf);
    assert_int_equal(fk_opts_parse(";s=1", &o, &e), -1);
    assert_non_null(strstr(e.msg, "';s=1'"));
    assert_int_equal(fk_opts_parse(NULL, &o, &e), -1);
    assert_non_null(strstr(e.msg, "missing"));
    fk_opts_free(&o);
}

static void test_opts_tokens(void **state)
{
    (void)state;
    static const char arg[] = "pcap;;file=a.pcap;;;force;s=";
    fk_opts_t o;
    fk_err_t e = {{0}};

    assert_int_equal(fk_opts_parse(arg, &o, &e), 0);
    assert_string_equal(arg, "pcap;;file=a.pcap;;;force;s="); /* input untouched */
    assert_string_equal(o.name, "pcap");
    assert_int_equal(o.n, 3);
    assert_string_equal(o.kv[0].key, "file");
    assert_string_equal(o.kv[0].value, "a.pcap");
    assert_string_equal(o.kv[1].key, "force");
    assert_null(o.kv[1].value);
    assert_string_equal(o.kv[2].key, "s");
    assert_string_equal(o.kv[2].value, ""); /* present but empty, unlike a flag */
    fk_opts_free(&o);

    /* Only the first '=' splits: the value keeps the rest. */
    assert_int_equal(fk_opts_parse("pcap;filter=a=b==c;=v", &o, &e), 0);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.kv[0].key, "filter");
    assert_string_equal(o.kv[0].value, "a=b==c");
    assert_string_equal(o.kv[1].key, "");
    assert_string_equal(o.kv[1].value, "v");
    fk_opts_free(&o);
}

static void test_opts_too_many(void **state)
{
    (void)state;
    char arg[512] = "p";
    fk_opts_t o;
    fk_err_t e = {{0}};

    for (int i = 0; i < FK_OPTS_MAX; i++)
        snprintf(arg + strlen(arg), sizeof(arg) - strlen(arg), ";k%d=%d", i, i);
    assert_int_equal(fk_opts_parse(arg, &o, &e), 0);
    assert_int_equal(o.n, FK_OPTS_MAX);
    assert_string_equal(o.kv[FK_OPTS_MAX - 1].key, "k31");
    fk_opts_free(&o);

    strcat(arg, ";one-more");
    assert_int_equal(fk_opts_parse(arg, &o, &e), -1);
    assert_non_null(strstr(e.msg, "more than 32 options"));
    assert_null(o.buf);
}

static int lookup1(const char *arg, const fk_optspec_t *spec, fk_err_t *e)
{
    fk_opts_t o;
    assert_int_equal(fk_opts_parse(arg, &o, e), 0);
    size_t n = o.n;
    int k = n == 1 ? fk_opts_lookup(&o, 0, spec, o.name, e) : -2;
    fk_opts_free(&o);
    assert_int_equal(n, 1);
    return k;
}

static void test_opts_lookup(void **state)
{
    (void)state;
    fk_err_t e = {{0}};

    assert_int_equal(fk_opts_match(SPEC, "s"), 0);
    assert_int_equal(fk_opts_match(SPEC, "size"), 0);
    assert_int_equal(fk_opts_match(SPEC, "force"), 1);
    assert_int_equal(fk_opts_match(SPEC, "filter"), 2);
    assert_int_equal(fk_opts_match(SPEC, "Size"), -1);
    assert_int_equal(fk_opts_match(SPEC, ""), -1);
    assert_int_equal(fk_opts_match(NULL, "s"), -1);

    assert_int_equal(lookup1("cache;s=20", SPEC, &e), 0);
    assert_int_equal(lookup1("cache;size=20", SPEC, &e), 0);
    assert_int_equal(lookup1("cache;f", SPEC, &e), 1);
    assert_int_equal(lookup1("cache;force", SPEC, &e), 1);
    assert_int_equal(lookup1("cache;filter=tcp port 80", SPEC, &e), 2);

    /* Unknown: the message names the plugin, the key, and every accepted key. */
    assert_int_equal(lookup1("cache;colour=red", SPEC, &e), -1);
    assert_string_equal(e.msg, "cache: unknown option 'colour'; expected one of: s|size, f|force, "
                               "filter (see -h cache)");
    assert_int_equal(lookup1("raw;x", NO_OPTS, &e), -1);
    assert_string_equal(e.msg, "raw: unknown option 'x' (it takes no options)");

    /* A flag given a value; a key missing its value. */
    assert_int_equal(lookup1("cache;force=yes", SPEC, &e), -1);
    assert_string_equal(e.msg, "cache: option 'force' is a flag and takes no value (got 'yes')");
    assert_int_equal(lookup1("cache;f=", SPEC, &e), -1);
    assert_non_null(strstr(e.msg, "is a flag"));
    assert_int_equal(lookup1("cache;size", SPEC, &e), -1);
    assert_string_equal(e.msg, "cache: option 'size' needs a value: size=EXPONENT");
    /* An empty value is a value; fk_opts_uint then rejects it. */
    assert_int_equal(lookup1("cache;s=", SPEC, &e), 0);
}

/* The list of accepted keys is cut to fit, never overflowing its buffer. */
static void test_opts_lookup_long_spec(void **state)
{
    (void)state;
    enum { N = 40 };
    static char names[N][24];
    static fk_optspec_t spec[N + 1];
    fk_err_t e = {{0}};

    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "a-rather-long-key-%02d", i);
        spec[i] = (fk_optspec_t){NULL, names[i], "X", "help"};
    }
    spec[N] = (fk_optspec_t){NULL, NULL, NULL, NULL};
    assert_int_equal(lookup1("p;nope=1", spec, &e), -1);
    assert_non_null(strstr(e.msg, "unknown option 'nope'"));
    assert_non_null(strstr(e.msg, "a-rather-long-key-00"));
    assert_true(strlen(e.msg) < sizeof(e.msg));
}

static void test_opts_uint(void **state)
{
    (void)state;
    fk_err_t e = {{0}};
    uint64_t v;

    assert_int_equal(fk_opts_uint("k", "0", 0, 10, &v, &e), 0);
    assert_int_equal(v, 0);
    assert_int_equal(fk_opts_uint("k", "10", 0, 10, &v, &e), 0);
    assert_int_equal(v, 10);
    assert_int_equal(fk_opts_uint("k", "007", 0, 10, &v, &e), 0);
    assert_int_equal(v, 7);
    assert_int_equal(fk_opts_uint("k", "18446744073709551615", 0, UINT64_MAX, &v, &e), 0);
    assert_int_equal(v, UINT64_MAX);

    static const struct {
        const char *value;
        uint64_t min, max;
    } bad[] = {
        {"11", 0, 10},
        {"0", 1, 10},
        {"18446744073709551616", 0, UINT64_MAX}, /* overflows 64 bits */
        {"99999999999999999999999", 0, UINT64_MAX},
        {"-1", 0, UINT64_MAX},
        {"-0", 0, 10},
        {"+1", 0, 10},
        {"12abc", 0, 1000},
        {"0x10", 0, 1000},
        {"1e3", 0, 10000},
        {"1.5", 0, 10},
        {"", 0, 10},
        {"1 ", 0, 10},
        {" 1", 0, 10},          /* not a decimal number: leading blank */
        {" -1", 0, UINT64_MAX}, /* strtoull would negate this to UINT64_MAX */
        {"\t-5", 0, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 12345;
        memset(e.msg, 0, sizeof(e.msg));
        if (fk_opts_uint("k", bad[i].value, bad[i].min, bad[i].max, &v, &e) != -1)
            fail_msg("'%s' accepted as %llu", bad[i].value, (unsigned long long)v);
        assert_int_equal(v, 12345);
        assert_non_null(strstr(e.msg, "option 'k': expected a number in ["));
    }
    assert_int_equal(fk_opts_uint("size", "12abc", 4, 30, &v, &e), -1);
    assert_string_equal(e.msg, "option 'size': expected a number in [4, 30], got '12abc'");
    assert_int_equal(fk_opts_uint("size", NULL, 4, 30, &v, &e), -1);
    assert_string_equal(e.msg, "option 'size': expected a number in [4, 30], got ''");
}

static void test_opts_bool(void **state)
{
    (void)state;
    static const char *yes[] = {"true", "TRUE", "Yes", "on", "1"};
    static const char *no[] = {"false", "False", "NO", "off", "0"};
    static const char *bad[] = {"", "maybe", "2", "tru", "truee", "on ", "01"};
    fk_err_t e = {{0}};
    bool b;

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        assert_int_equal(fk_opts_bool("k", yes[i], &b, &e), 0);
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        assert_int_equal(fk_opts_bool("k", no[i], &b, &e), 0);
        assert_false(b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = true;
        assert_int_equal(fk_opts_bool("k", bad[i], &b, &e), -1);
        assert_true(b);
    }
    assert_int_equal(fk_opts_bool("split", "maybe", &b, &e), -1);
    assert_string_equal(e.msg, "option 'split': expected true or false, got 'maybe'");
    assert_int_equal(fk_opts_bool("split", NULL, &b, &e), -1);
    assert_string_equal(e.msg, "option 'split': expected true or false, got ''");
}

static void test_opts_help(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fk_opts_help(f, SPEC);
    fclose(f);
    assert_non_null(strstr(text, "    s, size=EXPONENT"));
    assert_non_null(strstr(text, "cache size as a power of two\n"));
    assert_non_null(strstr(text, "    f, force "));
    assert_non_null(strstr(text, "    filter=EXPR "));
    free(text);
}

/* ---- fk_buf ------------------------------------------------------------ */

/*
 * Compare what a buffer holds with `expect`, freeing the buffer first so that a
 * failed comparison leaks nothing (cmocka leaves the test by longjmp).
 */
static void buf_check(fk_buf_t *b, const char *expect)
{
    char got[1024];
    snprintf(got, sizeof(got), "%.*s", (int)b->len, b->data);
    fk_buf_free(b);
    assert_string_equal(got, expect);
}

/* Run `stmt` on a fresh in-memory buffer `b` and compare the text it wrote. */
#define BUF_EQ(expect, stmt)                            \
    do {                                                \
        fk_buf_t b_;                                    \
        assert_int_equal(fk_buf_init(&b_, NULL, 0), 0); \
        {                                               \
            fk_buf_t *b = &b_;                          \
            stmt;                                       \
        }                                               \
        buf_check(&b_, (expect));                       \
    } while (0)

static void test_buf_integers(void **state)
{
    (void)state;
    BUF_EQ("0", fk_buf_u64(b, 0));
    BUF_EQ("7", fk_buf_u64(b, 7));
    BUF_EQ("10", fk_buf_u64(b, 10));
    BUF_EQ("18446744073709551615", fk_buf_u64(b, UINT64_MAX));
    BUF_EQ("0", fk_buf_i64(b, 0));
    BUF_EQ("-1", fk_buf_i64(b, -1));
    BUF_EQ("9223372036854775807", fk_buf_i64(b, INT64_MAX));
    BUF_EQ("-9223372036854775808", fk_buf_i64(b, INT64_MIN));
    BUF_EQ("1,-2,3", {
        fk_buf_u64(b, 1);
        fk_buf_putc(b, ',');
        fk_buf_i64(b, -2);
        fk_buf_puts(b, ",3");
    });
}

/*
 * The unchecked writers (fk_put_*) against printf and inet_ntop: every value
 * below 2,000,000, every power of ten and of two with its neighbours,
 * UINT64_MAX, 2,000,000 pseudo-random values of every length (the same high
 * digits repeat, as the per-thread cache of fk_put_u64 sees them), every
 * IPv6 group value, and a spread of IPv4 addresses and MACs.  Each writer may
 * touch its FK_*_ROOM bytes: the output is checked to end where it says.
 */
static void expect_u64(uint64_t v)
{
    char got[FK_U64_ROOM + 1], want[32];
    char *e = fk_put_u64(got, v);
    int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
    assert_int_equal(e - got, n);
    assert_memory_equal(got, want, (size_t)n);
}

static void test_buf_put_writers(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < 2000000; v++)
        expect_u64(v);
    uint64_t p10 = 1;
    for (int k = 0; k < 20; k++, p10 *= 10)
        for (int d = -2; d <= 2; d++)
            expect_u64(p10 + (uint64_t)(int64_t)d);
    for (int k = 0; k < 64; k++)
        for (int d = -2; d <= 2; d++)
            expect_u64((1ULL << k) + (uint64_t)(int64_t)d);
    expect_u64(UINT64_MAX);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 2000000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = x >> (x & 63);
        expect_u64(v);
        expect_u64(v ^ (x & 0xffffff)); /* same leading digits, other low ones */
    }

    char got[64], want[64];
    for (unsigned v = 0; v < 0x10000; v++) {
        char *e = fk_put_hex16(got, v);
        int n = snprintf(want, sizeof(want), "%x", v);
        assert_int_equal(e - got, n);
        assert_memory_equal(got, want, (size_t)n);
    }
    for (uint32_t i = 0; i < 300000; i++) {
        uint32_t a = i * 2654435761u;
        uint8_t q[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
        if (i < 256) /* every octet value in every place */
            q[0] = q[1] = q[2] = q[3] = (uint8_t)i;
        char *e = fk_put_ip4(got, q);
        int n = snprintf(want, sizeof(want), "%u.%u.%u.%u", q[0], q[1], q[2], q[3]);
        assert_int_equal(e - got, n);
        assert_memory_equal(got, want, (size_t)n);

        uint64_t m = (uint64_t)a * 0x9e3779b97f4aULL;
        e = fk_put_mac48(got, m);
        snprintf(want, sizeof(want), "%02x:%02x:%02x:%02x:%02x:%02x", (unsigned)(m >> 40) & 255,
                 (unsigned)(m >> 32) & 255, (unsigned)(m >> 24) & 255, (unsigned)(m >> 16) & 255,
                 (unsigned)(m >> 8) & 255, (unsigned)m & 255);
        assert_int_equal(e - got, 17);
        assert_memory_equal(got, want, 17);
    }
    const uint8_t bytes[3] = {0x00, 0xa5, 0xff};
    assert_ptr_equal(fk_put_hex(got, bytes, 3), got + 6);
    assert_memory_equal(got, "00a5ff", 6);
}

/*
 * fk_put_ip6 against a direct RFC 5952 search (the rule, written plainly)
 * and against glibc's inet_ntop wherever the two texts agree by definition
 * (inet_ntop writes a dotted tail for ::a.b.c.d and ::ffff:a.b.c.d).
 */
static char *ip6_oracle(char *p, const uint8_t a[16])
{
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    int zs = -1, ze = -1; /* longest run of >= 2 zero groups, the first on a tie */
    for (int i = 0; i < 8; i++) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i >= 2 && j - i > ze - zs)
            zs = i, ze = j;
    }
    for (int i = 0; i < 8; i++) {
        if (i == zs) {
            p += sprintf(p, "::");
            i = ze - 1;
            continue;
        }
        p += sprintf(p, "%s%x", i > 0 && i != ze ? ":" : "", g[i]);
    }
    return p;
}

static void expect_ip6(const uint8_t a[16])
{
    char got[FK_IP6_ROOM + 8], want[64];
    memset(got, '#', sizeof(got));
    char *e = fk_put_ip6(got, a);
    int n = (int)(ip6_oracle(want, a) - want);
    assert_int_equal(e - got, n);
    assert_memory_equal(got, want, (size_t)n);
    assert_int_equal(got[FK_IP6_ROOM], '#'); /* nothing written past the room */
    static const uint8_t z10[10] = {0};
    if (memcmp(a, z10, 10) != 0) {
        char nt[INET6_ADDRSTRLEN];
        assert_non_null(inet_ntop(AF_INET6, a, nt, sizeof(nt)));
        assert_int_equal(strlen(nt), (size_t)n);
        assert_memory_equal(nt, got, (size_t)n);
    }
}

static void test_buf_put_ip6(void **state)
{
    (void)state;
    uint8_t a[16];
    /* every pattern of zero groups, with non-zero groups of every digit count */
    for (unsigned z = 0; z < 256; z++)
        for (unsigned v = 0; v < 4; v++) {
            static const unsigned vals[4] = {0x1, 0x2a, 0xdb8, 0xfe80};
            for (int i = 0; i < 8; i++) {
                unsigned gv = (z >> i & 1) ? 0 : vals[(v + (unsigned)i) & 3];
                a[2 * i] = (uint8_t)(gv >> 8);
                a[2 * i + 1] = (uint8_t)gv;
            }
            expect_ip6(a);
        }
    /* random addresses, with random groups cleared */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int n = 0; n < 200000; n++) {
        for (int i = 0; i < 16; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            a[i] = (uint8_t)(x >> 24);
        }
        for (int i = 0; i < 8; i++)
            if ((x >> (32 + i)) & (x >> (40 + i)) & 1)
                a[2 * i] = a[2 * i + 1] = 0;
        if (n & 1)
            a[2 * (x & 7)] = 0; /* groups below 0x100 */
        expect_ip6(a);
    }
}

static void test_buf_hex_mac(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x00, 0x0f, 0xab, 0xff, 0x10};
    static const uint8_t mac[6] = {0x00, 0x1b, 0x21, 0xab, 0xcd, 0xef};
    BUF_EQ("000fabff10", fk_buf_hex(b, bytes, sizeof(bytes)));
    BUF_EQ("", fk_buf_hex(b, bytes, 0));
    BUF_EQ("00:1b:21:ab:cd:ef", fk_buf_mac(b, mac));
}

static void test_buf_ip(void **state)
{
    (void)state;
    static const struct {
        uint8_t a[16];
        const char *s;
    } cases[] = {
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}, "192.0.2.1"},
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, "0.0.0.0"},
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255}, "255.255.255.255"},
        {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
        {{0}, "::"},
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "::1"},
        {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x1b, 0x21, 0xff, 0xfe, 0xab, 0xcd, 0xef},
         "fe80::21b:21ff:feab:cdef"},
        /* RFC 5952 4.2.3: the longest run of zeros is the one compressed. */
        {{0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, "2001:0:0:1::1"},
        /* ... and a single zero field is not. */
        {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, "2001:db8:0:1:1:1:1:1"},
        /* Not mapped: ::fffe:... is plain IPv6. */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 1, 2, 3, 4}, "::fffe:102:304"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        BUF_EQ(cases[i].s, fk_buf_ip(b, cases[i].a));
}

static void test_buf_time(void **state)
{
    (void)state;
    BUF_EQ("1970-01-01T00:00:00.000000", fk_buf_time_us(b, 0));
    BUF_EQ("1970-01-01T00:00:00.000000", fk_buf_time_us(b, 999)); /* ns below 1 us dropped */
    BUF_EQ("1970-01-01T00:00:00.000001", fk_buf_time_us(b, 1000));
    BUF_EQ("2016-10-28T17:07:17.272499", fk_buf_time_us(b, 1477674437272499000ULL));
    BUF_EQ("1999-12-31T23:59:59.999999", fk_buf_time_us(b, 946684799999999999ULL));
    BUF_EQ("2000-01-01T00:00:00.000000", fk_buf_time_us(b, 946684800000000000ULL));
    BUF_EQ("2000-02-29T00:00:00.000000", fk_buf_time_us(b, 951782400000000000ULL));
    BUF_EQ("2024-02-29T12:24:56.789012", fk_buf_time_us(b, 1709209496789012000ULL));
    BUF_EQ("2024-03-01T00:00:00.000000", fk_buf_time_us(b, (1709164800ULL + 86400) * 1000000000));
    /* 2100 is not a leap year. */
    BUF_EQ("2100-02-28T00:00:00.000000", fk_buf_time_us(b, 4107456000ULL * 1000000000));
    BUF_EQ("2100-03-01T00:00:00.000000", fk_buf_time_us(b, 4107542400ULL * 1000000000));
    BUF_EQ("2554-07-21T23:34:33.709551", fk_buf_time_us(b, UINT64_MAX));
}

static void test_buf_json_str(void **state)
{
    (void)state;
    static const char in[] = "a\"b\\c\n\r\t\x01\x1f\x7f\x80\xff/ z";
    BUF_EQ("\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f\\u0080\\u00ff/ z\"",
           fk_buf_json_str(b, in, sizeof(in) - 1));
    BUF_EQ("\"\"", fk_buf_json_str(b, "", 0));
    /* The length, not a NUL, ends the string. */
    BUF_EQ("\"a\\u0000b\"", fk_buf_json_str(b, "a\0b", 3));
    BUF_EQ("\"\\u00c3\\u00a9\"", fk_buf_json_str(b, "\xc3\xa9", 2));
}

static void test_buf_printf_and_growth(void **state)
{
    (void)state;
    fk_buf_t b;
    char big[2000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    assert_int_equal(b.cap, 4096);
    fk_buf_printf(&b, "%d-%s", 42, "a");
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "42-a", 4);
    /* Longer than printf's stack buffer: formatted in place. */
    fk_buf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, 4 + 2 + 1999);
    assert_int_equal(b.data[4], '<');
    assert_int_equal(b.data[4 + 1 + 1999], '>');
    /* In memory the buffer grows instead of flushing. */
    for (int i = 0; i < 10; i++)
        fk_buf_puts(&b, big);
    assert_int_equal(b.len, 2005 + 10 * 1999);
    assert_true(b.cap >= b.len);
    assert_int_equal(b.data[b.len - 1], 'x');
    assert_int_equal(fk_buf_flush(&b), 0);
    assert_int_equal(b.len, 2005 + 10 * 1999); /* no FILE: nothing to flush */
    assert_int_equal(b.error, 0);
    fk_buf_free(&b);
    assert_null(b.data);
}

static void test_buf_file(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fk_buf_t b;
    char line[1000];

    assert_non_null(f);
    memset(line, 'y', sizeof(line));
    assert_int_equal(fk_buf_init(&b, f, 100), 0);
    assert_int_equal(b.cap, 4096); /* at least 4 KiB */
    for (int i = 0; i < 9; i++)
        fk_buf_put(&b, line, sizeof(line));
    assert_int_equal(b.cap, 4096); /* flushed rather than grown */
    assert_true(b.len < 4096);
    fk_buf_put(&b, "end", 3);
    assert_int_equal(fk_buf_flush(&b), 0);
    assert_int_equal(b.len, 0);
    fclose(f);
    assert_int_equal(len, 9 * sizeof(line) + 3);
    assert_memory_equal(text + len - 3, "end", 3);
    assert_int_equal(text[0], 'y');
    free(text);

    /* A block bigger than the whole buffer still goes out whole, in order. */
    f = open_memstream(&text, &len);
    assert_non_null(f);
    char huge[10000];
    memset(huge, 'z', sizeof(huge));
    b.f = f;
    fk_buf_put(&b, "a", 1);
    fk_buf_put(&b, huge, sizeof(huge));
    fk_buf_put(&b, "b", 1);
    assert_int_equal(fk_buf_flush(&b), 0);
    fclose(f);
    assert_int_equal(len, sizeof(huge) + 2);
    assert_int_equal(text[0], 'a');
    assert_int_equal(text[len - 1], 'b');
    free(text);
    fk_buf_free(&b);
}

/* ---- fk_field writers -------------------------------------------------- */

typedef struct rec_st {
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    float flt;
    double dbl;
    uint64_t time;
    uint8_t mac[6];
    uint8_t ip[16];
    char str[8];
    uint8_t bytes[4];
    uint16_t bytes_len;
    uint8_t a_u8[3];
    int8_t a_i8[3];
    uint16_t a_u16[3];
    uint32_t a_u32[3];
    uint64_t a_u64[3];
    uint64_t a_time[2];
    uint16_t n_u8, n_i8, n_u16, n_u32, n_u64, n_time;
} rec_t;

static const fk_field_t REC_FIELDS[] = {
    FK_U8(rec_t, u8, "U8", "u8", 0, 4, 0),
    FK_I8(rec_t, i8, "I8", "i8", 0, 0, 0),
    FK_U16(rec_t, u16, "U16", "u16", 0, 7, 0),
    FK_U32(rec_t, u32, "U32", "u32", 0, 2, 0),
    FK_U64(rec_t, u64, "U64", "u64", 0, 1, 0),
    FK_FLT(rec_t, flt, "FLT", "flt", 0, 0, 0),
    FK_DBL(rec_t, dbl, "DBL", "dbl", 0, 0, 0),
    FK_TIME(rec_t, time, "TIME", "time", 0, 152, 0),
    FK_MAC(rec_t, mac, "MAC", "mac", 0, 56, 0),
    FK_IP(rec_t, ip, "IP", "ip", 0, 8, 0),
    FK_STR(rec_t, str, "STR", "str", 8057, 100, FK_F_NOJSON),
    FK_BYTES(rec_t, bytes, bytes_len, "BYTES", "bytes", 8057, 101, 0),
    FK_ARRAY(FK_T_A_U8, 1, rec_t, a_u8, n_u8, "A_U8", "a_u8", 0, 0, 0),
    FK_ARRAY(FK_T_A_I8, 1, rec_t, a_i8, n_i8, "A_I8", "a_i8", 0, 0, 0),
    FK_ARRAY(FK_T_A_U16, 2, rec_t, a_u16, n_u16, "A_U16", "a_u16", 0, 0, 0),
    FK_ARRAY(FK_T_A_U32, 4, rec_t, a_u32, n_u32, "A_U32", "a_u32", 0, 0, 0),
    FK_ARRAY(FK_T_A_U64, 8, rec_t, a_u64, n_u64, "A_U64", "a_u64", 0, 0, FK_F_NOCSV),
    FK_ARRAY(FK_T_A_TIME, 8, rec_t, a_time, n_time, "A_TIME", "a_time", 0, 0, 0),
};
#define N_REC_FIELDS (sizeof(REC_FIELDS) / sizeof(REC_FIELDS[0]))

static const fk_field_t *rec_field(const char *name)
{
    for (size_t i = 0; i < N_REC_FIELDS; i++)
        if (strcmp(REC_FIELDS[i].name, name) == 0)
            return &REC_FIELDS[i];
    fail_msg("no field %s", name);
    return NULL;
}

static void rec_fill(rec_t *r)
{
    static const uint8_t mac[6] = {0x00, 0x1b, 0x21, 0xab, 0xcd, 0xef};
    static const uint8_t ip[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};

    memset(r, 0, sizeof(*r));
    r->u8 = 255;
    r->i8 = -128;
    r->u16 = 65535;
    r->u32 = 4294967295u;
    r->u64 = UINT64_MAX;
    r->flt = 1.5f;
    r->dbl = -2.25;
    r->time = 1477674437272499000ULL;
    memcpy(r->mac, mac, 6);
    memcpy(r->ip, ip, 16);
    memcpy(r->str,
           "a b\x01"
           "c",
           6);
    memcpy(r->bytes, "\xde\xad\xbe\xef", 4);
    r->bytes_len = 4;
    r->a_u8[0] = 1, r->a_u8[1] = 2, r->a_u8[2] = 255, r->n_u8 = 3;
    r->a_i8[0] = -1, r->a_i8[1] = 0, r->a_i8[2] = 127, r->n_i8 = 3;
    r->a_u16[0] = 1, r->a_u16[1] = 65535, r->a_u16[2] = 9, r->n_u16 = 2;
    r->a_u32[0] = 5, r->n_u32 = 0;
    r->a_u64[0] = UINT64_MAX, r->n_u64 = 1;
    r->a_time[0] = 0, r->a_time[1] = 1477674437272499000ULL, r->n_time = 2;
}

static const struct {
    const char *field, *csv, *json, *text;
} REC_EXPECT[] = {
    {"U8", "255", "255", "255"},
    {"I8", "-128", "-128", "-128"},
    {"U16", "65535", "65535", "65535"},
    {"U32", "4294967295", "4294967295", "4294967295"},
    {"U64", "18446744073709551615", "18446744073709551615", "18446744073709551615"},
    {"FLT", "1.500000", "1.500000", "1.500000"},
    {"DBL", "-2.250000", "-2.250000", "-2.250000"},
    {"TIME", "2016-10-28T17:07:17.272499", "1477674437272499000", "2016-10-28T17:07:17.272499"},
    {"MAC", "00:1b:21:ab:cd:ef", "\"00:1b:21:ab:cd:ef\"", "00:1b:21:ab:cd:ef"},
    {"IP", "10.0.0.1", "\"10.0.0.1\"", "10.0.0.1"},
    {"STR", "\"a bc\"", "\"a b\\u0001c\"", "a bc"},
    {"BYTES", "deadbeef", "\"deadbeef\"", "deadbeef"},
    {"A_U8", "[1|2|255]", "[1,2,255]", "[1|2|255]"},
    {"A_I8", "[-1|0|127]", "[-1,0,127]", "[-1|0|127]"},
    {"A_U16", "[1|65535]", "[1,65535]", "[1|65535]"},
    {"A_U32", "[]", "[]", "[]"},
    {"A_U64", "[18446744073709551615]", "[18446744073709551615]", "[18446744073709551615]"},
    {"A_TIME", "[1970-01-01T00:00:00.000000|2016-10-28T17:07:17.272499]", "[0,1477674437272499000]",
     "[1970-01-01T00:00:00.000000|2016-10-28T17:07:17.272499]"},
};

/* Format field `f` of the record at `base` with writer `w` and compare. */
static void expect_field(void (*w)(fk_buf_t *, const fk_field_t *, const void *),
                         const fk_field_t *f, const void *base, const char *expect)
{
    fk_buf_t b;
    char got[1024];
    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    w(&b, f, base);
    snprintf(got, sizeof(got), "%.*s", (int)b.len, b.data);
    fk_buf_free(&b);
    if (strcmp(got, expect) != 0)
        fail_msg("field %s: got '%s', expected '%s'", f->name, got, expect);
}

static void test_field_writers(void **state)
{
    (void)state;
    rec_t r;
    rec_fill(&r);

    /* Every field type appears exactly once in the table. */
    assert_int_equal(N_REC_FIELDS, FK_T_COUNT_);
    for (size_t i = 0; i < sizeof(REC_EXPECT) / sizeof(REC_EXPECT[0]); i++) {
        const fk_field_t *f = rec_field(REC_EXPECT[i].field);
        expect_field(fk_field_csv, f, &r, REC_EXPECT[i].csv);
        expect_field(fk_field_json, f, &r, REC_EXPECT[i].json);
        expect_field(fk_field_text, f, &r, REC_EXPECT[i].text);
    }
}

/* Records may sit packed in a slab: no writer may assume the struct is aligned. */
static void test_field_writers_unaligned(void **state)
{
    (void)state;
    rec_t r;
    uint8_t *slab = malloc(sizeof(rec_t) + 1);
    assert_non_null(slab);
    rec_fill(&r);
    memcpy(slab + 1, &r, sizeof(r));
    for (size_t i = 0; i < sizeof(REC_EXPECT) / sizeof(REC_EXPECT[0]); i++) {
        const fk_field_t *f = rec_field(REC_EXPECT[i].field);
        expect_field(fk_field_csv, f, slab + 1, REC_EXPECT[i].csv);
        expect_field(fk_field_json, f, slab + 1, REC_EXPECT[i].json);
    }
    free(slab);
}

/* Counts and strings are bounded by the table's capacity, whatever the record says. */
static void test_field_writers_clamp(void **state)
{
    (void)state;
    rec_t *r = malloc(sizeof(*r));
    assert_non_null(r);
    rec_fill(r);
    memcpy(r->str, "abcdefgh", 8); /* no NUL */
    r->bytes_len = 100;
    r->n_u8 = 500;
    r->n_time = 0xffff;
    expect_field(fk_field_csv, rec_field("STR"), r, "\"abcdefgh\"");
    expect_field(fk_field_text, rec_field("STR"), r, "abcdefgh");
    expect_field(fk_field_json, rec_field("STR"), r, "\"abcdefgh\"");
    expect_field(fk_field_csv, rec_field("BYTES"), r, "deadbeef");
    expect_field(fk_field_csv, rec_field("A_U8"), r, "[1|2|255]");
    expect_field(fk_field_json, rec_field("A_TIME"), r, "[0,1477674437272499000]");

    /* An empty string and empty bytes. */
    r->str[0] = '\0';
    r->bytes_len = 0;
    expect_field(fk_field_csv, rec_field("STR"), r, "\"\"");
    expect_field(fk_field_json, rec_field("STR"), r, "\"\"");
    expect_field(fk_field_text, rec_field("STR"), r, "");
    expect_field(fk_field_json, rec_field("BYTES"), r, "\"\"");
    free(r);
}

/*
 * A '"' inside a CSV string must not end the quoted value: the UniRec CSV
 * writer (urcsv_field) doubles it, as RFC 4180 does.
 */
static void test_field_csv_quote(void **state)
{
    (void)state;
    rec_t r;
    rec_fill(&r);
    memcpy(r.str, "say \"x\"", 8);
    expect_field(fk_field_csv, rec_field("STR"), &r, "\"say \"\"x\"\"\"");
    expect_field(fk_field_json, rec_field("STR"), &r, "\"say \\\"x\\\"\"");
}

/*
 * A float that is not a number (nettisa divides by zero on some flows): CSV
 * and text print it as printf does, as the NEMEA logger; JSON has no such
 * number (RFC 8259 6) and gets null.
 */
static void test_field_nonfinite(void **state)
{
    (void)state;
    rec_t r;
    rec_fill(&r);
    r.flt = INFINITY;
    r.dbl = -INFINITY;
    expect_field(fk_field_csv, rec_field("FLT"), &r, "inf");
    expect_field(fk_field_text, rec_field("DBL"), &r, "-inf");
    expect_field(fk_field_json, rec_field("FLT"), &r, "null");
    expect_field(fk_field_json, rec_field("DBL"), &r, "null");
    r.flt = NAN;
    r.dbl = NAN;
    expect_field(fk_field_csv, rec_field("FLT"), &r, "nan");
    expect_field(fk_field_json, rec_field("FLT"), &r, "null");
    expect_field(fk_field_json, rec_field("DBL"), &r, "null");
    r.flt = 0.25f;
    expect_field(fk_field_json, rec_field("FLT"), &r, "0.250000");
}

static void test_field_table_macros(void **state)
{
    (void)state;
    const fk_field_t *f = rec_field("STR");
    assert_int_equal(f->type, FK_T_STR);
    assert_int_equal(f->off, offsetof(rec_t, str));
    assert_int_equal(f->cap, 8);
    assert_int_equal(f->pen, 8057);
    assert_int_equal(f->ie, 100);
    assert_int_equal(f->flags, FK_F_NOJSON);
    f = rec_field("BYTES");
    assert_int_equal(f->off, offsetof(rec_t, bytes));
    assert_int_equal(f->cnt_off, offsetof(rec_t, bytes_len));
    assert_int_equal(f->cap, 4);
    f = rec_field("A_U16");
    assert_int_equal(f->off, offsetof(rec_t, a_u16));
    assert_int_equal(f->cnt_off, offsetof(rec_t, n_u16));
    assert_int_equal(f->cap, 3); /* elements, not bytes */
    f = rec_field("A_U64");
    assert_int_equal(f->cap, 3);
    assert_int_equal(f->flags, FK_F_NOCSV);
    f = rec_field("IP");
    assert_int_equal(f->off, offsetof(rec_t, ip));
    assert_int_equal(f->ie, 8);
}

static void test_ftype_tables(void **state)
{
    (void)state;
    static const struct {
        fk_ftype_t t;
        const char *unirec;
        unsigned sortsize, size;
    } types[] = {
        {FK_T_U8, "uint8", 1, 1},      {FK_T_I8, "int8", 1, 1},       {FK_T_U16, "uint16", 2, 2},
        {FK_T_U32, "uint32", 4, 4},    {FK_T_U64, "uint64", 8, 8},    {FK_T_FLOAT, "float", 4, 4},
        {FK_T_DOUBLE, "double", 8, 8}, {FK_T_TIME, "time", 8, 8},     {FK_T_MAC, "macaddr", 6, 6},
        {FK_T_IP, "ipaddr", 16, 16},   {FK_T_STR, "string", 0, 0},    {FK_T_BYTES, "bytes", 0, 0},
        {FK_T_A_U8, "uint8*", 0, 0},   {FK_T_A_I8, "int8*", 0, 0},    {FK_T_A_U16, "uint16*", 0, 0},
        {FK_T_A_U32, "uint32*", 0, 0}, {FK_T_A_U64, "uint64*", 0, 0}, {FK_T_A_TIME, "time*", 0, 0},
    };
    assert_int_equal(sizeof(types) / sizeof(types[0]), FK_T_COUNT_);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        assert_string_equal(fk_ftype_unirec(types[i].t), types[i].unirec);
        assert_int_equal(fk_ftype_sortsize(types[i].t), types[i].sortsize);
        assert_int_equal(fk_ftype_size(types[i].t), types[i].size);
    }
    assert_string_equal(fk_ftype_unirec(FK_T_COUNT_), "?");
    assert_int_equal(fk_ftype_sortsize(FK_T_COUNT_), 0);
    assert_int_equal(fk_ftype_size(FK_T_COUNT_), 0);
}

/* ---- UniRec template order --------------------------------------------- */

typedef struct flowrec_st {
    uint8_t dst_ip[16], src_ip[16];
    uint64_t bytes, bytes_rev, link;
    uint64_t first, last;
    uint8_t dst_mac[6], src_mac[6];
    uint32_t packets, packets_rev;
    uint16_t dst_port, src_port;
    uint8_t dir, proto, flags, flags_rev;
    char host[64];
    uint8_t idp[100];
    uint16_t idp_len;
    uint16_t ppi[30];
    uint16_t ppi_n;
} flowrec_t;

/* Deliberately out of order. */
static const fk_field_t FLOW_FIELDS[] = {
    FK_ARRAY(FK_T_A_U16, 2, flowrec_t, ppi, ppi_n, "PPI_PKT_LENGTHS", "ppi", 0, 0, 0),
    FK_U8(flowrec_t, flags_rev, "TCP_FLAGS_REV", "tcp_flags_rev", 29305, 6, 0),
    FK_U16(flowrec_t, src_port, "SRC_PORT", "src_port", 0, 7, 0),
    FK_STR(flowrec_t, host, "HTTP_HOST", "http_host", 8057, 101, 0),
    FK_TIME(flowrec_t, last, "TIME_LAST", "time_last", 0, 153, 0),
    FK_U64(flowrec_t, bytes_rev, "BYTES_REV", "bytes_rev", 29305, 1, 0),
    FK_MAC(flowrec_t, src_mac, "SRC_MAC", "src_mac", 0, 56, 0),
    FK_U8(flowrec_t, proto, "PROTOCOL", "protocol", 0, 4, 0),
    FK_IP(flowrec_t, src_ip, "SRC_IP", "src_ip", 0, 27, 0),
    FK_U32(flowrec_t, packets, "PACKETS", "packets", 0, 2, 0),
    FK_U64(flowrec_t, link, "LINK_BIT_FIELD", "link_bit_field", 8057, 405, 0),
    FK_BYTES(flowrec_t, idp, idp_len, "IDP_CONTENT", "idp_content", 8057, 850, 0),
    FK_U8(flowrec_t, dir, "DIR_BIT_FIELD", "dir_bit_field", 0, 10, 0),
    FK_TIME(flowrec_t, first, "TIME_FIRST", "time_first", 0, 152, 0),
    FK_U16(flowrec_t, dst_port, "DST_PORT", "dst_port", 0, 11, 0),
    FK_U64(flowrec_t, bytes, "BYTES", "bytes", 0, 1, 0),
    FK_U8(flowrec_t, flags, "TCP_FLAGS", "tcp_flags", 0, 6, 0),
    FK_MAC(flowrec_t, dst_mac, "DST_MAC", "dst_mac", 0, 80, 0),
    FK_U32(flowrec_t, packets_rev, "PACKETS_REV", "packets_rev", 29305, 2, 0),
    FK_IP(flowrec_t, dst_ip, "DST_IP", "dst_ip", 0, 12, 0),
};
#define N_FLOW_FIELDS (sizeof(FLOW_FIELDS) / sizeof(FLOW_FIELDS[0]))

static void test_unirec_sort(void **state)
{
    (void)state;
    static const char expect[] =
        "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,"
        "time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,"
        "uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,"
        "uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,"
        "string HTTP_HOST,bytes IDP_CONTENT,uint16* PPI_PKT_LENGTHS";
    const fk_field_t *v[N_FLOW_FIELDS];
    char got[1024] = "";

    for (size_t i = 0; i < N_FLOW_FIELDS; i++)
        v[i] = &FLOW_FIELDS[i];
    fk_fields_unirec_sort(v, N_FLOW_FIELDS);
    for (size_t i = 0; i < N_FLOW_FIELDS; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s %s", i ? "," : "",
                 fk_ftype_unirec((fk_ftype_t)v[i]->type), v[i]->name);
    assert_string_equal(got, expect);

    /* Sorting is a pure function of the set: any input order gives the same result. */
    for (size_t i = 0; i < N_FLOW_FIELDS; i++)
        v[i] = &FLOW_FIELDS[N_FLOW_FIELDS - 1 - i];
    fk_fields_unirec_sort(v, N_FLOW_FIELDS);
    assert_string_equal(v[0]->name, "DST_IP");
    assert_string_equal(v[N_FLOW_FIELDS - 1]->name, "PPI_PKT_LENGTHS");

    fk_fields_unirec_sort(v, 0); /* nothing to do, nothing to break */
}

/*
 * double and float sort among the 8- and 4-byte integers by name; variable-size
 * fields by element size (strings and bytes count 1), then by name, as UniRec.
 */
static void test_unirec_sort_mixed(void **state)
{
    (void)state;
    const fk_field_t *v[N_REC_FIELDS];
    for (size_t i = 0; i < N_REC_FIELDS; i++)
        v[i] = &REC_FIELDS[i];
    fk_fields_unirec_sort(v, N_REC_FIELDS);
    /* Variable-size fields by element size (UniRec's negative sizes), then name. */
    static const char *order[] = {"IP",    "DBL", "TIME",  "U64",   "MAC",    "FLT",
                                  "U32",   "U16", "I8",    "U8",    "A_I8",   "A_U8",
                                  "BYTES", "STR", "A_U16", "A_U32", "A_TIME", "A_U64"};
    assert_int_equal(sizeof(order) / sizeof(order[0]), N_REC_FIELDS);
    for (size_t i = 0; i < N_REC_FIELDS; i++)
        assert_string_equal(v[i]->name, order[i]);
}

/*
 * Variable-size columns as ipfixprobe's references show them (outputs/bstats,
 * outputs/quic): uint32* before time*, and bytes, uint8* and string (element
 * size 1) interleaved by name before uint16*.
 */
typedef struct varrec_st {
    uint32_t u32a[4], u32b[4];
    uint64_t ta[4], tb[4];
    uint8_t by[8], u8[4];
    uint16_t u16[4];
    char str[8];
    uint16_t n, by_len;
} varrec_t;

static const fk_field_t VAR_FIELDS[] = {
    FK_ARRAY(FK_T_A_TIME, 8, varrec_t, ta, n, "DBI_BRST_TIME_START", "a", 0, 0, 0),
    FK_ARRAY(FK_T_A_U16, 2, varrec_t, u16, n, "QUIC_TLS_EXT_LEN", "b", 0, 0, 0),
    FK_STR(varrec_t, str, "QUIC_SNI", "c", 0, 0, 0),
    FK_ARRAY(FK_T_A_U32, 4, varrec_t, u32a, n, "SBI_BRST_BYTES", "d", 0, 0, 0),
    FK_ARRAY(FK_T_A_U8, 1, varrec_t, u8, n, "QUIC_PACKETS", "e", 0, 0, 0),
    FK_ARRAY(FK_T_A_TIME, 8, varrec_t, tb, n, "SBI_BRST_TIME_STOP", "f", 0, 0, 0),
    FK_BYTES(varrec_t, by, by_len, "QUIC_OCCID", "g", 0, 0, 0),
    FK_ARRAY(FK_T_A_U32, 4, varrec_t, u32b, n, "DBI_BRST_PACKETS", "h", 0, 0, 0),
};
#define N_VAR_FIELDS (sizeof(VAR_FIELDS) / sizeof(VAR_FIELDS[0]))

static void test_unirec_sort_arrays(void **state)
{
    (void)state;
    static const char *order[] = {"QUIC_OCCID",          "QUIC_PACKETS",      "QUIC_SNI",
                                  "QUIC_TLS_EXT_LEN",    "DBI_BRST_PACKETS",  "SBI_BRST_BYTES",
                                  "DBI_BRST_TIME_START", "SBI_BRST_TIME_STOP"};
    const fk_field_t *v[N_VAR_FIELDS];

    assert_int_equal(sizeof(order) / sizeof(order[0]), N_VAR_FIELDS);
    for (size_t i = 0; i < N_VAR_FIELDS; i++)
        v[i] = &VAR_FIELDS[i];
    fk_fields_unirec_sort(v, N_VAR_FIELDS);
    for (size_t i = 0; i < N_VAR_FIELDS; i++)
        assert_string_equal(v[i]->name, order[i]);
    for (size_t i = 0; i < N_VAR_FIELDS; i++)
        v[i] = &VAR_FIELDS[N_VAR_FIELDS - 1 - i];
    fk_fields_unirec_sort(v, N_VAR_FIELDS);
    for (size_t i = 0; i < N_VAR_FIELDS; i++)
        assert_string_equal(v[i]->name, order[i]);
}

/* ---- spsc: the worker -> output queue ---------------------------------------- */

/* One thread: full and empty, reserve handing out the same entry until
 * commit, order, and buffers reused last released first. */
static void test_spsc_single(void **state)
{
    (void)state;
    fk_spsc_t *r = fk_spsc_new(3, 24); /* rounded up to 4 */
    uint64_t *e[4];

    assert_non_null(r);
    assert_null(fk_spsc_new(0, 8));
    assert_null(fk_spsc_new(8, 0));
    assert_null(fk_spsc_peek(r));
    assert_null(fk_spsc_next(r)); /* fresh buffers: nothing to look at */
    for (uint64_t i = 0; i < 4; i++) {
        e[i] = fk_spsc_reserve(r);
        assert_non_null(e[i]);
        assert_ptr_equal(fk_spsc_reserve(r), e[i]); /* not committed: the same entry */
        *e[i] = 100 + i;
        fk_spsc_commit(r);
    }
    assert_null(fk_spsc_reserve(r)); /* full */
    for (uint64_t i = 0; i < 4; i++) /* four distinct buffers */
        for (uint64_t j = 0; j < i; j++)
            assert_ptr_not_equal(e[i], e[j]);
    /* Looking ahead: the published entries in order, none past the last. */
    for (uint64_t i = 0; i < 4; i++)
        assert_ptr_equal(fk_spsc_peek_ahead(r, i), e[i]);
    assert_null(fk_spsc_peek_ahead(r, 4));
    uint64_t *a = fk_spsc_peek(r);
    assert_int_equal(*a, 100);
    fk_spsc_release(r);
    uint64_t *b = fk_spsc_peek(r);
    assert_int_equal(*b, 101);
    fk_spsc_release(r);
    /* The buffer released last comes back first (it is the one in cache). */
    assert_ptr_equal(fk_spsc_reserve(r), b);
    assert_ptr_equal(fk_spsc_next(r), b); /* reserved, not committed: still b */
    *b = 104;
    fk_spsc_commit(r);
    /* The next reserve's buffer is known (a, what was written there last
     * still in it: 100), before it is handed out. */
    assert_ptr_equal(fk_spsc_next(r), a);
    assert_int_equal(*(const uint64_t *)fk_spsc_next(r), 100);
    assert_ptr_equal(fk_spsc_reserve(r), a);
    *a = 105;
    fk_spsc_commit(r);
    assert_null(fk_spsc_reserve(r));
    for (uint64_t want = 102; want <= 105; want++) {
        uint64_t *x = fk_spsc_peek(r);
        assert_non_null(x);
        assert_int_equal(*x, want);
        /* ahead of the oldest: the rest, after the buffers went round */
        for (uint64_t k = 0; want + k <= 105; k++)
            assert_int_equal(*(const uint64_t *)fk_spsc_peek_ahead(r, k), want + k);
        assert_null(fk_spsc_peek_ahead(r, 106 - want));
        fk_spsc_release(r);
    }
    assert_null(fk_spsc_peek(r));
    assert_false(fk_spsc_drained(r));
    fk_spsc_close(r);
    assert_true(fk_spsc_drained(r));
    fk_spsc_free(r);
}

#define SPSC_N 200000
typedef struct {
    fk_spsc_t *r;
    uint64_t bad; /* entries out of order or torn */
} spsc_arg_t;

static void *spsc_consumer(void *p)
{
    spsc_arg_t *a = p;
    uint64_t want = 0;

    while (!fk_spsc_drained(a->r)) {
        uint64_t *x = fk_spsc_peek(a->r);
        if (!x) {
            sched_yield(); /* a one-CPU machine: let the producer run */
            continue;
        }
        /* Every word of the entry holds its sequence number: a buffer handed
         * to the producer while still read would show as a torn entry. */
        for (int k = 0; k < 8; k++)
            if (x[k] != want)
                a->bad++;
        /* An entry looked at ahead is published whole, too. */
        const uint64_t *y = fk_spsc_peek_ahead(a->r, 3);
        for (int k = 0; y && k < 8; k++)
            if (y[k] != want + 3)
                a->bad++;
        want++;
        fk_spsc_release(a->r);
    }
    if (want != SPSC_N)
        a->bad++;
    return NULL;
}

/* Two threads through a small queue: every entry arrives once, in order, whole. */
static void test_spsc_threads(void **state)
{
    (void)state;
    spsc_arg_t a = {fk_spsc_new(16, 8 * sizeof(uint64_t)), 0};
    pthread_t t;

    assert_non_null(a.r);
    assert_int_equal(pthread_create(&t, NULL, spsc_consumer, &a), 0);
    for (uint64_t i = 0; i < SPSC_N; i++) {
        uint64_t *x;
        while ((x = fk_spsc_reserve(a.r)) == NULL)
            sched_yield();
        for (int k = 0; k < 8; k++)
            x[k] = i;
        fk_spsc_commit(a.r);
    }
    fk_spsc_close(a.r);
    pthread_join(t, NULL);
    assert_int_equal(a.bad, 0);
    fk_spsc_free(a.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_basics),
        cmocka_unit_test(test_spsc_single),
        cmocka_unit_test(test_spsc_threads),
        cmocka_unit_test(test_cursor_getters_at_boundary),
        cmocka_unit_test(test_cursor_be64_high_bit),
        cmocka_unit_test(test_cursor_sub),
        cmocka_unit_test(test_cursor_peeks),
        cmocka_unit_test(test_cursor_loads),
        cmocka_unit_test(test_opts_name_only),
        cmocka_unit_test(test_opts_empty_name),
        cmocka_unit_test(test_opts_tokens),
        cmocka_unit_test(test_opts_too_many),
        cmocka_unit_test(test_opts_lookup),
        cmocka_unit_test(test_opts_lookup_long_spec),
        cmocka_unit_test(test_opts_uint),
        cmocka_unit_test(test_opts_bool),
        cmocka_unit_test(test_opts_help),
        cmocka_unit_test(test_buf_integers),
        cmocka_unit_test(test_buf_put_writers),
        cmocka_unit_test(test_buf_put_ip6),
        cmocka_unit_test(test_buf_hex_mac),
        cmocka_unit_test(test_buf_ip),
        cmocka_unit_test(test_buf_time),
        cmocka_unit_test(test_buf_json_str),
        cmocka_unit_test(test_buf_printf_and_growth),
        cmocka_unit_test(test_buf_file),
        cmocka_unit_test(test_field_writers),
        cmocka_unit_test(test_field_writers_unaligned),
        cmocka_unit_test(test_field_writers_clamp),
        cmocka_unit_test(test_field_csv_quote),
        cmocka_unit_test(test_field_table_macros),
        cmocka_unit_test(test_ftype_tables),
        cmocka_unit_test(test_unirec_sort),
        cmocka_unit_test(test_unirec_sort_mixed),
        cmocka_unit_test(test_unirec_sort_arrays),
        cmocka_unit_test(test_field_nonfinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
