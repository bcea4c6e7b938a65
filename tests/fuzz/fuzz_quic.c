/*
 * fuzz_quic.c - libFuzzer target for QUIC Initial handling: the frame walker
 * and CRYPTO reassembly (probe/proto/quic_initial.c), and the quic plugin
 * through the real packet parser and flow cache.
 *
 * Input: a selector byte, then
 *   mode 0: a decrypted Initial payload: frames are walked into a small
 *           reassembly buffer and, when a whole handshake message is there,
 *           read as a hello;
 *   mode 1: datagrams for one UDP flow, each as [flags][len:2][bytes]
 *           (flags bit 0: from the server), fed to the quic plugin as they
 *           are (header parsing, state, non-QUIC datagrams, truncation);
 *   mode 2: like mode 1, but each datagram's bytes are first sealed as a
 *           valid client Initial (version, CIDs and token from the flags
 *           byte), so the fuzzer steers the decrypted frames and hello
 *           behind the AEAD the plugin must open.
 * Every buffer is a heap block of its exact length (ASan sees any over-read).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"
#include "probe/proto/quic_initial.h"
#include "probe/proto/tls_hello.h"

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "fuzz_quic: invariant failed: %s\n", #cond); \
            abort();                                                     \
        }                                                                \
    } while (0)

static fp_plugin_inst_t g_pi;
static fp_cache_t *g_cache;
static fk_hello_crypto_t g_cr;
static unsigned g_exported;

static const fp_flow_t *on_export(void *arg, fp_flow_t *flow)
{
    const void *st = fp_plugin_state(&g_pi, flow);
    (void)arg;
    if (g_pi.p->records(g_pi.ctx, flow, st)) {
        const uint8_t *rec = g_pi.p->record(g_pi.ctx, flow, st, 0);
        /* Counts never exceed their capacities, and every output can print the record. */
        for (size_t i = 0; i < g_pi.p->nfields; i++) {
            const fk_field_t *f = &g_pi.p->fields[i];
            if (f->type == FK_T_BYTES || fk_ftype_is_array((fk_ftype_t)f->type)) {
                uint16_t raw;
                memcpy(&raw, rec + f->cnt_off, 2);
                CHECK(raw <= f->cap);
            }
            if (f->type == FK_T_STR)
                CHECK(memchr(rec + f->off, 0, f->cap) != NULL);
        }
    }
    g_exported++;
    return NULL;
}

static int setup(void)
{
    fp_cache_cfg_t cfg;
    fk_opts_t o;
    fk_err_t e;

    g_pi.p = fp_plugin_find("quic");
    if (!g_pi.p || fk_opts_parse("quic", &o, &e) < 0)
        return -1;
    if (g_pi.p->init(&g_pi.ctx, &o, &e) < 0)
        return -1;
    fk_opts_free(&o);
    fp_cache_cfg_default(&cfg);
    cfg.size_exp = 8;
    g_cache = fp_cache_new(&cfg, &g_pi, 1, on_export, NULL, &e);
    if (!g_cache || fk_hello_crypto_init(&g_cr) < 0)
        return -1;
    return 0;
}

/* One IPv4/UDP datagram 10.0.0.1:50000 <-> 10.0.0.2:443 through the cache. */
static void feed(const uint8_t *pay, size_t n, bool from_server, uint64_t t)
{
    size_t total = 28 + n;
    uint8_t *f = malloc(total);
    fk_packet_t pkt;

    if (!f)
        return;
    memset(f, 0, 28);
    f[0] = 0x45;
    f[2] = (uint8_t)(total >> 8);
    f[3] = (uint8_t)total;
    f[8] = 64;
    f[9] = 17;
    f[12] = f[16] = 10;
    f[15] = from_server ? 2 : 1;
    f[19] = from_server ? 1 : 2;
    uint16_t sp = from_server ? 443 : 50000, dp = from_server ? 50000 : 443;
    f[20] = (uint8_t)(sp >> 8);
    f[21] = (uint8_t)sp;
    f[22] = (uint8_t)(dp >> 8);
    f[23] = (uint8_t)dp;
    f[24] = (uint8_t)((n + 8) >> 8);
    f[25] = (uint8_t)(n + 8);
    memcpy(f + 28, pay, n);
    fk_packet_parse(&pkt, FK_LINK_RAW, f, (uint32_t)total, (uint32_t)total, t);
    if (fk_packet_has_key(&pkt))
        fp_cache_put(g_cache, &pkt);
    free(f);
}

/* Seal `plain` as a client Initial (keys from the code under test: already checked
 * against RFC 9001 A.1 by the unit tests). Returns the datagram length, 0 on failure. */
static size_t seal(uint8_t *out, size_t cap, uint8_t flags, const uint8_t *plain, size_t plen)
{
    static const uint32_t vers[] = {0x00000001, 0x6b3343cf, 0xff00001d, 0xfaceb002};
    static const uint8_t cid[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    uint32_t v = vers[flags >> 1 & 3];
    size_t dl = (flags >> 3 & 3) * 4, sl = (flags >> 5 & 1) * 5, n = 0;
    fk_quic_keys_t k;
    uint8_t nonce[12], mask[16];
    int l = 0;

    if (plen > 1400 || cap < plen + 80 || fk_quic_client_keys(&g_cr, v, cid, dl, &k) < 0)
        return 0;
    out[n++] = (uint8_t)(0xc1 | (v == 0x6b3343cf ? 0x10 : 0));
    out[n++] = (uint8_t)(v >> 24), out[n++] = (uint8_t)(v >> 16);
    out[n++] = (uint8_t)(v >> 8), out[n++] = (uint8_t)v;
    out[n++] = (uint8_t)dl;
    memcpy(out + n, cid, dl), n += dl;
    out[n++] = (uint8_t)sl;
    memcpy(out + n, cid, sl), n += sl;
    out[n++] = (flags & 0x40) ? 2 : 0; /* token length */
    if (flags & 0x40)
        out[n++] = 0xaa, out[n++] = 0xbb;
    size_t length = 2 + plen + 16;
    out[n++] = (uint8_t)(0x40 | length >> 8);
    out[n++] = (uint8_t)length;
    size_t pn_off = n;
    out[n++] = 0, out[n++] = 7; /* packet number 7 */
    memcpy(nonce, k.iv, 12);
    nonce[11] ^= 7;
    EVP_CIPHER_CTX *g = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    bool ok = g && e && EVP_EncryptInit_ex(g, EVP_aes_128_gcm(), NULL, k.key, nonce) == 1 &&
              EVP_EncryptUpdate(g, NULL, &l, out, (int)n) == 1 &&
              (plen == 0 || EVP_EncryptUpdate(g, out + n, &l, plain, (int)plen) == 1) &&
              EVP_EncryptFinal_ex(g, out + n + plen, &l) == 1 &&
              EVP_CIPHER_CTX_ctrl(g, EVP_CTRL_AEAD_GET_TAG, 16, out + n + plen) == 1;
    n += plen + 16;
    ok = ok && plen + 16 >= 18 && EVP_EncryptInit_ex(e, EVP_aes_128_ecb(), NULL, k.hp, NULL) == 1 &&
         EVP_EncryptUpdate(e, mask, &l, out + pn_off + 4, 16) == 1;
    EVP_CIPHER_CTX_free(g);
    EVP_CIPHER_CTX_free(e);
    if (!ok)
        return 0;
    out[0] ^= mask[0] & 0x0f;
    out[pn_off] ^= mask[1];
    out[pn_off + 1] ^= mask[2];
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;

    if (!ready)
        ready = setup() == 0 ? 1 : -1;
    CHECK(ready > 0);
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 3;
    data++;
    size--;

    if (mode == 0) {
        uint8_t *p = malloc(size ? size : 1), *buf = malloc(512);
        fk_quic_crypto_t c;
        fk_tls_hello_t h;
        CHECK(p && buf);
        memcpy(p, data, size);
        fk_quic_crypto_init(&c, buf, 512);
        int rc = fk_quic_initial_frames(p, size, &c);
        CHECK(rc == FK_QUIC_FRAMES_OK || rc == FK_QUIC_FRAMES_BAD);
        CHECK(c.n <= FK_QUIC_CRYPTO_RANGES);
        for (unsigned i = 0; i < c.n; i++) {
            CHECK(c.r[i].lo < c.r[i].hi && c.r[i].hi <= 512);
            if (i)
                CHECK(c.r[i - 1].hi < c.r[i].lo);
        }
        uint32_t pre = fk_quic_crypto_prefix(&c);
        if (pre >= 4) {
            uint32_t msg = 4 + ((uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3]);
            if (msg <= pre)
                (void)fk_tls_hello_parse(&h, buf, msg, false);
        }
        free(p);
        free(buf);
        return 0;
    }

    /* Modes 1 and 2: a sequence of datagrams of one flow. */
    uint64_t t = 1000000000ULL;
    size_t off = 0;
    while (size - off >= 3) {
        uint8_t flags = data[off];
        size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (n > size - off)
            n = size - off;
        if (mode == 1) {
            uint8_t *d = malloc(n ? n : 1);
            CHECK(d);
            memcpy(d, data + off, n);
            feed(d, n, flags & 1, t);
            free(d);
        } else {
            uint8_t *d = malloc(n + 128);
            CHECK(d);
            size_t m = seal(d, n + 128, flags, data + off, n);
            if (m) {
                uint8_t *exact = malloc(m);
                CHECK(exact);
                memcpy(exact, d, m);
                feed(exact, m, flags & 1, t);
                free(exact);
            }
            free(d);
        }
        off += n;
        t += 1000;
    }
    fp_cache_flush(g_cache); /* every flow exported: state and buffers released */
    return 0;
}
