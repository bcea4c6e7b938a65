/*
 * packet.h - frame bytes to struct fk_packet.
 *
 * fk_packet_parse() walks a captured frame from its link layer down to the
 * transport header and records what it found.  It never reads outside the
 * captured bytes.  When a layer is unknown or damaged, parsing stops at the
 * last good layer and the packet says why (layer + reason), so callers count
 * drops by reason instead of guessing.  The same parser serves flowprobe and
 * flowcollector's sFlow raw-header decoder.
 */
#ifndef FK_PACKET_H
#define FK_PACKET_H

#include <stdbool.h>
#include <stdint.h>

/* Link types, numbered as pcap's LINKTYPE_* values (www.tcpdump.org/linktypes.html). */
#define FK_LINK_NULL     0 /* BSD loopback: 4-byte host-order address family */
#define FK_LINK_ETHERNET 1
#define FK_LINK_RAW_BSD  12  /* DLT_RAW on some BSDs */
#define FK_LINK_RAW_BSD2 14  /* DLT_RAW on OpenBSD */
#define FK_LINK_RAW      101 /* raw IPv4 or IPv6, version from the first nibble */
#define FK_LINK_LOOP     108 /* OpenBSD loopback: 4-byte network-order family */
#define FK_LINK_SLL      113 /* Linux cooked capture v1 */
#define FK_LINK_IPV4     228
#define FK_LINK_IPV6     229
#define FK_LINK_SLL2     276 /* Linux cooked capture v2 */

/* Which layer a parse stopped at. */
enum fk_layer { FK_LAYER_NONE = 0, FK_LAYER_L2, FK_LAYER_L3, FK_LAYER_L4, FK_LAYER_COUNT_ };

/*
 * Why it stopped (STYLE.md rule 2: three separate outcomes).
 *   TRUNCATED    the capture ends inside a header (snaplen, short read)
 *   INVALID      a header field contradicts itself or its container
 *   UNSUPPORTED  a protocol this parser does not decode (e.g. ARP at L3)
 */
enum fk_perr {
    FK_PERR_NONE = 0,
    FK_PERR_TRUNCATED,
    FK_PERR_INVALID,
    FK_PERR_UNSUPPORTED,
    FK_PERR_COUNT_
};

/* TCP flag bits as in the TCP header's flags byte (RFC 9293 3.1). */
#define FK_TCP_FIN 0x01
#define FK_TCP_SYN 0x02
#define FK_TCP_RST 0x04
#define FK_TCP_PSH 0x08
#define FK_TCP_ACK 0x10
#define FK_TCP_URG 0x20
#define FK_TCP_ECE 0x40
#define FK_TCP_CWR 0x80

#define FK_MAX_VLANS    4  /* tags kept; deeper stacks are parsed but not recorded */
#define FK_MAX_MPLS     8  /* label stack entries kept */
#define FK_MAX_IPV6_EXT 16 /* extension headers walked before the packet counts as invalid */

/*
 * The result of a parse.  Fields below `layer_ok` are valid only if that layer
 * was reached; everything not found is zero.
 */
typedef struct fk_packet_st {
    /* capture */
    uint64_t ts_ns;       /* capture time, ns since the epoch */
    const uint8_t *frame; /* captured bytes (not owned) */
    uint32_t caplen;      /* bytes captured */
    uint32_t wirelen;     /* bytes on the wire */

    /* outcome */
    uint8_t layer_ok;  /* deepest layer fully parsed (enum fk_layer) */
    uint8_t err_layer; /* layer where parsing stopped early, or FK_LAYER_NONE */
    uint8_t err;       /* enum fk_perr */

    /* L2 */
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    bool has_mac;
    uint8_t vlan_count;             /* tags seen (may exceed FK_MAX_VLANS) */
    uint8_t mpls_count;             /* label stack entries seen */
    uint16_t vlan_id[FK_MAX_VLANS]; /* outermost first, 12-bit VIDs */
    uint32_t mpls[FK_MAX_MPLS];     /* label stack entries as on the wire, top first */
    uint16_t ethertype;             /* of the L3 payload (0x0800 / 0x86dd / other) */

    /* L3 */
    uint8_t ip_version; /* 4 or 6; 0 = no IP header parsed */
    uint8_t ip_proto;   /* transport protocol after IPv6 extension headers */
    uint8_t ip_ttl;     /* TTL / hop limit */
    uint8_t ip_tos;     /* IPv4 TOS / IPv6 traffic class */
    uint8_t ip_flags;   /* IPv4 flags (3 bits: reserved, DF, MF) */
    uint8_t ip_hdr_len; /* IPv4 header length in bytes (IHL*4); 40 for IPv6 */
    uint16_t ip_len;    /* IP total length from the header (IPv6: payload + 40) */
    uint8_t src_ip[16]; /* IPv4 stored IPv4-mapped (::ffff:a.b.c.d) */
    uint8_t dst_ip[16];
    uint32_t ip_id;     /* IPv4 identification or IPv6 fragment id */
    uint16_t frag_off;  /* fragment offset in 8-byte units */
    bool frag_more;     /* more fragments follow */
    bool is_fragment;   /* part of a fragmented datagram (first or not) */
    uint32_t ipv6_flow; /* IPv6 flow label */

    /* L4 */
    uint16_t src_port; /* TCP/UDP/SCTP ports; 0 otherwise */
    uint16_t dst_port;
    uint8_t tcp_flags;
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint16_t tcp_window;
    uint32_t tcp_seq;
    uint32_t tcp_ack;
    uint16_t tcp_mss;     /* from the MSS option, 0 if absent */
    uint8_t tcp_wscale;   /* window scale option shift, 0 if absent */
    uint64_t tcp_options; /* bit k set when TCP option kind k (< 64) was present */
    uint32_t tcp_tsval;   /* timestamp option values, 0 if absent */
    uint32_t tcp_tsecr;

    /* payload after the transport header (or after IP for other protocols) */
    const uint8_t *payload; /* within frame */
    uint32_t payload_len;   /* captured payload bytes */
    uint32_t payload_wire;  /* payload bytes the headers announce */

    uint32_t l3_off; /* offset of the IP header in frame */
    uint32_t l4_off; /* offset of the transport header in frame */
} fk_packet_t;

/*
 * Parse `caplen` captured bytes of a frame of link type `link` into `pkt`.
 * `pkt` is fully overwritten; `frame` must stay valid while `pkt` is used.
 * Returns pkt->err (FK_PERR_NONE when every layer present was understood).
 * Whether the packet can be put in a flow is fk_packet_has_key(): the IP
 * layer was fully parsed (layer_ok >= L3) and, for TCP/UDP/SCTP, the ports
 * were read or the packet is a later fragment (which has none).
 */
int fk_packet_parse(fk_packet_t *pkt, int link, const uint8_t *frame, uint32_t caplen,
                    uint32_t wirelen, uint64_t ts_ns);

/*
 * True when the packet carries everything a flow key needs: an IP header and,
 * for TCP, UDP and SCTP first fragments, the ports.
 */
bool fk_packet_has_key(const fk_packet_t *pkt);

/* True when `link` is a link type fk_packet_parse understands. */
bool fk_packet_link_supported(int link);

/* Names for counters and messages: "l3", "truncated", ... */
const char *fk_layer_name(int layer);
const char *fk_perr_name(int err);

#endif /* FK_PACKET_H */
