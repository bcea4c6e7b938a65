/*
 * ipv4.c - the IPv4 header (RFC 791 3.1).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version|  IHL  |Type of Service|          Total Length         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Identification        |Flags|      Fragment Offset    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Source Address                          |
 *   |                    Destination Address                        |
 *   |                    Options (IHL > 5)                          |
 */
#include <string.h>

#include "parse_int.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void fk__parse_ipv4(fk_packet_t *pkt, fk_cursor_t c)
{
    const uint8_t *h = c.p;
    unsigned ihl;
    uint16_t total, frag;

    pkt->l3_off = fk__off(pkt, &c);
    if (!fk_cur_has(&c, 20)) {
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
        return;
    }
    if (h[0] >> 4 != 4) {
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_INVALID);
        return;
    }
    ihl = (unsigned)(h[0] & 0x0f) * 4;
    total = fk_load_be16(h + 2);
    if (ihl < 20 || total < ihl) {
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_INVALID);
        return;
    }
    if (!fk_cur_has(&c, ihl)) {
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
        return;
    }
    frag = fk_load_be16(h + 6);

    pkt->ip_version = 4;
    pkt->ip_hdr_len = (uint8_t)ihl;
    pkt->ip_tos = h[1];
    pkt->ip_len = total;
    pkt->ip_id = fk_load_be16(h + 4);
    pkt->ip_flags = (uint8_t)(frag >> 13);
    pkt->frag_off = frag & 0x1fff;
    pkt->frag_more = (frag & 0x2000) != 0;
    pkt->is_fragment = pkt->frag_more || pkt->frag_off != 0;
    pkt->ip_ttl = h[8];
    pkt->ip_proto = h[9];
    memcpy(pkt->src_ip, v4mapped, 12);
    memcpy(pkt->src_ip + 12, h + 12, 4);
    memcpy(pkt->dst_ip, v4mapped, 12);
    memcpy(pkt->dst_ip + 12, h + 16, 4);
    pkt->layer_ok = FK_LAYER_L3;

    /* The IP payload ends at Total Length; bytes past it are link padding
     * (Ethernet pads to 60 bytes) and must not be read as payload. */
    c.p += ihl;
    size_t avail = fk_cur_left(&c);
    size_t plen = (size_t)(total - ihl);
    if (avail > plen)
        c.end = c.p + plen;
    pkt->l4_off = fk__off(pkt, &c);

    if (pkt->frag_off != 0) {
        /* A non-first fragment carries no transport header. */
        pkt->payload = c.p;
        pkt->payload_len = (uint32_t)fk_cur_left(&c);
        pkt->payload_wire = (uint32_t)plen;
        return;
    }
    fk__parse_l4(pkt, c, (uint32_t)plen);
}

void fk__parse_ip_any(fk_packet_t *pkt, fk_cursor_t c)
{
    uint8_t b;

    if (!fk_cur_peek_u8(&c, 0, &b)) {
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
        return;
    }
    switch (b >> 4) {
    case 4:
        pkt->ethertype = FK_ETH_IPV4;
        fk__parse_ipv4(pkt, c);
        break;
    case 6:
        pkt->ethertype = FK_ETH_IPV6;
        fk__parse_ipv6(pkt, c);
        break;
    default:
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_INVALID);
    }
}
