/*
 * test_persist.c - templates as GoFlow2's JSON (collector/decode/persist.c):
 * the exact text GET /templates and -templates.json.path hold, the round
 * trip through the loader, restart semantics (a loaded template decodes a
 * data set at once), the atomic file write, and hostile files: every one is
 * refused with a line/column message and stores nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/decode/decode.h"
#include "collector/decode/persist.h"
#include "lib/core/buf.h"
#include "lib/ipfix/ipfix.h"

#define NOW 1700000000000000000ULL

static fc_xkey_t key4(uint8_t version, uint32_t domain)
{
    fc_xkey_t k;
    memset(&k, 0, sizeof(k));
    k.addr.len = 4;
    memcpy(k.addr.a, (uint8_t[]){192, 0, 2, 7}, 4);
    k.port = 4739;
    k.version = version;
    k.domain = domain;
    return k;
}

static fk_ipfix_tmpl_t *tmpl(uint16_t id, const fk_ipfix_ie_t *f, size_t n, uint16_t scope)
{
    static fk_ipfix_tmpl_t t;
    memset(&t, 0, sizeof(t));
    t.id = id;
    t.nfields = (uint16_t)n;
    t.scope = scope;
    t.options = scope > 0;
    bool var = false;
    for (size_t i = 0; i < n; i++) {
        t.f[i] = f[i];
        if (f[i].len == FK_IPFIX_VARLEN)
            var = true;
        else
            t.fixed_len += f[i].len;
    }
    if (var)
        t.fixed_len = 0;
    return &t;
}

static char *render(const fc_state_t *s)
{
    fk_buf_t b;
    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    assert_true(fc_persist_json(s, &b) >= 0);
    fk_buf_putc(&b, '\0');
    return b.data;
}

/* GoFlow2's shape, byte for byte (two-space indent, sorted keys). */
static void test_json_shape(void **state)
{
    fc_state_t *s = fc_state_new(0);
    fc_xkey_t k = key4(10, 1);
    (void)state;
    static const fk_ipfix_ie_t f[] = {{0, 8, 4}, {29305, 1, 8}};
    assert_int_equal(fc_state_put_template(s, &k, tmpl(256, f, 2, 0), NOW), 0);
    char *j = render(s);
    assert_string_equal(j, "{\n"
                           "  \"192.0.2.7:4739\": {\n"
                           "    \"10/1/256\": {\n"
                           "      \"template-id\": 256,\n"
                           "      \"field-count\": 2,\n"
                           "      \"fields\": [\n"
                           "        {\n"
                           "          \"pen-provided\": false,\n"
                           "          \"type\": 8,\n"
                           "          \"length\": 4,\n"
                           "          \"pen\": 0\n"
                           "        },\n"
                           "        {\n"
                           "          \"pen-provided\": true,\n"
                           "          \"type\": 1,\n"
                           "          \"length\": 8,\n"
                           "          \"pen\": 29305\n"
                           "        }\n"
                           "      ]\n"
                           "    }\n"
                           "  }\n"
                           "}\n");
    free(j);
    fc_state_free(s);
    /* no templates: an empty object */
    s = fc_state_new(0);
    j = render(s);
    assert_string_equal(j, "{}\n");
    free(j);
    fc_state_free(s);
}

static void test_options_shapes(void **state)
{
    fc_state_t *s = fc_state_new(0);
    fc_xkey_t k9 = key4(9, 0), k10 = key4(10, 1);
    (void)state;
    static const fk_ipfix_ie_t o[] = {{0, 1, 4}, {0, 34, 4}, {0, 35, 1}};
    assert_int_equal(fc_state_put_template(s, &k9, tmpl(300, o, 3, 1), NOW), 0);
    assert_int_equal(fc_state_put_template(s, &k10, tmpl(301, o, 3, 1), NOW), 0);
    char *j = render(s);
    /* v9: scope-length and option-length in bytes, scopes before options */
    assert_non_null(strstr(j, "    \"9/0/300\": {\n"
                              "      \"template-id\": 300,\n"
                              "      \"scope-length\": 4,\n"
                              "      \"option-length\": 8,\n"
                              "      \"scopes\": [\n"));
    /* IPFIX: field-count, scope-field-count, options before scopes */
    assert_non_null(strstr(j, "    \"10/1/301\": {\n"
                              "      \"template-id\": 301,\n"
                              "      \"field-count\": 3,\n"
                              "      \"scope-field-count\": 1,\n"
                              "      \"options\": [\n"));
    /* keys sorted as strings: "10/..." before "9/..." */
    assert_true(strstr(j, "10/1/301") < strstr(j, "9/0/300"));
    free(j);
    fc_state_free(s);
}

typedef struct cmp_st {
    const fc_state_t *other;
    size_t n;
} cmp_t;

static void same_one(void *arg, const fc_tmpl_info_t *ti)
{
    cmp_t *c = arg;
    /* the other state must hold an identical template under the same key */
    const fk_ipfix_tmpl_t *t = fc_state_template((fc_state_t *)c->other, ti->k, ti->id, NOW);
    assert_non_null(t);
    assert_int_equal(t->nfields, ti->t->nfields);
    assert_int_equal(t->scope, ti->t->scope);
    assert_int_equal(t->options, ti->t->options);
    assert_int_equal(t->fixed_len, ti->t->fixed_len);
    assert_memory_equal(t->f, ti->t->f, t->nfields * sizeof(t->f[0]));
    c->n++;
}

static void test_round_trip(void **state)
{
    fc_state_t *a = fc_state_new(0), *b = fc_state_new(0);
    fc_xkey_t k9 = key4(9, 7), k10 = key4(10, 0xffffffffu), k6 = key4(10, 3);
    fk_err_t e;
    (void)state;
    k6.addr.len = 16;
    memcpy(k6.addr.a, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 16);
    k6.port = 65535;
    static const fk_ipfix_ie_t v9f[] = {{0, 8, 4}, {0, 12, 4}, {0, 1, 4}, {0, 2, 4}};
    static const fk_ipfix_ie_t ipf[] = {
        {0, 8, 4}, {8057, 1, FK_IPFIX_VARLEN}, {0, 291, FK_IPFIX_VARLEN}};
    static const fk_ipfix_ie_t opt[] = {{0, 144, 4}, {0, 305, 4}};
    assert_int_equal(fc_state_put_template(a, &k9, tmpl(256, v9f, 4, 0), NOW), 0);
    assert_int_equal(fc_state_put_template(a, &k9, tmpl(257, opt, 2, 1), NOW), 0);
    assert_int_equal(fc_state_put_template(a, &k10, tmpl(65535, ipf, 3, 0), NOW), 0);
    assert_int_equal(fc_state_put_template(a, &k6, tmpl(258, opt, 2, 1), NOW), 0);
    char *j = render(a);
    assert_non_null(strstr(j, "\"[2001:db8::9]:65535\""));
    assert_int_equal(fc_persist_parse(b, (const uint8_t *)j, strlen(j), NOW, &e), 4);
    cmp_t c = {b, 0};
    fc_state_foreach_template(a, same_one, &c);
    assert_int_equal(c.n, 4);
    assert_int_equal(fc_state_templates(b), 4);
    char *j2 = render(b);
    assert_string_equal(j, j2); /* the second rendering is the same text */
    free(j);
    free(j2);
    fc_state_free(a);
    fc_state_free(b);
}

/* Restart: a data set arriving before any template decodes with a loaded one. */
static int count_rec(void *arg, fc_flow_t *f)
{
    fc_flow_t *out = arg;
    *out = *f;
    out->truncated_lists++; /* used as a record counter here */
    return 0;
}

static void test_loaded_template_decodes(void **state)
{
    fc_state_t *s = fc_state_new(0);
    fk_err_t e;
    (void)state;
    const char *file =
        "{\"192.0.2.7:4739\": {\"10/1/256\": {\"template-id\": 256, \"field-count\": 2,"
        " \"fields\": [{\"pen-provided\": false, \"type\": 8, \"length\": 4, \"pen\": 0},"
        " {\"pen-provided\": false, \"type\": 2, \"length\": 8, \"pen\": 0}]}}}";
    assert_int_equal(fc_persist_parse(s, (const uint8_t *)file, strlen(file), NOW, &e), 1);
    /* an IPFIX message with only a data set of template 256 */
    uint8_t msg[16 + 4 + 12];
    memset(msg, 0, sizeof(msg));
    msg[1] = 10;
    msg[3] = sizeof(msg);
    msg[15] = 1; /* domain 1 */
    msg[16] = 1; /* set id 256 */
    msg[19] = 16;
    memcpy(msg + 20, (uint8_t[]){10, 1, 2, 3}, 4);
    msg[31] = 42; /* packets */
    fc_dgram_t dg = {msg, sizeof(msg), {4, {192, 0, 2, 7}}, 4739, NOW};
    fc_dstats_t st;
    fc_flow_t f;
    memset(&st, 0, sizeof(st));
    memset(&f, 0, sizeof(f));
    assert_int_equal(fc_ipfix_decode(&dg, count_rec, &f, s, &st, &e), 0);
    assert_int_equal(f.truncated_lists, 1);
    assert_int_equal(st.no_template, 0);
    assert_int_equal(f.packets, 42);
    assert_int_equal(f.src_addr.len, 4);
    assert_memory_equal(f.src_addr.a, ((uint8_t[]){10, 1, 2, 3}), 4);
    fc_state_free(s);
}

/* Hostile or broken files: refused, with a position, nothing stored. */
static void test_hostile(void **state)
{
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"", "expected '{'"},
        {"[]", "expected '{'"},
        {"{", "expected '\"'"},
        {"{\"1.2.3.4:1\": {}", "expected '}'"},
        {"{\"1.2.3.4\": {}}", "router key"},
        {"{\"1.2.3.4:70000\": {}}", "router key"},
        {"{\"::1:5\": {}}", "router key"},
        {"{\"[1.2.3.4]:5\": {}}", "router key"},
        {"{\"1.2.3.4:5\": {\"8/1/256\": {}}}", "template key"},
        {"{\"1.2.3.4:5\": {\"10/1/255\": {}}}", "template key"},
        {"{\"1.2.3.4:5\": {\"10/4294967296/256\": {}}}", "template key"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {}}}", "needs \"fields\""},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"template-id\": 257, \"fields\": [{\"type\": 1, "
         "\"length\": 4}]}}}",
         "template-id disagrees"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"field-count\": 2, \"fields\": [{\"type\": 1, "
         "\"length\": 4}]}}}",
         "field-count disagrees"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1, \"length\": 0}]}}}",
         "length 0"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 40000, \"length\": 4}]}}}",
         "above 32767"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1, \"length\": 65536}]}}}",
         "out of range"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": -1, \"length\": 4}]}}}",
         "unsigned integer"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1.5, \"length\": 4}]}}}",
         "fraction"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1}]}}}", "needs \"type\" and"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1, \"length\": 4, "
         "\"pen-provided\": true}]}}}",
         "pen is 0"},
        {"{\"1.2.3.4:5\": {\"9/1/256\": {\"fields\": [{\"type\": 1, \"length\": 4, "
         "\"pen-provided\": true, \"pen\": 9}]}}}",
         "NetFlow v9 fields"},
        {"{\"1.2.3.4:5\": {\"9/1/256\": {\"scope-length\": 8, \"option-length\": 4, \"scopes\": "
         "[{\"type\": 1, \"length\": 4}], \"options\": [{\"type\": 34, \"length\": 4}]}}}",
         "scope-length/option-length"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"scope-field-count\": 0, \"scopes\": [], \"options\": "
         "[{\"type\": 34, \"length\": 4}]}}}",
         "scope-field-count"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"scope-length\": 4, \"scopes\": [], \"options\": []}}}",
         "other NetFlow version"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1, \"length\": 4}], \"x\": "
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}",
         "nested deeper"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 99999999999999999999999, "
         "\"length\": 4}]}}}",
         "out of range"},
        {"{} x", "text after"},
        {"{\"1.2.3.4:5\": {\"10/1/256", "unterminated string"},
        {"{\"1.2.3.4:5\x01\": {}}", "control byte"},
        {"{\"1.2.3.4:5\\q\": {}}", "unknown escape"},
        {"{\"1.2.3.4:5\\u12\": {}}", "four hex digits"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1, \"length\": 4}], \"y\": "
         "tru}}}",
         "expected true"},
        {"{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1, \"length\": 4, "
         "\"pen-provided\": 1}]}}}",
         "expected true or false"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fc_state_t *s = fc_state_new(0);
        fk_err_t e = {{0}};
        /* a heap copy of exactly the text, so ASan sees any over-read */
        size_t n = strlen(bad[i].json);
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, bad[i].json, n);
        long r = fc_persist_parse(s, copy, n, NOW, &e);
        if (r != -1 || !strstr(e.msg, bad[i].msg) || !strstr(e.msg, "line 1, column"))
            fail_msg("case %zu: %s -> %ld \"%s\" (want \"%s\")", i, bad[i].json, r, e.msg,
                     bad[i].msg);
        assert_int_equal(fc_state_templates(s), 0);
        free(copy);
        fc_state_free(s);
    }
}

/* All or nothing: a good template before a broken one is not stored either;
 * unknown keys are skipped; null lists are empty (Go's nil slices). */
static void test_all_or_nothing(void **state)
{
    fc_state_t *s = fc_state_new(0);
    fk_err_t e;
    (void)state;
    const char *j = "{\"1.2.3.4:5\": {\"10/1/256\": {\"fields\": [{\"type\": 1, \"length\": 4}]},\n"
                    "\"10/1/257\": {\"fields\": [{\"type\": 1, \"length\": 0}]}}}";
    assert_int_equal(fc_persist_parse(s, (const uint8_t *)j, strlen(j), NOW, &e), -1);
    assert_non_null(strstr(e.msg, "line 2"));
    assert_int_equal(fc_state_templates(s), 0);
    j = "{\"a\": 1, \"1.2.3.4:5\": {}}";
    assert_int_equal(fc_persist_parse(s, (const uint8_t *)j, strlen(j), NOW, &e),
                     -1); /* not a router */
    j = "{\"1.2.3.4:5\": {\"10/1/256\": {\"future\": {\"a\": [1, \"b\", null, true, -2.5e3]},"
        " \"fields\": [{\"type\": 1, \"length\": 4, \"comment\": \"\\u00e9\\n\"}]},"
        " \"10/1/300\": {\"scope-field-count\": 1, \"field-count\": 1, \"scopes\": "
        "[{\"type\": 144, \"length\": 4}], \"options\": null}}}";
    assert_int_equal(fc_persist_parse(s, (const uint8_t *)j, strlen(j), NOW, &e), 2);
    fc_state_free(s);
}

static void test_file(void **state)
{
    char dir[] = "/tmp/fk-persist-XXXXXX", path[256], tmp[300];
    fc_state_t *a = fc_state_new(0), *b = fc_state_new(0);
    fc_xkey_t k = key4(10, 1);
    fk_err_t e;
    fk_buf_t buf;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sub/dir/templates.json", dir);
    /* missing file: nothing loaded, no error */
    assert_int_equal(fc_persist_load(b, path, NOW, &e), 0);
    static const fk_ipfix_ie_t f[] = {{0, 8, 4}};
    fc_state_put_template(a, &k, tmpl(256, f, 1, 0), NOW);
    assert_int_equal(fk_buf_init(&buf, NULL, 0), 0);
    assert_int_equal(fc_persist_json(a, &buf), 1);
    assert_int_equal(fc_persist_write(path, buf.data, buf.len, &e), 0); /* creates sub/dir */
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed, not left behind */
    assert_int_equal(fc_persist_load(b, path, NOW, &e), 1);
    assert_int_equal(fc_state_templates(b), 1);
    /* a broken file names itself */
    FILE *fp = fopen(path, "w");
    fputs("{\"x", fp);
    fclose(fp);
    assert_int_equal(fc_persist_load(b, path, NOW, &e), -1);
    assert_non_null(strstr(e.msg, path));
    /* not a regular file */
    char d2[300];
    snprintf(d2, sizeof(d2), "%s/sub", dir);
    assert_int_equal(fc_persist_load(b, d2, NOW, &e), -1);
    unlink(path);
    snprintf(d2, sizeof(d2), "%s/sub/dir", dir);
    rmdir(d2);
    snprintf(d2, sizeof(d2), "%s/sub", dir);
    rmdir(d2);
    rmdir(dir);
    fk_buf_free(&buf);
    fc_state_free(a);
    fc_state_free(b);
}

/* State hooks persistence and metrics rely on. */
static void test_state_hooks(void **state)
{
    fc_state_t *s = fc_state_new(1000);
    fc_xkey_t k = key4(10, 1), other = key4(10, 1);
    (void)state;
    other.port = 1;
    static const fk_ipfix_ie_t f[] = {{0, 8, 4}};
    uint64_t g0 = fc_state_generation(s);
    fc_state_put_template(s, &k, tmpl(256, f, 1, 0), NOW);
    fc_state_put_template(s, &other, tmpl(256, f, 1, 0), NOW);
    assert_true(fc_state_generation(s) > g0);
    /* without extend-on-access a lookup does not keep a template alive */
    assert_non_null(fc_state_template(s, &k, 256, NOW + 900));
    assert_int_equal(fc_state_expire(s, NOW + 1500), 2);
    fc_state_put_template(s, &k, tmpl(256, f, 1, 0), NOW);
    fc_state_set_extend_on_access(s, true);
    assert_non_null(fc_state_template(s, &k, 256, NOW + 900));
    assert_int_equal(fc_state_expire(s, NOW + 1500), 0);
    assert_int_equal(fc_state_expire(s, NOW + 2000), 1);
    /* a closed TCP session drops exactly its templates */
    fc_state_put_template(s, &k, tmpl(256, f, 1, 0), NOW);
    fc_state_put_template(s, &k, tmpl(257, f, 1, 0), NOW);
    fc_state_put_template(s, &other, tmpl(256, f, 1, 0), NOW);
    uint64_t g1 = fc_state_generation(s);
    assert_int_equal(fc_state_drop_session(s, &k.addr, k.port), 2);
    assert_int_equal(fc_state_templates(s), 1);
    assert_true(fc_state_generation(s) > g1);
    fc_state_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_shape), cmocka_unit_test(test_options_shapes),
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_loaded_template_decodes),
        cmocka_unit_test(test_hostile),    cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_file),       cmocka_unit_test(test_state_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
