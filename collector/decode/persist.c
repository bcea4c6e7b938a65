/*
 * persist.c - GoFlow2's template JSON, out (GET /templates, the persistence
 * file) and back in (the file at start-up).  See persist.h.
 *
 * The reader is a small recursive-descent JSON parser (RFC 8259) driven by
 * the expected shape: objects of objects of template records.  Everything it
 * does not know is skipped (nesting capped at MAX_DEPTH); everything it does
 * know is range-checked; the first error stops the parse with its line and
 * column, and nothing is stored (the templates are staged in a scratch state
 * and copied only when the whole file was read).
 */
#include "persist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 32  /* nesting the skipper follows before it gives up */
#define MAX_KEY   256 /* bytes of an object key we decode */

/* ======================================================================== writer */

typedef struct entry_st {
    const fc_tmpl_info_t *ti; /* points into `infos` */
    char router[64];          /* "192.0.2.1:2055", "[2001:db8::1]:2055" */
    char key[40];             /* "10/1/256" */
} entry_t;

typedef struct collect_st {
    fc_tmpl_info_t *infos;
    fc_xkey_t *keys; /* copies: ti->k points here */
    size_t n, cap;
    bool oom;
} collect_t;

static void collect_one(void *arg, const fc_tmpl_info_t *ti)
{
    collect_t *c = arg;
    if (c->oom)
        return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        fc_tmpl_info_t *ni = realloc(c->infos, nc * sizeof(*ni));
        if (ni)
            c->infos = ni;
        fc_xkey_t *nk = realloc(c->keys, nc * sizeof(*nk));
        if (nk)
            c->keys = nk;
        if (!ni || !nk) {
            c->oom = true;
            return;
        }
        c->cap = nc;
    }
    c->infos[c->n] = *ti;
    c->keys[c->n] = *ti->k;
    c->n++;
}

/* Go's netip.AddrPort.String(): "a.b.c.d:port" or "[v6]:port". */
static void router_name(const fc_xkey_t *k, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "invalid IP";
    if (k->addr.len == 4)
        inet_ntop(AF_INET, k->addr.a, a, sizeof(a));
    else if (k->addr.len == 16)
        inet_ntop(AF_INET6, k->addr.a, a, sizeof(a));
    snprintf(out, cap, k->addr.len == 16 ? "[%s]:%u" : "%s:%u", a, k->port);
}

static int entry_cmp(const void *x, const void *y)
{
    const entry_t *a = x, *b = y;
    int c = strcmp(a->router, b->router);
    return c ? c : strcmp(a->key, b->key);
}

static void indent(fk_buf_t *b, int n)
{
    fk_buf_putc(b, '\n');
    for (int i = 0; i < n; i++)
        fk_buf_puts(b, "  ");
}

static void put_fields(fk_buf_t *b, const char *name, const fk_ipfix_ie_t *f, size_t n, int lvl)
{
    indent(b, lvl);
    fk_buf_printf(b, "\"%s\": [", name);
    for (size_t i = 0; i < n; i++) {
        indent(b, lvl + 1);
        fk_buf_putc(b, '{');
        indent(b, lvl + 2);
        fk_buf_printf(b, "\"pen-provided\": %s,", f[i].pen ? "true" : "false");
        indent(b, lvl + 2);
        fk_buf_printf(b, "\"type\": %u,", f[i].id);
        indent(b, lvl + 2);
        fk_buf_printf(b, "\"length\": %u,", f[i].len);
        indent(b, lvl + 2);
        fk_buf_printf(b, "\"pen\": %u", (unsigned)f[i].pen);
        indent(b, lvl + 1);
        fk_buf_puts(b, i + 1 < n ? "}," : "}");
    }
    if (n)
        indent(b, lvl);
    fk_buf_putc(b, ']');
}

/* One record in GoFlow2's shape (template-id first, struct field order). */
static void put_template(fk_buf_t *b, const fc_xkey_t *k, const fk_ipfix_tmpl_t *t, int lvl)
{
    uint16_t ns = t->options ? t->scope : 0;
    fk_buf_putc(b, '{');
    indent(b, lvl + 1);
    fk_buf_printf(b, "\"template-id\": %u,", t->id);
    if (t->options && k->version == 9) {
        /* NFv9OptionsTemplateRecord: lengths in bytes, 4 per field (RFC 3954 6.1) */
        indent(b, lvl + 1);
        fk_buf_printf(b, "\"scope-length\": %u,", (unsigned)ns * 4);
        indent(b, lvl + 1);
        fk_buf_printf(b, "\"option-length\": %u,", (unsigned)(t->nfields - ns) * 4);
        put_fields(b, "scopes", t->f, ns, lvl + 1);
        fk_buf_putc(b, ',');
        put_fields(b, "options", t->f + ns, t->nfields - ns, lvl + 1);
    } else if (t->options) {
        /* IPFIXOptionsTemplateRecord (RFC 7011 3.4.2.2) */
        indent(b, lvl + 1);
        fk_buf_printf(b, "\"field-count\": %u,", t->nfields);
        indent(b, lvl + 1);
        fk_buf_printf(b, "\"scope-field-count\": %u,", ns);
        put_fields(b, "options", t->f + ns, t->nfields - ns, lvl + 1);
        fk_buf_putc(b, ',');
        put_fields(b, "scopes", t->f, ns, lvl + 1);
    } else {
        indent(b, lvl + 1);
        fk_buf_printf(b, "\"field-count\": %u,", t->nfields);
        put_fields(b, "fields", t->f, t->nfields, lvl + 1);
    }
    indent(b, lvl);
    fk_buf_putc(b, '}');
}

long fc_persist_json(const fc_state_t *s, fk_buf_t *b)
{
    collect_t c = {0};
    entry_t *v = NULL;
    size_t before = b->len;

    fc_state_foreach_template(s, collect_one, &c);
    if (c.oom || (c.n && !(v = calloc(c.n, sizeof(*v))))) {
        free(c.infos);
        free(c.keys);
        return -1;
    }
    for (size_t i = 0; i < c.n; i++) {
        c.infos[i].k = &c.keys[i];
        v[i].ti = &c.infos[i];
        router_name(&c.keys[i], v[i].router, sizeof(v[i].router));
        snprintf(v[i].key, sizeof(v[i].key), "%u/%u/%u", c.keys[i].version,
                 (unsigned)c.keys[i].domain, c.infos[i].id);
    }
    if (c.n)
        qsort(v, c.n, sizeof(*v), entry_cmp);
    fk_buf_putc(b, '{');
    for (size_t i = 0; i < c.n; i++) {
        bool first = i == 0 || strcmp(v[i - 1].router, v[i].router) != 0;
        bool last = i + 1 == c.n || strcmp(v[i + 1].router, v[i].router) != 0;
        if (first) {
            indent(b, 1);
            fk_buf_printf(b, "\"%s\": {", v[i].router);
        }
        indent(b, 2);
        fk_buf_printf(b, "\"%s\": ", v[i].key);
        put_template(b, v[i].ti->k, v[i].ti->t, 2);
        if (!last)
            fk_buf_putc(b, ',');
        if (last) {
            indent(b, 1);
            fk_buf_puts(b, i + 1 < c.n ? "}," : "}");
        }
    }
    if (c.n)
        fk_buf_putc(b, '\n');
    fk_buf_puts(b, "}\n");
    free(v);
    free(c.infos);
    free(c.keys);
    if (b->error) {
        b->len = before;
        return -1;
    }
    return (long)c.n;
}

/* mkdir -p of the directory part of `path`, 0755 (GoFlow2's mode). */
static int make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, n + 1);
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp)
        return 0;
    *slash = '\0';
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int fc_persist_write(const char *path, const void *data, size_t len, fk_err_t *e)
{
    char tmp[PATH_MAX];
    const char *p = data;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return fk_errf(e, "-templates.json.path %s: path too long", path);
    if (make_dirs(path) < 0)
        return fk_errf(e, "-templates.json.path %s: cannot create its directory: %s", path,
                       strerror(errno));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fk_errf(e, "-templates.json.path %s: %s", tmp, strerror(errno));
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return fk_errf(e, "-templates.json.path %s: write: %s", tmp, strerror(err));
        }
        p += w;
        len -= (size_t)w;
    }
    /* fsync before rename: after a crash the file is the old or the new
     * snapshot, never a torn one. */
    if (fsync(fd) < 0 || close(fd) < 0) {
        int err = errno;
        unlink(tmp);
        return fk_errf(e, "-templates.json.path %s: fsync: %s", tmp, strerror(err));
    }
    if (rename(tmp, path) < 0) {
        int err = errno;
        unlink(tmp);
        return fk_errf(e, "-templates.json.path %s: rename: %s", path, strerror(err));
    }
    return 0;
}

/* ======================================================================== reader */

typedef struct jp_st {
    const uint8_t *start, *p, *end;
    fk_err_t *e;
    bool failed;
} jp_t;

static int jfail(jp_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error with its position (line and column, 1-based). */
static int jfail(jp_t *j, const char *fmt, ...)
{
    if (j->failed)
        return -1;
    size_t line = 1, col = 1;
    for (const uint8_t *q = j->start; q < j->p && q < j->end; q++) {
        if (*q == '\n')
            line++, col = 1;
        else
            col++;
    }
    char found[24];
    if (j->p >= j->end)
        snprintf(found, sizeof(found), "the end of the file");
    else if (j->p[0] >= 0x20 && j->p[0] < 0x7f)
        snprintf(found, sizeof(found), "'%c'", j->p[0]);
    else
        snprintf(found, sizeof(found), "byte 0x%02x", j->p[0]);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fk_errf(j->e, "line %zu, column %zu: %s (found %s)", line, col, msg, found);
    j->failed = true;
    return -1;
}

static void ws(jp_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool peek(jp_t *j, char c)
{
    ws(j);
    return j->p < j->end && *j->p == (uint8_t)c;
}

static int expect(jp_t *j, char c)
{
    if (!peek(j, c))
        return jfail(j, "expected '%c'", c);
    j->p++;
    return 0;
}

static int hex4(jp_t *j, uint32_t *out)
{
    uint32_t v = 0;
    if (j->end - j->p < 4)
        return jfail(j, "a \\u escape needs four hex digits");
    for (int i = 0; i < 4; i++) {
        uint8_t c = j->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return jfail(j, "a \\u escape needs four hex digits");
    }
    j->p += 4;
    *out = v;
    return 0;
}

/*
 * A string; its decoded bytes go to out[0..cap) when out is not NULL (then
 * longer strings are an error).  Escapes per RFC 8259 7; raw control bytes
 * are an error.  *len gets the decoded length.
 */
static int jstring(jp_t *j, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    if (expect(j, '"') < 0)
        return -1;
    for (;;) {
        if (j->p >= j->end)
            return jfail(j, "unterminated string");
        uint8_t c = *j->p++;
        uint32_t cp = c;
        if (c == '"')
            break;
        if (c < 0x20) {
            j->p--;
            return jfail(j, "control byte inside a string");
        }
        if (c == '\\') {
            if (j->p >= j->end)
                return jfail(j, "unterminated string");
            c = *j->p++;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                cp = c;
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u':
                if (hex4(j, &cp) < 0)
                    return -1;
                break;
            default:
                j->p--;
                return jfail(j, "unknown escape in a string");
            }
            if (c == 'u' && cp > 0x7f) {
                /* Only ASCII matters for our keys; other code points are kept as
                 * '?', which can only make a key unknown (skipped) or invalid. */
                cp = '?';
            }
        }
        if (out) {
            if (n + 1 >= cap)
                return jfail(j, "string longer than %zu bytes", cap - 1);
            out[n] = (char)cp;
        }
        n++;
    }
    if (out)
        out[n] = '\0';
    if (len)
        *len = n;
    return 0;
}

/* An unsigned integer in 0..max, written without sign, fraction or exponent. */
static int juint(jp_t *j, uint64_t max, const char *name, uint64_t *out)
{
    uint64_t v = 0;
    ws(j);
    const uint8_t *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (v > (UINT64_MAX - 9) / 10) {
            j->p = s;
            return jfail(j, "%s: number out of range", name);
        }
        v = v * 10 + (*j->p++ - '0');
    }
    if (j->p == s || (j->p - s > 1 && *s == '0')) {
        j->p = s;
        return jfail(j, "%s: expected an unsigned integer", name);
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) {
        j->p = s;
        return jfail(j, "%s: expected an integer, not a fraction", name);
    }
    if (v > max) {
        j->p = s;
        return jfail(j, "%s: number out of range", name);
    }
    *out = v;
    return 0;
}

static int jliteral(jp_t *j, const char *lit)
{
    size_t n = strlen(lit);
    ws(j);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return jfail(j, "expected %s", lit);
    j->p += n;
    return 0;
}

static int jbool(jp_t *j, const char *name, bool *out)
{
    ws(j);
    if (j->p < j->end && *j->p == 't') {
        *out = true;
        return jliteral(j, "true");
    }
    if (j->p < j->end && *j->p == 'f') {
        *out = false;
        return jliteral(j, "false");
    }
    return jfail(j, "%s: expected true or false", name);
}

/* Skip any value (for keys we do not know). */
static int jskip(jp_t *j, int depth)
{
    if (depth > MAX_DEPTH)
        return jfail(j, "values nested deeper than %d levels", MAX_DEPTH);
    ws(j);
    if (j->p >= j->end)
        return jfail(j, "expected a value");
    switch (*j->p) {
    case '"':
        return jstring(j, NULL, 0, NULL);
    case '{':
        j->p++;
        if (peek(j, '}'))
            return j->p++, 0;
        for (;;) {
            if (jstring(j, NULL, 0, NULL) < 0 || expect(j, ':') < 0 || jskip(j, depth + 1) < 0)
                return -1;
            if (peek(j, ','))
                j->p++;
            else
                return expect(j, '}');
        }
    case '[':
        j->p++;
        if (peek(j, ']'))
            return j->p++, 0;
        for (;;) {
            if (jskip(j, depth + 1) < 0)
                return -1;
            if (peek(j, ','))
                j->p++;
            else
                return expect(j, ']');
        }
    case 't':
        return jliteral(j, "true");
    case 'f':
        return jliteral(j, "false");
    case 'n':
        return jliteral(j, "null");
    default: {
        /* number: -?int frac? exp? (RFC 8259 6) */
        const uint8_t *s = j->p;
        if (j->p < j->end && *j->p == '-')
            j->p++;
        size_t digits = 0;
        while (j->p < j->end && ((*j->p >= '0' && *j->p <= '9') || *j->p == '.' || *j->p == 'e' ||
                                 *j->p == 'E' || *j->p == '+' || *j->p == '-'))
            j->p++, digits++;
        if (!digits) {
            j->p = s;
            return jfail(j, "expected a value");
        }
        return 0;
    }
    }
}

/* A field list: [ {"pen-provided":b,"type":n,"length":n,"pen":n}, ... ] or null. */
static int jfields(jp_t *j, fk_ipfix_ie_t *f, size_t cap, size_t *n, uint8_t version)
{
    *n = 0;
    if (peek(j, 'n'))
        return jliteral(j, "null"); /* Go marshals an empty (nil) slice as null */
    if (expect(j, '[') < 0)
        return -1;
    if (peek(j, ']'))
        return j->p++, 0;
    for (;;) {
        bool pp = false, have_type = false, have_len = false;
        uint64_t type = 0, len = 0, pen = 0;
        if (*n == cap)
            return jfail(j, "more than %d fields in one template", FK_IPFIX_MAX_FIELDS);
        if (expect(j, '{') < 0)
            return -1;
        if (!peek(j, '}'))
            for (;;) {
                char key[MAX_KEY];
                if (jstring(j, key, sizeof(key), NULL) < 0 || expect(j, ':') < 0)
                    return -1;
                int rc;
                if (strcmp(key, "pen-provided") == 0)
                    rc = jbool(j, "pen-provided", &pp);
                else if (strcmp(key, "type") == 0)
                    rc = juint(j, 65535, "type", &type), have_type = true;
                else if (strcmp(key, "length") == 0)
                    rc = juint(j, 65535, "length", &len), have_len = true;
                else if (strcmp(key, "pen") == 0)
                    rc = juint(j, UINT32_MAX, "pen", &pen);
                else
                    rc = jskip(j, 3);
                if (rc < 0)
                    return -1;
                if (peek(j, ','))
                    j->p++;
                else
                    break;
            }
        if (expect(j, '}') < 0)
            return -1;
        if (!have_type || !have_len)
            return jfail(j, "a template field needs \"type\" and \"length\"");
        if (version == 9 && (pp || pen))
            return jfail(j, "NetFlow v9 fields carry no enterprise number");
        if (version == 10 && type > 0x7fff)
            return jfail(j, "IPFIX field type above 32767 (the enterprise bit is pen-provided)");
        if (pp && pen == 0)
            return jfail(j, "pen-provided is true but pen is 0");
        f[*n].id = (uint16_t)type;
        f[*n].len = (uint16_t)len;
        f[*n].pen = pp ? (uint32_t)pen : 0;
        (*n)++;
        if (peek(j, ','))
            j->p++;
        else
            return expect(j, ']');
    }
}

/* "ip:port" or "[v6]:port" as GoFlow2 writes routers. */
static bool parse_router(const char *s, fc_addr_t *a, uint16_t *port)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host) || colon == s)
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *h = host;
    size_t hl = strlen(h);
    bool br = h[0] == '[' && hl >= 2 && h[hl - 1] == ']';
    if (br) {
        h[hl - 1] = '\0';
        h++;
    }
    const char *ps = colon + 1;
    if (!*ps || strlen(ps) > 5)
        return false;
    unsigned long p = 0;
    for (const char *q = ps; *q; q++) {
        if (*q < '0' || *q > '9')
            return false;
        p = p * 10 + (unsigned long)(*q - '0');
    }
    if (p > 65535)
        return false;
    memset(a, 0, sizeof(*a));
    if (!br && inet_pton(AF_INET, h, a->a) == 1)
        a->len = 4;
    else if (br && inet_pton(AF_INET6, h, a->a) == 1)
        a->len = 16;
    else
        return false;
    *port = (uint16_t)p;
    return true;
}

/* "version/obs/tid" */
static bool parse_tkey(const char *s, uint8_t *ver, uint32_t *dom, uint16_t *id)
{
    uint64_t v[3] = {0, 0, 0};
    int i = 0;
    size_t digits = 0;
    for (const char *q = s;; q++) {
        if (*q >= '0' && *q <= '9') {
            if (++digits > 10)
                return false;
            v[i] = v[i] * 10 + (uint64_t)(*q - '0');
        } else if ((*q == '/' && i < 2) || (*q == '\0' && i == 2)) {
            if (!digits)
                return false;
            if (*q == '\0')
                break;
            i++;
            digits = 0;
        } else {
            return false;
        }
    }
    if ((v[0] != 9 && v[0] != 10) || v[1] > UINT32_MAX || v[2] < 256 || v[2] > 65535)
        return false;
    *ver = (uint8_t)v[0];
    *dom = (uint32_t)v[1];
    *id = (uint16_t)v[2];
    return true;
}

/* One template record under key k; stored into the staging state. */
static int jtemplate(jp_t *j, fc_state_t *stage, const fc_xkey_t *k, uint16_t id, uint64_t now)
{
    static __thread fk_ipfix_tmpl_t t;
    static __thread fk_ipfix_ie_t scopes[FK_IPFIX_MAX_FIELDS];
    static __thread fk_ipfix_ie_t opts[FK_IPFIX_MAX_FIELDS];
    uint64_t tid = id, fcount = 0, sfcount = 0, slen = 0, olen = 0;
    bool have_fc = false, have_sfc = false, have_sl = false, have_ol = false;
    bool have_fields = false, have_scopes = false, have_opts = false;
    size_t nf = 0, ns = 0, no = 0;
    const uint8_t *at = NULL;

    memset(&t, 0, offsetof(fk_ipfix_tmpl_t, f));
    if (expect(j, '{') < 0)
        return -1;
    at = j->p;
    if (!peek(j, '}'))
        for (;;) {
            char key[MAX_KEY];
            int rc;
            if (jstring(j, key, sizeof(key), NULL) < 0 || expect(j, ':') < 0)
                return -1;
            if (strcmp(key, "template-id") == 0)
                rc = juint(j, 65535, "template-id", &tid);
            else if (strcmp(key, "field-count") == 0)
                rc = juint(j, 65535, "field-count", &fcount), have_fc = true;
            else if (strcmp(key, "scope-field-count") == 0)
                rc = juint(j, 65535, "scope-field-count", &sfcount), have_sfc = true;
            else if (strcmp(key, "scope-length") == 0)
                rc = juint(j, 65535, "scope-length", &slen), have_sl = true;
            else if (strcmp(key, "option-length") == 0)
                rc = juint(j, 65535, "option-length", &olen), have_ol = true;
            else if (strcmp(key, "fields") == 0)
                rc = jfields(j, t.f, FK_IPFIX_MAX_FIELDS, &nf, k->version), have_fields = true;
            else if (strcmp(key, "scopes") == 0)
                rc = jfields(j, scopes, FK_IPFIX_MAX_FIELDS, &ns, k->version), have_scopes = true;
            else if (strcmp(key, "options") == 0)
                rc = jfields(j, opts, FK_IPFIX_MAX_FIELDS, &no, k->version), have_opts = true;
            else
                rc = jskip(j, 2);
            if (rc < 0)
                return -1;
            if (peek(j, ','))
                j->p++;
            else
                break;
        }
    if (expect(j, '}') < 0)
        return -1;
    const uint8_t *end = j->p;
    j->p = at; /* semantic errors point at the record's first key */
    if (tid != id)
        return jfail(j, "template-id disagrees with the key's template id");
    bool v9opt = have_sl || have_ol, ipxopt = have_sfc;
    if (v9opt && ipxopt)
        return jfail(j, "both scope-length (v9) and scope-field-count (IPFIX)");
    if ((v9opt && k->version != 9) || (ipxopt && k->version != 10))
        return jfail(j, "options template of the other NetFlow version than its key");
    if (v9opt || ipxopt) {
        if (have_fields || !have_scopes || !have_opts)
            return jfail(j, "an options template needs \"scopes\" and \"options\"");
        if (ns + no > FK_IPFIX_MAX_FIELDS)
            return jfail(j, "more than %d fields in one template", FK_IPFIX_MAX_FIELDS);
        if (v9opt && (!have_sl || !have_ol || slen != ns * 4 || olen != no * 4))
            return jfail(j, "scope-length/option-length disagree with the field lists");
        if (ipxopt && ((have_fc && fcount != ns + no) || sfcount != ns || ns == 0))
            return jfail(j, "field-count/scope-field-count disagree with the field lists");
        memcpy(t.f, scopes, ns * sizeof(t.f[0]));
        memcpy(t.f + ns, opts, no * sizeof(t.f[0]));
        nf = ns + no;
        t.options = true;
        t.scope = (uint16_t)ns;
    } else {
        if (!have_fields || have_scopes || have_opts)
            return jfail(j, "a template needs \"fields\" (and no scopes/options)");
        if (have_fc && fcount != nf)
            return jfail(j, "field-count disagrees with the field list");
    }
    if (nf == 0)
        return jfail(j, "a template without fields");
    /* The same invariants the wire decoders establish (nfv9.c, lib/ipfix/reader.c). */
    uint32_t fixed = 0;
    bool var = false;
    for (size_t i = 0; i < nf; i++) {
        if (k->version == 10 && t.f[i].len == FK_IPFIX_VARLEN)
            var = true;
        else
            fixed += t.f[i].len;
    }
    if (!var && fixed == 0)
        return jfail(j, "all fields have length 0");
    t.id = id;
    t.nfields = (uint16_t)nf;
    t.fixed_len = var ? 0 : fixed;
    j->p = end;
    if (fc_state_put_template(stage, k, &t, now) < 0)
        return jfail(j, "out of memory");
    return 0;
}

typedef struct copy_st {
    fc_state_t *dst;
    uint64_t now;
    bool oom;
} copy_t;

static void copy_one(void *arg, const fc_tmpl_info_t *ti)
{
    copy_t *c = arg;
    if (fc_state_put_template(c->dst, ti->k, ti->t, c->now) < 0)
        c->oom = true;
}

long fc_persist_parse(fc_state_t *s, const uint8_t *data, size_t len, uint64_t now_ns, fk_err_t *e)
{
    jp_t j = {data, data, data + len, e, false};
    fc_state_t *stage = fc_state_new(0);
    size_t count = 0;

    if (!stage)
        return fk_errf(e, "out of memory");
    if (len > FC_PERSIST_MAX_FILE) {
        fc_state_free(stage);
        return fk_errf(e, "more than %u bytes", FC_PERSIST_MAX_FILE);
    }
    if (expect(&j, '{') < 0)
        goto fail;
    if (!peek(&j, '}'))
        for (;;) {
            char rkey[MAX_KEY];
            fc_xkey_t k;
            memset(&k, 0, sizeof(k));
            if (jstring(&j, rkey, sizeof(rkey), NULL) < 0)
                goto fail;
            if (!parse_router(rkey, &k.addr, &k.port)) {
                jfail(&j, "router key is not \"IP:PORT\" or \"[IPv6]:PORT\"");
                goto fail;
            }
            if (expect(&j, ':') < 0 || expect(&j, '{') < 0)
                goto fail;
            if (!peek(&j, '}'))
                for (;;) {
                    char tkey[MAX_KEY];
                    uint16_t id;
                    if (jstring(&j, tkey, sizeof(tkey), NULL) < 0)
                        goto fail;
                    if (!parse_tkey(tkey, &k.version, &k.domain, &id)) {
                        jfail(&j, "template key is not \"VERSION/DOMAIN/ID\" (9 or 10, id >= 256)");
                        goto fail;
                    }
                    if (++count > FC_PERSIST_MAX_TEMPLATES) {
                        jfail(&j, "more than %u templates", FC_PERSIST_MAX_TEMPLATES);
                        goto fail;
                    }
                    if (expect(&j, ':') < 0 || jtemplate(&j, stage, &k, id, now_ns) < 0)
                        goto fail;
                    if (peek(&j, ','))
                        j.p++;
                    else
                        break;
                }
            if (expect(&j, '}') < 0)
                goto fail;
            if (peek(&j, ','))
                j.p++;
            else
                break;
        }
    if (expect(&j, '}') < 0)
        goto fail;
    ws(&j);
    if (j.p != j.end) {
        jfail(&j, "text after the top-level object");
        goto fail;
    }
    copy_t c = {s, now_ns, false};
    size_t n = fc_state_foreach_template(stage, copy_one, &c);
    fc_state_free(stage);
    if (c.oom)
        return fk_errf(e, "out of memory");
    return (long)n;
fail:
    fc_state_free(stage);
    return -1;
}

long fc_persist_load(fc_state_t *s, const char *path, uint64_t now_ns, fk_err_t *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    uint8_t *buf;
    size_t got = 0;

    if (fd < 0)
        return errno == ENOENT ? 0 : fk_errf(e, "%s: %s", path, strerror(errno));
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fk_errf(e, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > FC_PERSIST_MAX_FILE) {
        close(fd);
        return fk_errf(e, "%s: %lld bytes, more than the %u a template file may have", path,
                       (long long)sb.st_size, FC_PERSIST_MAX_FILE);
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        return fk_errf(e, "%s: out of memory", path);
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    fk_err_t pe;
    long n = fc_persist_parse(s, buf, got, now_ns, &pe);
    free(buf);
    if (n < 0)
        return fk_errf(e, "%s: %s", path, pe.msg);
    return n;
}
