/*
 * fuzz_httpline.c - libFuzzer target for probe/plugins/httpline.h, the
 * start-line and header readers of the http and rtsp plugins.
 *
 * The input is copied to a buffer of exactly its size (so ASan sees any
 * read past it), split as a start line, and walked as a header section in
 * both dialects (CRLF lines with NUL-stopping searches for http, LF lines
 * for rtsp), checking what the readers promise: every pointer handed out
 * lies inside the payload, lines move strictly forward, a line ends at an LF
 * (after a CR for http), names and values are NUL-terminated within their
 * buffers; and the in-place shortcuts agree with the ipfixprobe-shaped long
 * way (status code vs atoi of the scratch copy, method vs copy-then-cut,
 * name by length vs C-string compare).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/plugins/httpline.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_httpline: invariant failed: %s\n", #cond); \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* fp_hl_crlf as it was first written, byte by byte: the memchr version must agree. */
static const uint8_t *ref_crlf(const uint8_t *p, const uint8_t *e)
{
    for (; p < e; p++) {
        if (*p == 0)
            return NULL;
        if (*p == '\r' && e - p < 2)
            return NULL;
        if (*p == '\r' && p[1] == '\n')
            return p;
    }
    return NULL;
}

static void walk(const uint8_t *p, const uint8_t *end, bool crlf)
{
    fp_hl_walk_t w;
    fp_hl_hdr_t h;
    const uint8_t *last = p;
    char val[32];
    int rc;

    fp_hl_walk_init(&w, p, end, crlf);
    while ((rc = fp_hl_next(&w, &h)) == FP_HL_HDR) {
        CHECK(h.line == last);
        CHECK(h.ve >= h.line && h.ve < end && *h.ve == '\n');
        CHECK(!crlf || (h.ve > h.line && h.ve[-1] == '\r'));
        CHECK(!crlf || ref_crlf(h.line, end) == h.ve - 1);
        CHECK(h.vb >= h.line && h.vb <= h.ve + 1);
        CHECK(memchr(h.name, 0, sizeof(h.name)) != NULL);
        /* The in-place name is the copied one. */
        CHECK(strlen(h.name) <= h.nlen && memcmp(h.nb, h.name, strlen(h.name)) == 0);
        CHECK(fp_hl_name_is(&h, h.name, strlen(h.name)));
        CHECK(fp_hl_name_is(&h, "Host", 4) == (strcmp(h.name, "Host") == 0));
        /* In a CRLF walk a name is matched by its length and one compare. */
        CHECK(!crlf || fp_hl_name_eq(&h, "Host", 4) == fp_hl_name_is(&h, "Host", 4));
        CHECK(!crlf || fp_hl_name_eq(&h, "Set-Cookie", 10) == fp_hl_name_is(&h, "Set-Cookie", 10));
        /* ... for any name without a CR (the only kind it is used for). */
        CHECK(!crlf || strchr(h.name, '\r') ||
              fp_hl_name_eq(&h, h.name, strlen(h.name)) ==
                  fp_hl_name_is(&h, h.name, strlen(h.name)));
        CHECK(w.p == h.ve + 1 && w.p > last);
        fp_hl_value(val, sizeof(val), &h);
        CHECK(memchr(val, 0, sizeof(val)) != NULL);
        const uint8_t *eq = fp_hl_strnchr(h.line, h.ve, '=');
        CHECK(!eq || (eq >= h.line && eq < h.ve && *eq == '='));
        last = w.p;
    }
    CHECK(rc == FP_HL_END || rc == FP_HL_BAD);
    CHECK(w.p >= p && w.p <= end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    const uint8_t *end, *sp1, *sp2, *cr;
    char scratch[FP_HL_NAME_CAP], small[4];

    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    end = buf + size;

    if (fp_hl_split(buf, end, &sp1, &sp2)) {
        CHECK(sp1 >= buf && sp1 < sp2 && sp2 < end && *sp1 == ' ' && *sp2 == ' ');
        fp_hl_copy(scratch, sizeof(scratch), sp1 + 1, sp2);
        CHECK(strlen(scratch) < sizeof(scratch));
        /* The status code read in place is atoi of the scratch copy. */
        CHECK(fp_hl_status(sp1 + 1, sp2) == fp_hl_atoi(scratch));
        fp_hl_copy(small, sizeof(small), buf, sp1);
        fp_hl_cut(small, sizeof(small), scratch);
        CHECK(small[sizeof(small) - 1] == 0);
        /* The method written in one step is the scratch copy, cut. */
        char m1[16], m2[16];
        fp_hl_copy(scratch, sizeof(scratch), buf, sp1);
        fp_hl_cut(m1, sizeof(m1), scratch);
        fp_hl_method(m2, sizeof(m2), buf, sp1);
        CHECK(memcmp(m1, m2, sizeof(m1)) == 0);
        (void)fp_hl_at(sp2 + 1, end, "HTTP", 4);
    }
    cr = fp_hl_crlf(buf, end);
    CHECK(cr == ref_crlf(buf, end));
    for (size_t i = 1; i < size && i < 64; i++)
        CHECK(fp_hl_crlf(buf + i, end) == ref_crlf(buf + i, end));
    CHECK(!cr || (cr >= buf && cr + 1 < end && cr[0] == '\r' && cr[1] == '\n'));
    CHECK(!cr || memchr(buf, 0, (size_t)(cr - buf)) == NULL);

    walk(buf, end, true);
    walk(buf, end, false);
    walk(buf + size / 3, end, true); /* a walk that starts later: less room before it */
    free(buf);
    return 0;
}
