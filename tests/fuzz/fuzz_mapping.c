/*
 * fuzz_mapping.c - libFuzzer target for the mapping file (collector/mapping.c):
 * the YAML loader and its checks, then what a loaded mapping does to records.
 *
 * Input layout: YAML text up to the first NUL byte; the bytes after it (if
 * any) are a frame.  A mapping that loads is then applied: every IANA
 * element id 0..511 and Juniper's 2636/137 get the frame's first 0..16
 * bytes as their value (IPFIX and NetFlow v9), the frame is parsed as
 * Ethernet and given to sflow.mapping, and the record is formatted as JSON,
 * text and bin with the mapping's format.
 *
 * Checked whatever the bytes: the loader either returns a mapping or an
 * error message naming the file; records keep at most FC_MAX_CUSTOM custom
 * values and FC_CUSTOM_BYTES bytes, each inside cbytes; JSON is well formed
 * (no float is ever printed here) when it is ASCII (the shared checker takes
 * escaped ASCII strings only, and names or renames may hold UTF-8, which the
 * writer passes through as Go does); text has no newline; the bin message's
 * length prefix matches its size.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/format/format.h"
#include "collector/mapping.h"
#include "lib/core/buf.h"
#include "lib/packet/packet.h"
#include "tests/common/jsoncheck.h"

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_mapping: invariant failed: %s\n", #cond); \
            abort();                                                        \
        }                                                                   \
    } while (0)

static fk_buf_t g_b;

static void check_record(const fc_flow_t *f)
{
    CHECK(f->n_custom <= FC_MAX_CUSTOM);
    CHECK(f->n_cbytes <= FC_CUSTOM_BYTES);
    for (unsigned k = 0; k < f->n_custom; k++) {
        const fc_cval_t *v = &f->custom[k];
        CHECK(v->pb > 0 && v->pb < (1u << 29));
        if (v->bytes)
            CHECK((unsigned)v->off + v->len <= f->n_cbytes);
    }
}

static void render(const fc_flow_t *f, const fc_format_t *fmt)
{
    g_b.len = 0;
    CHECK(fc_format_json(&g_b, f, fmt) == 0);
    bool ascii = true;
    for (size_t i = 0; i < g_b.len; i++)
        ascii = ascii && (uint8_t)g_b.data[i] < 0x80;
    if (ascii)
        CHECK(fk_json_valid(g_b.data, g_b.len));
    g_b.len = 0;
    CHECK(fc_format_text(&g_b, f, fmt) == 0);
    CHECK(memchr(g_b.data, '\n', g_b.len) == NULL);
    g_b.len = 0;
    CHECK(fc_format_bin(&g_b, f, fmt) == 0);
    uint64_t len = 0;
    size_t i = 0;
    for (unsigned s = 0; i < g_b.len && s < 64; s += 7) {
        uint8_t c = (uint8_t)g_b.data[i++];
        len |= (uint64_t)(c & 0x7f) << s;
        if (c < 0x80)
            break;
    }
    CHECK(i + len == g_b.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_b.data && fk_buf_init(&g_b, NULL, 0) < 0)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t ylen = nul ? (size_t)(nul - data) : size;
    const uint8_t *frame = nul ? nul + 1 : NULL;
    size_t flen = nul ? size - ylen - 1 : 0;

    fk_err_t e = {0};
    fc_mapping_t *m = fc_mapping_parse((const char *)data, ylen, "fuzz.yaml", &e);
    if (!m) {
        CHECK(strncmp(e.msg, "fuzz.yaml", 9) == 0);
        return 0;
    }
    const fc_format_t *fmt = fc_mapping_format(m);
    fc_flow_t f;
    memset(&f, 0, sizeof(f));
    f.type = FC_IPFIX;
    f.proto = 1;
    f.src_addr = (fc_addr_t){4, {10, 0, 0, 1}};
    size_t vlen = flen < 16 ? flen : 16;
    for (int version = 9; version <= 10; version++) {
        bool rate = false;
        for (uint16_t id = 0; id < 512; id++)
            fc_mapping_nf(m, &f, version, 0, id, frame, vlen, &rate);
        fc_mapping_nf(m, &f, version, 2636, 137, frame, vlen, &rate);
        check_record(&f);
    }
    if (frame && flen) {
        fk_packet_t pkt;
        uint8_t *copy = malloc(flen); /* exactly the frame: ASan sees an over-read */
        if (copy) {
            memcpy(copy, frame, flen);
            fk_packet_parse(&pkt, FK_LINK_ETHERNET, copy, (uint32_t)flen, (uint32_t)flen, 0);
            fc_mapping_packet(m, &f, &pkt);
            check_record(&f);
            render(&f, fmt);
            free(copy);
        }
    } else {
        render(&f, fmt);
    }
    fc_mapping_free(m);
    return 0;
}
