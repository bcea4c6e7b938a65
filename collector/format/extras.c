/*
 * extras.c - a record's extra values in JSON and text (extras.h).  The values
 * themselves are decoded and written by the element registry
 * (decode/registry.c), through flowprobe's own value writers.
 */
#include "extras.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "../decode/decode.h"
#include "../decode/registry.h"

/* A literal's bytes at p (its size known at compile time: one fixed copy). */
#define PUT_LIT(p, lit) (__builtin_memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/*
 * JSON extras by layout.  What a record's extra values print is constant text
 * between the values (keys, the unknown elements' pen and id) as long as the
 * elements, their lengths and their registry entries are those of the record
 * before - the same template, in practice always.  So the last layout is kept
 * per thread, compiled: its text, steps (text, then one value) and bound, and
 * a record of the same layout is its steps.  Layouts that do not fit (many
 * values, long texts) and records with no column before the extras go the
 * general way (format_general).
 */
enum {
    XK_NONE,
    XK_U64,
    XK_HEX,
    XK_VALUE
}; /* a step's value: none, a number, hex, the registry's */

#define XL_MAX  64   /* values of a layout */
#define XL_TEXT 4096 /* bytes of its text */
#define XL_BLOCK \
    32 /* texts up to this long are one block, up to twice that two (the text is padded) */

typedef struct xstep_st {
    uint16_t text, len; /* in the layout's text */
    uint8_t kind;       /* XK_* */
    uint8_t idx;        /* the value (index in the record's extras) */
} xstep_t;

typedef struct xlayout_st {
    unsigned n;           /* values; 0: no layout (n_extras is never 0 here) */
    uint64_t key[XL_MAX]; /* per value: pen, id and len, as the 8 bytes at &pen */
    uint16_t reg[XL_MAX];
    size_t bound; /* reserve of a record of this layout */
    unsigned nstep;
    xstep_t st[2 * XL_MAX + 1];
    char text[XL_TEXT + 2 * XL_BLOCK];
} xlayout_t;
static __thread xlayout_t xlayout;

_Static_assert(offsetof(fc_xval_t, len) == offsetof(fc_xval_t, pen) + 6 &&
                   offsetof(fc_xval_t, id) == offsetof(fc_xval_t, pen) + 4,
               "a layout key is the 8 bytes of pen, id and len");

static inline uint64_t xkey(const fc_xval_t *x)
{
    uint64_t k;
    memcpy(&k, &x->pen, 8);
    return k;
}

/* Whether f's extras have the layout l (inline, per record). */
static inline bool same_layout(const xlayout_t *l, const fc_flow_t *f)
{
    const fc_xval_t *x = f->extras;
    unsigned n = l->n;
    if (n != f->n_extras)
        return false;
    for (unsigned i = 0; i < n; i++)
        if (xkey(&x[i]) != l->key[i] || x[i].reg != l->reg[i])
            return false;
    return true;
}

/* Compile f's layout into l: 0, or -1 when it does not fit (l then holds none). */
static int compile_layout(xlayout_t *l, const fc_flow_t *f)
{
    size_t nreg, len = 0, bytes = 0, from = 0;
    const fc_regent_t *reg = fc_registry_all(&nreg);
    unsigned n = f->n_extras, unknown = 0, ns = 0;
    char *t = l->text;

    l->n = 0;
    if (n > XL_MAX)
        return -1;
#define TEXT(s, sl)                 \
    do {                            \
        if (len + (sl) > XL_TEXT)   \
            return -1;              \
        memcpy(t + len, (s), (sl)); \
        len += (sl);                \
    } while (0)
#define STEP(kind, i)                                                                          \
    do {                                                                                       \
        l->st[ns++] = (xstep_t){(uint16_t)from, (uint16_t)(len - from), (kind), (uint8_t)(i)}; \
        from = len;                                                                            \
    } while (0)
    for (unsigned i = 0; i < n; i++) {
        const fc_xval_t *x = &f->extras[i];
        l->key[i] = xkey(x);
        l->reg[i] = x->reg;
        bytes += x->len;
        if (x->reg >= nreg) {
            unknown++;
            continue;
        }
        const fc_regent_t *r = &reg[x->reg];
        TEXT(",\"", 2);
        TEXT(r->f->json, strlen(r->f->json));
        TEXT("\":", 2);
        switch ((fk_ftype_t)r->f->type) {
        case FK_T_U8:
        case FK_T_U16:
        case FK_T_U32:
        case FK_T_U64:
            STEP(XK_U64, i);
            break;
        default:
            STEP(XK_VALUE, i);
            break;
        }
    }
    if (unknown) {
        char num[2 * FK_U64_ROOM];
        unsigned k = 0;
        TEXT(",\"unknown_elements\":[", 21);
        for (unsigned i = 0; i < n; i++) {
            const fc_xval_t *x = &f->extras[i];
            if (x->reg < nreg)
                continue;
            if (k++)
                TEXT(",", 1);
            TEXT("{\"pen\":", 7);
            TEXT(num, (size_t)(fk_put_u64(num, x->pen) - num));
            TEXT(",\"id\":", 6);
            TEXT(num, (size_t)(fk_put_u64(num, x->id) - num));
            TEXT(",\"hex\":\"", 8);
            STEP(XK_HEX, i);
            TEXT("\"}", 2);
        }
        TEXT("]", 1);
    }
    TEXT("}", 1);
    STEP(XK_NONE, 0);
#undef TEXT
#undef STEP
    memset(t + len, 0, 2 * XL_BLOCK);
    /* as format_general's: the same reserve, so the same flushes */
    l->bound = 64 + (size_t)n * (64 + 320) + (6 + 26) * bytes;
    l->nstep = ns;
    l->n = n;
    return 0;
}

/* The general way, JSON and text: see fc__format_extras. */
static int format_general(fk_buf_t *b, const fc_flow_t *f, int json);

int fc__format_extras(fk_buf_t *b, const fc_flow_t *f, int json)
{
    xlayout_t *l = &xlayout;
    if (!json || (!same_layout(l, f) && compile_layout(l, f) < 0))
        return format_general(b, f, json);
    /* as format_general: reserve first (a flush moves the object out) */
    if (b->cap - b->len < l->bound && !fk_buf_reserve(b, l->bound))
        return -1;
    if (b->len < 2 || b->data[b->len - 1] != '}' || b->data[b->len - 2] == '{')
        return format_general(b, f, json); /* flushed, or no column: no ',' before the first */
    char *p = b->data + b->len - 1;        /* over the object's '}' */
    const xstep_t *st = l->st, *end = st + l->nstep - 1; /* the last: text alone */
    for (; st < end; st++) {
        const fc_xval_t *x = &f->extras[st->idx];
        if (st->len <= XL_BLOCK)
            memcpy(p, l->text + st->text, XL_BLOCK);
        else if (st->len <= 2 * XL_BLOCK) /* as an unknown element's header (40 to 60 bytes) */
            memcpy(p, l->text + st->text, 2 * XL_BLOCK);
        else
            memcpy(p, l->text + st->text, st->len);
        p += st->len;
        switch (st->kind) {
        case XK_U64:
            p = fk_put_u64(p, fc_be_uint(x->p, x->len));
            break;
        case XK_HEX:
            p = fk_put_hex(p, x->p, x->len);
            break;
        case XK_VALUE:
            b->len = (size_t)(p - b->data);
            fc_registry_value(b, x, 1);
            p = b->data + b->len;
            break;
        default:
            break;
        }
    }
    if (st->len <= XL_BLOCK)
        memcpy(p, l->text + st->text, XL_BLOCK);
    else
        memcpy(p, l->text + st->text, st->len);
    p += st->len;
    b->len = (size_t)(p - b->data);
    return b->error ? -1 : 0;
}

static int format_general(fk_buf_t *b, const fc_flow_t *f, int json)
{
    /* Upper bound of what the values can print, for one up-front reserve:
     * per value 64 for its key (short names), 320 for a float's "%f", and
     * per byte 6 for a string's escapes, 26 for a list element (a text time)
     * - or 2 for a hex byte. */
    size_t bytes = 0;
    const fc_xval_t *xs = f->extras;
    unsigned nx = f->n_extras, unknown = 0;
    for (unsigned i = 0; i < nx; i++)
        bytes += xs[i].len;
    size_t bound = 64 + (size_t)nx * (64 + 320) + (6 + 26) * bytes;
    /* Reserve first: in FILE mode a reserve may flush, and the object's '}'
     * must still be in the buffer to be moved.  Everything below is written
     * into the reserved room directly (writers that take a pointer); values
     * of other types go through the registry's buffer writers, b->len synced
     * around them.  The common case inline: the block has room
     * (fk_buf_reserve's first test). */
    if (b->cap - b->len < bound && !fk_buf_reserve(b, bound))
        return -1;
    if (json && (b->len == 0 || b->data[b->len - 1] != '}'))
        return 0; /* not right after a JSON object (flushed): nothing to extend */
    if (json)
        b->len--; /* reopen the object */
    size_t nreg;
    const fc_regent_t *reg = fc_registry_all(&nreg); /* an unknown element's reg is >= nreg */
    char *p = b->data + b->len;
    for (unsigned i = 0; i < nx; i++) {
        const fc_xval_t *x = &xs[i];
        if (x->reg >= nreg) {
            unknown++;
            continue;
        }
        const fc_regent_t *r = &reg[x->reg];
        if (json) {
            if (p[-1] != '{')
                *p++ = ',';
            if (r->jkey && r->jkey_len <= FC_JKEY_PAD) {
                /* one block (the key's padding; the value's reserve after p) */
                memcpy(p, r->jkey, FC_JKEY_PAD);
                p += r->jkey_len;
            } else if (r->jkey) {
                memcpy(p, r->jkey, r->jkey_len);
                p += r->jkey_len;
            } else {
                size_t n = strlen(r->f->json);
                *p++ = '"';
                memcpy(p, r->f->json, n);
                p = PUT_LIT(p + n, "\":");
            }
        } else {
            size_t n = strlen(r->f->json);
            *p++ = ' ';
            memcpy(p, r->f->json, n);
            p += n;
            *p++ = '=';
        }
        switch ((fk_ftype_t)r->f->type) {
        case FK_T_U8:
        case FK_T_U16:
        case FK_T_U32:
        case FK_T_U64: /* the most common extra value: as fc_registry_value prints it */
            p = fk_put_u64(p, fc_be_uint(x->p, x->len));
            break;
        default:
            b->len = (size_t)(p - b->data);
            fc_registry_value(b, x, json);
            p = b->data + b->len;
            break;
        }
    }
    if (unknown) {
        unsigned k = 0;
        if (json) {
            if (p[-1] != '{')
                *p++ = ',';
            p = PUT_LIT(p, "\"unknown_elements\":[");
        } else {
            p = PUT_LIT(p, " unknown_elements=[");
        }
        for (unsigned i = 0; i < nx; i++) {
            const fc_xval_t *x = &xs[i];
            if (x->reg < nreg)
                continue;
            if (k++)
                *p++ = ',';
            if (json) {
                p = PUT_LIT(p, "{\"pen\":");
                p = fk_put_u64(p, x->pen);
                p = PUT_LIT(p, ",\"id\":");
                p = fk_put_u64(p, x->id);
                p = PUT_LIT(p, ",\"hex\":\"");
                p = fk_put_hex(p, x->p, x->len);
                p = PUT_LIT(p, "\"}");
            } else {
                p = fk_put_u64(p, x->pen);
                *p++ = ':';
                p = fk_put_u64(p, x->id);
                *p++ = ':';
                p = fk_put_hex(p, x->p, x->len);
            }
        }
        *p++ = ']';
    }
    if (json)
        *p++ = '}';
    b->len = (size_t)(p - b->data);
    return b->error ? -1 : 0;
}
