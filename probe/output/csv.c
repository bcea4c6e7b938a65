/*
 * csv.c - the "csv" output: the NEMEA logger's `-t` CSV.
 *
 * This is what ipfixprobe's UniRec output looks like after `logger -t`, and so
 * what its test suite compares (../shared/conformance/ipfixprobe/README.md):
 * a header `type NAME,type NAME,...` then one row per flow record, columns in
 * UniRec template order (fixed-size fields by size, largest first, ties by
 * name; then variable-size fields by name).
 */
#include <stdlib.h>

#include "output.h"

static const fk_optspec_t csv_options[] = {
    {"f", "file", "PATH", "Write to a file instead of stdout"},
    {"p", "plugins", "NAME[,NAME...]",
     "Only plugin fields of these plugins, and only flows carrying their records"},
    {NULL, NULL, NULL, NULL},
};

/* The header line: "type NAME,type NAME,..." as the logger prints it. */
static void csv_header(fp_textout_t *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            fk_buf_putc(&t->buf, ',');
        fk_buf_puts(&t->buf, fk_ftype_unirec((fk_ftype_t)t->cols[i].f->type));
        fk_buf_putc(&t->buf, ' ');
        fk_buf_puts(&t->buf, t->cols[i].f->name);
    }
    fk_buf_putc(&t->buf, '\n');
}

static int csv_open(void **ctx, const fk_opts_t *o, const fp_schema_t *s, fk_err_t *e)
{
    fp_textout_t *t = calloc(1, sizeof(*t));
    const fk_field_t **v;

    if (!t)
        return fk_errf(e, "csv: out of memory");
    if (fp_textout_open(t, "csv", csv_options, o, s, FK_F_NOCSV, NULL, NULL, e) < 0) {
        fk_err_t ignore;
        fp_textout_close(t, "csv", &ignore);
        free(t);
        return -1;
    }

    /* Reorder the columns as UniRec orders a template. */
    v = malloc((t->ncols ? t->ncols : 1) * sizeof(*v));
    fp_column_t *sorted = malloc((t->ncols ? t->ncols : 1) * sizeof(*sorted));
    if (!v || !sorted) {
        free(v);
        free(sorted);
        fk_err_t ignore;
        fp_textout_close(t, "csv", &ignore);
        free(t);
        return fk_errf(e, "csv: out of memory");
    }
    for (size_t i = 0; i < t->ncols; i++)
        v[i] = t->cols[i].f;
    fk_fields_unirec_sort(v, t->ncols);
    for (size_t i = 0; i < t->ncols; i++)
        for (size_t j = 0; j < t->ncols; j++)
            if (t->cols[j].f == v[i]) {
                sorted[i] = t->cols[j];
                break;
            }
    free(t->cols);
    free(v);
    t->cols = sorted;

    csv_header(t);
    *ctx = t;
    return 0;
}

static int csv_reopen(void *ctx, fk_err_t *e)
{
    fp_textout_t *t = ctx;
    bool fresh;
    int rc = fp_textout_reopen(t, "csv", &fresh, e);

    if (fresh)
        csv_header(t);
    return rc;
}

static int csv_write(void *ctx, const fp_flow_t *flow)
{
    fp_textout_t *t = ctx;
    unsigned nrec[FP_MAX_PLUGINS];
    unsigned rows = fp_textout_rows(t, flow, nrec);

    for (unsigned r = 0; r < rows; r++) {
        /* Each plugin's record for this row, looked up once (not per column). */
        const void *base[FP_MAX_PLUGINS + 1];
        base[0] = flow;
        for (size_t k = 0; k < t->schema->nplugins && k < FP_MAX_PLUGINS; k++) {
            fp_column_t c = {NULL, (int)k};
            base[k + 1] = t->sel[k] ? fp_textout_base(t, &c, flow, nrec, r) : NULL;
        }
        for (size_t i = 0; i < t->ncols; i++) {
            if (i)
                fk_buf_putc(&t->buf, ',');
            fk_field_csv(&t->buf, t->cols[i].f, base[t->cols[i].plugin + 1]);
        }
        fk_buf_putc(&t->buf, '\n');
    }
    return t->buf.error ? -1 : 0;
}

static int csv_close(void *ctx, fk_err_t *e)
{
    fp_textout_t *t = ctx;
    int rc = fp_textout_close(t, "csv", e);
    free(t);
    return rc;
}

const fp_output_ops_t fp_output_csv = {
    .name = "csv",
    .summary = "CSV as NEMEA's logger -t prints UniRec (ipfixprobe's reference format)",
    .options = csv_options,
    .open = csv_open,
    .write = csv_write,
    .close = csv_close,
    .reopen = csv_reopen,
};
