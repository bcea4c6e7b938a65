/*
 * copy.h - a copy (or zeroing) of a short run of bytes, inline.
 *
 * memcpy with a length the compiler only knows to be small (a header value
 * cut to a 128-byte field, say) is inlined by gcc as `rep movsq`, whose
 * start-up costs more than the copy of a few tens of bytes; and a library
 * call costs about as much.  Here a run is moved in at most two overlapping
 * loads and stores up to 16 bytes, and 16 bytes a step beyond.  Exactly n
 * bytes are read and written.  fk_zero_short zeroes a short run likewise.
 */
#ifndef FK_COPY_H
#define FK_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void fk_copy_short(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    if (n >= 16) {
        for (size_t i = 0; i + 16 < n; i += 16)
            memcpy(d + i, s + i, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n >= 2) {
        memcpy(d, s, 2);
        memcpy(d + n - 2, s + n - 2, 2);
    } else if (n) {
        d[0] = s[0];
    }
}

/* n bytes at dst zeroed the same way (a few counters or flags: no memset call). */
static inline void fk_zero_short(void *dst, size_t n)
{
    uint8_t *d = dst;

    if (n > 32) {
        memset(d, 0, n);
    } else if (n >= 16) {
        memset(d, 0, 16);
        memset(d + n - 16, 0, 16);
    } else if (n >= 8) {
        memset(d, 0, 8);
        memset(d + n - 8, 0, 8);
    } else if (n >= 4) {
        memset(d, 0, 4);
        memset(d + n - 4, 0, 4);
    } else if (n >= 2) {
        memset(d, 0, 2);
        memset(d + n - 2, 0, 2);
    } else if (n) {
        d[0] = 0;
    }
}

#endif /* FK_COPY_H */
