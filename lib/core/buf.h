/*
 * buf.h - an append-only text buffer for the CSV, JSON and text writers.
 *
 * Writers format straight into the buffer (no printf on the hot path) and the
 * buffer goes to its FILE in large blocks.  With no FILE the buffer grows, which
 * is what unit tests and in-memory formatting use.
 */
#ifndef FK_BUF_H
#define FK_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fk_buf_st {
    char *data; /* heap block of `cap` bytes; data[0..len) is pending output */
    size_t len;
    size_t cap;
    FILE *f;   /* destination; NULL = grow in memory instead of flushing */
    int error; /* first errno seen while writing, 0 if none */
} fk_buf_t;

/* Allocate `cap` bytes (at least 4 KiB) for output to `f` (may be NULL). 0 or -1. */
int fk_buf_init(fk_buf_t *b, FILE *f, size_t cap);

/* Write pending bytes to the FILE (no-op in memory mode); 0 or -1 (b->error set). */
int fk_buf_flush(fk_buf_t *b);

/* Free the block (does not flush or close the FILE). */
void fk_buf_free(fk_buf_t *b);

/* Make room for `n` more bytes; returns a pointer to write them, or NULL. */
char *fk_buf_reserve(fk_buf_t *b, size_t n);

void fk_buf_put(fk_buf_t *b, const void *s, size_t n);
void fk_buf_puts(fk_buf_t *b, const char *s);
void fk_buf_putc(fk_buf_t *b, char c);
void fk_buf_printf(fk_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal integers. */
void fk_buf_u64(fk_buf_t *b, uint64_t v);
void fk_buf_i64(fk_buf_t *b, int64_t v);

/* Lower-case hex of `n` bytes, no separators. */
void fk_buf_hex(fk_buf_t *b, const uint8_t *p, size_t n);

/* "aa:bb:cc:dd:ee:ff" */
void fk_buf_mac(fk_buf_t *b, const uint8_t mac[6]);

/*
 * An address stored as 16 bytes: IPv4 in IPv4-mapped form (::ffff:a.b.c.d,
 * RFC 4291 2.5.5.2) prints dotted, anything else as compressed IPv6 (RFC 5952).
 */
void fk_buf_ip(fk_buf_t *b, const uint8_t addr[16]);

/* Nanoseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuu" (UTC, microseconds). */
void fk_buf_time_us(fk_buf_t *b, uint64_t ns);

/* A JSON string literal with quotes; control and non-ASCII bytes are \u-escaped. */
void fk_buf_json_str(fk_buf_t *b, const char *s, size_t n);

/*
 * ---- Unchecked writers for formatters that reserve a record's worst case once --
 *
 * Each writes its text at `p` and returns the end of it.  They store whole
 * words, so they may write up to the FK_*_ROOM bytes named below past `p`
 * (bytes after the returned end are scratch: the caller's next write replaces
 * them); the caller guarantees that room.  No locale, no division loops: the
 * decimal writer converts 8 digits at a time with multiply-and-shift arithmetic
 * ("SWAR": P. Khuong and D. Lemire's digit splitting), the others use 256-entry
 * tables.  The fk_buf_* functions above are built on them.
 */
#define FK_U64_ROOM 20 /* fk_put_u64: at most 20 digits, and never more than 20 bytes touched */
#define FK_IP4_ROOM 16 /* fk_put_ip4: "255.255.255.255" and one scratch byte */
#define FK_MAC_ROOM 18 /* fk_put_mac48: "aa:bb:cc:dd:ee:ff" and one scratch byte */

extern const char fk_dec3[256][4];    /* "0." ... "255.": an octet and a dot */
extern const char fk_hex2[256][2];    /* "00" ... "ff" */
extern const uint8_t fk_dec3len[256]; /* strlen of fk_dec3[o]: 2, 3 or 4 */

/* A little-endian 64-bit word in native order (the SWAR code computes in LE lanes). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FK__LE64(x) __builtin_bswap64(x)
#define FK__LE32(x) __builtin_bswap32(x)
#define FK__BE64(x) (x)
#else
#define FK__LE64(x) (x)
#define FK__LE32(x) (x)
#define FK__BE64(x) __builtin_bswap64(x) /* a big-endian (network order) word */
#endif

/*
 * n < 10^8 as 8 ASCII digits, leading zeros kept, most significant digit in
 * the lowest byte of the little-endian word: two splits in 32-bit lanes
 * (/10^4 by the compiler, /100 as *10486 >> 20) and one in 16-bit lanes
 * (/10 as *103 >> 10); both reciprocals are exact for the lane ranges
 * (< 10^4 and < 100) and no lane product reaches its neighbour.
 */
static inline uint64_t fk__digits8(uint32_t n)
{
    uint64_t m = (uint64_t)(n / 10000) | (uint64_t)(n % 10000) << 32;
    uint64_t h = ((m * 10486) >> 20) & 0x0000007F0000007FULL;
    m = h | (m - h * 100) << 16;
    h = ((m * 103) >> 10) & 0x000F000F000F000FULL;
    return (h | (m - h * 10) << 8) + 0x3030303030303030ULL;
}

/* v >= 10^8 in decimal (fk_put_u64's long path, out of line). */
/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
 * civil_from_days): the writers of times here, in field.c and the collector. */
void fk_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

char *fk__put_u64_big(char *p, uint64_t v);

/* 10 <= n < 10^8 without leading zeros: one 8-byte store. */
static inline char *fk__put_lt1e8(char *p, uint32_t n)
{
    uint64_t d = fk__digits8(n);
    /* the leading zero digits are the low bytes whose digit value is 0 */
    unsigned z = (unsigned)__builtin_ctzll(d - 0x3030303030303030ULL) >> 3;
    d = FK__LE64(d >> (8 * z));
    __builtin_memcpy(p, &d, 8);
    return p + 8 - z;
}

static inline char *fk__put_digits8(char *p, uint32_t n)
{
    uint64_t d = FK__LE64(fk__digits8(n));
    __builtin_memcpy(p, &d, 8);
    return p + 8;
}

extern const char fk_dec2[100][2]; /* "00" ... "99" */

/* n < 10^8 without leading zeros: table lookups below 10^4, one 8-byte store above. */
static inline char *fk__put_small(char *p, uint32_t n)
{
    if (n < 10) {
        *p = (char)('0' + n);
        return p + 1;
    }
    if (n < 100) {
        __builtin_memcpy(p, fk_dec2[n], 2);
        return p + 2;
    }
    if (n < 10000) {
        uint32_t hi = n / 100, lo = n % 100;
        if (hi < 10) {
            *p = (char)('0' + hi);
            __builtin_memcpy(p + 1, fk_dec2[lo], 2);
            return p + 3;
        }
        __builtin_memcpy(p, fk_dec2[hi], 2);
        __builtin_memcpy(p + 2, fk_dec2[lo], 2);
        return p + 4;
    }
    return fk__put_lt1e8(p, n);
}

/* v in decimal (Go's %v, printf's %llu). Room: FK_U64_ROOM. */
static inline __attribute__((always_inline)) char *fk_put_u64(char *p, uint64_t v)
{
    if (v < 100000000)
        return fk__put_small(p, (uint32_t)v);
    return fk__put_u64_big(p, v);
}

/* Dotted-quad IPv4 "a.b.c.d" of 4 network-order bytes. Room: FK_IP4_ROOM. */
static inline char *fk_put_ip4(char *p, const uint8_t a[4])
{
    /* each octet: its digits and a dot as one 4-byte store, its length by a
     * load (not two compares); written out, as compilers at -O2 keep the loop */
    __builtin_memcpy(p, fk_dec3[a[0]], 4);
    p += fk_dec3len[a[0]];
    __builtin_memcpy(p, fk_dec3[a[1]], 4);
    p += fk_dec3len[a[1]];
    __builtin_memcpy(p, fk_dec3[a[2]], 4);
    p += fk_dec3len[a[2]];
    __builtin_memcpy(p, fk_dec3[a[3]], 4);
    return p + fk_dec3len[a[3]] - 1; /* the last dot is scratch */
}

/* The low 48 bits of v as "aa:bb:cc:dd:ee:ff" (first byte = bits 47..40). Room: FK_MAC_ROOM. */
static inline char *fk_put_mac48(char *p, uint64_t v)
{
    for (int i = 0; i < 6; i++) {
        __builtin_memcpy(p + 3 * i, fk_hex2[(v >> (40 - 8 * i)) & 0xff], 2);
        p[3 * i + 2] = ':';
    }
    return p + 17;
}

/* Lower-case hex of n bytes (2n bytes, exact). */
static inline char *fk_put_hex(char *p, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        __builtin_memcpy(p + 2 * i, fk_hex2[s[i]], 2);
    return p + 2 * n;
}

/* v (< 0x10000) in lower-case hex without leading zeros, "0" for 0 (one IPv6 group). Room: 4. */
static inline char *fk_put_hex16(char *p, unsigned v)
{
    uint16_t h, l;
    __builtin_memcpy(&h, fk_hex2[(v >> 8) & 0xff], 2);
    __builtin_memcpy(&l, fk_hex2[v & 0xff], 2);
    uint32_t u = FK__LE32((uint32_t)h | (uint32_t)l << 16); /* the 4 digits in memory order */
    /* leading zero digits: 4 - ceil(bits / 4), one for 0 (v | 1 has 1 bit) */
    unsigned skip = ((unsigned)__builtin_clz((uint32_t)v | 1) - 16) >> 2;
    u = FK__LE32(u >> (8 * skip));
    __builtin_memcpy(p, &u, 4);
    return p + 4 - skip;
}

/*
 * RFC 5952 section 4.2: the longest run of two or more zero groups (the
 * first of equal runs) is the one "::" replaces.  Indexed by the mask of zero
 * groups (bit i: group i is 0): start << 4 | length, 0x80 when no run.
 */
extern const uint8_t fk_ip6_zrun[256];

#define FK_IP6_ROOM 40 /* fk_put_ip6: 39 characters and one scratch byte */

/*
 * 16 network-order bytes as RFC 5952 text: lower-case hex groups without
 * leading zeros, the longest zero run (2 groups or more) as "::".  Every
 * address is printed as IPv6 (no dotted tail: ::ffff:a.b.c.d and ::a.b.c.d
 * are the callers' choice).  Room: FK_IP6_ROOM.
 */
/*
 * Bit i (0..3) set when group i of w (4 groups, the first in the top bits) is
 * not zero, without branches: adding 0x7fff to a group's low 15 bits carries
 * into its top bit unless they are zero (no carry leaves the group), and one
 * multiply gathers the four top bits (products that do not land in bits
 * 48..51 land on distinct bits below, so no carry reaches them).
 */
static inline unsigned fk__ip6_nonzero4(uint64_t w)
{
    const uint64_t low15 = 0x7fff7fff7fff7fffULL;
    uint64_t t = (((w & low15) + low15) | w) >> 15 & 0x0001000100010001ULL;
    return (unsigned)((t * 0x0008000400020001ULL) >> 48) & 0xf;
}

static inline char *fk_put_ip6(char *p, const uint8_t a[16])
{
    unsigned g[8];
    uint64_t w[2];
    __builtin_memcpy(w, a, 16);
    w[0] = FK__BE64(w[0]);
    w[1] = FK__BE64(w[1]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) /* two word loads, not 16 byte loads */
        g[i] = (unsigned)(w[i >> 2] >> (48 - 16 * (i & 3))) & 0xffff;
    /* bit i: group i is zero */
    unsigned z = ~(fk__ip6_nonzero4(w[0]) | fk__ip6_nonzero4(w[1]) << 4) & 0xff;
    unsigned run = fk_ip6_zrun[z], zs = run >> 4, ze = zs + (run & 15), i;
    /* each group is followed by ':'; the run adds one ':' (two at the start) */
    for (i = 0; i < zs; i++) {
        p = fk_put_hex16(p, g[i]);
        *p++ = ':';
    }
    if (zs < 8) {
        if (zs == 0)
            *p++ = ':';
        *p++ = ':';
        if (ze == 8)
            return p; /* ends with the run: "...::" */
    }
    for (i = ze; i < 8; i++) {
        p = fk_put_hex16(p, g[i]);
        *p++ = ':';
    }
    return p - 1; /* the last ':' is scratch */
}

#endif /* FK_BUF_H */
