/*
 * extras.c - a record's extra values in JSON and text (extras.h).  The values
 * themselves are decoded and written by the element registry
 * (decode/registry.c), through flowprobe's own value writers.
 */
#include "extras.h"

#include <string.h>

#include "../decode/decode.h"
#include "../decode/registry.h"

/* A literal's bytes at p (its size known at compile time: one fixed copy). */
#define PUT_LIT(p, lit) (__builtin_memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

int fc__format_extras(fk_buf_t *b, const fc_flow_t *f, int json)
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
