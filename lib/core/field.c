/*
 * field.c - value writers for the declarative field tables.
 */
#include "field.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *unirec;
    uint8_t sortsize; /* UniRec template order; 0 = variable size */
    uint8_t size;     /* fixed size in bytes */
    uint8_t esize;    /* array element size */
} g_types[FK_T_COUNT_] = {
    [FK_T_U8] = {"uint8", 1, 1, 0},         [FK_T_I8] = {"int8", 1, 1, 0},
    [FK_T_U16] = {"uint16", 2, 2, 0},       [FK_T_U32] = {"uint32", 4, 4, 0},
    [FK_T_U64] = {"uint64", 8, 8, 0},       [FK_T_FLOAT] = {"float", 4, 4, 0},
    [FK_T_DOUBLE] = {"double", 8, 8, 0},    [FK_T_TIME] = {"time", 8, 8, 0},
    [FK_T_MAC] = {"macaddr", 6, 6, 0},      [FK_T_IP] = {"ipaddr", 16, 16, 0},
    [FK_T_STR] = {"string", 0, 0, 1},       [FK_T_BYTES] = {"bytes", 0, 0, 1},
    [FK_T_A_U8] = {"uint8*", 0, 0, 1},      [FK_T_A_I8] = {"int8*", 0, 0, 1},
    [FK_T_A_U16] = {"uint16*", 0, 0, 2},    [FK_T_A_U32] = {"uint32*", 0, 0, 4},
    [FK_T_A_U64] = {"uint64*", 0, 0, 8},    [FK_T_A_TIME] = {"time*", 0, 0, 8},
};

const char *fk_ftype_unirec(fk_ftype_t t)
{
    return t < FK_T_COUNT_ ? g_types[t].unirec : "?";
}

unsigned fk_ftype_sortsize(fk_ftype_t t)
{
    return t < FK_T_COUNT_ ? g_types[t].sortsize : 0;
}

unsigned fk_ftype_size(fk_ftype_t t)
{
    return t < FK_T_COUNT_ ? g_types[t].size : 0;
}

/* Struct members are read by memcpy: the record may be packed into a slab. */
#define LOAD(type, base, off)                                                                      \
    ({                                                                                             \
        type v_;                                                                                   \
        memcpy(&v_, (const uint8_t *)(base) + (off), sizeof(v_));                                  \
        v_;                                                                                        \
    })

uint16_t fk_field_count(const fk_field_t *f, const void *base)
{
    uint16_t n = LOAD(uint16_t, base, f->cnt_off);
    return n > f->cap ? f->cap : n; /* a count can never make a writer over-read */
}

unsigned fk_ftype_esize(fk_ftype_t t)
{
    return fk_ftype_is_array(t) ? g_types[t].esize : 0;
}

uint64_t fk_field_u64(const fk_field_t *f, const void *base, size_t i)
{
    fk_ftype_t t = (fk_ftype_t)f->type;
    unsigned sz = fk_ftype_is_array(t) ? g_types[t].esize : g_types[t].size;
    const uint8_t *p = (const uint8_t *)base + f->off + i * sz;

    switch (sz) {
    case 1:
        return *p;
    case 2:
        return LOAD(uint16_t, p, 0);
    case 4:
        return LOAD(uint32_t, p, 0);
    case 8:
        return LOAD(uint64_t, p, 0);
    default:
        return 0;
    }
}

/* One array element or scalar, as a number (shared by all three writers). */
static void put_elem(fk_buf_t *b, fk_ftype_t t, const uint8_t *p, int time_as_ns)
{
    switch (t) {
    case FK_T_U8:
    case FK_T_A_U8:
        fk_buf_u64(b, *p);
        break;
    case FK_T_I8:
    case FK_T_A_I8:
        fk_buf_i64(b, (int8_t)*p);
        break;
    case FK_T_U16:
    case FK_T_A_U16:
        fk_buf_u64(b, LOAD(uint16_t, p, 0));
        break;
    case FK_T_U32:
    case FK_T_A_U32:
        fk_buf_u64(b, LOAD(uint32_t, p, 0));
        break;
    case FK_T_U64:
    case FK_T_A_U64:
        fk_buf_u64(b, LOAD(uint64_t, p, 0));
        break;
    case FK_T_FLOAT:
        fk_buf_printf(b, "%f", (double)LOAD(float, p, 0));
        break;
    case FK_T_DOUBLE:
        fk_buf_printf(b, "%f", LOAD(double, p, 0));
        break;
    case FK_T_TIME:
    case FK_T_A_TIME:
        if (time_as_ns)
            fk_buf_u64(b, LOAD(uint64_t, p, 0));
        else
            fk_buf_time_us(b, LOAD(uint64_t, p, 0));
        break;
    default:
        break;
    }
}

static size_t str_len(const fk_field_t *f, const char *s)
{
    const char *nul = memchr(s, '\0', f->cap);
    return nul ? (size_t)(nul - s) : f->cap;
}

/* mode: 0 csv, 1 text */
static void put_plain(fk_buf_t *b, const fk_field_t *f, const void *base, int text)
{
    const uint8_t *p = (const uint8_t *)base + f->off;
    fk_ftype_t t = (fk_ftype_t)f->type;

    switch (t) {
    case FK_T_MAC:
        fk_buf_mac(b, p);
        break;
    case FK_T_IP:
        fk_buf_ip(b, p);
        break;
    case FK_T_STR: {
        /* The NEMEA logger drops non-printable and non-ASCII bytes; so do we,
         * which also keeps a hostile string from breaking the CSV row. */
        const char *s = (const char *)p;
        size_t n = str_len(f, s);
        if (!text)
            fk_buf_putc(b, '"');
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"' && !text)
                fk_buf_putc(b, '"'); /* RFC 4180 and UniRec's CSV: a quote is doubled */
            if (c >= 0x20 && c < 0x7f)
                fk_buf_putc(b, (char)c);
        }
        if (!text)
            fk_buf_putc(b, '"');
        break;
    }
    case FK_T_BYTES:
        fk_buf_hex(b, p, fk_field_count(f, base));
        break;
    case FK_T_A_U8:
    case FK_T_A_I8:
    case FK_T_A_U16:
    case FK_T_A_U32:
    case FK_T_A_U64:
    case FK_T_A_TIME: {
        uint16_t n = fk_field_count(f, base);
        fk_buf_putc(b, '[');
        for (uint16_t i = 0; i < n; i++) {
            if (i)
                fk_buf_putc(b, '|');
            put_elem(b, t, p + (size_t)i * g_types[t].esize, 0);
        }
        fk_buf_putc(b, ']');
        break;
    }
    default:
        put_elem(b, t, p, 0);
    }
}

void fk_field_csv(fk_buf_t *b, const fk_field_t *f, const void *base)
{
    put_plain(b, f, base, 0);
}

void fk_field_text(fk_buf_t *b, const fk_field_t *f, const void *base)
{
    put_plain(b, f, base, 1);
}

void fk_field_json(fk_buf_t *b, const fk_field_t *f, const void *base)
{
    const uint8_t *p = (const uint8_t *)base + f->off;
    fk_ftype_t t = (fk_ftype_t)f->type;

    switch (t) {
    case FK_T_MAC:
        fk_buf_putc(b, '"');
        fk_buf_mac(b, p);
        fk_buf_putc(b, '"');
        break;
    case FK_T_IP:
        fk_buf_putc(b, '"');
        fk_buf_ip(b, p);
        fk_buf_putc(b, '"');
        break;
    case FK_T_STR:
        fk_buf_json_str(b, (const char *)p, str_len(f, (const char *)p));
        break;
    case FK_T_BYTES:
        fk_buf_putc(b, '"');
        fk_buf_hex(b, p, fk_field_count(f, base));
        fk_buf_putc(b, '"');
        break;
    case FK_T_A_U8:
    case FK_T_A_I8:
    case FK_T_A_U16:
    case FK_T_A_U32:
    case FK_T_A_U64:
    case FK_T_A_TIME: {
        uint16_t n = fk_field_count(f, base);
        fk_buf_putc(b, '[');
        for (uint16_t i = 0; i < n; i++) {
            if (i)
                fk_buf_putc(b, ',');
            put_elem(b, t, p + (size_t)i * g_types[t].esize, 1);
        }
        fk_buf_putc(b, ']');
        break;
    }
    default:
        /* JSON times are integer nanoseconds, as GoFlow2's time_flow_start_ns. */
        put_elem(b, t, p, 1);
    }
}

static int unirec_cmp(const void *a, const void *b)
{
    const fk_field_t *fa = *(const fk_field_t *const *)a;
    const fk_field_t *fb = *(const fk_field_t *const *)b;
    unsigned sa = fk_ftype_sortsize((fk_ftype_t)fa->type);
    unsigned sb = fk_ftype_sortsize((fk_ftype_t)fb->type);

    if (sa != sb) {
        if (sa == 0 || sb == 0)
            return sa == 0 ? 1 : -1; /* variable-size after fixed-size */
        return sa > sb ? -1 : 1;     /* larger first */
    }
    if (sa == 0) {
        /*
         * UniRec gives variable-size types negative sizes (-1 for string,
         * bytes and 1-byte arrays, -2 for uint16*, -8 for time*, ...) and
         * sorts them by that size too, descending: so by element size,
         * smallest first ("string TLS_SNI" before "uint16* TLS_EXT_LEN").
         */
        unsigned ea =
            fk_ftype_is_array((fk_ftype_t)fa->type) ? fk_ftype_esize((fk_ftype_t)fa->type) : 1;
        unsigned eb =
            fk_ftype_is_array((fk_ftype_t)fb->type) ? fk_ftype_esize((fk_ftype_t)fb->type) : 1;
        if (ea != eb)
            return ea < eb ? -1 : 1;
    }
    return strcmp(fa->name, fb->name);
}

void fk_fields_unirec_sort(const fk_field_t **v, size_t n)
{
    qsort(v, n, sizeof(*v), unirec_cmp);
}
