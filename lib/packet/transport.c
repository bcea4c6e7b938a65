/*
 * transport.c - TCP, UDP, SCTP, ICMP and ICMPv6 headers.
 */
#include "parse_int.h"

#define P_ICMP   1
#define P_TCP    6
#define P_UDP    17
#define P_ICMPV6 58
#define P_SCTP   132

static void set_payload(fk_packet_t *pkt, const fk_cursor_t *c, uint32_t wire)
{
    pkt->payload = c->p;
    pkt->payload_len = (uint32_t)fk_cur_left(c);
    pkt->payload_wire = wire;
}

/*
 * TCP options (RFC 9293 3.2): kind(1) [length(1) data].  Kinds 0 (EOL) and
 * 1 (NOP) are single bytes.  A malformed option ends the walk; the header
 * itself stays valid, as the options do not change the flow key.
 */
static void parse_tcp_options(fk_packet_t *pkt, fk_cursor_t o)
{
    uint8_t kind, len;

    while (fk_cur_u8(&o, &kind)) {
        if (kind < 64)
            pkt->tcp_options |= (uint64_t)1 << kind;
        if (kind == 0)
            return;
        if (kind == 1)
            continue;
        if (!fk_cur_u8(&o, &len) || len < 2 || !fk_cur_has(&o, (size_t)len - 2))
            return;
        switch (kind) {
        case 2: /* MSS */
            if (len == 4)
                pkt->tcp_mss = fk_load_be16(o.p);
            break;
        case 3: /* window scale */
            if (len == 3)
                pkt->tcp_wscale = o.p[0];
            break;
        case 8: /* timestamps */
            if (len == 10) {
                pkt->tcp_tsval = fk_load_be32(o.p);
                pkt->tcp_tsecr = fk_load_be32(o.p + 4);
            }
            break;
        default:
            break;
        }
        o.p += len - 2;
    }
}

/*
 * TCP header (RFC 9293 3.1):
 *   Source Port(16) Destination Port(16) Sequence(32) Acknowledgment(32)
 *   Data Offset(4) Reserved(4) Flags(8) Window(16) Checksum(16) Urgent(16)
 *   Options (Data Offset > 5)
 */
static void parse_tcp(fk_packet_t *pkt, fk_cursor_t c, uint32_t wire)
{
    const uint8_t *h = c.p;
    unsigned doff;

    if (!fk_cur_has(&c, 20)) {
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_TRUNCATED);
        return;
    }
    doff = (unsigned)(h[12] >> 4) * 4;
    if (doff < 20 || doff > wire) {
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_INVALID);
        return;
    }
    pkt->src_port = fk_load_be16(h);
    pkt->dst_port = fk_load_be16(h + 2);
    pkt->tcp_seq = fk_load_be32(h + 4);
    pkt->tcp_ack = fk_load_be32(h + 8);
    pkt->tcp_flags = h[13];
    pkt->tcp_window = fk_load_be16(h + 14);
    if (!fk_cur_has(&c, doff)) {
        /* Ports and flags are in; only options are cut: keep the key, flag it. */
        pkt->layer_ok = FK_LAYER_L4;
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_TRUNCATED);
        c.p = c.end;
        set_payload(pkt, &c, wire - doff);
        return;
    }
    parse_tcp_options(pkt, fk_cur_make(h + 20, doff - 20));
    c.p += doff;
    pkt->layer_ok = FK_LAYER_L4;
    set_payload(pkt, &c, wire - doff);
}

/* UDP header (RFC 768): Source Port(16) Destination Port(16) Length(16) Checksum(16). */
static void parse_udp(fk_packet_t *pkt, fk_cursor_t c, uint32_t wire)
{
    uint16_t ulen;

    if (!fk_cur_has(&c, 8)) {
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_TRUNCATED);
        return;
    }
    pkt->src_port = fk_load_be16(c.p);
    pkt->dst_port = fk_load_be16(c.p + 2);
    ulen = fk_load_be16(c.p + 4);
    c.p += 8;
    pkt->layer_ok = FK_LAYER_L4;
    if (ulen > wire && ulen >= 8 && pkt->frag_more) {
        /* A first fragment: the UDP length covers the whole datagram, of
         * which this fragment carries only a part. */
        set_payload(pkt, &c, wire - 8);
        return;
    }
    if (ulen < 8 || ulen > wire) {
        /* Ports are fine; the length lies.  Trust the IP length for the payload
         * and say so (length 0 is legal only for IPv6 jumbograms, RFC 2675). */
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_INVALID);
        set_payload(pkt, &c, wire - 8);
        return;
    }
    if (fk_cur_left(&c) > (size_t)ulen - 8)
        c.end = c.p + (ulen - 8);
    set_payload(pkt, &c, (uint32_t)ulen - 8);
}

/* SCTP common header (RFC 9260 3.1): ports(2x16) Verification Tag(32) Checksum(32). */
static void parse_sctp(fk_packet_t *pkt, fk_cursor_t c, uint32_t wire)
{
    if (!fk_cur_has(&c, 12)) {
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_TRUNCATED);
        return;
    }
    pkt->src_port = fk_load_be16(c.p);
    pkt->dst_port = fk_load_be16(c.p + 2);
    c.p += 12;
    pkt->layer_ok = FK_LAYER_L4;
    set_payload(pkt, &c, wire - 12);
}

/* ICMP (RFC 792) and ICMPv6 (RFC 4443 2.1): Type(8) Code(8) Checksum(16) body. */
static void parse_icmp(fk_packet_t *pkt, fk_cursor_t c, uint32_t wire)
{
    if (!fk_cur_has(&c, 4)) {
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_TRUNCATED);
        return;
    }
    pkt->icmp_type = c.p[0];
    pkt->icmp_code = c.p[1];
    c.p += 4;
    pkt->layer_ok = FK_LAYER_L4;
    set_payload(pkt, &c, wire - 4);
}

void fk__parse_l4(fk_packet_t *pkt, fk_cursor_t c, uint32_t wire)
{
    /* The header must fit in what IP announced; otherwise a length lies. */
    static const uint8_t minlen[256] = {
        [P_TCP] = 20, [P_UDP] = 8, [P_SCTP] = 12, [P_ICMP] = 4, [P_ICMPV6] = 4};
    uint8_t need = minlen[pkt->ip_proto];

    pkt->l4_off = fk__off(pkt, &c);
    if (need && wire < need) {
        fk__stop(pkt, FK_LAYER_L4, FK_PERR_INVALID);
        return;
    }
    switch (pkt->ip_proto) {
    case P_TCP:
        parse_tcp(pkt, c, wire);
        break;
    case P_UDP:
        parse_udp(pkt, c, wire);
        break;
    case P_SCTP:
        parse_sctp(pkt, c, wire);
        break;
    case P_ICMP:
    case P_ICMPV6:
        parse_icmp(pkt, c, wire);
        break;
    default:
        /* GRE, ESP, OSPF ...: a flow without ports; the IP payload is the payload. */
        set_payload(pkt, &c, wire);
        break;
    }
}
