/*
 * fuzz_opts.c - libFuzzer target for plugin option strings.
 *
 * The input, NUL-terminated, goes through fk_opts_parse, then every token
 * through fk_opts_lookup against a small spec and every value through
 * fk_opts_uint and fk_opts_bool, checking what each promises.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/opts.h"

static const fk_optspec_t SPEC[] = {
    {"s", "size", "EXPONENT", "cache size"},
    {"f", "force", NULL, "a flag"},
    {NULL, "timeout", "SECONDS", "long name only"},
    {"b", "bool", "BOOL", "a boolean"},
    {NULL, NULL, NULL, NULL},
};

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "fuzz_opts: invariant failed: %s\n", #cond); \
            abort();                                                     \
        }                                                                \
    } while (0)

/* A message was written, and it fits its buffer. */
static void check_msg(const fk_err_t *e)
{
    CHECK(e->msg[0] != '\0');
    CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* Numbers: success means a decimal string whose value is in range. */
static void check_uint(const char *value, uint64_t min, uint64_t max)
{
    fk_err_t e;
    uint64_t v = 0x5a5a;

    e.msg[0] = '\0';
    if (fk_opts_uint("k", value, min, max, &v, &e) == 0) {
        CHECK(value && all_digits(value));
        CHECK(v >= min && v <= max);
        CHECK(strtoull(value, NULL, 10) == v);
    } else {
        CHECK(v == 0x5a5a);
        check_msg(&e);
    }
}

static void check_bool(const char *value)
{
    fk_err_t e;
    bool b = false;

    e.msg[0] = '\0';
    if (fk_opts_bool("k", value, &b, &e) != 0)
        check_msg(&e);
}

static void check_values(const char *value)
{
    check_uint(value, 0, UINT64_MAX);
    check_uint(value, 1, 30);
    check_bool(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    fk_opts_t o;
    fk_err_t e;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    e.msg[0] = '\0';
    if (fk_opts_parse(s, &o, &e) != 0) {
        check_msg(&e);
        CHECK(o.buf == NULL && o.name == NULL);
        fk_opts_free(&o);
        check_values(s);
        free(s);
        return 0;
    }

    CHECK(o.name && *o.name && !strchr(o.name, ';'));
    CHECK(strncmp(s, o.name, strlen(o.name)) == 0);
    CHECK(o.n <= FK_OPTS_MAX);
    for (size_t i = 0; i < o.n; i++) {
        const char *key = o.kv[i].key, *value = o.kv[i].value;
        CHECK(key && !strchr(key, ';') && !strchr(key, '='));
        CHECK(!value || !strchr(value, ';'));
        CHECK(*key || value); /* an empty token is skipped, "=x" is not */

        e.msg[0] = '\0';
        int k = fk_opts_lookup(&o, i, SPEC, o.name, &e);
        if (k < 0) {
            check_msg(&e);
        } else {
            CHECK(k == fk_opts_match(SPEC, key));
            CHECK(strcmp(key, SPEC[k].lname) == 0 ||
                  (SPEC[k].sname && strcmp(key, SPEC[k].sname) == 0));
            CHECK(SPEC[k].arg ? value != NULL : value == NULL);
        }
        if (value)
            check_values(value);
    }
    check_values(o.name);

    fk_opts_free(&o);
    CHECK(o.buf == NULL && o.n == 0);
    fk_opts_free(&o);
    free(s);
    return 0;
}
