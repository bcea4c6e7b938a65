/*
 * test_plugin_tls.c - the tls plugin and its hello reader (probe/proto/
 * tls_hello.c), driven through the real packet parser and flow cache with
 * crafted ClientHellos and ServerHellos: exact SNI, ALPN, version, JA3 and
 * JA4 values (the fingerprints recomputed here from hand-written JA3/JA4_r
 * strings with OpenSSL's one-shot digests); the update rules (a second
 * ClientHello, a ServerHello before any ClientHello, nothing after the
 * ServerHello); reassembly of a hello split over TCP segments (in order, with
 * retransmissions, gaps, cut captures, buffer reuse); and hostile input:
 * truncation at every length, lengths that lie in every vector, oversized
 * names and lists, random bytes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "tests/common/frame4.h"
#include "probe/plugin.h"
#include "probe/proto/tls_hello.h"

#define SEC    1000000000ULL
#define MAXF   320
#define MAXREC 1024

#include "tests/common/plugintest.h"

/* ------------------------------------------------------------------------ */
/* Building hellos.                                                          */

#define BLD_CAP 70000
#include "tests/common/bytebuild.h"

typedef struct ext_st {
    uint16_t type;
    const uint8_t *data;
    size_t len;
} ext_t;

/*
 * A TLSPlaintext record (when `record`) holding one hello: ClientHello with
 * `nc` cipher suites, or ServerHello with cipher ciphers[0]; extensions in
 * order (none and no block when ne == SIZE_MAX).
 */
static size_t hello(uint8_t *out, size_t cap, uint8_t type, uint16_t version,
                    const uint16_t *ciphers, size_t nc, const ext_t *ext, size_t ne, bool record)
{
    static bld_t w;
    size_t rec = 0, hs;

    w.n = 0;
    if (record) {
        put8(&w, 22);
        put16(&w, 0x0301);
        rec = len16(&w);
    }
    put8(&w, type);
    hs = w.n;
    put8(&w, 0);
    put16(&w, 0); /* 24-bit length, filled below */
    put16(&w, version);
    for (int i = 0; i < 32; i++)
        put8(&w, i); /* random */
    put8(&w, 4);
    putn(&w, "\x01\x02\x03\x04", 4); /* session id */
    if (type == 1) {
        put16(&w, (unsigned)(2 * nc));
        for (size_t i = 0; i < nc; i++)
            put16(&w, ciphers[i]);
        put8(&w, 1);
        put8(&w, 0); /* null compression */
    } else {
        put16(&w, ciphers[0]);
        put8(&w, 0);
    }
    if (ne != SIZE_MAX) {
        size_t el = len16(&w);
        for (size_t i = 0; i < ne; i++) {
            put16(&w, ext[i].type);
            put16(&w, (unsigned)ext[i].len);
            putn(&w, ext[i].data, ext[i].len);
        }
        len16_end(&w, el);
    }
    size_t hl = w.n - hs - 3;
    w.b[hs] = (uint8_t)(hl >> 16);
    w.b[hs + 1] = (uint8_t)(hl >> 8);
    w.b[hs + 2] = (uint8_t)hl;
    if (record)
        len16_end(&w, rec);
    assert_true(w.n <= cap);
    memcpy(out, w.b, w.n);
    return w.n;
}

/* server_name body with the given names (host_name type). */
static size_t sni_body(uint8_t *out, const char *const *names, size_t n)
{
    bld_t *w = calloc(1, sizeof(*w));
    size_t l = len16(w);
    for (size_t i = 0; i < n; i++) {
        put8(w, 0);
        put16(w, (unsigned)strlen(names[i]));
        putn(w, names[i], strlen(names[i]));
    }
    len16_end(w, l);
    size_t r = w->n;
    memcpy(out, w->b, r);
    free(w);
    return r;
}

/* ALPN body (RFC 7301 3.1). */
static size_t alpn_body(uint8_t *out, const char *const *protos, size_t n)
{
    bld_t *w = calloc(1, sizeof(*w));
    size_t l = len16(w);
    for (size_t i = 0; i < n; i++) {
        put8(w, (unsigned)strlen(protos[i]));
        putn(w, protos[i], strlen(protos[i]));
    }
    len16_end(w, l);
    size_t r = w->n;
    memcpy(out, w->b, r);
    free(w);
    return r;
}

/* The reference ClientHello: GREASE, SNI, groups, formats, sigalgs, ALPN, versions. */
static uint8_t g_sni[2048], g_alpn[512];
static const uint8_t g_groups[] = {0, 6, 0x2a, 0x2a, 0x00, 0x1d, 0x00, 0x17};
static const uint8_t g_ecpf[] = {1, 0};
static const uint8_t g_sigalgs[] = {0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01};
static const uint8_t g_versions[] = {6, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03};
static const uint8_t g_keyshare[] = {0, 4, 0, 0x1d, 0, 0};
static const uint8_t g_zero10[10];
static const uint16_t g_ciphers[] = {0x0a0a, 0x1301, 0x1302, 0xc02b, 0xc02f};

static size_t client_hello(uint8_t *out, size_t cap, const char *sni, const char *alpn1)
{
    const char *names[] = {sni};
    const char *protos[] = {alpn1, "http/1.1"};
    size_t ns = sni_body(g_sni, names, 1);
    size_t na = alpn_body(g_alpn, protos, 2);
    const ext_t ext[] = {
        {0x1a1a, NULL, 0},
        {0, g_sni, ns},
        {23, NULL, 0},
        {10, g_groups, sizeof(g_groups)},
        {11, g_ecpf, sizeof(g_ecpf)},
        {13, g_sigalgs, sizeof(g_sigalgs)},
        {16, g_alpn, na},
        {43, g_versions, sizeof(g_versions)},
        {51, g_keyshare, sizeof(g_keyshare)},
        {0x4a4a, g_zero10, 1},
        {21, g_zero10, sizeof(g_zero10)},
    };
    return hello(out, cap, 1, 0x0303, g_ciphers, 5, ext, sizeof(ext) / sizeof(ext[0]), true);
}

static size_t server_hello(uint8_t *out, size_t cap, const char *alpn, uint16_t selected)
{
    static const uint16_t cs[] = {0x1301};
    const char *protos[] = {alpn};
    uint8_t sv[2] = {(uint8_t)(selected >> 8), (uint8_t)selected};
    size_t na = alpn ? alpn_body(g_alpn, protos, 1) : 0;
    ext_t ext[2];
    size_t ne = 0;
    if (selected)
        ext[ne++] = (ext_t){43, sv, 2};
    if (alpn)
        ext[ne++] = (ext_t){16, g_alpn, na};
    return hello(out, cap, 2, 0x0303, cs, 1, ext, ne, true);
}

/* The reference hello's expected fingerprints, from hand-written raw strings. */
static const char *g_ja3 = "771,4865-4866-49195-49199,0-23-10-11-13-16-43-51-21,29-23,0";
static const char *g_ja4_ciphers = "1301,1302,c02b,c02f";
static const char *g_ja4_exts = "000a,000b,000d,0015,0017,002b,0033_0403,0804,0401";

static void sha12(const char *s, char out[13])
{
    uint8_t d[32];
    unsigned n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 6; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void expect_ja4(char *out, size_t cap, const char *prefix, const char *ciphers,
                       const char *exts)
{
    char a[13], b[13];
    sha12(ciphers, a);
    sha12(exts, b);
    snprintf(out, cap, "%s_%s_%s", prefix, a, b);
}

static void md5hex(const char *s, char out[33])
{
    uint8_t d[16];
    unsigned n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL), 1);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ------------------------------------------------------------------------ */
/* Driving the cache.                                                        */

static fp_cache_t *start(const char *arg)
{
    fp_cache_cfg_t cfg;
    fp_cache_cfg_default(&cfg);
    cfg.size_exp = 14; /* room for the tests' flows, quick to set up */
    return pt_start_cfg(arg, collect, &cfg);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/*
 * A raw IPv4 frame 10.0.0.1:port <-> 10.0.0.2:443 (TCP, or UDP when `udp`)
 * carrying `pay` with TCP sequence number `seq`; only `cap` bytes captured
 * when cap != 0.
 */
static void put_pkt(fp_cache_t *c, int fwd, uint16_t port, bool udp, uint32_t seq, const void *pay,
                    size_t n, size_t cap, uint64_t t)
{
    static uint8_t f[PT_FRAME4_MAX];
    uint8_t proto = udp ? 17 : 6, flags = FK_TCP_ACK | FK_TCP_PSH;
    size_t total = fwd ? pt_frame4(f, 1, port, 2, 443, proto, flags, seq, pay, n, 0)
                       : pt_frame4(f, 2, 443, 1, port, proto, flags, seq, pay, n, 0);

    assert_true(pt_send4(c, f, total, cap, t));
}

static void put(fp_cache_t *c, int fwd, const void *pay, size_t n, uint64_t t)
{
    put_pkt(c, fwd, 40000, false, fwd ? 1000 : 5000, pay, n, 0, t);
}

/* ------------------------------------------------------------------------ */
/* Tests.                                                                    */

static uint8_t g_ch[70000], g_sh[4096];

/* ClientHello then ServerHello: every field, exactly. */
static void test_tls_handshake(void **state)
{
    (void)state;
    char want[64], md5[33];
    size_t n = client_hello(g_ch, sizeof(g_ch), "example.com", "h2");
    size_t m = server_hello(g_sh, sizeof(g_sh), "h2", 0x0304);
    fp_cache_t *c = start("tls");

    put(c, 1, g_ch, n, 1 * SEC);
    put(c, 0, g_sh, m, 1 * SEC + 1);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "TLS_VERSION"), 0x0304); /* the ServerHello's selection */
    assert_string_equal(csv_text(0, "TLS_SNI"), "example.com");
    assert_string_equal(csv_text(0, "TLS_ALPN"), "h2");
    md5hex(g_ja3, md5);
    assert_string_equal(csv(0, "TLS_JA3"), md5);
    expect_ja4(want, sizeof(want), "t13d411h2", g_ja4_ciphers, g_ja4_exts);
    assert_string_equal(csv_text(0, "TLS_JA4"), want);
    assert_string_equal(csv(0, "TLS_EXT_TYPE"), "[6682|0|23|10|11|13|16|43|51|19018|21]");
    assert_string_equal(csv(0, "TLS_EXT_LEN"), "[0|16|0|8|2|8|14|7|6|1|10]");
}

/* ja4=foxio: FoxIO's JA4 (GREASE not counted, zero-padded counts). */
static void test_tls_ja4_foxio(void **state)
{
    (void)state;
    char want[64];
    size_t n = client_hello(g_ch, sizeof(g_ch), "example.com", "h2");
    fp_cache_t *c = start("tls;ja4=foxio");

    put(c, 1, g_ch, n, 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    expect_ja4(want, sizeof(want), "t13d0409h2", g_ja4_ciphers, g_ja4_exts);
    assert_string_equal(csv_text(0, "TLS_JA4"), want);
    assert_int_equal(u64(0, "TLS_VERSION"), 0x0303); /* no ServerHello */
    assert_string_equal(csv_text(0, "TLS_ALPN"), "");
}

/* The hello reader and fingerprints on their own, including the JA3 string. */
static void test_tls_hello_reader(void **state)
{
    (void)state;
    fk_tls_hello_t h;
    char s[256], ja4[FK_TLS_JA4_LEN + 1], want[64];
    uint8_t md[16];
    size_t n = client_hello(g_ch, sizeof(g_ch), "example.com", "h2");

    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, true), FK_TLS_OK);
    assert_int_equal(h.type, FK_TLS_CLIENT_HELLO);
    assert_int_equal(h.n_ext, 11);
    assert_int_equal(fk_tls_ja3_string(&h, s, sizeof(s)), strlen(g_ja3));
    assert_string_equal(s, g_ja3);
    /* A short buffer is cut and terminated, the length is still the full one. */
    assert_int_equal(fk_tls_ja3_string(&h, s, 5), strlen(g_ja3));
    assert_string_equal(s, "771,");
    assert_int_equal(fk_tls_ja3_md5(&h, md), 0);
    assert_int_equal(fk_tls_ja4(&h, 'q', 0, ja4), 0);
    expect_ja4(want, sizeof(want), "q13d0409h2", g_ja4_ciphers, g_ja4_exts);
    assert_string_equal(ja4, want);

    /* Without the record header (the QUIC CRYPTO stream form). */
    assert_int_equal(fk_tls_hello_parse(&h, g_ch + 5, n - 5, false), FK_TLS_OK);
    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, false), FK_TLS_UNSUPPORTED);
    size_t need;
    uint8_t t;
    assert_true(fk_tls_record_need(g_ch, n, &need, &t));
    assert_int_equal(need, n);
    assert_int_equal(t, 1);
    assert_false(fk_tls_record_need(g_ch, 5, &need, &t));

    /* RFC 8701 GREASE only. */
    assert_true(fk_tls_is_grease(0x0a0a) && fk_tls_is_grease(0xfafa));
    assert_false(fk_tls_is_grease(0x1010) || fk_tls_is_grease(0x0a1a) || fk_tls_is_grease(0));

    /* A hello without extensions is valid and has none (RFC 5246 7.4.1.2). */
    n = hello(g_ch, sizeof(g_ch), 1, 0x0301, g_ciphers + 1, 2, NULL, SIZE_MAX, true);
    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, true), FK_TLS_OK);
    assert_int_equal(h.n_ext, 0);
    assert_int_equal(fk_tls_ja3_string(&h, s, sizeof(s)), strlen("769,4865-4866,,,"));
    assert_string_equal(s, "769,4865-4866,,,");
    {
        /* Every decimal width at its edges (JA3 numbers are formatted by table). */
        static const uint16_t widths[] = {0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535};
        static uint8_t buf[512];
        fk_tls_hello_t h2;
        char s2[128];
        size_t n2 = hello(buf, sizeof(buf), 1, 0x0303, widths, 10, NULL, SIZE_MAX, true);
        assert_int_equal(fk_tls_hello_parse(&h2, buf, n2, true), FK_TLS_OK);
        fk_tls_ja3_string(&h2, s2, sizeof(s2));
        assert_string_equal(s2, "771,0-9-10-99-100-999-1000-9999-10000-65535,,,");
    }
    assert_int_equal(fk_tls_ja4(&h, 't', 0, ja4), 0);
    /* FoxIO: no extensions gives twelve zeros. */
    sha12("1301,1302", want);
    assert_memory_equal(ja4, "t10i020000_", 11);
    assert_memory_equal(ja4 + 11, want, 12);
    assert_string_equal(ja4 + 23, "_000000000000");
    /* ipfixprobe hashes "_" instead. */
    assert_int_equal(fk_tls_ja4(&h, 't', FK_JA4_IPFIXPROBE, ja4), 0);
    sha12("_", want);
    assert_string_equal(ja4 + 22, want);
    assert_memory_equal(ja4, "t10i2000_", 9);

    /* Statuses: not a handshake, cut short, lengths that lie. */
    n = client_hello(g_ch, sizeof(g_ch), "example.com", "h2");
    assert_int_equal(fk_tls_hello_parse(&h, NULL, 0, true), FK_TLS_TRUNCATED);
    g_ch[0] = 23;
    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, true), FK_TLS_UNSUPPORTED);
    g_ch[0] = 22;
    g_ch[9] = 4; /* handshake version major */
    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, true), FK_TLS_UNSUPPORTED);
    g_ch[9] = 3;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(fk_tls_hello_parse(&h, g_ch, k, true), FK_TLS_TRUNCATED);
    g_ch[5 + 4 + 2 + 32] = 200; /* session id longer than the message */
    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, true), FK_TLS_INVALID);
}

/* A ClientHello after the first (HelloRetryRequest) updates all but the lists. */
static void test_tls_second_client_hello(void **state)
{
    (void)state;
    static const uint16_t cs[] = {0x1301};
    fp_cache_t *c = start("tls");
    size_t n = client_hello(g_ch, sizeof(g_ch), "first.example", "h2");

    put(c, 1, g_ch, n, 1 * SEC);
    const char *names[] = {"second.example"};
    size_t ns = sni_body(g_sni, names, 1);
    const ext_t ext[] = {{0, g_sni, ns}};
    n = hello(g_ch, sizeof(g_ch), 1, 0x0302, cs, 1, ext, 1, true);
    put(c, 1, g_ch, n, 1 * SEC + 1);
    finish(c);

    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv_text(0, "TLS_SNI"), "second.example");
    assert_int_equal(u64(0, "TLS_VERSION"), 0x0302);
    assert_string_equal(csv(0, "TLS_EXT_TYPE"), "[6682|0|23|10|11|13|16|43|51|19018|21]");
    assert_memory_equal(csv_text(0, "TLS_JA4"), "t11d11", 6);
}

/*
 * A ServerHello before any ClientHello is ignored; after the ServerHello
 * nothing changes; a ServerHello without supported_versions keeps the version.
 */
static void test_tls_order(void **state)
{
    (void)state;
    fp_cache_t *c = start("tls");
    size_t m = server_hello(g_sh, sizeof(g_sh), "h2", 0x0304);
    size_t n = client_hello(g_ch, sizeof(g_ch), "example.com", "h2");

    put(c, 0, g_sh, m, 1 * SEC);
    put(c, 1, g_ch, n, 1 * SEC + 1);
    m = server_hello(g_sh, sizeof(g_sh), "http/1.1", 0);
    put(c, 0, g_sh, m, 1 * SEC + 2);
    n = client_hello(g_ch, sizeof(g_ch), "later.example", "h2");
    put(c, 1, g_ch, n, 1 * SEC + 3);
    m = server_hello(g_sh, sizeof(g_sh), "h3", 0x0304);
    put(c, 0, g_sh, m, 1 * SEC + 4);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv_text(0, "TLS_SNI"), "example.com");
    assert_string_equal(csv_text(0, "TLS_ALPN"), "http/1.1");
    assert_int_equal(u64(0, "TLS_VERSION"), 0x0303);

    /* Only a ServerHello: no record at all. */
    c = start("tls");
    put(c, 0, g_sh, m, 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 0);
}

/* Names: 253 bytes fit, 254 do not ("" unless a later name fits); UDP gives 'q'. */
static void test_tls_names(void **state)
{
    (void)state;
    char longn[300], shorter[300];
    static const uint16_t cs[] = {0x1301};

    memset(longn, 'a', 254);
    longn[254] = 0;
    memset(shorter, 'b', 253);
    shorter[253] = 0;
    const char *n1[] = {longn};
    const char *n2[] = {longn, shorter};
    const char *n3[] = {"", "x.example"};
    const char *const *lists[] = {n1, n2, n3};
    const size_t counts[] = {1, 2, 2};
    const char *want[] = {"", shorter, ""};

    for (int i = 0; i < 3; i++) {
        size_t ns = sni_body(g_sni, lists[i], counts[i]);
        const ext_t ext[] = {{0, g_sni, ns}};
        size_t n = hello(g_ch, sizeof(g_ch), 1, 0x0303, cs, 1, ext, 1, true);
        fp_cache_t *c = start("tls");
        put_pkt(c, 1, 40000, i == 2, 1, g_ch, n, 0, 1 * SEC);
        finish(c);
        assert_int_equal(g_nrec[0], 1);
        assert_string_equal(csv_text(0, "TLS_SNI"), want[i]);
        /* A list with a name, even an empty or too long one, means "d". */
        assert_memory_equal(csv_text(0, "TLS_JA4"), i == 2 ? "q12d11" : "t12d11", 6);
    }
}

/* More than 30 extensions: the first 30 are kept; counts above 99 show 99. */
static void test_tls_many(void **state)
{
    (void)state;
    static uint16_t cs[150];
    static ext_t ext[120];
    for (int i = 0; i < 150; i++)
        cs[i] = (uint16_t)(0x0100 + i);
    for (int i = 0; i < 120; i++)
        ext[i] = (ext_t){(uint16_t)(1000 + i), g_zero10, (size_t)(i % 3)};
    size_t n = hello(g_ch, sizeof(g_ch), 1, 0x0303, cs, 150, ext, 120, true);
    fp_cache_t *c = start("tls");
    put(c, 1, g_ch, n, 1 * SEC);
    finish(c);

    assert_int_equal(g_nrec[0], 1);
    const fk_field_t *ft = field("TLS_EXT_TYPE"), *fl = field("TLS_EXT_LEN");
    assert_int_equal(fk_field_count(ft, g_rec[0]), 30);
    assert_int_equal(fk_field_count(fl, g_rec[0]), 30);
    for (int i = 0; i < 30; i++) {
        assert_int_equal(fk_field_u64(ft, g_rec[0], (size_t)i), 1000 + i);
        assert_int_equal(fk_field_u64(fl, g_rec[0], (size_t)i), i % 3);
    }
    assert_memory_equal(csv_text(0, "TLS_JA4"), "t12i9999", 8);
}

/* Hellos split over TCP segments are reassembled, in order, with retransmissions. */
static void test_tls_reassembly(void **state)
{
    (void)state;
    static uint16_t cs[600];
    static uint8_t big[1500];
    for (int i = 0; i < 600; i++)
        cs[i] = (uint16_t)(0x1000 + i);
    const char *names[] = {"split.example"};
    size_t ns = sni_body(g_sni, names, 1);
    const ext_t ext[] = {{0, g_sni, ns}, {21, big, sizeof(big)}};
    size_t n = hello(g_ch, sizeof(g_ch), 1, 0x0303, cs, 600, ext, 2, true);
    size_t m = server_hello(g_sh, sizeof(g_sh), "h2", 0x0304);
    assert_true(n > 2600);

    /* Three segments, the middle one retransmitted overlapping, then the ServerHello. */
    fp_cache_t *c = start("tls");
    put_pkt(c, 1, 40000, false, 1000, g_ch, 1000, 0, 1 * SEC);
    put_pkt(c, 0, 40000, false, 5000, NULL, 0, 0, 1 * SEC + 1); /* an ACK */
    put_pkt(c, 1, 40000, false, 2000, g_ch + 1000, 1000, 0, 1 * SEC + 2);
    put_pkt(c, 1, 40000, false, 1500, g_ch + 500, 1000, 0, 1 * SEC + 3); /* old */
    put_pkt(c, 1, 40000, false, 3000, g_ch + 2000, n - 2000, 0, 1 * SEC + 4);
    put_pkt(c, 0, 40000, false, 5000, g_sh, m, 0, 1 * SEC + 5);

    /* A gap: the hello is abandoned. */
    put_pkt(c, 1, 40001, false, 1000, g_ch, 1000, 0, 2 * SEC);
    put_pkt(c, 1, 40001, false, 2500, g_ch + 1500, n - 1500, 0, 2 * SEC + 1);
    put_pkt(c, 1, 40001, false, 2000, g_ch + 1000, 500, 0, 2 * SEC + 2);

    /* A segment the capture cut short: abandoned too. */
    put_pkt(c, 1, 40002, false, 1000, g_ch, 1000, 0, 3 * SEC);
    put_pkt(c, 1, 40002, false, 2000, g_ch + 1000, n - 1000, 40 + 100, 3 * SEC + 1);
    finish(c);

    assert_int_equal(g_nout, 3);
    for (size_t i = 0; i < 3; i++) {
        uint16_t port = g_flow[i].src_port;
        if (port == 40000) {
            assert_int_equal(g_nrec[i], 1);
            assert_string_equal(csv_text(i, "TLS_SNI"), "split.example");
            assert_string_equal(csv_text(i, "TLS_ALPN"), "h2");
            assert_int_equal(u64(i, "TLS_VERSION"), 0x0304);
            assert_memory_equal(csv_text(i, "TLS_JA4"), "t12d99200_", 10);
        } else {
            assert_int_equal(g_nrec[i], 0);
        }
    }
}

/*
 * Buffers go back to the pool: 300 flows reassembling in turn all succeed
 * (the pool has 256), and so does one after 256 abandoned ones are exported.
 */
static void test_tls_reassembly_pool(void **state)
{
    (void)state;
    static uint16_t cs[700];
    for (int i = 0; i < 700; i++)
        cs[i] = (uint16_t)(0x2000 + i);
    size_t n = hello(g_ch, sizeof(g_ch), 1, 0x0303, cs, 700, NULL, 0, true);
    fp_cache_t *c = start("tls");

    for (uint16_t i = 0; i < 300; i++) {
        put_pkt(c, 1, (uint16_t)(20000 + i), false, 1, g_ch, 700, 0, 1 * SEC + i);
        put_pkt(c, 1, (uint16_t)(20000 + i), false, 701, g_ch + 700, n - 700, 0, 1 * SEC + i);
    }
    fp_cache_flush(c);
    assert_int_equal(g_nout, 300);
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(g_nrec[i], 1);

    g_nout = 0;
    for (uint16_t i = 0; i < 256; i++)
        put_pkt(c, 1, (uint16_t)(30000 + i), false, 1, g_ch, 700, 0, 2 * SEC);
    fp_cache_flush(c); /* abandoned: their buffers are released on export */
    assert_int_equal(g_nout, 256);
    g_nout = 0;
    put_pkt(c, 1, 31000, false, 1, g_ch, 700, 0, 3 * SEC);
    put_pkt(c, 1, 31000, false, 701, g_ch + 700, n - 700, 0, 3 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
}

/* Truncation at every length: a cut capture, or a short segment with nothing after. */
static void test_tls_truncated(void **state)
{
    (void)state;
    size_t n = client_hello(g_ch, sizeof(g_ch), "example.com", "h2");

    for (size_t k = 0; k < n; k++) {
        fp_cache_t *c = start("tls");
        put_pkt(c, 1, 40000, false, 1, g_ch, n, 40 + k, 1 * SEC); /* caplen cut */
        put_pkt(c, 1, 40001, false, 1, g_ch, k, 0, 1 * SEC);      /* short segment */
        put_pkt(c, 1, 40002, true, 0, g_ch, k, 0, 1 * SEC);       /* short datagram */
        finish(c);
        assert_int_equal(g_nout, 3);
        for (size_t i = 0; i < g_nout; i++)
            assert_int_equal(g_nrec[i], 0);
    }
}

/* Every length field of the hello set to lies: never a crash, never a read outside. */
static void test_tls_lying_lengths(void **state)
{
    (void)state;
    size_t n = client_hello(g_ch, sizeof(g_ch), "example.com", "h2");
    static uint8_t mut[4096];
    static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xfe, 0xff};

    /* Each byte of the hello replaced by each value (every length byte included). */
    fp_cache_t *c = start("tls");
    uint16_t port = 1;
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            memcpy(mut, g_ch, n);
            mut[i] = vals[v];
            put_pkt(c, 1, port, false, 1, mut, n, 0, 1 * SEC);
            put_pkt(c, 0, port, false, 1, mut, n, 0, 1 * SEC);
            port = (uint16_t)(port % 60000 + 1);
            if (g_nout + 8 > MAXF || port % 256 == 0) {
                fp_cache_flush(c); /* keep the collector within MAXF */
                g_nout = 0;
            }
        }
    }
    finish(c);

    /* Specific lies with known outcomes. */
    size_t ext_block = 5 + 4 + 2 + 32 + 1 + 4 + 2 + 10 + 2; /* offset of the block length */
    assert_int_equal(fk_load_be16(g_ch + ext_block), n - ext_block - 2);
    memcpy(mut, g_ch, n);
    /* The SNI extension claims more than the block holds: walk stops before it. */
    size_t sni_len_at = ext_block + 2 + 4 + 2;
    mut[sni_len_at] = 0x7f;
    fk_tls_hello_t h;
    assert_int_equal(fk_tls_hello_parse(&h, mut, n, true), FK_TLS_OK);
    assert_int_equal(h.n_ext, 1); /* only the GREASE one before it */
    c = start("tls");
    put(c, 1, mut, n, 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv_text(0, "TLS_SNI"), "");
    assert_string_equal(csv(0, "TLS_EXT_TYPE"), "[6682]");
    /* The server_name list longer than its extension: no names. */
    memcpy(mut, g_ch, n);
    mut[sni_len_at + 2 + 1] = 0x20;
    assert_int_equal(fk_tls_hello_parse(&h, mut, n, true), FK_TLS_OK);
    const uint8_t *name;
    size_t nl;
    assert_int_equal(fk_tls_sni(&h, 253, &name, &nl), 0);
    /* The extensions block longer than the message: invalid. */
    memcpy(mut, g_ch, n);
    mut[ext_block] = 0xff;
    assert_int_equal(fk_tls_hello_parse(&h, mut, n, true), FK_TLS_INVALID);
    /* The handshake length shorter than the hello: the block no longer fits. */
    memcpy(mut, g_ch, n);
    mut[8] = 0x40;
    assert_int_equal(fk_tls_hello_parse(&h, mut, n, true), FK_TLS_INVALID);
}

/* Random bytes behind a record header, and a 64 kB hello of empty extensions. */
static void test_tls_random(void **state)
{
    (void)state;
    static uint8_t buf[3000];
    uint32_t x = 12345;
    fp_cache_t *c = start("tls");

    for (int i = 0; i < 3000; i++) {
        size_t n = 6 + (size_t)(i % 700);
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            buf[k] = (uint8_t)(x >> 16);
        }
        buf[0] = 22;
        buf[1] = 3;
        buf[5] = (uint8_t)(1 + (i & 1));
        buf[9] = 3;
        fk_tls_hello_t h;
        if (fk_tls_hello_parse(&h, buf, n, true) == FK_TLS_OK) {
            char s[64], ja4[FK_TLS_JA4_LEN + 1];
            uint8_t md[16];
            fk_tls_ja3_string(&h, s, sizeof(s));
            fk_tls_ja3_md5(&h, md);
            fk_tls_ja4(&h, 't', (unsigned)(i & 1), ja4);
            assert_true(strlen(ja4) <= FK_TLS_JA4_LEN);
        }
        put_pkt(c, i & 1, (uint16_t)(1 + i), false, 1, buf, n, 0, 1 * SEC);
        if (i % 256 == 255) {
            fp_cache_flush(c);
            g_nout = 0;
        }
    }
    finish(c);

    static ext_t ext[16000];
    for (int i = 0; i < 16000; i++)
        ext[i] = (ext_t){(uint16_t)i, NULL, 0};
    size_t n = hello(g_ch, sizeof(g_ch), 1, 0x0303, g_ciphers, 5, ext, 16000, false);
    fk_tls_hello_t h;
    char ja4[FK_TLS_JA4_LEN + 1];
    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, false), FK_TLS_OK);
    assert_int_equal(h.n_ext, 16000);
    assert_int_equal(h.n_kept, FK_TLS_EXT_MAX);
    assert_int_equal(fk_tls_ja4(&h, 't', 0, ja4), 0);
    assert_memory_equal(ja4, "t12d0499", 8); /* type 0 is there, empty */
}

/*
 * Long lists: the JA3 and JA4 texts pass their buffers (1024 and 640
 * bytes) several times over; the digests still equal those of the whole
 * text hashed at once.
 */
static void test_tls_long_lists(void **state)
{
    (void)state;
    static uint16_t ciphers[400];
    static char text[400 * 6 + 64], s[400 * 6 + 64];
    char want[13], ja4[FK_TLS_JA4_LEN + 1], mdw[33], mdh[33];
    uint8_t md[16];
    fk_tls_hello_t h;
    size_t k = 0;

    /* Descending and GREASE-free: JA4 sorts them, JA3 keeps wire order. */
    for (size_t i = 0; i < 400; i++)
        ciphers[i] = (uint16_t)(0xc000 - 3 * i);
    size_t n = hello(g_ch, sizeof(g_ch), 1, 0x0303, ciphers, 400, NULL, SIZE_MAX, true);
    assert_int_equal(fk_tls_hello_parse(&h, g_ch, n, true), FK_TLS_OK);
    for (size_t i = 400; i-- > 0;)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "%s%04x", k ? "," : "", ciphers[i]);
    sha12(text, want);
    assert_int_equal(fk_tls_ja4(&h, 't', 0, ja4), 0);
    assert_memory_equal(ja4 + 11, want, 12);
    /* JA3: the MD5 of the text fk_tls_ja3_string gives (itself checked above). */
    assert_true(fk_tls_ja3_string(&h, s, sizeof(s)) > 2000);
    md5hex(s, mdw);
    assert_int_equal(fk_tls_ja3_md5(&h, md), 0);
    for (int i = 0; i < 16; i++)
        snprintf(mdh + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(mdh, mdw);
}

/* A claim and release from another thread: the handle it got (0: none). */
static void *pool_other_thread(void *arg)
{
    fk_hello_pool_t *p = arg;
    uint32_t h = fk_hello_pool_claim(p);

    fk_hello_pool_release(p, h);
    return (void *)(uintptr_t)h;
}

/* The pools: claims until empty, releases, double release harmless; crypto
 * sets kept by the thread that first claims them. */
static void test_tls_pool(void **state)
{
    (void)state;
    fk_hello_pool_t *p = fk_hello_pool_new(3, 16, false);
    assert_non_null(p);
    uint32_t a = fk_hello_pool_claim(p), b = fk_hello_pool_claim(p), d = fk_hello_pool_claim(p);
    assert_true(a && b && d && a != b && b != d && a != d);
    assert_int_equal(fk_hello_pool_claim(p), 0);
    assert_int_equal(fk_hello_pool_used(p), 3);
    assert_non_null(fk_hello_pool_buf(p, a));
    assert_null(fk_hello_pool_buf(p, 0));
    assert_null(fk_hello_pool_buf(p, 4));
    assert_null(fk_hello_pool_crypto(p, a));
    fk_hello_pool_release(p, b);
    fk_hello_pool_release(p, b);
    fk_hello_pool_release(p, 99);
    assert_int_equal(fk_hello_pool_used(p), 2);
    assert_int_equal(fk_hello_pool_claim(p), b);
    fk_hello_pool_free(p);

    p = fk_hello_pool_new(2, 0, true);
    assert_non_null(p);
    a = fk_hello_pool_claim(p);
    assert_non_null(fk_hello_pool_crypto(p, a));
    assert_null(fk_hello_pool_buf(p, a));
    /* A thread keeps its first set: released, it stays busy and comes back. */
    fk_hello_pool_release(p, a);
    assert_int_equal(fk_hello_pool_used(p), 1);
    assert_int_equal(fk_hello_pool_claim(p), a);
    /* Claimed again while in use (nested): another set, given back for real. */
    b = fk_hello_pool_claim(p);
    assert_true(b && b != a);
    assert_non_null(fk_hello_pool_crypto(p, b));
    assert_int_equal(fk_hello_pool_used(p), 2);
    fk_hello_pool_release(p, b);
    assert_int_equal(fk_hello_pool_used(p), 1);
    /* Another thread gets the other set and keeps it; a third finds none. */
    pthread_t th;
    void *got;
    assert_int_equal(pthread_create(&th, NULL, pool_other_thread, p), 0);
    assert_int_equal(pthread_join(th, &got), 0);
    assert_true((uintptr_t)got && (uintptr_t)got != a);
    assert_int_equal(fk_hello_pool_used(p), 2);
    assert_int_equal(pthread_create(&th, NULL, pool_other_thread, p), 0);
    assert_int_equal(pthread_join(th, &got), 0);
    assert_int_equal((uintptr_t)got, 0);
    fk_hello_pool_release(p, a);
    /* The kept set comes back to its thread on every claim. */
    for (int i = 0; i < 3; i++) {
        uint32_t c = fk_hello_pool_claim(p);
        assert_int_equal(c, a);
        fk_hello_pool_release(p, c);
    }
    fk_hello_pool_free(p);
    assert_null(fk_hello_pool_new(0, 16, false));
}

/* Options: a bad ja4 mode is an error that names what is expected. */
static void test_tls_options(void **state)
{
    (void)state;
    fk_opts_t o;
    fk_err_t e;
    void *ctx = NULL;
    const fp_plugin_t *p = fp_plugin_find("tls");

    assert_int_equal(fk_opts_parse("tls;ja4=bogus", &o, &e), 0);
    assert_int_equal(p->init(&ctx, &o, &e), -1);
    assert_non_null(strstr(e.msg, "foxio"));
    fk_opts_free(&o);
    assert_int_equal(fk_opts_parse("tls;nope=1", &o, &e), 0);
    assert_int_equal(p->init(&ctx, &o, &e), -1);
    fk_opts_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_handshake),
        cmocka_unit_test(test_tls_ja4_foxio),
        cmocka_unit_test(test_tls_hello_reader),
        cmocka_unit_test(test_tls_second_client_hello),
        cmocka_unit_test(test_tls_order),
        cmocka_unit_test(test_tls_names),
        cmocka_unit_test(test_tls_many),
        cmocka_unit_test(test_tls_reassembly),
        cmocka_unit_test(test_tls_reassembly_pool),
        cmocka_unit_test(test_tls_truncated),
        cmocka_unit_test(test_tls_lying_lengths),
        cmocka_unit_test(test_tls_random),
        cmocka_unit_test(test_tls_long_lists),
        cmocka_unit_test(test_tls_pool),
        cmocka_unit_test(test_tls_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
