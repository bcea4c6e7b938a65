/*
 * test_plugin_quic.c - the quic plugin and QUIC Initial protection (probe/
 * proto/quic_initial.c), driven through the real packet parser and flow
 * cache with Initial packets this file encrypts itself (key schedule on
 * OpenSSL's one-shot HMAC, AES-128-GCM and header protection written here
 * from RFC 9001 5, independently of the code under test): the key vectors of
 * RFC 9001 A.1 and RFC 9369 A.1; every field of a client Initial; a
 * ClientHello split over two Initials (either order); Retry, server packets,
 * multiplexing, 0-RTT, version negotiation, QUIC v2 and draft 29; and
 * hostile input: a wrong AEAD tag, empty and over-long connection IDs,
 * truncation at every length, CRYPTO frames at huge offsets or overrunning
 * the payload, forbidden frame types, non-QUIC datagrams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"
#include "probe/proto/quic_initial.h"
#include "probe/proto/tls_hello.h"

#define SEC    1000000000ULL
#define MAXF   64
#define MAXREC 4096

#include "tests/common/plugintest.h"

#define V1    0x00000001u
#define V2    0x6b3343cfu
#define D29   0xff00001du
#define CPORT 50000

/* ------------------------------------------------------------------------ */
/* A reference implementation of client Initial protection (RFC 9001 5).     */

static const uint8_t SALT_V1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
static const uint8_t SALT_V2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
static const uint8_t SALT_D29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                     0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};

static void ref_expand(const uint8_t prk[32], const char *label, uint8_t *out, size_t len)
{
    uint8_t info[64], t[32];
    size_t n = 0, ll = strlen(label);
    unsigned tl = 0;

    info[n++] = 0;
    info[n++] = (uint8_t)len;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0;
    info[n++] = 1;
    assert_non_null(HMAC(EVP_sha256(), prk, 32, info, n, t, &tl));
    memcpy(out, t, len);
}

static void ref_keys(uint32_t version, const uint8_t *dcid, size_t dl, fk_quic_keys_t *k)
{
    const uint8_t *salt = version == V2 ? SALT_V2 : version == D29 ? SALT_D29 : SALT_V1;
    const char *pfx = version == V2 ? "quicv2 " : "quic ";
    uint8_t prk[32], client[32];
    unsigned n = 0;
    char l[32];

    assert_non_null(HMAC(EVP_sha256(), salt, 20, dl ? dcid : (const uint8_t *)"", dl, prk, &n));
    ref_expand(prk, "client in", client, 32);
    snprintf(l, sizeof(l), "%skey", pfx);
    ref_expand(client, l, k->key, 16);
    snprintf(l, sizeof(l), "%siv", pfx);
    ref_expand(client, l, k->iv, 12);
    snprintf(l, sizeof(l), "%shp", pfx);
    ref_expand(client, l, k->hp, 16);
}

static size_t put_varint(uint8_t *p, uint64_t v, int len)
{
    static const uint8_t pfx[] = {0, 0x40, 0, 0x80, 0, 0, 0, 0xc0};
    for (int i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    p[0] |= pfx[len - 1];
    return (size_t)len;
}

typedef struct initial_st {
    uint32_t version;
    const uint8_t *dcid;
    size_t dcid_len;
    const uint8_t *scid;
    size_t scid_len;
    const uint8_t *token;
    size_t token_len;
    uint32_t pn;
    const uint8_t *key_dcid; /* keys from this DCID (default: dcid) */
    size_t key_dcid_len;
    bool bad_tag;
} initial_t;

/* Protect `plain` (plen bytes of frames) as an Initial packet into out; returns its length. */
static size_t seal_initial(uint8_t *out, const initial_t *in, const uint8_t *plain, size_t plen)
{
    fk_quic_keys_t k;
    size_t n = 0, pn_len = 2;
    uint8_t nonce[12], mask[16];
    int l = 0;

    ref_keys(in->version, in->key_dcid ? in->key_dcid : in->dcid,
             in->key_dcid ? in->key_dcid_len : in->dcid_len, &k);
    out[n++] = (uint8_t)(0xc0 | ((in->version == V2 ? 1 : 0) << 4) | (pn_len - 1));
    out[n++] = (uint8_t)(in->version >> 24);
    out[n++] = (uint8_t)(in->version >> 16);
    out[n++] = (uint8_t)(in->version >> 8);
    out[n++] = (uint8_t)in->version;
    out[n++] = (uint8_t)in->dcid_len;
    memcpy(out + n, in->dcid, in->dcid_len);
    n += in->dcid_len;
    out[n++] = (uint8_t)in->scid_len;
    memcpy(out + n, in->scid, in->scid_len);
    n += in->scid_len;
    n += put_varint(out + n, in->token_len, 2);
    if (in->token_len)
        memcpy(out + n, in->token, in->token_len);
    n += in->token_len;
    n += put_varint(out + n, pn_len + plen + 16, 2);
    size_t pn_off = n;
    out[n++] = (uint8_t)(in->pn >> 8);
    out[n++] = (uint8_t)in->pn;

    memcpy(nonce, k.iv, 12);
    nonce[10] ^= (uint8_t)(in->pn >> 8);
    nonce[11] ^= (uint8_t)in->pn;
    EVP_CIPHER_CTX *g = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex(g, EVP_aes_128_gcm(), NULL, k.key, nonce), 1);
    assert_int_equal(EVP_EncryptUpdate(g, NULL, &l, out, (int)n), 1);
    assert_int_equal(EVP_EncryptUpdate(g, out + n, &l, plain, (int)plen), 1);
    assert_int_equal(EVP_EncryptFinal_ex(g, out + n + l, &l), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(g, EVP_CTRL_AEAD_GET_TAG, 16, out + n + plen), 1);
    EVP_CIPHER_CTX_free(g);
    n += plen + 16;
    if (in->bad_tag)
        out[n - 1] ^= 1;

    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex(e, EVP_aes_128_ecb(), NULL, k.hp, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(e, mask, &l, out + pn_off + 4, 16), 1);
    EVP_CIPHER_CTX_free(e);
    out[0] ^= mask[0] & 0x0f;
    out[pn_off] ^= mask[1];
    out[pn_off + 1] ^= mask[2];
    return n;
}

/* ------------------------------------------------------------------------ */
/* A QUIC ClientHello (handshake message, no record header).                 */

#define BLD_CAP 8192
#include "tests/common/bytebuild.h"

/* The ALPN and transport parameters bodies the reference hello carries. */
static const uint8_t ALPN_H3[] = {0, 3, 2, 'h', '3'};
static const uint8_t TP[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00,           /* initial_max_data */
                             0x71, 0x29, 0x0d, 'T',  'e',  's',  't', 'A', /* google UA, 13 bytes */
                             'g',  'e',  'n',  't',  '/',  '1',  '.', '0', 0x01, 0x02, 0x40, 0x64};

/* ClientHello for `sni` with `pad` bytes of padding extension. */
static size_t quic_ch(uint8_t *out, const char *sni, size_t pad)
{
    static bld_t w;
    static const uint8_t sv[] = {2, 0x03, 0x04};
    static const uint8_t padding[4096];

    w.n = 0;
    put8(&w, 1);
    put8(&w, 0);
    put16(&w, 0);
    put16(&w, 0x0303);
    for (int i = 0; i < 32; i++)
        put8(&w, 0x55);
    put8(&w, 0);
    put16(&w, 6);
    put16(&w, 0x1301);
    put16(&w, 0x1302);
    put16(&w, 0x1303);
    put8(&w, 1);
    put8(&w, 0);
    size_t el = len16(&w);
    /* server_name */
    put16(&w, 0);
    size_t e0 = len16(&w);
    size_t l0 = len16(&w);
    put8(&w, 0);
    put16(&w, (unsigned)strlen(sni));
    putn(&w, sni, strlen(sni));
    len16_end(&w, l0);
    len16_end(&w, e0);
    /* alpn, supported_versions, quic_transport_parameters, padding */
    put16(&w, 16);
    put16(&w, sizeof(ALPN_H3));
    putn(&w, ALPN_H3, sizeof(ALPN_H3));
    put16(&w, 43);
    put16(&w, sizeof(sv));
    putn(&w, sv, sizeof(sv));
    put16(&w, 0x39);
    put16(&w, sizeof(TP));
    putn(&w, TP, sizeof(TP));
    put16(&w, 21);
    put16(&w, (unsigned)pad);
    putn(&w, padding, pad);
    len16_end(&w, el);
    size_t hl = w.n - 4;
    w.b[1] = (uint8_t)(hl >> 16);
    w.b[2] = (uint8_t)(hl >> 8);
    w.b[3] = (uint8_t)hl;
    memcpy(out, w.b, w.n);
    return w.n;
}

/* CRYPTO frame (offset, data) then PADDING up to `total` bytes of frames. */
static size_t crypto_frames(uint8_t *out, uint64_t off, const uint8_t *data, size_t n, size_t total)
{
    size_t k = 0;
    out[k++] = 0x06;
    k += put_varint(out + k, off, 4);
    k += put_varint(out + k, n, 2);
    memcpy(out + k, data, n);
    k += n;
    while (k < total)
        out[k++] = 0;
    return k;
}

/* ------------------------------------------------------------------------ */
/* Driving the cache.                                                        */

static fp_cache_t *start(void)
{
    fp_cache_cfg_t cfg;
    fp_cache_cfg_default(&cfg);
    cfg.size_exp = 12;
    return pt_start_cfg("quic", collect, &cfg);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/* IPv4 10.0.0.1:port <-> 10.0.0.2:443, UDP (or TCP), `cap` bytes captured when nonzero. */
static void put_pkt(fp_cache_t *c, int fwd, uint16_t port, bool tcp, const void *pay, size_t n,
                    size_t cap, uint64_t t)
{
    size_t hl = tcp ? 40 : 28, total = hl + n;
    uint8_t *f = calloc(1, total); /* the frame; copied below to exactly the captured bytes */
    fk_packet_t pkt;

    assert_non_null(f);
    memset(f, 0, hl);
    f[0] = 0x45;
    f[2] = (uint8_t)(total >> 8);
    f[3] = (uint8_t)total;
    f[8] = 64;
    f[9] = tcp ? 6 : 17;
    f[12] = f[16] = 10;
    f[15] = fwd ? 1 : 2;
    f[19] = fwd ? 2 : 1;
    uint16_t sp = fwd ? port : 443, dp = fwd ? 443 : port;
    f[20] = (uint8_t)(sp >> 8);
    f[21] = (uint8_t)sp;
    f[22] = (uint8_t)(dp >> 8);
    f[23] = (uint8_t)dp;
    if (tcp) {
        f[32] = 5 << 4;
        f[33] = FK_TCP_ACK;
    } else {
        f[24] = (uint8_t)((n + 8) >> 8);
        f[25] = (uint8_t)(n + 8);
    }
    memcpy(f + hl, pay, n);
    /* Exactly the captured bytes on the heap: ASan sees any read past them. */
    size_t got = cap ? cap : total;
    uint8_t *frame = malloc(got);
    assert_non_null(frame);
    memcpy(frame, f, got);
    free(f);
    fk_packet_parse(&pkt, FK_LINK_RAW, frame, (uint32_t)got, (uint32_t)total, t);
    assert_true(fk_packet_has_key(&pkt));
    fp_cache_put(c, &pkt);
    free(frame);
}

static void put(fp_cache_t *c, int fwd, const void *pay, size_t n, uint64_t t)
{
    put_pkt(c, fwd, CPORT, false, pay, n, 0, t);
}

static const uint8_t DCID_A[8] = {0xd3, 0xe8, 0xe0, 0x60, 0x49, 0xa4, 0xf6, 0xb2};
static const uint8_t DCID_D[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
static const uint8_t SCID_C[5] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5};
static const uint8_t SCID_S[4] = {0x5e, 0x5e, 0x5e, 0x01}; /* server */
static const uint8_t CID_B[8] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7};

static uint8_t g_ch[4096], g_plain[4096], g_dgram[4096];

/* One client Initial datagram of 1200 bytes holding the whole reference hello. */
static size_t client_initial(uint8_t *out, const initial_t *in, const char *sni)
{
    size_t n = quic_ch(g_ch, sni, 40);
    size_t plen = crypto_frames(g_plain, 0, g_ch, n, 1100);
    return seal_initial(out, in, g_plain, plen);
}

/* ------------------------------------------------------------------------ */
/* Tests.                                                                    */

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* RFC 9001 A.1 and RFC 9369 A.1: keys for DCID 0x8394c8f03e515708. */
static void test_quic_keys(void **state)
{
    (void)state;
    static const uint8_t dcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    fk_hello_crypto_t cr;
    fk_quic_keys_t k, r;
    char s[40];

    assert_int_equal(fk_hello_crypto_init(&cr), 0);
    assert_int_equal(fk_quic_client_keys(&cr, V1, dcid, 8, &k), 0);
    hex(k.key, 16, s);
    assert_string_equal(s, "1f369613dd76d5467730efcbe3b1a22d");
    hex(k.iv, 12, s);
    assert_string_equal(s, "fa044b2f42a3fd3b46fb255c");
    hex(k.hp, 16, s);
    assert_string_equal(s, "9f50449e04a0e810283a1e9933adedd2");
    assert_int_equal(fk_quic_client_keys(&cr, V2, dcid, 8, &k), 0);
    hex(k.key, 16, s);
    assert_string_equal(s, "8b1a0bc121284290a29e0971b5cd045d");
    hex(k.iv, 12, s);
    assert_string_equal(s, "91f73e2351d8fa91660e909f");
    hex(k.hp, 16, s);
    assert_string_equal(s, "45b95e15235d6f45a6b19cbcb0294ba9");
    /* The reference schedule here agrees, for draft 29 and an empty DCID too. */
    assert_int_equal(fk_quic_client_keys(&cr, D29, dcid, 0, &k), 0);
    ref_keys(D29, dcid, 0, &r);
    assert_memory_equal(&k, &r, sizeof(k));
    /* No salt, no keys: version negotiation, unknown versions; no CID over 20. */
    assert_int_equal(fk_quic_client_keys(&cr, 0, dcid, 8, &k), -1);
    assert_int_equal(fk_quic_client_keys(&cr, 0x12345678, dcid, 8, &k), -1);
    assert_int_equal(fk_quic_client_keys(&cr, V1, dcid, 21, &k), -1);
    fk_hello_crypto_fini(&cr);

    /* ipfixprobe's version table. */
    bool v2;
    assert_int_equal(fk_quic_draft(0xff00001d, &v2), 29);
    assert_false(v2);
    assert_int_equal(fk_quic_draft(V2, &v2), 101);
    assert_true(v2);
    assert_int_equal(fk_quic_draft(0x1a2a3a4a, NULL), 35);
    assert_int_equal(fk_quic_draft(0xfaceb002, NULL), 27);
    assert_true(fk_quic_supported(0));
    assert_false(fk_quic_supported(0xfaceb003));
    assert_false(fk_quic_supported(0x45474700)); /* quant "draft 0" */
    assert_int_equal(fk_quic_packet_type(0xd0, true), FK_QUIC_INITIAL);
    assert_int_equal(fk_quic_packet_type(0xc0, true), FK_QUIC_RETRY);
    assert_int_equal(fk_quic_packet_type(0xe0, false), FK_QUIC_HANDSHAKE);
}

/* A client Initial: every field, exactly. */
static void test_quic_initial(void **state)
{
    (void)state;
    static const uint8_t token[3] = {1, 2, 3};
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, token, 3, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    fp_cache_t *c = start();

    put(c, 1, g_dgram, n, 1 * SEC);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv_text(0, "QUIC_SNI"), "www.example.org");
    assert_string_equal(csv_text(0, "QUIC_USER_AGENT"), "TestAgent/1.0");
    assert_int_equal(u64(0, "QUIC_VERSION"), 1);
    assert_int_equal(u64(0, "QUIC_CLIENT_VERSION"), 1);
    assert_int_equal(u64(0, "QUIC_TOKEN_LENGTH"), 3);
    assert_string_equal(csv(0, "QUIC_OSCID"), "d3e8e06049a4f6b2");
    assert_string_equal(csv(0, "QUIC_OCCID"), "c1c2c3c4c5");
    assert_string_equal(csv(0, "QUIC_SCID"), "");
    assert_string_equal(csv(0, "QUIC_RETRY_SCID"), "");
    assert_int_equal(u64(0, "QUIC_MULTIPLEXED"), 0);
    assert_int_equal(u64(0, "QUIC_ZERO_RTT"), 0);
    assert_int_equal(u64(0, "QUIC_SERVER_PORT"), 443);
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[129]");
    assert_int_equal(u64(0, "QUIC_CH_PARSED"), 1);
    assert_string_equal(csv(0, "QUIC_TLS_EXT_TYPE"), "[0|16|43|57|21]");
    char want[128];
    snprintf(want, sizeof(want), "[%zu|%zu|3|%zu|40]", 5 + strlen("www.example.org"),
             sizeof(ALPN_H3), sizeof(TP));
    assert_string_equal(csv(0, "QUIC_TLS_EXT_LEN"), want);
    hex(ALPN_H3, sizeof(ALPN_H3), want);
    hex(TP, sizeof(TP), want + 2 * sizeof(ALPN_H3));
    assert_string_equal(csv(0, "QUIC_TLS_EXT"), want);
}

/* A ClientHello in two Initials is read once both are in, in either order. */
static void test_quic_split_hello(void **state)
{
    (void)state;
    size_t n = quic_ch(g_ch, "split.example", 1500);
    size_t half = n / 2;

    for (int order = 0; order < 2; order++) {
        fp_cache_t *c = start();
        initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
        uint8_t d1[1400], d2[1400];
        size_t p1 = crypto_frames(g_plain, 0, g_ch, half, half + 20);
        size_t n1 = seal_initial(d1, &in, g_plain, p1);
        in.pn = 1;
        size_t p2 = crypto_frames(g_plain, half, g_ch + half, n - half, n - half + 20);
        size_t n2 = seal_initial(d2, &in, g_plain, p2);
        put(c, 1, order ? d2 : d1, order ? n2 : n1, 1 * SEC);
        put(c, 1, order ? d1 : d2, order ? n1 : n2, 1 * SEC + 1);
        finish(c);
        assert_int_equal(g_nrec[0], 1);
        assert_int_equal(u64(0, "QUIC_CH_PARSED"), 1);
        assert_string_equal(csv_text(0, "QUIC_SNI"), "split.example");
        assert_string_equal(csv(0, "QUIC_PACKETS"), "[129|129]");
        assert_string_equal(csv(0, "QUIC_OSCID"), "d3e8e06049a4f6b2");
    }
}

/* A wrong tag: QUIC, but nothing read from the payload. */
static void test_quic_bad_tag(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, true};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    fp_cache_t *c = start();

    put(c, 1, g_dgram, n, 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "QUIC_CH_PARSED"), 0);
    assert_string_equal(csv_text(0, "QUIC_SNI"), "");
    assert_string_equal(csv_text(0, "QUIC_USER_AGENT"), "");
    assert_string_equal(csv(0, "QUIC_TLS_EXT_TYPE"), "[]");
    assert_string_equal(csv(0, "QUIC_TLS_EXT"), "");
    assert_string_equal(csv(0, "QUIC_OSCID"), "");
    assert_int_equal(u64(0, "QUIC_SERVER_PORT"), 0);
    assert_int_equal(u64(0, "QUIC_VERSION"), 1);
    assert_int_equal(u64(0, "QUIC_TOKEN_LENGTH"), UINT64_MAX);
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[129]");
}

/* An empty DCID still gives keys; one over 20 bytes ends the header walk. */
static void test_quic_cid_lengths(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 0, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "empty.example");
    fp_cache_t *c = start();

    put(c, 1, g_dgram, n, 1 * SEC);
    finish(c);
    assert_int_equal(u64(0, "QUIC_CH_PARSED"), 1);
    assert_string_equal(csv_text(0, "QUIC_SNI"), "empty.example");
    assert_string_equal(csv(0, "QUIC_OSCID"), "");

    static uint8_t big[32];
    memset(big, 0xab, sizeof(big));
    in.dcid = big;
    in.dcid_len = 21;
    n = client_initial(g_dgram, &in, "long.example");
    c = start();
    put(c, 1, g_dgram, n, 1 * SEC);
    in.scid = big;
    in.scid_len = 21;
    in.dcid_len = 8;
    n = client_initial(g_dgram, &in, "long.example");
    put_pkt(c, 1, CPORT + 1, false, g_dgram, n, 0, 1 * SEC);
    finish(c);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(g_nrec[i], 1);
        assert_int_equal(u64(i, "QUIC_CH_PARSED"), 0);
        assert_string_equal(csv(i, "QUIC_PACKETS"), "[128]"); /* the QUIC bit only */
        assert_int_equal(u64(i, "QUIC_VERSION"), 1);
        assert_string_equal(csv(i, "QUIC_OSCID"), "");
    }
}

/*
 * Regression (found by fuzz_quic): a coalesced header whose DCID runs past
 * the datagram.  ipfixprobe keeps that CID and later copies it from beyond the
 * payload; it is not taken here (the exact-size heap frame makes ASan see it).
 */
static void test_quic_cid_past_end(void **state)
{
    (void)state;
    static const uint8_t dg[] = {/* Handshake, DCID 4, SCID 0, Length 2 */
                                 0xe0, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 2, 0xaa, 0xbb,
                                 /* then a header announcing an 8-byte DCID with 4 bytes left */
                                 0xe0, 0, 0, 0, 1, 8, 9, 9, 9, 9};
    fp_cache_t *c = start();

    put(c, 1, dg, sizeof(dg), 1 * SEC);
    put(c, 0, dg, sizeof(dg), 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[132|132]");
    assert_string_equal(csv(0, "QUIC_OCCID"), "");
    assert_string_equal(csv(0, "QUIC_SCID"), "");
}

/* Truncation at every length, as a cut capture and as a short datagram. */
static void test_quic_truncated(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    fp_cache_t *c = start();

    for (size_t k = 0; k < n; k++) {
        put_pkt(c, 1, (uint16_t)(1000 + k), false, g_dgram, n, 28 + k, 1 * SEC);
        put_pkt(c, 1, (uint16_t)(3000 + k), false, g_dgram, k, 0, 1 * SEC);
        if (g_nout + 4 > MAXF || k % 16 == 15) {
            for (size_t i = 0; i < g_nout; i++)
                if (g_nrec[i])
                    assert_int_equal(u64(i, "QUIC_CH_PARSED"), 0);
            fp_cache_flush(c);
            for (size_t i = 0; i < g_nout; i++)
                if (g_nrec[i])
                    assert_int_equal(u64(i, "QUIC_CH_PARSED"), 0);
            g_nout = 0;
        }
    }
    finish(c);
    for (size_t i = 0; i < g_nout; i++)
        if (g_nrec[i])
            assert_int_equal(u64(i, "QUIC_CH_PARSED"), 0);
}

/* CRYPTO frames at huge offsets, overrunning the payload, and forbidden frames. */
static void test_quic_hostile_frames(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = quic_ch(g_ch, "x.example", 40), k;
    fp_cache_t *c = start();
    uint16_t port = 100;

    /* Offsets near 2^62, at the end of the buffer, just before it. */
    static const uint64_t offs[] = {0x3fffffffffffffffULL, 0x3fffffffULL, 4096, 4090, 4000};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        g_plain[0] = 0x06;
        k = 1 + put_varint(g_plain + 1, offs[i], 8);
        k += put_varint(g_plain + k, n, 2);
        memcpy(g_plain + k, g_ch, n);
        k += n;
        memset(g_plain + k, 0, 100);
        size_t m = seal_initial(g_dgram, &in, g_plain, k + 100);
        put_pkt(c, 1, port++, false, g_dgram, m, 0, 1 * SEC);
    }
    /* A CRYPTO frame claiming more than the payload holds. */
    g_plain[0] = 0x06;
    k = 1 + put_varint(g_plain + 1, 0, 1);
    k += put_varint(g_plain + k, 60000, 4);
    memcpy(g_plain + k, g_ch, n);
    size_t m = seal_initial(g_dgram, &in, g_plain, k + n);
    put_pkt(c, 1, port++, false, g_dgram, m, 0, 1 * SEC);
    /* STREAM (0x08) may not be in an Initial: the whole payload is ignored. */
    size_t p = crypto_frames(g_plain, 0, g_ch, n, n + 20);
    g_plain[p - 5] = 0x08;
    m = seal_initial(g_dgram, &in, g_plain, p);
    put_pkt(c, 1, port++, false, g_dgram, m, 0, 1 * SEC);
    /* ACK with a range count no payload can hold, then CRYPTO. */
    g_plain[0] = 0x02;
    k = 1 + put_varint(g_plain + 1, 5, 1);
    k += put_varint(g_plain + k, 0, 1);
    k += put_varint(g_plain + k, 0x3fffffff, 4);
    k += put_varint(g_plain + k, 0, 1);
    k += crypto_frames(g_plain + k, 0, g_ch, n, n + 20);
    m = seal_initial(g_dgram, &in, g_plain, k);
    put_pkt(c, 1, port++, false, g_dgram, m, 0, 1 * SEC);
    finish(c);

    assert_int_equal(g_nout, 8);
    for (size_t i = 0; i < g_nout; i++) {
        assert_int_equal(g_nrec[i], 1);
        /* Port 105: the overlong CRYPTO frame was clamped to the whole hello. */
        assert_int_equal(u64(i, "QUIC_CH_PARSED"), g_flow[i].src_port == 105);
    }

    /* The reassembly buffer: ranges merge, overflow is bounded. */
    static uint8_t buf[100];
    fk_quic_crypto_t cr;
    fk_quic_crypto_init(&cr, buf, sizeof(buf));
    fk_quic_crypto_add(&cr, 10, (const uint8_t *)"0123456789", 10);
    fk_quic_crypto_add(&cr, 30, (const uint8_t *)"0123456789", 10);
    assert_int_equal(fk_quic_crypto_prefix(&cr), 0);
    fk_quic_crypto_add(&cr, 0, (const uint8_t *)"abcdefghij", 10);
    assert_int_equal(fk_quic_crypto_prefix(&cr), 20);
    fk_quic_crypto_add(&cr, 15, (const uint8_t *)"0123456789abcdef", 16);
    assert_int_equal(fk_quic_crypto_prefix(&cr), 40);
    assert_int_equal(cr.n, 1);
    fk_quic_crypto_add(&cr, 95, (const uint8_t *)"0123456789", 10); /* cut at cap */
    assert_int_equal(cr.r[1].hi, 100);
    for (unsigned i = 0; i < 20; i++)
        fk_quic_crypto_add(&cr, 42 + 2 * i, (const uint8_t *)"x", 1);
    assert_true(cr.overflow);
    assert_true(cr.n <= FK_QUIC_CRYPTO_RANGES);
    fk_quic_crypto_add(&cr, UINT64_MAX, (const uint8_t *)"x", 1);
}

/* Version negotiation ends the flow at once. */
static void test_quic_version_negotiation(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    static const uint8_t vn[] = {0xc5, 0, 0,    0,    0,    5,    0xc1, 0xc2, 0xc3, 0xc4,
                                 0xc5, 8, 0xd3, 0xe8, 0xe0, 0x60, 0x49, 0xa4, 0xf6, 0xb2,
                                 0,    0, 0,    1,    0xff, 0,    0,    0x1d};
    fp_cache_t *c = start();

    put(c, 1, g_dgram, n, 1 * SEC);
    put(c, 0, vn, sizeof(vn), 1 * SEC + 1);
    assert_int_equal(g_nout, 1); /* exported by the VN itself */
    put(c, 1, g_dgram, n, 1 * SEC + 2);
    finish(c);
    assert_int_equal(g_nout, 2);
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[129|144]");
    assert_int_equal(u64(0, "QUIC_VERSION"), 0);
    assert_int_equal(u64(0, "QUIC_CLIENT_VERSION"), 1);
    assert_string_equal(csv_text(0, "QUIC_SNI"), "www.example.org");
    assert_string_equal(csv(1, "QUIC_PACKETS"), "[129]");
}

/* A server Initial names the server's SCID; a Handshake is a type 4. */
static void test_quic_server_packets(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    uint8_t s[300], hs[100];
    size_t k = 0;
    fp_cache_t *c = start();

    /* Server Initial: DCID = client SCID, SCID = server CID, undecryptable payload. */
    s[k++] = 0xc1;
    s[k++] = 0, s[k++] = 0, s[k++] = 0, s[k++] = 1;
    s[k++] = 5;
    memcpy(s + k, SCID_C, 5), k += 5;
    s[k++] = 4;
    memcpy(s + k, SCID_S, 4), k += 4;
    s[k++] = 0;                     /* token length */
    k += put_varint(s + k, 200, 2); /* Length */
    memset(s + k, 0x77, 200), k += 200;
    /* Client Handshake: DCID = server CID. */
    size_t h = 0;
    hs[h++] = 0xe1;
    hs[h++] = 0, hs[h++] = 0, hs[h++] = 0, hs[h++] = 1;
    hs[h++] = 4;
    memcpy(hs + h, SCID_S, 4), h += 4;
    hs[h++] = 5;
    memcpy(hs + h, SCID_C, 5), h += 5;
    h += put_varint(hs + h, 40, 1);
    memset(hs + h, 0x66, 40), h += 40;

    put(c, 1, g_dgram, n, 1 * SEC);
    put(c, 0, s, k, 1 * SEC + 1);
    put(c, 1, hs, h, 1 * SEC + 2);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "QUIC_SCID"), "5e5e5e01");
    assert_string_equal(csv(0, "QUIC_OCCID"), "c1c2c3c4c5");
    assert_string_equal(csv(0, "QUIC_OSCID"), "d3e8e06049a4f6b2");
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[129|129|132]");
    assert_int_equal(u64(0, "QUIC_SERVER_PORT"), 443);
}

/* Retry: its SCID and token length; the client's next Initial is keyed by that SCID. */
static void test_quic_retry(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    static const uint8_t token[20] = {9, 9, 9};
    uint8_t r[100];
    size_t k = 0;
    fp_cache_t *c = start();

    put(c, 1, g_dgram, n, 1 * SEC);
    r[k++] = 0xf0;
    r[k++] = 0, r[k++] = 0, r[k++] = 0, r[k++] = 1;
    r[k++] = 5;
    memcpy(r + k, SCID_C, 5), k += 5;
    r[k++] = 8;
    memcpy(r + k, CID_B, 8), k += 8;
    memcpy(r + k, token, 20), k += 20;
    memset(r + k, 0xee, 16), k += 16; /* integrity tag */
    put(c, 0, r, k, 1 * SEC + 1);
    initial_t again = {V1, CID_B, 8, SCID_C, 5, token, 20, 1, NULL, 0, false};
    n = client_initial(g_dgram, &again, "other.example");
    put(c, 1, g_dgram, n, 1 * SEC + 2);
    finish(c);

    assert_int_equal(g_nrec[0], 1);
    assert_string_equal(csv(0, "QUIC_RETRY_SCID"), "b0b1b2b3b4b5b6b7");
    assert_int_equal(u64(0, "QUIC_TOKEN_LENGTH"), 20);
    assert_string_equal(csv(0, "QUIC_OSCID"), "d3e8e06049a4f6b2");
    assert_string_equal(csv_text(0, "QUIC_SNI"),
                        "www.example.org"); /* the answer to a Retry adds nothing */
    assert_int_equal(u64(0, "QUIC_MULTIPLEXED"), 0);
    assert_int_equal(u64(0, "QUIC_CH_PARSED"), 1);
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[129|136|129]");
}

/* Two connections' ClientHellos in one flow; a repeated one is not multiplexing. */
static void test_quic_multiplexed(void **state)
{
    (void)state;
    initial_t a = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    initial_t d = {V1, DCID_D, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    fp_cache_t *c = start();
    size_t n = client_initial(g_dgram, &a, "a.example");

    put(c, 1, g_dgram, n, 1 * SEC);
    put(c, 1, g_dgram, n, 1 * SEC + 1); /* a retransmission */
    n = client_initial(g_dgram, &d, "b.example");
    put(c, 1, g_dgram, n, 1 * SEC + 2);
    finish(c);
    assert_int_equal(u64(0, "QUIC_MULTIPLEXED"), 1);
    assert_string_equal(csv_text(0, "QUIC_SNI"), "a.example");
    assert_string_equal(csv(0, "QUIC_OSCID"), "d3e8e06049a4f6b2");
}

/* 0-RTT coalesced after the Initial: counted, and the datagram keeps the version unset. */
static void test_quic_zero_rtt(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    fp_cache_t *c = start();
    size_t k = n;

    for (int i = 0; i < 2; i++) {
        g_dgram[k++] = 0xd1;
        g_dgram[k++] = 0, g_dgram[k++] = 0, g_dgram[k++] = 0, g_dgram[k++] = 1;
        g_dgram[k++] = 8;
        memcpy(g_dgram + k, DCID_A, 8), k += 8;
        g_dgram[k++] = 5;
        memcpy(g_dgram + k, SCID_C, 5), k += 5;
        k += put_varint(g_dgram + k, 30, 1);
        memset(g_dgram + k, 0x42, 30), k += 30;
    }
    put(c, 1, g_dgram, k, 1 * SEC);
    finish(c);
    assert_int_equal(u64(0, "QUIC_ZERO_RTT"), 2);
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[131]");
    assert_int_equal(u64(0, "QUIC_VERSION"), 0);
    assert_int_equal(u64(0, "QUIC_CLIENT_VERSION"), 1);
    assert_int_equal(u64(0, "QUIC_CH_PARSED"), 1);
}

/* QUIC version 2 (RFC 9369) and draft 29 Initials. */
static void test_quic_versions(void **state)
{
    (void)state;
    static const uint32_t vers[] = {V2, D29};
    for (size_t i = 0; i < 2; i++) {
        initial_t in = {vers[i], DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
        size_t n = client_initial(g_dgram, &in, "v.example");
        fp_cache_t *c = start();
        put(c, 1, g_dgram, n, 1 * SEC);
        finish(c);
        assert_int_equal(u64(0, "QUIC_CH_PARSED"), 1);
        assert_int_equal(u64(0, "QUIC_VERSION"), vers[i]);
        assert_string_equal(csv_text(0, "QUIC_SNI"), "v.example");
        assert_string_equal(csv(0, "QUIC_PACKETS"), "[129]");
    }
}

/* Not QUIC: no record; later datagrams of a QUIC flow are listed (30 at most). */
static void test_quic_not_quic(void **state)
{
    (void)state;
    initial_t in = {V1, DCID_A, 8, SCID_C, 5, NULL, 0, 0, NULL, 0, false};
    size_t n = client_initial(g_dgram, &in, "www.example.org");
    static const uint8_t shorthdr[] = {0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint8_t dns[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    static const uint8_t unknown[] = {0xc0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0};
    fp_cache_t *c = start();

    put_pkt(c, 1, 1, false, dns, sizeof(dns), 0, 1 * SEC);
    put_pkt(c, 1, 2, false, unknown, sizeof(unknown), 0, 1 * SEC);
    put_pkt(c, 1, 3, true, g_dgram, n, 0, 1 * SEC); /* TCP */
    put_pkt(c, 1, 4, false, shorthdr, 0, 0, 1 * SEC);
    put(c, 1, g_dgram, n, 1 * SEC);
    for (int i = 0; i < 40; i++)
        put(c, i & 1, shorthdr, sizeof(shorthdr), 1 * SEC + 1 + (uint64_t)i);
    finish(c);
    assert_int_equal(g_nout, 5);
    for (size_t i = 0; i < g_nout; i++) {
        if (g_flow[i].src_port != CPORT) {
            assert_int_equal(g_nrec[i], 0);
            continue;
        }
        assert_int_equal(g_nrec[i], 1);
        const fk_field_t *f = field("QUIC_PACKETS");
        assert_int_equal(fk_field_count(f, g_rec[i]), 30);
        assert_int_equal(fk_field_u64(f, g_rec[i], 0), 129);
        for (size_t j = 1; j < 30; j++)
            assert_int_equal(fk_field_u64(f, g_rec[i], j), 128);
    }

    /* A record can start late: earlier packets show 0. */
    c = start();
    put(c, 1, shorthdr, sizeof(shorthdr), 1 * SEC);
    put(c, 0, shorthdr, sizeof(shorthdr), 1 * SEC);
    put(c, 1, g_dgram, n, 1 * SEC);
    finish(c);
    assert_string_equal(csv(0, "QUIC_PACKETS"), "[0|0|129]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quic_keys),
        cmocka_unit_test(test_quic_initial),
        cmocka_unit_test(test_quic_split_hello),
        cmocka_unit_test(test_quic_bad_tag),
        cmocka_unit_test(test_quic_cid_lengths),
        cmocka_unit_test(test_quic_cid_past_end),
        cmocka_unit_test(test_quic_truncated),
        cmocka_unit_test(test_quic_hostile_frames),
        cmocka_unit_test(test_quic_version_negotiation),
        cmocka_unit_test(test_quic_server_packets),
        cmocka_unit_test(test_quic_retry),
        cmocka_unit_test(test_quic_multiplexed),
        cmocka_unit_test(test_quic_zero_rtt),
        cmocka_unit_test(test_quic_versions),
        cmocka_unit_test(test_quic_not_quic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
