/*
 * json.c - the "json" output: one JSON object per flow, one per line.
 *
 * Keys are the field tables' JSON names: GoFlow2's for the common fields
 * (src_addr, bytes, time_flow_start_ns ...), lower_snake_case UniRec names
 * for plugin fields.  A plugin with one record puts its fields in the flow
 * object; a plugin with several (one per DNS answer ...) puts an array of
 * objects under its name.
 */
#include <stdlib.h>

#include "output.h"

static const fk_optspec_t json_options[] = {
    {"f", "file", "PATH", "Write to a file instead of stdout"},
    {"p", "plugins", "NAME[,NAME...]",
     "Only plugin fields of these plugins, and only flows carrying their records"},
    {NULL, NULL, NULL, NULL},
};

static int json_open(void **ctx, const fk_opts_t *o, const fp_schema_t *s, fk_err_t *e)
{
    fp_textout_t *t = calloc(1, sizeof(*t));

    if (!t)
        return fk_errf(e, "json: out of memory");
    if (fp_textout_open(t, "json", json_options, o, s, FK_F_NOJSON, NULL, NULL, e) < 0) {
        fk_err_t ignore;
        fp_textout_close(t, "json", &ignore);
        free(t);
        return -1;
    }
    *ctx = t;
    return 0;
}

static void put_key(fk_buf_t *b, const char *name, int *first)
{
    if (!*first)
        fk_buf_putc(b, ',');
    *first = 0;
    fk_buf_putc(b, '"');
    fk_buf_puts(b, name);
    fk_buf_put(b, "\":", 2);
}

static int json_write(void *ctx, const fp_flow_t *flow)
{
    fp_textout_t *t = ctx;
    const fp_schema_t *s = t->schema;
    unsigned nrec[FP_MAX_PLUGINS];
    int first = 1;

    if (fp_textout_rows(t, flow, nrec, NULL) == 0)
        return 0;
    fk_buf_putc(&t->buf, '{');
    for (size_t i = 0; i < t->ncols && t->cols[i].plugin < 0; i++) {
        put_key(&t->buf, t->cols[i].f->json, &first);
        fk_field_json(&t->buf, t->cols[i].f, flow);
    }
    for (size_t k = 0; k < s->nplugins; k++) {
        const fp_plugin_inst_t *pi = &s->plugins[k];
        if (!t->sel[k] || nrec[k] == 0)
            continue;
        if (nrec[k] > 1) {
            put_key(&t->buf, pi->p->name, &first);
            fk_buf_putc(&t->buf, '[');
        }
        for (unsigned r = 0; r < nrec[k]; r++) {
            const void *base = pi->p->record(pi->ctx, flow, fp_plugin_state(pi, flow), r);
            int inner = 1;
            if (nrec[k] > 1)
                fk_buf_put(&t->buf, r ? ",{" : "{", r ? 2 : 1);
            for (size_t j = 0; j < pi->p->nfields; j++) {
                const fk_field_t *f = &pi->p->fields[j];
                if (f->flags & FK_F_NOJSON)
                    continue;
                put_key(&t->buf, f->json, nrec[k] > 1 ? &inner : &first);
                fk_field_json(&t->buf, f, base);
            }
            if (nrec[k] > 1)
                fk_buf_putc(&t->buf, '}');
        }
        if (nrec[k] > 1)
            fk_buf_putc(&t->buf, ']');
    }
    fk_buf_put(&t->buf, "}\n", 2);
    return t->buf.error ? -1 : 0;
}

static int json_reopen(void *ctx, fk_err_t *e)
{
    bool fresh;
    return fp_textout_reopen(ctx, "json", &fresh, e);
}

static int json_close(void *ctx, fk_err_t *e)
{
    fp_textout_t *t = ctx;
    int rc = fp_textout_close(t, "json", e);
    free(t);
    return rc;
}

const fp_output_ops_t fp_output_json = {
    .name = "json",
    .summary = "One JSON object per flow per line (GoFlow2 names for common fields)",
    .options = json_options,
    .open = json_open,
    .write = json_write,
    .close = json_close,
    .reopen = json_reopen,
};
