/*
 * bytebuild.h - a byte string under construction, for tests that build
 * protocol messages field by field (TLS and QUIC hellos): big-endian
 * integers, raw bytes, and 16-bit lengths filled in once their contents are
 * written.  Every write is checked against the capacity (BLD_CAP bytes,
 * default 8192; define it before including).  Header-only; include after
 * <cmocka.h>.
 */
#ifndef FK_TEST_BYTEBUILD_H
#define FK_TEST_BYTEBUILD_H

#include <stdint.h>
#include <string.h>

#ifndef BLD_CAP
#define BLD_CAP 8192
#endif

typedef struct bld_st {
    uint8_t b[BLD_CAP];
    size_t n;
} bld_t;

static inline void put8(bld_t *w, unsigned v)
{
    assert_true(w->n < sizeof(w->b));
    w->b[w->n++] = (uint8_t)v;
}

static inline void put16(bld_t *w, unsigned v)
{
    put8(w, v >> 8);
    put8(w, v);
}

static inline void putn(bld_t *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof(w->b));
    if (n)
        memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* Reserve a 16-bit length; len16_end() fills it with the bytes written since. */
static inline size_t len16(bld_t *w)
{
    size_t at = w->n;
    put16(w, 0);
    return at;
}

static inline void len16_end(bld_t *w, size_t at)
{
    size_t n = w->n - at - 2;
    w->b[at] = (uint8_t)(n >> 8);
    w->b[at + 1] = (uint8_t)n;
}

#endif /* FK_TEST_BYTEBUILD_H */
