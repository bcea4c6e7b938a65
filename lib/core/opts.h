/*
 * opts.h - ipfixprobe-style plugin argument strings: "name;key=value;flag".
 *
 * The first token names the plugin; each further token is either `key=value`
 * or a bare `flag`.  Keys have a short and a long spelling ("s" / "size"), as
 * in ipfixprobe.  Empty tokens (";;") are skipped.  Every plugin describes its
 * keys in one fk_optspec table, which drives both parsing and `-h NAME`, so
 * help text and accepted keys cannot drift apart.  Unknown keys are an error
 * that lists the accepted ones (STYLE.md rule 10).
 */
#ifndef FK_OPTS_H
#define FK_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define FK_OPTS_MAX 32

/* One accepted key.  A table of these ends with an entry whose lname is NULL. */
typedef struct fk_optspec_st {
    const char *sname; /* short key ("s"), or NULL */
    const char *lname; /* long key ("size"); NULL ends the table */
    const char *arg;   /* argument placeholder ("EXPONENT"); NULL for a bare flag;
                          in brackets ("[ID]") when the value may be left out */
    const char *help;  /* one line of help */
} fk_optspec_t;

/* A parsed argument string.  Owns a private copy of the text. */
typedef struct fk_opts_st {
    char *buf;        /* the copy all pointers below point into */
    const char *name; /* plugin name (first token), never NULL after a successful parse */
    size_t n;         /* number of key/value tokens */
    struct {
        const char *key;
        const char *value; /* NULL for a bare flag */
    } kv[FK_OPTS_MAX];
} fk_opts_t;

/*
 * Split `arg` into name and tokens.  Returns 0, or -1 with a message in `e`
 * (empty name, too many tokens, out of memory).  Free with fk_opts_free().
 */
int fk_opts_parse(const char *arg, fk_opts_t *out, fk_err_t *e);

/* Release the copy held by `o`; safe on a zeroed or already freed struct. */
void fk_opts_free(fk_opts_t *o);

/*
 * Index in `spec` of the entry whose short or long key equals `key`, or -1.
 */
int fk_opts_match(const fk_optspec_t *spec, const char *key);

/*
 * Check token i of `o` against `spec`: returns the spec index, or -1 with a
 * message naming `what` and the accepted keys.  A flag given a value, or a
 * key that needs a value given none, is also an error.
 */
int fk_opts_lookup(const fk_opts_t *o, size_t i, const fk_optspec_t *spec, const char *what,
                   fk_err_t *e);

/* Parse a decimal unsigned integer in [min, max]; -1 with a message otherwise. */
int fk_opts_uint(const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out,
                 fk_err_t *e);

/* Parse true/false/yes/no/on/off/1/0; -1 with a message otherwise. */
int fk_opts_bool(const char *key, const char *value, bool *out, fk_err_t *e);

/* Print `spec` as help lines, indented, to `f`. */
void fk_opts_help(FILE *f, const fk_optspec_t *spec);

#endif /* FK_OPTS_H */
