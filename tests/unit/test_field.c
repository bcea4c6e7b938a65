/*
 * test_field.c - the field-table writers (lib/core/field.c) against
 * reference implementations: they format straight into the buffer, eight
 * bytes at a time for plain strings and without printf, and must print
 * exactly what the simple byte-at-a-time writers and libc print (inet_ntop,
 * "%" PRIu64, buf.c's fk_buf_* helpers), for every type, on structured and
 * on random input.  Also: fk_fields_csv_row (with fixed texts for empty
 * records) and the compiled rows csv.c writes (fk_fields_csv_segs),
 * fk_field_room (a field never asks for more) and fk_record_clear.
 */
#include <arpa/inet.h>
#include <inttypes.h>
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

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* A buffer's bytes as a C string (for assert_string_equal). */
static const char *text(fk_buf_t *b)
{
    char *d = fk_buf_reserve(b, 1);
    assert_non_null(d);
    *d = 0;
    return b->data;
}

static void reset(fk_buf_t *b)
{
    b->len = 0;
}

/* ------------------------------------------------------------------------ */
/* Numbers and addresses.                                                    */

static void check_u64(uint64_t v)
{
    char want[32], got[FK_FMT_U64_MAX + 1];
    snprintf(want, sizeof(want), "%" PRIu64, v);
    size_t n = fk_fmt_u64(got, v);
    assert_true(n <= FK_FMT_U64_MAX);
    got[n] = 0;
    assert_string_equal(got, want);
}

static void test_fmt_u64(void **state)
{
    (void)state;
    uint64_t p = 1;

    for (uint64_t v = 0; v < 2000; v++)
        check_u64(v);
    for (int i = 0; i < 20; i++, p *= 10) {
        check_u64(p - 1);
        check_u64(p);
        check_u64(p + 1);
    }
    check_u64(UINT64_MAX);
    check_u64(UINT64_MAX - 1);
    for (int i = 0; i < 200000; i++)
        check_u64(rnd() >> (rnd() % 64));
}

static void check_ip6(const uint8_t a[16])
{
    char want[INET6_ADDRSTRLEN], got[FK_FMT_IP_MAX + 1];
    assert_non_null(inet_ntop(AF_INET6, a, want, sizeof(want)));
    size_t n = fk_fmt_ip6(got, a);
    assert_true(n <= FK_FMT_IP_MAX);
    got[n] = 0;
    assert_string_equal(got, want);
}

static void test_fmt_ip6(void **state)
{
    (void)state;
    static const uint16_t vals[] = {1, 0xa, 0xab, 0x1234, 0xffff, 0x100};
    uint8_t a[16];

    /* Every pattern of zero and non-zero words, with several word values:
     * longest run, first of equal runs, runs of one, leading and trailing
     * runs, and the IPv4-compatible / IPv4-mapped endings. */
    for (unsigned mask = 0; mask < 256; mask++)
        for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
            for (int w = 0; w < 8; w++) {
                uint16_t x = (mask >> w) & 1 ? (uint16_t)(vals[v] + w * (v == 3)) : 0;
                a[2 * w] = (uint8_t)(x >> 8);
                a[2 * w + 1] = (uint8_t)x;
            }
            check_ip6(a);
            a[10] = a[11] = 0xff; /* ::ffff:... forms */
            check_ip6(a);
        }
    for (int i = 0; i < 100000; i++) {
        for (int k = 0; k < 16; k++)
            a[k] = (rnd() % 3) ? 0 : (uint8_t)rnd();
        check_ip6(a);
        for (int k = 0; k < 16; k++)
            a[k] = (uint8_t)rnd();
        check_ip6(a);
    }
}

/* ------------------------------------------------------------------------ */
/* Every type against the reference writers.                                  */

typedef struct rec_st {
    uint64_t u64;
    uint64_t time;
    uint32_t u32;
    uint16_t u16;
    uint8_t u8;
    int8_t i8;
    uint8_t mac[6];
    uint8_t ip[16];
    uint16_t blen, n8, n16, n32, n64, nt, ni8;
    uint8_t bytes[40];
    uint8_t a8[9];
    int8_t ai8[9];
    uint16_t a16[9];
    uint32_t a32[9];
    uint64_t a64[9];
    uint64_t at[9];
    char s1[1];
    char s7[7];
    char s64[64];
    char s600[600];
    double dbl;
} rec_t;

static const fk_field_t g_fields[] = {
    FK_U64(rec_t, u64, "U64", "u64", 0, 1, 0),
    FK_TIME(rec_t, time, "TIME", "time", 0, 2, 0),
    FK_U32(rec_t, u32, "U32", "u32", 0, 3, 0),
    FK_U16(rec_t, u16, "U16", "u16", 0, 4, 0),
    FK_U8(rec_t, u8, "U8", "u8", 0, 5, 0),
    FK_I8(rec_t, i8, "I8", "i8", 0, 6, 0),
    FK_MAC(rec_t, mac, "MAC", "mac", 0, 7, 0),
    FK_IP(rec_t, ip, "IP", "ip", 0, 8, 0),
    FK_BYTES(rec_t, bytes, blen, "BYTES", "bytes", 0, 9, 0),
    FK_ARRAY(FK_T_A_U8, 1, rec_t, a8, n8, "A8", "a8", 0, 10, 0),
    FK_ARRAY(FK_T_A_I8, 1, rec_t, ai8, ni8, "AI8", "ai8", 0, 11, 0),
    FK_ARRAY(FK_T_A_U16, 2, rec_t, a16, n16, "A16", "a16", 0, 12, 0),
    FK_ARRAY(FK_T_A_U32, 4, rec_t, a32, n32, "A32", "a32", 0, 13, 0),
    FK_ARRAY(FK_T_A_U64, 8, rec_t, a64, n64, "A64", "a64", 0, 14, 0),
    FK_ARRAY(FK_T_A_TIME, 8, rec_t, at, nt, "AT", "at", 0, 15, 0),
    FK_STR(rec_t, s1, "S1", "s1", 0, 16, 0),
    FK_STR(rec_t, s7, "S7", "s7", 0, 17, 0),
    FK_STR(rec_t, s64, "S64", "s64", 0, 18, 0),
    FK_STR(rec_t, s600, "S600", "s600", 0, 19, 0),
    FK_DBL(rec_t, dbl, "DBL", "dbl", 0, 20, 0),
};
#define NFIELDS (sizeof(g_fields) / sizeof(g_fields[0]))

/* The writers as they were, one fk_buf_* call per byte or number. */
static void ref_num(fk_buf_t *b, fk_ftype_t t, const uint8_t *p, int json)
{
    uint64_t v = 0;
    switch (t) {
    case FK_T_I8:
    case FK_T_A_I8:
        fk_buf_i64(b, (int8_t)*p);
        return;
    case FK_T_U8:
    case FK_T_A_U8:
        v = *p;
        break;
    case FK_T_U16:
    case FK_T_A_U16: {
        uint16_t x;
        memcpy(&x, p, 2);
        v = x;
        break;
    }
    case FK_T_U32:
    case FK_T_A_U32: {
        uint32_t x;
        memcpy(&x, p, 4);
        v = x;
        break;
    }
    case FK_T_TIME:
    case FK_T_A_TIME:
        memcpy(&v, p, 8);
        if (!json) {
            fk_buf_time_us(b, v);
            return;
        }
        break;
    default:
        memcpy(&v, p, 8);
    }
    fk_buf_u64(b, v);
}

static void ref_field(fk_buf_t *b, const fk_field_t *f, const void *base,
                      int mode /* 0 csv 1 text 2 json */)
{
    const uint8_t *p = (const uint8_t *)base + f->off;
    fk_ftype_t t = (fk_ftype_t)f->type;

    switch (t) {
    case FK_T_MAC:
    case FK_T_IP:
        if (mode == 2)
            fk_buf_putc(b, '"');
        if (t == FK_T_MAC)
            fk_buf_mac(b, p);
        else
            fk_buf_ip(b, p);
        if (mode == 2)
            fk_buf_putc(b, '"');
        return;
    case FK_T_STR: {
        const char *nul = memchr(p, 0, f->cap);
        size_t n = nul ? (size_t)(nul - (const char *)p) : f->cap;
        if (mode == 2) {
            fk_buf_json_str(b, (const char *)p, n);
            return;
        }
        if (mode == 0)
            fk_buf_putc(b, '"');
        for (size_t i = 0; i < n; i++) {
            unsigned char c = p[i];
            if (c == '"' && mode == 0)
                fk_buf_putc(b, '"');
            if (c >= 0x20 && c < 0x7f)
                fk_buf_putc(b, (char)c);
        }
        if (mode == 0)
            fk_buf_putc(b, '"');
        return;
    }
    case FK_T_BYTES:
        if (mode == 2)
            fk_buf_putc(b, '"');
        fk_buf_hex(b, p, fk_field_count(f, base));
        if (mode == 2)
            fk_buf_putc(b, '"');
        return;
    case FK_T_DOUBLE: {
        double d;
        memcpy(&d, p, 8);
        fk_buf_printf(b, "%f", d);
        return;
    }
    default:
        break;
    }
    if (fk_ftype_is_array(t)) {
        uint16_t n = fk_field_count(f, base);
        fk_buf_putc(b, '[');
        for (uint16_t i = 0; i < n; i++) {
            if (i)
                fk_buf_putc(b, mode == 2 ? ',' : '|');
            ref_num(b, t, p + (size_t)i * fk_ftype_esize(t), mode == 2);
        }
        fk_buf_putc(b, ']');
        return;
    }
    ref_num(b, t, p, mode == 2);
}

/* A byte for a string: mostly printable, with the ones writers treat specially. */
static char str_byte(void)
{
    static const char special[] = {'"',  '\\',       '\n',       '\r',       '\t', 1,  0x1f,
                                   0x7f, (char)0x80, (char)0xc3, (char)0xff, ' ',  '~'};
    uint64_t r = rnd() % 16;
    if (r < 11)
        return (char)(0x20 + rnd() % 95);
    return special[rnd() % sizeof(special)];
}

static void fill_str(char *s, size_t cap)
{
    size_t n = rnd() % 4 == 0 ? cap : (size_t)(rnd() % (cap + 1)); /* cap: no NUL at all */
    for (size_t i = 0; i < cap; i++)
        s[i] =
            i < n ? str_byte() : (char)(rnd() % 2 ? 0 : 'x'); /* bytes after the NUL never show */
    if (n < cap)
        s[n] = 0;
    if (rnd() % 8 == 0 && n > 2)
        s[rnd() % n] = 0; /* a NUL in the middle cuts the string */
}

static void fill_rec(rec_t *r)
{
    static const uint64_t times[] = {
        0, 999, 1000, 946684799999999999ULL, 1709209496789012000ULL, UINT64_MAX};
    uint8_t *raw = (uint8_t *)r;

    for (size_t i = 0; i < sizeof(*r); i++)
        raw[i] = (uint8_t)rnd();
    r->time = rnd() % 4 ? 1700000000000000000ULL + rnd() % (400ULL * 86400 * 1000000000ULL)
                        : times[rnd() % (sizeof(times) / sizeof(times[0]))];
    for (int i = 0; i < 9; i++)
        r->at[i] = r->time + (rnd() % 3 ? rnd() % 2000000000ULL : 0) -
                   (rnd() % 5 == 0 ? 5000000000ULL : 0);
    if (rnd() % 2) /* an IPv4-mapped address */
        memcpy(r->ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
    /* Counts: within capacity mostly, sometimes lying past it (clamped). */
    r->blen = (uint16_t)(rnd() % 3 ? rnd() % 41 : rnd());
    r->n8 = (uint16_t)(rnd() % 10);
    r->ni8 = (uint16_t)(rnd() % 10);
    r->n16 = (uint16_t)(rnd() % 3 ? rnd() % 10 : 0xffff);
    r->n32 = (uint16_t)(rnd() % 10);
    r->n64 = (uint16_t)(rnd() % 10);
    r->nt = (uint16_t)(rnd() % 10);
    fill_str(r->s1, sizeof(r->s1));
    fill_str(r->s7, sizeof(r->s7));
    fill_str(r->s64, sizeof(r->s64));
    fill_str(r->s600, sizeof(r->s600));
    r->dbl = (double)(int64_t)rnd() / 1e6;
}

typedef void (*writer_fn)(fk_buf_t *, const fk_field_t *, const void *);

static void test_writers_match_reference(void **state)
{
    (void)state;
    static const writer_fn fast[3] = {fk_field_csv, fk_field_text, fk_field_json};
    fk_buf_t a, b;
    rec_t r;

    assert_int_equal(fk_buf_init(&a, NULL, 64), 0);
    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    for (int it = 0; it < 20000; it++) {
        fill_rec(&r);
        for (size_t f = 0; f < NFIELDS; f++)
            for (int mode = 0; mode < 3; mode++) {
                reset(&a);
                reset(&b);
                fast[mode](&a, &g_fields[f], &r);
                ref_field(&b, &g_fields[f], &r, mode);
                if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
                    fail_msg("field %s mode %d: got '%s', want '%s'", g_fields[f].name, mode,
                             text(&a), text(&b));
                assert_true(a.len <= fk_field_room(&g_fields[f]));
            }
    }
    fk_buf_free(&a);
    fk_buf_free(&b);
}

/* Times in a row, back in time and across days: the per-second cache must never show. */
static void test_time_sequence(void **state)
{
    (void)state;
    const fk_field_t *ft = &g_fields[1];
    fk_buf_t a, b;
    rec_t r;
    uint64_t t = 1700000000000000000ULL;

    memset(&r, 0, sizeof(r));
    assert_int_equal(fk_buf_init(&a, NULL, 64), 0);
    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    for (int i = 0; i < 100000; i++) {
        uint64_t step = rnd() % 4;
        t = step == 0   ? t + rnd() % 1000000
            : step == 1 ? t - rnd() % 3000000000ULL
            : step == 2 ? t + 86400ULL * 1000000000ULL
                        : t + rnd() % 2000000000ULL;
        r.time = t;
        reset(&a);
        reset(&b);
        fk_field_csv(&a, ft, &r);
        fk_buf_time_us(&b, t);
        assert_int_equal(a.len, 26);
        assert_memory_equal(a.data, b.data, 26);
    }
    fk_buf_free(&a);
    fk_buf_free(&b);
}

/*
 * Times on both sides of a second, a midnight, a month's and a year's end
 * (leap days too), in random order: the writer keeps the last second's text
 * and, apart, the last day's date; neither may leak into a neighbour.
 */
static void test_time_boundaries(void **state)
{
    (void)state;
    static const uint64_t edges[] = {
        0,           /* 1970-01-01 */
        951782400,   /* 2000-02-29 */
        951868800,   /* 2000-03-01 */
        1077926400,  /* 2004-02-28 */
        1078012800,  /* 2004-02-29 */
        1704067200,  /* 2024-01-01 */
        1709164800,  /* 2024-02-29 */
        1700000000,  /* 2023-11-14T22:13:20 */
        4102444800,  /* 2100-01-01 */
        18446744073, /* 2554-07-21T23:34:33, the last second of 64-bit ns */
    };
    const fk_field_t *ft = &g_fields[1];
    fk_buf_t a, b;
    rec_t r;

    memset(&r, 0, sizeof(r));
    assert_int_equal(fk_buf_init(&a, NULL, 64), 0);
    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    for (int i = 0; i < 200000; i++) {
        uint64_t e = edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
        uint64_t s = e + rnd() % 3 - (e > 0); /* the second before, at or after */
        uint64_t ns = rnd() % 4 == 0 ? (rnd() % 2 ? 0 : 999999999) : rnd() % 1000000000;
        if (s > UINT64_MAX / 1000000000ULL || s * 1000000000ULL > UINT64_MAX - ns ||
            rnd() % 64 == 0)
            r.time = UINT64_MAX; /* past 2^64 ns: the last one */
        else
            r.time = s * 1000000000ULL + ns;
        reset(&a);
        reset(&b);
        fk_field_csv(&a, ft, &r);
        fk_buf_time_us(&b, r.time);
        assert_int_equal(a.len, 26);
        if (memcmp(a.data, b.data, 26) != 0)
            fail_msg("time %" PRIu64 ": got '%s', want '%s'", r.time, text(&a), text(&b));
    }
    fk_buf_free(&a);
    fk_buf_free(&b);
}

/* A record's extremes now and then: largest numbers, zero, all-ones and short IPv6. */
static void edge_rec(rec_t *r)
{
    static const uint8_t ips[][16] = {
        {0}, /* :: */
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255},
        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10},
    };

    switch (rnd() % 4) {
    case 0:
        r->u64 = UINT64_MAX;
        r->u32 = UINT32_MAX;
        r->u16 = UINT16_MAX;
        r->u8 = UINT8_MAX;
        r->i8 = INT8_MIN;
        break;
    case 1:
        r->u64 = r->u32 = r->u16 = r->u8 = 0;
        r->i8 = 0;
        memset(r->mac, 0, sizeof(r->mac));
        break;
    default:
        r->u64 = rnd() >> (rnd() % 64);
        r->u32 = (uint32_t)(rnd() >> (rnd() % 64));
        r->u16 = (uint16_t)(rnd() >> (rnd() % 64));
        r->u8 = (uint8_t)(rnd() >> (rnd() % 64));
        memset(r->mac, 0xff, sizeof(r->mac));
        break;
    }
    memcpy(r->ip, ips[rnd() % (sizeof(ips) / sizeof(ips[0]))], 16);
    if (rnd() % 4 == 0) { /* a CSV string's longest text: every byte a doubled quote, no NUL */
        memset(r->s1, '"', sizeof(r->s1));
        memset(r->s7, '"', sizeof(r->s7));
        memset(r->s64, '"', sizeof(r->s64));
        memset(r->s600, '"', sizeof(r->s600));
    }
}

/*
 * A row three ways: fk_fields_csv_row, the segments csv.c compiles per row
 * shape (fk_csv_segs_compile, fk_fields_csv_segs: each column written by its
 * type's case without a check each) and field by field with fk_field_csv,
 * the reference.  The segments also go to a small FILE-backed buffer, which
 * flushes between rows and is too small for the worst case of the widest
 * rows: those take the checked path.
 */
static void test_csv_row(void **state)
{
    (void)state;
    const fk_field_t *fields[NFIELDS];
    const void *bases[NFIELDS];
    fk_text_t fixed[NFIELDS];
    rec_t r[2];
    fk_buf_t a, b, c, all;
    FILE *f = tmpfile();
    int big = 0, small = 0;

    assert_non_null(f);
    assert_int_equal(fk_buf_init(&a, NULL, 64), 0);
    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    assert_int_equal(fk_buf_init(&c, f, 4096), 0);
    assert_int_equal(fk_buf_init(&all, NULL, 4096), 0);
    for (int it = 0; it < 20000; it++) {
        fill_rec(&r[0]);
        fill_rec(&r[1]);
        if (rnd() % 4 == 0)
            edge_rec(&r[rnd() % 2]);
        size_t n = (size_t)(rnd() % (NFIELDS + 1));
        for (size_t i = 0; i < n; i++) {
            fields[i] = &g_fields[rnd() % NFIELDS];
            bases[i] = rnd() % 4 ? &r[rnd() % 2] : NULL; /* NULL: the fixed text */
            fixed[i].s = &"\"\"|0|[]"[rnd() % 6];
            fixed[i].n = strlen(fixed[i].s);
        }
        reset(&a);
        reset(&b);
        fk_fields_csv_row(&a, fields, bases, fixed, n);
        for (size_t i = 0; i < n; i++) {
            if (i)
                fk_buf_putc(&b, ',');
            if (bases[i])
                fk_field_csv(&b, fields[i], bases[i]);
            else
                fk_buf_put(&b, fixed[i].s, fixed[i].n);
        }
        fk_buf_putc(&b, '\n');
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);

        /* The same row as segments (fk_fields_csv_segs, what csv.c compiles
         * per row shape): fixed columns and separators merged into runs. */
        static char stext[NFIELDS * 8 + 2];
        fk_csv_seg_t seg[NFIELDS + 1];
        const void *rb[2] = {&r[0], &r[1]};
        size_t tl = 0, start = 0, ns = 0;
        for (size_t i = 0; i < n; i++) {
            if (i)
                stext[tl++] = ',';
            if (bases[i]) {
                seg[ns++] = (fk_csv_seg_t){.s = stext + start,
                                           .n = (uint32_t)(tl - start),
                                           .col = (int32_t)i,
                                           .base = bases[i] == &r[0] ? 0u : 1u};
                start = tl;
            } else {
                memcpy(stext + tl, fixed[i].s, fixed[i].n);
                tl += fixed[i].n;
            }
        }
        stext[tl++] = '\n';
        seg[ns++] = (fk_csv_seg_t){.s = stext + start, .n = (uint32_t)(tl - start), .col = -1};
        reset(&a);
        size_t row = fk_csv_segs_compile(seg, ns, fields);
        fk_fields_csv_segs(&a, rb, seg, ns, row);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            fail_msg("segments: got '%s', want '%s'", text(&a), text(&b));
        assert_true(a.len <= row);
        /* In a block of exactly `row` bytes: the writers' scratch stores stay
         * inside the reservation (a sanitizer build sees any byte past it). */
        fk_buf_t e = {.data = malloc(row), .cap = row};
        assert_non_null(e.data);
        fk_fields_csv_segs(&e, rb, seg, ns, row);
        assert_int_equal(e.cap, row); /* not grown */
        assert_int_equal(e.len, b.len);
        assert_memory_equal(e.data, b.data, e.len);
        fk_buf_free(&e);
        fk_fields_csv_segs(&c, rb, seg, ns, row);
        fk_buf_put(&all, b.data, b.len);
        if (row > c.cap)
            big++;
        else
            small++;
    }
    assert_true(big > 100 && small > 100); /* both paths taken */
    assert_int_equal(fk_buf_flush(&c), 0);
    assert_int_equal(ftell(f), (long)all.len);
    rewind(f);
    char *got = malloc(all.len + 1);
    assert_non_null(got);
    assert_int_equal(fread(got, 1, all.len + 1, f), all.len);
    assert_memory_equal(got, all.data, all.len);
    free(got);
    fclose(f);
    fk_buf_free(&a);
    fk_buf_free(&b);
    fk_buf_free(&c);
    fk_buf_free(&all);
}

/*
 * fk_field_room: reserved first, it keeps a FILE-backed buffer from
 * flushing inside the field (text.c counts a field's bytes this way).
 */
static void test_room_no_flush(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    fk_buf_t b;
    rec_t r;

    assert_non_null(f);
    assert_int_equal(fk_buf_init(&b, f, 4096), 0);
    for (int it = 0; it < 5000; it++) {
        fill_rec(&r);
        const fk_field_t *fl = &g_fields[rnd() % NFIELDS];
        b.len = (size_t)(rnd() % b.cap); /* any fill level */
        fk_buf_reserve(&b, fk_field_room(fl));
        size_t start = b.len;
        switch (rnd() % 3) {
        case 0:
            fk_field_csv(&b, fl, &r);
            break;
        case 1:
            fk_field_text(&b, fl, &r);
            break;
        default:
            fk_field_json(&b, fl, &r);
        }
        assert_true(b.len >= start); /* no flush restarted the block */
    }
    b.len = 0;
    fk_buf_free(&b);
    fclose(f);
}

/* ------------------------------------------------------------------------ */
/* Lazy records: clear and copy through the table.                           */

static void print_all(fk_buf_t *b, const void *rec)
{
    for (size_t f = 0; f < NFIELDS; f++) {
        if (g_fields[f].type == FK_T_DOUBLE)
            continue; /* not cleared or copied specially: a fixed field like the rest */
        fk_field_csv(b, &g_fields[f], rec);
        fk_field_json(b, &g_fields[f], rec);
        fk_buf_putc(b, ';');
    }
}

static void test_record_clear(void **state)
{
    (void)state;
    fk_buf_t a, b;
    rec_t r, zero;

    memset(&zero, 0, sizeof(zero));
    assert_int_equal(fk_buf_init(&a, NULL, 64), 0);
    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    for (int it = 0; it < 5000; it++) {
        /* Garbage, cleared: prints as the all-zero record. */
        fill_rec(&r);
        fk_record_clear(g_fields, NFIELDS, &r);
        reset(&a);
        reset(&b);
        print_all(&a, &r);
        print_all(&b, &zero);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        assert_int_equal(r.dbl, 0);
    }
    fk_buf_free(&a);
    fk_buf_free(&b);
}

/*
 * fk_record_clear against the rule it documents, byte for byte: random
 * tables (every type; fields adjacent, apart, overlapping; up to 60 fields,
 * so some tables have more runs than a compiled clear holds and go field by
 * field), more tables than its per-thread cache keeps (entries replaced and
 * rebuilt), each table kept unchanged once made, as the function requires.
 * Everything the rule does not name must keep its bytes.
 */
#define RC_TABLES 80
#define RC_REC    700

static void rc_reference(const fk_field_t *f, size_t n, uint8_t *r)
{
    static const uint8_t size[FK_T_COUNT_] = {
        [FK_T_U8] = 1,    [FK_T_I8] = 1,     [FK_T_U16] = 2,  [FK_T_U32] = 4, [FK_T_U64] = 8,
        [FK_T_FLOAT] = 4, [FK_T_DOUBLE] = 8, [FK_T_TIME] = 8, [FK_T_MAC] = 6, [FK_T_IP] = 16,
    };
    for (size_t i = 0; i < n; i++) {
        fk_ftype_t t = (fk_ftype_t)f[i].type;
        if (t == FK_T_STR)
            r[f[i].off] = 0;
        else if (t == FK_T_BYTES || fk_ftype_is_array(t))
            memset(r + f[i].cnt_off, 0, 2);
        else
            memset(r + f[i].off, 0, size[t]);
    }
}

static void test_record_clear_runs(void **state)
{
    (void)state;
    fk_field_t *tab[RC_TABLES];
    size_t ntab[RC_TABLES];
    uint8_t a[RC_REC], b[RC_REC];

    for (int k = 0; k < RC_TABLES; k++) {
        ntab[k] = k < 8 ? (size_t)k : 1 + rnd() % 60;
        tab[k] = calloc(ntab[k] ? ntab[k] : 1, sizeof(fk_field_t));
        assert_non_null(tab[k]);
        /* Packed tables (adjacent runs to merge) and scattered ones. */
        unsigned at = 0, spread = (unsigned)(rnd() % 3);
        for (size_t i = 0; i < ntab[k]; i++) {
            fk_field_t *f = &tab[k][i];
            f->type = (uint8_t)(rnd() % FK_T_COUNT_);
            if (spread == 0)
                at = (unsigned)(rnd() % (RC_REC - 16));
            else
                at = (at + (unsigned)(rnd() % (spread == 1 ? 3 : 40))) % (RC_REC - 16);
            f->off = (uint16_t)at;
            f->cnt_off = (uint16_t)(rnd() % (RC_REC - 2));
            f->cap = 1;
            at += 8;
        }
    }
    for (int it = 0; it < 20000; it++) {
        int k = (int)(rnd() % RC_TABLES);
        for (size_t i = 0; i < RC_REC; i++)
            a[i] = (uint8_t)(rnd() | 1); /* no zero byte: every clear shows */
        memcpy(b, a, sizeof(a));
        fk_record_clear(tab[k], ntab[k], a);
        rc_reference(tab[k], ntab[k], b);
        if (memcmp(a, b, sizeof(a)) != 0)
            fail_msg("table %d (%zu fields), iteration %d: clears differ", k, ntab[k], it);
    }
    for (int k = 0; k < RC_TABLES; k++)
        free(tab[k]);
}

/*
 * fk_fmt_f6 against glibc's printf("%f") itself: random bit patterns (all
 * exponents: subnormals, huge values, NaN and infinities must fall back),
 * random floats widened to double (what FK_T_FLOAT prints), values near the
 * 2^63 / 10^6 limit, and exact ties (odd multiples of 2^-7 .. 2^-20 scaled
 * so the seventh decimal is exactly 5), which printf rounds to even.
 */
static void f6_check(double v)
{
    char want[512], got[FK_FMT_F6_MAX + 1];
    size_t n = fk_fmt_f6(got, v);

    snprintf(want, sizeof(want), "%f", v);
    if (n == 0) {
        /* Only out of range: not finite, or |v| * 10^6 at 2^63 or beyond. */
        assert_true(v != v || v - v != 0 || v >= 9.2e12 || v <= -9.2e12);
        return;
    }
    got[n] = 0;
    if (strcmp(got, want) != 0)
        fail_msg("fk_fmt_f6(%a) = \"%s\", printf says \"%s\"", v, got, want);
}

static void test_fmt_f6(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static const double edge[] = {0.0,
                                  -0.0,
                                  0.5e-6,
                                  0.4999999e-6,
                                  1e-7,
                                  0.0078125,
                                  0.0234375,
                                  1.0000005,
                                  2.5e-6,
                                  3.5e-6,
                                  123456.7890125,
                                  9.2e12,
                                  -9.2e12,
                                  9223372036854.775,
                                  1e300,
                                  4.9e-324,
                                  -1.5,
                                  1e15};

    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
        f6_check(edge[i]);
    for (int i = 0; i < 100000; i++) {
        double d;
        float f;
        uint32_t w;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        memcpy(&d, &x, sizeof(d));
        f6_check(d);
        w = (uint32_t)(x >> 11);
        memcpy(&f, &w, sizeof(f));
        f6_check((double)f);
        /* Magnitudes a flow statistic has: 1e-9 .. 1e12, both signs. */
        f6_check((double)(int64_t)(x >> 20) / (double)(1ULL << (x % 50)));
        /* Exact ties: k / 2^s with the seventh decimal a 5 (s = 7 .. 20). */
        unsigned sh = 7 + (unsigned)(x % 14);
        f6_check((double)((x >> 8) % 100000000) * 15625.0 / (double)(1ULL << sh) / 1e6);
        f6_check((double)(((x >> 8) % 1000) * 2 + 1) / (double)(1ULL << sh));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_u64),       cmocka_unit_test(test_fmt_ip6),
        cmocka_unit_test(test_fmt_f6),        cmocka_unit_test(test_writers_match_reference),
        cmocka_unit_test(test_time_sequence), cmocka_unit_test(test_time_boundaries),
        cmocka_unit_test(test_csv_row),       cmocka_unit_test(test_room_no_flush),
        cmocka_unit_test(test_record_clear),  cmocka_unit_test(test_record_clear_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
