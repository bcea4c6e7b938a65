/*
 * opts.c - ipfixprobe-style plugin argument strings.
 */
#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fk_opts_parse(const char *arg, fk_opts_t *out, fk_err_t *e)
{
    char *tok, *save = NULL;

    memset(out, 0, sizeof(*out));
    if (!arg)
        return fk_errf(e, "missing argument string");
    out->buf = strdup(arg);
    if (!out->buf)
        return fk_errf(e, "out of memory");

    /* The name is everything up to the first ';' (it may not be empty). */
    tok = out->buf;
    char *semi = strchr(tok, ';');
    if (semi)
        *semi = '\0';
    if (*tok == '\0') {
        fk_opts_free(out);
        return fk_errf(e, "'%s': expected NAME[;key=value;flag...], the name is empty", arg);
    }
    out->name = tok;
    if (!semi)
        return 0;

    for (tok = strtok_r(semi + 1, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        if (*tok == '\0')
            continue;
        if (out->n == FK_OPTS_MAX) {
            fk_opts_free(out);
            return fk_errf(e, "'%s': more than %d options", arg, FK_OPTS_MAX);
        }
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        out->kv[out->n].key = tok;
        out->kv[out->n].value = eq ? eq + 1 : NULL;
        out->n++;
    }
    return 0;
}

void fk_opts_free(fk_opts_t *o)
{
    free(o->buf);
    o->buf = NULL;
    o->name = NULL;
    o->n = 0;
}

int fk_opts_match(const fk_optspec_t *spec, const char *key)
{
    for (int i = 0; spec && spec[i].lname; i++) {
        if (strcmp(spec[i].lname, key) == 0)
            return i;
        if (spec[i].sname && strcmp(spec[i].sname, key) == 0)
            return i;
    }
    return -1;
}

int fk_opts_lookup(const fk_opts_t *o, size_t i, const fk_optspec_t *spec, const char *what,
                   fk_err_t *e)
{
    const char *key = o->kv[i].key;
    int k = fk_opts_match(spec, key);

    if (k < 0) {
        char list[256];
        size_t len = 0;
        list[0] = '\0';
        for (int j = 0; spec && spec[j].lname && len < sizeof(list); j++) {
            int w = snprintf(list + len, sizeof(list) - len, "%s%s%s%s", j ? ", " : "",
                             spec[j].sname ? spec[j].sname : "", spec[j].sname ? "|" : "",
                             spec[j].lname);
            if (w < 0)
                break;
            len += (size_t)w;
        }
        if (len == 0)
            return fk_errf(e, "%s: unknown option '%s' (it takes no options)", what, key);
        return fk_errf(e, "%s: unknown option '%s'; expected one of: %s (see -h %s)", what, key,
                       list, what);
    }
    /* An argument placeholder in brackets ("[ID]") is optional. */
    if (spec[k].arg && spec[k].arg[0] != '[' && !o->kv[i].value)
        return fk_errf(e, "%s: option '%s' needs a value: %s=%s", what, key, key, spec[k].arg);
    if (!spec[k].arg && o->kv[i].value)
        return fk_errf(e, "%s: option '%s' is a flag and takes no value (got '%s')", what, key,
                       o->kv[i].value);
    return k;
}

int fk_opts_uint(const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out,
                 fk_err_t *e)
{
    char *end;
    unsigned long long v;

    /* Digits only: strtoull would also take leading blanks and a sign. */
    if (!value || *value < '0' || *value > '9')
        return fk_errf(e, "option '%s': expected a number in [%llu, %llu], got '%s'", key,
                       (unsigned long long)min, (unsigned long long)max, value ? value : "");
    errno = 0;
    v = strtoull(value, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return fk_errf(e, "option '%s': expected a number in [%llu, %llu], got '%s'", key,
                       (unsigned long long)min, (unsigned long long)max, value);
    *out = v;
    return 0;
}

int fk_opts_bool(const char *key, const char *value, bool *out, fk_err_t *e)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; value && i < 4; i++) {
        if (strcasecmp(value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return fk_errf(e, "option '%s': expected true or false, got '%s'", key, value ? value : "");
}

void fk_opts_help(FILE *f, const fk_optspec_t *spec)
{
    for (int i = 0; spec && spec[i].lname; i++) {
        char keys[64];
        if (spec[i].arg && spec[i].arg[0] == '[') /* optional: "f, fanout[=ID]" */
            snprintf(keys, sizeof(keys), "%s%s%s[=%.*s]", spec[i].sname ? spec[i].sname : "",
                     spec[i].sname ? ", " : "", spec[i].lname, (int)strlen(spec[i].arg) - 2,
                     spec[i].arg + 1);
        else if (spec[i].arg)
            snprintf(keys, sizeof(keys), "%s%s%s=%s", spec[i].sname ? spec[i].sname : "",
                     spec[i].sname ? ", " : "", spec[i].lname, spec[i].arg);
        else
            snprintf(keys, sizeof(keys), "%s%s%s", spec[i].sname ? spec[i].sname : "",
                     spec[i].sname ? ", " : "", spec[i].lname);
        fprintf(f, "    %-28s %s\n", keys, spec[i].help);
    }
}
