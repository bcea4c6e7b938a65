/*
 * ovpn.c - ipfixprobe's "ovpn" plugin: how likely a flow is an OpenVPN
 * tunnel, from the opcodes of its packets.
 *
 * An OpenVPN packet (opcodes as in OpenVPN's src/openvpn/ssl_pkt.h; over
 * TCP each packet is prefixed by a 16-bit packet length) starts with
 *
 *      0   1   2   3   4   5   6   7
 *    +---+---+---+---+---+---+---+---+
 *    |      opcode       |  key id   |   UDP: octet 0, TCP: octet 2
 *    +---+---+---+---+---+---+---+---+
 *
 * opcodes: 1 P_CONTROL_HARD_RESET_CLIENT_V1, 2 ..._SERVER_V1,
 * 3 P_CONTROL_SOFT_RESET_V1, 4 P_CONTROL_V1 (TLS records), 5 P_ACK_V1,
 * 6 P_DATA_V1, 7/8 HARD_RESET_CLIENT/SERVER_V2, 9 P_DATA_V2,
 * 10 HARD_RESET_CLIENT_V3.
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on ovpn.pcap).
 * Every packet with a payload (UDP: at least 1 octet, TCP: the opcode
 * octet) drives a state machine
 *
 *   reset_client -> reset_server -> ack -> client_hello -> server_hello
 *                -> control_ack -> data
 *
 *   - a client hard reset (1, 7, 10) from any side restarts it and makes the
 *     sender the client;
 *   - a server hard reset (2, 8) to the client follows a client reset;
 *   - P_ACK from the client follows the server reset; P_ACK or P_CONTROL
 *     after the server hello (or in control_ack) gives control_ack;
 *   - P_CONTROL from the client carrying a TLS ClientHello (0x16 at payload
 *     offset 14 and handshake type 1 at 19, or 0x16 at 42 and 1 at 47, past
 *     the opcode octet) follows ack; one to the client carrying a
 *     ServerHello (0x16 at 26 and 2 at 31, or 0x16 at 54 and 2 at 59)
 *     follows client_hello;
 *   - P_DATA in control_ack or data gives data;
 *   - a counter, 0 after each transition, grows by 1 with every packet
 *     that makes none (by 2 for a server reset or P_CONTROL that fits
 *     nowhere); once it reaches 4 the machine drops back to the start (the
 *     5th plain packet after a transition, or the 3rd misfit);
 *   - "large" packets have more than 500 payload octets on the wire and are
 *     not RTP (a UDP payload of at least 12 octets with RTP version 2 and a
 *     payload type outside 72..95, RFC 3550 5.1; 72..76 are RTCP); large
 *     P_DATA packets are counted apart.
 * At export, flows of 5 packets or fewer carry no record (port scans); the
 * level is 100 when the flow has more than 20 packets and reached data,
 * else (large data / large) * 80 truncated when there are more than 20
 * large packets and that ratio is at least 0.6 (compared as ipfixprobe's
 * float 0.6f), else 0.
 *
 * Hardening over ipfixprobe: a TCP payload of exactly 2 octets has no opcode
 * octet; ipfixprobe reads one past the payload, flowprobe takes opcode 0
 * (no transition), the value the zero padding of such short frames gives.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"

#define OVPN_PROTO_TCP 6
#define OVPN_PROTO_UDP 17

#define OVPN_OPCODE_OFF_UDP 0
#define OVPN_OPCODE_OFF_TCP 2 /* after the 16-bit packet length */

#define OVPN_LARGE_PAYLOAD 500 /* "large" packets have more payload octets */
#define OVPN_MIN_PACKETS   20  /* thresholds of the verdict, exclusive */
#define OVPN_EXPORT_MIN    5   /* flows with at most this many packets: no record */
#define OVPN_INVALID_MAX   4   /* packets without a transition before a restart */
#define OVPN_DATA_RATIO    0.6f
#define OVPN_RTP_HDR_LEN   12

enum {
    OVPN_OP_RESET_CLIENT_V1 = 1,
    OVPN_OP_RESET_SERVER_V1 = 2,
    OVPN_OP_SOFT_RESET_V1 = 3,
    OVPN_OP_CONTROL_V1 = 4,
    OVPN_OP_ACK_V1 = 5,
    OVPN_OP_DATA_V1 = 6,
    OVPN_OP_RESET_CLIENT_V2 = 7,
    OVPN_OP_RESET_SERVER_V2 = 8,
    OVPN_OP_DATA_V2 = 9,
    OVPN_OP_RESET_CLIENT_V3 = 10,
};

enum {
    OVPN_ST_NULL = 0,
    OVPN_ST_RESET_CLIENT,
    OVPN_ST_RESET_SERVER,
    OVPN_ST_ACK,
    OVPN_ST_CLIENT_HELLO,
    OVPN_ST_SERVER_HELLO,
    OVPN_ST_CONTROL_ACK,
    OVPN_ST_DATA,
};

typedef struct ovpn_record_st {
    uint8_t conf; /* OVPN_CONF_LEVEL */
} ovpn_record_t;

typedef struct ovpn_state_st {
    ovpn_record_t r;
    uint8_t has;           /* set at export: the flow has enough packets */
    uint8_t status;        /* OVPN_ST_* */
    int32_t invalid;       /* packets since the last transition, -1 right after one */
    uint32_t large;        /* large non-RTP packets */
    uint32_t large_data;   /* of which P_DATA */
    uint8_t client_ip[16]; /* sender of the last client hard reset */
} ovpn_state_t;

static const fk_field_t ovpn_fields[] = {
    FK_U8(ovpn_record_t, conf, "OVPN_CONF_LEVEL", "ovpn_conf_level", 8057, 828, 0),
};

/* ipfixprobe's RTP test: true when a UDP payload looks like RTP (RFC 3550 5.1). */
static bool ovpn_is_rtp(const fk_packet_t *pkt)
{
    const uint8_t *p = pkt->payload;
    uint8_t pt;

    if (pkt->ip_proto != OVPN_PROTO_UDP || !p || pkt->payload_len < OVPN_RTP_HDR_LEN)
        return false;
    if ((p[0] >> 6) != 2)
        return false;
    pt = p[1] & 0x7f;
    return pt < 72 || pt > 95; /* ipfixprobe takes 72..95 for RTCP (RFC 5761 section 4) */
}

/* Payload octet `off` was captured and equals `v`. */
static bool ovpn_at(const fk_packet_t *pkt, size_t off, uint8_t v)
{
    return pkt->payload_len > off && pkt->payload[off] == v;
}

/* A TLS record of type handshake (22) holding `hs_type`, at one of ipfixprobe's offsets. */
static bool ovpn_tls(const fk_packet_t *pkt, size_t op, size_t rec1, size_t rec2, uint8_t hs)
{
    /* The handshake type octet sits 5 octets after the record type. */
    if (ovpn_at(pkt, op + rec1 + 5, hs) && ovpn_at(pkt, op + rec1, 0x16))
        return true;
    return ovpn_at(pkt, op + rec2 + 5, hs) && ovpn_at(pkt, op + rec2, 0x16);
}

static bool ovpn_is_client(const ovpn_state_t *s, const uint8_t ip[16])
{
    return memcmp(s->client_ip, ip, 16) == 0;
}

/* A packet that fits no transition. */
static void ovpn_miss(ovpn_state_t *s)
{
    s->invalid++;
    if (s->invalid == OVPN_INVALID_MAX)
        s->status = OVPN_ST_NULL;
}

static void ovpn_update(ovpn_state_t *s, const fk_packet_t *pkt)
{
    size_t op = OVPN_OPCODE_OFF_UDP;
    uint8_t opcode = 0;
    bool large;

    if (pkt->ip_proto == OVPN_PROTO_UDP) {
        if (pkt->payload_len == 0 || !pkt->payload)
            return;
        opcode = pkt->payload[op] >> 3;
    } else if (pkt->ip_proto == OVPN_PROTO_TCP) {
        if (pkt->payload_len < OVPN_OPCODE_OFF_TCP || !pkt->payload)
            return;
        op = OVPN_OPCODE_OFF_TCP;
        if (pkt->payload_len > op) /* see "Hardening" above */
            opcode = pkt->payload[op] >> 3;
    }
    large = pkt->payload_wire > OVPN_LARGE_PAYLOAD && !ovpn_is_rtp(pkt);

    switch (opcode) {
    case OVPN_OP_RESET_CLIENT_V1:
    case OVPN_OP_RESET_CLIENT_V2:
    case OVPN_OP_RESET_CLIENT_V3:
        s->status = OVPN_ST_RESET_CLIENT;
        s->invalid = -1;
        memcpy(s->client_ip, pkt->src_ip, 16);
        break;
    case OVPN_OP_RESET_SERVER_V1:
    case OVPN_OP_RESET_SERVER_V2:
        if (s->status == OVPN_ST_RESET_CLIENT && ovpn_is_client(s, pkt->dst_ip)) {
            s->status = OVPN_ST_RESET_SERVER;
            s->invalid = -1;
        } else {
            ovpn_miss(s);
        }
        break;
    case OVPN_OP_CONTROL_V1:
        if (s->status == OVPN_ST_ACK && ovpn_is_client(s, pkt->src_ip) &&
            ovpn_tls(pkt, op, 14, 42, 1)) {
            s->status = OVPN_ST_CLIENT_HELLO;
            s->invalid = -1;
        } else if (s->status == OVPN_ST_CLIENT_HELLO && ovpn_is_client(s, pkt->dst_ip) &&
                   ovpn_tls(pkt, op, 26, 54, 2)) {
            s->status = OVPN_ST_SERVER_HELLO;
            s->invalid = -1;
        } else if (s->status == OVPN_ST_SERVER_HELLO || s->status == OVPN_ST_CONTROL_ACK) {
            s->status = OVPN_ST_CONTROL_ACK;
            s->invalid = -1;
        } else {
            ovpn_miss(s);
        }
        break;
    case OVPN_OP_ACK_V1:
        if (s->status == OVPN_ST_RESET_SERVER && ovpn_is_client(s, pkt->src_ip)) {
            s->status = OVPN_ST_ACK;
            s->invalid = -1;
        } else if (s->status == OVPN_ST_SERVER_HELLO || s->status == OVPN_ST_CONTROL_ACK) {
            s->status = OVPN_ST_CONTROL_ACK;
            s->invalid = -1;
        }
        break;
    case OVPN_OP_DATA_V1:
    case OVPN_OP_DATA_V2:
        if (s->status == OVPN_ST_CONTROL_ACK || s->status == OVPN_ST_DATA) {
            s->status = OVPN_ST_DATA;
            s->invalid = -1;
        }
        if (large)
            s->large_data++;
        break;
    default: /* soft reset, no opcode, unknown opcodes: no transition */
        break;
    }
    if (large)
        s->large++;

    if (s->invalid >= OVPN_INVALID_MAX) {
        s->status = OVPN_ST_NULL;
        s->invalid = -1;
    }
    s->invalid++;
}

static int ovpn_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    ovpn_update(state, hp->pkt);
    return FP_HOOK_OK;
}

static int ovpn_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    ovpn_update(state, hp->pkt);
    return FP_HOOK_OK;
}

static void ovpn_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    ovpn_state_t *s = state;
    uint64_t packets = (uint64_t)flow->packets + flow->packets_rev;

    (void)ctx;
    s->has = packets > OVPN_EXPORT_MIN;
    s->r.conf = 0;
    if (!s->has)
        return;
    if (packets > OVPN_MIN_PACKETS && s->status == OVPN_ST_DATA) {
        s->r.conf = 100;
    } else if (s->large > OVPN_MIN_PACKETS) {
        double ratio = (double)s->large_data / (double)s->large;
        if (ratio >= (double)OVPN_DATA_RATIO)
            s->r.conf = (uint8_t)(ratio * 80);
    }
}

static unsigned ovpn_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const ovpn_state_t *)state)->has ? 1 : 0;
}

static const void *ovpn_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const ovpn_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_ovpn = {
    .abi = FP_PLUGIN_ABI,
    .name = "ovpn",
    .summary = "OpenVPN: confidence level that a flow is a tunnel, from its opcodes",
    .fields = ovpn_fields,
    .nfields = sizeof(ovpn_fields) / sizeof(ovpn_fields[0]),
    .record_size = sizeof(ovpn_record_t),
    .state_size = sizeof(ovpn_state_t),
    .post_create = ovpn_post_create,
    .pre_update = ovpn_pre_update,
    .pre_export = ovpn_pre_export,
    .records = ovpn_records,
    .record = ovpn_record,
};
