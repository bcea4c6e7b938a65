/*
 * quic.c - ipfixprobe's "quic" plugin: what the client's Initial packets
 * reveal once decrypted (RFC 9001 5: their keys derive from public data),
 * plus connection IDs, versions and packet types of every long header.
 *
 * Semantics follow ipfixprobe 5.7.0 (quic.cpp, quic_parser.cpp); each UDP
 * datagram of a flow is one step:
 *   - The datagram is QUIC when it is at least 8 bytes, starts with a long
 *     header and carries a version ipfixprobe knows (quic_initial.c).  Its
 *     coalesced packets (RFC 9000 12.2) are walked: each long header records
 *     its version, connection IDs (an empty one keeps the previous packet's)
 *     and type; a 0-RTT packet is counted; an Initial's Length above 1500, a
 *     Handshake's too, or an Initial header cut short make the datagram not
 *     QUIC; the first Initial is decrypted with the client keys of the DCID
 *     stored for the flow, else of its own DCID, and its CRYPTO frames read
 *     for a TLS ClientHello (probe/proto/tls_hello.c).
 *   - A flow gets a record with its first QUIC datagram.  QUIC_PACKETS holds,
 *     for each of the flow's first 30 packets, the types seen in it as bits
 *     (Initial 1, 0-RTT 2, Handshake 4, Retry 8, version negotiation 16) plus
 *     0x80 when the first byte has the QUIC bit (RFC 9287); non-QUIC
 *     datagrams of a flow with a record count too (QUIC bit only).
 *   - QUIC_VERSION is the last long header's version of the latest datagram
 *     without 0-RTT; QUIC_CLIENT_VERSION, QUIC_OSCID (the client Initial's
 *     DCID) and QUIC_OCCID (its SCID) come from the first ClientHello;
 *     QUIC_SNI, QUIC_USER_AGENT (Google's transport parameter 0x3129) and
 *     QUIC_SERVER_PORT from every ClientHello of the same connection, while a
 *     ClientHello with another DCID and SNI counts in QUIC_MULTIPLEXED
 *     instead; QUIC_TOKEN_LENGTH is the token length of the latest
 *     ClientHello's Initial (UINT64_MAX before one); the extension types and
 *     lengths (first 30) and QUIC_TLS_EXT (the ALPN and transport parameters
 *     extension bodies, concatenated while they fit 1500 bytes) come from
 *     the first ClientHello; QUIC_SCID, QUIC_RETRY_SCID and the server port
 *     follow ipfixprobe's direction rules (quic_set_cids below).
 *   - A version negotiation packet exports the flow at once.
 *   - Connection IDs are compared as ipfixprobe compares them, with strncmp
 *     (so only up to the first zero byte).
 *
 * Where this differs from ipfixprobe 5.7.0, and why:
 *   - 5.7.0 drops every datagram in which no TLS handshake was decrypted
 *     (its quic_set_server_port fails without one), so server packets never
 *     set QUIC_SCID, QUIC_VERSION, QUIC_RETRY_SCID or the retry token length.
 *     That is a regression of its refactoring (4.x accepted them) and
 *     contradicts its own field descriptions; the 4.x rule is used here.
 *   - A ClientHello split over several Initial packets is reassembled (the
 *     CRYPTO stream is kept per flow in a pool buffer until it is whole);
 *     5.7.0 reads each datagram alone and misses such hellos.
 *   - After a Retry, the stored DCID gets the Retry SCID's length, not its
 *     DCID's (5.7.0 mixes them; it then decrypts with its fallback anyway).
 *   - Every read is bounded by the datagram: a Length, token length or
 *     CRYPTO frame that runs past the capture is not followed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"
#include "../proto/quic_initial.h"
#include "../proto/tls_hello.h"

#define QUIC_STR_CAP      255 /* ipfixprobe's BUFF_SIZE */
#define QUIC_NAME_MAX     (QUIC_STR_CAP - 2)
#define QUIC_MAX_PKTS     30   /* QUIC_MAX_ELEMCOUNT */
#define QUIC_TLS_EXT_CAP  1500 /* CURRENT_BUFFER_SIZE */
#define QUIC_MAX_LENGTH   1500 /* an Initial/Handshake Length above this: not QUIC */
#define QUIC_MIN_DGRAM    8    /* first byte, version, two CID lengths, one more byte */
#define QUIC_NO_TOKEN     UINT64_MAX
#define QUIC_CRYPTO_CAP   4096 /* ClientHello bytes reassembled (post-quantum ones are ~1.9 kB) */
#define QUIC_RB_COUNT     256  /* flows reassembling a ClientHello at the same time */
#define QUIC_CR_COUNT     64   /* OpenSSL context sets (one per busy worker) */
#define QUIC_PROTO_UDP    17
#define QUIC_TYPE_UNKNOWN 0xff

/* QUIC_PACKETS bits. */
#define QUIC_F_INITIAL   0x01
#define QUIC_F_0RTT      0x02
#define QUIC_F_HANDSHAKE 0x04
#define QUIC_F_RETRY     0x08
#define QUIC_F_VN        0x10
#define QUIC_F_QUIC_BIT  0x80 /* the fixed bit 0x40 of the first byte, shifted */

typedef struct quic_record_st {
    uint64_t token_length;
    uint32_t version;
    uint32_t client_version;
    uint16_t server_port;
    uint16_t occid_len, oscid_len, scid_len, retry_scid_len;
    uint16_t n_pkt; /* last packet position stored + 1 */
    uint16_t n_ext; /* extension types and lengths */
    uint16_t tls_ext_len;
    uint8_t multiplexed;
    uint8_t zero_rtt;
    uint8_t ch_parsed;
    uint8_t occid[FK_QUIC_MAX_CID];      /* client's SCID */
    uint8_t oscid[FK_QUIC_MAX_CID];      /* client's first DCID */
    uint8_t scid[FK_QUIC_MAX_CID];       /* server's SCID */
    uint8_t retry_scid[FK_QUIC_MAX_CID]; /* SCID of the Retry */
    uint8_t pkt_types[QUIC_MAX_PKTS];
    uint16_t ext_type[FK_TLS_EXT_MAX];
    uint16_t ext_len[FK_TLS_EXT_MAX];
    char sni[QUIC_STR_CAP];
    char user_agent[QUIC_STR_CAP];
    uint8_t tls_ext[QUIC_TLS_EXT_CAP];
} quic_record_t;

/*
 * Only the body pointer, `has` and `ready` are zeroed when a flow is
 * created (state_zero); the rest is zeroed by the flow's first UDP datagram
 * (`ready`), and again when a datagram that started to be read turns out
 * not to be QUIC on a flow without a record.  The record (2.3 kB) is a body
 * (plugin.h), taken and zeroed when the flow gets its record.  So the many
 * flows that are not QUIC neither carry nor clear it.
 */
typedef struct quic_state_st {
    void *body;    /* the quic_record_t, once `has` */
    uint8_t has;   /* the flow carries a record */
    uint8_t ready; /* the fields below, up to r, are initialised */
    uint8_t occid_set, oscid_set, scid_set, client_version_set, ext_set;
    uint8_t ch_seen;          /* a ClientHello was read */
    uint8_t from_server_seen; /* a QUIC datagram was seen going to the client */
    uint8_t cnt_retry;        /* Retry packets (wraps as ipfixprobe's uint8_t) */
    /* DCID the client Initial keys derive from (RFC 9001 5.2) */
    uint8_t initial_dcid_len;
    uint8_t initial_dcid[FK_QUIC_MAX_CID];
    /* CIDs seen before the direction was known, first of each direction */
    uint16_t dir_dport, dir_dport2;
    uint8_t dir_scid_len, dir_dcid_len, dir_scid_len2, dir_dcid_len2;
    uint8_t dir_scid[FK_QUIC_MAX_CID], dir_dcid[FK_QUIC_MAX_CID];
    uint8_t dir_scid2[FK_QUIC_MAX_CID], dir_dcid2[FK_QUIC_MAX_CID];
    /* CRYPTO stream of a ClientHello spanning Initial packets */
    uint32_t rb;        /* pool buffer handle, 0 = none */
    uint8_t rb_cid_len; /* the DCID whose keys opened it */
    uint8_t rb_cid[FK_QUIC_MAX_CID];
    fk_quic_crypto_t fc; /* ranges (buf is set only while in use) */
} quic_state_t;

#define QUIC_R(st) ((quic_record_t *)(st)->body) /* the record, once `has` */

typedef struct quic_ctx_st {
    fk_hello_pool_t *bufs;
    fk_hello_pool_t *crypto;
} quic_ctx_t;

/* What one datagram showed (ipfixprobe's per-packet QUICParser). */
typedef struct quic_dgram_st {
    uint32_t version; /* of the last long header read */
    uint8_t packets;  /* QUIC_F_* */
    uint8_t type;     /* the last header's type; Initial when there was one */
    bool v2;          /* a version 2 header was seen (ipfixprobe's sticky flag) */
    const uint8_t *dcid, *scid;
    uint8_t dcid_len, scid_len; /* the last non-empty ones */
    uint64_t token_length;
    uint16_t server_port;
    uint8_t zero_rtt;
    uint8_t hs_type;      /* TLS handshake type seen in decrypted CRYPTO data */
    bool parsed_initial;  /* a hello was read from an Initial */
    bool parsed_ch;       /* ... and it was a ClientHello */
    fk_tls_hello_t hello; /* that hello (views into the work buffers) */
} quic_dgram_t;

/* Scratch for one datagram. */
typedef struct quic_work_st {
    uint8_t plain[QUIC_MAX_LENGTH];
    uint8_t cbuf[QUIC_CRYPTO_CAP];
    fk_quic_crypto_t dc;
    uint32_t cr_handle;
    fk_hello_crypto_t *cr;
    fk_hello_crypto_t cr_tmp;
    bool release_rb;
} quic_work_t;

static const fk_field_t quic_fields[] = {
    FK_STR(quic_record_t, sni, "QUIC_SNI", "quic_sni", 8057, 890, 0),
    FK_STR(quic_record_t, user_agent, "QUIC_USER_AGENT", "quic_user_agent", 8057, 891, 0),
    FK_U32(quic_record_t, version, "QUIC_VERSION", "quic_version", 8057, 892, 0),
    FK_U32(quic_record_t, client_version, "QUIC_CLIENT_VERSION", "quic_client_version", 8057, 893,
           0),
    FK_U64(quic_record_t, token_length, "QUIC_TOKEN_LENGTH", "quic_token_length", 8057, 894, 0),
    FK_BYTES(quic_record_t, occid, occid_len, "QUIC_OCCID", "quic_occid", 8057, 895, 0),
    FK_BYTES(quic_record_t, oscid, oscid_len, "QUIC_OSCID", "quic_oscid", 8057, 896, 0),
    FK_BYTES(quic_record_t, scid, scid_len, "QUIC_SCID", "quic_scid", 8057, 897, 0),
    FK_BYTES(quic_record_t, retry_scid, retry_scid_len, "QUIC_RETRY_SCID", "quic_retry_scid", 8057,
             898, 0),
    FK_U8(quic_record_t, multiplexed, "QUIC_MULTIPLEXED", "quic_multiplexed", 8057, 899, 0),
    FK_U8(quic_record_t, zero_rtt, "QUIC_ZERO_RTT", "quic_zero_rtt", 8057, 889, 0),
    FK_U16(quic_record_t, server_port, "QUIC_SERVER_PORT", "quic_server_port", 8057, 887, 0),
    /* basicLists of CESNET elements 888/885/884, as ipfixprobe encodes them */
    FK_ARRAY(FK_T_A_U8, 1, quic_record_t, pkt_types, n_pkt, "QUIC_PACKETS", "quic_packets", 8057,
             888, 0),
    FK_U8(quic_record_t, ch_parsed, "QUIC_CH_PARSED", "quic_ch_parsed", 8057, 886, 0),
    FK_ARRAY(FK_T_A_U16, 2, quic_record_t, ext_type, n_ext, "QUIC_TLS_EXT_TYPE",
             "quic_tls_ext_type", 8057, 885, 0),
    FK_ARRAY(FK_T_A_U16, 2, quic_record_t, ext_len, n_ext, "QUIC_TLS_EXT_LEN", "quic_tls_ext_len",
             8057, 884, 0),
    FK_BYTES(quic_record_t, tls_ext, tls_ext_len, "QUIC_TLS_EXT", "quic_tls_ext", 8057, 883, 0),
};

static int quic_init(void **ctxp, const fk_opts_t *opts, fk_err_t *e)
{
    quic_ctx_t *x;

    if (opts && opts->n)
        return fk_errf(e, "quic: unknown option '%s'; the plugin takes none", opts->kv[0].key);
    x = calloc(1, sizeof(*x));
    if (!x)
        return fk_errf(e, "quic: out of memory");
    x->bufs = fk_hello_pool_new(QUIC_RB_COUNT, QUIC_CRYPTO_CAP, false);
    x->crypto = fk_hello_pool_new(QUIC_CR_COUNT, 0, true);
    if (!x->bufs || !x->crypto) {
        fk_hello_pool_free(x->bufs);
        fk_hello_pool_free(x->crypto);
        free(x);
        return fk_errf(e, "quic: cannot allocate the reassembly buffers or OpenSSL contexts");
    }
    *ctxp = x;
    return 0;
}

static void quic_fini(void *ctx)
{
    quic_ctx_t *x = ctx;

    if (!x)
        return;
    fk_hello_pool_free(x->bufs);
    fk_hello_pool_free(x->crypto);
    free(x);
}

/* ------------------------------------------------------------------------ */
/* One datagram.                                                             */

static fk_hello_crypto_t *quic_crypto(quic_ctx_t *x, quic_work_t *w)
{
    if (w->cr)
        return w->cr;
    w->cr_handle = fk_hello_pool_claim(x->crypto);
    w->cr = fk_hello_pool_crypto(x->crypto, w->cr_handle);
    if (!w->cr && fk_hello_crypto_init(&w->cr_tmp) == 0)
        w->cr = &w->cr_tmp; /* more busy workers than sets: one set for this datagram */
    return w->cr;
}

/* The CRYPTO stream holds a whole handshake message from offset 0. */
static bool quic_hs_complete(const fk_quic_crypto_t *c, uint32_t *msg)
{
    uint32_t have = fk_quic_crypto_prefix(c);

    if (have < 4)
        return false;
    *msg = 4 + ((uint32_t)c->buf[1] << 16 | (uint32_t)c->buf[2] << 8 | c->buf[3]);
    return have >= *msg;
}

/*
 * The ClientHello in a decrypted Initial's CRYPTO data: read it when the
 * datagram holds all of it, else add the data to the flow's reassembly
 * buffer and read it from there once whole.
 */
static void quic_crypto_hello(quic_ctx_t *x, quic_state_t *st, quic_dgram_t *d, quic_work_t *w,
                              const uint8_t *cid, uint8_t cid_len)
{
    fk_quic_crypto_t *src = &w->dc;
    uint32_t msg = 0;

    if (quic_hs_complete(src, &msg)) {
        if (st->rb)
            w->release_rb = true; /* a whole hello here: any partial one is moot */
    } else if (src->n) {
        bool same = st->rb && st->rb_cid_len == cid_len &&
                    (cid_len == 0 || memcmp(st->rb_cid, cid, cid_len) == 0);
        if (!same) {
            if (!st->rb)
                st->rb = fk_hello_pool_claim(x->bufs);
            if (st->rb) {
                fk_quic_crypto_init(&st->fc, NULL, 0);
                st->rb_cid_len = cid_len;
                if (cid_len)
                    memcpy(st->rb_cid, cid, cid_len);
            }
        }
        if (st->rb) {
            fk_quic_crypto_t fc = st->fc;
            fc.buf = fk_hello_pool_buf(x->bufs, st->rb);
            fc.cap = QUIC_CRYPTO_CAP;
            for (unsigned i = 0; i < src->n; i++)
                fk_quic_crypto_add(&fc, src->r[i].lo, src->buf + src->r[i].lo,
                                   src->r[i].hi - src->r[i].lo);
            st->fc = fc;
            st->fc.buf = NULL;
            w->dc = fc; /* read from the flow's buffer from here on */
            src = &w->dc;
            if (quic_hs_complete(src, &msg))
                w->release_rb = true; /* after this datagram: the hello's views point into it */
        }
    }
    /* ipfixprobe's "handshake seen": type 1/2 and a version byte of 3 (6 bytes). */
    if (fk_quic_crypto_prefix(src) >= 6 &&
        (src->buf[0] == FK_TLS_CLIENT_HELLO || src->buf[0] == FK_TLS_SERVER_HELLO) &&
        src->buf[4] == 3)
        d->hs_type = src->buf[0];
    if (msg && fk_quic_crypto_prefix(src) >= msg &&
        fk_tls_hello_parse(&d->hello, src->buf, msg, false) == FK_TLS_OK) {
        d->parsed_initial = true;
        d->parsed_ch = d->hello.type == FK_TLS_CLIENT_HELLO;
    }
}

/* Decrypt the Initial at pkt (pn at pn_off, Length `length`) and look for the hello. */
static void quic_initial(quic_ctx_t *x, quic_state_t *st, quic_dgram_t *d, quic_work_t *w,
                         const uint8_t *pkt, size_t avail, size_t pn_off, uint64_t length)
{
    fk_hello_crypto_t *cr;
    fk_quic_keys_t k;
    size_t n = 0;
    uint64_t pn;

    if (length > avail - pn_off)
        return; /* the packet runs past the capture: it cannot be authenticated */
    cr = quic_crypto(x, w);
    if (!cr)
        return;
    /* First the DCID the flow's keys derive from, then this packet's own (ipfixprobe's order). */
    const uint8_t *cid = st->initial_dcid_len ? st->initial_dcid : d->dcid;
    uint8_t cid_len = st->initial_dcid_len ? st->initial_dcid_len : d->dcid_len;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt) {
            cid = d->dcid;
            cid_len = d->dcid_len;
        }
        if (fk_quic_client_keys(cr, d->version, cid, cid_len, &k) == 0 &&
            fk_quic_open_initial(cr, &k, pkt, pn_off, (size_t)length, w->plain, sizeof(w->plain),
                                 &n, &pn) == 0)
            break;
        n = 0;
        if (attempt)
            return;
    }
    fk_quic_crypto_init(&w->dc, w->cbuf, sizeof(w->cbuf));
    if (fk_quic_initial_frames(w->plain, n, &w->dc) != FK_QUIC_FRAMES_OK || !w->dc.any)
        return;
    quic_crypto_hello(x, st, d, w, cid, cid_len);
}

/* ipfixprobe's quic_set_server_port, after each coalesced packet. */
static void quic_dgram_port(quic_dgram_t *d, const fk_packet_t *pkt)
{
    switch (d->type) {
    case FK_QUIC_INITIAL:
        if (d->hs_type == FK_TLS_CLIENT_HELLO)
            d->server_port = pkt->dst_port;
        else if (d->hs_type == FK_TLS_SERVER_HELLO)
            d->server_port = pkt->src_port;
        break; /* e.g. an Initial with only an ACK tells nothing */
    case FK_QUIC_VN:
    case FK_QUIC_RETRY:
        d->server_port = pkt->src_port;
        break;
    case FK_QUIC_0RTT:
        d->server_port = pkt->dst_port;
        break;
    default:
        break; /* Handshake: either direction */
    }
}

/*
 * Walk the coalesced packets of a datagram whose first packet passed the
 * long-header test.  false: not QUIC after all (ipfixprobe's early returns).
 */
static bool quic_dgram(quic_ctx_t *x, quic_state_t *st, quic_dgram_t *d, quic_work_t *w,
                       const fk_packet_t *pkt)
{
    const uint8_t *p = pkt->payload;
    size_t len = pkt->payload_len, off = 0;
    fk_cursor_t c;
    uint64_t v;

    while (len - off >= QUIC_MIN_DGRAM) {
        size_t start = off;
        if (!(p[start] & 0x80))
            break; /* a short header: nothing more to read */
        d->version = fk_load_be32(p + start + 1);
        bool v2 = false;
        fk_quic_draft(d->version, &v2);
        d->v2 |= v2;
        if (d->version != FK_QUIC_VERSION_NEG && !fk_quic_salt(d->version))
            break;
        uint8_t dl = p[start + 5];
        off = start + 6;
        if (off >= len)
            break;
        if (dl) {
            /* ipfixprobe keeps a CID that runs past the datagram (and copies it later): not here.
             */
            if (dl > FK_QUIC_MAX_CID || dl >= len - off)
                break;
            d->dcid = p + off;
            d->dcid_len = dl;
            off += dl;
        }
        if (off >= len)
            break;
        uint8_t sl = p[off++];
        if (off >= len)
            break;
        if (sl) {
            if (sl > FK_QUIC_MAX_CID || sl >= len - off)
                break;
            d->scid = p + off;
            d->scid_len = sl;
            off += sl;
        }
        if (off >= len)
            break;
        if (d->version == FK_QUIC_VERSION_NEG) {
            d->packets |= QUIC_F_VN;
            d->type = FK_QUIC_VN;
        } else {
            d->type = fk_quic_packet_type(p[start], d->v2);
            d->packets |= (uint8_t)(1u << d->type);
        }

        c = fk_cur_make(p + off, len - off);
        switch (d->type) {
        case FK_QUIC_0RTT:
            if (d->zero_rtt < 0xff)
                d->zero_rtt++;
            if (fk_quic_varint(&c, &v)) {
                off = len - fk_cur_left(&c);
                off += v < len - off ? (size_t)v : len - off;
            } else {
                off = len; /* cut short: this is the last packet */
            }
            break;
        case FK_QUIC_HANDSHAKE:
            if (!fk_quic_varint(&c, &v) || v > QUIC_MAX_LENGTH)
                return false;
            off = len - fk_cur_left(&c);
            off += v < len - off ? (size_t)v : len - off;
            break;
        case FK_QUIC_INITIAL: {
            if (!fk_quic_varint(&c, &d->token_length) || fk_cur_left(&c) == 0 ||
                d->token_length >= fk_cur_left(&c))
                return false;
            fk_cur_skip(&c, (size_t)d->token_length);
            uint64_t length;
            if (!fk_quic_varint(&c, &length) || length > QUIC_MAX_LENGTH || fk_cur_left(&c) <= 4)
                return false;
            size_t pn_off = (size_t)(c.p - (p + start));
            if (!d->parsed_initial)
                quic_initial(x, st, d, w, p + start, len - start, pn_off, length);
            off = len - fk_cur_left(&c);
            off += length < len - off ? (size_t)length : len - off;
            break;
        }
        case FK_QUIC_RETRY:
            /* The token is what precedes the 16-byte integrity tag (RFC 9000 17.2.5). */
            d->token_length = (uint64_t)(len - off) - 16; /* wraps when short, as ipfixprobe */
            break;
        default:
            break; /* version negotiation: the version list is not walked */
        }
        quic_dgram_port(d, pkt);
        if (d->type == FK_QUIC_RETRY)
            break;
    }
    if (d->packets & QUIC_F_INITIAL)
        d->type = FK_QUIC_INITIAL;
    return d->packets != 0;
}

/* ------------------------------------------------------------------------ */
/* The flow.                                                                 */

/* strncmp over NUL-padded connection IDs: ipfixprobe's comparison (see the top). */
static int quic_cid_cmp(const uint8_t *a, uint8_t alen, const uint8_t *b, size_t n)
{
    uint8_t pa[FK_QUIC_MAX_CID] = {0};

    if (a && alen)
        memcpy(pa, a, alen);
    for (size_t i = 0; i < n && i < FK_QUIC_MAX_CID; i++) {
        if (pa[i] != b[i])
            return pa[i] < b[i] ? -1 : 1;
        if (pa[i] == 0)
            return 0;
    }
    return 0;
}

static void quic_cid_put(uint8_t *set, uint8_t *dst, uint16_t *dst_len, const uint8_t *src,
                         uint8_t len)
{
    if (*set)
        return;
    if (src && len)
        memcpy(dst, src, len);
    *dst_len = len;
    *set = 1;
}

/* The same with an 8-bit length (the direction store). */
static void quic_cid_keep(uint8_t *dst, uint8_t *dst_len, const uint8_t *src, uint8_t len)
{
    if (src && len)
        memcpy(dst, src, len);
    *dst_len = len;
}

static void quic_pkt_type(quic_state_t *st, const fp_flow_t *flow, uint8_t packets)
{
    uint32_t pos = flow->packets + flow->packets_rev - 1;

    if (pos < QUIC_MAX_PKTS) {
        QUIC_R(st)->pkt_types[pos] = packets;
        QUIC_R(st)->n_pkt = (uint16_t)(pos + 1);
    }
}

/* get_direction_to_server_and_set_port: 1 to the server, 0 from it, -1 unknown. */
static int quic_dir(quic_state_t *st, const quic_dgram_t *d, const fk_packet_t *pkt, bool fresh)
{
    int to = -1;

    if (d->server_port)
        to = pkt->dst_port == d->server_port;
    else if (!fresh && QUIC_R(st)->server_port)
        to = pkt->dst_port == QUIC_R(st)->server_port;
    if (to != -1 && QUIC_R(st)->server_port == 0)
        QUIC_R(st)->server_port = d->server_port;
    if (to == 0)
        st->from_server_seen = 1;
    return to;
}

/* CIDs seen before the server port was known, applied once it is (set_stored_cid_fields). */
static void quic_stored_one(quic_state_t *st, uint16_t dport, const uint8_t *scid, uint8_t scid_len,
                            const uint8_t *dcid, uint8_t dcid_len)
{
    quic_record_t *r = QUIC_R(st);

    if (dport == r->server_port) {
        if (st->ch_seen && st->from_server_seen)
            quic_cid_put(&st->scid_set, r->scid, &r->scid_len, dcid, dcid_len);
        quic_cid_put(&st->occid_set, r->occid, &r->occid_len, scid, scid_len);
    } else {
        quic_cid_put(&st->scid_set, r->scid, &r->scid_len, scid, scid_len);
        quic_cid_put(&st->occid_set, r->occid, &r->occid_len, dcid, dcid_len);
    }
}

static void quic_stored_cids(quic_state_t *st, bool fresh)
{
    if (fresh || QUIC_R(st)->server_port == 0 || st->dir_dport == 0)
        return;
    quic_stored_one(st, st->dir_dport, st->dir_scid, st->dir_scid_len, st->dir_dcid,
                    st->dir_dcid_len);
    st->dir_dport = 0;
    if (st->dir_dport2) {
        quic_stored_one(st, st->dir_dport2, st->dir_scid2, st->dir_scid_len2, st->dir_dcid2,
                        st->dir_dcid_len2);
        st->dir_dport2 = 0;
    }
}

/* set_cid_fields: OCCID and SCID by direction, or stored until it is known. */
static void quic_set_cids(quic_state_t *st, const fp_flow_t *flow, const quic_dgram_t *d, int to,
                          bool fresh, const fk_packet_t *pkt)
{
    quic_record_t *r = QUIC_R(st);
    /* Packets the server sent, as ipfixprobe's uint8_t holds them. */
    uint8_t from_server =
        (uint8_t)(d->server_port == flow->src_port ? flow->packets : flow->packets_rev);

    switch (to) {
    case 1:
        quic_stored_cids(st, fresh);
        if (!st->scid_set && st->from_server_seen && (int)from_server - 1 != st->cnt_retry)
            quic_cid_put(&st->scid_set, r->scid, &r->scid_len, d->dcid, d->dcid_len);
        quic_cid_put(&st->occid_set, r->occid, &r->occid_len, d->scid, d->scid_len);
        break;
    case 0:
        quic_stored_cids(st, fresh);
        quic_cid_put(&st->occid_set, r->occid, &r->occid_len, d->dcid, d->dcid_len);
        if (st->from_server_seen)
            quic_cid_put(&st->scid_set, r->scid, &r->scid_len, d->scid, d->scid_len);
        break;
    default:
        if (st->dir_dport && !st->dir_dport2 && st->dir_dport != pkt->dst_port) {
            quic_cid_keep(st->dir_scid2, &st->dir_scid_len2, d->scid, d->scid_len);
            quic_cid_keep(st->dir_dcid2, &st->dir_dcid_len2, d->dcid, d->dcid_len);
            st->dir_dport2 = pkt->dst_port;
        }
        if (!st->dir_dport) {
            quic_cid_keep(st->dir_scid, &st->dir_scid_len, d->scid, d->scid_len);
            quic_cid_keep(st->dir_dcid, &st->dir_dcid_len, d->dcid, d->dcid_len);
            st->dir_dport = pkt->dst_port;
        }
        break;
    }
}

static void quic_copy_name(char *dst, const uint8_t *name, size_t n)
{
    if (!name)
        n = 0;
    if (n)
        memcpy(dst, name, n);
    dst[n] = 0;
}

/* set_client_hello_fields: a new connection's ClientHello, a repeat, or multiplexing. */
static void quic_ch_fields(quic_state_t *st, const quic_dgram_t *d, bool fresh)
{
    quic_record_t *r = QUIC_R(st);
    char sni[QUIC_STR_CAP] = "", ua[QUIC_STR_CAP] = "";
    const uint8_t *name;
    size_t n;

    r->token_length = d->token_length;
    /* A ClientHello answering a Retry (token, DCID = Retry SCID): nothing new. */
    if (d->token_length != QUIC_NO_TOKEN && d->token_length > 0 &&
        QUIC_R(st)->retry_scid_len == d->dcid_len &&
        quic_cid_cmp(d->dcid, d->dcid_len, r->retry_scid, d->dcid_len) == 0)
        return;
    if (fk_tls_sni(&d->hello, QUIC_NAME_MAX, &name, &n))
        quic_copy_name(sni, name, n);
    if (fk_tls_quic_user_agent(&d->hello, QUIC_NAME_MAX, &name, &n))
        quic_copy_name(ua, name, n);
    bool same_cid = quic_cid_cmp(d->dcid, d->dcid_len, r->oscid, d->dcid_len) == 0 ||
                    (st->from_server_seen && d->dcid_len == r->scid_len &&
                     quic_cid_cmp(d->dcid, d->dcid_len, r->scid, d->dcid_len) == 0);
    if (fresh || !st->ch_seen || (same_cid && strcmp(r->sni, sni) == 0)) {
        r->server_port = d->server_port;
        memcpy(r->sni, sni, sizeof(sni));
        memcpy(r->user_agent, ua, sizeof(ua));
        quic_cid_put(&st->oscid_set, r->oscid, &r->oscid_len, d->dcid, d->dcid_len);
        quic_cid_put(&st->occid_set, r->occid, &r->occid_len, d->scid, d->scid_len);
        if (!st->client_version_set) {
            r->client_version = d->version;
            st->client_version_set = 1;
        }
    } else if (r->multiplexed < 0xff) {
        r->multiplexed++;
    }
}

/* The first ClientHello's extension lists and ALPN/transport parameter bodies. */
static void quic_ext_fields(quic_state_t *st, const fk_tls_hello_t *h)
{
    quic_record_t *r = QUIC_R(st);
    fk_cursor_t x = h->exts, body;
    uint16_t type;
    size_t pos = 0;

    if (st->ext_set)
        return;
    memcpy(r->ext_type, h->ext_type, h->n_kept * sizeof(r->ext_type[0]));
    memcpy(r->ext_len, h->ext_len, h->n_kept * sizeof(r->ext_len[0]));
    r->n_ext = h->n_kept;
    while (fk_tls_ext_next(&x, &type, &body)) {
        size_t n = fk_cur_left(&body);
        if (pos + n >= sizeof(r->tls_ext))
            continue;
        if (type == FK_TLS_EXT_ALPN || type == FK_TLS_EXT_QUIC_TP ||
            type == FK_TLS_EXT_QUIC_TP_DRAFT || type == FK_TLS_EXT_QUIC_TP_OLD) {
            memcpy(r->tls_ext + pos, body.p, n);
            pos += n;
        }
    }
    r->tls_ext_len = (uint16_t)pos;
    st->ext_set = 1;
}

static void quic_rb_release(quic_ctx_t *x, quic_state_t *st)
{
    fk_hello_pool_release(x->bufs, st->rb);
    st->rb = 0;
    st->rb_cid_len = 0;
    fk_quic_crypto_init(&st->fc, NULL, 0);
}

static int quic_step(quic_ctx_t *x, quic_state_t *st, const fp_flow_t *flow, const fp_hookpkt_t *hp,
                     quic_work_t *w)
{
    const fk_packet_t *pkt = hp->pkt;
    quic_record_t *r = QUIC_R(st);

    /* Only a UDP flow can ever hold a record: a TCP segment leaves even the
     * state untouched. */
    if (pkt->ip_proto != QUIC_PROTO_UDP)
        return FP_HOOK_OK;
    if (!st->ready) {
        memset(&st->ready + 1, 0, sizeof(*st) - offsetof(quic_state_t, ready) - 1);
        st->ready = 1;
    }
    bool fresh = !st->has;
    quic_dgram_t d;
    const uint8_t *p = pkt->payload;
    uint8_t b0 = p && pkt->payload_len ? p[0] : 0;

    /* Most datagrams (and every TCP segment) fail the first look: nothing to
     * forget then, since a flow without a record keeps its state zeroed. */
    if (pkt->ip_proto != QUIC_PROTO_UDP || pkt->payload_len < QUIC_MIN_DGRAM || !(b0 & 0x80) ||
        !fk_quic_supported(fk_load_be32(p + 1))) {
        if (!fresh)
            quic_pkt_type(st, flow, (uint8_t)((b0 & 0x40) << 1));
        return FP_HOOK_OK;
    }
    memset(&d, 0, sizeof(d));
    d.token_length = QUIC_NO_TOKEN;
    d.type = QUIC_TYPE_UNKNOWN;
    d.packets = (uint8_t)((b0 & 0x40) << 1);
    if (!quic_dgram(x, st, &d, w, pkt)) {
        if (fresh) {
            /* No record yet, and none now: leave no trace (ipfixprobe deletes it). */
            if (st->rb)
                quic_rb_release(x, st);
            memset(&st->has, 0, sizeof(*st) - offsetof(quic_state_t, has));
            st->ready = 1;
        } else {
            quic_pkt_type(st, flow, d.packets);
        }
        return FP_HOOK_OK;
    }

    if (fresh) {
        /* CIDs are compared past their lengths and QUIC_PACKETS may start
         * after position 0: the record must be all zeros, not just empty. */
        if (!(r = fp_plugin_body(hp, st)))
            return FP_HOOK_OK;
        memset(r, 0, sizeof(*r));
        st->has = 1;
        r->token_length = QUIC_NO_TOKEN;
        r->n_pkt = 1;
    }
    quic_pkt_type(st, flow, d.packets);
    if (!(d.packets & QUIC_F_0RTT))
        r->version = d.version;
    int to = quic_dir(st, &d, pkt, fresh);
    if (d.packets & QUIC_F_0RTT)
        r->zero_rtt = (uint8_t)(r->zero_rtt + d.zero_rtt < 0xff ? r->zero_rtt + d.zero_rtt : 0xff);
    if (d.version == FK_QUIC_VERSION_NEG) {
        quic_set_cids(st, flow, &d, to, fresh, pkt);
        return FP_HOOK_FLUSH; /* the connection attempt is over */
    }
    r->ch_parsed |= d.parsed_ch;

    switch (d.type) {
    case FK_QUIC_INITIAL:
        if (st->initial_dcid_len == 0 && d.dcid_len) {
            memcpy(st->initial_dcid, d.dcid, d.dcid_len);
            st->initial_dcid_len = d.dcid_len;
        }
        if (d.parsed_initial && d.hs_type == FK_TLS_CLIENT_HELLO) {
            quic_stored_cids(st, fresh);
            quic_ch_fields(st, &d, fresh);
            st->ch_seen = 1;
            quic_ext_fields(st, &d.hello);
            break;
        }
        to = quic_dir(st, &d, pkt, fresh);
        quic_set_cids(st, flow, &d, to, fresh, pkt);
        break;
    case FK_QUIC_HANDSHAKE:
        quic_set_cids(st, flow, &d, to, fresh, pkt);
        break;
    case FK_QUIC_RETRY:
        /* RFC 9000 17.2.5.2: a client processes at most one Retry. */
        if (++st->cnt_retry == 1) {
            if (d.scid_len)
                memcpy(r->retry_scid, d.scid, d.scid_len);
            r->retry_scid_len = d.scid_len;
            /* The client's next Initial keys derive from the Retry's SCID. */
            quic_cid_keep(st->initial_dcid, &st->initial_dcid_len, d.scid, d.scid_len);
            r->token_length = d.token_length;
        }
        quic_cid_put(&st->occid_set, r->occid, &r->occid_len, d.dcid, d.dcid_len);
        break;
    case FK_QUIC_0RTT:
        /* Same CIDs as the client's Initial; the DCID may already be the server's. */
        quic_cid_put(&st->occid_set, r->occid, &r->occid_len, d.scid, d.scid_len);
        break;
    default:
        break;
    }
    return FP_HOOK_OK;
}

static int quic_packet(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    quic_ctx_t *x = ctx;
    quic_state_t *st = state;
    quic_work_t w;

    /* As quic_step would say, without its 6 kB of scratch.  The protocol is
     * part of the flow key: the cache need not offer this flow's later
     * packets (FP_HOOK_DONE; from post_create it means OK). */
    if (hp->pkt->ip_proto != QUIC_PROTO_UDP)
        return FP_HOOK_DONE;

    w.cr = NULL;
    w.cr_handle = 0;
    w.release_rb = false;
    int rc = quic_step(x, st, flow, hp, &w);
    if (w.release_rb && st->rb)
        quic_rb_release(x, st);
    if (w.cr == &w.cr_tmp)
        fk_hello_crypto_fini(&w.cr_tmp);
    else
        fk_hello_pool_release(x->crypto, w.cr_handle);
    return rc;
}

static void quic_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    quic_state_t *st = state;

    (void)flow;
    if (st->ready && st->rb)
        quic_rb_release(ctx, st);
}

static unsigned quic_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const quic_state_t *)state)->has ? 1 : 0;
}

static const void *quic_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return ((const quic_state_t *)state)->body;
}

const fp_plugin_t fp_plugin_quic = {
    .abi = FP_PLUGIN_ABI,
    .name = "quic",
    .summary = "QUIC: decrypted client Initial (SNI, user agent, TLS extensions), versions, "
               "connection IDs, packet types",
    .fields = quic_fields,
    .nfields = sizeof(quic_fields) / sizeof(quic_fields[0]),
    .record_size = sizeof(quic_record_t),
    .state_size = sizeof(quic_state_t),
    .state_zero = offsetof(quic_state_t, ready) + 1,
    .body_size = sizeof(quic_record_t),
    .init = quic_init,
    .fini = quic_fini,
    .post_create = quic_packet,
    .post_update = quic_packet,
    .pre_export = quic_pre_export,
    .records = quic_records,
    .record = quic_record,
};
