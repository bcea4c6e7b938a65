/*
 * record.h - the common flow record of flowcollector: GoFlow2's FlowMessage
 * (pb/flow.proto, ../shared/reference/goflow2-spec.md section 7), with the
 * same field names and numbers, filled by every decoder (NetFlow v5, v9,
 * IPFIX, sFlow v5) and read by every formatter (JSON, text, protobuf).
 *
 * Units and conventions are GoFlow2's: times in nanoseconds since the Unix
 * epoch, MAC addresses as the low 48 bits of a uint64, prefix lengths for
 * src_net/dst_net.  Addresses keep their family: len 4 (IPv4), 16 (IPv6) or 0
 * (absent, printed as "" in JSON as GoFlow2 prints an empty bytes field).
 * Repeated fields are bounded arrays; what does not fit is counted in
 * `truncated_lists`, never written past the end.
 */
#ifndef FC_RECORD_H
#define FC_RECORD_H

#include <stdint.h>

/* flow.proto FlowType */
enum fc_flow_type {
    FC_FLOWUNKNOWN = 0,
    FC_SFLOW_5 = 1,
    FC_NETFLOW_V5 = 2,
    FC_NETFLOW_V9 = 3,
    FC_IPFIX = 4,
};

/* flow.proto LayerStack */
enum fc_layer {
    FC_L_ETHERNET = 0,
    FC_L_IPV4 = 1,
    FC_L_IPV6 = 2,
    FC_L_TCP = 3,
    FC_L_UDP = 4,
    FC_L_MPLS = 5,
    FC_L_DOT1Q = 6,
    FC_L_ICMP = 7,
    FC_L_ICMPV6 = 8,
    FC_L_GRE = 9,
    FC_L_IPV6_ROUTING = 10,
    FC_L_IPV6_FRAGMENT = 11,
    FC_L_GENEVE = 12,
    FC_L_TEREDO = 13,
    FC_L_CUSTOM = 99,
};

#define FC_MAX_ASPATH      64
#define FC_MAX_COMMUNITIES 64
#define FC_MAX_MPLS        8
#define FC_MAX_LAYERS      16
#define FC_MAX_SRV6        8

/*
 * flowkit's extra values: IPFIX elements FlowMessage has no column for,
 * decoded by name through flowkit's element registry (decode/registry.h) or
 * kept as {pen, id, hex} when unknown.  A record holds at most
 * FC_MAX_EXTRAS of them (FC_MAX_UNKNOWN of which unknown); the rest are
 * counted in truncated_lists.
 */
#define FC_MAX_EXTRAS   192
#define FC_MAX_UNKNOWN  32
#define FC_XREG_UNKNOWN 0xffff /* fc_xval_t.reg of an element the registry does not know */

/*
 * Custom values: what a mapping file's ipfix/netflowv9/sflow entries put
 * into fields declared in formatter.protobuf (collector/mapping.h).  Kept
 * inside the record (a copy carries them), bounded: at most FC_MAX_CUSTOM
 * values and FC_CUSTOM_BYTES bytes of string/bytes values per record; what
 * does not fit is counted in truncated_lists.
 */
#define FC_MAX_CUSTOM   16
#define FC_CUSTOM_BYTES 128

typedef struct fc_cval_st {
    uint64_t u;    /* varint fields: the value (bytes fields: 0) */
    uint32_t pb;   /* the field's protobuf number (formatter.protobuf index) */
    uint8_t field; /* the field's position in formatter.protobuf (the format's custom id) */
    uint8_t bytes; /* 1: a string/bytes value, `len` bytes at cbytes[off] */
    uint8_t off;
    uint8_t len;
} fc_cval_t;

/*
 * One extra value.  `p` points into the datagram being decoded (the value
 * bytes, varlen prefix removed; a basicList's whole encoding for list
 * fields): it is rendered when the record is formatted, not copied.
 */
typedef struct fc_xval_st {
    const uint8_t *p; /* value bytes, `len` of them, inside the datagram */
    uint32_t pen;     /* the element's enterprise number (for a list: its element's) */
    uint16_t id;      /* the element id (for a list: the basicList's element) */
    uint16_t len;     /* bytes at p */
    uint16_t reg;     /* registry index, or FC_XREG_UNKNOWN */
} fc_xval_t;

typedef struct fc_addr_st {
    uint8_t len;   /* 0 = absent, 4 = IPv4, 16 = IPv6 */
    uint8_t a[16]; /* network byte order, len bytes used */
} fc_addr_t;

typedef struct fc_flow_st {
    uint8_t type;                          /* 1  enum fc_flow_type */
    uint64_t time_received_ns;             /* 110 */
    uint32_t sequence_num;                 /* 4 */
    uint64_t sampling_rate;                /* 3 */
    fc_addr_t sampler_address;             /* 11 */
    uint64_t time_flow_start_ns;           /* 111 */
    uint64_t time_flow_end_ns;             /* 112 */
    uint64_t bytes;                        /* 9 */
    uint64_t packets;                      /* 10 */
    fc_addr_t src_addr;                    /* 6 */
    fc_addr_t dst_addr;                    /* 7 */
    uint32_t etype;                        /* 30 */
    uint32_t proto;                        /* 20 */
    uint32_t src_port;                     /* 21 */
    uint32_t dst_port;                     /* 22 */
    uint32_t in_if;                        /* 18 */
    uint32_t out_if;                       /* 19 */
    uint64_t src_mac;                      /* 27 */
    uint64_t dst_mac;                      /* 28 */
    uint32_t src_vlan;                     /* 33 */
    uint32_t dst_vlan;                     /* 34 */
    uint32_t vlan_id;                      /* 29 */
    uint32_t ip_tos;                       /* 23 */
    uint32_t forwarding_status;            /* 24 */
    uint32_t ip_ttl;                       /* 25 */
    uint32_t ip_flags;                     /* 38 */
    uint32_t tcp_flags;                    /* 26 */
    uint32_t icmp_type;                    /* 31 */
    uint32_t icmp_code;                    /* 32 */
    uint32_t ipv6_flow_label;              /* 37 */
    uint32_t fragment_id;                  /* 35 */
    uint32_t fragment_offset;              /* 36 */
    uint32_t src_as;                       /* 14 */
    uint32_t dst_as;                       /* 15 */
    fc_addr_t next_hop;                    /* 12 */
    uint32_t next_hop_as;                  /* 13 */
    uint32_t src_net;                      /* 16 prefix length */
    uint32_t dst_net;                      /* 17 prefix length */
    fc_addr_t bgp_next_hop;                /* 100 */
    uint32_t observation_domain_id;        /* 70 */
    uint32_t observation_point_id;         /* 71 */
    uint32_t ipv6_routing_header_seg_left; /* 106 */
    /* fc_columns indexes (format.h) the decoder promises are zero, so that
     * encoders may skip them without looking; 0 = no promise.  Set from a
     * template's plan (decode/fields.c); a record copied or changed after
     * decoding keeps it only if the change writes none of those columns. */
    uint64_t zero_cols;
    /* flowkit: the tunnel's outer addresses when -sflow.decap replaced the
     * packet fields by the inner flow's (len 0 otherwise; not in flow.proto) */
    fc_addr_t outer_src_addr;
    fc_addr_t outer_dst_addr;

    uint16_t n_bgp_communities;
    uint16_t n_as_path;
    uint16_t n_mpls; /* entries of mpls_ttl, mpls_label and mpls_ip */
    uint16_t n_mpls_ip;
    uint16_t n_layers; /* entries of layer_stack and layer_size */
    uint16_t n_srv6;
    uint32_t bgp_communities[FC_MAX_COMMUNITIES];         /* 101 */
    uint32_t as_path[FC_MAX_ASPATH];                      /* 102 */
    uint32_t mpls_ttl[FC_MAX_MPLS];                       /* 80 */
    uint32_t mpls_label[FC_MAX_MPLS];                     /* 81 */
    fc_addr_t mpls_ip[FC_MAX_MPLS];                       /* 82 */
    uint32_t layer_stack[FC_MAX_LAYERS];                  /* 103 enum fc_layer */
    uint32_t layer_size[FC_MAX_LAYERS];                   /* 104 */
    fc_addr_t ipv6_routing_header_addresses[FC_MAX_SRV6]; /* 105 */

    uint32_t truncated_lists; /* list items that did not fit (flowkit's, not exported) */

    /* mapping file custom values, n_custom of them in the order they were
     * decoded (= the order of their protobuf tags); cbytes holds n_cbytes
     * bytes of string/bytes values (see fc_cval_t) */
    uint8_t n_custom;
    uint8_t n_cbytes;
    fc_cval_t custom[FC_MAX_CUSTOM];
    uint8_t cbytes[FC_CUSTOM_BYTES];

    /*
     * flowkit: extra values (IPFIX only), n_extras entries at `extras`, in
     * template order.  Kept out of the record so that it stays small (records
     * are copied in batches): the entries live in the decoding thread's
     * scratch (decode/registry.c) and point into the datagram, so they are
     * valid until that thread decodes its next datagram.  Format a record
     * before then, as the pipeline does; a copy of fc_flow_t carries the
     * pointer, not the values.  NULL / 0 when there are none (NetFlow v5/v9,
     * sFlow, records made by hand).
     */
    const fc_xval_t *extras;
    uint16_t n_extras;
} fc_flow_t;

/*
 * Clear a record for a decoder: every scalar, every list count and the
 * custom and extra values; not the list arrays behind the counts (1.5 KB
 * that every reader stops short of: formatters, copies and mapping read
 * entries below the count only, and code that appends to a list that shares
 * its count with others, such as MPLS, clears the others' entry).
 */
static inline void fc_flow_clear(fc_flow_t *f)
{
    __builtin_memset(f, 0, __builtin_offsetof(fc_flow_t, bgp_communities));
    f->truncated_lists = 0;
    f->n_custom = 0;
    f->n_cbytes = 0;
    f->extras = 0;
    f->n_extras = 0;
}

/* Where and when a datagram came from: what decoders need besides its bytes. */
typedef struct fc_dgram_st {
    const uint8_t *data;
    size_t len;
    fc_addr_t src; /* exporter address (UDP source) */
    uint16_t src_port;
    uint64_t received_ns; /* wall clock when received (or capture time on replay) */
} fc_dgram_t;

/* Decoders hand each finished record to this; non-zero return stops decoding. */
typedef int (*fc_emit_fn)(void *arg, fc_flow_t *flow);

#endif /* FC_RECORD_H */
