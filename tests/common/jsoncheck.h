/*
 * jsoncheck.h - a strict, small JSON syntax checker (RFC 8259, depth-bounded)
 * for tests and fuzzers: flowkit's writers print unsigned integers, escaped
 * printable-ASCII strings, objects and arrays only, so anything else fails.
 * Header-only (static functions) so each test binary gets its own copy.
 */
#ifndef FK_TEST_JSONCHECK_H
#define FK_TEST_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct jp_st {
    const char *p, *end;
} jp_t;

static inline void ws(jp_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

static inline bool lit(jp_t *j, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
        return false;
    j->p += n;
    return true;
}

static inline bool jstring(jp_t *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    for (j->p++; j->p < j->end; j->p++) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20 || c >= 0x7f)
            return false; /* the writer escapes everything outside printable ASCII */
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end || !strchr("\"\\/bfnrtu", *j->p))
                return false;
        }
    }
    return false;
}

static inline bool jnumber(jp_t *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    /* Integers only (the writers print no fractions), without leading zeros. */
    return j->p > s && !(j->p - s > 1 && *s == '0');
}

static inline bool jvalue(jp_t *j, int depth)
{
    if (depth > 16)
        return false;
    ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{':
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return true;
        }
        for (;;) {
            ws(j);
            if (!jstring(j))
                return false;
            ws(j);
            if (!lit(j, ":") || !jvalue(j, depth + 1))
                return false;
            ws(j);
            if (lit(j, "}"))
                return true;
            if (!lit(j, ","))
                return false;
        }
    case '[':
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return true;
        }
        for (;;) {
            if (!jvalue(j, depth + 1))
                return false;
            ws(j);
            if (lit(j, "]"))
                return true;
            if (!lit(j, ","))
                return false;
        }
    case '"':
        return jstring(j);
    case 'n':
        return lit(j, "null");
    case 't':
        return lit(j, "true");
    case 'f':
        return lit(j, "false");
    default:
        return jnumber(j);
    }
}

/* True when [p, p+n) is exactly one JSON value (surrounding blanks allowed). */
static inline bool fk_json_valid(const char *p, size_t n)
{
    jp_t j = {p, p + n};
    if (!jvalue(&j, 0))
        return false;
    ws(&j);
    return j.p == j.end;
}

#endif /* FK_TEST_JSONCHECK_H */
