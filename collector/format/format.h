/*
 * format.h - flowcollector's record formatters: GoFlow2's "json", "text" and
 * "bin" (length-prefixed protobuf) renderings of one FlowMessage (fc_flow_t),
 * all three driven by one column table, fc_columns[] (STYLE "describe data
 * once": no formatter lists fields by hand).
 *
 * WHAT GOFLOW2 PRINTS, AND WHERE THAT WAS READ
 * ---------------------------------------------
 * Sources (netsampler/goflow2, v2 and later; same code path in v3):
 *   [M]  producer/proto/messages.go   FormatMessageReflectCustom / ...JSON / ...Text, MarshalBinary
 *   [R]  producer/proto/render.go     renderers, defaultRenderers, protoName, etypeName, icmp
 * tables [C]  producer/proto/config_impl.go mapFormat (default column list), isSliceMap [F]
 * format/json/json.go, format/text/text.go, format/binary/binary.go [P]  pb/flow.proto (v2: *_ns
 * times, mpls_* lists, layer_stack ...), = proto/flow.proto [S] ../shared/reference/goflow2-spec.md
 * sections 7 and 8, quirks table [G]  Go's net/netip (Addr.String, Addr.Prefix, Prefix.String) and
 * time.RFC3339Nano [O]  real GoFlow2 v2 output quoted in a public test (goflow2-exporter tests:
 * {"type":"IPFIX",...,"next_hop":"0.0.0.0",...,"src_net":"0.0.0.0/0",
 *        ...,"bgp_next_hop":"","bgp_communities":[],...,"ipv6_routing_header_seg_left":0},
 *        "proto":"IPv6-ICMP" for 58): confirms order, spacing and empty forms.
 *
 * Columns.  With no mapping file every field of FlowMessage is printed, in the
 * order of the generated Go struct = the declaration order of flow.proto [C]:
 *   type time_received_ns sequence_num sampling_rate sampler_address
 *   time_flow_start_ns time_flow_end_ns bytes packets src_addr dst_addr etype
 *   proto src_port dst_port in_if out_if src_mac dst_mac src_vlan dst_vlan
 *   vlan_id ip_tos forwarding_status ip_ttl ip_flags tcp_flags icmp_type
 *   icmp_code ipv6_flow_label fragment_id fragment_offset src_as dst_as
 *   next_hop next_hop_as src_net dst_net bgp_next_hop bgp_communities as_path
 *   mpls_ttl mpls_label mpls_ip observation_domain_id observation_point_id
 *   layer_stack layer_size ipv6_routing_header_addresses
 *   ipv6_routing_header_seg_left                                   (50 columns)
 * Every column prints even when zero or empty [M][O]: "" for an absent
 * address, [] for an empty list.  The virtual column icmp_name is printed
 * only when a mapping file lists it in formatter.fields [C][R].
 *
 * Shapes [M].  JSON: {"k":v,"k":v} - no spaces; strings quoted; numbers bare;
 * lists [a,b] with quoted strings inside.  Text: k=v joined by single spaces,
 * nothing quoted (so lists print [Ethernet,IPv4] and an empty address "k=").
 * The key is the proto name, or its formatter.rename.  Both are one record,
 * no newline (the file transport adds -transport.file.sep, "\n").
 * GoFlow2 writes string values unescaped (quirk 6 [S]); json.Marshal then
 * compacts the bytes with HTML escaping [F], so a value holding < > & becomes
 * \u003c \u003e \u0026 and one holding a control byte or '"' makes the record
 * fail to encode.  flowkit escapes instead, the way Go's encoding/json escapes
 * a string: '"' '\\' -> \" \\; \n \r \t \b \f short forms; other bytes below
 * 0x20 -> \u00XX; < > & -> \u003c \u003e \u0026; U+2028/9 -> \u2028/9;
 * invalid UTF-8 -> \ufffd; valid UTF-8 as is.  No default column can hold
 * such bytes; only the "string" renderer and renamed keys can.  In text, such
 * values are written with bytes outside 0x21..0x7e as \xNN (GoFlow2: raw),
 * so one record stays one line of space-separated k=v.
 *
 * Default renderers [R] (defaultRenderers; everything else is "none"):
 *   src_mac dst_mac                      mac
 *   src_addr dst_addr sampler_address next_hop bgp_next_hop
 *   mpls_ip ipv6_routing_header_addresses   ip   (MplsIp and the SRv6 list are
 *                                        in defaultRenderers at HEAD; earlier v2
 *                                        render.go lacked them: hex strings)
 *   etype                                etype
 *   proto                                proto
 *   src_net dst_net                      network
 *   icmp_name (virtual)                  ICMP
 *
 * What each renderer prints, by the Go type of the value [R]:
 *   none (NilRenderer)  enum -> its name (String(): "SFLOW_5", "IPv6HeaderRouting";
 *                       a value without a name -> its decimal, as a string "7");
 *                       bytes -> lower-case hex string; integers -> decimal.
 *                       No value (virtual column) -> the column is left out.
 *   ip        bytes of length 4 or 16 -> netip text [G] (IPv4 dotted; IPv6
 *             lower-case, longest run (>= 2) of zero groups -> "::", first run on
 *             a tie; ::ffff:a.b.c.d for IPv4-mapped; no other embedded-IPv4
 *             form); other lengths (0 = absent) -> "".  Non-bytes -> as none.
 *   mac       uint64 -> its low 6 bytes "aa:bb:cc:dd:ee:ff" (high 16 bits
 *             ignored).  Other types -> as none (a uint32 stays a number).
 *   etype     uint32/uint64 -> 0x800 "IPv4", 0x86dd "IPv6", 0x806 "ARP", else "".
 *             Other types (enums, bytes, no value) -> "unknown".
 *   proto     uint32/uint64 -> IANA keyword table 0..145 (0 "HOPOPT", 1 "ICMP",
 *             6 "TCP", 17 "UDP", 58 "IPv6-ICMP", 132 "SCTP", ...), 146..252
 *             "unassigned", 253..254 "experimental", 255 "reserved", above
 *             "unknown".  Other types -> "unknown".  (Earlier v2 render.go had
 *             only ICMP TCP UDP "ICMPv6" SCTP and printed "" otherwise; this is HEAD's.)
 *   datetime  uint64/uint32 seconds -> RFC3339Nano UTC "2024-01-02T03:04:05Z".
 *   datetimenano  uint64 ns -> RFC3339Nano UTC, fraction with trailing zeros
 *             trimmed ("...:05.5Z"), none when zero.  uint32 -> as none.
 *   string    bytes -> the bytes as a string (escaped as above).
 *   network   (src_net, dst_net) the prefix length applied to src_addr /
 *             dst_addr: "10.0.0.0/24", "2001:db8::/32"; "invalid Prefix" when the
 *             address is absent or the length exceeds 32/128 (netip.Prefix{}
 *             [G]); non-uint32 values -> "unknown".  [S] quirk 7: GoFlow2's
 *             mapping file rejects the name "network" (and "type").
 *   ICMP      (icmp_name) proto 1 -> ICMP type name (0 EchoReply, 3
 *             DestinationUnreachable, 8 Echo, 9 RouterAdvertisement, 10
 *             RouterSolicitation, 11 TimeExceeded, else ""); proto 58 -> ICMPv6
 *             (1 DestinationUnreachable, 2 PacketTooBig, 3 TimeExceeded, 128
 *             EchoRequest, 129 EchoReply, 133 RouterSolicitation, 134
 *             RouterAdvertisement, else ""); any other proto "unknown".
 * Lists render each element with the column's renderer [M][C] (isSliceMap).
 * Numbers are Go's %v: plain decimal.
 *
 * bin [M][F][P][S]: protodelim.MarshalTo = varint(message length) followed by
 * the proto3 message.  Go's marshaller writes fields in field-number order,
 * leaves out zero scalars and empty bytes, packs repeated scalars/enums, and
 * writes each repeated-bytes element (even an empty one).  fc_format_bin
 * produces exactly those bytes.
 *
 * Mapping files [S] sec. 8 (formatter: fields / render / rename / protobuf)
 * are expressed with fc_format_new() and friends below; collector/mapping.c
 * reads the YAML and calls them ("key" is kept by the mapping itself).
 *
 * Custom fields (formatter.protobuf) [M] mapUnknown: printed only when named
 * in formatter.fields, and only when the record has a value for them (an
 * absent custom field is left out, key included); a varint prints through
 * the field's renderer (default none: decimal), a string/bytes value as its
 * lower-case hex in a string (GoFlow2 hex-encodes unknown length-delimited
 * fields before rendering); array fields print [v,v,...] in decoding order.
 * In bin they follow the proto fields as unknown fields do in Go's
 * marshaller: one tag per value (arrays unpacked), in decoding order.
 *
 * flowkit's extra values (record.h fc_xval_t, format/extras.h) follow the
 * columns only when formatter.fields is not given: a mapping file that
 * lists fields gets exactly those (map an extra element to a custom field
 * with ipfix.mapping to print it then).
 */
#ifndef FC_FORMAT_H
#define FC_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/buf.h"
#include "../record.h"

/* ---- renderers ------------------------------------------------------------ */

typedef enum fc_render {
    FC_R_NONE = 0,     /* "none"          NilRenderer */
    FC_R_IP,           /* "ip"            IPRenderer */
    FC_R_MAC,          /* "mac"           MacRenderer */
    FC_R_ETYPE,        /* "etype"         EtypeRenderer */
    FC_R_PROTO,        /* "proto"         ProtoRenderer */
    FC_R_DATETIME,     /* "datetime"      DateTimeRenderer */
    FC_R_DATETIMENANO, /* "datetimenano"  DateTimeNanoRenderer */
    FC_R_STRING,       /* "string"        StringRenderer */
    FC_R_NETWORK,      /* "network"       NetworkRenderer (not accepted by GoFlow2's config) */
    FC_R_ICMP,         /* "icmp"          ICMPRenderer (flowkit's name; GoFlow2 has none) */
    FC_R_COUNT_
} fc_render_t;

typedef struct fc_renderer_st {
    const char *name; /* name in a mapping file's formatter.render */
    uint8_t goflow2;  /* 1 when GoFlow2's mapping file accepts the name ([R] `renderers`) */
} fc_renderer_t;

/* Indexed by fc_render_t. */
extern const fc_renderer_t fc_renderers[FC_R_COUNT_];

/*
 * The renderer called `name` (any entry of fc_renderers, case-sensitive as in
 * GoFlow2), or -1.  A caller that must refuse what GoFlow2 refuses checks
 * fc_renderers[r].goflow2.
 */
int fc_render_find(const char *name);

/* ---- columns -------------------------------------------------------------- */

/* How a column's value is stored in fc_flow_t and typed in flow.proto. */
typedef enum fc_ckind {
    FC_K_ENUM8,   /* uint8_t; proto enum FlowType (type) */
    FC_K_U32,     /* uint32_t; proto uint32 */
    FC_K_U64,     /* uint64_t; proto uint64 */
    FC_K_ADDR,    /* fc_addr_t; proto bytes of a.len bytes, absent when len 0 */
    FC_K_A_U32,   /* uint32_t[cap] + uint16_t count; proto packed repeated uint32 */
    FC_K_A_ENUM,  /* uint32_t[cap] + uint16_t count; proto packed repeated enum LayerStack */
    FC_K_A_ADDR,  /* fc_addr_t[cap] + uint16_t count; proto repeated bytes */
    FC_K_VIRTUAL, /* no value and no proto field: only its renderer speaks (icmp_name) */
} fc_ckind_t;

#define FC_NO_OFF 0xffffu

typedef struct fc_column_st {
    const char *name; /* proto / JSON / text name, "src_addr" */
    const char *go;   /* GoFlow2's Go field name, "SrcAddr" (mapping destinations, render keys) */
    const char *jkey; /* name as a JSON key with its colon: "\"src_addr\":" */
    const char *tkey; /* name as a text key with its sign: "src_addr=" */
    uint8_t name_len; /* strlen(name); jkey is name_len + 3 bytes, tkey name_len + 1 */
    uint8_t pb;       /* flow.proto field number; 0 for a virtual column */
    uint8_t kind;     /* fc_ckind_t */
    uint8_t render;   /* default renderer (fc_render_t), GoFlow2's defaultRenderers */
    uint16_t off;     /* offsetof the value (first element of a list) in fc_flow_t */
    uint16_t cnt_off; /* lists: offsetof their uint16_t count; FC_NO_OFF otherwise */
    uint16_t cap;     /* lists: capacity in elements (the count is clamped to it) */
    uint16_t net_off; /* network renderer: offsetof the fc_addr_t whose prefix is
                       * printed (src_net -> src_addr); FC_NO_OFF: none (zero Addr) */
} fc_column_t;

/*
 * The 50 FlowMessage fields in GoFlow2's default order, then icmp_name, then
 * flowkit's extension columns (outer_src_addr, outer_dst_addr: set only for
 * sFlow samples decapsulated with -sflow.decap).  Extension columns are not in
 * flow.proto; by default they are printed after the 50, and only when set, so
 * GoFlow2's default output is unchanged for every record GoFlow2 can produce.
 */
#define FC_NPROTO_COLUMNS 50
#define FC_NEXT_COLUMNS   2
#define FC_NCOLUMNS       (FC_NPROTO_COLUMNS + 1 + FC_NEXT_COLUMNS)
extern const fc_column_t fc_columns[FC_NCOLUMNS];

/*
 * The column called `name`: its proto/JSON name ("src_addr") or GoFlow2's Go
 * name ("SrcAddr"), exact case.  Returns its index in fc_columns, or -1.
 */
int fc_column_find(const char *name);

/* Names GoFlow2 prints for enum values and its lookup tables [R]; NULL when a
 * value has none (the caller then prints what GoFlow2 prints, see above). */
const char *fc_flow_type_name(uint32_t v); /* FlowType: "SFLOW_5" ... */
const char *fc_layer_name(uint32_t v);     /* LayerStack: "Ethernet" ... */
const char *fc_etype_name(uint32_t v);     /* "IPv4" "IPv6" "ARP" */
const char *fc_proto_name(uint32_t v);     /* never NULL: "TCP" ... "unassigned" "unknown" */
const char *fc_icmp_name(uint32_t proto,
                         uint32_t type); /* icmp_name; never NULL ("" or "unknown") */

/* ---- formats (mapping file: formatter.fields / render / rename) ------------ */

/*
 * A selection of columns with renames and renderers.  fmt == NULL everywhere
 * means GoFlow2's defaults: all 50 proto columns in order, default renderers,
 * no renames.  A format is built once at start-up (not on the hot path) and
 * is then read-only, so threads may share it.
 */
typedef struct fc_format_st fc_format_t;

/* Limits of one format (config errors past them, -ENOSPC). */
#define FC_FORMAT_MAX_FIELDS  256 /* formatter.fields entries */
#define FC_FORMAT_MAX_VIRTUAL 32  /* distinct names that are not columns */
#define FC_FORMAT_MAX_NAME    128 /* bytes of a field name or rename */

/*
 * A new format: no fields listed (= every proto column, as GoFlow2 when
 * formatter.fields is empty), default renderers, no renames.  NULL when out
 * of memory.  Free with fc_format_free (NULL is fine).
 */
fc_format_t *fc_format_new(void);
void fc_format_free(fc_format_t *fmt);

/*
 * formatter.render: give `name` (a column's proto or Go name, or any other
 * name, which then becomes a virtual column usable in fields) the renderer r.
 * Returns 0, -EINVAL (r out of range, empty or over-long name) or -ENOSPC.
 */
int fc_format_set_render(fc_format_t *fmt, const char *name, fc_render_t r);

/*
 * formatter.rename: print field `name` (as written in fields) under the key
 * `out` (copied; JSON-escaped on output).  0, -EINVAL or -ENOSPC.
 */
int fc_format_set_rename(fc_format_t *fmt, const char *name, const char *out);

/*
 * formatter.fields: append `name` to the printed columns (a name may repeat;
 * it then prints twice, as in GoFlow2).  `name` must be a column's proto name
 * or have a renderer set before (fc_format_set_render, or icmp_name's default),
 * which is GoFlow2's rule ("field X in config not found in protobuf"): apply
 * a mapping file's render section before its fields.  0, -ENOENT (unknown
 * name), -EINVAL or -ENOSPC.
 */
int fc_format_add_field(fc_format_t *fmt, const char *name);

/* ---- custom fields (formatter.protobuf) ----------------------------------- */

#define FC_FORMAT_MAX_CUSTOM 64 /* formatter.protobuf entries */

typedef enum fc_ctype {
    FC_CT_VARINT = 0, /* "varint": uint64, protobuf wire type 0 */
    FC_CT_STRING,     /* "string": length-delimited, wire type 2 */
    FC_CT_BYTES,      /* "bytes":  length-delimited, wire type 2 */
} fc_ctype_t;

/*
 * formatter.protobuf: declare custom field `name` (protobuf number pb, its
 * type, repeated when `array`).  Custom fields are numbered 0, 1, ... in the
 * order they are added: that number is what fc_cval_t.field holds.  Returns
 * the number, -EINVAL (bad name or type, or the name of a column), -EEXIST
 * (the name was declared before) or -ENOSPC.  Declare custom fields before
 * render, rename and fields refer to them.
 */
int fc_format_add_custom(fc_format_t *fmt, const char *name, uint32_t pb, fc_ctype_t type,
                         int array);

/* The custom field called `name`, or -1. */
int fc_format_custom_find(const fc_format_t *fmt, const char *name);

/* 1 when formatter.fields listed columns (extras are then not printed), else 0. */
int fc_format_has_fields(const fc_format_t *fmt);

/* ---- formatting one record ------------------------------------------------- */

/*
 * Append one record to `b`: the JSON object (fc_format_json), the text line
 * (fc_format_text) - both without a trailing separator - or the varint length
 * and protobuf message (fc_format_bin).  `fmt` selects columns, renames and
 * renderers (NULL: GoFlow2's defaults); fc_format_bin ignores it, as GoFlow2's
 * bin output ignores the formatter section.  Lists longer than their
 * capacity are clamped to it.  No allocation except growing `b`.
 * Returns 0, or -1 when `b` could not grow (b->error is set, nothing of the
 * record was appended).
 */
int fc_format_json(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt);
int fc_format_text(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt);
int fc_format_bin(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt);

/* Shared by json.c and text.c (not for other callers): the k=v writer. */
int fc__format_kv(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt, int json);

/*
 * For tests only: the same record written without the compiled plan, every
 * value through the general renderer one column at a time (the slow, simple
 * path the fast one must equal byte for byte).  Same contract as fc__format_kv.
 */
int fc__format_kv_generic(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt, int json);

#endif /* FC_FORMAT_H */
