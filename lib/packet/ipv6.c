/*
 * ipv6.c - the IPv6 header (RFC 8200 3) and its extension headers (RFC 8200 4).
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version| Traffic Class |           Flow Label                  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Payload Length        |  Next Header  |   Hop Limit   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Source Address (16)                           |
 *   |               Destination Address (16)                        |
 */
#include <string.h>

#include "parse_int.h"

#define NH_HOPOPTS  0
#define NH_ROUTING  43
#define NH_FRAGMENT 44
#define NH_AH       51
#define NH_NONE     59
#define NH_DSTOPTS  60
#define NH_MOBILITY 135

void fk__parse_ipv6(fk_packet_t *pkt, fk_cursor_t c)
{
    const uint8_t *h = c.p;
    uint16_t plen;
    uint8_t nh;

    pkt->l3_off = fk__off(pkt, &c);
    if (!fk_cur_has(&c, 40)) {
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
        return;
    }
    if (h[0] >> 4 != 6) {
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_INVALID);
        return;
    }
    plen = fk_load_be16(h + 4);
    nh = h[6];
    pkt->ip_version = 6;
    pkt->ip_hdr_len = 40;
    pkt->ip_tos = (uint8_t)((h[0] & 0x0f) << 4 | h[1] >> 4);
    pkt->ipv6_flow = (uint32_t)(h[1] & 0x0f) << 16 | fk_load_be16(h + 2);
    pkt->ip_len = (uint16_t)(plen + 40 < 0xffff ? plen + 40 : 0xffff);
    pkt->ip_ttl = h[7];
    memcpy(pkt->src_ip, h + 8, 16);
    memcpy(pkt->dst_ip, h + 24, 16);
    c.p += 40;

    /* As for IPv4, trailing link padding is not payload. */
    if (fk_cur_left(&c) > plen)
        c.end = c.p + plen;
    uint32_t wire = plen;

    /* Walk the extension header chain to the upper-layer protocol. */
    for (int n = 0;; n++) {
        uint8_t next, len8;
        size_t hlen;

        switch (nh) {
        case NH_HOPOPTS:
        case NH_ROUTING:
        case NH_DSTOPTS:
        case NH_MOBILITY:
            /* Next Header(1) Hdr Ext Len(1) in 8-octet units, not counting the first 8. */
            if (!fk_cur_has(&c, 2)) {
                fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
                return;
            }
            next = c.p[0];
            len8 = c.p[1];
            hlen = ((size_t)len8 + 1) * 8;
            break;
        case NH_AH:
            /* RFC 4302 2.2: Payload Len in 4-octet units, minus 2. */
            if (!fk_cur_has(&c, 2)) {
                fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
                return;
            }
            next = c.p[0];
            hlen = ((size_t)c.p[1] + 2) * 4;
            break;
        case NH_FRAGMENT: {
            /* RFC 8200 4.5: Next Header(1) Reserved(1) Offset(13) Res(2) M(1) Id(4). */
            uint16_t offm;
            if (!fk_cur_has(&c, 8)) {
                fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
                return;
            }
            next = c.p[0];
            offm = fk_load_be16(c.p + 2);
            pkt->frag_off = offm >> 3;
            pkt->frag_more = (offm & 1) != 0;
            pkt->is_fragment = true;
            pkt->ip_id = fk_load_be32(c.p + 4);
            hlen = 8;
            break;
        }
        default:
            goto upper;
        }
        /* Only extension headers get here: a chain longer than any real one
         * is a crafted packet, not worth walking. */
        if (n == FK_MAX_IPV6_EXT) {
            fk__stop(pkt, FK_LAYER_L3, FK_PERR_INVALID);
            return;
        }
        if (hlen > wire) {
            fk__stop(pkt, FK_LAYER_L3, FK_PERR_INVALID);
            return;
        }
        if (!fk_cur_skip(&c, hlen)) {
            fk__stop(pkt, FK_LAYER_L3, FK_PERR_TRUNCATED);
            return;
        }
        wire -= (uint32_t)hlen;
        nh = next;
        if (pkt->frag_off != 0)
            break; /* behind a non-first fragment's header there are no headers, only data */
    }
upper:
    pkt->ip_proto = nh;
    pkt->layer_ok = FK_LAYER_L3;
    pkt->l4_off = fk__off(pkt, &c);
    if (pkt->frag_off != 0 || nh == NH_NONE) {
        pkt->payload = c.p;
        pkt->payload_len = (uint32_t)fk_cur_left(&c);
        pkt->payload_wire = wire;
        return;
    }
    fk__parse_l4(pkt, c, wire);
}
