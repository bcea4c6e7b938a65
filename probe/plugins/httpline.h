/*
 * httpline.h - the start-line and header-field readers the http and rtsp
 * plugins share (header-only, static inline).
 *
 * Both protocols have the HTTP/1.x message shape (RFC 9112 section 2.1,
 * RFC 2326 section 4):
 *
 *   request-line  = method SP request-target SP version CRLF
 *   status-line   = version SP status-code SP reason-phrase CRLF
 *   field-line    = field-name ":" OWS field-value OWS CRLF
 *   ... an empty line ends the header section.
 *
 * These readers do not parse that grammar strictly: they reproduce how
 * ipfixprobe 5.7.0's http and rtsp plugins read it, byte for byte, because
 * flowprobe's records must equal ipfixprobe's on any capture.  The rules
 * (each one is an ipfixprobe quirk that shows in exported values):
 *
 *   - the start line is split at the first and the second space of the
 *     payload, wherever they are (even past the first line end);
 *   - a field name is the bytes from the line start to the first ':' at or
 *     after it (even on a later line), cut to 63 bytes, then one trailing LF
 *     and one trailing CR dropped, and compared as a C string (so it ends at
 *     a NUL byte);
 *   - a field value starts two bytes after that ':' (the ": " is assumed, so
 *     "Host:x" loses its 'x') and runs to the line's LF, cut to its buffer,
 *     then one trailing LF and one trailing CR dropped;
 *   - http lines end at the first CRLF, and a NUL byte before it means "no
 *     line end" (ipfixprobe searches with a strnstr that stops at NUL);
 *     rtsp lines end at the first LF (a bare LF ends an http line only as
 *     part of a CRLF).
 *
 * Where ipfixprobe reads outside the payload or copies a negative length (a
 * value whose ':' sits on a later line than its name), these readers stay in
 * bounds and yield an empty value instead.  Every search is bounded by the
 * payload end, and finding the next ':' is amortised over the whole header
 * section (a cached position), so a 64 KiB header section of short lines is
 * read in linear time.
 */
#ifndef FP_HTTPLINE_H
#define FP_HTTPLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../../lib/core/copy.h"

#define FP_HL_NAME_CAP 64 /* ipfixprobe's scratch buffer for names and codes */

/*
 * Copy [b, e) into dst (cap > 0 bytes, NUL included) as ipfixprobe's
 * copy_str does: at most cap - 1 bytes, then one trailing LF and then one
 * trailing CR dropped.  An inverted span (e < b) gives "" (ipfixprobe would
 * memcpy a negative length).  Bytes after a NUL are copied but not seen by
 * C-string readers, exactly as in ipfixprobe.
 */
static inline void fp_hl_copy(char *dst, size_t cap, const uint8_t *b, const uint8_t *e)
{
    size_t len = e > b ? (size_t)(e - b) : 0;

    if (len >= cap)
        len = cap - 1;
    fk_copy_short(dst, b, len);
    if (len >= 1 && dst[len - 1] == '\n')
        len--;
    if (len >= 1 && dst[len - 1] == '\r')
        len--;
    dst[len] = 0;
}

/* The C string src cut to cap - 1 bytes into dst (ipfixprobe's strncpy + NUL). */
static inline void fp_hl_cut(char *dst, size_t cap, const char *src)
{
    size_t len = 0;

    while (len < cap - 1 && src[len]) /* a method: a few bytes, no strnlen call */
        len++;
    memcpy(dst, src, len);
    memset(dst + len, 0, cap - len);
}

/*
 * A request method [b, e) into dst (cap bytes) as ipfixprobe stores it:
 * fp_hl_copy into its 64-byte scratch buffer, then fp_hl_cut -- in one step,
 * without the scratch copy.  The bytes kept are the span cut to 63, with one
 * trailing LF and one trailing CR dropped, up to a NUL, at most cap - 1; the
 * rest of dst is zeroed.
 */
static inline void fp_hl_method(char *dst, size_t cap, const uint8_t *b, const uint8_t *e)
{
    size_t len = e > b ? (size_t)(e - b) : 0, k = 0;

    if (len >= FP_HL_NAME_CAP)
        len = FP_HL_NAME_CAP - 1;
    if (len >= 1 && b[len - 1] == '\n')
        len--;
    if (len >= 1 && b[len - 1] == '\r')
        len--;
    memset(dst, 0, cap);                        /* cap is a constant: a few stores */
    for (; k < len && k < cap - 1 && b[k]; k++) /* a method: a few bytes */
        dst[k] = (char)b[k];
}

/*
 * The first byte c in [p, e), or NULL when there is none or a NUL byte comes
 * first (ipfixprobe's strnstr with a one-character needle).
 */
static inline const uint8_t *fp_hl_strnchr(const uint8_t *p, const uint8_t *e, uint8_t c)
{
    for (; p < e; p++) {
        if (*p == c)
            return p;
        if (*p == 0)
            return NULL;
    }
    return NULL;
}

/*
 * The first byte equal to a or b in [p, e), or e (a == b: one byte value).
 * Sixteen bytes per step with SSE2 (every x86-64), else eight per step where
 * a word holds neither (Bit Twiddling Hacks "haszero" on the word XOR each
 * value; the lowest flagged byte is always a real match, the first in
 * memory on a little-endian machine).  Inline, so the values are constants:
 * a header line is a few tens of bytes, shorter than a library call's
 * set-up pays for.
 */
static inline const uint8_t *fp_hl_find2(const uint8_t *p, const uint8_t *e, uint8_t a, uint8_t b)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_cmpeq_epi8(x, va);
        if (a != b) /* a constant test once inlined */
            hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, vb));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL;
    while (e - p >= 8) {
        uint64_t x, y, z;
        memcpy(&x, p, 8);
        y = x ^ (ones * a);
        z = x ^ (ones * b);
        x = ((y - ones) & ~y) | (a != b ? (z - ones) & ~z : 0);
        x &= ones * 0x80;
        if (x)
            return p + (__builtin_ctzll(x) >> 3);
        p += 8;
    }
#endif
    while (p < e && *p != a && *p != b)
        p++;
    return p;
}

/* The first CR or NUL byte in [p, e), or e. */
static inline const uint8_t *fp_hl_cr_or_nul(const uint8_t *p, const uint8_t *e)
{
    return fp_hl_find2(p, e, '\r', 0);
}

/*
 * The CR of the first CRLF wholly inside [p, e), or NULL when there is none
 * or a NUL byte comes before it (ipfixprobe's strnstr(p, "\r\n", e - p)).
 * Only the bytes up to that CRLF are read: a response's body after its head
 * is never scanned for a NUL.
 */
static inline const uint8_t *fp_hl_crlf(const uint8_t *p, const uint8_t *e)
{
    for (;;) {
        const uint8_t *cr = fp_hl_cr_or_nul(p, e);
        if (e - cr < 2 || *cr == 0)
            return NULL; /* no CR with a byte after it before the end or a NUL */
        if (cr[1] == '\n')
            return cr;
        p = cr + 1; /* a CR alone (or before a NUL: the next step sees it) */
    }
}

/*
 * atoi() of a C string as glibc computes it: (int)strtol(s, NULL, 10), so a
 * value past the range of long saturates and the conversion to int keeps the
 * low 32 bits.  ipfixprobe rejects a status code <= 0 and stores the rest in
 * 16 bits.
 */
static inline int32_t fp_hl_atoi(const char *s)
{
    long v = strtol(s, NULL, 10);

    return (int32_t)(uint32_t)(unsigned long)v;
}

/*
 * The status code of a status line: fp_hl_atoi of [b, e) as fp_hl_copy would
 * cut it into a 64-byte scratch buffer, which is what ipfixprobe computes.
 * RFC 9112 section 4 makes it three digits; those (and any run of up to nine
 * digits that starts the span and ends at its end or at a non-digit) are read
 * in place: strtol would stop at that byte too, no whitespace or sign comes
 * first, and the cut and the trailing LF/CR drop only remove bytes after the
 * run.  Anything else goes the long way, through the scratch copy and strtol.
 */
static inline int32_t fp_hl_status(const uint8_t *b, const uint8_t *e)
{
    const uint8_t *q = b;
    int32_t v = 0;
    char num[FP_HL_NAME_CAP];

    while (q < e && q - b < 9 && (unsigned)(*q - '0') < 10)
        v = v * 10 + (*q++ - '0');
    if (q > b && (q == e || (unsigned)(*q - '0') >= 10))
        return v;
    fp_hl_copy(num, sizeof(num), b, e);
    return fp_hl_atoi(num);
}

/*
 * Split a start line: *sp1 = the payload's first space, *sp2 = the next
 * space after it.  False when either is missing.
 */
static inline bool fp_hl_split(const uint8_t *p, const uint8_t *end, const uint8_t **sp1,
                               const uint8_t **sp2)
{
    /* Inline scans: both spaces are usually within the first chunk or two,
     * closer than a library call pays for. */
    const uint8_t *a = fp_hl_find2(p, end, ' ', ' '), *b;

    if (a == end)
        return false;
    b = fp_hl_find2(a + 1, end, ' ', ' ');
    if (b == end)
        return false;
    *sp1 = a;
    *sp2 = b;
    return true;
}

/* True when the `n` bytes of `lit` start at p, all before end. */
static inline bool fp_hl_at(const uint8_t *p, const uint8_t *end, const char *lit, size_t n)
{
    return p <= end && (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* One header line handed out by fp_hl_next(). */
typedef struct fp_hl_hdr_st {
    char name[FP_HL_NAME_CAP]; /* the field name as ipfixprobe compares it (see top);
                                  filled only when the walk's `names` is set */
    const uint8_t *nb;         /* the same name in the payload: nb[0..nlen), cut */
    size_t nlen;               /* and trimmed; a NUL inside ends it (C string) */
    const uint8_t *line;       /* the line's first byte */
    const uint8_t *vb;         /* value start: two bytes after the ':' */
    const uint8_t *ve;         /* value end: the line's LF.  ve < vb when the ':'
                                  is on a later line: the value is then empty */
} fp_hl_hdr_t;

/* A walk over the header section of one payload. */
typedef struct fp_hl_walk_st {
    const uint8_t *p;     /* first byte of the next line; p <= end */
    const uint8_t *end;   /* one past the payload */
    const uint8_t *base;  /* the walk's first byte: [base, end) may be read */
    const uint8_t *colon; /* the first ':' at or after the last search start
                             (<= p): still right while >= p; NULL: search */
    bool crlf;            /* true: http (CRLF lines), false: rtsp (LF lines) */
    bool names;           /* copy each name into h->name (default); without it,
                             compare names with fp_hl_name_is */
} fp_hl_walk_t;

static inline void fp_hl_walk_init(fp_hl_walk_t *w, const uint8_t *p, const uint8_t *end, bool crlf)
{
    w->p = p;
    w->end = end;
    w->base = p;
    w->crlf = crlf;
    w->names = true;
    w->colon = NULL; /* looked for by the first line that needs it */
}

enum {
    FP_HL_BAD = -1, /* a line without its end or without any ':' after it: the
                       message counts as not parsed (fields read so far stay) */
    FP_HL_END = 0,  /* the empty line, or the payload ended right after a line */
    FP_HL_HDR = 1,  /* *h holds the next header line */
};

/*
 * The first ':' at or after the line start w->p, when [w->p, from) is known
 * to hold none; NULL when there is none before the payload end.  The last
 * search is reused while it is still ahead of the line (lines only move
 * forward), so a header section of many short lines whose only ':' comes
 * late is searched once, not once per line.
 */
static inline const uint8_t *fp_hl_colon(fp_hl_walk_t *w, const uint8_t *from)
{
    if (!w->colon || w->colon < w->p)
        w->colon = memchr(from, ':', (size_t)(w->end - from));
    return w->colon;
}

/* Hand out the line [w->p, lf] whose name ends at colon, and step past it. */
static inline __attribute__((always_inline)) void
fp_hl_fill(fp_hl_walk_t *w, fp_hl_hdr_t *h, const uint8_t *lf, const uint8_t *colon)
{
    /* The name as fp_hl_copy would cut it, read where it is: at most 63
     * bytes, one trailing LF and one trailing CR dropped. */
    size_t nlen = (size_t)(colon - w->p);
    if (nlen >= FP_HL_NAME_CAP)
        nlen = FP_HL_NAME_CAP - 1;
    if (nlen >= 1 && w->p[nlen - 1] == '\n')
        nlen--;
    if (nlen >= 1 && w->p[nlen - 1] == '\r')
        nlen--;
    h->nb = w->p;
    h->nlen = nlen;
    if (w->names)
        fp_hl_copy(h->name, sizeof(h->name), w->p, colon);
    h->line = w->p;
    h->ve = lf;
    /* colon < lf keeps colon + 2 <= lf + 1 <= end; a ':' on a later line (or
     * right before the LF) leaves vb > ve: an empty value. */
    h->vb = colon < lf ? colon + 2 : lf + 1;
    w->p = lf + 1;
}

#if defined(__SSE2__)
/*
 * Bit i of the result: q[i] is CR or NUL; of *mcol: q[i] is ':' -- for the
 * 16 bytes from q, none at or past end.  When fewer than 16 bytes remain,
 * the last 16 before end are loaded and the masks shifted so bit 0 is q's,
 * so it needs end - base >= 16 for a readable base <= q.
 */
static inline __attribute__((always_inline)) uint32_t
fp_hl_mask16(const uint8_t *q, const uint8_t *end, uint32_t *mcol)
{
    const uint8_t *ld = end - q >= 16 ? q : end - 16;
    unsigned sh = (unsigned)(q - ld);
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)ld);

    if (mcol)
        *mcol = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':'))) >> sh;
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')),
                                                    _mm_cmpeq_epi8(x, _mm_setzero_si128()))) >>
           sh;
}

/* The CR/NUL bits of a loaded chunk (bit i: byte i). */
static inline __attribute__((always_inline)) uint32_t fp_hl_crnul(__m128i x)
{
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')),
                                                    _mm_cmpeq_epi8(x, _mm_setzero_si128())));
}

/*
 * The CR/NUL bits of the bytes from q: 32 of them while that many remain,
 * else 16 as fp_hl_mask16 gives them; *span = the bytes the mask covers.
 */
static inline __attribute__((always_inline)) uint32_t
fp_hl_mask_more(const uint8_t *q, const uint8_t *end, unsigned *span)
{
    if (end - q >= 32) {
        *span = 32;
        return fp_hl_crnul(_mm_loadu_si128((const __m128i *)(const void *)q)) |
               fp_hl_crnul(_mm_loadu_si128((const __m128i *)(const void *)(q + 16))) << 16;
    }
    *span = 16;
    return fp_hl_mask16(q, end, NULL);
}
#endif

/*
 * fp_hl_next for an http walk (CRLF lines), in one pass over the line: its
 * first 32 bytes are searched for CR/NUL bytes, and the first 16 for its ':'
 * at the same time (a field name is short, RFC 9112 section 5.1: its ':' is
 * nearly always there), then the CR/NUL search goes on 32 bytes at a time,
 * 16 near the payload end, where the last load is moved back to end inside
 * the payload rather than read byte by byte.  A line ends at the first
 * CRLF; a NUL before it, or no CRLF, is FP_HL_BAD, as fp_hl_crlf says; the
 * ':' is the first at or after the line start, as fp_hl_colon finds it.
 * Always inlined: it runs once per header line, and the caller's loop then
 * keeps *h in registers.
 */
static inline __attribute__((always_inline)) int fp_hl_next_crlf(fp_hl_walk_t *w, fp_hl_hdr_t *h)
{
    const uint8_t *p = w->p, *end = w->end, *cr, *colon;

    if (p >= end)
        return FP_HL_END;
#if defined(__SSE2__)
    if (end - w->base >= 16) {
        const uint8_t *q = p;
        unsigned span = 16;
        uint32_t mc, m;

        if (end - p >= 32) { /* most lines: 32 bytes, the ':' in the first 16 */
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            mc = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
            m = fp_hl_crnul(x) |
                fp_hl_crnul(_mm_loadu_si128((const __m128i *)(const void *)(p + 16))) << 16;
            span = 32;
        } else {
            m = fp_hl_mask16(p, end, &mc);
        }
        for (;;) {
            while (m) {
                cr = q + __builtin_ctz(m);
                if (*cr == 0 || end - cr < 2)
                    return FP_HL_BAD; /* a NUL first, or a CR at the very end */
                if (cr[1] == '\n')
                    goto found;
                m &= m - 1; /* a CR alone: the line goes on */
            }
            if (end - q <= span)
                return FP_HL_BAD; /* no line end before the payload end */
            q += span;
            m = fp_hl_mask_more(q, end, &span);
        }
    found:
        if (cr == p) /* "\r\n" alone */
            return FP_HL_END;
        if (mc) {
            colon = p + __builtin_ctz(mc);
            w->colon = colon;
        } else {
            /* Not in the first 16 bytes: the cached search, from there. */
            colon = fp_hl_colon(w, end - p > 16 ? p + 16 : end);
            if (!colon)
                return FP_HL_BAD;
        }
        fp_hl_fill(w, h, cr + 1, colon);
        return FP_HL_HDR;
    }
#endif
    cr = fp_hl_crlf(p, end);
    if (!cr)
        return FP_HL_BAD;
    if (cr == p) /* "\r\n" alone */
        return FP_HL_END;
    colon = fp_hl_colon(w, p);
    if (!colon)
        return FP_HL_BAD;
    fp_hl_fill(w, h, cr + 1, colon);
    return FP_HL_HDR;
}

/* Read the next header line into *h (FP_HL_HDR), or say why not. */
static inline int fp_hl_next(fp_hl_walk_t *w, fp_hl_hdr_t *h)
{
    const uint8_t *lf, *colon;

    if (w->crlf)
        return fp_hl_next_crlf(w, h);
    if (w->p >= w->end)
        return FP_HL_END;
    lf = memchr(w->p, '\n', (size_t)(w->end - w->p));
    if (!lf)
        return FP_HL_BAD;
    if (lf - w->p <= 1) /* "\n", "\r\n" -- and ipfixprobe's rtsp: any one byte + LF */
        return FP_HL_END;
    colon = fp_hl_colon(w, w->p);
    if (!colon)
        return FP_HL_BAD;
    fp_hl_fill(w, h, lf, colon);
    return FP_HL_HDR;
}

/*
 * The header's name equals lit (n bytes, no NUL), as strcmp(h->name, lit)
 * == 0 would say: the name starts with lit and ends right after it, at its
 * end or at a NUL byte.
 */
static inline bool fp_hl_name_is(const fp_hl_hdr_t *h, const char *lit, size_t n)
{
    return h->nlen >= n && memcmp(h->nb, lit, n) == 0 && (h->nlen == n || h->nb[n] == 0);
}

/*
 * fp_hl_name_is for a line of a CRLF walk and a lit without CR (no field
 * name has one): a name equal to lit is then exactly nlen == n bytes.  The
 * other case, n bytes equal to lit and a NUL right after them, would put a
 * NUL before any CR of the line (those n bytes hold none), and such a line
 * ends the walk with FP_HL_BAD instead.  So a caller may switch on nlen and
 * compare one candidate.
 */
static inline bool fp_hl_name_eq(const fp_hl_hdr_t *h, const char *lit, size_t n)
{
    return h->nlen == n && memcmp(h->nb, lit, n) == 0;
}

/* Copy a header value into dst (cap bytes) as ipfixprobe does; "" when inverted. */
static inline void fp_hl_value(char *dst, size_t cap, const fp_hl_hdr_t *h)
{
    fp_hl_copy(dst, cap, h->vb, h->ve);
}

#endif /* FP_HTTPLINE_H */
