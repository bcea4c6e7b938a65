/*
 * registry.c - the element registry (built from flowprobe's field tables),
 * the per-record extra values, and their decoding back into flowprobe's
 * JSON/text value forms.
 *
 * Decoding mirrors flowprobe's IPFIX encoder (probe/output/ipfix.c) type by
 * type, and accepts the other encodings RFC 7011 allows for the same types:
 *   unsigned integers  1..8 bytes big-endian (6.2 reduced-size encoding)
 *   int8               1 byte
 *   float / double     4 (float32) or 8 (float64) bytes (6.2)
 *   time               IANA 154-157: 8-byte NTP timestamp (6.1.9, 6.1.10);
 *                      otherwise 8 bytes of milliseconds (dateTimeMilliseconds,
 *                      as ipfixprobe sends every enterprise time) or 4 bytes
 *                      of seconds (dateTimeSeconds)
 *   mac                6 bytes; ip 4 (IPv4) or 16 (IPv6) bytes
 *   string / bytes     any length, usually variable (7)
 *   arrays             RFC 6313 basicList of 1..8-byte unsigned elements
 *                      (int8 arrays 1 byte; time arrays 8-byte ms or 4-byte s)
 * A value whose length its type cannot have is not misread: the element is
 * kept as unknown ({pen, id, hex}).
 */
#include "registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../probe/flow.h"
#include "../../probe/plugin.h"
#include "decode.h"

#define REG_MAX    1024 /* fields in all tables together (the unit test checks) */
#define HASH_SLOTS 2048 /* power of two, > 2 * REG_MAX */

static fc_regent_t g_ent[REG_MAX];
static uint16_t g_next[REG_MAX];    /* chain: index + 1 of the next entry in the slot, 0 = end */
static uint16_t g_slot[HASH_SLOTS]; /* index + 1 of the first entry, 0 = empty */
static size_t g_n;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_ready; /* atomic: set (release) once build() is done */

static uint64_t g_dropped; /* atomic */

__thread fc_xscratch_t fc__xs;

static bool is_list(const fk_field_t *f)
{
    return fk_ftype_is_array((fk_ftype_t)f->type);
}

static bool is_var(const fk_field_t *f)
{
    return f->type == FK_T_STR || f->type == FK_T_BYTES;
}

static size_t slot_of(uint32_t pen, uint16_t id, bool list)
{
    uint64_t k = ((uint64_t)pen << 17) | ((uint64_t)id << 1) | (list ? 1u : 0u);
    k *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(k >> 53) & (HASH_SLOTS - 1);
}

static bool same_key(const fk_field_t *a, uint32_t pen, uint16_t id, bool list)
{
    return a->pen == pen && a->ie == id && is_list(a) == list;
}

static void add(const fk_field_t *f, const char *plugin)
{
    bool list = is_list(f);
    size_t s = slot_of(f->pen, f->ie, list);

    if (f->ie == 0)
        return; /* not exported in IPFIX (UniRec bookkeeping such as LINK_BIT_FIELD) */
    /* A field declared by two plugins (dns and passivedns share DNS_NAME,
     * DNS_ID ...) is one entry: same element, same type, same JSON name. */
    for (uint16_t i = g_slot[s]; i; i = g_next[i - 1]) {
        const fk_field_t *o = g_ent[i - 1].f;
        if (same_key(o, f->pen, f->ie, list) && o->type == f->type)
            return;
    }
    if (g_n == REG_MAX) {
        fk_warn("registry: more than %d fields; %s of %s left out", REG_MAX, f->name, plugin);
        return;
    }
    g_ent[g_n] = (fc_regent_t){f, plugin, NULL, 0};
    /* Append to the slot's chain so that the first declaration stays first. */
    uint16_t *pp = &g_slot[s];
    while (*pp)
        pp = &g_next[*pp - 1];
    *pp = (uint16_t)(g_n + 1);
    g_next[g_n] = 0;
    g_n++;
}

static void build(void)
{
    for (size_t i = 0; i < fp_basic_nfields; i++)
        add(&fp_basic_fields[i], "basic");
    for (size_t k = 0; fp_plugins[k]; k++)
        for (size_t j = 0; j < fp_plugins[k]->nfields; j++)
            add(&fp_plugins[k]->fields[j], fp_plugins[k]->name);
    /* JSON keys with their quotes and colon, made once: one copy per value
     * when records are printed. */
    for (size_t i = 0; i < g_n; i++) {
        size_t n = strlen(g_ent[i].f->json);
        char *k = calloc(1, n + 4 + FC_JKEY_PAD); /* room for whole-block copies */
        if (!k)
            continue; /* extras.c then writes the key piece by piece */
        k[0] = '"';
        memcpy(k + 1, g_ent[i].f->json, n);
        memcpy(k + 1 + n, "\":", 3); /* with the NUL */
        g_ent[i].jkey = k;
        g_ent[i].jkey_len = (uint16_t)(n + 3);
    }
    __atomic_store_n(&g_ready, 1, __ATOMIC_RELEASE);
}

/* The registry, built on first use (pthread_once only until it is built). */
static inline void ready(void)
{
    if (!__atomic_load_n(&g_ready, __ATOMIC_ACQUIRE))
        pthread_once(&g_once, build);
}

size_t fc_registry_count(void)
{
    ready();
    return g_n;
}

const fc_regent_t *fc_registry_at(size_t i)
{
    ready();
    return i < g_n ? &g_ent[i] : NULL;
}

const fc_regent_t *fc_registry_all(size_t *n)
{
    _Static_assert(REG_MAX < FC_XREG_UNKNOWN, "an unknown element's reg is past every entry");
    ready();
    *n = g_n;
    return g_ent;
}

/* Can a fixed-size field of type t hold a value of `len` bytes (or, for a
 * list, elements of `len` bytes)? */
static bool fixed_accepts(fk_ftype_t t, size_t len)
{
    switch (t) {
    case FK_T_U8:
    case FK_T_U16:
    case FK_T_U32:
    case FK_T_U64:
    case FK_T_A_U8:
    case FK_T_A_U16:
    case FK_T_A_U32:
    case FK_T_A_U64:
        return len >= 1 && len <= 8;
    case FK_T_I8:
    case FK_T_A_I8:
        return len == 1;
    case FK_T_FLOAT:
    case FK_T_DOUBLE:
    case FK_T_TIME:
    case FK_T_A_TIME:
        return len == 4 || len == 8;
    case FK_T_MAC:
        return len == 6;
    case FK_T_IP:
        return len == 4 || len == 16;
    default:
        return false;
    }
}

int fc_registry_find(uint32_t pen, uint16_t id, bool list, uint16_t tlen, size_t len)
{
    int fallback = -1;

    ready();
    for (uint16_t i = g_slot[slot_of(pen, id, list)]; i; i = g_next[i - 1]) {
        const fk_field_t *f = g_ent[i - 1].f;
        if (!same_key(f, pen, id, list))
            continue;
        if (list) {
            /* `tlen` is the basicList's element length. */
            if (tlen != FK_IPFIX_VARLEN && fixed_accepts((fk_ftype_t)f->type, tlen))
                return i - 1;
            continue;
        }
        if (is_var(f)) {
            if (tlen == FK_IPFIX_VARLEN)
                return i - 1; /* a variable-length field: strings and bytes first */
            if (fallback < 0)
                fallback = i - 1; /* a fixed-length string: only if nothing fits better */
        } else if (fixed_accepts((fk_ftype_t)f->type, len)) {
            if (tlen != FK_IPFIX_VARLEN)
                return i - 1;
            if (fallback < 0)
                fallback = i - 1;
        }
    }
    return fallback;
}

/* ------------------------------------------------------------ extra values */

bool fc__extras_off;

void fc_extras_use(bool on)
{
    fc__extras_off = !on;
}

void fc_extras_begin(fc_flow_t *f, bool first)
{
    if (first)
        fc__xs.used = 0;
    fc__xs.unknown = 0;
    f->extras = &fc__xs.v[fc__xs.used];
    f->n_extras = 0;
}

uint64_t fc_extras_dropped(void)
{
    return __atomic_load_n(&g_dropped, __ATOMIC_RELAXED);
}

void fc__extras_drop(fc_flow_t *f)
{
    f->truncated_lists++;
    __atomic_fetch_add(&g_dropped, 1, __ATOMIC_RELAXED);
}

void fc_extras_add(fc_flow_t *f, const fk_ipfix_ie_t *ie, const uint8_t *v, size_t len)
{
    uint32_t pen = ie->pen;
    uint16_t id = ie->id;
    int reg = -1;

    if (pen == 0 && id == 210)
        return; /* paddingOctets (RFC 7011 3.4.1 allows them in templates): no value */
    if (len > UINT16_MAX)
        len = UINT16_MAX; /* cannot happen: an IPFIX message is at most 65535 bytes */
    if (pen == 0 && id == FK_IPFIX_IE_BASICLIST) {
        uint8_t sem;
        fk_ipfix_ie_t el;
        const uint8_t *elems;
        size_t elen;
        if (fk_ipfix_basiclist(v, len, &sem, &el, &elems, &elen) == 0) {
            reg = fc_registry_find(el.pen, el.id, true, el.len, elen);
            if (reg >= 0) {
                pen = el.pen;
                id = el.id;
            }
        }
    } else {
        reg = fc_registry_find(pen, id, false, ie->len, len);
    }
    fc__extras_push(f, pen, id, reg, v, len);
}

int fc_extras_reg(const fk_ipfix_ie_t *ie)
{
    if (ie->len == FK_IPFIX_VARLEN || (ie->pen == 0 && ie->id == FK_IPFIX_IE_BASICLIST))
        return FC_EXTRAS_NO_REG;
    if (ie->pen == 0 && ie->id == 210)
        return FC_EXTRAS_SKIP;
    return fc_registry_find(ie->pen, ie->id, false, ie->len, ie->len);
}

/* ------------------------------------------------------------ values */

/* A scalar through flowprobe's own writers (lib/core/field.c), so the collector
 * prints exactly what `flowprobe -o json` / `-o text` prints for it. */
static void scalar(fk_buf_t *b, fk_ftype_t t, const void *base, int json)
{
    const fk_field_t tmp = {"", "", 0, 0, (uint8_t)t, 0, 0, 0, 0};
    if (json)
        fk_field_json(b, &tmp, base);
    else
        fk_field_text(b, &tmp, base);
}

/* Nanoseconds of a time value (see the table at the top). */
static uint64_t time_ns(uint32_t pen, uint16_t id, const uint8_t *p, size_t len)
{
    uint64_t v = fc_be_uint(p, len);
    if (len == 4)
        return v * 1000000000ULL; /* dateTimeSeconds */
    if (pen == 0 && id >= 154 && id <= 157)
        return fk_ipfix_ns_from_ntp(v); /* dateTimeMicro/Nanoseconds */
    return v * 1000000ULL;              /* dateTimeMilliseconds */
}

static void put_list(fk_buf_t *b, const fk_field_t *f, const fc_xval_t *x, int json)
{
    uint8_t sem;
    fk_ipfix_ie_t el;
    const uint8_t *e;
    size_t n;

    fk_buf_putc(b, '[');
    /* Checked when the value was added; checked again rather than trusted. */
    if (fk_ipfix_basiclist(x->p, x->len, &sem, &el, &e, &n) == 0 && el.len >= 1 && el.len <= 8) {
        for (size_t i = 0; i + el.len <= n; i += el.len) {
            uint64_t v = fc_be_uint(e + i, el.len);
            if (i)
                fk_buf_putc(b, json ? ',' : '|');
            if (f->type == FK_T_A_TIME) {
                uint64_t ns = el.len == 4 ? v * 1000000000ULL : v * 1000000ULL;
                scalar(b, FK_T_TIME, &ns, json);
            } else if (f->type == FK_T_A_I8) {
                uint8_t c = (uint8_t)v;
                scalar(b, FK_T_I8, &c, json);
            } else {
                fk_buf_u64(b, v); /* as fk_field_json/_text print unsigned elements */
            }
        }
    }
    fk_buf_putc(b, ']');
}

void fc_registry_value(fk_buf_t *b, const fc_xval_t *x, int json)
{
    const fk_field_t *f;
    const uint8_t *p = x->p;
    size_t len = x->len;

    ready();
    if (x->reg >= g_n)
        return;
    f = g_ent[x->reg].f;
    switch ((fk_ftype_t)f->type) {
    case FK_T_U8:
    case FK_T_U16:
    case FK_T_U32:
    case FK_T_U64:
        /* what fk_field_json/_text print for every unsigned type, called
         * directly: the most common extra value */
        fk_buf_u64(b, fc_be_uint(p, len));
        break;
    case FK_T_I8:
        scalar(b, FK_T_I8, p, json);
        break;
    case FK_T_FLOAT:
    case FK_T_DOUBLE:
        if (len == 4) {
            uint32_t bits = (uint32_t)fc_be_uint(p, 4);
            float v;
            memcpy(&v, &bits, 4);
            scalar(b, FK_T_FLOAT, &v, json);
        } else {
            uint64_t bits = fc_be_uint(p, 8);
            double v;
            memcpy(&v, &bits, 8);
            scalar(b, FK_T_DOUBLE, &v, json);
        }
        break;
    case FK_T_TIME: {
        uint64_t ns = time_ns(x->pen, x->id, p, len);
        scalar(b, FK_T_TIME, &ns, json);
        break;
    }
    case FK_T_MAC:
        scalar(b, FK_T_MAC, p, json);
        break;
    case FK_T_IP: {
        /* flowprobe keeps IPv4 IPv4-mapped (field.h); so does the value here. */
        uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (len == 4)
            memcpy(a + 12, p, 4);
        else
            memcpy(a, p, 16);
        scalar(b, FK_T_IP, a, json);
        break;
    }
    case FK_T_STR:
        if (json) {
            fk_buf_json_str(b, (const char *)p, len);
        } else {
            /* As fk_field_text: printable ASCII only, so a hostile string
             * cannot break the line. */
            for (size_t i = 0; i < len; i++)
                if (p[i] >= 0x20 && p[i] < 0x7f)
                    fk_buf_putc(b, (char)p[i]);
        }
        break;
    case FK_T_BYTES:
        if (json)
            fk_buf_putc(b, '"');
        fk_buf_hex(b, p, len);
        if (json)
            fk_buf_putc(b, '"');
        break;
    default:
        put_list(b, f, x, json);
        break;
    }
}
