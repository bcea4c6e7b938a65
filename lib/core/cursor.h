/*
 * cursor.h - a read cursor that cannot read past its end.
 *
 * Every byte that comes from the wire or a file is read through one of these
 * (STYLE.md rule 1, after tcpdump's GET_* macros).  A getter either succeeds and
 * advances, or fails and leaves the cursor where it was; it never reads a byte
 * outside [p, end).  Callers decide whether a failure means "truncated" (the
 * capture is short) or "invalid" (a length field lies) -- the cursor only knows
 * that the bytes are not there.
 */
#ifndef FK_CURSOR_H
#define FK_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A view of bytes [p, end).  Invariant: p <= end.  The cursor never owns the bytes. */
typedef struct fk_cursor_st {
    const uint8_t *p;   /* next byte to read */
    const uint8_t *end; /* one past the last readable byte */
} fk_cursor_t;

static inline fk_cursor_t fk_cur_make(const uint8_t *p, size_t len)
{
    fk_cursor_t c = {p, p + len};
    return c;
}

/* Bytes left to read. */
static inline size_t fk_cur_left(const fk_cursor_t *c)
{
    return (size_t)(c->end - c->p);
}

/* True when at least n bytes are left. */
static inline bool fk_cur_has(const fk_cursor_t *c, size_t n)
{
    return fk_cur_left(c) >= n;
}

/* Skip n bytes; false (cursor unchanged) if fewer are left. */
static inline bool fk_cur_skip(fk_cursor_t *c, size_t n)
{
    if (!fk_cur_has(c, n))
        return false;
    c->p += n;
    return true;
}

/*
 * Split off the next n bytes as a sub-cursor and advance past them.  Used when a
 * length field delimits a nested structure: the nested parser then cannot read
 * past the length its parent announced.
 */
static inline bool fk_cur_sub(fk_cursor_t *c, size_t n, fk_cursor_t *sub)
{
    if (!fk_cur_has(c, n))
        return false;
    sub->p = c->p;
    sub->end = c->p + n;
    c->p += n;
    return true;
}

static inline bool fk_cur_u8(fk_cursor_t *c, uint8_t *out)
{
    if (!fk_cur_has(c, 1)) {
        *out = 0; /* a failed read leaves a defined value */
        return false;
    }
    *out = c->p[0];
    c->p += 1;
    return true;
}

static inline bool fk_cur_be16(fk_cursor_t *c, uint16_t *out)
{
    if (!fk_cur_has(c, 2)) {
        *out = 0; /* a failed read leaves a defined value */
        return false;
    }
    *out = (uint16_t)((uint16_t)c->p[0] << 8 | c->p[1]);
    c->p += 2;
    return true;
}

static inline bool fk_cur_le16(fk_cursor_t *c, uint16_t *out)
{
    if (!fk_cur_has(c, 2)) {
        *out = 0; /* a failed read leaves a defined value */
        return false;
    }
    *out = (uint16_t)((uint16_t)c->p[1] << 8 | c->p[0]);
    c->p += 2;
    return true;
}

static inline bool fk_cur_be32(fk_cursor_t *c, uint32_t *out)
{
    if (!fk_cur_has(c, 4)) {
        *out = 0; /* a failed read leaves a defined value */
        return false;
    }
    *out = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    return true;
}

static inline bool fk_cur_le32(fk_cursor_t *c, uint32_t *out)
{
    if (!fk_cur_has(c, 4)) {
        *out = 0; /* a failed read leaves a defined value */
        return false;
    }
    *out = (uint32_t)c->p[3] << 24 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[1] << 8 | c->p[0];
    c->p += 4;
    return true;
}

static inline bool fk_cur_be64(fk_cursor_t *c, uint64_t *out)
{
    uint32_t hi = 0, lo = 0;
    if (!fk_cur_has(c, 8)) {
        *out = 0; /* a failed read leaves a defined value */
        return false;
    }
    fk_cur_be32(c, &hi);
    fk_cur_be32(c, &lo);
    *out = (uint64_t)hi << 32 | lo;
    return true;
}

/* Copy n bytes out; false (nothing copied) if fewer are left. */
static inline bool fk_cur_copy(fk_cursor_t *c, void *dst, size_t n)
{
    if (!fk_cur_has(c, n))
        return false;
    memcpy(dst, c->p, n);
    c->p += n;
    return true;
}

/* Read-only peeks at an offset from the cursor, without advancing. */
static inline bool fk_cur_peek_u8(const fk_cursor_t *c, size_t off, uint8_t *out)
{
    if (fk_cur_left(c) <= off)
        return false;
    *out = c->p[off];
    return true;
}

static inline bool fk_cur_peek_be16(const fk_cursor_t *c, size_t off, uint16_t *out)
{
    if (fk_cur_left(c) < off || fk_cur_left(c) - off < 2)
        return false;
    *out = (uint16_t)((uint16_t)c->p[off] << 8 | c->p[off + 1]);
    return true;
}

/* Unchecked big-endian loads: only after an explicit fk_cur_has() of the span. */
static inline uint16_t fk_load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t fk_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t fk_load_le16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[1] << 8 | p[0]);
}

static inline uint32_t fk_load_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

#endif /* FK_CURSOR_H */
