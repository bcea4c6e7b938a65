/*
 * parse_int.h - internal interface between the layer parsers of lib/packet.
 *
 * Each layer parser takes the packet and a cursor positioned at its header,
 * fills what it owns and hands the rest to the next layer.  On failure it calls
 * fk__stop() and returns; nothing past the failing layer is touched.
 */
#ifndef FK_PARSE_INT_H
#define FK_PARSE_INT_H

#include "../core/cursor.h"
#include "packet.h"

#define FK_ETH_IPV4   0x0800
#define FK_ETH_ARP    0x0806
#define FK_ETH_VLAN   0x8100
#define FK_ETH_IPV6   0x86dd
#define FK_ETH_MPLS   0x8847
#define FK_ETH_MPLSM  0x8848
#define FK_ETH_PPPOES 0x8864
#define FK_ETH_QINQ   0x88a8
#define FK_ETH_QINQ1  0x9100 /* pre-standard QinQ, still seen on old gear */

static inline void fk__stop(fk_packet_t *pkt, enum fk_layer layer, enum fk_perr err)
{
    pkt->err_layer = (uint8_t)layer;
    pkt->err = (uint8_t)err;
}

static inline uint32_t fk__off(const fk_packet_t *pkt, const fk_cursor_t *c)
{
    return (uint32_t)(c->p - pkt->frame);
}

/* L2 entry points (link.c) */
void fk__parse_ethernet(fk_packet_t *pkt, fk_cursor_t c);
/* Dispatch on an ethertype once L2 framing is consumed (link.c). */
void fk__parse_ethertype(fk_packet_t *pkt, fk_cursor_t c, uint16_t type, int depth);

/* L3 (ipv4.c, ipv6.c): `c` starts at the IP header. */
void fk__parse_ipv4(fk_packet_t *pkt, fk_cursor_t c);
void fk__parse_ipv6(fk_packet_t *pkt, fk_cursor_t c);
/* Raw IP: the version nibble decides (ipv4.c). */
void fk__parse_ip_any(fk_packet_t *pkt, fk_cursor_t c);

/*
 * L4 (transport.c): `c` spans the IP payload actually captured, and `wire_len`
 * is the payload length the IP header announces.
 */
void fk__parse_l4(fk_packet_t *pkt, fk_cursor_t c, uint32_t wire_len);

#endif /* FK_PARSE_INT_H */
