/*
 * text.c - the "text" output: aligned columns for people.
 *
 * One line per flow record, a header line first.  Columns come from the field
 * tables in their declared order, named by their UniRec names; each type has a
 * column width, so any plugin's fields line up without this file knowing them.
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"

static const fk_optspec_t text_options[] = {
    {"f", "file", "PATH", "Write to a file instead of stdout"},
    {"p", "plugins", "NAME[,NAME...]",
     "Only plugin fields of these plugins, and only flows carrying their records"},
    {"m", "mac", NULL, "Hide MAC addresses"},
    {NULL, NULL, NULL, NULL},
};

typedef struct text_out_st {
    fp_textout_t t;
    bool hide_mac;
} text_out_t;

static int text_extra(void *arg, int k, const char *value, fk_err_t *e)
{
    (void)value;
    (void)e;
    if (k == 2)
        ((text_out_t *)arg)->hide_mac = true;
    return 0;
}

static unsigned width_of(fk_ftype_t t)
{
    switch (t) {
    case FK_T_U8:
    case FK_T_I8:
        return 3;
    case FK_T_U16:
        return 5;
    case FK_T_U32:
    case FK_T_FLOAT:
        return 8;
    case FK_T_U64:
    case FK_T_DOUBLE:
        return 10;
    case FK_T_TIME:
        return 26;
    case FK_T_MAC:
        return 17;
    case FK_T_IP:
        return 15;
    default:
        return 0; /* variable: no padding */
    }
}

static void pad(fk_buf_t *b, size_t used, unsigned width)
{
    while (used++ < width)
        fk_buf_putc(b, ' ');
}

static void text_header(text_out_t *x)
{
    for (size_t i = 0; i < x->t.ncols; i++) {
        const fk_field_t *f = x->t.cols[i].f;
        unsigned w = width_of((fk_ftype_t)f->type);
        size_t len = strlen(f->name);
        if (i)
            fk_buf_putc(&x->t.buf, ' ');
        fk_buf_puts(&x->t.buf, f->name);
        if (i + 1 < x->t.ncols)
            pad(&x->t.buf, len, w);
    }
    fk_buf_putc(&x->t.buf, '\n');
}

static int text_open(void **ctx, const fk_opts_t *o, const fp_schema_t *s, fk_err_t *e)
{
    text_out_t *x = calloc(1, sizeof(*x));

    if (!x)
        return fk_errf(e, "text: out of memory");
    if (fp_textout_open(&x->t, "text", text_options, o, s, FK_F_NOJSON, text_extra, x, e) < 0) {
        fk_err_t ignore;
        fp_textout_close(&x->t, "text", &ignore);
        free(x);
        return -1;
    }
    if (x->hide_mac) {
        size_t n = 0;
        for (size_t i = 0; i < x->t.ncols; i++)
            if (x->t.cols[i].f->type != FK_T_MAC)
                x->t.cols[n++] = x->t.cols[i];
        x->t.ncols = n;
    }
    text_header(x);
    *ctx = x;
    return 0;
}

static int text_reopen(void *ctx, fk_err_t *e)
{
    text_out_t *x = ctx;
    bool fresh;
    int rc = fp_textout_reopen(&x->t, "text", &fresh, e);

    if (fresh)
        text_header(x);
    return rc;
}

static int text_write(void *ctx, const fp_flow_t *flow)
{
    text_out_t *x = ctx;
    fp_textout_t *t = &x->t;
    unsigned nrec[FP_MAX_PLUGINS];
    unsigned rows = fp_textout_rows(t, flow, nrec, NULL);

    for (unsigned r = 0; r < rows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            const fk_field_t *f = t->cols[i].f;
            size_t start;
            if (i)
                fk_buf_putc(&t->buf, ' ');
            /* Room for the whole field now, so the buffer cannot flush in the
             * middle of it and `used` below counts its bytes. */
            fk_buf_reserve(&t->buf, fk_field_room(f));
            start = t->buf.len;
            fk_field_text(&t->buf, f, fp_textout_base(t, &t->cols[i], flow, nrec, r));
            size_t used = t->buf.len >= start ? t->buf.len - start : 0;
            unsigned w = width_of((fk_ftype_t)f->type);
            size_t hw = strlen(f->name);
            if (i + 1 < t->ncols)
                pad(&t->buf, used, w > hw ? w : (unsigned)hw);
        }
        fk_buf_putc(&t->buf, '\n');
    }
    return t->buf.error ? -1 : 0;
}

static int text_close(void *ctx, fk_err_t *e)
{
    text_out_t *x = ctx;
    int rc = fp_textout_close(&x->t, "text", e);
    free(x);
    return rc;
}

const fp_output_ops_t fp_output_text = {
    .name = "text",
    .summary = "Human-readable columns",
    .options = text_options,
    .open = text_open,
    .write = text_write,
    .close = text_close,
    .reopen = text_reopen,
};
