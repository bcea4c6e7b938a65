/*
 * extras.c - a record's extra values in JSON and text (extras.h).  The values
 * themselves are decoded and written by the element registry
 * (decode/registry.c), through flowprobe's own value writers.
 */
#include "extras.h"

#include "../decode/registry.h"

/* Upper bound of what one extra value can print (for one up-front reserve). */
static size_t value_bound(const fc_xval_t *x)
{
    /* keys are short names; a string escapes to at most 6 bytes per byte, a
     * list element prints at most 26 (a text time), a hex byte 2; a float's
     * "%f" at most 320 */
    return 64 + 6 * (size_t)x->len + 26 * (size_t)x->len + 320;
}

int fc__format_extras(fk_buf_t *b, const fc_flow_t *f, int json)
{
    size_t bound = 64;
    unsigned unknown = 0;

    for (uint16_t i = 0; i < f->n_extras; i++)
        bound += value_bound(&f->extras[i]);
    /* Reserve first: in FILE mode a reserve may flush, and the object's '}'
     * must still be in the buffer to be moved. */
    if (!fk_buf_reserve(b, bound))
        return -1;
    if (json && (b->len == 0 || b->data[b->len - 1] != '}'))
        return 0; /* not right after a JSON object (flushed): nothing to extend */
    if (json)
        b->len--; /* reopen the object */
    for (uint16_t i = 0; i < f->n_extras; i++) {
        const fc_xval_t *x = &f->extras[i];
        const fc_regent_t *r = x->reg == FC_XREG_UNKNOWN ? NULL : fc_registry_at(x->reg);
        if (!r) {
            unknown++;
            continue;
        }
        if (json) {
            if (b->data[b->len - 1] != '{')
                fk_buf_putc(b, ',');
            if (r->jkey) {
                fk_buf_put(b, r->jkey, r->jkey_len);
            } else {
                fk_buf_putc(b, '"');
                fk_buf_puts(b, r->f->json);
                fk_buf_put(b, "\":", 2);
            }
        } else {
            fk_buf_putc(b, ' ');
            fk_buf_puts(b, r->f->json);
            fk_buf_putc(b, '=');
        }
        fc_registry_value(b, x, json);
    }
    if (unknown) {
        unsigned k = 0;
        if (json) {
            if (b->data[b->len - 1] != '{')
                fk_buf_putc(b, ',');
            fk_buf_puts(b, "\"unknown_elements\":[");
        } else {
            fk_buf_puts(b, " unknown_elements=[");
        }
        for (uint16_t i = 0; i < f->n_extras; i++) {
            const fc_xval_t *x = &f->extras[i];
            if (x->reg != FC_XREG_UNKNOWN && fc_registry_at(x->reg))
                continue;
            if (k++)
                fk_buf_putc(b, ',');
            if (json) {
                fk_buf_puts(b, "{\"pen\":");
                fk_buf_u64(b, x->pen);
                fk_buf_puts(b, ",\"id\":");
                fk_buf_u64(b, x->id);
                fk_buf_puts(b, ",\"hex\":\"");
                fk_buf_hex(b, x->p, x->len);
                fk_buf_put(b, "\"}", 2);
            } else {
                fk_buf_u64(b, x->pen);
                fk_buf_putc(b, ':');
                fk_buf_u64(b, x->id);
                fk_buf_putc(b, ':');
                fk_buf_hex(b, x->p, x->len);
            }
        }
        fk_buf_putc(b, ']');
    }
    if (json)
        fk_buf_putc(b, '}');
    return b->error ? -1 : 0;
}
