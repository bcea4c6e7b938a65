/*
 * common.c - what the text, CSV and JSON outputs share: file= and p=, the
 * column list built from the field tables, and row expansion for plugins
 * that attach several records to one flow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static int parse_plugin_list(fp_textout_t *t, const char *what, const char *list, fk_err_t *e)
{
    char *copy = strdup(list), *save = NULL;

    if (!copy)
        return fk_errf(e, "%s: out of memory", what);
    t->filter = true;
    for (char *name = strtok_r(copy, ",()", &save); name; name = strtok_r(NULL, ",()", &save)) {
        size_t i;
        if (strcmp(name, "basic") == 0)
            continue;
        for (i = 0; i < t->schema->nplugins; i++)
            if (strcmp(t->schema->plugins[i].p->name, name) == 0)
                break;
        if (i == t->schema->nplugins) {
            fk_errf(e, "%s: p=%s names plugin '%s', which is not enabled; add -p %s", what, list,
                    name, name);
            free(copy);
            return -1;
        }
        t->sel[i] = true;
    }
    free(copy);
    return 0;
}

int fp_textout_open(fp_textout_t *t, const char *what, const fk_optspec_t *spec, const fk_opts_t *o,
                    const fp_schema_t *s, unsigned skip_flags,
                    int (*extra)(void *arg, int k, const char *value, fk_err_t *e), void *arg,
                    fk_err_t *e)
{
    const char *path = NULL, *plist = NULL;
    size_t n = 0;

    memset(t, 0, sizeof(*t));
    t->schema = s;
    t->sel = calloc(s->nplugins + 1, sizeof(*t->sel));
    if (!t->sel)
        return fk_errf(e, "%s: out of memory", what);

    for (size_t i = 0; i < o->n; i++) {
        int k = fk_opts_lookup(o, i, spec, what, e);
        if (k < 0)
            return -1;
        if (k == 0)
            path = o->kv[i].value;
        else if (k == 1)
            plist = o->kv[i].value;
        else if (!extra || extra(arg, k, o->kv[i].value, e) < 0)
            return -1;
    }
    if (plist) {
        if (parse_plugin_list(t, what, plist, e) < 0)
            return -1;
    } else {
        for (size_t i = 0; i < s->nplugins; i++)
            t->sel[i] = true;
    }

    /* Columns: basic fields, then every selected plugin's fields. */
    size_t cap = s->nbasic;
    for (size_t i = 0; i < s->nplugins; i++)
        cap += s->plugins[i].p->nfields;
    t->cols = calloc(cap ? cap : 1, sizeof(*t->cols));
    if (!t->cols)
        return fk_errf(e, "%s: out of memory", what);
    for (size_t i = 0; i < s->nbasic; i++)
        if (!(s->basic[i].flags & skip_flags))
            t->cols[n++] = (fp_column_t){&s->basic[i], -1};
    for (size_t i = 0; i < s->nplugins; i++) {
        if (!t->sel[i])
            continue;
        for (size_t j = 0; j < s->plugins[i].p->nfields; j++)
            if (!(s->plugins[i].p->fields[j].flags & skip_flags))
                t->cols[n++] = (fp_column_t){&s->plugins[i].p->fields[j], (int)i};
    }
    t->ncols = n;

    if (!path || strcmp(path, "-") == 0) {
        t->f = stdout;
    } else {
        t->f = fopen(path, "w");
        if (!t->f)
            return fk_errf(e, "%s: cannot write '%s': %s", what, path, strerror(errno));
        t->own_file = true;
        t->path = strdup(path);
        if (!t->path)
            return fk_errf(e, "%s: out of memory", what);
    }
    if (fk_buf_init(&t->buf, t->f, 1 << 16) < 0)
        return fk_errf(e, "%s: out of memory", what);
    return 0;
}

unsigned fp_textout_rows(const fp_textout_t *t, const fp_flow_t *flow, unsigned *nrec,
                         const void **first)
{
    const fp_schema_t *s = t->schema;
    unsigned rows = 0;

    for (size_t i = 0; i < s->nplugins; i++) {
        const fp_plugin_inst_t *pi = &s->plugins[i];
        const void *st = fp_plugin_state(pi, flow);
        nrec[i] = t->sel[i] && pi->p->records ? pi->p->records(pi->ctx, flow, st) : 0;
        if (first)
            first[i] = nrec[i] ? pi->p->record(pi->ctx, flow, st, 0) : NULL;
        if (nrec[i] > rows)
            rows = nrec[i];
    }
    if (t->filter)
        return rows;
    return rows ? rows : 1;
}

const void *fp_textout_base(const fp_textout_t *t, const fp_column_t *c, const fp_flow_t *flow,
                            const unsigned *nrec, unsigned r)
{
    const fp_plugin_inst_t *pi;

    if (c->plugin < 0)
        return flow;
    pi = &t->schema->plugins[c->plugin];
    if (r >= nrec[c->plugin])
        return pi->zero_record;
    return pi->p->record(pi->ctx, flow, fp_plugin_state(pi, flow), r);
}

int fp_textout_flush(fp_textout_t *t)
{
    int had = t->buf.error;
    if (fk_buf_flush(&t->buf) < 0) {
        if (!had)
            t->errors++;
        return -1;
    }
    return 0;
}

int fp_textout_reopen(fp_textout_t *t, const char *what, bool *fresh, fk_err_t *e)
{
    *fresh = false;
    if (!t->own_file || !t->path)
        return 0;
    int rc = 0;
    if (fp_textout_flush(t) < 0)
        rc = fk_errf(e, "%s: write failed: %s", what, strerror(t->buf.error));
    /* Open the new file before closing the old: if it cannot be opened, the
     * flows keep going to the old one (moved or not) instead of nowhere. */
    FILE *nf = fopen(t->path, "a");
    if (!nf)
        return fk_errf(e, "%s: cannot reopen '%s': %s; still writing to the old file", what,
                       t->path, strerror(errno));
    if (fclose(t->f) != 0 && rc == 0)
        rc = fk_errf(e, "%s: close failed: %s", what, strerror(errno));
    t->f = nf;
    t->buf.f = nf;
    t->buf.error = 0;
    *fresh = ftell(nf) == 0;
    return rc;
}

int fp_textout_close(fp_textout_t *t, const char *what, fk_err_t *e)
{
    int rc = 0;

    if (t->buf.data && fp_textout_flush(t) < 0)
        rc = fk_errf(e, "%s: write failed: %s", what, strerror(t->buf.error));
    if (t->f && fflush(t->f) != 0 && rc == 0)
        rc = fk_errf(e, "%s: write failed: %s", what, strerror(errno));
    if (t->own_file && t->f && fclose(t->f) != 0 && rc == 0)
        rc = fk_errf(e, "%s: close failed: %s", what, strerror(errno));
    fk_buf_free(&t->buf);
    free(t->path);
    free(t->cols);
    free(t->sel);
    t->f = NULL;
    return rc;
}
