/*
 * wg.c - ipfixprobe's "wg" plugin: how likely a UDP flow is a WireGuard
 * tunnel, and the session indexes ("peers") each side picked.
 *
 * WireGuard messages (J. A. Donenfeld, "WireGuard: Next Generation Kernel
 * Network Tunnel", section 5.4) start with a type octet and three reserved
 * zero octets; integers are little-endian.  Three have a fixed length:
 *
 *   5.4.2 Handshake Initiation, type 1, 148 octets
 *      0                   1                   2                   3
 *     +---------------+-----------------------------------------------+
 *     |   type = 1    |                reserved (0)                   |
 *     +---------------+-----------------------------------------------+
 *     |                        sender index                           |
 *     +---------------------------------------------------------------+
 *     | ephemeral (32) | static (32+16) | timestamp (12+16) | mac1 | mac2
 *
 *   5.4.3 Handshake Response, type 2, 92 octets:
 *     type, reserved, sender index, receiver index, ephemeral (32),
 *     empty (0+16), mac1 (16), mac2 (16)
 *   5.4.7 Cookie Reply, type 3, 64 octets:
 *     type, reserved, receiver index, nonce (24), cookie (16+16)
 *   5.4.6 Transport Data, type 4, at least 32 octets:
 *     type, reserved, receiver index, counter (8), packet (n+16)
 *
 * The sender index is chosen by the side that sends it, the receiver index
 * names the side a message goes to.  WG_SRC_PEER is the index the flow's SRC
 * host chose, WG_DST_PEER the one DST chose.
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on wg.pcap):
 *   - only UDP flows, and only when the flow's first packet is a WireGuard
 *     message; otherwise the flow never carries a record;
 *   - every later packet must be one as well: the first that is not sets
 *     WG_CONF_LEVEL to 0 and ends the parsing (the record stays, with the
 *     peers seen so far);
 *   - WG_CONF_LEVEL is 100, or 1 when octets 4..7 are 00 01 00 00 (the
 *     header of a DNS query with one question could pass all the checks);
 *     each parsed packet sets it again;
 *   - a Handshake Initiation whose sender index differs from the one known
 *     for its side starts a new session: the flow is exported without the
 *     packet and re-created from it (FP_HOOK_FLUSH_REINSERT; the cache then
 *     keeps SRC/DST and starts the new record at the old one's last packet,
 *     as ipfixprobe's record reuse does);
 *   - lengths are compared with the captured payload, as ipfixprobe does: a
 *     message cut by the snap length is not WireGuard;
 *   - transport data may have any length from 32 octets: the padding to 16
 *     octets is not guaranteed (an MTU-sized packet is not padded), which is
 *     why ipfixprobe dropped its "multiple of 16" test (its PR #200).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"

#define WG_PROTO_UDP 17

enum {
    WG_TYPE_INITIATION = 1,
    WG_TYPE_RESPONSE = 2,
    WG_TYPE_COOKIE = 3,
    WG_TYPE_DATA = 4,
};

#define WG_LEN_INITIATION 148
#define WG_LEN_RESPONSE   92
#define WG_LEN_COOKIE     64
#define WG_LEN_DATA_MIN   32 /* header 16 + the empty packet's 16-octet tag */

#define WG_CONF_SURE 100
#define WG_CONF_DNS  1 /* looks like a DNS query header as well */

typedef struct wg_record_st {
    uint32_t src_peer; /* index chosen by SRC; 0 = not seen */
    uint32_t dst_peer; /* index chosen by DST; 0 = not seen */
    uint8_t conf;      /* WG_CONF_LEVEL: 0 once a packet was not WireGuard */
} wg_record_t;

typedef struct wg_state_st {
    wg_record_t r;
    uint8_t has; /* a record is attached (the first packet parsed) */
} wg_state_t;

static const fk_field_t wg_fields[] = {
    FK_U8(wg_record_t, conf, "WG_CONF_LEVEL", "wg_conf_level", 8057, 1100, 0),
    FK_U32(wg_record_t, src_peer, "WG_SRC_PEER", "wg_src_peer", 8057, 1101, 0),
    FK_U32(wg_record_t, dst_peer, "WG_DST_PEER", "wg_dst_peer", 8057, 1102, 0),
};

/* What wg_parse() made of a packet. */
enum {
    WG_NOT = 0, /* not a WireGuard message */
    WG_OK = 1,  /* a message, applied to the record */
    WG_NEW = 2, /* an Initiation of a new session: flush, nothing applied */
};

/*
 * Apply one UDP payload to `r`; `rev` is 1 for a DST -> SRC packet.  Reads
 * only the captured bytes [p, p + n).
 */
static int wg_parse(wg_record_t *r, const uint8_t *p, size_t n, uint8_t rev)
{
    fk_cursor_t c = fk_cur_make(p, n);
    uint32_t hdr, idx, idx2;

    /* The smallest message is an empty Transport Data (5.4.6). */
    if (!p || n < WG_LEN_DATA_MIN || !fk_cur_le32(&c, &hdr) || !fk_cur_le32(&c, &idx))
        return WG_NOT;
    if ((hdr & 0xffffff00u) != 0) /* reserved octets must be zero */
        return WG_NOT;

    switch (hdr & 0xff) {
    case WG_TYPE_INITIATION:
        if (n != WG_LEN_INITIATION)
            return WG_NOT;
        /* idx is the sender's own index: a different one from the same side
         * means a new handshake. */
        if ((rev ? r->dst_peer : r->src_peer) != 0 && (rev ? r->dst_peer : r->src_peer) != idx)
            return WG_NEW;
        if (rev)
            r->dst_peer = idx;
        else
            r->src_peer = idx;
        break;
    case WG_TYPE_RESPONSE:
        if (n != WG_LEN_RESPONSE || !fk_cur_le32(&c, &idx2))
            return WG_NOT;
        /* sender = the responder's index, receiver = the initiator's */
        r->src_peer = rev ? idx2 : idx;
        r->dst_peer = rev ? idx : idx2;
        break;
    case WG_TYPE_COOKIE:
    case WG_TYPE_DATA:
        if ((hdr & 0xff) == WG_TYPE_COOKIE && n != WG_LEN_COOKIE)
            return WG_NOT;
        /* the receiver index names the other side */
        if (rev)
            r->src_peer = idx;
        else
            r->dst_peer = idx;
        break;
    default:
        return WG_NOT;
    }
    /* ipfixprobe's guard against a DNS query (id with a low octet of 0 and a
     * high one of 1..4, flags 0, QDCOUNT 1, ANCOUNT 0): octets 4..7 are
     * 00 01 00 00, i.e. the index read little-endian is 0x100. */
    r->conf = idx == 0x00000100u ? WG_CONF_DNS : WG_CONF_SURE;
    return WG_OK;
}

static int wg_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    wg_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)ctx;
    (void)flow;
    if (pkt->ip_proto != WG_PROTO_UDP)
        return FP_HOOK_OK;
    memset(&s->r, 0, sizeof(s->r));
    /* A fresh record knows no peer, so WG_NEW cannot happen here. */
    s->has = wg_parse(&s->r, pkt->payload, pkt->payload_len, hp->rev) == WG_OK;
    if (!s->has)
        memset(&s->r, 0, sizeof(s->r));
    return FP_HOOK_OK;
}

static int wg_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    wg_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)ctx;
    (void)flow;
    if (!s->has || s->r.conf == 0)
        return FP_HOOK_OK;
    switch (wg_parse(&s->r, pkt->payload, pkt->payload_len, hp->rev)) {
    case WG_NEW:
        return FP_HOOK_FLUSH_REINSERT;
    case WG_NOT:
        s->r.conf = 0;
        break;
    default:
        break;
    }
    return FP_HOOK_OK;
}

static unsigned wg_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const wg_state_t *)state)->has ? 1 : 0;
}

static const void *wg_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const wg_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_wg = {
    .abi = FP_PLUGIN_ABI,
    .name = "wg",
    .summary = "WireGuard: confidence level that a UDP flow is a tunnel, SRC and DST peer indexes",
    .fields = wg_fields,
    .nfields = sizeof(wg_fields) / sizeof(wg_fields[0]),
    .record_size = sizeof(wg_record_t),
    .state_size = sizeof(wg_state_t),
    .post_create = wg_post_create,
    .pre_update = wg_pre_update,
    .records = wg_records,
    .record = wg_record,
};
