/*
 * ipxp_payload.h - the payload length ipfixprobe's statistics plugins count.
 *
 * pstats, phists, bstats and nettisa all measure a packet by ipfixprobe's
 * Packet::payload_len_wire, which is not quite fk_packet_t's payload_wire:
 * ipfixprobe's parser (input/parser.cpp) only knows TCP and UDP headers, so
 *   - TCP: the IP payload minus the data offset (same as ours);
 *   - UDP: the IP payload minus 8, whatever the UDP Length field says (ours
 *     trusts a valid UDP length, RFC 768);
 *   - every other protocol, ICMP and ICMPv6 included: the whole IP payload
 *     (ours leaves out the 4-byte ICMP and 12-byte SCTP headers).
 * "IP payload" is the IPv4 Total Length minus the header (RFC 791), or the
 * IPv6 Payload Length minus the extension headers walked (RFC 8200 4).  Its
 * type is uint16_t, as ipfixprobe's.
 *
 * A non-first fragment carries no transport header (RFC 791 3.2); ipfixprobe
 * would read the fragment's first bytes as one, we count the fragment's whole
 * payload instead.
 */
#ifndef FP_IPXP_PAYLOAD_H
#define FP_IPXP_PAYLOAD_H

#include <stdint.h>

#include "../../lib/packet/packet.h"

#define FP_IPXP_UDP_HDR 8

/*
 * ipfixprobe's payload_len_wire of a parsed packet that is in a flow (so its
 * IP header was parsed).  Never reads packet bytes: only the parser's lengths.
 */
static inline uint16_t fp_ipxp_payload_len(const fk_packet_t *pkt)
{
    /* IP header plus IPv6 extension headers: from the IP header to the transport. */
    uint32_t hdrs = pkt->l4_off >= pkt->l3_off ? pkt->l4_off - pkt->l3_off : 0;
    uint32_t ip_payload = pkt->ip_len > hdrs ? pkt->ip_len - hdrs : 0;

    if (pkt->frag_off != 0)
        return (uint16_t)ip_payload;
    switch (pkt->ip_proto) {
    case 6: /* TCP: the parser already took the data offset off */
        return (uint16_t)pkt->payload_wire;
    case 17:
        return (uint16_t)(ip_payload > FP_IPXP_UDP_HDR ? ip_payload - FP_IPXP_UDP_HDR : 0);
    default:
        return (uint16_t)ip_payload;
    }
}

#endif /* FP_IPXP_PAYLOAD_H */
