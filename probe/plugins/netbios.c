/*
 * netbios.c - ipfixprobe's "netbios" plugin: the NetBIOS name asked about in
 * a NetBIOS Name Service message (RFC 1002 section 4.2), with its suffix.
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on netbios.pcap):
 *   - every packet of a flow (the one that creates it and every later one,
 *     either direction) is looked at when either port is 137, whatever the
 *     transport;
 *   - a packet is a name-service message when it holds the 12-byte header
 *     with QDCOUNT >= 1 and its first question name is a 32-byte label; the
 *     rest of the message is not read;
 *   - each such packet attaches one more record to the flow, so a flow that
 *     carries several names (a host registering its workstation, domain and
 *     browser names) is exported once per name; a name sent twice gives two
 *     records;
 *   - NB_NAME is the first 15 decoded octets as they are, padding spaces and
 *     control bytes included (the CSV output drops the non-printable ones, as
 *     the NEMEA logger does for "\x01\x02__MSBROWSE__\x02"); NB_SUFFIX is
 *     the 16th octet.
 *
 * Differences from ipfixprobe, on inputs it mishandles:
 *   - it reads the label length and the 32 name bytes unchecked; flowprobe
 *     needs all 45 bytes captured;
 *   - it decodes any byte pair with ((a - 'A') << 4 | (b - 'A')); flowprobe
 *     takes only names made of 'A'..'P', the only letters the first-level
 *     encoding produces (RFC 1001 section 14.1), so garbage on port 137 gives
 *     no record;
 *   - its list of records per flow is unbounded; flowprobe keeps at most
 *     NETBIOS_MAX_NAMES and, when a packet brings one more, exports the flow
 *     and starts a new one with that packet, so no name is lost.
 */
#include <stdint.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"

#define NETBIOS_PORT      137
#define NETBIOS_HDR_LEN   12 /* RFC 1002 section 4.2.1.1 */
#define NETBIOS_LABEL_LEN 32 /* 16 octets, two letters each (RFC 1001 section 14.1) */
#define NETBIOS_NAME_LEN  15 /* the 16th octet is the suffix */
#define NETBIOS_MAX_NAMES 16 /* records per flow before it is exported */

typedef struct netbios_record_st {
    uint8_t suffix;
    char name[NETBIOS_NAME_LEN + 1]; /* NUL-terminated; may stop early at a 0x00 octet */
} netbios_record_t;

typedef struct netbios_state_st {
    netbios_record_t rec[NETBIOS_MAX_NAMES]; /* rec[0 .. n) are attached */
    uint8_t n;
} netbios_state_t;

static const fk_field_t netbios_fields[] = {
    FK_U8(netbios_record_t, suffix, "NB_SUFFIX", "nb_suffix", 8057, 832, 0),
    FK_STR(netbios_record_t, name, "NB_NAME", "nb_name", 8057, 831, 0),
};

/* One half-octet of the first-level encoding: 'A' + nibble, else -1. */
static int netbios_nibble(uint8_t c)
{
    return c >= 'A' && c <= 'P' ? c - 'A' : -1;
}

/*
 * The question name of an NBNS message (RFC 1002 section 4.2.1):
 *
 *                       1 1 1 1 1 1 1 1 1 1 2 2 2 2 2 2 2 2 2 2 3 3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         NAME_TRN_ID           |R| OPCODE|  NM_FLAGS   | RCODE |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          QDCOUNT              |           ANCOUNT             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          NSCOUNT              |           ARCOUNT             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   LEN = 32    |  32 letters 'A'..'P': 16 octets, two each ... /
 *
 * Fills r and returns 1 when the message asks about a NetBIOS name.
 */
static int netbios_parse(netbios_record_t *r, const uint8_t *data, size_t len)
{
    fk_cursor_t c = fk_cur_make(data, len);
    uint8_t label[NETBIOS_LABEL_LEN];
    uint16_t qdcount;
    uint8_t llen;

    if (!data || !fk_cur_skip(&c, 4) || !fk_cur_be16(&c, &qdcount) || qdcount == 0)
        return 0;
    if (!fk_cur_skip(&c, NETBIOS_HDR_LEN - 6) || !fk_cur_u8(&c, &llen))
        return 0;
    if (llen != NETBIOS_LABEL_LEN || !fk_cur_copy(&c, label, sizeof(label)))
        return 0; /* not an encoded NetBIOS name, or truncated */

    uint8_t octet[NETBIOS_NAME_LEN + 1];
    for (size_t i = 0; i < sizeof(octet); i++) {
        int hi = netbios_nibble(label[2 * i]), lo = netbios_nibble(label[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        octet[i] = (uint8_t)(hi << 4 | lo);
    }
    memset(r, 0, sizeof(*r));
    memcpy(r->name, octet, NETBIOS_NAME_LEN); /* a 0x00 octet ends the string early */
    r->suffix = octet[NETBIOS_NAME_LEN];
    return 1;
}

static int netbios_port(const fk_packet_t *pkt)
{
    return pkt->src_port == NETBIOS_PORT || pkt->dst_port == NETBIOS_PORT;
}

/* Attach the packet's name, if it carries one (the caller made room). */
static void netbios_add(netbios_state_t *s, const fk_packet_t *pkt)
{
    if (s->n < NETBIOS_MAX_NAMES && netbios_port(pkt) &&
        netbios_parse(&s->rec[s->n], pkt->payload, pkt->payload_len))
        s->n++;
}

static int netbios_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    netbios_add(state, hp->pkt);
    return FP_HOOK_OK;
}

/*
 * A packet that brings one name too many ends the flow before it is counted;
 * it then starts the next flow (post_create attaches its name).
 */
static int netbios_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    const netbios_state_t *s = state;
    netbios_record_t tmp;

    (void)ctx;
    (void)flow;
    if (s->n == NETBIOS_MAX_NAMES && netbios_port(hp->pkt) &&
        netbios_parse(&tmp, hp->pkt->payload, hp->pkt->payload_len))
        return FP_HOOK_FLUSH;
    return FP_HOOK_OK;
}

/* As ipfixprobe, names are attached after the packet is counted. */
static int netbios_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    netbios_add(state, hp->pkt);
    return FP_HOOK_OK;
}

static unsigned netbios_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const netbios_state_t *)state)->n;
}

static const void *netbios_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    const netbios_state_t *s = state;

    (void)ctx;
    (void)flow;
    return &s->rec[i < s->n ? i : 0];
}

const fp_plugin_t fp_plugin_netbios = {
    .abi = FP_PLUGIN_ABI,
    .name = "netbios",
    .summary = "NetBIOS Name Service (port 137): queried name and suffix, one record per name",
    .fields = netbios_fields,
    .nfields = sizeof(netbios_fields) / sizeof(netbios_fields[0]),
    .record_size = sizeof(netbios_record_t),
    .state_size = sizeof(netbios_state_t),
    .post_create = netbios_post_create,
    .pre_update = netbios_pre_update,
    .post_update = netbios_post_update,
    .records = netbios_records,
    .record = netbios_record,
};
