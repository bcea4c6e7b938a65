/*
 * packet.c - link-type dispatch and the names of parse outcomes.
 */
#include "packet.h"

#include <string.h>

#include "parse_int.h"

/*
 * BSD loopback (LINKTYPE_NULL, LINKTYPE_LOOP): a 4-byte address family, host
 * order for NULL and network order for LOOP.  AF_INET is 2 everywhere; AF_INET6
 * is 24, 28 or 30 depending on the BSD that wrote the capture.
 */
static void parse_loopback(fk_packet_t *pkt, fk_cursor_t c, int link)
{
    uint32_t fam;

    if (!fk_cur_has(&c, 4)) {
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
        return;
    }
    fam = link == FK_LINK_LOOP ? fk_load_be32(c.p) : fk_load_le32(c.p);
    if (fam > 0xffff) /* written on a big-endian host */
        fam = fk_load_be32(c.p);
    c.p += 4;
    pkt->layer_ok = FK_LAYER_L2;
    switch (fam) {
    case 2:
        pkt->ethertype = FK_ETH_IPV4;
        fk__parse_ipv4(pkt, c);
        break;
    case 24:
    case 28:
    case 30:
        pkt->ethertype = FK_ETH_IPV6;
        fk__parse_ipv6(pkt, c);
        break;
    default:
        fk__stop(pkt, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    }
}

/*
 * Linux cooked capture v1 (LINKTYPE_LINUX_SLL), 16 bytes:
 *   packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2)
 * and v2 (LINKTYPE_LINUX_SLL2), 20 bytes:
 *   protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1)
 *   address length(1) address(8)
 * The link-layer address is the sender's; with length 6 it is a MAC.
 */
static void parse_sll(fk_packet_t *pkt, fk_cursor_t c, int v2)
{
    size_t hlen = v2 ? 20 : 16;
    uint16_t proto, alen;
    const uint8_t *addr;

    if (!fk_cur_has(&c, hlen)) {
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_TRUNCATED);
        return;
    }
    if (v2) {
        proto = fk_load_be16(c.p);
        alen = c.p[11];
        addr = c.p + 12;
    } else {
        alen = fk_load_be16(c.p + 4);
        addr = c.p + 6;
        proto = fk_load_be16(c.p + 14);
    }
    if (alen == 6) {
        memcpy(pkt->src_mac, addr, 6);
        pkt->has_mac = true;
    }
    c.p += hlen;
    fk__parse_ethertype(pkt, c, proto, 0);
}

int fk_packet_parse(fk_packet_t *pkt, int link, const uint8_t *frame, uint32_t caplen,
                    uint32_t wirelen, uint64_t ts_ns)
{
    fk_cursor_t c = fk_cur_make(frame, caplen);

    /* Zero only the header part; arrays past vlan_count/mpls_count are never read. */
    memset(pkt, 0, sizeof(*pkt));
    pkt->ts_ns = ts_ns;
    pkt->frame = frame;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen;

    switch (link) {
    case FK_LINK_ETHERNET:
        fk__parse_ethernet(pkt, c);
        break;
    case FK_LINK_RAW:
    case FK_LINK_RAW_BSD:
    case FK_LINK_RAW_BSD2:
        pkt->layer_ok = FK_LAYER_L2;
        fk__parse_ip_any(pkt, c);
        break;
    case FK_LINK_IPV4:
        pkt->layer_ok = FK_LAYER_L2;
        pkt->ethertype = FK_ETH_IPV4;
        fk__parse_ipv4(pkt, c);
        break;
    case FK_LINK_IPV6:
        pkt->layer_ok = FK_LAYER_L2;
        pkt->ethertype = FK_ETH_IPV6;
        fk__parse_ipv6(pkt, c);
        break;
    case FK_LINK_NULL:
    case FK_LINK_LOOP:
        parse_loopback(pkt, c, link);
        break;
    case FK_LINK_SLL:
        parse_sll(pkt, c, 0);
        break;
    case FK_LINK_SLL2:
        parse_sll(pkt, c, 1);
        break;
    default:
        fk__stop(pkt, FK_LAYER_L2, FK_PERR_UNSUPPORTED);
    }
    return pkt->err;
}

bool fk_packet_link_supported(int link)
{
    switch (link) {
    case FK_LINK_ETHERNET:
    case FK_LINK_RAW:
    case FK_LINK_RAW_BSD:
    case FK_LINK_RAW_BSD2:
    case FK_LINK_IPV4:
    case FK_LINK_IPV6:
    case FK_LINK_NULL:
    case FK_LINK_LOOP:
    case FK_LINK_SLL:
    case FK_LINK_SLL2:
        return true;
    default:
        return false;
    }
}

bool fk_packet_has_key(const fk_packet_t *pkt)
{
    if (pkt->layer_ok < FK_LAYER_L3)
        return false;
    if (pkt->err_layer != FK_LAYER_L4)
        return true;
    /* Ports are part of the key: a first fragment or whole datagram whose
     * TCP/UDP/SCTP header is cut or broken has no usable key. */
    switch (pkt->ip_proto) {
    case 6:
    case 17:
    case 132:
        return pkt->layer_ok == FK_LAYER_L4 || pkt->frag_off != 0;
    default:
        return true;
    }
}

const char *fk_layer_name(int layer)
{
    static const char *n[] = {"none", "l2", "l3", "l4"};
    return layer >= 0 && layer < FK_LAYER_COUNT_ ? n[layer] : "?";
}

const char *fk_perr_name(int err)
{
    static const char *n[] = {"ok", "truncated", "invalid", "unsupported"};
    return err >= 0 && err < FK_PERR_COUNT_ ? n[err] : "?";
}
