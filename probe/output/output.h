/*
 * output.h - flow record sinks (ipfixprobe's "output" plugins, -o).
 *
 * Outputs never list fields: they walk the schema (the basic field table and
 * each enabled plugin's table) and print whatever is there.
 */
#ifndef FP_OUTPUT_H
#define FP_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "../../lib/core/buf.h"
#include "../../lib/core/field.h"
#include "../../lib/core/log.h"
#include "../../lib/core/opts.h"
#include "../flow.h"
#include "../plugin.h"

/* What a flow carries: the basic fields plus each enabled plugin's records. */
typedef struct fp_schema_st {
    const fk_field_t *basic;
    size_t nbasic;
    fp_plugin_inst_t *plugins;
    size_t nplugins;
} fp_schema_t;

typedef struct fp_output_ops_st {
    const char *name;            /* the -o NAME */
    const char *summary;         /* one line for -h output */
    const fk_optspec_t *options; /* accepted keys */
    /* Open from parsed options.  0, or -1 with a message. */
    int (*open)(void **ctx, const fk_opts_t *o, const fp_schema_t *s, fk_err_t *e);
    /* Write one exported flow.  0, or -1 on a write error (counted by the caller). */
    int (*write)(void *ctx, const fp_flow_t *flow);
    /* Flush and release.  0, or -1 with a message if buffered data was lost. */
    int (*close)(void *ctx, fk_err_t *e);
    /* Called about every 100 ms by the output thread (may be NULL): a chance
     * to flush on time when flows are rare; `now_ns` is CLOCK_MONOTONIC. */
    void (*tick)(void *ctx, uint64_t now_ns);
    /* SIGHUP (may be NULL): close and reopen an output file by its name, so
     * logrotate can move it away.  0, or -1 with a message. */
    int (*reopen)(void *ctx, fk_err_t *e);
} fp_output_ops_t;

extern const fp_output_ops_t *const fp_outputs[];
const fp_output_ops_t *fp_output_find(const char *name);

/* ---- helpers shared by the text outputs (common.c) ---- */

/* One printed column: a field and whose record it reads (-1 = the flow itself). */
typedef struct fp_column_st {
    const fk_field_t *f;
    int plugin; /* index into schema->plugins, or -1 for a basic field */
} fp_column_t;

/*
 * Options every text-like output accepts: file/f (PATH) and p (plugin list).
 * `sel` gets one flag per schema plugin: true if its fields are printed.  With
 * `p=` given, *filter is set and only flows carrying a record of a selected
 * plugin are written.
 */
typedef struct fp_textout_st {
    const fp_schema_t *schema;
    FILE *f;
    char *path; /* the file written (NULL: stdout) */
    bool own_file;
    bool filter;
    bool *sel;
    fp_column_t *cols;
    size_t ncols;
    fk_buf_t buf;
    uint64_t errors;
} fp_textout_t;

/*
 * Common open: handles file= and p=, builds the column list (basic fields
 * without `skip_flags`, then selected plugins' fields) and the output buffer.
 * Keys other than file/p are passed to `extra` (return 0 to accept, -1 to
 * reject with e set); unknown keys are errors.  `what` names the output.
 */
int fp_textout_open(fp_textout_t *t, const char *what, const fk_optspec_t *spec, const fk_opts_t *o,
                    const fp_schema_t *s, unsigned skip_flags,
                    int (*extra)(void *arg, int k, const char *value, fk_err_t *e), void *arg,
                    fk_err_t *e);

/* Records of each selected plugin for `flow`; returns the row count (0 = skip).
 * With `first`, also each plugin's record 0 (NULL where it has none): the
 * first row's, looked up in the same pass. */
unsigned fp_textout_rows(const fp_textout_t *t, const fp_flow_t *flow, unsigned *nrec,
                         const void **first);

/* The struct a column reads for row r (a plugin's zero record past its last). */
const void *fp_textout_base(const fp_textout_t *t, const fp_column_t *c, const fp_flow_t *flow,
                            const unsigned *nrec, unsigned r);

/* Flush the buffer; count an error once. */
int fp_textout_flush(fp_textout_t *t);

/* Flush, close the file if owned, free.  0 or -1 with e set on lost data. */
/*
 * Reopen the output file (append; created if it was moved away).  Sets *fresh
 * when the file is empty, so the caller can write its header again.
 * 0, or -1 with a message.  Nothing to do for stdout.
 */
int fp_textout_reopen(fp_textout_t *t, const char *what, bool *fresh, fk_err_t *e);

int fp_textout_close(fp_textout_t *t, const char *what, fk_err_t *e);

#endif /* FP_OUTPUT_H */
