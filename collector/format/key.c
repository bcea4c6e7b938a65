/*
 * key.c - GoFlow2's Kafka key: FNV-32 of the Go %v text of the key fields,
 * and sarama's hash partitioner (see key.h for the rules and their sources).
 *
 * The text is never built on the hot path: each piece goes straight into the
 * hash (or into a buffer, for tests and debugging) through one small sink.
 */
#include "key.h"

#include <string.h>

#include "format.h"

uint32_t fc_fnv1_32(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h *= FC_FNV32_PRIME;
        h ^= b[i];
    }
    return h;
}

uint32_t fc_fnv1a_32(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FC_FNV32_PRIME;
    }
    return h;
}

int32_t fc_key_partition(const uint8_t *key, size_t len, int32_t partitions)
{
    if (partitions <= 0)
        return 0;
    /* Go: int32(h) % n truncates toward zero, as C does; sarama then negates
     * a negative remainder (hashPartitioner without referenceAbs). */
    int32_t r = (int32_t)fc_fnv1a_32(FC_FNV32_OFFSET, key, len) % partitions;
    return r < 0 ? -r : r;
}

/* ---- the %v text, into a hash or a buffer -------------------------------- */

typedef struct sink_st {
    uint32_t h;
    fk_buf_t *b; /* NULL: hash only */
} sink_t;

static void put(sink_t *s, const char *p, size_t n)
{
    if (s->b)
        fk_buf_put(s->b, p, n);
    else
        s->h = fc_fnv1_32(s->h, p, n);
}

static void put_u64(sink_t *s, uint64_t v)
{
    char d[20];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(s, d + i, sizeof(d) - i);
}

static void put_str(sink_t *s, const char *str)
{
    put(s, str, strlen(str));
}

/* Go %v of a []byte: "[10 0 0 1]", "[]" when empty. */
static void put_bytes(sink_t *s, const fc_addr_t *a)
{
    put(s, "[", 1);
    for (unsigned i = 0; i < a->len && i < sizeof(a->a); i++) {
        if (i)
            put(s, " ", 1);
        put_u64(s, a->a[i]);
    }
    put(s, "]", 1);
}

/* An enum prints its name (String()), or its number when it has none. */
static void put_enum(sink_t *s, const char *name, uint32_t v)
{
    if (name)
        put_str(s, name);
    else
        put_u64(s, v);
}

static void put_column(sink_t *s, const fc_column_t *c, const fc_flow_t *f)
{
    const uint8_t *base = (const uint8_t *)f;
    uint16_t cnt = 0;

    if (c->cnt_off != FC_NO_OFF) {
        memcpy(&cnt, base + c->cnt_off, sizeof(cnt));
        if (cnt > c->cap)
            cnt = c->cap;
    }
    switch (c->kind) {
    case FC_K_ENUM8: {
        uint8_t v;
        memcpy(&v, base + c->off, 1);
        put_enum(s, fc_flow_type_name(v), v);
        break;
    }
    case FC_K_U32: {
        uint32_t v;
        memcpy(&v, base + c->off, sizeof(v));
        put_u64(s, v);
        break;
    }
    case FC_K_U64: {
        uint64_t v;
        memcpy(&v, base + c->off, sizeof(v));
        put_u64(s, v);
        break;
    }
    case FC_K_ADDR: {
        fc_addr_t a;
        memcpy(&a, base + c->off, sizeof(a));
        put_bytes(s, &a);
        break;
    }
    case FC_K_A_U32:
    case FC_K_A_ENUM:
        put(s, "[", 1);
        for (uint16_t i = 0; i < cnt; i++) {
            uint32_t v;
            memcpy(&v, base + c->off + (size_t)i * sizeof(v), sizeof(v));
            if (i)
                put(s, " ", 1);
            if (c->kind == FC_K_A_ENUM)
                put_enum(s, fc_layer_name(v), v);
            else
                put_u64(s, v);
        }
        put(s, "]", 1);
        break;
    case FC_K_A_ADDR:
        put(s, "[", 1);
        for (uint16_t i = 0; i < cnt; i++) {
            fc_addr_t a;
            memcpy(&a, base + c->off + (size_t)i * sizeof(a), sizeof(a));
            if (i)
                put(s, " ", 1);
            put_bytes(s, &a);
        }
        put(s, "]", 1);
        break;
    default: /* virtual columns are refused by fc_key_parse */
        break;
    }
}

void fc_key_text(fk_buf_t *b, const fc_key_t *k, const fc_flow_t *f)
{
    sink_t s = {0, b};
    for (unsigned i = 0; i < k->n; i++)
        put_column(&s, &fc_columns[k->col[i]], f);
}

uint32_t fc_key_hash(const fc_key_t *k, const fc_flow_t *f)
{
    sink_t s = {FC_FNV32_OFFSET, NULL};
    for (unsigned i = 0; i < k->n; i++)
        put_column(&s, &fc_columns[k->col[i]], f);
    return s.h;
}

int fc_key_parse(fc_key_t *k, const char *list, fk_err_t *e)
{
    const char *p = list;

    memset(k, 0, sizeof(*k));
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char name[FC_FORMAT_MAX_NAME];
        /* trim blanks, so "src_addr, dst_addr" works */
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= sizeof(name))
            return fk_errf(e, "key field list '%s': empty or over-long name", list);
        memcpy(name, p, n);
        name[n] = '\0';
        int col = fc_column_find(name);
        if (col < 0 || fc_columns[col].kind == FC_K_VIRTUAL)
            return fk_errf(e, "key field %s does not exist", name);
        if (k->n == FC_KEY_MAX_FIELDS)
            return fk_errf(e, "key field list '%s': more than %d fields", list, FC_KEY_MAX_FIELDS);
        k->col[k->n++] = (uint8_t)col;
        p += n;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',')
            p++;
    }
    return 0;
}
