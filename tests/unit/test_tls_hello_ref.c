/*
 * test_tls_hello_ref.c - JA3 and JA4 (probe/proto/tls_hello.c) against the
 * code they replaced, on 100,000 random ClientHellos.
 *
 * The ref_* functions below are the JA3/JA4 text and digest code of
 * tls_hello.c as of commit 43982fd (per-character accumulator checks, EVP
 * digests), copied unchanged but for the names and the digest context
 * (made for each call here).  The rewritten code must give the same JA3
 * string (whole and cut at any buffer size), the same JA3 MD5 and the same
 * JA4 in both modes (FoxIO and FK_JA4_IPFIXPROBE), for hellos with random
 * cipher and extension lists: GREASE values (RFC 8701), duplicates, empty
 * lists, more values than the accumulators hold, more extensions than
 * FK_TLS_EXT_MAX (the block is walked again), more than JA4's value cap,
 * and extensions whose lengths lie.  Both sides share fk_tls_hello_parse,
 * fk_tls_sni, fk_tls_alpn and fk_tls_ext_next (not rewritten).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/core/cursor.h"
#include "lib/core/field.h"
#include "probe/proto/tls_hello.h"

/* A fresh digest context for each reference call (freed by the caller). */
static EVP_MD_CTX *ref_md(bool md5, EVP_MD_CTX **tmp)
{
    *tmp = EVP_MD_CTX_new();
    if (!*tmp)
        return NULL;
    return EVP_DigestInit_ex(*tmp, md5 ? EVP_md5() : EVP_sha256(), NULL) == 1 ? *tmp : NULL;
}

/* ======================================================================== */
/* Reference: tls_hello.c at 43982fd.                                       */
/* ------------------------------------------------------------------------ */
/* Lists the fingerprints read.                                              */

/* An empty view at p (no arithmetic: p is NULL for an absent extension). */
static fk_cursor_t ref_hello_empty(const uint8_t *p)
{
    fk_cursor_t e = {p, p};
    return e;
}

/* Supported groups (RFC 8422 5.1.1): the named_group_list body, or empty. */
static fk_cursor_t ref_hello_groups(const fk_tls_hello_t *h)
{
    fk_cursor_t e = h->groups, l = {e.p, e.p};
    uint16_t n;

    if ((h->has & FK_TLS_HAS_GROUPS) && fk_cur_be16(&e, &n) && fk_cur_sub(&e, n, &l))
        return l;
    return ref_hello_empty(e.p);
}

/* EC point formats (RFC 8422 5.1.2): the list body, or empty. */
static fk_cursor_t ref_hello_ecpf(const fk_tls_hello_t *h)
{
    fk_cursor_t e = h->ecpf, l = {e.p, e.p};
    uint8_t n;

    if ((h->has & FK_TLS_HAS_ECPF) && fk_cur_u8(&e, &n) && fk_cur_sub(&e, n, &l))
        return l;
    return ref_hello_empty(e.p);
}

/* ClientHello supported_versions (RFC 8446 4.2.1): the versions body, or empty. */
static fk_cursor_t ref_hello_versions(const fk_tls_hello_t *h)
{
    fk_cursor_t e = h->versions, l = {e.p, e.p};
    uint8_t n;

    if ((h->has & FK_TLS_HAS_VERSIONS) && fk_cur_u8(&e, &n) && fk_cur_sub(&e, n, &l))
        return l;
    return ref_hello_empty(e.p);
}

/*
 * signature_algorithms (RFC 8446 4.2.3): the values after the 2-byte list
 * length.  ipfixprobe takes every 16-bit word of the extension and drops the
 * first one, whatever the list length says; FoxIO mode honours the length.
 */
static fk_cursor_t ref_hello_sigalgs(const fk_tls_hello_t *h, bool ipfixprobe)
{
    fk_cursor_t e = h->sigalgs, l = {e.p, e.p};
    uint16_t n;

    if (!(h->has & FK_TLS_HAS_SIGALGS) || !fk_cur_be16(&e, &n))
        return ref_hello_empty(e.p);
    if (ipfixprobe)
        return e;
    if (fk_cur_sub(&e, n, &l))
        return l;
    return ref_hello_empty(e.p);
}

/* ------------------------------------------------------------------------ */
/* JA3.                                                                      */

/*
 * Where JA3 text goes: a bounded string, a digest, or both.  The text is
 * gathered in `acc` and handed on in a few large blocks, not one digest
 * update per number (each EVP_DigestUpdate costs more than the bytes it
 * hashes).
 */
#define ref_JA3_ACC 1024
typedef struct ref_ja3_out_st {
    char *buf;  /* string output, or NULL */
    size_t cap; /* at most this many bytes kept in buf */
    size_t len; /* bytes handed on so far (the full length, as snprintf counts) */
    EVP_MD_CTX *md;
    int err;
    size_t n; /* bytes waiting in acc */
    char acc[ref_JA3_ACC];
} ref_ja3_out_t;

static void ref_ja3_flush(ref_ja3_out_t *o)
{
    if (o->buf && o->len < o->cap) {
        size_t k = o->cap - o->len;
        memcpy(o->buf + o->len, o->acc, o->n < k ? o->n : k);
    }
    if (o->md && o->n && EVP_DigestUpdate(o->md, o->acc, o->n) != 1)
        o->err = 1;
    o->len += o->n;
    o->n = 0;
}

static inline void ref_ja3_char(ref_ja3_out_t *o, char c)
{
    if (o->n == sizeof(o->acc))
        ref_ja3_flush(o);
    o->acc[o->n++] = c;
}

/* "00".."99": two digits per entry. */
static const char ref_ja3_d2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/*
 * A 16-bit value in decimal, straight into acc: two digits per table entry
 * (divisions by constants are multiplies), no digit loop.  A JA3 text is
 * a hundred or so of these numbers, one per cipher, extension and group.
 */
static inline __attribute__((always_inline)) void ref_ja3_num(ref_ja3_out_t *o, unsigned v)
{
    char *d;

    if (o->n + 5 > sizeof(o->acc))
        ref_ja3_flush(o);
    d = o->acc + o->n;
    v &= 0xffff;
    if (v < 10) {
        d[0] = (char)('0' + v);
        o->n += 1;
    } else if (v < 100) {
        memcpy(d, ref_ja3_d2 + 2 * v, 2);
        o->n += 2;
    } else if (v < 1000) {
        d[0] = (char)('0' + v / 100);
        memcpy(d + 1, ref_ja3_d2 + 2 * (v % 100), 2);
        o->n += 3;
    } else if (v < 10000) {
        memcpy(d, ref_ja3_d2 + 2 * (v / 100), 2);
        memcpy(d + 2, ref_ja3_d2 + 2 * (v % 100), 2);
        o->n += 4;
    } else {
        d[0] = (char)('0' + v / 10000);
        v %= 10000;
        memcpy(d + 1, ref_ja3_d2 + 2 * (v / 100), 2);
        memcpy(d + 3, ref_ja3_d2 + 2 * (v % 100), 2);
        o->n += 5;
    }
}

/*
 * A '-' separated list of 16-bit (wide) or 8-bit values, GREASE dropped when
 * asked.  Read straight from the cursor's bytes: whole values only, as far
 * as the cursor reaches (a trailing odd byte of a wide list is ignored).
 */
static void ref_ja3_list(ref_ja3_out_t *o, fk_cursor_t l, bool wide, bool nogrease)
{
    const uint8_t *p = l.p;
    size_t left = fk_cur_left(&l), step = wide ? 2 : 1;
    bool first = true;

    for (size_t i = 0; left - i >= step; i += step) {
        uint16_t v = wide ? (uint16_t)((uint16_t)p[i] << 8 | p[i + 1]) : p[i];
        if (nogrease && fk_tls_is_grease(v))
            continue;
        if (!first)
            ref_ja3_char(o, '-');
        ref_ja3_num(o, v);
        first = false;
    }
}

static void ref_ja3_emit(const fk_tls_hello_t *h, ref_ja3_out_t *o)
{
    fk_cursor_t x = h->exts, body;
    uint16_t type;
    bool first = true;

    ref_ja3_num(o, h->version);
    ref_ja3_char(o, ',');
    if (h->type == FK_TLS_CLIENT_HELLO)
        ref_ja3_list(o, h->ciphers, true, true);
    ref_ja3_char(o, ',');
    /* The parse kept every extension type when there are few (the usual
     * case): read them there rather than walking the block again. */
    for (size_t i = 0; h->n_ext == h->n_kept ? i < h->n_kept : fk_tls_ext_next(&x, &type, &body);
         i++) {
        if (h->n_ext == h->n_kept)
            type = h->ext_type[i];
        if (fk_tls_is_grease(type))
            continue;
        if (!first)
            ref_ja3_char(o, '-');
        ref_ja3_num(o, type);
        first = false;
    }
    ref_ja3_char(o, ',');
    ref_ja3_list(o, ref_hello_groups(h), true, true);
    ref_ja3_char(o, ',');
    ref_ja3_list(o, ref_hello_ecpf(h), false, false);
    ref_ja3_flush(o);
}

static size_t ref_ja3_string(const fk_tls_hello_t *h, char *out, size_t cap)
{
    ref_ja3_out_t o;

    o.buf = out;
    o.cap = cap ? cap - 1 : 0;
    o.len = 0;
    o.md = NULL;
    o.err = 0;
    o.n = 0;

    ref_ja3_emit(h, &o);
    if (cap)
        out[o.len < cap - 1 ? o.len : cap - 1] = 0;
    return o.len;
}

static int ref_ja3_md5(const fk_tls_hello_t *h, uint8_t out[16])
{
    EVP_MD_CTX *tmp, *md = ref_md(true, &tmp);
    ref_ja3_out_t o;
    unsigned n = 0;
    int rc = -1;

    o.buf = NULL;
    o.cap = o.len = 0;
    o.md = md;
    o.err = 0;
    o.n = 0;
    if (md && EVP_DigestInit_ex2(md, NULL, NULL) == 1) {
        ref_ja3_emit(h, &o);
        if (!o.err && EVP_DigestFinal_ex(md, out, &n) == 1 && n == 16)
            rc = 0;
    }
    EVP_MD_CTX_free(tmp);
    if (rc)
        memset(out, 0, 16);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* JA4.                                                                      */

/* More values than any real hello has; beyond it a hostile list is cut (and stays safe). */
#define ref_JA4_MAX_VALUES 1024

static int ref_ja4_cmp(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

/* Ascending order: insertion sort for the usual short lists, qsort past that. */
static void ref_ja4_sort(uint16_t *v, size_t n)
{
    if (n > 64) {
        qsort(v, n, sizeof(v[0]), ref_ja4_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint16_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static const char *ref_ja4_version_label(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "13";
    case 0x0303:
        return "12";
    case 0x0302:
        return "11";
    case 0x0301:
        return "10";
    case 0x0300:
        return "s3";
    case 0x0002:
        return "s2";
    case 0xfeff:
        return "d1";
    case 0xfefd:
        return "d2";
    case 0xfefc:
        return "d3";
    default:
        return "00";
    }
}

static bool ref_ja4_alnum(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

/* ipfixprobe's ALPN character: the byte if alphanumeric, else a nibble (see the top). */
static char ref_ja4_alpn_char_ipfixprobe(uint8_t byte, bool high)
{
    if (ref_ja4_alnum(byte))
        return (char)byte;
    int8_t sb = (int8_t)byte;
    uint8_t nibble = high ? (uint8_t)(sb >> 4) : (uint8_t)(sb & 0x0f);
    return nibble < 10 ? (char)('0' + nibble) : (char)(uint8_t)('A' + nibble - 10);
}

/*
 * JA4 hash text on its way to a digest: gathered here and handed on in as
 * few updates as it takes (usually one per hash: each EVP_DigestUpdate
 * costs more than the few dozen bytes it hashes).
 */
typedef struct ref_ja4_text_st {
    EVP_MD_CTX *md;
    bool ok;  /* every update so far succeeded */
    size_t k; /* bytes waiting in t */
    char t[5 * 128];
} ref_ja4_text_t;

static void ref_ja4_flush(ref_ja4_text_t *x)
{
    if (x->k && EVP_DigestUpdate(x->md, x->t, x->k) != 1)
        x->ok = false;
    x->k = 0;
}

/* "xxxx,yyyy,..." (lower-case hex, in the order given) of n values. */
static void ref_ja4_list(ref_ja4_text_t *x, const uint16_t *v, size_t n)
{
    /* Lower-case hex of every byte value, two characters each. */
    static const char hx[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                             "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                             "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
                             "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                             "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                             "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                             "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                             "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

    for (size_t i = 0; i < n; i++) {
        if (x->k + 5 > sizeof(x->t))
            ref_ja4_flush(x);
        if (i)
            x->t[x->k++] = ',';
        memcpy(x->t + x->k, hx + 2 * (v[i] >> 8), 2);
        memcpy(x->t + x->k + 2, hx + 2 * (v[i] & 0xff), 2);
        x->k += 4;
    }
}

/*
 * SHA-256 of list1 ["_" list2], the first 6 bytes in lower-case hex into
 * out[12] (no NUL).  The text goes to the digest in blocks, never built whole.
 */
static int ref_ja4_hash12(EVP_MD_CTX *md, const uint16_t *a, size_t na, bool sep, const uint16_t *b,
                          size_t nb, char *out)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    ref_ja4_text_t x;

    if (EVP_DigestInit_ex2(md, NULL, NULL) != 1)
        return -1;
    x.md = md;
    x.ok = true;
    x.k = 0;
    ref_ja4_list(&x, a, na);
    if (sep) {
        if (x.k == sizeof(x.t))
            ref_ja4_flush(&x);
        x.t[x.k++] = '_';
        ref_ja4_list(&x, b, nb);
    }
    ref_ja4_flush(&x);
    if (!x.ok || EVP_DigestFinal_ex(md, d, &dn) != 1 || dn < 6)
        return -1;
    for (int i = 0; i < 6; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    return 0;
}

static int ref_ja4(const fk_tls_hello_t *h, char proto, unsigned flags,
                   char out[FK_TLS_JA4_LEN + 1])
{
    const bool ipx = (flags & FK_JA4_IPFIXPROBE) != 0;
    uint16_t cs[ref_JA4_MAX_VALUES], ex[ref_JA4_MAX_VALUES], sa[ref_JA4_MAX_VALUES];
    size_t ncs = 0, nex = 0, nsa = 0, ncount = 0;
    fk_cursor_t l, body;
    uint16_t v, type;
    int rc = -1;

    memset(out, 0, FK_TLS_JA4_LEN + 1);

    /* Ciphers without GREASE; extension count; extensions for the hash. */
    l = h->ciphers;
    while (h->type == FK_TLS_CLIENT_HELLO && fk_cur_be16(&l, &v))
        if (!fk_tls_is_grease(v) && ncs < ref_JA4_MAX_VALUES)
            cs[ncs++] = v;
    l = h->exts;
    /* As in ref_ja3_emit: the parse's list of types when it holds them all. */
    for (size_t i = 0; h->n_ext == h->n_kept ? i < h->n_kept : fk_tls_ext_next(&l, &type, &body);
         i++) {
        if (h->n_ext == h->n_kept)
            type = h->ext_type[i];
        if (fk_tls_is_grease(type)) {
            ncount += ipx; /* ipfixprobe counts every extension */
            continue;
        }
        ncount++;
        if (type != FK_TLS_EXT_SERVER_NAME && type != FK_TLS_EXT_ALPN && nex < ref_JA4_MAX_VALUES)
            ex[nex++] = type;
    }
    l = ref_hello_sigalgs(h, ipx);
    while (fk_cur_be16(&l, &v))
        if ((ipx || !fk_tls_is_grease(v)) && nsa < ref_JA4_MAX_VALUES)
            sa[nsa++] = v;

    /* Version: the highest supported_versions entry without GREASE, else legacy_version. */
    uint16_t ver = h->version;
    bool have = false;
    l = ref_hello_versions(h);
    while (fk_cur_be16(&l, &v)) {
        if (fk_tls_is_grease(v))
            continue;
        if (!have || (ipx ? (int16_t)v > (int16_t)ver : v > ver))
            ver = v;
        have = true;
    }

    /* SNI: "d" for a domain, "i" when there is none. */
    const uint8_t *name;
    size_t nlen;
    char sni;
    if (ipx)
        sni = fk_tls_sni(h, 65535, &name, &nlen) ? 'd' : 'i';
    else
        sni = (h->has & FK_TLS_HAS_SNI) ? 'd' : 'i';

    /* ALPN: first and last character of the first protocol, "00" without one. */
    char alpn[3] = "00";
    if (fk_tls_alpn(h, 255, &name, &nlen) && name && nlen) {
        uint8_t f = name[0], e = name[nlen - 1];
        static const char hex[] = "0123456789abcdef";
        if (ipx) {
            alpn[0] = ref_ja4_alpn_char_ipfixprobe(f, true);
            alpn[1] = ref_ja4_alpn_char_ipfixprobe(e, false);
        } else if (ref_ja4_alnum(f) && ref_ja4_alnum(e)) {
            alpn[0] = (char)f;
            alpn[1] = (char)e;
        } else {
            alpn[0] = hex[f >> 4];
            alpn[1] = hex[e & 15];
        }
    }

    /* "t13d1516h2_": the counts zero-padded to two digits (FoxIO) or not (ipfixprobe). */
    size_t nc = ncs > 99 ? 99 : ncs, ne = ncount > 99 ? 99 : ncount;
    const char *vl = ref_ja4_version_label(ver);
    size_t n = 0;
    out[n++] = proto;
    out[n++] = vl[0];
    out[n++] = vl[1];
    out[n++] = sni;
    if (!ipx && nc < 10)
        out[n++] = '0';
    n += fk_fmt_u64(out + n, nc);
    if (!ipx && ne < 10)
        out[n++] = '0';
    n += fk_fmt_u64(out + n, ne);
    out[n++] = alpn[0];
    out[n++] = alpn[1];
    out[n++] = '_';
    /* at most 11 characters: the two hashes and their '_' still fit */

    EVP_MD_CTX *tmp, *md = ref_md(false, &tmp);
    if (!md)
        goto done;

    /* Cipher hash: sorted hex list, or twelve zeros without ciphers. */
    ref_ja4_sort(cs, ncs);
    if (ncs == 0)
        memset(out + n, '0', 12);
    else if (ref_ja4_hash12(md, cs, ncs, false, NULL, 0, out + n) < 0)
        goto done;
    out[n + 12] = '_';

    /* Extension hash: sorted extensions "_" signature algorithms in wire order. */
    ref_ja4_sort(ex, nex);
    if (nex == 0 && !ipx)
        memset(out + n + 13, '0', 12);
    else if (ref_ja4_hash12(md, ex, nex, ipx || nsa, sa, nsa, out + n + 13) < 0)
        goto done;
    out[n + 25] = 0;
    rc = 0;
done:
    EVP_MD_CTX_free(tmp);
    if (rc)
        memset(out, 0, FK_TLS_JA4_LEN + 1);
    return rc;
}

/* ======================================================================== */
/* Random ClientHellos.                                                     */

static uint64_t g_rng = 0x243f6a8885a308d3ull;

static uint32_t rnd(void)
{
    /* xorshift64*: reproducible, so a failure can be replayed by its index */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t below(uint32_t n)
{
    return n ? rnd() % n : 0;
}

/* A 16-bit list value: GREASE, small, a repeat of the previous one, or any. */
static uint16_t rnd_val(uint16_t prev)
{
    switch (below(8)) {
    case 0:
        return (uint16_t)(0x0a0a + 0x1010 * below(16)); /* RFC 8701 GREASE */
    case 1:
        return (uint16_t)below(10);
    case 2:
        return (uint16_t)below(1000);
    case 3:
        return prev;
    default:
        return (uint16_t)rnd();
    }
}

typedef struct wr_st {
    uint8_t *b;
    size_t n, cap;
} wr_t;

static void w8(wr_t *w, unsigned v)
{
    assert_true(w->n < w->cap);
    w->b[w->n++] = (uint8_t)v;
}

static void w16(wr_t *w, unsigned v)
{
    w8(w, v >> 8);
    w8(w, v & 0xff);
}

static void w16_at(wr_t *w, size_t at, size_t v)
{
    w->b[at] = (uint8_t)(v >> 8);
    w->b[at + 1] = (uint8_t)v;
}

/* How many values a list gets: none, a few, many, or (rarely) a lot. */
static size_t rnd_count(size_t most)
{
    switch (below(64)) {
    case 0:
    case 1:
    case 2:
    case 3:
        return 0;
    case 4:
        return below((uint32_t)most + 1);
    case 5:
    case 6:
    case 7:
    case 8:
        return below(1300); /* past the 1024-byte JA3 and 640-byte JA4 buffers, JA4's cap */
    default:
        return below(40);
    }
}

/* A vector of 16-bit values behind a 16-bit byte length. */
static void w_list16(wr_t *w, size_t n)
{
    uint16_t v = 0;
    w16(w, (unsigned)(2 * n));
    for (size_t i = 0; i < n; i++)
        w16(w, v = rnd_val(v));
}

/* A name: letters and digits mostly, else any byte (ALPN, SNI). */
static void w_name(wr_t *w, size_t n)
{
    static const char an[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    bool any = below(3) == 0;
    for (size_t i = 0; i < n; i++)
        w8(w, any ? rnd() : (uint8_t)an[below(sizeof(an) - 1)]);
}

static void w_ext(wr_t *w)
{
    static const uint16_t types[] = {0,  10, 11,     13,     16, 43, 0x39, 0xffa5,
                                     23, 51, 0x0a0a, 0xfafa, 21, 5,  65281};
    uint16_t type = below(5) == 0 ? (uint16_t)rnd() : types[below(sizeof(types) / 2)];
    size_t at, start, n;

    w16(w, type);
    at = w->n;
    w16(w, 0);
    start = w->n;
    switch (type) {
    case 0: /* server_name list (RFC 6066 3) */
        w16(w, 0);
        for (n = below(4); n > 0; n--) {
            size_t len = below(8) == 0 ? below(300) : below(30);
            w8(w, below(4) ? 0 : rnd());
            w16(w, (unsigned)len);
            w_name(w, len);
        }
        w16_at(w, start, w->n - start - 2);
        break;
    case 10: /* supported_groups */
    case 13: /* signature_algorithms */
        w_list16(w, rnd_count(3000));
        if (below(6) == 0)
            w8(w, rnd()); /* an odd byte past the list */
        break;
    case 11: /* ec_point_formats: 8-bit length and values */
        n = below(8) == 0 ? 255 : below(6);
        w8(w, (unsigned)n);
        for (size_t i = 0; i < n; i++)
            w8(w, rnd());
        break;
    case 16: /* ALPN (RFC 7301 3.1) */
        w16(w, 0);
        for (n = below(4); n > 0; n--) {
            size_t len = below(12) == 0 ? below(256) : below(10);
            w8(w, (unsigned)len);
            w_name(w, len);
        }
        w16_at(w, start, w->n - start - 2);
        break;
    case 43: { /* supported_versions (RFC 8446 4.2.1) */
        static const uint16_t vs[] = {0x0304, 0x0303, 0x0302, 0x0301, 0x0300, 0x0002,
                                      0xfeff, 0xfefd, 0xfefc, 0x7f1c, 0x8304, 0x0a0a};
        n = below(8);
        w8(w, (unsigned)(2 * n));
        for (size_t i = 0; i < n; i++)
            w16(w, below(4) ? vs[below(sizeof(vs) / 2)] : (uint16_t)rnd());
        break;
    }
    default:
        for (n = below(20); n > 0; n--)
            w8(w, rnd());
    }
    /* Sometimes the list or extension length inside lies. */
    if (below(40) == 0 && w->n - start >= 2)
        w16_at(w, start, rnd() & 0xffff);
    w16_at(w, at, w->n - start);
}

/*
 * A random ClientHello with its handshake header, in out (cap bytes);
 * returns its length.  Lengths of the message and of the extensions block
 * are right (the parse then reads it), except now and then one that lies.
 */
static size_t rnd_hello(uint8_t *out, size_t cap)
{
    wr_t w = {out, 0, cap};
    size_t n, ext_at;

    w8(&w, FK_TLS_CLIENT_HELLO);
    w8(&w, 0), w16(&w, 0); /* length, below */
    w16(&w, below(4) ? 0x0303 : 0x0300 + below(5));
    for (int i = 0; i < 32; i++)
        w8(&w, rnd());
    n = below(33);
    w8(&w, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        w8(&w, rnd());
    n = below(2000) == 0 ? 32767 : rnd_count(3000); /* 32767: the largest cipher_suites */
    w_list16(&w, n);
    w8(&w, 1), w8(&w, 0);
    if (below(20)) {
        ext_at = w.n;
        w16(&w, 0);
        switch (below(8)) {
        case 0:
            n = FK_TLS_EXT_MAX + below(3) - 1; /* around the parse's kept list */
            break;
        case 1:
            n = below(200); /* many: JA3 and JA4 walk the block */
            break;
        default:
            n = below(25);
        }
        for (; n > 0 && w.n + 8192 < cap; n--)
            w_ext(&w);
        w16_at(&w, ext_at, w.n - ext_at - 2);
    }
    n = w.n - 4;
    out[1] = (uint8_t)(n >> 16), out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n;
    return w.n;
}

/* ======================================================================== */
/* Tests.                                                                   */

static uint8_t g_hello[1 << 20];
static char g_s[1 << 20], g_r[1 << 20];

static void test_ja3_ja4_equal_reference(void **state)
{
    (void)state;
    size_t ok = 0, walked = 0, capped = 0;

    for (unsigned i = 0; i < 100000; i++) {
        fk_tls_hello_t h;
        size_t n = rnd_hello(g_hello, sizeof(g_hello));
        if (fk_tls_hello_parse(&h, g_hello, n, false) != FK_TLS_OK)
            continue;
        ok++;
        walked += h.n_ext > h.n_kept;
        capped += fk_cur_left(&h.ciphers) > 2 * 1024;

        /* JA3 text, whole and cut at a random size (snprintf's rules). */
        size_t a = fk_tls_ja3_string(&h, g_s, sizeof(g_s));
        size_t b = ref_ja3_string(&h, g_r, sizeof(g_r));
        if (a != b || strcmp(g_s, g_r) != 0)
            fail_msg("hello %u: JA3 \"%.200s\" != reference \"%.200s\"", i, g_s, g_r);
        size_t cut = below((uint32_t)a + 2) + 1;
        assert_int_equal(fk_tls_ja3_string(&h, g_s, cut), ref_ja3_string(&h, g_r, cut));
        assert_string_equal(g_s, g_r);

        uint8_t m0[16], m1[16];
        assert_int_equal(fk_tls_ja3_md5(&h, m0), 0);
        assert_int_equal(ref_ja3_md5(&h, m1), 0);
        if (memcmp(m0, m1, 16) != 0)
            fail_msg("hello %u: JA3 MD5 differs from the reference", i);

        for (unsigned f = 0; f < 2; f++) {
            char j0[FK_TLS_JA4_LEN + 1], j1[FK_TLS_JA4_LEN + 1];
            char proto = "tqd"[below(3)];
            assert_int_equal(fk_tls_ja4(&h, proto, f, j0), 0);
            assert_int_equal(ref_ja4(&h, proto, f, j1), 0);
            if (memcmp(j0, j1, sizeof(j0)) != 0)
                fail_msg("hello %u flags %u: JA4 %s != reference %s", i, f, j0, j1);
        }
    }
    /* The generator must reach what it is for. */
    print_message(
        "%zu of 100000 hellos parsed; %zu walked past FK_TLS_EXT_MAX, %zu past JA4's cap\n", ok,
        walked, capped);
    assert_true(ok > 90000);
    assert_true(walked > 1000);
    assert_true(capped > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ja3_ja4_equal_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
