/*
 * link.c - Ethernet II, IEEE 802.1Q / 802.1ad tags, MPLS label stacks and
 * PPPoE session framing, down to the IP header.
 */
#include <string.h>

#include "parse_int.h"

/* Tags, labels and PPPoE headers nest; this bounds the work a crafted frame can cause. */
#define MAX_L2_DEPTH 16

/*
 * Ethernet II (IEEE 802.3 clause 3.2.6 with a type field):
 *
 *   0                   1                   2                   3
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                destination MAC (6)    |     source MAC (6)    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   EtherType   |
 *  +-+-+-+-+-+-+-+-+
 *
 * A type below 0x0600 is an 802.3 length (LLC/SNAP follows): not IP, unsupported.
 */
void fk__parse_ethernet(fk_packet_t *pkt, fk_cursor_t c)
{
    uint16_t type;

    if (!fk_cur_has(&c, 14)) {
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
        return;
    }
    memcpy(pkt->dst_mac, c.p, 6);
    memcpy(pkt->src_mac, c.p + 6, 6);
    pkt->has_mac = true;
    type = fk_load_be16(c.p + 12);
    c.p += 14;
    fk__parse_ethertype(pkt, c, type, 0);
}

/*
 * MPLS label stack entry (RFC 3032 2.1):
 *
 *  |                Label                  | TC  |S|       TTL     |
 *
 * Entries repeat until the bottom-of-stack bit S.  What follows the stack is not
 * announced; as routers do, guess from the first nibble: 4 or 6 is IP, 0 is the
 * pseudowire control word (RFC 4385) followed by an Ethernet frame.
 */
static void parse_mpls(fk_packet_t *pkt, fk_cursor_t c, int depth)
{
    uint32_t lse;
    uint8_t nib;

    do {
        if (!fk_cur_be32(&c, &lse)) {
            fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
            return;
        }
        if (pkt->mpls_count < FK_MAX_MPLS)
            pkt->mpls[pkt->mpls_count] = lse;
        if (pkt->mpls_count < 255)
            pkt->mpls_count++;
        if (++depth > MAX_L2_DEPTH) {
            fk__stop(pkt, FK_LAYER_L2, FK_PERR_INVALID);
            return;
        }
    } while (!(lse & 0x100));

    if (!fk_cur_peek_u8(&c, 0, &nib)) {
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
        return;
    }
    switch (nib >> 4) {
    case 4:
        fk__parse_ethertype(pkt, c, FK_ETH_IPV4, depth);
        break;
    case 6:
        fk__parse_ethertype(pkt, c, FK_ETH_IPV6, depth);
        break;
    case 0: {
        /* Ethernet pseudowire: skip the 4-byte control word, then a full frame.
         * The inner MACs replace the outer ones, as they name the real hosts. */
        uint16_t type;
        if (!fk_cur_skip(&c, 4) || !fk_cur_has(&c, 14)) {
            fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
            return;
        }
        memcpy(pkt->dst_mac, c.p, 6);
        memcpy(pkt->src_mac, c.p + 6, 6);
        type = fk_load_be16(c.p + 12);
        c.p += 14;
        fk__parse_ethertype(pkt, c, type, depth + 1);
        break;
    }
    default:
        pkt->layer_ok = FK_LAYER_L2;
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    }
}

/*
 * PPPoE session stage (RFC 2516 4):
 *
 *  | VER | TYPE  |      CODE     |          SESSION_ID           |
 *  |            LENGTH             |  PPP protocol (RFC 1661) ...
 *
 * PPP protocol 0x0021 is IPv4, 0x0057 IPv6 (RFC 5072).
 */
static void parse_pppoe(fk_packet_t *pkt, fk_cursor_t c, int depth)
{
    uint16_t len, proto;

    if (!fk_cur_has(&c, 8)) {
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
        return;
    }
    if (c.p[0] != 0x11 || c.p[1] != 0x00) { /* version 1, type 1, code 0 = session data */
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_INVALID);
        return;
    }
    len = fk_load_be16(c.p + 4);
    proto = fk_load_be16(c.p + 6);
    if (len < 2) {
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_INVALID);
        return;
    }
    c.p += 8;
    switch (proto) {
    case 0x0021:
        fk__parse_ethertype(pkt, c, FK_ETH_IPV4, depth + 1);
        break;
    case 0x0057:
        fk__parse_ethertype(pkt, c, FK_ETH_IPV6, depth + 1);
        break;
    default:
        pkt->layer_ok = FK_LAYER_L2;
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    }
}

void fk__parse_ethertype(fk_packet_t *pkt, fk_cursor_t c, uint16_t type, int depth)
{
    for (;;) {
        if (depth > MAX_L2_DEPTH) {
            fk__stop(pkt, FK_LAYER_L2, FK_PERR_INVALID);
            return;
        }
        switch (type) {
        case FK_ETH_VLAN:
        case FK_ETH_QINQ:
        case FK_ETH_QINQ1: {
            /* IEEE 802.1Q tag: PCP(3) DEI(1) VID(12), then the next type. */
            uint16_t tci;
            if (!fk_cur_be16(&c, &tci) || !fk_cur_be16(&c, &type)) {
                fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
                return;
            }
            if (pkt->vlan_count < FK_MAX_VLANS)
                pkt->vlan_id[pkt->vlan_count] = tci & 0x0fff;
            pkt->vlan_count++;
            depth++;
            continue;
        }
        case FK_ETH_MPLS:
        case FK_ETH_MPLSM:
            parse_mpls(pkt, c, depth + 1);
            return;
        case FK_ETH_PPPOES:
            parse_pppoe(pkt, c, depth + 1);
            return;
        case FK_ETH_IPV4:
            pkt->layer_ok = FK_LAYER_L2;
            pkt->ethertype = type;
            fk__parse_ipv4(pkt, c);
            return;
        case FK_ETH_IPV6:
            pkt->layer_ok = FK_LAYER_L2;
            pkt->ethertype = type;
            fk__parse_ipv6(pkt, c);
            return;
        default:
            /* ARP, LLDP, 802.3 lengths ...: the frame is fine, its payload is not IP. */
            pkt->layer_ok = FK_LAYER_L2;
            pkt->ethertype = type;
            fk__stop(pkt, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
            return;
        }
    }
}
