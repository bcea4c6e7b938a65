/*
 * fuzz_templates.c - libFuzzer target for the persisted-templates loader
 * (collector/decode/persist.c: fc_persist_parse, the -templates.json.path
 * file read at start-up) and its writer.
 *
 * Input: the file's bytes.  Whatever they are, the loader returns -1 with a
 * "line L, column C: ..." message and stores nothing, or the number of
 * templates it stored.  A file it accepts is written back out
 * (fc_persist_json) and that text must load again to the same templates and
 * render to the same text (the writer and the reader agree), and every
 * stored template must satisfy the decoders' invariants.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/decode/decode.h"
#include "collector/decode/persist.h"
#include "lib/core/buf.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_templates: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define NOW 1700000000000000000ULL

static void sane(void *arg, const fc_tmpl_info_t *ti)
{
    const fk_ipfix_tmpl_t *t = ti->t;
    uint32_t fixed = 0;
    bool var = false;
    (void)arg;
    CHECK(ti->k->version == 9 || ti->k->version == 10);
    CHECK(ti->k->addr.len == 4 || ti->k->addr.len == 16);
    CHECK(ti->id >= 256 && t->id == ti->id);
    CHECK(t->nfields >= 1 && t->nfields <= FK_IPFIX_MAX_FIELDS);
    CHECK(t->options == (t->scope > 0) || (t->options && ti->k->version == 9));
    CHECK(t->scope <= t->nfields);
    for (uint16_t i = 0; i < t->nfields; i++) {
        if (ti->k->version == 10 && t->f[i].len == 65535)
            var = true;
        else
            fixed += t->f[i].len;
        if (ti->k->version == 9)
            CHECK(t->f[i].pen == 0);
        else
            CHECK(t->f[i].id <= 0x7fff);
    }
    CHECK(var || fixed > 0);
    CHECK(t->fixed_len == (var ? 0 : fixed));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_state_t *s = fc_state_new(0);
    fk_err_t e = {{0}};
    uint8_t *copy = malloc(size ? size : 1);

    if (!s || !copy)
        abort();
    memcpy(copy, data, size); /* exactly `size` bytes: ASan sees over-reads */
    long n = fc_persist_parse(s, copy, size, NOW, &e);
    free(copy);
    if (n < 0) {
        CHECK(n == -1);
        CHECK(strncmp(e.msg, "line ", 5) == 0 || strstr(e.msg, "out of memory"));
        CHECK(fc_state_templates(s) == 0);
        fc_state_free(s);
        return 0;
    }
    CHECK((size_t)n == fc_state_templates(s));
    fc_state_foreach_template(s, sane, NULL);

    fk_buf_t a, b;
    CHECK(fk_buf_init(&a, NULL, 0) == 0 && fk_buf_init(&b, NULL, 0) == 0);
    CHECK(fc_persist_json(s, &a) == n);
    fc_state_t *s2 = fc_state_new(0);
    CHECK(fc_persist_parse(s2, (const uint8_t *)a.data, a.len, NOW, &e) == n);
    CHECK(fc_persist_json(s2, &b) == n);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    fk_buf_free(&a);
    fk_buf_free(&b);
    fc_state_free(s2);
    fc_state_free(s);
    return 0;
}
