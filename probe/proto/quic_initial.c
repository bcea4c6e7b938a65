/*
 * quic_initial.c - QUIC Initial packet protection and CRYPTO frames (see
 * quic_initial.h).
 *
 * Versions and salts follow ipfixprobe 5.7 (quic_parser.cpp): which
 * versions it reads, the draft number it maps each to, and the salt that
 * number selects.  The key schedule is RFC 9001 5.2 (RFC 9369 3.3.1-3.3.2
 * for version 2):
 *
 *   initial_secret = HKDF-Extract(salt, client_dst_connection_id)
 *   client_secret  = HKDF-Expand-Label(initial_secret, "client in", "", 32)
 *   key = HKDF-Expand-Label(client_secret, "quic key", "", 16)   ("quicv2 key")
 *   iv  = HKDF-Expand-Label(client_secret, "quic iv", "", 12)    ("quicv2 iv")
 *   hp  = HKDF-Expand-Label(client_secret, "quic hp", "", 16)    ("quicv2 hp")
 *
 * HKDF (RFC 5869) is written out over HMAC-SHA-256 (RFC 2104) on the
 * caller's reusable EVP digest context (no context is created per packet);
 * SHA-256, AES-128-ECB and AES-128-GCM are OpenSSL's.
 */
#include "quic_initial.h"

#include <string.h>

#include <openssl/evp.h>

/* ------------------------------------------------------------------------ */
/* Versions.                                                                 */

unsigned fk_quic_draft(uint32_t version, bool *v2)
{
    unsigned low = version & 0xff;
    bool dummy;

    if (!v2)
        v2 = &dummy;
    *v2 = false;
    /* IETF drafts: 0xff0000xx. */
    if ((version >> 8) == 0xff0000 && low >= 1 && low <= 34)
        return low;
    /* RFC 9000 15: 0x?a?a?a?a forces version negotiation; read as version 1. */
    if ((version & 0x0f0f0f0f) == 0x0a0a0a0a)
        return 35;
    switch (version & 0xfffffff0) {
    case 0xabcd0000: /* msquic */
        return 29;
    case 0xf0f0f0f0: /* ETH Zurich */
    case 0xf0f0f1f0: /* Telecom Italia */
    case 0x07007000: /* Tencent */
    case 0xf0f0f2f0: /* quinn noise */
    case 0x5c100000: /* QUIC over SCION */
        return 35;
    case 0xf123f0c0: /* mozquic */
        return 14;
    default:
        break;
    }
    switch (version & 0xffffff00) {
    case 0x45474700: /* quant: the low byte is the draft */
        return low;
    case 0x51474f00: /* quic-go */
    case 0x91c17000: /* quicly */
        return 35;
    default:
        break;
    }
    switch (version) {
    case FK_QUIC_VERSION_NEG:
        return 1;
    case 0xfaceb000: /* mvfst (old): draft 22 with the draft 21 salt */
        return 20;
    case 0xfaceb001:
        return 22;
    case 0xfaceb002:
    case 0xfaceb00d:
    case 0xfaceb00e:
    case 0xfaceb00f:
    case 0xfaceb010:
    case 0xfaceb011:
    case 0xfaceb012:
    case 0xfaceb013:
        return 27; /* mvfst: the draft 23 salt */
    case FK_QUIC_V1:
        return 35;
    case 0x50435130: /* picoquic internal */
    case 0x50435131:
        return 36;
    case 0xff020000: /* version 2 draft 00 */
    case 0x709a50c4: /* version 2 drafts 01+ */
        *v2 = true;
        return 100;
    case FK_QUIC_V2:
        *v2 = true;
        return 101;
    default:
        return FK_QUIC_DRAFT_UNKNOWN;
    }
}

bool fk_quic_supported(uint32_t version)
{
    unsigned d = fk_quic_draft(version, NULL);
    return d > 0 && d < FK_QUIC_DRAFT_UNKNOWN;
}

static const uint8_t g_salt_d7[20] = {0xaf, 0xc8, 0x24, 0xec, 0x5f, 0xc7, 0x7e, 0xca, 0x1e, 0x9d,
                                      0x36, 0xf3, 0x7f, 0xb2, 0xd4, 0x65, 0x18, 0xc3, 0x66, 0x39};
static const uint8_t g_salt_d10[20] = {0x9c, 0x10, 0x8f, 0x98, 0x52, 0x0a, 0x5c, 0x5c, 0x32, 0x96,
                                       0x8e, 0x95, 0x0e, 0x8a, 0x2c, 0x5f, 0xe0, 0x6d, 0x6c, 0x38};
static const uint8_t g_salt_d17[20] = {0xef, 0x4f, 0xb0, 0xab, 0xb4, 0x74, 0x70, 0xc4, 0x1b, 0xef,
                                       0xcf, 0x80, 0x31, 0x33, 0x4f, 0xae, 0x48, 0x5e, 0x09, 0xa0};
static const uint8_t g_salt_d21[20] = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
                                       0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
static const uint8_t g_salt_d23[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                                       0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
static const uint8_t g_salt_d29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                       0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
/* RFC 9001 5.2 */
static const uint8_t g_salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                      0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
static const uint8_t g_salt_pico[20] = {0x30, 0x67, 0x16, 0xd7, 0x63, 0x75, 0xd5, 0x55, 0x4b, 0x2f,
                                        0x60, 0x5e, 0xef, 0x78, 0xd8, 0x33, 0x3d, 0xc1, 0xca, 0x36};
static const uint8_t g_salt_v2d[20] = {0xa7, 0x07, 0xc2, 0x03, 0xa5, 0x9b, 0x47, 0x18, 0x4a, 0x1d,
                                       0x62, 0xca, 0x57, 0x04, 0x06, 0xea, 0x7a, 0xe3, 0xe5, 0xd3};
/* RFC 9369 3.3.1 */
static const uint8_t g_salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                      0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

const uint8_t *fk_quic_salt(uint32_t version)
{
    bool v2;
    unsigned d = fk_quic_draft(version, &v2);

    if (version == FK_QUIC_VERSION_NEG || d == 0 || d >= FK_QUIC_DRAFT_UNKNOWN)
        return NULL;
    if (v2)
        return d <= 100 ? g_salt_v2d : g_salt_v2;
    if (d <= 9)
        return g_salt_d7;
    if (d <= 16)
        return g_salt_d10;
    if (d <= 20)
        return g_salt_d17;
    if (d <= 22)
        return g_salt_d21;
    if (d <= 28)
        return g_salt_d23;
    if (d <= 32)
        return g_salt_d29;
    if (d <= 35)
        return g_salt_v1;
    if (d <= 36)
        return g_salt_pico;
    return NULL;
}

uint8_t fk_quic_packet_type(uint8_t first, bool v2)
{
    uint8_t t = (first >> 4) & 3;

    if (!v2)
        return t;
    /* RFC 9369 3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00. */
    static const uint8_t map[4] = {FK_QUIC_RETRY, FK_QUIC_INITIAL, FK_QUIC_0RTT, FK_QUIC_HANDSHAKE};
    return map[t];
}

bool fk_quic_varint(fk_cursor_t *c, uint64_t *v)
{
    uint8_t b;

    if (!fk_cur_peek_u8(c, 0, &b))
        return false;
    size_t n = (size_t)1 << (b >> 6);
    if (!fk_cur_has(c, n))
        return false;
    *v = b & 0x3f;
    for (size_t i = 1; i < n; i++)
        *v = *v << 8 | c->p[i];
    c->p += n;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Keys.                                                                     */

#define SHA256_LEN   32
#define SHA256_BLOCK 64

/* HMAC-SHA-256 (RFC 2104) of m1 || m2 under `key` (at most one block long here). */
static int quic_hmac(EVP_MD_CTX *md, const uint8_t *key, size_t klen, const uint8_t *m1, size_t n1,
                     const uint8_t *m2, size_t n2, uint8_t out[SHA256_LEN])
{
    uint8_t k[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK], inner[SHA256_LEN];
    unsigned n = 0;

    if (klen > SHA256_BLOCK)
        return -1; /* every key here is a salt, a connection ID or a secret: <= 32 bytes */
    memcpy(k, key, klen);
    for (int i = 0; i < SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    /* md is bound to SHA-256 (fk_hello_crypto_init): a NULL type re-initialises it as it is. */
    if (EVP_DigestInit_ex(md, NULL, NULL) != 1 || EVP_DigestUpdate(md, pad, sizeof(pad)) != 1 ||
        EVP_DigestUpdate(md, m1, n1) != 1 || (n2 && EVP_DigestUpdate(md, m2, n2) != 1) ||
        EVP_DigestFinal_ex(md, inner, &n) != 1)
        return -1;
    for (int i = 0; i < SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    if (EVP_DigestInit_ex(md, NULL, NULL) != 1 || EVP_DigestUpdate(md, pad, sizeof(pad)) != 1 ||
        EVP_DigestUpdate(md, inner, sizeof(inner)) != 1 || EVP_DigestFinal_ex(md, out, &n) != 1)
        return -1;
    return 0;
}

/*
 * HKDF-Expand-Label(secret, label, "", len) (RFC 8446 7.1) for len <= 32,
 * where HKDF-Expand needs one HMAC: T(1) = HMAC(secret, HkdfLabel || 0x01).
 */
static int quic_expand_label(EVP_MD_CTX *md, const uint8_t secret[SHA256_LEN], const char *label,
                             uint8_t *out, size_t len)
{
    uint8_t info[2 + 1 + 6 + 32 + 1 + 1], t[SHA256_LEN];
    size_t ll = strlen(label), n = 0;

    if (len > SHA256_LEN || 6 + ll > 32)
        return -1;
    info[n++] = (uint8_t)(len >> 8);
    info[n++] = (uint8_t)len;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0; /* empty context */
    info[n++] = 1; /* HKDF-Expand counter */
    if (quic_hmac(md, secret, SHA256_LEN, info, n, NULL, 0, t) < 0)
        return -1;
    memcpy(out, t, len);
    return 0;
}

int fk_quic_client_keys(fk_hello_crypto_t *c, uint32_t version, const uint8_t *dcid,
                        size_t dcid_len, fk_quic_keys_t *k)
{
    const uint8_t *salt = fk_quic_salt(version);
    uint8_t initial[SHA256_LEN], client[SHA256_LEN];
    bool v2 = false;

    if (!c || !c->md || !salt || dcid_len > FK_QUIC_MAX_CID)
        return -1;
    fk_quic_draft(version, &v2);
    if (quic_hmac(c->md, salt, 20, dcid ? dcid : (const uint8_t *)"", dcid_len, NULL, 0, initial) <
            0 ||
        quic_expand_label(c->md, initial, "client in", client, SHA256_LEN) < 0 ||
        quic_expand_label(c->md, client, v2 ? "quicv2 key" : "quic key", k->key, 16) < 0 ||
        quic_expand_label(c->md, client, v2 ? "quicv2 iv" : "quic iv", k->iv, 12) < 0 ||
        quic_expand_label(c->md, client, v2 ? "quicv2 hp" : "quic hp", k->hp, 16) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Packet protection.                                                        */

#define QUIC_SAMPLE 16
#define QUIC_TAG    16

int fk_quic_open_initial(fk_hello_crypto_t *c, const fk_quic_keys_t *k, const uint8_t *pkt,
                         size_t pn_off, size_t length, uint8_t *out, size_t cap, size_t *outlen,
                         uint64_t *pn)
{
    EVP_CIPHER_CTX *ecb, *gcm;
    uint8_t mask[16], first, pnb[4], nonce[12];
    int l = 0;

    if (!c || !c->ecb || !c->gcm)
        return -1;
    ecb = c->ecb;
    gcm = c->gcm;
    /*
     * RFC 9001 5.4.2: the sample starts 4 bytes after the packet number
     * starts, whatever the packet number's length.
     */
    if (length < 4 + QUIC_SAMPLE)
        return -1;
    if (EVP_EncryptInit_ex(ecb, NULL, NULL, k->hp, NULL) != 1 ||
        EVP_EncryptUpdate(ecb, mask, &l, pkt + pn_off + 4, QUIC_SAMPLE) != 1 || l != 16)
        return -1;
    /* RFC 9001 5.4.1: long headers protect the low 4 bits of the first byte. */
    first = pkt[0] ^ (mask[0] & 0x0f);
    size_t pn_len = (size_t)(first & 3) + 1;
    if (length < pn_len + QUIC_TAG + 1)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < pn_len; i++) {
        pnb[i] = pkt[pn_off + i] ^ mask[1 + i];
        n = n << 8 | pnb[i];
    }
    size_t ct_len = length - pn_len - QUIC_TAG;
    if (ct_len > cap)
        return -1;
    /* RFC 9001 5.3: nonce = iv XOR the packet number, left-padded to 12 bytes. */
    memcpy(nonce, k->iv, sizeof(nonce));
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(n >> (8 * i));
    const uint8_t *ct = pkt + pn_off + pn_len;
    /* The header, unprotected, is the associated data: fed in three pieces, not copied. */
    if (EVP_DecryptInit_ex(gcm, NULL, NULL, k->key, nonce) != 1 ||
        EVP_DecryptUpdate(gcm, NULL, &l, &first, 1) != 1 ||
        (pn_off > 1 && EVP_DecryptUpdate(gcm, NULL, &l, pkt + 1, (int)(pn_off - 1)) != 1) ||
        EVP_DecryptUpdate(gcm, NULL, &l, pnb, (int)pn_len) != 1 ||
        EVP_DecryptUpdate(gcm, out, &l, ct, (int)ct_len) != 1 || (size_t)l != ct_len ||
        EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_AEAD_SET_TAG, QUIC_TAG, (void *)(ct + ct_len)) != 1 ||
        EVP_DecryptFinal_ex(gcm, out + l, &l) != 1)
        return -1;
    *outlen = ct_len;
    *pn = n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* CRYPTO stream.                                                            */

void fk_quic_crypto_init(fk_quic_crypto_t *c, uint8_t *buf, uint32_t cap)
{
    memset(c, 0, sizeof(*c));
    c->buf = buf;
    c->cap = buf ? cap : 0;
}

void fk_quic_crypto_add(fk_quic_crypto_t *c, uint64_t off, const uint8_t *p, size_t n)
{
    uint32_t lo, hi;
    unsigned i, j;

    c->any = 1;
    if (off >= c->cap || n == 0)
        return;
    lo = (uint32_t)off;
    hi = (uint64_t)n > c->cap - lo ? c->cap : lo + (uint32_t)n;
    /* Ranges [i, j) overlap or touch [lo, hi): they merge with it. */
    for (i = 0; i < c->n && c->r[i].hi < lo; i++)
        ;
    for (j = i; j < c->n && c->r[j].lo <= hi; j++)
        ;
    if (i == j && c->n == FK_QUIC_CRYPTO_RANGES) {
        c->overflow = 1;
        return;
    }
    memcpy(c->buf + lo, p, hi - lo);
    if (i == j) {
        memmove(&c->r[i + 1], &c->r[i], (c->n - i) * sizeof(c->r[0]));
        c->r[i].lo = lo;
        c->r[i].hi = hi;
        c->n++;
        return;
    }
    if (c->r[i].lo < lo)
        lo = c->r[i].lo;
    if (c->r[j - 1].hi > hi)
        hi = c->r[j - 1].hi;
    c->r[i].lo = lo;
    c->r[i].hi = hi;
    memmove(&c->r[i + 1], &c->r[j], (c->n - j) * sizeof(c->r[0]));
    c->n = (uint8_t)(c->n - (j - i - 1));
}

uint32_t fk_quic_crypto_prefix(const fk_quic_crypto_t *c)
{
    return c->n && c->r[0].lo == 0 ? c->r[0].hi : 0;
}

/* Skip n varints; false when the payload ends first. */
static bool quic_skip_varints(fk_cursor_t *c, unsigned n)
{
    uint64_t v;

    while (n--)
        if (!fk_quic_varint(c, &v))
            return false;
    return true;
}

int fk_quic_initial_frames(const uint8_t *p, size_t n, fk_quic_crypto_t *crypto)
{
    fk_cursor_t c = fk_cur_make(p, n);
    uint64_t v, off, len, count;
    uint8_t type;

    while (fk_cur_u8(&c, &type)) {
        switch (type) {
        case 0x00: /* PADDING (RFC 9000 19.1) */
        case 0x01: /* PING (19.2) */
            break;
        case 0x02: /* ACK (19.3): largest, delay, range count, first range, ranges */
        case 0x03: /* ACK with ECN counts */
            if (!quic_skip_varints(&c, 2) || !fk_quic_varint(&c, &count) ||
                !quic_skip_varints(&c, 1))
                return FK_QUIC_FRAMES_OK;
            /* Each range is at least 2 bytes: a count beyond the payload is a lie. */
            if (count > fk_cur_left(&c) / 2)
                return FK_QUIC_FRAMES_OK;
            if (!quic_skip_varints(&c, (unsigned)count * 2) ||
                (type == 0x03 && !quic_skip_varints(&c, 3)))
                return FK_QUIC_FRAMES_OK;
            break;
        case 0x06: /* CRYPTO (19.6): offset, length, data */
            if (!fk_quic_varint(&c, &off) || !fk_quic_varint(&c, &len))
                return FK_QUIC_FRAMES_OK;
            if (len > fk_cur_left(&c))
                len = fk_cur_left(&c); /* ipfixprobe keeps what is there */
            fk_quic_crypto_add(crypto, off, c.p, (size_t)len);
            c.p += len;
            break;
        case 0x1c: /* CONNECTION_CLOSE (19.19): error code, frame type, reason */
        case 0x1d: /* ... application variant: no frame type */
            if (!quic_skip_varints(&c, type == 0x1c ? 2 : 1) || !fk_quic_varint(&c, &v) ||
                !fk_cur_skip(&c, v > fk_cur_left(&c) ? fk_cur_left(&c) + 1 : (size_t)v))
                return FK_QUIC_FRAMES_OK;
            break;
        default:
            return FK_QUIC_FRAMES_BAD;
        }
    }
    return FK_QUIC_FRAMES_OK;
}
