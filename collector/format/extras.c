/*
 * extras.c - a record's extra values in JSON and text (extras.h).  The values
 * themselves are decoded and written by the element registry
 * (decode/registry.c), through flowprobe's own value writers.
 */
#include "extras.h"

#include <string.h>

#include "../decode/decode.h"
#include "../decode/registry.h"

/* Upper bound of what one extra value can print (for one up-front reserve). */
static size_t value_bound(const fc_xval_t *x)
{
    /* keys are short names; a string escapes to at most 6 bytes per byte, a
     * list element prints at most 26 (a text time), a hex byte 2; a float's
     * "%f" at most 320 */
    return 64 + 6 * (size_t)x->len + 26 * (size_t)x->len + 320;
}

/* A literal's bytes at p (its size known at compile time: one fixed copy). */
#define PUT_LIT(p, lit) (__builtin_memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

int fc__format_extras(fk_buf_t *b, const fc_flow_t *f, int json)
{
    size_t bound = 64;
    unsigned unknown = 0;

    for (uint16_t i = 0; i < f->n_extras; i++)
        bound += value_bound(&f->extras[i]);
    /* Reserve first: in FILE mode a reserve may flush, and the object's '}'
     * must still be in the buffer to be moved.  Everything below is written
     * into the reserved room directly (writers that take a pointer); values
     * of other types go through the registry's buffer writers, b->len synced
     * around them. */
    if (!fk_buf_reserve(b, bound))
        return -1;
    if (json && (b->len == 0 || b->data[b->len - 1] != '}'))
        return 0; /* not right after a JSON object (flushed): nothing to extend */
    if (json)
        b->len--; /* reopen the object */
    char *p = b->data + b->len;
    for (uint16_t i = 0; i < f->n_extras; i++) {
        const fc_xval_t *x = &f->extras[i];
        const fc_regent_t *r = x->reg == FC_XREG_UNKNOWN ? NULL : fc_registry_at(x->reg);
        if (!r) {
            unknown++;
            continue;
        }
        if (json) {
            if (p[-1] != '{')
                *p++ = ',';
            if (r->jkey) {
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
        for (uint16_t i = 0; i < f->n_extras; i++) {
            const fc_xval_t *x = &f->extras[i];
            if (x->reg != FC_XREG_UNKNOWN && fc_registry_at(x->reg))
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
