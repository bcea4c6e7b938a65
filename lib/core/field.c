/*
 * field.c - value writers for the declarative field tables.
 */
#include "field.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "copy.h"

static const struct {
    const char *unirec;
    uint8_t sortsize; /* UniRec template order; 0 = variable size */
    uint8_t size;     /* fixed size in bytes */
    uint8_t esize;    /* array element size */
} g_types[FK_T_COUNT_] = {
    [FK_T_U8] = {"uint8", 1, 1, 0},      [FK_T_I8] = {"int8", 1, 1, 0},
    [FK_T_U16] = {"uint16", 2, 2, 0},    [FK_T_U32] = {"uint32", 4, 4, 0},
    [FK_T_U64] = {"uint64", 8, 8, 0},    [FK_T_FLOAT] = {"float", 4, 4, 0},
    [FK_T_DOUBLE] = {"double", 8, 8, 0}, [FK_T_TIME] = {"time", 8, 8, 0},
    [FK_T_MAC] = {"macaddr", 6, 6, 0},   [FK_T_IP] = {"ipaddr", 16, 16, 0},
    [FK_T_STR] = {"string", 0, 0, 1},    [FK_T_BYTES] = {"bytes", 0, 0, 1},
    [FK_T_A_U8] = {"uint8*", 0, 0, 1},   [FK_T_A_I8] = {"int8*", 0, 0, 1},
    [FK_T_A_U16] = {"uint16*", 0, 0, 2}, [FK_T_A_U32] = {"uint32*", 0, 0, 4},
    [FK_T_A_U64] = {"uint64*", 0, 0, 8}, [FK_T_A_TIME] = {"time*", 0, 0, 8},
};

const char *fk_ftype_unirec(fk_ftype_t t)
{
    return t < FK_T_COUNT_ ? g_types[t].unirec : "?";
}

unsigned fk_ftype_sortsize(fk_ftype_t t)
{
    return t < FK_T_COUNT_ ? g_types[t].sortsize : 0;
}

unsigned fk_ftype_size(fk_ftype_t t)
{
    return t < FK_T_COUNT_ ? g_types[t].size : 0;
}

/* Struct members are read by memcpy: the record may be packed into a slab. */
#define LOAD(type, base, off)                                     \
    ({                                                            \
        type v_;                                                  \
        memcpy(&v_, (const uint8_t *)(base) + (off), sizeof(v_)); \
        v_;                                                       \
    })

uint16_t fk_field_count(const fk_field_t *f, const void *base)
{
    uint16_t n = LOAD(uint16_t, base, f->cnt_off);
    return n > f->cap ? f->cap : n; /* a count can never make a writer over-read */
}

unsigned fk_ftype_esize(fk_ftype_t t)
{
    return fk_ftype_is_array(t) ? g_types[t].esize : 0;
}

uint64_t fk_field_u64(const fk_field_t *f, const void *base, size_t i)
{
    fk_ftype_t t = (fk_ftype_t)f->type;
    unsigned sz = fk_ftype_is_array(t) ? g_types[t].esize : g_types[t].size;
    const uint8_t *p = (const uint8_t *)base + f->off + i * sz;

    switch (sz) {
    case 1:
        return *p;
    case 2:
        return LOAD(uint16_t, p, 0);
    case 4:
        return LOAD(uint32_t, p, 0);
    case 8:
        return LOAD(uint64_t, p, 0);
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Text formatters.  The writers below reserve a field's worst case once and   */
/* format straight into the buffer: no printf and no per-character call on    */
/* the output path (a CSV row with plugins has ~50 columns).                  */

static const char g_hex[] = "0123456789abcdef";

/* "00" "01" ... "99": two digits per table lookup. */
static const char g_dec2[200] = {
    '0', '0', '0', '1', '0', '2', '0', '3', '0', '4', '0', '5', '0', '6', '0', '7', '0', '8', '0',
    '9', '1', '0', '1', '1', '1', '2', '1', '3', '1', '4', '1', '5', '1', '6', '1', '7', '1', '8',
    '1', '9', '2', '0', '2', '1', '2', '2', '2', '3', '2', '4', '2', '5', '2', '6', '2', '7', '2',
    '8', '2', '9', '3', '0', '3', '1', '3', '2', '3', '3', '3', '4', '3', '5', '3', '6', '3', '7',
    '3', '8', '3', '9', '4', '0', '4', '1', '4', '2', '4', '3', '4', '4', '4', '5', '4', '6', '4',
    '7', '4', '8', '4', '9', '5', '0', '5', '1', '5', '2', '5', '3', '5', '4', '5', '5', '5', '6',
    '5', '7', '5', '8', '5', '9', '6', '0', '6', '1', '6', '2', '6', '3', '6', '4', '6', '5', '6',
    '6', '6', '7', '6', '8', '6', '9', '7', '0', '7', '1', '7', '2', '7', '3', '7', '4', '7', '5',
    '7', '6', '7', '7', '7', '8', '7', '9', '8', '0', '8', '1', '8', '2', '8', '3', '8', '4', '8',
    '5', '8', '6', '8', '7', '8', '8', '8', '9', '9', '0', '9', '1', '9', '2', '9', '3', '9', '4',
    '9', '5', '9', '6', '9', '7', '9', '8', '9', '9'};

static inline size_t fmt_u64(char *out, uint64_t v)
{
    static const uint64_t pow10[FK_FMT_U64_MAX] = {
        1ULL,
        10ULL,
        100ULL,
        1000ULL,
        10000ULL,
        100000ULL,
        1000000ULL,
        10000000ULL,
        100000000ULL,
        1000000000ULL,
        10000000000ULL,
        100000000000ULL,
        1000000000000ULL,
        10000000000000ULL,
        100000000000000ULL,
        1000000000000000ULL,
        10000000000000000ULL,
        100000000000000000ULL,
        1000000000000000000ULL,
        10000000000000000000ULL,
    };
    size_t n = 1;
    char *o;

    if (v < 10) { /* counts, flags, zero records: most numbers printed */
        out[0] = (char)('0' + v);
        return 1;
    }
    while (n < FK_FMT_U64_MAX && v >= pow10[n])
        n++;
    o = out + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        o -= 2;
        memcpy(o, g_dec2 + 2 * r, 2);
    }
    if (v >= 10) {
        o -= 2;
        memcpy(o, g_dec2 + 2 * v, 2);
    } else {
        *--o = (char)('0' + v);
    }
    return n;
}

size_t fk_fmt_u64(char *out, uint64_t v)
{
    return fmt_u64(out, v);
}

/*
 * printf("%f", v) for the finite doubles whose value times 10^6 stays below
 * 2^63: the exact binary value m * 2^e (IEEE 754) scaled by 10^6 in 128-bit
 * integers, rounded to nearest with ties to even as glibc does in the
 * default rounding mode, then printed as integer part '.' six digits.  0
 * when v is outside that range (NaN, infinities, |v| >= about 9.2e12): the
 * caller falls back to printf.  glibc's printf_fp does the same exact
 * arithmetic with multi-precision numbers, ~1,500 instructions a value.
 */
size_t fk_fmt_f6(char *out, double v)
{
    uint64_t u, m, n;
    int e;
    char *o = out;

    memcpy(&u, &v, sizeof(u));
    e = (int)(u >> 52 & 0x7ff);
    m = u & ((1ULL << 52) - 1);
    if (e == 0x7ff)
        return 0; /* NaN, infinity */
    if (e == 0) {
        e = -1074; /* zero and subnormals */
    } else {
        m |= 1ULL << 52;
        e -= 1075;
    }
    if (m == 0) {
        n = 0;
    } else if (e >= 0) {
        if (e > 10)
            return 0; /* m << e may pass 2^63 / 10^6 */
        n = (m << e);
        if (n > (UINT64_MAX >> 1) / 1000000)
            return 0;
        n *= 1000000;
    } else {
        unsigned __int128 pm = (unsigned __int128)m * 1000000; /* < 2^73 */
        int sh = -e;
        if (sh > 74) {
            n = 0; /* v * 10^6 < 2^73 / 2^75: below one half */
        } else {
            unsigned __int128 q = pm >> sh, r = pm - (q << sh),
                              half = (unsigned __int128)1 << (sh - 1);
            if (q > (UINT64_MAX >> 1))
                return 0;
            n = (uint64_t)q;
            if (r > half || (r == half && (n & 1)))
                n++;
        }
    }
    if (u >> 63)
        *o++ = '-'; /* printf keeps the sign of -0.0 and of negatives rounded to 0 */
    o += fmt_u64(o, n / 1000000);
    *o++ = '.';
    uint32_t f = (uint32_t)(n % 1000000);
    memcpy(o, g_dec2 + 2 * (f / 10000), 2);
    memcpy(o + 2, g_dec2 + 2 * (f / 100 % 100), 2);
    memcpy(o + 4, g_dec2 + 2 * (f % 100), 2);
    o += 6;
    return (size_t)(o - out);
}

/*
 * Room for n more bytes of b: the common case inline, fk_buf_reserve (flush
 * or grow) only when the block is full.
 */
static inline char *room(fk_buf_t *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->data + b->len;
    return fk_buf_reserve(b, n);
}

/* "0".."255": the digits, NUL-padded to three bytes, then the length. */
static const char g_octet[256][4] = {
    "0\0\0\1", "1\0\0\1", "2\0\0\1", "3\0\0\1", "4\0\0\1", "5\0\0\1", "6\0\0\1", "7\0\0\1",
    "8\0\0\1", "9\0\0\1", "10\0\2",  "11\0\2",  "12\0\2",  "13\0\2",  "14\0\2",  "15\0\2",
    "16\0\2",  "17\0\2",  "18\0\2",  "19\0\2",  "20\0\2",  "21\0\2",  "22\0\2",  "23\0\2",
    "24\0\2",  "25\0\2",  "26\0\2",  "27\0\2",  "28\0\2",  "29\0\2",  "30\0\2",  "31\0\2",
    "32\0\2",  "33\0\2",  "34\0\2",  "35\0\2",  "36\0\2",  "37\0\2",  "38\0\2",  "39\0\2",
    "40\0\2",  "41\0\2",  "42\0\2",  "43\0\2",  "44\0\2",  "45\0\2",  "46\0\2",  "47\0\2",
    "48\0\2",  "49\0\2",  "50\0\2",  "51\0\2",  "52\0\2",  "53\0\2",  "54\0\2",  "55\0\2",
    "56\0\2",  "57\0\2",  "58\0\2",  "59\0\2",  "60\0\2",  "61\0\2",  "62\0\2",  "63\0\2",
    "64\0\2",  "65\0\2",  "66\0\2",  "67\0\2",  "68\0\2",  "69\0\2",  "70\0\2",  "71\0\2",
    "72\0\2",  "73\0\2",  "74\0\2",  "75\0\2",  "76\0\2",  "77\0\2",  "78\0\2",  "79\0\2",
    "80\0\2",  "81\0\2",  "82\0\2",  "83\0\2",  "84\0\2",  "85\0\2",  "86\0\2",  "87\0\2",
    "88\0\2",  "89\0\2",  "90\0\2",  "91\0\2",  "92\0\2",  "93\0\2",  "94\0\2",  "95\0\2",
    "96\0\2",  "97\0\2",  "98\0\2",  "99\0\2",  "100\3",   "101\3",   "102\3",   "103\3",
    "104\3",   "105\3",   "106\3",   "107\3",   "108\3",   "109\3",   "110\3",   "111\3",
    "112\3",   "113\3",   "114\3",   "115\3",   "116\3",   "117\3",   "118\3",   "119\3",
    "120\3",   "121\3",   "122\3",   "123\3",   "124\3",   "125\3",   "126\3",   "127\3",
    "128\3",   "129\3",   "130\3",   "131\3",   "132\3",   "133\3",   "134\3",   "135\3",
    "136\3",   "137\3",   "138\3",   "139\3",   "140\3",   "141\3",   "142\3",   "143\3",
    "144\3",   "145\3",   "146\3",   "147\3",   "148\3",   "149\3",   "150\3",   "151\3",
    "152\3",   "153\3",   "154\3",   "155\3",   "156\3",   "157\3",   "158\3",   "159\3",
    "160\3",   "161\3",   "162\3",   "163\3",   "164\3",   "165\3",   "166\3",   "167\3",
    "168\3",   "169\3",   "170\3",   "171\3",   "172\3",   "173\3",   "174\3",   "175\3",
    "176\3",   "177\3",   "178\3",   "179\3",   "180\3",   "181\3",   "182\3",   "183\3",
    "184\3",   "185\3",   "186\3",   "187\3",   "188\3",   "189\3",   "190\3",   "191\3",
    "192\3",   "193\3",   "194\3",   "195\3",   "196\3",   "197\3",   "198\3",   "199\3",
    "200\3",   "201\3",   "202\3",   "203\3",   "204\3",   "205\3",   "206\3",   "207\3",
    "208\3",   "209\3",   "210\3",   "211\3",   "212\3",   "213\3",   "214\3",   "215\3",
    "216\3",   "217\3",   "218\3",   "219\3",   "220\3",   "221\3",   "222\3",   "223\3",
    "224\3",   "225\3",   "226\3",   "227\3",   "228\3",   "229\3",   "230\3",   "231\3",
    "232\3",   "233\3",   "234\3",   "235\3",   "236\3",   "237\3",   "238\3",   "239\3",
    "240\3",   "241\3",   "242\3",   "243\3",   "244\3",   "245\3",   "246\3",   "247\3",
    "248\3",   "249\3",   "250\3",   "251\3",   "252\3",   "253\3",   "254\3",   "255\3",
};

/*
 * A 16-bit value in decimal (fmt_u64's text): the digit count from three
 * compares, then two digits per table entry.  Packet lengths, ports.
 */
static inline size_t fmt_u16(char *o, unsigned v)
{
    if (v < 10) {
        o[0] = (char)('0' + v);
        return 1;
    }
    if (v < 100) {
        memcpy(o, g_dec2 + 2 * v, 2);
        return 2;
    }
    if (v < 1000) {
        o[0] = (char)('0' + v / 100);
        memcpy(o + 1, g_dec2 + 2 * (v % 100), 2);
        return 3;
    }
    if (v < 10000) {
        memcpy(o, g_dec2 + 2 * (v / 100), 2);
        memcpy(o + 2, g_dec2 + 2 * (v % 100), 2);
        return 4;
    }
    o[0] = (char)('0' + v / 10000);
    v %= 10000;
    memcpy(o + 1, g_dec2 + 2 * (v / 100), 2);
    memcpy(o + 3, g_dec2 + 2 * (v % 100), 2);
    return 5;
}

/* a.b.c.d */
static size_t fmt_ip4(char *out, const uint8_t a[4])
{
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        const char *d = g_octet[a[i]];
        if (i)
            out[n++] = '.';
        memcpy(out + n, d, 3); /* out has room for the longest form */
        n += (size_t)d[3];
    }
    return n;
}

/*
 * %x of a 16-bit word (no leading zeros): its four hex digits as one word,
 * the leading zero digits shifted out.  Stores four bytes: up to three past
 * the text are scratch.
 */
static inline char *hex16(char *o, unsigned v)
{
    unsigned lead = ((unsigned)__builtin_clz(v | 1) - 16) / 4; /* 0..3 zero digits */
    char t[4];
    uint32_t x;

    memcpy(t, fk_hex2[v >> 8], 2);
    memcpy(t + 2, fk_hex2[v & 0xff], 2);
    memcpy(&x, t, 4);
    x = FK__LE32(FK__LE32(x) >> (8 * lead));
    memcpy(o, &x, 4);
    return o + 4 - lead;
}

/*
 * glibc's inet_ntop(AF_INET6) rules, which the reference outputs were made
 * with (RFC 5952 4.2 compression, with two legacy twists): the longest run
 * of two or more zero words (the first of equal runs) becomes "::"; words are
 * lower-case hex without leading zeros; and an address whose first five
 * words are zero with the sixth 0 or ffff ends in dotted IPv4 (RFC 4291
 * 2.5.5 "IPv4-compatible" / "IPv4-mapped").  The text is at most 39 bytes
 * with hex words (hex16 touches three more), shorter with a dotted end.
 */
size_t fk_fmt_ip6(char *out, const uint8_t a[16])
{
    unsigned w[8], z = 0, best = 8, blen = 0, i;
    char *o = out;

    for (i = 0; i < 8; i++) {
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        z |= (unsigned)(w[i] == 0) << i;
    }
    /* After k steps bit j of run is set where k + 1 zero words start at word
     * j: the last step that leaves a bit gives the longest run, its lowest
     * bit the first of them. */
    for (unsigned run = z; run; run &= run >> 1) {
        blen++;
        best = (unsigned)__builtin_ctz(run);
    }
    if (blen < 2) {
        best = 8; /* no "::" */
        blen = 0;
    } else if (best == 0 && blen == 6) {
        memcpy(o, "::", 2);
        return 2 + fmt_ip4(o + 2, a + 12);
    } else if (best == 0 && blen == 5 && w[5] == 0xffff) {
        memcpy(o, "::ffff:", 7);
        return 7 + fmt_ip4(o + 7, a + 12);
    }
    for (i = 0; i < best; i++) {
        if (i)
            *o++ = ':';
        o = hex16(o, w[i]);
    }
    if (best < 8) {
        *o++ = ':';
        *o++ = ':';
        for (i = best + blen; i < 8; i++) {
            if (i > best + blen)
                *o++ = ':';
            o = hex16(o, w[i]);
        }
    }
    return (size_t)(o - out);
}

/* fk_buf_ip's text: IPv4-mapped addresses dotted, the rest as inet_ntop prints them. */
static size_t fmt_ip(char *out, const uint8_t a[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (memcmp(a, mapped, 12) == 0) /* out holds FK_IP4_ROOM: put_addr's room, or a row's */
        return (size_t)(fk_put_ip4(out, a + 12) - out);
    return fk_fmt_ip6(out, a);
}

static size_t fmt_mac(char *d, const uint8_t m[6])
{
    /* written out: compilers at -O2 keep the loop and its last-colon test */
    memcpy(d, fk_hex2[m[0]], 2);
    d[2] = ':';
    memcpy(d + 3, fk_hex2[m[1]], 2);
    d[5] = ':';
    memcpy(d + 6, fk_hex2[m[2]], 2);
    d[8] = ':';
    memcpy(d + 9, fk_hex2[m[3]], 2);
    d[11] = ':';
    memcpy(d + 12, fk_hex2[m[4]], 2);
    d[14] = ':';
    memcpy(d + 15, fk_hex2[m[5]], 2);
    return 17;
}

static void put2(char *d, unsigned v)
{
    d[0] = g_dec2[2 * v];
    d[1] = g_dec2[2 * v + 1];
}

/*
 * fk_buf_time_us's text, "YYYY-MM-DDTHH:MM:SS.uuuuuu" (26 bytes).  The
 * seconds part is kept from the last call of this thread: consecutive times
 * (TIME_FIRST/TIME_LAST, pstats' packet times) mostly share their second.
 * Flows leave the cache in slot order, not time order, so the next row's
 * second is mostly another one; but its day is the same, and the date (the
 * civil calendar's divisions) is kept apart so that only HH:MM:SS is redone.
 */
#define TIME_LEN 26
static inline __attribute__((always_inline)) size_t fmt_time_us(char *o, uint64_t ns)
{
    static _Thread_local uint64_t last_s = UINT64_MAX, last_day = UINT64_MAX;
    static _Thread_local char last[19];
    uint64_t secs = ns / 1000000000ULL;
    unsigned usec = (unsigned)((ns % 1000000000ULL) / 1000);

    if (secs != last_s) {
        uint64_t day = secs / 86400;
        unsigned sod = (unsigned)(secs - day * 86400);
        if (day != last_day) {
            int64_t y;
            unsigned m, d;
            fk_civil_from_days((int64_t)day, &y, &m, &d);
            if (y < 0 || y > 9999)
                y = 9999; /* as buf.c; not reachable for 64-bit ns */
            put2(last, (unsigned)(y / 100));
            put2(last + 2, (unsigned)(y % 100));
            last[4] = '-';
            put2(last + 5, m);
            last[7] = '-';
            put2(last + 8, d);
            last[10] = 'T';
            last[13] = ':';
            last[16] = ':';
            last_day = day;
        }
        put2(last + 11, sod / 3600);
        put2(last + 14, sod / 60 % 60);
        put2(last + 17, sod % 60);
        last_s = secs;
    }
    /* "00uuuuuu" as one word at o + 18, then the seconds over its zeros */
    fk__put_digits8(o + 18, usec);
    memcpy(o, last, 19);
    o[19] = '.';
    return TIME_LEN;
}

/* Widest text of one number or time of type t (the reservation per element). */
static size_t elem_max(fk_ftype_t t)
{
    switch (t) {
    case FK_T_TIME:
    case FK_T_A_TIME:
        return TIME_LEN > FK_FMT_U64_MAX ? TIME_LEN : FK_FMT_U64_MAX;
    default:
        return FK_FMT_U64_MAX + 1; /* int8's '-' */
    }
}

/* One integer or time (array element or scalar) into d; floats are not handled here. */
static inline size_t fmt_elem(char *d, fk_ftype_t t, const uint8_t *p, int time_as_ns)
{
    uint64_t v;

    switch (t) {
    case FK_T_U8:
    case FK_T_A_U8:
        v = *p;
        break;
    case FK_T_I8:
    case FK_T_A_I8: {
        int8_t i = (int8_t)*p;
        if (i >= 0)
            return fmt_u64(d, (uint64_t)i);
        d[0] = '-';
        return 1 + fmt_u64(d + 1, (uint64_t)(-(int)i));
    }
    case FK_T_U16:
    case FK_T_A_U16:
        v = LOAD(uint16_t, p, 0);
        break;
    case FK_T_U32:
    case FK_T_A_U32:
        v = LOAD(uint32_t, p, 0);
        break;
    case FK_T_U64:
    case FK_T_A_U64:
        v = LOAD(uint64_t, p, 0);
        break;
    case FK_T_TIME:
    case FK_T_A_TIME:
        v = LOAD(uint64_t, p, 0);
        if (!time_as_ns)
            return fmt_time_us(d, v);
        break;
    default:
        return 0;
    }
    return fmt_u64(d, v);
}

/* A number of any type: the integer writers, or printf's %f for floats (rare). */
static inline void put_num(fk_buf_t *b, fk_ftype_t t, const uint8_t *p, int time_as_ns)
{
    char *d;

    if (t == FK_T_FLOAT || t == FK_T_DOUBLE) {
        double v = t == FK_T_FLOAT ? (double)LOAD(float, p, 0) : LOAD(double, p, 0);
        size_t n;
        if (!(d = room(b, FK_FMT_F6_MAX)))
            return;
        if ((n = fk_fmt_f6(d, v)) != 0)
            b->len += n;
        else
            fk_buf_printf(b, "%f", v); /* NaN, infinities, huge values */
        return;
    }
    if (!(d = room(b, elem_max(t))))
        return;
    b->len += fmt_elem(d, t, p, time_as_ns);
}

/* An array as open, elements joined by sep, close: "[1|2|3]" or "[1,2,3]". */
static void put_array(fk_buf_t *b, const fk_field_t *f, const void *base, char sep, int time_as_ns)
{
    fk_ftype_t t = (fk_ftype_t)f->type;
    const uint8_t *p = (const uint8_t *)base + f->off;
    size_t es = g_types[t].esize, n = fk_field_count(f, base);
    char *d = room(b, 2 + n * (elem_max(t) + 1)), *o;

    if (!d)
        return;
    o = d;
    *o++ = '[';
    /* One loop per element type, so the type is not dispatched per element
     * (pstats prints four 30-element arrays per flow); same text as
     * fmt_elem's. */
    switch (t) {
    case FK_T_A_U8:
        for (size_t i = 0; i < n; i++) {
            const char *oc = g_octet[p[i]];
            if (i)
                *o++ = sep;
            memcpy(o, oc, 3); /* reserved: elem_max per element */
            o += (size_t)oc[3];
        }
        break;
    case FK_T_A_U16:
        for (size_t i = 0; i < n; i++) {
            if (i)
                *o++ = sep;
            o += fmt_u16(o, LOAD(uint16_t, p, i * 2));
        }
        break;
    case FK_T_A_I8:
        for (size_t i = 0; i < n; i++) {
            int v = (int8_t)p[i];
            if (i)
                *o++ = sep;
            if (v < 0) {
                *o++ = '-';
                v = -v;
            }
            const char *oc = g_octet[v];
            memcpy(o, oc, 3);
            o += (size_t)oc[3];
        }
        break;
    case FK_T_A_TIME:
        if (!time_as_ns) {
            for (size_t i = 0; i < n; i++) {
                if (i)
                    *o++ = sep;
                o += fmt_time_us(o, LOAD(uint64_t, p, i * 8));
            }
            break;
        }
        /* JSON's times are integer nanoseconds */
        /* fall through */
    case FK_T_A_U64:
        for (size_t i = 0; i < n; i++) {
            if (i)
                *o++ = sep;
            o = fk_put_u64(o, LOAD(uint64_t, p, i * 8)); /* FK_U64_ROOM <= elem_max */
        }
        break;
    case FK_T_A_U32: /* phists' histograms */
        for (size_t i = 0; i < n; i++) {
            if (i)
                *o++ = sep;
            o = fk_put_u64(o, LOAD(uint32_t, p, i * 4));
        }
        break;
    default:
        for (size_t i = 0; i < n; i++) {
            if (i)
                *o++ = sep;
            o += fmt_elem(o, t, p + i * es, time_as_ns);
        }
        break;
    }
    *o++ = ']';
    b->len += (size_t)(o - d);
}

static size_t str_len(const fk_field_t *f, const char *s)
{
    if (s[0] == 0)
        return 0; /* empty: the usual case (fields a flow did not fill, zero records) */
    const char *nul = memchr(s, '\0', f->cap);
    return nul ? (size_t)(nul - s) : f->cap;
}

/*
 * A string for CSV (quoted) or text (bare).  The NEMEA logger drops
 * non-printable and non-ASCII bytes; so do we, which also keeps a hostile
 * string from breaking the row.  In CSV a quote is doubled (RFC 4180 and
 * UniRec's CSV).
 */
#define SWAR_ONES  0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL

/*
 * Eight bytes that a CSV (quote = 1) or text (quote = 0) string copies as
 * they are: all printable ASCII (0x20-0x7e), and no '"' in CSV.  Exact
 * per-word tests (Bit Twiddling Hacks "hasless", "hasmore", "haszero").
 */
static inline uint64_t swar_unplain(uint64_t x, int quote)
{
    uint64_t lt = (x - SWAR_ONES * 0x20) & ~x;        /* some byte < 0x20 */
    uint64_t gt = (x + SWAR_ONES * (127 - 0x7e)) | x; /* some byte > 0x7e */
    uint64_t q = x ^ (SWAR_ONES * '"');
    uint64_t eq = quote ? (q - SWAR_ONES) & ~q : 0; /* some byte == '"' */
    return (lt | gt | eq) & SWAR_HIGHS;
}

/*
 * The text of the string at s for CSV (text = 0: quoted, quotes doubled) or
 * text (1: bare) at o (room: 2 * n + 2); returns its end.  With nul = 1 the
 * string ends at its first NUL byte, or at n (a char[n] field, its NUL found
 * in the same pass, no memchr call): a word holding a byte below 0x20, the
 * NUL among them, goes byte by byte, and words are taken at the same
 * offsets either way, so the text is the same.  Reads stay below n.
 */
static inline __attribute__((always_inline)) char *str_text_to(char *o, const unsigned char *s,
                                                               size_t n, int text, int nul)
{
    size_t i = 0;

    if (!text)
        *o++ = '"';
#if defined(__SSE2__)
    /* Sixteen bytes per step while that many remain: a signed compare below
     * 0x20 flags the control bytes and every byte >= 0x80 at once, two
     * equality tests add DEL and (CSV) '"'.  A chunk that holds the NUL
     * after a plain run ends the string as the word step below does; any
     * other flagged chunk is left to the word and byte steps, which take
     * the same bytes at the same offsets.  Stores stay within 2 * n + 2:
     * at most 2 * i + 1 bytes are out when i + 16 <= n. */
    while (n - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                   _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
        if (!text)
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (!m) {
            _mm_storeu_si128((__m128i *)(void *)o, x);
            o += 16;
            i += 16;
            continue;
        }
        if (nul) {
            unsigned k = (unsigned)__builtin_ctz(m);
            if (s[i + k] == 0) { /* bytes 0..k-1 plain: the string ends at k */
                _mm_storeu_si128((__m128i *)(void *)o, x);
                o += k;
                goto end;
            }
        }
        break;
    }
#endif
    /* Plain runs eight bytes at a time; a word with anything else byte by byte. */
    while (i < n) {
        uint64_t x;
        if (n - i >= 8) {
            memcpy(&x, s + i, 8);
            uint64_t bad = swar_unplain(x, !text);
            if (!bad) {
                memcpy(o, &x, 8);
                o += 8;
                i += 8;
                continue;
            }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* The word that ends the string (most strings): its NUL at byte
             * k, and bytes 0..k-1 plain, in one step.  Each of the three
             * tests flags its lowest hit exactly and nothing below it (a
             * borrow or carry only moves upwards), so no flag below k means
             * no hit below k.  The word is stored whole: the bytes from k
             * on are scratch within the 2 * n + 2 reserved. */
            uint64_t z = (x - SWAR_ONES) & ~x & SWAR_HIGHS; /* NUL bytes, lowest exact */
            if (nul && z) {
                unsigned k = (unsigned)__builtin_ctzll(z) >> 3;
                if (!(bad & ((1ULL << (8 * k)) - 1))) {
                    memcpy(o, &x, 8);
                    o += k;
                    goto end;
                }
            }
#endif
        }
        size_t stop = n - i >= 8 ? i + 8 : n;
        for (; i < stop; i++) {
            unsigned char c = s[i];
            if (nul && c == 0)
                goto end;
            if (c >= 0x20 && c < 0x7f) {
                if (c == '"' && !text)
                    *o++ = '"';
                *o++ = (char)c;
            }
        }
    }
end:
    if (!text)
        *o++ = '"';
    return o;
}

static inline void put_str_plain(fk_buf_t *b, const unsigned char *s, size_t n, int text)
{
    char *d = room(b, 2 * n + 2);

    if (d)
        b->len += (size_t)(str_text_to(d, s, n, text, 0) - d);
}

/* A CSV string column straight from its char[cap] (room: 2 * cap + 2). */
static inline char *str_csv_to(char *o, const unsigned char *s, size_t cap)
{
    return str_text_to(o, s, cap, 0, 1);
}

/* What fk_buf_json_str writes: a quoted JSON string, control and non-ASCII bytes \u-escaped. */
static void put_str_json(fk_buf_t *b, const unsigned char *s, size_t n)
{
    char *d = room(b, 6 * n + 2), *o;

    if (!d)
        return;
    o = d;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        switch (c) {
        case '"':
        case '\\':
            *o++ = '\\';
            *o++ = (char)c;
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        default:
            /* Bytes from the wire are not known to be UTF-8: escape them so
             * every line stays valid JSON whatever the packet held. */
            memcpy(o, "\\u00", 4);
            o[4] = g_hex[c >> 4];
            o[5] = g_hex[c & 15];
            o += 6;
        }
    }
    *o++ = '"';
    b->len += (size_t)(o - d);
}

#if defined(__SSE2__)
/* Bytes' nibbles (0..15, high one first per byte) to lower-case hex digits. */
static inline __m128i hex_digits(__m128i nib)
{
    __m128i over = _mm_cmpgt_epi8(nib, _mm_set1_epi8(9)); /* a-f */
    return _mm_add_epi8(_mm_add_epi8(nib, _mm_set1_epi8('0')),
                        _mm_and_si128(over, _mm_set1_epi8('a' - '0' - 10)));
}
#endif

/*
 * Lower-case hex of n bytes at o (2n bytes, exact): 16 and then 8 bytes per
 * step with SSE2 (idpcontent's 100-byte payload prefixes, JA3 hashes), the
 * rest from the two-digit table.
 */
static inline char *hex_to(char *o, const uint8_t *s, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i lo4 = _mm_set1_epi8(0x0f);

    for (; n - i >= 16; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), lo4), lo = _mm_and_si128(x, lo4);
        _mm_storeu_si128((__m128i *)(void *)(o + 2 * i), hex_digits(_mm_unpacklo_epi8(hi, lo)));
        _mm_storeu_si128((__m128i *)(void *)(o + 2 * i + 16),
                         hex_digits(_mm_unpackhi_epi8(hi, lo)));
    }
    if (n - i >= 8) {
        __m128i x = _mm_loadl_epi64((const __m128i *)(const void *)(s + i));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), lo4), lo = _mm_and_si128(x, lo4);
        _mm_storeu_si128((__m128i *)(void *)(o + 2 * i), hex_digits(_mm_unpacklo_epi8(hi, lo)));
        i += 8;
    }
#endif
    return fk_put_hex(o + 2 * i, s + i, n - i);
}

static void put_hex(fk_buf_t *b, const uint8_t *p, size_t n, int quoted)
{
    char *d = room(b, 2 * n + 2), *o;

    if (!d)
        return;
    o = d;
    if (quoted)
        *o++ = '"';
    o = hex_to(o, p, n);
    if (quoted)
        *o++ = '"';
    b->len += (size_t)(o - d);
}

/* MAC or IP, quoted for JSON. */
static void put_addr(fk_buf_t *b, fk_ftype_t t, const uint8_t *p, int quoted)
{
    char *d = room(b, FK_FMT_IP_MAX + 2), *o;

    if (!d)
        return;
    o = d;
    if (quoted)
        *o++ = '"';
    o += t == FK_T_MAC ? fmt_mac(o, p) : fmt_ip(o, p);
    if (quoted)
        *o++ = '"';
    b->len += (size_t)(o - d);
}

size_t fk_field_room(const fk_field_t *f)
{
    fk_ftype_t t = (fk_ftype_t)f->type;

    switch (t) {
    case FK_T_STR:
        return 6 * (size_t)f->cap + 2; /* JSON's \u00XX for every byte */
    case FK_T_BYTES:
        return 2 * (size_t)f->cap + 2;
    case FK_T_MAC:
    case FK_T_IP:
        return FK_FMT_IP_MAX + 2;
    case FK_T_FLOAT:
    case FK_T_DOUBLE:
        return 512; /* fk_buf_printf's block; %f of any double is shorter */
    default:
        if (fk_ftype_is_array(t))
            return 2 + (size_t)f->cap * (elem_max(t) + 1);
        return elem_max(t);
    }
}

/* CSV (text = 0) and text (text = 1). */
static inline __attribute__((always_inline)) void put_plain(fk_buf_t *b, const fk_field_t *f,
                                                            const void *base, int text)
{
    const uint8_t *p = (const uint8_t *)base + f->off;
    fk_ftype_t t = (fk_ftype_t)f->type;

    switch (t) {
    case FK_T_MAC:
    case FK_T_IP:
        put_addr(b, t, p, 0);
        break;
    case FK_T_STR:
        put_str_plain(b, p, str_len(f, (const char *)p), text);
        break;
    case FK_T_BYTES:
        put_hex(b, p, fk_field_count(f, base), 0);
        break;
    default:
        if (fk_ftype_is_array(t))
            put_array(b, f, base, '|', 0);
        else if (t < FK_T_COUNT_)
            put_num(b, t, p, 0);
    }
}

void fk_field_csv(fk_buf_t *b, const fk_field_t *f, const void *base)
{
    put_plain(b, f, base, 0);
}

void fk_fields_csv_row(fk_buf_t *b, const fk_field_t *const *fields, const void *const *bases,
                       const fk_text_t *fixed, size_t n)
{
    char *d;

    for (size_t i = 0; i < n; i++) {
        if (i && (d = room(b, 1)) != NULL) {
            *d = ',';
            b->len++;
        }
        if (bases[i]) {
            put_plain(b, fields[i], bases[i], 0);
        } else if ((d = room(b, fixed[i].n)) != NULL) {
            memcpy(d, fixed[i].s, fixed[i].n);
            b->len += fixed[i].n;
        }
    }
    if ((d = room(b, 1)) != NULL) {
        *d = '\n';
        b->len++;
    }
}

/*
 * How a compiled CSV column is written (fk_csv_seg_t.op): put_plain's case
 * for the field's type, chosen once per plan instead of per row.
 */
enum {
    CSV_OP_END, /* no column: the row's end */
    CSV_OP_U8,
    CSV_OP_U16,
    CSV_OP_U32,
    CSV_OP_U64,
    CSV_OP_TIME,
    CSV_OP_MAC,
    CSV_OP_IP,
    CSV_OP_STR,
    CSV_OP_BYTES,
    CSV_OP_ANY, /* int8, floats, arrays: put_plain itself (rare, or long anyway) */
};

static uint8_t csv_op(fk_ftype_t t)
{
    switch (t) {
    case FK_T_U8:
        return CSV_OP_U8;
    case FK_T_U16:
        return CSV_OP_U16;
    case FK_T_U32:
        return CSV_OP_U32;
    case FK_T_U64:
        return CSV_OP_U64;
    case FK_T_TIME:
        return CSV_OP_TIME;
    case FK_T_MAC:
        return CSV_OP_MAC;
    case FK_T_IP:
        return CSV_OP_IP;
    case FK_T_STR:
        return CSV_OP_STR;
    case FK_T_BYTES:
        return CSV_OP_BYTES;
    default:
        return CSV_OP_ANY;
    }
}

size_t fk_csv_segs_compile(fk_csv_seg_t *seg, size_t nseg, const fk_field_t *const *fields)
{
    size_t row = 0;

    for (size_t i = 0; i < nseg; i++) {
        const fk_field_t *f = seg[i].col >= 0 ? fields[seg[i].col] : NULL;
        /* CSV's worst case: fk_field_room's, but a string's is put_str_plain's
         * (each byte a doubled quote at most), not JSON's \u00XX */
        size_t col = !f ? 0 : f->type == FK_T_STR ? 2 * (size_t)f->cap + 2 : fk_field_room(f);
        seg[i].f = f;
        seg[i].off = f ? f->off : 0;
        seg[i].op = f ? csv_op((fk_ftype_t)f->type) : CSV_OP_END;
        memset(seg[i].pre, 0, sizeof(seg[i].pre));
        if (seg[i].n <= sizeof(seg[i].pre))
            memcpy(seg[i].pre, seg[i].s, seg[i].n);
        if (__builtin_add_overflow(row, (size_t)seg[i].n, &row) ||
            __builtin_add_overflow(row, col, &row))
            return SIZE_MAX;
    }
    /* a short text is stored as a whole word: up to 7 bytes past the last */
    return __builtin_add_overflow(row, sizeof(seg->pre), &row) ? SIZE_MAX : row;
}

/* The row column by column, each column's room checked (no row reservation). */
static void csv_segs_checked(fk_buf_t *b, const void *const *bases, const fk_csv_seg_t *seg,
                             size_t nseg)
{
    char *d;

    for (size_t i = 0; i < nseg; i++) {
        if (seg[i].n && (d = room(b, seg[i].n)) != NULL) {
            memcpy(d, seg[i].s, seg[i].n);
            b->len += seg[i].n;
        }
        if (seg[i].f)
            put_plain(b, seg[i].f, bases[seg[i].base], 0);
    }
}

void fk_fields_csv_segs(fk_buf_t *b, const void *const *bases, const fk_csv_seg_t *seg, size_t nseg,
                        size_t row)
{
    /* A FILE-backed buffer is not grown for a worst case no real row nears:
     * such rows take the checked path (a memory buffer grows anyway). */
    char *o = !b->f || row <= b->cap ? room(b, row) : NULL;

    if (!o) {
        csv_segs_checked(b, bases, seg, nseg);
        return;
    }
    for (size_t i = 0; i < nseg; i++) {
        const fk_csv_seg_t *g = &seg[i];
        const uint8_t *p = (const uint8_t *)bases[g->base] + g->off;
        /* read before the stores below, which the compiler must assume may
         * alias the segment (char stores) */
        uint32_t n = g->n;
        uint8_t op = g->op;

        /* A separator alone mostly, or a short run: one 8-byte store, the
         * bytes past n scratch (the column, or the next text, replaces them). */
        if (n <= sizeof(g->pre))
            memcpy(o, g->pre, sizeof(g->pre));
        else
            memcpy(o, g->s, n);
        o += n;
        /* Each case writes at most its column's share of `row` (reserved
         * above), scratch bytes past its end included. */
        switch (op) {
        case CSV_OP_END:
            break;
        case CSV_OP_U8:
            memcpy(o, g_octet[*p], 4); /* digits, then the length: scratch */
            o += (size_t)g_octet[*p][3];
            break;
        case CSV_OP_U16:
            o += fmt_u16(o, LOAD(uint16_t, p, 0));
            break;
        case CSV_OP_U32:
            o = fk_put_u64(o, LOAD(uint32_t, p, 0));
            break;
        case CSV_OP_U64:
            o = fk_put_u64(o, LOAD(uint64_t, p, 0));
            break;
        case CSV_OP_TIME:
            o += fmt_time_us(o, LOAD(uint64_t, p, 0));
            break;
        case CSV_OP_MAC:
            o += fmt_mac(o, p);
            break;
        case CSV_OP_IP:
            o += fmt_ip(o, p);
            break;
        case CSV_OP_STR:
            if (*p == 0) { /* empty: fields a flow did not fill */
                memcpy(o, "\"\"", 2);
                o += 2;
            } else {
                o = str_csv_to(o, p, g->f->cap);
            }
            break;
        case CSV_OP_BYTES:
            o = hex_to(o, p, fk_field_count(g->f, bases[g->base]));
            break;
        default: /* put_plain's own room check passes: the row's is made */
            b->len = (size_t)(o - b->data);
            put_plain(b, g->f, bases[g->base], 0);
            o = b->data + b->len;
        }
    }
    b->len = (size_t)(o - b->data);
}

void fk_field_text(fk_buf_t *b, const fk_field_t *f, const void *base)
{
    put_plain(b, f, base, 1);
}

void fk_field_json(fk_buf_t *b, const fk_field_t *f, const void *base)
{
    const uint8_t *p = (const uint8_t *)base + f->off;
    fk_ftype_t t = (fk_ftype_t)f->type;

    switch (t) {
    case FK_T_MAC:
    case FK_T_IP:
        put_addr(b, t, p, 1);
        break;
    case FK_T_STR:
        put_str_json(b, p, str_len(f, (const char *)p));
        break;
    case FK_T_BYTES:
        put_hex(b, p, fk_field_count(f, base), 1);
        break;
    case FK_T_FLOAT:
    case FK_T_DOUBLE: {
        /* JSON (RFC 8259 6) has no NaN or infinity: print null, not "nan". */
        double v = t == FK_T_FLOAT ? (double)LOAD(float, p, 0) : LOAD(double, p, 0);
        if (!isfinite(v))
            fk_buf_puts(b, "null");
        else
            put_num(b, t, p, 1);
        break;
    }
    default:
        /* JSON times are integer nanoseconds, as GoFlow2's time_flow_start_ns. */
        if (fk_ftype_is_array(t))
            put_array(b, f, base, ',', 1);
        else if (t < FK_T_COUNT_)
            put_num(b, t, p, 1);
    }
}

/* One field's part of a clear, in the table's order: the bytes it zeroes. */
static inline void clear_span(const fk_field_t *f, uint16_t *off, uint16_t *len)
{
    fk_ftype_t t = (fk_ftype_t)f->type;

    if (t == FK_T_STR) {
        *off = f->off, *len = 1;
    } else if (t == FK_T_BYTES || fk_ftype_is_array(t)) {
        *off = f->cnt_off, *len = sizeof(uint16_t);
    } else {
        *off = f->off, *len = t < FK_T_COUNT_ ? (uint16_t)g_types[t].size : 0;
    }
}

/*
 * A field table's clear, compiled: the bytes fk_record_clear zeroes as runs,
 * sorted and merged (a record's counters usually sit side by side: DNS's
 * eleven fields are one run of 19 bytes).  Plugins clear a record per
 * message, so the table is walked once per thread, not once per message.
 */
#define CLEAR_RUNS_MAX 32 /* a table with more runs is cleared field by field */
typedef struct clear_plan_st {
    const fk_field_t *fields; /* the table compiled; NULL: none yet */
    size_t n;
    unsigned nrun;  /* 0 with fields set: too many runs, field by field */
    unsigned nbyte; /* run[0..nbyte) are single bytes (strings' first) */
    struct {
        uint16_t off, len;
    } run[CLEAR_RUNS_MAX];
} clear_plan_t;

static void clear_compile(clear_plan_t *pl, const fk_field_t *fields, size_t n)
{
    unsigned nr = 0;

    pl->fields = fields;
    pl->n = n;
    for (size_t i = 0; i < n; i++) {
        uint16_t off, len;
        unsigned j;
        clear_span(&fields[i], &off, &len);
        if (len == 0)
            continue;
        /* Insert by offset, merged with the runs it touches or overlaps. */
        uint32_t lo = off, hi = (uint32_t)off + len;
        for (j = 0; j < nr;) {
            uint32_t a = pl->run[j].off, b = a + pl->run[j].len;
            if (b < lo || a > hi) {
                j++;
                continue;
            }
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
            pl->run[j] = pl->run[--nr]; /* absorbed: taken out, looked at again */
            j = 0;
        }
        if (nr == CLEAR_RUNS_MAX || hi - lo > UINT16_MAX) {
            pl->nrun = 0;
            return;
        }
        pl->run[nr].off = (uint16_t)lo;
        pl->run[nr].len = (uint16_t)(hi - lo);
        nr++;
    }
    pl->nrun = nr;
    /* The single bytes to the front (their order is free: runs are disjoint). */
    pl->nbyte = 0;
    for (unsigned j = 0; j < nr; j++) {
        if (pl->run[j].len == 1) {
            __typeof__(pl->run[0]) t = pl->run[pl->nbyte];
            pl->run[pl->nbyte++] = pl->run[j];
            pl->run[j] = t;
        }
    }
}

void fk_record_clear(const fk_field_t *fields, size_t n, void *rec)
{
    /* Per thread, two-way on a hash of the table's address: a table's plan
     * is built on its first clear in each thread and kept (a pure function
     * of the table, which is static const, so an entry can only be
     * replaced, never go stale). */
    static _Thread_local clear_plan_t plans[32];
    size_t h = (size_t)(((uint64_t)(uintptr_t)fields * 0x9E3779B97F4A7C15ULL) >> 60) * 2;
    clear_plan_t *pl = &plans[h];
    uint8_t *r = rec;

    if (pl->fields != fields || pl->n != n) {
        clear_plan_t *alt = &plans[h + 1];
        if (alt->fields == fields && alt->n == n) {
            pl = alt;
        } else {
            if (pl->fields) /* the way held gives way to the newer table */
                *alt = *pl;
            clear_compile(pl, fields, n);
        }
    }
    if (pl->nrun == 0 && n > 0) {
        for (size_t i = 0; i < n; i++) {
            uint16_t off, len;
            clear_span(&fields[i], &off, &len);
            memset(r + off, 0, len);
        }
        return;
    }
    /* Single bytes (strings: most runs) first, a store each; then the rest. */
    for (unsigned j = 0; j < pl->nbyte; j++)
        r[pl->run[j].off] = 0;
    for (unsigned j = pl->nbyte; j < pl->nrun; j++)
        fk_zero_short(r + pl->run[j].off, pl->run[j].len);
}

static int unirec_cmp(const void *a, const void *b)
{
    const fk_field_t *fa = *(const fk_field_t *const *)a;
    const fk_field_t *fb = *(const fk_field_t *const *)b;
    unsigned sa = fk_ftype_sortsize((fk_ftype_t)fa->type);
    unsigned sb = fk_ftype_sortsize((fk_ftype_t)fb->type);

    if (sa != sb) {
        if (sa == 0 || sb == 0)
            return sa == 0 ? 1 : -1; /* variable-size after fixed-size */
        return sa > sb ? -1 : 1;     /* larger first */
    }
    if (sa == 0) {
        /* UniRec gives a variable-size field the size -(element size): strings,
         * bytes and 8-bit arrays -1, uint16* -2, uint32* -4, uint64* and time*
         * -8 (unirec.c ur_field_type_size), so smaller elements come first. */
        unsigned ea = fa->type < FK_T_COUNT_ ? g_types[fa->type].esize : 0;
        unsigned eb = fb->type < FK_T_COUNT_ ? g_types[fb->type].esize : 0;
        if (ea != eb)
            return ea < eb ? -1 : 1;
    }
    return strcmp(fa->name, fb->name);
}

void fk_fields_unirec_sort(const fk_field_t **v, size_t n)
{
    qsort(v, n, sizeof(*v), unirec_cmp);
}
