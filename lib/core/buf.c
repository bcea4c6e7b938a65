/*
 * buf.c - append-only text buffer.
 */
#include "buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int fk_buf_init(fk_buf_t *b, FILE *f, size_t cap)
{
    memset(b, 0, sizeof(*b));
    if (cap < 4096)
        cap = 4096;
    b->data = malloc(cap);
    if (!b->data)
        return -1;
    b->cap = cap;
    b->f = f;
    return 0;
}

int fk_buf_flush(fk_buf_t *b)
{
    if (!b->f || b->len == 0)
        return b->error ? -1 : 0;
    if (fwrite(b->data, 1, b->len, b->f) != b->len && !b->error)
        b->error = errno ? errno : EIO;
    b->len = 0;
    return b->error ? -1 : 0;
}

void fk_buf_free(fk_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *fk_buf_reserve(fk_buf_t *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->data + b->len;
    if (b->f) {
        fk_buf_flush(b);
        if (b->cap >= n)
            return b->data;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2)
            return NULL;
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->error = ENOMEM;
        return NULL;
    }
    b->data = d;
    b->cap = cap;
    return b->data + b->len;
}

void fk_buf_put(fk_buf_t *b, const void *s, size_t n)
{
    char *d = fk_buf_reserve(b, n);
    if (!d)
        return;
    memcpy(d, s, n);
    b->len += n;
}

void fk_buf_puts(fk_buf_t *b, const char *s)
{
    fk_buf_put(b, s, strlen(s));
}

void fk_buf_putc(fk_buf_t *b, char c)
{
    char *d = fk_buf_reserve(b, 1);
    if (!d)
        return;
    *d = c;
    b->len++;
}

void fk_buf_printf(fk_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char tmp[512];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        fk_buf_put(b, tmp, (size_t)n);
        return;
    }
    char *d = fk_buf_reserve(b, (size_t)n + 1);
    if (!d)
        return;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fk_buf_u64(fk_buf_t *b, uint64_t v)
{
    char *d = fk_buf_reserve(b, FK_U64_ROOM);
    if (!d)
        return;
    b->len += (size_t)(fk_put_u64(d, v) - d);
}

void fk_buf_i64(fk_buf_t *b, int64_t v)
{
    if (v < 0) {
        fk_buf_putc(b, '-');
        fk_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        fk_buf_u64(b, (uint64_t)v);
    }
}

static const char hexdig[] = "0123456789abcdef";

/* Tables of the unchecked writers (buf.h), built by the preprocessor. */
#define D3(n)                                          \
    {                                                  \
        (char)((n) < 10    ? '0' + (n)                 \
               : (n) < 100 ? '0' + (n) / 10            \
                           : '0' + (n) / 100),         \
            (char)((n) < 10    ? '.'                   \
                   : (n) < 100 ? '0' + (n) % 10        \
                               : '0' + (n) / 10 % 10), \
            (char)((n) < 10    ? 0                     \
                   : (n) < 100 ? '.'                   \
                               : '0' + (n) % 10),      \
            (char)((n) < 100 ? 0 : '.')                \
    }
#define HX(d) (char)((d) < 10 ? '0' + (d) : 'a' - 10 + (d))
#define X2(n)                    \
    {                            \
        HX((n) >> 4), HX((n)&15) \
    }
#define R4(M, n)  M(n), M(n + 1), M(n + 2), M(n + 3)
#define R16(M, n) R4(M, n), R4(M, n + 4), R4(M, n + 8), R4(M, n + 12)
#define R64(M, n) R16(M, n), R16(M, n + 16), R16(M, n + 32), R16(M, n + 48)
#define R256(M)   R64(M, 0), R64(M, 64), R64(M, 128), R64(M, 192)

const char fk_dec3[256][4] = {R256(D3)};
#define D3LEN(n) (uint8_t)(2 + ((n) >= 10) + ((n) >= 100))
const uint8_t fk_dec3len[256] = {R256(D3LEN)};
const char fk_hex2[256][2] = {R256(X2)};
/*
 * fk_ip6_zrun: for each mask of zero groups, the longest run of 2 or more
 * (the first of equal ones) as start << 4 | length, 0x80 for none.  Made by
 * the rule of RFC 5952 4.2.1-4.2.3 (a script's output; test_core checks every
 * mask against a direct search).
 */
const uint8_t fk_ip6_zrun[256] = {
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x80, 0x80, 0x80, 0x02, 0x22, 0x22, 0x13, 0x04,
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x32, 0x32, 0x32, 0x02, 0x23, 0x23, 0x14, 0x05,
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x80, 0x80, 0x80, 0x02, 0x22, 0x22, 0x13, 0x04,
    0x42, 0x42, 0x42, 0x02, 0x42, 0x42, 0x12, 0x03, 0x33, 0x33, 0x33, 0x33, 0x24, 0x24, 0x15, 0x06,
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x80, 0x80, 0x80, 0x02, 0x22, 0x22, 0x13, 0x04,
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x32, 0x32, 0x32, 0x02, 0x23, 0x23, 0x14, 0x05,
    0x52, 0x52, 0x52, 0x02, 0x52, 0x52, 0x12, 0x03, 0x52, 0x52, 0x52, 0x02, 0x22, 0x22, 0x13, 0x04,
    0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x03, 0x34, 0x34, 0x34, 0x34, 0x25, 0x25, 0x16, 0x07,
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x80, 0x80, 0x80, 0x02, 0x22, 0x22, 0x13, 0x04,
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x32, 0x32, 0x32, 0x02, 0x23, 0x23, 0x14, 0x05,
    0x80, 0x80, 0x80, 0x02, 0x80, 0x80, 0x12, 0x03, 0x80, 0x80, 0x80, 0x02, 0x22, 0x22, 0x13, 0x04,
    0x42, 0x42, 0x42, 0x02, 0x42, 0x42, 0x12, 0x03, 0x33, 0x33, 0x33, 0x33, 0x24, 0x24, 0x15, 0x06,
    0x62, 0x62, 0x62, 0x02, 0x62, 0x62, 0x12, 0x03, 0x62, 0x62, 0x62, 0x02, 0x22, 0x22, 0x13, 0x04,
    0x62, 0x62, 0x62, 0x02, 0x62, 0x62, 0x12, 0x03, 0x32, 0x32, 0x32, 0x02, 0x23, 0x23, 0x14, 0x05,
    0x53, 0x53, 0x53, 0x53, 0x53, 0x53, 0x53, 0x03, 0x53, 0x53, 0x53, 0x53, 0x53, 0x53, 0x13, 0x04,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x35, 0x35, 0x35, 0x35, 0x26, 0x26, 0x17, 0x08,
};
#define DD2(n)                                         \
    {                                                  \
        (char)('0' + (n) / 10), (char)('0' + (n) % 10) \
    }
#define R100(M) R64(M, 0), R16(M, 64), R16(M, 80), R4(M, 96)
const char fk_dec2[100][2] = {R100(DD2)};

/*
 * Recently written long numbers, per thread: nanosecond timestamps (19-20
 * digits) dominate the long numbers formatters write.  Those of one export
 * datagram share their leading digits (the flow start and end times) or
 * all of them (the receive time, the same for every record of a datagram).
 * An entry holds the text of one value v >= 10^8; the digits above its last
 * 8 are reused for any value with the same v / 10^8, the whole text for v
 * itself.  Direct-mapped on a hash of v / 10^8 (16 entries, so the 3
 * timestamps of a record seldom share one); a pure function of the key, so
 * a stale entry can only miss.
 */
typedef struct hicache_st {
    uint64_t v;  /* the value whose text is in s; 0: empty (v >= 10^8 here) */
    uint64_t hi; /* v / 10^8: its digits are s[0..hlen) */
    uint8_t hlen, len;
    char s[30]; /* at most 20 digits, padded so it copies as a fixed 20 bytes */
} hicache_t;
static __thread hicache_t hicache[16];

char *fk__put_u64_big(char *p, uint64_t v)
{
    uint64_t hi = v / 100000000;
    hicache_t *c = &hicache[(hi * 0x9E3779B97F4A7C15ULL) >> 60];
    if (c->v != v) {
        if (c->hi != hi) {
            char *e;
            if (hi < 100000000) {
                e = fk__put_small(c->s, (uint32_t)hi);
            } else {
                e = fk__put_small(c->s, (uint32_t)(hi / 100000000)); /* <= 1844 */
                e = fk__put_digits8(e, (uint32_t)(hi % 100000000));
            }
            c->hlen = (uint8_t)(e - c->s);
            c->hi = hi;
        }
        fk__put_digits8(c->s + c->hlen, (uint32_t)(v - hi * 100000000));
        c->len = (uint8_t)(c->hlen + 8);
        c->v = v;
    }
    memcpy(p, c->s, FK_U64_ROOM); /* 9-20 digits, then scratch */
    return p + c->len;
}

void fk_buf_hex(fk_buf_t *b, const uint8_t *p, size_t n)
{
    if (n > SIZE_MAX / 2)
        return;
    char *d = fk_buf_reserve(b, 2 * n);
    if (!d)
        return;
    fk_put_hex(d, p, n);
    b->len += 2 * n;
}

void fk_buf_mac(fk_buf_t *b, const uint8_t mac[6])
{
    char *d = fk_buf_reserve(b, FK_MAC_ROOM);
    if (!d)
        return;
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | mac[i];
    b->len += (size_t)(fk_put_mac48(d, v) - d);
}

void fk_buf_ip(fk_buf_t *b, const uint8_t addr[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char tmp[INET6_ADDRSTRLEN];

    if (memcmp(addr, mapped, 12) == 0) {
        char *d = fk_buf_reserve(b, FK_IP4_ROOM);
        if (d)
            b->len += (size_t)(fk_put_ip4(d, addr + 12) - d);
        return;
    }
    if (inet_ntop(AF_INET6, addr, tmp, sizeof(tmp)))
        fk_buf_puts(b, tmp);
}

/*
 * Days since 1970-01-01 to a civil date (proleptic Gregorian), after Howard
 * Hinnant's days_from_civil inverse; avoids gmtime_r's locale and lock cost.
 */
void fk_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static void put_dec(char *d, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        d[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void fk_buf_time_us(fk_buf_t *b, uint64_t ns)
{
    uint64_t secs = ns / 1000000000ULL;
    uint64_t usec = (ns % 1000000000ULL) / 1000;
    int64_t days = (int64_t)(secs / 86400);
    uint64_t sod = secs % 86400;
    int64_t y;
    unsigned m, d;

    fk_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 9999; /* not reachable for 64-bit ns timestamps before year 2554 */
    char *o = fk_buf_reserve(b, 26);
    if (!o)
        return;
    put_dec(o, (uint64_t)y, 4);
    o[4] = '-';
    put_dec(o + 5, m, 2);
    o[7] = '-';
    put_dec(o + 8, d, 2);
    o[10] = 'T';
    put_dec(o + 11, sod / 3600, 2);
    o[13] = ':';
    put_dec(o + 14, sod / 60 % 60, 2);
    o[16] = ':';
    put_dec(o + 17, sod % 60, 2);
    o[19] = '.';
    put_dec(o + 20, usec, 6);
    b->len += 26;
}

void fk_buf_json_str(fk_buf_t *b, const char *s, size_t n)
{
    fk_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fk_buf_put(b, "\\\"", 2);
            break;
        case '\\':
            fk_buf_put(b, "\\\\", 2);
            break;
        case '\n':
            fk_buf_put(b, "\\n", 2);
            break;
        case '\r':
            fk_buf_put(b, "\\r", 2);
            break;
        case '\t':
            fk_buf_put(b, "\\t", 2);
            break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                /* Bytes from the wire are not known to be UTF-8: escape them so
                 * every line stays valid JSON whatever the packet held. */
                char esc[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15]};
                fk_buf_put(b, esc, 6);
            } else {
                fk_buf_putc(b, (char)c);
            }
        }
    }
    fk_buf_putc(b, '"');
}
