/*
 * tls.c - ipfixprobe's "tls" plugin: SNI, ALPN, version, JA3, JA4 and the
 * extension list of the TLS ClientHello (and the server's ALPN and version).
 *
 * Semantics follow ipfixprobe 5.7.0 (process tls.cpp, tls_parser.cpp):
 *   - every packet of a flow (either direction, any transport) is offered to
 *     the hello reader (probe/proto/tls_hello.c) until a ServerHello has been
 *     read after a ClientHello;
 *   - a ClientHello attaches the record and sets TLS_VERSION (legacy_version),
 *     TLS_SNI (the first server name of at most 253 bytes, "" when none is
 *     that short), TLS_JA3 (MD5, 16 bytes), TLS_JA4, and, once per flow, the
 *     first 30 extension types and lengths in wire order (GREASE included).
 *     A later ClientHello (e.g. after a HelloRetryRequest) updates all of
 *     these but the extension lists;
 *   - a ServerHello after that sets TLS_ALPN (the first protocol, same length
 *     rule) and, when it has supported_versions, TLS_VERSION to the selected
 *     version (so TLS 1.3 flows show 772);
 *   - a ServerHello before any ClientHello is ignored (ipfixprobe stashes it
 *     in a scratch record that the next flow with a ClientHello inherits;
 *     that leak is not reproduced).
 *   - TLS_JA4 is ipfixprobe's variant of FoxIO's JA4 (see tls_hello.c); the
 *     option ja4=foxio exports FoxIO's definition instead.  The first
 *     character is 'q' on UDP, 't' otherwise, as ipfixprobe decides it.
 *
 * Beyond ipfixprobe: a hello that does not fit in its first TCP segment is
 * reassembled (in order, by sequence number; a gap or a capture cut short
 * abandons it) in a buffer claimed from a shared pool for as long as the
 * flow needs it, so large post-quantum ClientHellos are read too.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"
#include "../proto/tls_hello.h"

#define TLS_STR_CAP   255 /* ipfixprobe's BUFF_SIZE: names of up to 253 bytes */
#define TLS_NAME_MAX  (TLS_STR_CAP - 2)
#define TLS_RB_SIZE   (5 + 16384 + 256) /* one TLSPlaintext record (RFC 8446 5.1) */
#define TLS_RB_COUNT  256               /* hellos reassembled at the same time */
#define TLS_PROTO_TCP 6
#define TLS_PROTO_UDP 17

/*
 * Outputs read the record through tls_fields, so the member order is free:
 * what every copy and clear touches (counts, JA3, JA4, the extension lists,
 * the heads of the two names) sits in the first few cache lines, and the
 * long tails of the names last.
 */
typedef struct tls_record_st {
    uint16_t version; /* ClientHello legacy_version, then the ServerHello's selection */
    uint16_t ja3_len; /* 16 once a ClientHello was read */
    uint16_t n_ext;   /* entries in ext_type and ext_len */
    uint8_t ja3[16];  /* MD5 of the JA3 string */
    char ja4[FK_TLS_JA4_LEN + 1];
    uint16_t ext_type[FK_TLS_EXT_MAX];
    uint16_t ext_len[FK_TLS_EXT_MAX];
    char sni[TLS_STR_CAP];
    char alpn[TLS_STR_CAP];
} tls_record_t;

/*
 * Zeroed when a flow is created.  The record is a body (plugin.h), taken
 * and cleared by the flow's first ClientHello.
 */
typedef struct tls_state_st {
    void *body;        /* the tls_record_t; NULL: none yet */
    uint8_t has;       /* a ClientHello was read: the record is attached */
    uint8_t sh_parsed; /* a ServerHello was read after it: nothing more to do */
    uint8_t rb_rev;    /* direction of the hello being reassembled */
    uint32_t rb;       /* reassembly buffer handle (0: none) */
    uint32_t rb_seq;   /* TCP sequence number of the next byte expected */
    uint32_t rb_have;  /* bytes in the buffer */
    uint32_t rb_need;  /* bytes of the record (at most TLS_RB_SIZE) */
} tls_state_t;

typedef struct tls_ctx_st {
    unsigned ja4_flags;    /* FK_JA4_IPFIXPROBE unless ja4=foxio */
    fk_hello_pool_t *bufs; /* reassembly buffers */
} tls_ctx_t;

static const fk_optspec_t tls_opts[] = {
    {"j", "ja4", "MODE", "TLS_JA4 as 'ipfixprobe' exports it (default) or as 'foxio' defines it"},
    {NULL, NULL, NULL, NULL},
};

static const fk_field_t tls_fields[] = {
    FK_U16(tls_record_t, version, "TLS_VERSION", "tls_version", 39499, 333, 0),
    FK_STR(tls_record_t, sni, "TLS_SNI", "tls_sni", 8057, 808, 0),
    FK_STR(tls_record_t, alpn, "TLS_ALPN", "tls_alpn", 39499, 337, 0),
    FK_BYTES(tls_record_t, ja3, ja3_len, "TLS_JA3", "tls_ja3", 39499, 357, 0),
    FK_STR(tls_record_t, ja4, "TLS_JA4", "tls_ja4", 8057, 809, 0),
    /* basicLists of CESNET elements 802/803, as ipfixprobe encodes them */
    FK_ARRAY(FK_T_A_U16, 2, tls_record_t, ext_type, n_ext, "TLS_EXT_TYPE", "tls_ext_type", 8057,
             802, 0),
    FK_ARRAY(FK_T_A_U16, 2, tls_record_t, ext_len, n_ext, "TLS_EXT_LEN", "tls_ext_len", 8057, 803,
             0),
};

static int tls_init(void **ctxp, const fk_opts_t *opts, fk_err_t *e)
{
    tls_ctx_t *x = calloc(1, sizeof(*x));

    if (!x) {
        fk_errf(e, "tls: out of memory");
        return -1;
    }
    x->ja4_flags = FK_JA4_IPFIXPROBE;
    for (size_t i = 0; opts && i < opts->n; i++) {
        const char *v = opts->kv[i].value;
        if (fk_opts_lookup(opts, i, tls_opts, "tls", e) < 0)
            goto fail;
        if (strcmp(v, "foxio") == 0) {
            x->ja4_flags = 0;
        } else if (strcmp(v, "ipfixprobe") != 0) {
            fk_errf(e, "tls: option '%s': expected 'ipfixprobe' or 'foxio', got '%s'",
                    opts->kv[i].key, v);
            goto fail;
        }
    }
    x->bufs = fk_hello_pool_new(TLS_RB_COUNT, TLS_RB_SIZE, false);
    if (!x->bufs) {
        fk_errf(e, "tls: cannot allocate the reassembly buffers");
        goto fail;
    }
    *ctxp = x;
    return 0;
fail:
    fk_hello_pool_free(x->bufs);
    free(x);
    return -1;
}

static void tls_fini(void *ctx)
{
    tls_ctx_t *x = ctx;

    if (!x)
        return;
    fk_hello_pool_free(x->bufs);
    free(x);
}

/* Store a name into a TLS_STR_CAP string: the chosen name, or "" when none fits. */
static void tls_put_name(char *dst, const uint8_t *name, size_t n)
{
    if (!name)
        n = 0;
    if (n)
        memcpy(dst, name, n);
    dst[n] = 0;
}

/* What ipfixprobe's parse_tls does with a hello it could read. */
static void tls_apply(tls_ctx_t *x, tls_state_t *st, const fk_tls_hello_t *h,
                      const fp_hookpkt_t *hp)
{
    tls_record_t *r = st->body;
    const uint8_t *name;
    size_t n;

    if (h->type == FK_TLS_SERVER_HELLO) {
        uint16_t v;
        if (!st->has)
            return; /* (so r is the body) */
        if (fk_tls_alpn(h, TLS_NAME_MAX, &name, &n))
            tls_put_name(r->alpn, name, n);
        if (fk_tls_selected_version(h, &v))
            r->version = v;
        st->sh_parsed = 1;
        return;
    }

    if (!st->has &&
        !(r = fp_plugin_record(hp, st, tls_fields, sizeof(tls_fields) / sizeof(tls_fields[0]))))
        return;
    r->version = h->version;
    if (fk_tls_sni(h, TLS_NAME_MAX, &name, &n))
        tls_put_name(r->sni, name, n);
    /* The digests need no OpenSSL context set (see tls_hello.c): nothing to
     * claim.  A repeated hello takes them from this thread's memo. */
    fk_tls_fingerprints(h, hp->pkt->ip_proto == TLS_PROTO_UDP ? 'q' : 't', x->ja4_flags, r->ja3,
                        r->ja4);
    r->ja3_len = sizeof(r->ja3);
    if (r->n_ext == 0) {
        memcpy(r->ext_type, h->ext_type, h->n_kept * sizeof(r->ext_type[0]));
        memcpy(r->ext_len, h->ext_len, h->n_kept * sizeof(r->ext_len[0]));
        r->n_ext = h->n_kept;
    }
    st->has = 1;
}

static void tls_rb_drop(tls_ctx_t *x, tls_state_t *st)
{
    fk_hello_pool_release(x->bufs, st->rb);
    st->rb = 0;
    st->rb_have = st->rb_need = st->rb_seq = 0;
}

/*
 * A hello cut by the end of its first segment: keep the segment in a pool
 * buffer and wait for the rest.  Only for TCP, only when the capture holds
 * the whole segment and the record fits the buffer.
 */
static void tls_rb_start(tls_ctx_t *x, tls_state_t *st, const fk_packet_t *pkt, uint8_t rev)
{
    size_t need;
    uint8_t type;

    if (pkt->ip_proto != TLS_PROTO_TCP || pkt->payload_len < pkt->payload_wire)
        return;
    if (!fk_tls_record_need(pkt->payload, pkt->payload_len, &need, &type))
        return;
    if (need > fk_hello_pool_size(x->bufs) || need <= pkt->payload_len)
        return;
    st->rb = fk_hello_pool_claim(x->bufs);
    if (!st->rb)
        return; /* all buffers busy: this hello goes unread, as in ipfixprobe */
    memcpy(fk_hello_pool_buf(x->bufs, st->rb), pkt->payload, pkt->payload_len);
    st->rb_have = pkt->payload_len;
    st->rb_need = (uint32_t)need;
    st->rb_seq = pkt->tcp_seq + pkt->payload_len;
    st->rb_rev = rev;
}

/* The next segment of the direction being reassembled. */
static void tls_rb_more(tls_ctx_t *x, tls_state_t *st, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    uint32_t len = pkt->payload_len, skip;
    int32_t d = (int32_t)(pkt->tcp_seq - st->rb_seq);
    uint8_t *buf = fk_hello_pool_buf(x->bufs, st->rb);
    fk_tls_hello_t h;

    if (len == 0)
        return;
    if (pkt->payload_len < pkt->payload_wire || d > 0) {
        tls_rb_drop(x, st); /* bytes we will never see: give up */
        return;
    }
    skip = (uint32_t)-d;
    if (skip >= len)
        return; /* an old retransmission */
    uint32_t take = len - skip;
    if (take > st->rb_need - st->rb_have)
        take = st->rb_need - st->rb_have;
    memcpy(buf + st->rb_have, pkt->payload + skip, take);
    st->rb_have += take;
    st->rb_seq += len - skip;
    fk_tls_status_t s = fk_tls_hello_parse(&h, buf, st->rb_have, true);
    if (s == FK_TLS_TRUNCATED && st->rb_have < st->rb_need)
        return; /* wait for more */
    if (s == FK_TLS_OK)
        tls_apply(x, st, &h, hp);
    tls_rb_drop(x, st);
}

/*
 * What tls_packet does with a packet that is not a handshake record and
 * continues no reassembly: nothing (fk_tls_hello_parse says UNSUPPORTED from
 * the first two bytes).  Most payloads offered are such, so the hooks decide
 * it here, inline, before calling tls_packet (whose hello on the stack makes
 * every call dear).
 */
static inline bool tls_skip(const tls_state_t *st, const fk_packet_t *pkt)
{
    const uint8_t *p = pkt->payload;

    /* A packet without payload changes nothing (not even a reassembly). */
    if (!p || pkt->payload_len == 0)
        return true;
    return !st->rb && pkt->payload_len >= 5 && (p[0] != FK_TLS_CT_HANDSHAKE || p[1] != 3);
}

static void tls_packet(tls_ctx_t *x, tls_state_t *st, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    fk_tls_hello_t h;

    if (st->has && st->sh_parsed)
        return; /* ipfixprobe: nothing after the ServerHello */
    if (st->rb) {
        if (hp->rev == st->rb_rev)
            tls_rb_more(x, st, hp);
        return;
    }
    fk_tls_status_t s = fk_tls_hello_parse(&h, pkt->payload, pkt->payload_len, true);
    if (s == FK_TLS_OK) {
        tls_apply(x, st, &h, hp);
    } else if (s == FK_TLS_TRUNCATED) {
        /* Worth waiting for: a ClientHello, or the ServerHello that follows one. */
        uint8_t t = pkt->payload_len > 5 ? pkt->payload[5] : 0;
        if ((t == FK_TLS_CLIENT_HELLO && !st->has) || (t == FK_TLS_SERVER_HELLO && st->has))
            tls_rb_start(x, st, pkt, hp->rev);
    }
}

static int tls_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)flow;
    if (!tls_skip(state, hp->pkt))
        tls_packet(ctx, state, hp);
    return FP_HOOK_OK;
}

static int tls_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    const tls_state_t *st = state;

    (void)flow;
    if (!tls_skip(st, hp->pkt))
        tls_packet(ctx, state, hp);
    /* After the ServerHello every later packet is ignored (tls_packet's
     * first test): the cache may stop offering them. */
    return st->has && st->sh_parsed ? FP_HOOK_DONE : FP_HOOK_OK;
}

static void tls_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    tls_state_t *st = state;

    (void)flow;
    if (st->rb)
        tls_rb_drop(ctx, st);
}

static unsigned tls_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const tls_state_t *)state)->has ? 1 : 0;
}

static const void *tls_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return ((const tls_state_t *)state)->body;
}

const fp_plugin_t fp_plugin_tls = {
    .abi = FP_PLUGIN_ABI,
    .name = "tls",
    .flags = FP_PLUGIN_PAYLOAD_HOOKS, /* tls_packet returns at once without payload */
    .summary =
        "TLS ClientHello/ServerHello: SNI, ALPN, version, JA3, JA4, extension types and lengths",
    .options = tls_opts,
    .fields = tls_fields,
    .nfields = sizeof(tls_fields) / sizeof(tls_fields[0]),
    .record_size = sizeof(tls_record_t),
    .state_size = sizeof(tls_state_t),
    .body_size = sizeof(tls_record_t),
    .init = tls_init,
    .fini = tls_fini,
    .post_create = tls_post_create,
    .pre_update = tls_pre_update,
    .pre_export = tls_pre_export,
    .records = tls_records,
    .record = tls_record,
};
