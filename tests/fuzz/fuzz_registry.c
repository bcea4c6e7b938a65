/*
 * fuzz_registry.c - libFuzzer target for IPFIX extra values: the element
 * registry's lookup and value decoding (collector/decode/registry.c), their
 * collection by the IPFIX decoder (ipfix.c) and their JSON/text rendering
 * (format/extras.c).
 *
 * Input layout:
 *   byte 0    mode: even = datagrams, odd = one value
 *   datagrams 1..4 IPFIX datagrams, each a 2-byte big-endian length and that
 *             many bytes (the last takes what is left when shorter), decoded
 *             with one shared template store; every record is formatted as
 *             JSON and text right in the emit callback (its extras point into
 *             the datagram and this thread's scratch)
 *   one value bytes 1-2 registry index (modulo its size), byte 3 flags (bit 0:
 *             variable-length template field, bit 1: use the entry's element
 *             as a basicList's element, bit 2: an unknown enterprise number),
 *             the rest is the value
 *
 * Checked whatever the bytes: at most FC_MAX_EXTRAS extras (FC_MAX_UNKNOWN
 * unknown) per record, every extra's bytes inside its datagram, every
 * registry index valid, one value giving at most one extra (or one count of
 * truncation), and the JSON well formed when no float is printed (the
 * shared checker takes integers only); no newline inside a text record.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/decode/decode.h"
#include "collector/decode/registry.h"
#include "collector/format/format.h"
#include "lib/core/buf.h"
#include "tests/common/jsoncheck.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_registry: invariant failed: %s\n", #cond); \
            abort();                                                         \
        }                                                                    \
    } while (0)

static fk_buf_t g_b;

static bool has_float(const fc_flow_t *f)
{
    for (uint16_t i = 0; i < f->n_extras; i++) {
        const fc_regent_t *r =
            f->extras[i].reg == FC_XREG_UNKNOWN ? NULL : fc_registry_at(f->extras[i].reg);
        if (r && (r->f->type == FK_T_FLOAT || r->f->type == FK_T_DOUBLE))
            return true;
    }
    return false;
}

static void render(const fc_flow_t *f)
{
    g_b.len = 0;
    CHECK(fc_format_json(&g_b, f, NULL) == 0);
    if (!has_float(f))
        CHECK(fk_json_valid(g_b.data, g_b.len));
    g_b.len = 0;
    CHECK(fc_format_text(&g_b, f, NULL) == 0);
    CHECK(memchr(g_b.data, '\n', g_b.len) == NULL);
}

static void check_extras(const fc_flow_t *f, const uint8_t *lo, const uint8_t *hi)
{
    unsigned unknown = 0;
    CHECK(f->n_extras <= FC_MAX_EXTRAS);
    CHECK(f->n_extras == 0 || f->extras != NULL);
    for (uint16_t i = 0; i < f->n_extras; i++) {
        const fc_xval_t *x = &f->extras[i];
        CHECK(x->p >= lo && x->p + x->len <= hi);
        if (x->reg == FC_XREG_UNKNOWN)
            unknown++;
        else
            CHECK(x->reg < fc_registry_count());
    }
    CHECK(unknown <= FC_MAX_UNKNOWN);
}

typedef struct run_st {
    const uint8_t *lo, *hi;
} run_t;

static int on_flow(void *arg, fc_flow_t *f)
{
    run_t *r = arg;
    check_extras(f, r->lo, r->hi);
    render(f);
    return 0;
}

static void datagrams(const uint8_t *data, size_t size)
{
    fc_state_t *s = fc_state_new(0);
    CHECK(s != NULL);
    for (int d = 0; d < 4 && size >= 2; d++) {
        size_t len = (size_t)data[0] << 8 | data[1];
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        uint8_t *copy = malloc(len ? len : 1);
        CHECK(copy != NULL);
        memcpy(copy, data, len);
        fc_dgram_t dg = {copy, len, {4, {192, 0, 2, 7}}, 4739, 1700000000000000000ULL};
        fc_dstats_t st;
        fk_err_t e = {{0}};
        run_t r = {copy, copy + len};
        memset(&st, 0, sizeof(st));
        fc_ipfix_decode(&dg, on_flow, &r, s, &st, &e);
        free(copy);
        data += len;
        size -= len;
    }
    fc_state_free(s);
}

static void one_value(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    size_t n = fc_registry_count();
    const fk_field_t *rf = fc_registry_at(((size_t)data[0] << 8 | data[1]) % n)->f;
    uint8_t flags = data[2];
    data += 3;
    size -= 3;
    if (size > 4096)
        size = 4096;
    uint8_t *v = malloc(size + 12);
    CHECK(v != NULL);
    fk_ipfix_ie_t ie = {rf->pen, rf->ie, (flags & 1) ? FK_IPFIX_VARLEN : (uint16_t)size};
    size_t len = size;
    if (flags & 4)
        ie.pen = 4000000000u;
    if (flags & 2) {
        /* wrap the value as a basicList of the entry's element, element length from byte 0 */
        uint16_t elen = size ? data[0] % 10 : 1;
        v[0] = 3;
        v[1] = (uint8_t)((ie.pen ? 0x80 : 0) | (ie.id >> 8));
        v[2] = (uint8_t)ie.id;
        v[3] = (uint8_t)(elen >> 8);
        v[4] = (uint8_t)elen;
        size_t h = 5;
        if (ie.pen) {
            v[5] = (uint8_t)(ie.pen >> 24), v[6] = (uint8_t)(ie.pen >> 16);
            v[7] = (uint8_t)(ie.pen >> 8), v[8] = (uint8_t)ie.pen;
            h = 9;
        }
        memcpy(v + h, data, size);
        len = h + size;
        ie = (fk_ipfix_ie_t){0, FK_IPFIX_IE_BASICLIST, FK_IPFIX_VARLEN};
    } else {
        memcpy(v, data, size);
    }
    fc_flow_t f;
    memset(&f, 0, sizeof(f));
    fc_extras_begin(&f, true);
    fc_extras_add(&f, &ie, v, len);
    CHECK(f.n_extras + f.truncated_lists <= 1);
    check_extras(&f, v, v + len);
    render(&f);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_b.data && fk_buf_init(&g_b, NULL, 1 << 16) < 0)
        abort();
    if (size < 1)
        return 0;
    if (data[0] & 1)
        one_value(data + 1, size - 1);
    else
        datagrams(data + 1, size - 1);
    return 0;
}
