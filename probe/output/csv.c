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
#include <string.h>

#include "output.h"

/* The common text-output state, plus per-column arrays for the row writer. */
typedef struct csv_out_st {
    fp_textout_t t;
    const fk_field_t **fields; /* t.cols[i].f */
    const void **bases;        /* scratch: the struct each column reads, per row */
    fk_text_t *empty;          /* per plugin column: its text for an empty record */
    fk_buf_t empty_buf;        /* where those texts live */
    struct csv_plan_st *plans; /* CSV_PLAN_SLOTS row shapes, hashed by the set
                                  of plugins with a record in the row (bit k:
                                  plugin k), each built on first use */
    size_t nplans;             /* shapes built: at most CSV_PLAN_MAX */
} csv_out_t;

/*
 * A row's shape compiled: which columns are formatted and, between them, the
 * fixed text (separators and the empty-record texts of plugins without a
 * record in the row) as one copy per run.  A row carries at most a few
 * plugins' records, so most of its plugin columns are such runs.
 */
#define CSV_PLAN_SLOTS 512 /* open addressing, at most half full */
#define CSV_PLAN_MAX                                       \
    256 /* shapes kept; rows of any further shape take the \
           column-by-column path (27 plugins seen on one   \
           capture make a few dozen) */
typedef struct csv_plan_st {
    uint64_t key;      /* the shape's plugin set + 1; 0: free slot */
    fk_csv_seg_t *seg; /* NULL: not built yet */
    size_t nseg;
    size_t room; /* fk_csv_segs_compile's: a row's most bytes (~0.5 KiB
                    without plugins, ~16 KiB with all 27: the 64 KiB
                    buffer then flushes from ~48 KiB) */
    char *text;
} csv_plan_t;

/* The plan for rows whose plugins with a record are `mask`, or NULL (table full, no memory). */
static const csv_plan_t *csv_plan(csv_out_t *x, uint64_t mask)
{
    const fp_textout_t *t = &x->t;
    size_t h = (size_t)((mask + 1) * 0x9e3779b97f4a7c15ULL >> 40), cap = t->ncols + 1, tl = 0,
           start = 0, ns = 0;
    csv_plan_t *pl;

    for (;; h++) {
        pl = &x->plans[h & (CSV_PLAN_SLOTS - 1)];
        if (pl->key == mask + 1)
            return pl->seg ? pl : NULL;
        if (pl->key == 0)
            break;
    }
    if (x->nplans >= CSV_PLAN_MAX)
        return NULL;
    x->nplans++;
    pl->key = mask + 1; /* a shape that cannot be built stays NULL: column path */
    for (size_t i = 0; i < t->ncols; i++)
        cap += x->empty[i].n;
    pl->text = malloc(cap);
    pl->seg = malloc((t->ncols + 1) * sizeof(*pl->seg));
    if (!pl->text || !pl->seg) {
        free(pl->text);
        free(pl->seg);
        pl->text = NULL;
        pl->seg = NULL;
        return NULL;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        int k = t->cols[i].plugin;
        if (i)
            pl->text[tl++] = ',';
        if (k < 0 || ((mask >> k) & 1)) {
            pl->seg[ns++] = (fk_csv_seg_t){.s = pl->text + start,
                                           .n = (uint32_t)(tl - start),
                                           .col = (int32_t)i,
                                           .base = (uint32_t)(k + 1)};
            start = tl;
        } else {
            memcpy(pl->text + tl, x->empty[i].s, x->empty[i].n);
            tl += x->empty[i].n;
        }
    }
    pl->text[tl++] = '\n';
    pl->seg[ns++] = (fk_csv_seg_t){.s = pl->text + start, .n = (uint32_t)(tl - start), .col = -1};
    pl->nseg = ns;
    pl->room = fk_csv_segs_compile(pl->seg, ns, x->fields);
    return pl;
}

/*
 * Each plugin column's text for a flow without that plugin's record (its
 * zero record), formatted once: most rows carry one plugin's record at most.
 */
static int csv_empty_texts(csv_out_t *x)
{
    fp_textout_t *t = &x->t;
    size_t *at = calloc(t->ncols ? t->ncols : 1, sizeof(*at));

    x->empty = calloc(t->ncols ? t->ncols : 1, sizeof(*x->empty));
    if (!at || !x->empty || fk_buf_init(&x->empty_buf, NULL, 256) < 0) {
        free(at);
        return -1;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        at[i] = x->empty_buf.len;
        if (t->cols[i].plugin >= 0)
            fk_field_csv(&x->empty_buf, t->cols[i].f,
                         t->schema->plugins[t->cols[i].plugin].zero_record);
        x->empty[i].n = x->empty_buf.len - at[i];
    }
    if (x->empty_buf.error) {
        free(at);
        return -1;
    }
    for (size_t i = 0; i < t->ncols; i++) /* the block no longer moves */
        x->empty[i].s = x->empty_buf.data + at[i];
    free(at);
    return 0;
}

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
    csv_out_t *x = calloc(1, sizeof(*x));
    fp_textout_t *t = x ? &x->t : NULL;
    const fk_field_t **v;

    if (!x)
        return fk_errf(e, "csv: out of memory");
    if (fp_textout_open(t, "csv", csv_options, o, s, FK_F_NOCSV, NULL, NULL, e) < 0) {
        fk_err_t ignore;
        fp_textout_close(t, "csv", &ignore);
        free(x);
        return -1;
    }

    /* Reorder the columns as UniRec orders a template. */
    v = malloc((t->ncols ? t->ncols : 1) * sizeof(*v));
    fp_column_t *sorted = malloc((t->ncols ? t->ncols : 1) * sizeof(*sorted));
    x->bases = malloc((t->ncols ? t->ncols : 1) * sizeof(*x->bases));
    if (!v || !sorted || !x->bases) {
        free(v);
        free(sorted);
        free(x->bases);
        fk_err_t ignore;
        fp_textout_close(t, "csv", &ignore);
        free(x);
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
    t->cols = sorted;
    x->fields = v; /* the sorted fields: t->cols[i].f */
    if (csv_empty_texts(x) < 0) {
        fk_err_t ignore;
        fp_textout_close(t, "csv", &ignore);
        free(x->fields);
        free(x->bases);
        free(x->empty);
        fk_buf_free(&x->empty_buf);
        free(x);
        return fk_errf(e, "csv: out of memory");
    }

    x->plans = calloc(CSV_PLAN_SLOTS, sizeof(*x->plans));
    /* (without plans, rows take the column-by-column path) */

    csv_header(t);
    *ctx = x;
    return 0;
}

static int csv_reopen(void *ctx, fk_err_t *e)
{
    fp_textout_t *t = &((csv_out_t *)ctx)->t;
    bool fresh;
    int rc = fp_textout_reopen(t, "csv", &fresh, e);

    if (fresh)
        csv_header(t);
    return rc;
}

static int csv_write(void *ctx, const fp_flow_t *flow)
{
    csv_out_t *x = ctx;
    fp_textout_t *t = &x->t;
    const fp_schema_t *s = t->schema;
    size_t np = s->nplugins < FP_MAX_PLUGINS ? s->nplugins : FP_MAX_PLUGINS;
    unsigned nrec[FP_MAX_PLUGINS];
    /* Each plugin's record for the row, looked up once (not per column);
     * NULL where the plugin has none: its columns then print their
     * empty-record text.  Row 0's come with the record counts. */
    const void *base[FP_MAX_PLUGINS + 1];
    unsigned rows = fp_textout_rows(t, flow, nrec, base + 1);
    uint64_t mask = 0;

    base[0] = flow;
    for (size_t k = 0; k < np; k++)
        if (base[k + 1])
            mask |= 1ULL << k; /* k < FP_MAX_PLUGINS = 64 */
    for (unsigned r = 0; r < rows; r++) {
        if (r > 0) {
            mask = 0;
            for (size_t k = 0; k < np; k++) {
                const fp_plugin_inst_t *pi = &s->plugins[k];
                base[k + 1] =
                    r < nrec[k] ? pi->p->record(pi->ctx, flow, fp_plugin_state(pi, flow), r) : NULL;
                if (base[k + 1])
                    mask |= 1ULL << k;
            }
        }
        const csv_plan_t *pl = x->plans ? csv_plan(x, mask) : NULL;
        if (pl) {
            fk_fields_csv_segs(&t->buf, base, pl->seg, pl->nseg, pl->room);
            continue;
        }
        for (size_t i = 0; i < t->ncols; i++)
            x->bases[i] = base[t->cols[i].plugin + 1];
        fk_fields_csv_row(&t->buf, x->fields, x->bases, x->empty, t->ncols);
    }
    return t->buf.error ? -1 : 0;
}

static int csv_close(void *ctx, fk_err_t *e)
{
    csv_out_t *x = ctx;
    size_t nplans = x->plans ? CSV_PLAN_SLOTS : 0;
    int rc = fp_textout_close(&x->t, "csv", e);
    if (x->plans) {
        for (size_t m = 0; m < nplans; m++) {
            free(x->plans[m].seg);
            free(x->plans[m].text);
        }
        free(x->plans);
    }
    free(x->fields);
    free(x->bases);
    free(x->empty);
    fk_buf_free(&x->empty_buf);
    free(x);
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
