/*
 * json.c - the column table (fc_columns), GoFlow2's renderers, mapping-file
 * formats (fc_format_t) and the k=v writer that GoFlow2's JSON and text
 * formats share (producer/proto/messages.go FormatMessageReflectCustom: JSON
 * is {"k":v,...}, text is k=v joined by spaces; see format.h for every rule
 * and its source).  text.c calls fc__format_kv with json = 0.
 *
 * Hot path (see "plans" below): one fk_buf_reserve of the format's worst
 * case per record, then plain stores into that block; no allocation, no
 * printf, no locale.  A format is compiled at configuration time, from its
 * active column list, into a plan per output shape: the keys as text, the
 * columns grouped into runs of one value writer (so the writer is chosen once
 * per run, not per column), and for each column the text it prints when its
 * value is zero or empty.  A run of columns that are all zero in a record is
 * then one copy of precomputed text; GoFlow2's 50 columns are mostly zero in
 * real NetFlow/IPFIX/sFlow records (MPLS, SRv6, BGP lists, VLANs, ...).
 */
#include "format.h"
#include "extras.h"

#include <arpa/inet.h>
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- the column table -------------------------------------------------- */

/* Member size checks inside initializers: table and struct cannot drift. */
#define MSIZE(m)        sizeof(((fc_flow_t *)0)->m)
#define ESIZE(m)        sizeof(((fc_flow_t *)0)->m[0])
#define CHECK(m, sz)    (0 * sizeof(char[(MSIZE(m) == (sz)) ? 1 : -1]))
#define CHECK_EL(m, sz) (0 * sizeof(char[(ESIZE(m) == (sz)) ? 1 : -1]))
#define OFF(m, sz)      ((uint16_t)(offsetof(fc_flow_t, m) + CHECK(m, sz)))
#define ELOFF(m, sz)    ((uint16_t)(offsetof(fc_flow_t, m) + CHECK_EL(m, sz)))
#define CAP(m)          ((uint16_t)(MSIZE(m) / ESIZE(m)))

#define COL(nm, GO, PB, KIND, R, off, cnt, cap, net)                                              \
    {                                                                                             \
#nm, GO, "\"" #nm "\":", #nm "=", (uint8_t)(sizeof(#nm) - 1), PB, KIND, R, off, cnt, cap, \
            net                                                                                   \
    }
#define SCALAR(nm, GO, PB, KIND, SZ, R) \
    COL(nm, GO, PB, KIND, R, OFF(nm, SZ), FC_NO_OFF, 0, FC_NO_OFF)
#define ENUM8(nm, GO, PB)   SCALAR(nm, GO, PB, FC_K_ENUM8, 1, FC_R_NONE)
#define U32(nm, GO, PB)     SCALAR(nm, GO, PB, FC_K_U32, 4, FC_R_NONE)
#define U32R(nm, GO, PB, R) SCALAR(nm, GO, PB, FC_K_U32, 4, R)
#define U64(nm, GO, PB)     SCALAR(nm, GO, PB, FC_K_U64, 8, FC_R_NONE)
#define U64R(nm, GO, PB, R) SCALAR(nm, GO, PB, FC_K_U64, 8, R)
#define ADDR(nm, GO, PB)    SCALAR(nm, GO, PB, FC_K_ADDR, sizeof(fc_addr_t), FC_R_IP)
#define NET(nm, GO, PB, a) \
    COL(nm, GO, PB, FC_K_U32, FC_R_NETWORK, OFF(nm, 4), FC_NO_OFF, 0, OFF(a, sizeof(fc_addr_t)))
#define LIST(nm, GO, PB, KIND, ESZ, cnt, R) \
    COL(nm, GO, PB, KIND, R, ELOFF(nm, ESZ), OFF(cnt, 2), CAP(nm), FC_NO_OFF)

_Static_assert(sizeof(fc_flow_t) < FC_NO_OFF, "fc_flow_t offsets must fit uint16_t");

/*
 * GoFlow2's FlowMessage in declaration order (= its default column order),
 * with the Go names and default renderers of producer/proto/render.go.
 */
const fc_column_t fc_columns[FC_NCOLUMNS] = {
    ENUM8(type, "Type", 1),
    U64(time_received_ns, "TimeReceivedNs", 110),
    U32(sequence_num, "SequenceNum", 4),
    U64(sampling_rate, "SamplingRate", 3),
    ADDR(sampler_address, "SamplerAddress", 11),
    U64(time_flow_start_ns, "TimeFlowStartNs", 111),
    U64(time_flow_end_ns, "TimeFlowEndNs", 112),
    U64(bytes, "Bytes", 9),
    U64(packets, "Packets", 10),
    ADDR(src_addr, "SrcAddr", 6),
    ADDR(dst_addr, "DstAddr", 7),
    U32R(etype, "Etype", 30, FC_R_ETYPE),
    U32R(proto, "Proto", 20, FC_R_PROTO),
    U32(src_port, "SrcPort", 21),
    U32(dst_port, "DstPort", 22),
    U32(in_if, "InIf", 18),
    U32(out_if, "OutIf", 19),
    U64R(src_mac, "SrcMac", 27, FC_R_MAC),
    U64R(dst_mac, "DstMac", 28, FC_R_MAC),
    U32(src_vlan, "SrcVlan", 33),
    U32(dst_vlan, "DstVlan", 34),
    U32(vlan_id, "VlanId", 29),
    U32(ip_tos, "IpTos", 23),
    U32(forwarding_status, "ForwardingStatus", 24),
    U32(ip_ttl, "IpTtl", 25),
    U32(ip_flags, "IpFlags", 38),
    U32(tcp_flags, "TcpFlags", 26),
    U32(icmp_type, "IcmpType", 31),
    U32(icmp_code, "IcmpCode", 32),
    U32(ipv6_flow_label, "Ipv6FlowLabel", 37),
    U32(fragment_id, "FragmentId", 35),
    U32(fragment_offset, "FragmentOffset", 36),
    U32(src_as, "SrcAs", 14),
    U32(dst_as, "DstAs", 15),
    ADDR(next_hop, "NextHop", 12),
    U32(next_hop_as, "NextHopAs", 13),
    NET(src_net, "SrcNet", 16, src_addr),
    NET(dst_net, "DstNet", 17, dst_addr),
    ADDR(bgp_next_hop, "BgpNextHop", 100),
    LIST(bgp_communities, "BgpCommunities", 101, FC_K_A_U32, 4, n_bgp_communities, FC_R_NONE),
    LIST(as_path, "AsPath", 102, FC_K_A_U32, 4, n_as_path, FC_R_NONE),
    LIST(mpls_ttl, "MplsTtl", 80, FC_K_A_U32, 4, n_mpls, FC_R_NONE),
    LIST(mpls_label, "MplsLabel", 81, FC_K_A_U32, 4, n_mpls, FC_R_NONE),
    LIST(mpls_ip, "MplsIp", 82, FC_K_A_ADDR, sizeof(fc_addr_t), n_mpls_ip, FC_R_IP),
    U32(observation_domain_id, "ObservationDomainId", 70),
    U32(observation_point_id, "ObservationPointId", 71),
    LIST(layer_stack, "LayerStack", 103, FC_K_A_ENUM, 4, n_layers, FC_R_NONE),
    LIST(layer_size, "LayerSize", 104, FC_K_A_U32, 4, n_layers, FC_R_NONE),
    LIST(ipv6_routing_header_addresses, "Ipv6RoutingHeaderAddresses", 105, FC_K_A_ADDR,
         sizeof(fc_addr_t), n_srv6, FC_R_IP),
    U32(ipv6_routing_header_seg_left, "Ipv6RoutingHeaderSegLeft", 106),
    /* Virtual: no storage, not in flow.proto, printed only when selected. */
    {"icmp_name", "icmp_name", "\"icmp_name\":", "icmp_name=", 9, 0, FC_K_VIRTUAL, FC_R_ICMP,
     FC_NO_OFF, FC_NO_OFF, 0, FC_NO_OFF},
    /* flowkit extensions: no flow.proto field; printed by default only when set. */
    ADDR(outer_src_addr, "OuterSrcAddr", 0),
    ADDR(outer_dst_addr, "OuterDstAddr", 0),
};

const fc_renderer_t fc_renderers[FC_R_COUNT_] = {
    [FC_R_NONE] = {"none", 1},
    [FC_R_IP] = {"ip", 1},
    [FC_R_MAC] = {"mac", 1},
    [FC_R_ETYPE] = {"etype", 1},
    [FC_R_PROTO] = {"proto", 1},
    [FC_R_DATETIME] = {"datetime", 1},
    [FC_R_DATETIMENANO] = {"datetimenano", 1},
    [FC_R_STRING] = {"string", 1},
    [FC_R_NETWORK] = {"network", 0},
    [FC_R_ICMP] = {"icmp", 0},
};

int fc_render_find(const char *name)
{
    for (int i = 0; i < FC_R_COUNT_; i++)
        if (strcmp(fc_renderers[i].name, name) == 0)
            return i;
    return -1;
}

int fc_column_find(const char *name)
{
    for (int i = 0; i < FC_NCOLUMNS; i++)
        if (strcmp(fc_columns[i].name, name) == 0 || strcmp(fc_columns[i].go, name) == 0)
            return i;
    return -1;
}

/* ---- GoFlow2's name tables (render.go) --------------------------------- */

static const char *const flow_type_names[] = {"FLOWUNKNOWN", "SFLOW_5", "NETFLOW_V5", "NETFLOW_V9",
                                              "IPFIX"};

static const char *const layer_names[14] = {"Ethernet",
                                            "IPv4",
                                            "IPv6",
                                            "TCP",
                                            "UDP",
                                            "MPLS",
                                            "Dot1Q",
                                            "ICMP",
                                            "ICMPv6",
                                            "GRE",
                                            "IPv6HeaderRouting",
                                            "IPv6HeaderFragment",
                                            "Geneve",
                                            "Teredo"};

/* IANA protocol keywords as GoFlow2 spells them (render.go protoName, 0..145). */
static const char *const proto_names[146] = {"HOPOPT",
                                             "ICMP",
                                             "IGMP",
                                             "GGP",
                                             "IPv4",
                                             "ST",
                                             "TCP",
                                             "CBT",
                                             "EGP",
                                             "IGP",
                                             "BBN-RCC-MON",
                                             "NVP-II",
                                             "PUP",
                                             "ARGUS",
                                             "EMCON",
                                             "XNET",
                                             "CHAOS",
                                             "UDP",
                                             "MUX",
                                             "DCN-MEAS",
                                             "HMP",
                                             "PRM",
                                             "XNS-IDP",
                                             "TRUNK-1",
                                             "TRUNK-2",
                                             "LEAF-1",
                                             "LEAF-2",
                                             "RDP",
                                             "IRTP",
                                             "ISO-TP4",
                                             "NETBLT",
                                             "MFE-NSP",
                                             "MERIT-INP",
                                             "DCCP",
                                             "3PC",
                                             "IDPR",
                                             "XTP",
                                             "DDP",
                                             "IDPR-CMTP",
                                             "TP++",
                                             "IL",
                                             "IPv6",
                                             "SDRP",
                                             "IPv6-Route",
                                             "IPv6-Frag",
                                             "IDRP",
                                             "RSVP",
                                             "GRE",
                                             "DSR",
                                             "BNA",
                                             "ESP",
                                             "AH",
                                             "I-NLSP",
                                             "SWIPE",
                                             "NARP",
                                             "Min-IPv4",
                                             "TLSP",
                                             "SKIP",
                                             "IPv6-ICMP",
                                             "IPv6-NoNxt",
                                             "IPv6-Opts",
                                             "any-host-internal-protocol",
                                             "CFTP",
                                             "any-local-network",
                                             "SAT-EXPAK",
                                             "KRYPTOLAN",
                                             "RVD",
                                             "IPPC",
                                             "any-distributed-file-system",
                                             "SAT-MON",
                                             "VISA",
                                             "IPCV",
                                             "CPNX",
                                             "CPHB",
                                             "WSN",
                                             "PVP",
                                             "BR-SAT-MON",
                                             "SUN-ND",
                                             "WB-MON",
                                             "WB-EXPAK",
                                             "ISO-IP",
                                             "VMTP",
                                             "SECURE-VMTP",
                                             "VINES",
                                             "IPTM",
                                             "NSFNET-IGP",
                                             "DGP",
                                             "TCF",
                                             "EIGRP",
                                             "OSPFIGP",
                                             "Sprite-RPC",
                                             "LARP",
                                             "MTP",
                                             "AX.25",
                                             "IPIP",
                                             "MICP",
                                             "SCC-SP",
                                             "ETHERIP",
                                             "ENCAP",
                                             "any-private-encryption-scheme",
                                             "GMTP",
                                             "IFMP",
                                             "PNNI",
                                             "PIM",
                                             "ARIS",
                                             "SCPS",
                                             "QNX",
                                             "A/N",
                                             "IPComp",
                                             "SNP",
                                             "Compaq-Peer",
                                             "IPX-in-IP",
                                             "VRRP",
                                             "PGM",
                                             "any-0-hop-protocol",
                                             "L2TP",
                                             "DDX",
                                             "IATP",
                                             "STP",
                                             "SRP",
                                             "UTI",
                                             "SMP",
                                             "SM",
                                             "PTP",
                                             "ISIS over IPv4",
                                             "FIRE",
                                             "CRTP",
                                             "CRUDP",
                                             "SSCOPMCE",
                                             "IPLT",
                                             "SPS",
                                             "PIPE",
                                             "SCTP",
                                             "FC",
                                             "RSVP-E2E-IGNORE",
                                             "Mobility Header",
                                             "UDPLite",
                                             "MPLS-in-IP",
                                             "manet",
                                             "HIP",
                                             "Shim6",
                                             "WESP",
                                             "ROHC",
                                             "Ethernet",
                                             "AGGFRAG",
                                             "NSH"};

const char *fc_flow_type_name(uint32_t v)
{
    return v < sizeof(flow_type_names) / sizeof(flow_type_names[0]) ? flow_type_names[v] : NULL;
}

const char *fc_layer_name(uint32_t v)
{
    if (v < sizeof(layer_names) / sizeof(layer_names[0]))
        return layer_names[v];
    return v == FC_L_CUSTOM ? "Custom" : NULL;
}

const char *fc_etype_name(uint32_t v)
{
    switch (v) {
    case 0x800:
        return "IPv4";
    case 0x86dd:
        return "IPv6";
    case 0x806:
        return "ARP";
    default:
        return NULL;
    }
}

const char *fc_proto_name(uint32_t v)
{
    if (v < sizeof(proto_names) / sizeof(proto_names[0]))
        return proto_names[v];
    if (v <= 252)
        return "unassigned";
    if (v <= 254)
        return "experimental";
    return v == 255 ? "reserved" : "unknown";
}

const char *fc_icmp_name(uint32_t proto, uint32_t type)
{
    if (proto == 1) {
        switch (type) {
        case 0:
            return "EchoReply";
        case 3:
            return "DestinationUnreachable";
        case 8:
            return "Echo";
        case 9:
            return "RouterAdvertisement";
        case 10:
            return "RouterSolicitation";
        case 11:
            return "TimeExceeded";
        default:
            return "";
        }
    }
    if (proto == 58) {
        switch (type) {
        case 1:
            return "DestinationUnreachable";
        case 2:
            return "PacketTooBig";
        case 3:
            return "TimeExceeded";
        case 128:
            return "EchoRequest";
        case 129:
            return "EchoReply";
        case 133:
            return "RouterSolicitation";
        case 134:
            return "RouterAdvertisement";
        default:
            return "";
        }
    }
    return "unknown";
}

/* ---- formats ------------------------------------------------------------ */

/*
 * Value writers of the hot path: the column kind and renderer folded into one
 * code for the common pairs; OP_GENERIC does the rest through render().
 */
enum {
    OP_GENERIC,  /* render() with the value's Go type: rare pairs, virtual names */
    OP_NUM,      /* uint32 or uint64 printed as a number */
    OP_FLOWTYPE, /* FlowType enum by name */
    OP_IP,       /* address, "ip" */
    OP_MAC,      /* uint64, "mac" */
    OP_ETYPE,    /* uint32, "etype" */
    OP_PROTO,    /* uint32, "proto" */
    OP_NET,      /* uint32, "network" */
    OP_LNUM,     /* uint32 list printed as numbers */
    OP_LLAYER,   /* LayerStack list by names */
    OP_LIP,      /* address list, "ip" */
    OP_TEXT,     /* no value: a shape's step that is text alone (see shape_t) */
};

/* One printed field, resolved from the configuration (what plans are built from). */
typedef struct fc_fsel_st {
    const char *jkey; /* "\"key\":" (escaped) */
    const char *tkey; /* "key=" */
    uint16_t jlen, tlen;
    int16_t col;       /* index in fc_columns; -1: a virtual name with no column */
    uint8_t render;    /* fc_render_t */
    uint8_t op;        /* OP_* */
    uint8_t nilskip;   /* a virtual field whose renderer yields nothing: left out */
    uint8_t emptyskip; /* an extension address column: left out when absent */
    int16_t cust;      /* a custom field (formatter.protobuf): its number; -1 otherwise */
} fc_fsel_t;

typedef struct fc_named_st {
    char name[FC_FORMAT_MAX_NAME + 1];
    uint8_t render; /* virtual names: their renderer */
    char *jkey;     /* renames: built keys (heap) */
    char *tkey;
    uint16_t jlen, tlen;
} fc_named_t;

/* A custom field (formatter.protobuf): its name, renderer and keys, and its type. */
typedef struct fc_fcust_st {
    fc_named_t n;
    uint32_t pb;
    uint8_t type;  /* fc_ctype_t */
    uint8_t array; /* repeated: every value prints, [a,b] */
} fc_fcust_t;

/*
 * Plans.  A plan is one format compiled for one shape (JSON or text).  Every
 * printed column writes  key [open] value [close] separator:  the key text
 * carries the opening quote (JSON string values) or bracket (lists), the
 * writer adds the value, the closing character and the separator (',' in
 * JSON, ' ' in text); the record's last separator is replaced by '}' (JSON)
 * or dropped (text).  Trailing separators, rather than leading ones, make a
 * column's text independent of whether an earlier column was left out.
 *
 * Zero texts.  A column whose printed text depends only on its own value has
 * a zero test - 8 bytes of the record at `zt`, masked by `zmask` - that is
 * all zero exactly when the column prints what it prints for an all-zero
 * record (a zero number, an absent address, an empty list), and that text,
 * made at plan time by the same writer on an all-zero record, so it is
 * byte-identical by construction.  Not zeroable: "network" and "icmp",
 * whose text depends on other fields, and custom fields.  flowkit's
 * extension columns (emptyskip) have the empty string as their zero text.
 *
 * The plan's text holds, per column in order, its zero text (which starts
 * with its key), or its key alone when it is not zeroable, or nothing
 * (emptyskip).  So any run of zero columns is one contiguous copy, and the
 * copy can go on through the key of the first column that is not zero.
 *
 * At run time the record's zero tests make a bitmap (64 columns at a time,
 * no branches); the columns that print a value are then visited by
 * count-trailing-zeros, each with one copy (the zero run before it and its
 * key) and its value writer; the zero columns cost their test alone.
 */
#define PLAN_SLACK 64 /* bytes past any text the writers may touch (fixed-size copies) */
#define NUMCACHE   16 /* entries of the per-thread cache of long numbers (see numcache) */
#define KEY_FIXED  32 /* texts up to this long are copied as one block of this size */
_Static_assert(PLAN_SLACK >= KEY_FIXED, "put_text reads and writes whole blocks");

typedef struct fc_pcol_st {
    uint32_t key; /* the key (with its opening character) in the plan's text */
    uint32_t z;   /* the column's zero-run text in the plan's text (see above) */
    uint16_t klen;
    uint16_t zlen;
    uint16_t off;   /* the value (first element of a list) in fc_flow_t */
    uint16_t aux;   /* lists: offsetof their count; network: offsetof the address */
    uint16_t cap;   /* lists: capacity */
    uint16_t zt;    /* zero test: 8 bytes of fc_flow_t at zt ... */
    uint64_t zmask; /* ... masked by zmask are all zero iff the zero text is what prints */
    uint8_t w8;     /* OP_NUM: the value is 8 bytes wide (else 4) */
    uint8_t op;     /* OP_*: the value writer */
    uint8_t kz;     /* 1: the key is at z (the column's text starts with it) */
    uint8_t slot;   /* OP_NUM, 8 bytes wide: its entry in numcache */
    int8_t zcol;    /* the fc_columns index its zero test reads, -1 none (see live_build) */
    uint16_t sel;   /* its index in fmt->sel (OP_GENERIC) */
} fc_pcol_t;

/* The zero tests alone, packed for the per-record loop (fc_pcol_t's zt, zmask). */
typedef struct fc_ztest_st {
    uint64_t mask;
    uint64_t off;
} fc_ztest_t;

typedef struct fc_plan_st {
    fc_pcol_t *col;   /* ncol + 1: the last only gives the end of the texts (its z) */
    fc_ztest_t *zt;   /* ncol */
    uint64_t *always; /* per 64 columns: those with no zero test (always written) */
    char *text;       /* keys, then the zero-run texts, then PLAN_SLACK zero bytes */
    uint64_t id;      /* unique per plan built (never reused): names it in live lists */
    uint16_t ncol;
} fc_plan_t;

struct fc_format_st {
    /* resolved: what the writers read */
    uint16_t nsel;
    size_t bound; /* worst-case bytes of one record (keys, values, separators, slack) */
    int error;    /* the plans could not be built (no memory): formatting fails */
    fc_fsel_t sel[FC_FORMAT_MAX_FIELDS];
    fc_plan_t plan[2]; /* [0] text, [1] JSON */
    /* configured */
    uint16_t nfields, nvirt, nrename, ncust;
    uint8_t col_render[FC_NCOLUMNS];
    int16_t field_col[FC_FORMAT_MAX_FIELDS];  /* column, or -1 - virtual index */
    int16_t field_cust[FC_FORMAT_MAX_FIELDS]; /* custom field, or -1 (field_col unused then) */
    char field_name[FC_FORMAT_MAX_FIELDS][FC_FORMAT_MAX_NAME + 1];
    fc_named_t virt[FC_FORMAT_MAX_VIRTUAL];
    fc_named_t rename[FC_FORMAT_MAX_FIELDS];
    fc_fcust_t cust[FC_FORMAT_MAX_CUSTOM];
};

/*
 * Worst-case bytes of one value, quotes included.  Scalars: a uint64 is 20
 * digits, a datetime under 45, a prefix "ffff:...:ffff/128" 45 + 4, a proto
 * name 29 with quotes.  Addresses: 16 bytes as "string" escaped to \ufffd each
 * is 98.  Lists: brackets, then elements and commas.
 */
#define SCALAR_MAX 64
#define ADDR_MAX   100

static size_t value_bound(const fc_column_t *c)
{
    switch (c ? c->kind : FC_K_VIRTUAL) {
    case FC_K_ADDR:
        return ADDR_MAX;
    case FC_K_A_U32:
    case FC_K_A_ENUM:
        return 2 + (size_t)c->cap * (SCALAR_MAX + 1);
    case FC_K_A_ADDR:
        return 2 + (size_t)c->cap * (ADDR_MAX + 1);
    default:
        return SCALAR_MAX;
    }
}

/*
 * Worst case of a custom field's value: an array of every custom value a
 * record holds, each a number or a rendered scalar, plus every custom byte
 * as two hex digits, quotes and commas.
 */
#define CUSTOM_MAX (2 + FC_MAX_CUSTOM * (SCALAR_MAX + 1) + 2 * FC_CUSTOM_BYTES)

static size_t sel_bound(const fc_fsel_t *s)
{
    if (s->cust >= 0)
        return CUSTOM_MAX;
    return value_bound(s->col >= 0 ? &fc_columns[s->col] : NULL);
}

static int nil_renderer(unsigned r)
{
    return r == FC_R_NONE || r == FC_R_IP || r == FC_R_MAC || r == FC_R_DATETIME ||
           r == FC_R_DATETIMENANO || r == FC_R_STRING;
}

static int name_ok(const char *name)
{
    return name && name[0] && strlen(name) <= FC_FORMAT_MAX_NAME;
}

static fc_named_t *named_find(fc_named_t *v, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static char *put_json_escaped(char *p, const uint8_t *s, size_t n);
static void names_ready(void);
static char *put_column(char *p, const fc_format_t *fmt, const fc_plan_t *pl, const fc_pcol_t *c,
                        unsigned op, const fc_flow_t *f, int json);

/* The dispatch code for a column rendered by r (see render() for the rules). */
static int pick_op(const fc_column_t *c, unsigned r)
{
    if (!c)
        return OP_GENERIC;
    switch (c->kind) {
    case FC_K_ENUM8:
        return nil_renderer(r) ? OP_FLOWTYPE : OP_GENERIC;
    case FC_K_U32:
        if (r == FC_R_NONE || r == FC_R_IP || r == FC_R_MAC || r == FC_R_DATETIMENANO ||
            r == FC_R_STRING)
            return OP_NUM;
        if (r == FC_R_ETYPE)
            return OP_ETYPE;
        if (r == FC_R_PROTO)
            return OP_PROTO;
        if (r == FC_R_NETWORK && c->net_off != FC_NO_OFF)
            return OP_NET;
        return OP_GENERIC;
    case FC_K_U64:
        if (r == FC_R_NONE || r == FC_R_IP || r == FC_R_STRING)
            return OP_NUM;
        return r == FC_R_MAC ? OP_MAC : OP_GENERIC;
    case FC_K_ADDR:
        return r == FC_R_IP ? OP_IP : OP_GENERIC;
    case FC_K_A_U32:
        return r == FC_R_NONE || r == FC_R_IP || r == FC_R_MAC || r == FC_R_DATETIMENANO ||
                       r == FC_R_STRING
                   ? OP_LNUM
                   : OP_GENERIC;
    case FC_K_A_ENUM:
        return nil_renderer(r) ? OP_LLAYER : OP_GENERIC;
    case FC_K_A_ADDR:
        return r == FC_R_IP ? OP_LIP : OP_GENERIC;
    default:
        return OP_GENERIC;
    }
}

/* The character a writer puts before / after the value (in the key text / after it). */
static char op_open(unsigned op, int json)
{
    switch (op) {
    case OP_FLOWTYPE:
    case OP_IP:
    case OP_MAC:
    case OP_ETYPE:
    case OP_PROTO:
    case OP_NET:
        return json ? '"' : 0;
    case OP_LNUM:
    case OP_LLAYER:
    case OP_LIP:
        return '[';
    default:
        return 0;
    }
}

/*
 * The zero test of a printed field: 1 when its text depends on its own value
 * only, with the bytes that hold that value (a number, an address's length,
 * a list's count) as an 8-byte window and mask; 0 when it also depends on
 * other fields ("network" of an address column, "icmp").
 */
static int zero_test(const fc_fsel_t *s, uint16_t *zt, uint64_t *zmask)
{
    const fc_column_t *c = s->col >= 0 ? &fc_columns[s->col] : NULL;
    size_t at, width;

    if (s->render == FC_R_ICMP && !s->emptyskip) /* left out when absent, whatever its renderer */
        return 0;
    if (s->cust >= 0) /* left out when the record has no value for it */
        return 0;
    switch (c ? c->kind : FC_K_VIRTUAL) {
    case FC_K_ENUM8:
        at = c->off, width = 1;
        break;
    case FC_K_U32:
        if (s->render == FC_R_NETWORK && c->net_off != FC_NO_OFF && !s->emptyskip)
            return 0;
        at = c->off, width = 4;
        break;
    case FC_K_U64:
        at = c->off, width = 8;
        break;
    case FC_K_ADDR: /* an absent address prints the same whatever its bytes */
        at = c->off + offsetof(fc_addr_t, len), width = 1;
        break;
    case FC_K_A_U32:
    case FC_K_A_ENUM:
    case FC_K_A_ADDR: /* an empty list prints [] (a count above 0 is clamped, never to 0) */
        at = c->cnt_off, width = 2;
        break;
    default: /* virtual, and not icmp: its text is a constant ("unknown") */
        *zt = 0;
        *zmask = 0;
        return 1;
    }
    _Static_assert(sizeof(fc_flow_t) >= 8, "zero tests read 8-byte windows");
    size_t base = at + 8 <= sizeof(fc_flow_t) ? at : sizeof(fc_flow_t) - 8;
    uint8_t m[8] = {0};
    memset(m + (at - base), 0xff, width); /* a byte mask: right whatever the byte order */
    *zt = (uint16_t)base;
    memcpy(zmask, m, 8);
    return 1;
}

static void plan_free(fc_plan_t *pl)
{
    free(pl->col);
    free(pl->zt);
    free(pl->always);
    free(pl->text);
    memset(pl, 0, sizeof(*pl));
}

/* The all-zero record the zero texts are written from. */
static const fc_flow_t zero_flow;

/*
 * Compile fmt->sel into the plan for one shape (config time).  0, or -ENOMEM
 * (the previous plan is then kept).
 */
static int plan_build(fc_format_t *fmt, int json)
{
    fc_plan_t np;
    size_t cap = PLAN_SLACK, maxcol = 0, len = 0;
    unsigned n = 0;

    memset(&np, 0, sizeof(np));
    for (unsigned i = 0; i < fmt->nsel; i++) {
        const fc_fsel_t *s = &fmt->sel[i];
        if (s->nilskip)
            continue;
        size_t klen = (json ? s->jlen : s->tlen) + 1u;
        size_t cb = klen + sel_bound(s) + 2;
        cap += klen + cb; /* the key, and the zero text: at most the column's bound */
        if (cb > maxcol)
            maxcol = cb;
        n++;
    }
    np.col = calloc(n + 1, sizeof(*np.col));
    np.always = calloc(n / 64 + 1, sizeof(*np.always));
    np.zt = calloc(n + 1, sizeof(*np.zt));
    np.text = malloc(cap);
    char *tmp = malloc(maxcol + PLAN_SLACK);
    if (!np.col || !np.always || !np.zt || !np.text || !tmp) {
        free(tmp);
        plan_free(&np);
        return -ENOMEM;
    }

    /* Columns and their keys. */
    uint8_t zeroable[FC_FORMAT_MAX_FIELDS];
    for (unsigned i = 0; i < fmt->nsel; i++) {
        const fc_fsel_t *s = &fmt->sel[i];
        if (s->nilskip)
            continue;
        const fc_column_t *c = s->col >= 0 ? &fc_columns[s->col] : NULL;
        unsigned k = np.ncol++;
        fc_pcol_t *pc = &np.col[k];
        const char *key = json ? s->jkey : s->tkey;
        size_t klen = json ? s->jlen : s->tlen;
        char open = op_open(s->op, json);
        pc->key = (uint32_t)len;
        memcpy(np.text + len, key, klen);
        len += klen;
        if (open)
            np.text[len++] = open;
        pc->klen = (uint16_t)(len - pc->key);
        pc->sel = (uint16_t)i;
        pc->op = s->op;
        if (c && c->off != FC_NO_OFF)
            pc->off = c->off;
        if (c && c->cnt_off != FC_NO_OFF)
            pc->aux = c->cnt_off, pc->cap = c->cap;
        if (s->op == OP_NET)
            pc->aux = c->net_off;
        pc->w8 = c && c->kind == FC_K_U64;
        pc->slot = (uint8_t)(k % NUMCACHE);
        zeroable[k] = (uint8_t)zero_test(s, &pc->zt, &pc->zmask);
        /* the test reads the column's own bytes: a decoder's promise that
         * the column is zero (fc_flow_t.zero_cols) answers it */
        pc->zcol = (int8_t)(zeroable[k] && pc->zmask && c && c->kind != FC_K_VIRTUAL &&
                                    s->cust < 0 && s->col < 64
                                ? s->col
                                : -1);
        if (!zeroable[k]) { /* a test that is always zero; the bitmap says "write it" */
            pc->zt = 0;
            pc->zmask = 0;
            np.always[k / 64] |= (uint64_t)1 << (k % 64);
        }
        np.zt[k].off = pc->zt;
        np.zt[k].mask = pc->zmask;
    }
    static uint64_t plan_ids;
    np.id = __atomic_add_fetch(&plan_ids, 1, __ATOMIC_RELAXED);

    /* Zero-run texts, in column order: a run of zero columns is contiguous. */
    for (unsigned k = 0; k < np.ncol; k++) {
        fc_pcol_t *pc = &np.col[k];
        const fc_fsel_t *s = &fmt->sel[pc->sel];
        pc->z = (uint32_t)len;
        if (s->emptyskip) /* extension columns: left out when empty, their zero text is "" */
            continue;
        pc->kz = 1;
        if (!zeroable[k]) { /* never in a run: its key alone, so runs can end with it */
            memcpy(np.text + len, np.text + pc->key, pc->klen);
            len += pc->klen;
            continue;
        }
        char *e = put_column(tmp, fmt, &np, pc, s->op, &zero_flow, json);
        pc->zlen = (uint16_t)(e - tmp);
        assert(pc->zlen >= pc->klen && memcmp(tmp, np.text + pc->key, pc->klen) == 0);
        memcpy(np.text + len, tmp, pc->zlen);
        len += pc->zlen;
    }
    np.col[np.ncol].z = (uint32_t)len; /* the end of the last run */
    assert(len + PLAN_SLACK <= cap);
    memset(np.text + len, 0, PLAN_SLACK);
    free(tmp);
    plan_free(&fmt->plan[json]);
    fmt->plan[json] = np;
    return 0;
}

/*
 * Rebuild sel[], the bound and the plans from the configuration (config time
 * only).  With no fields listed, the fields are every proto column by name
 * (GoFlow2: formatter.fields empty -> all); renames and renderers apply
 * either way.  0 or -ENOMEM (fmt->error is then set: formatting fails).
 */
static int resolve(fc_format_t *fmt)
{
    unsigned n = fmt->nfields ? fmt->nfields : FC_NPROTO_COLUMNS + FC_NEXT_COLUMNS;

    names_ready(); /* the padded name tables the writers copy from */
    fmt->nsel = (uint16_t)n;
    fmt->bound = 2 + PLAN_SLACK; /* braces; room for the last column's fixed-size stores */
    for (unsigned i = 0; i < n; i++) {
        fc_fsel_t *s = &fmt->sel[i];
        /* By default: the 50 proto columns, then the extensions (after icmp_name). */
        int col = fmt->nfields ? fmt->field_col[i] : (int)(i < FC_NPROTO_COLUMNS ? i : i + 1);
        const char *name = fmt->nfields ? fmt->field_name[i] : fc_columns[col].name;
        int cust = fmt->nfields ? fmt->field_cust[i] : -1;
        size_t vb;

        s->cust = (int16_t)cust;
        if (cust >= 0) {
            const fc_fcust_t *cu = &fmt->cust[cust];
            s->jkey = cu->n.jkey;
            s->jlen = cu->n.jlen;
            s->tkey = cu->n.tkey;
            s->tlen = cu->n.tlen;
            s->col = -1;
            s->render = cu->n.render;
            s->nilskip = 0;
            s->emptyskip = 0;
            vb = CUSTOM_MAX;
        } else if (col >= 0) {
            const fc_column_t *c = &fc_columns[col];
            s->jkey = c->jkey;
            s->jlen = (uint16_t)(c->name_len + 3);
            s->tkey = c->tkey;
            s->tlen = (uint16_t)(c->name_len + 1);
            s->col = (int16_t)col;
            s->render = fmt->col_render[col];
            s->nilskip = c->kind == FC_K_VIRTUAL && nil_renderer(s->render);
            s->emptyskip = col > FC_NPROTO_COLUMNS && c->kind == FC_K_ADDR && !fmt->nfields;
            vb = value_bound(c);
        } else {
            const fc_named_t *v = &fmt->virt[-1 - col];
            s->jkey = v->jkey;
            s->jlen = v->jlen;
            s->tkey = v->tkey;
            s->tlen = v->tlen;
            s->col = -1;
            s->render = v->render;
            s->nilskip = nil_renderer(s->render);
            s->emptyskip = 0;
            vb = SCALAR_MAX;
        }
        /* The key: the rename of the name as written in fields, if any. */
        const fc_named_t *rn = named_find(fmt->rename, fmt->nrename, name);
        if (rn) {
            s->jkey = rn->jkey;
            s->jlen = rn->jlen;
            s->tkey = rn->tkey;
            s->tlen = rn->tlen;
        }
        s->op = (uint8_t)(cust >= 0 ? OP_GENERIC
                                    : pick_op(col >= 0 ? &fc_columns[col] : NULL, s->render));
        /* key, opening character, value, closing character, separator */
        fmt->bound += (s->jlen > s->tlen ? s->jlen : s->tlen) + 1u + vb + 2;
    }
    fmt->error = 0;
    if (plan_build(fmt, 1) < 0 || plan_build(fmt, 0) < 0) {
        fmt->error = ENOMEM;
        return -ENOMEM;
    }
    return 0;
}

static void init_renders(fc_format_t *fmt)
{
    for (int i = 0; i < FC_NCOLUMNS; i++)
        fmt->col_render[i] = fc_columns[i].render;
}

static fc_format_t default_fmt;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static int default_ready; /* set (release) once default_fmt is built */

static void default_init(void)
{
    init_renders(&default_fmt);
    resolve(&default_fmt); /* on failure default_fmt.error makes every record fail */
    __atomic_store_n(&default_ready, 1, __ATOMIC_RELEASE);
}

/* The default format; after the first call a load, not a pthread_once call per record. */
static const fc_format_t *get_default(void)
{
    if (!__atomic_load_n(&default_ready, __ATOMIC_ACQUIRE))
        pthread_once(&default_once, default_init);
    return &default_fmt;
}

fc_format_t *fc_format_new(void)
{
    fc_format_t *fmt = calloc(1, sizeof(*fmt));
    if (!fmt)
        return NULL;
    init_renders(fmt);
    if (resolve(fmt) < 0) {
        fc_format_free(fmt);
        return NULL;
    }
    return fmt;
}

void fc_format_free(fc_format_t *fmt)
{
    if (!fmt)
        return;
    for (unsigned i = 0; i < fmt->nrename; i++) {
        free(fmt->rename[i].jkey);
        free(fmt->rename[i].tkey);
    }
    for (unsigned i = 0; i < fmt->nvirt; i++) {
        free(fmt->virt[i].jkey);
        free(fmt->virt[i].tkey);
    }
    for (unsigned i = 0; i < fmt->ncust; i++) {
        free(fmt->cust[i].n.jkey);
        free(fmt->cust[i].n.tkey);
    }
    plan_free(&fmt->plan[0]);
    plan_free(&fmt->plan[1]);
    free(fmt);
}

/* Keys for `name`: "\"<escaped>\":" and "<name, \xNN-escaped>=". */
static int make_keys(fc_named_t *v, const char *name)
{
    size_t n = strlen(name);
    char *j = malloc(6 * n + 4), *t = malloc(4 * n + 2);
    if (!j || !t) {
        free(j);
        free(t);
        return -ENOMEM;
    }
    char *p = j;
    *p++ = '"';
    p = put_json_escaped(p, (const uint8_t *)name, n);
    *p++ = '"';
    *p++ = ':';
    v->jlen = (uint16_t)(p - j);
    memcpy(t, name, n);
    t[n] = '=';
    v->tlen = (uint16_t)(n + 1);
    free(v->jkey);
    free(v->tkey);
    v->jkey = j;
    v->tkey = t;
    return 0;
}

int fc_format_set_render(fc_format_t *fmt, const char *name, fc_render_t r)
{
    if (!name_ok(name) || (unsigned)r >= FC_R_COUNT_)
        return -EINVAL;
    int col = fc_column_find(name), cust = fc_format_custom_find(fmt, name);
    if (col >= 0) {
        fmt->col_render[col] = (uint8_t)r;
    } else if (cust >= 0) {
        fmt->cust[cust].n.render = (uint8_t)r;
    } else {
        fc_named_t *v = named_find(fmt->virt, fmt->nvirt, name);
        if (!v) {
            if (fmt->nvirt >= FC_FORMAT_MAX_VIRTUAL)
                return -ENOSPC;
            v = &fmt->virt[fmt->nvirt];
            memset(v, 0, sizeof(*v));
            strcpy(v->name, name);
            int rc = make_keys(v, name);
            if (rc < 0)
                return rc;
            fmt->nvirt++;
        }
        v->render = (uint8_t)r;
    }
    return resolve(fmt);
}

int fc_format_set_rename(fc_format_t *fmt, const char *name, const char *out)
{
    if (!name_ok(name) || !name_ok(out))
        return -EINVAL;
    fc_named_t *v = named_find(fmt->rename, fmt->nrename, name);
    if (!v) {
        if (fmt->nrename >= FC_FORMAT_MAX_FIELDS)
            return -ENOSPC;
        v = &fmt->rename[fmt->nrename];
        memset(v, 0, sizeof(*v));
        strcpy(v->name, name);
        int rc = make_keys(v, out);
        if (rc < 0)
            return rc;
        fmt->nrename++;
    } else {
        int rc = make_keys(v, out);
        if (rc < 0)
            return rc;
    }
    return resolve(fmt);
}

int fc_format_add_field(fc_format_t *fmt, const char *name)
{
    if (!name_ok(name))
        return -EINVAL;
    if (fmt->nfields >= FC_FORMAT_MAX_FIELDS)
        return -ENOSPC;
    /* GoFlow2 matches fields against the JSON names only (config_impl.go reMap). */
    int col = -1;
    for (int i = 0; i < FC_NCOLUMNS; i++)
        if (strcmp(fc_columns[i].name, name) == 0)
            col = i;
    int cust = col < 0 ? fc_format_custom_find(fmt, name) : -1;
    if (col < 0 && cust < 0) {
        fc_named_t *v = named_find(fmt->virt, fmt->nvirt, name);
        if (!v)
            return -ENOENT;
        col = -1 - (int)(v - fmt->virt);
    }
    fmt->field_col[fmt->nfields] = (int16_t)col;
    fmt->field_cust[fmt->nfields] = (int16_t)cust;
    strcpy(fmt->field_name[fmt->nfields], name);
    fmt->nfields++;
    return resolve(fmt);
}

int fc_format_custom_find(const fc_format_t *fmt, const char *name)
{
    for (unsigned i = 0; fmt && name && i < fmt->ncust; i++)
        if (strcmp(fmt->cust[i].n.name, name) == 0)
            return (int)i;
    return -1;
}

int fc_format_add_custom(fc_format_t *fmt, const char *name, uint32_t pb, fc_ctype_t type,
                         int array)
{
    if (!name_ok(name) || (unsigned)type > FC_CT_BYTES || fc_column_find(name) >= 0)
        return -EINVAL;
    if (fc_format_custom_find(fmt, name) >= 0)
        return -EEXIST;
    if (fmt->ncust >= FC_FORMAT_MAX_CUSTOM)
        return -ENOSPC;
    fc_fcust_t *cu = &fmt->cust[fmt->ncust];
    memset(cu, 0, sizeof(*cu));
    strcpy(cu->n.name, name);
    cu->n.render = FC_R_NONE;
    cu->pb = pb;
    cu->type = (uint8_t)type;
    cu->array = array != 0;
    int rc = make_keys(&cu->n, name);
    if (rc < 0)
        return rc;
    return fmt->ncust++;
}

int fc_format_has_fields(const fc_format_t *fmt)
{
    return fmt && fmt->nfields != 0;
}

/* ---- value writers (p points into a block reserved for the record) ----- */

static const char hexd[] = "0123456789abcdef";
static const char dig2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536"
    "37383940414243444546474849505152535455565758596061626364656667686970717273"
    "7475767778798081828384858687888990919293949596979899";

static inline char *put_u64(char *p, uint64_t v)
{
    return fk_put_u64(p, v);
}

static char *put_mem(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* A string value: quoted in JSON, bare in text.  `s` needs no escaping. */
static char *put_sval(char *p, const char *s, int json)
{
    size_t n = strlen(s);
    if (json)
        *p++ = '"';
    p = put_mem(p, s, n);
    if (json)
        *p++ = '"';
    return p;
}

/* Go's netip.Addr.String for 4 or 16 bytes (format.h "ip"). */
static char *put_ip(char *p, const uint8_t *a, unsigned len)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (len == 4)
        return fk_put_ip4(p, a);
    if (memcmp(a, mapped, 12) == 0) {
        p = put_mem(p, "::ffff:", 7);
        return fk_put_ip4(p, a + 12);
    }
    return fk_put_ip6(p, a); /* RFC 5952, as netip's String for a non-mapped address */
}

static char *put_hex(char *p, const uint8_t *s, size_t n)
{
    return fk_put_hex(p, s, n);
}

static char *put_mac(char *p, uint64_t v)
{
    return fk_put_mac48(p, v);
}

/*
 * Go's time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano): the year as at
 * least 4 digits (a '-' before negative ones), fraction without trailing
 * zeros and left out when zero, "Z".  0 <= nsec < 1e9.
 */
static char *put_time(char *p, int64_t sec, uint32_t nsec)
{
    int64_t days = sec / 86400, sod = sec % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    fk_civil_from_days(days, &y, &m, &d);
    uint64_t uy = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
    if (y < 0)
        *p++ = '-';
    if (uy < 1000) {
        *p++ = '0';
        if (uy < 100)
            *p++ = '0';
        if (uy < 10)
            *p++ = '0';
    }
    p = put_u64(p, uy);
    *p++ = '-';
    p = put_mem(p, dig2 + 2 * m, 2);
    *p++ = '-';
    p = put_mem(p, dig2 + 2 * d, 2);
    *p++ = 'T';
    p = put_mem(p, dig2 + 2 * (sod / 3600), 2);
    *p++ = ':';
    p = put_mem(p, dig2 + 2 * (sod / 60 % 60), 2);
    *p++ = ':';
    p = put_mem(p, dig2 + 2 * (sod % 60), 2);
    if (nsec) {
        char frac[9];
        for (int i = 8; i >= 0; i--) {
            frac[i] = (char)('0' + nsec % 10);
            nsec /= 10;
        }
        int n = 9;
        while (frac[n - 1] == '0')
            n--;
        *p++ = '.';
        p = put_mem(p, frac, (size_t)n);
    }
    *p++ = 'Z';
    return p;
}

/* put_prefix of an IPv4 address, bits <= 32: no byte loop, the length from the pair table. */
static inline char *put_prefix4(char *p, const uint8_t a[4], uint32_t bits)
{
    uint32_t v;
    uint8_t m[4];
    memcpy(&v, a, 4);
    v &= htonl(bits ? ~(uint32_t)0 << (32 - bits) : 0); /* v is in network order */
    memcpy(m, &v, 4);
    p = fk_put_ip4(p, m);
    *p = '/';
    if (bits < 10) {
        p[1] = (char)('0' + bits);
        return p + 2;
    }
    memcpy(p + 1, fk_dec2[bits], 2);
    return p + 3;
}

/* Go's netip Addr.Prefix(bits).String() (format.h "network"). */
static char *put_prefix(char *p, const fc_addr_t *a, uint32_t bits)
{
    unsigned max = a ? (a->len == 4 ? 32u : a->len == 16 ? 128u : 0u) : 0u;
    if (max == 0 || bits > max)
        return put_mem(p, "invalid Prefix", 14);
    uint8_t m[16];
    if (a->len == 4) {
        return put_prefix4(p, a->a, bits);
    } else {
        uint64_t w[2];
        memcpy(w, a->a, 16);
        for (unsigned i = 0; i < 2; i++) { /* two 64-bit halves in network order */
            unsigned keep = bits > 64 * i ? bits - 64 * i : 0;
            if (keep < 64)
                w[i] &= htobe64(keep ? ~(uint64_t)0 << (64 - keep) : 0);
        }
        memcpy(m, w, 16);
    }
    p = put_ip(p, m, a->len);
    *p++ = '/';
    return put_u64(p, bits);
}

/*
 * A string as Go's encoding/json writes it (with json.Marshal's HTML escaping),
 * without the quotes: see format.h.  At most 6 bytes out per byte in.
 */
static char *put_json_escaped(char *p, const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                *p++ = (char)c;
            } else {
                *p++ = '\\';
                switch (c) {
                case '"':
                case '\\':
                    *p++ = (char)c;
                    break;
                case '\n':
                    *p++ = 'n';
                    break;
                case '\r':
                    *p++ = 'r';
                    break;
                case '\t':
                    *p++ = 't';
                    break;
                case '\b':
                    *p++ = 'b';
                    break;
                case '\f':
                    *p++ = 'f';
                    break;
                default:
                    p = put_mem(p, "u00", 3);
                    *p++ = hexd[c >> 4];
                    *p++ = hexd[c & 15];
                }
            }
            i++;
            continue;
        }
        /* UTF-8 sequence: copy when well-formed (RFC 3629), else U+FFFD per byte. */
        size_t len = 0;
        uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        }
        int ok = len && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                ok = 0;
            else
                cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (ok && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                   (len == 4 && (cp < 0x10000 || cp > 0x10ffff))))
            ok = 0;
        if (!ok) {
            p = put_mem(p, "\\ufffd", 6);
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            p = put_mem(p, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
            i += len;
        } else {
            p = put_mem(p, (const char *)s + i, len);
            i += len;
        }
    }
    return p;
}

/* The "string" renderer in text: printable ASCII but space as is, else \xNN. */
static char *put_text_escaped(char *p, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] > 0x20 && s[i] < 0x7f) {
            *p++ = (char)s[i];
        } else {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hexd[s[i] >> 4];
            *p++ = hexd[s[i] & 15];
        }
    }
    return p;
}

/* ---- one value through one renderer ------------------------------------ */

/* Go types of FlowMessage values, which decide what a renderer does. */
enum { VT_NIL, VT_U32, VT_U64, VT_FLOWTYPE, VT_LAYER, VT_BYTES };

typedef struct val_st {
    uint8_t t;
    uint64_t u;         /* integers and enums */
    const fc_addr_t *a; /* bytes */
} val_t;

/* Bytes of an address value, never past its 16-byte array (record.h allows 0, 4, 16). */
static inline unsigned addr_len(const fc_addr_t *a)
{
    return a->len <= sizeof(a->a) ? a->len : sizeof(a->a);
}

/* Write v rendered by r; NULL when the renderer yields nothing (GoFlow2: nil). */
static char *render(char *p, const val_t *v, unsigned r, const fc_column_t *c, const fc_flow_t *f,
                    int json)
{
    const char *s;

    switch (r) {
    case FC_R_IP:
        if (v->t == VT_BYTES) {
            if (json)
                *p++ = '"';
            if (v->a->len == 4 || v->a->len == 16)
                p = put_ip(p, v->a->a, v->a->len);
            if (json)
                *p++ = '"';
            return p;
        }
        break;
    case FC_R_MAC:
        if (v->t == VT_U64) {
            if (json)
                *p++ = '"';
            p = put_mac(p, v->u);
            if (json)
                *p++ = '"';
            return p;
        }
        break;
    case FC_R_ETYPE:
        if (v->t == VT_U32 || v->t == VT_U64) {
            s = fc_etype_name((uint32_t)v->u);
            return put_sval(p, s ? s : "", json);
        }
        return put_sval(p, "unknown", json);
    case FC_R_PROTO:
        if (v->t == VT_U32 || v->t == VT_U64)
            return put_sval(p, fc_proto_name((uint32_t)v->u), json);
        return put_sval(p, "unknown", json);
    case FC_R_DATETIME:
        if (v->t == VT_U32 || v->t == VT_U64) {
            if (json)
                *p++ = '"';
            p = put_time(p, (int64_t)v->u, 0);
            if (json)
                *p++ = '"';
            return p;
        }
        break;
    case FC_R_DATETIMENANO:
        if (v->t == VT_U64) {
            int64_t ns = (int64_t)v->u, sec = ns / 1000000000, rem = ns % 1000000000;
            if (rem < 0) {
                rem += 1000000000;
                sec--;
            }
            if (json)
                *p++ = '"';
            p = put_time(p, sec, (uint32_t)rem);
            if (json)
                *p++ = '"';
            return p;
        }
        break;
    case FC_R_STRING:
        if (v->t == VT_BYTES) {
            if (!json)
                return put_text_escaped(p, v->a->a, addr_len(v->a));
            *p++ = '"';
            p = put_json_escaped(p, v->a->a, addr_len(v->a));
            *p++ = '"';
            return p;
        }
        break;
    case FC_R_NETWORK:
        if (v->t == VT_U32) {
            const fc_addr_t *a = c && c->net_off != FC_NO_OFF
                                     ? (const fc_addr_t *)((const char *)f + c->net_off)
                                     : NULL;
            if (json)
                *p++ = '"';
            p = put_prefix(p, a, (uint32_t)v->u);
            if (json)
                *p++ = '"';
            return p;
        }
        return put_sval(p, "unknown", json);
    case FC_R_ICMP:
        return put_sval(p, fc_icmp_name(f->proto, f->icmp_type), json);
    default:
        break;
    }

    /* "none" (NilRenderer), and every renderer's fallback for other types. */
    switch (v->t) {
    case VT_U32:
    case VT_U64:
        return put_u64(p, v->u);
    case VT_FLOWTYPE:
    case VT_LAYER:
        s = v->t == VT_FLOWTYPE ? fc_flow_type_name((uint32_t)v->u) : fc_layer_name((uint32_t)v->u);
        if (s)
            return put_sval(p, s, json);
        /* protobuf-go's String() of a value without a name: its decimal number. */
        if (json)
            *p++ = '"';
        if (v->t == VT_LAYER && (int32_t)v->u < 0) { /* enums are int32 */
            *p++ = '-';
            p = put_u64(p, (uint64_t)0 - (uint64_t)(int64_t)(int32_t)v->u);
        } else {
            p = put_u64(p, v->u);
        }
        if (json)
            *p++ = '"';
        return p;
    case VT_BYTES:
        if (json)
            *p++ = '"';
        p = put_hex(p, v->a->a, addr_len(v->a));
        if (json)
            *p++ = '"';
        return p;
    default:
        return NULL;
    }
}

/* ---- the record -------------------------------------------------------- */

static uint16_t list_count(const fc_column_t *c, const fc_flow_t *f)
{
    uint16_t n;
    memcpy(&n, (const char *)f + c->cnt_off, sizeof(n));
    return n < c->cap ? n : c->cap;
}

/* One custom value: a varint through the field's renderer, bytes as hex. */
static char *put_cval(char *p, const fc_fsel_t *s, const fc_flow_t *f, const fc_cval_t *v, int json)
{
    if (!v->bytes) {
        val_t x = {VT_U64, v->u, NULL};
        char *e = render(p, &x, s->render, NULL, f, json);
        return e ? e : put_u64(p, v->u);
    }
    unsigned off = v->off, len = v->len;
    if (off > FC_CUSTOM_BYTES || len > FC_CUSTOM_BYTES - off) /* never, as written by mapping.c */
        len = 0;
    if (json)
        *p++ = '"';
    p = put_hex(p, f->cbytes + off, len);
    if (json)
        *p++ = '"';
    return p;
}

/*
 * A custom field: its last value (GoFlow2 keeps the last tag of a
 * non-array field in its map), or every value of an array field, in order.
 * NULL when the record has none: the field is left out.
 */
static char *put_custom(char *p, const fc_fsel_t *s, const fc_format_t *fmt, const fc_flow_t *f,
                        int json)
{
    unsigned n = f->n_custom < FC_MAX_CUSTOM ? f->n_custom : FC_MAX_CUSTOM, k, found = 0;
    const fc_cval_t *last = NULL;

    if (!fmt->cust[s->cust].array) {
        for (k = 0; k < n; k++)
            if (f->custom[k].field == (unsigned)s->cust)
                last = &f->custom[k];
        return last ? put_cval(p, s, f, last, json) : NULL;
    }
    for (k = 0; k < n; k++) {
        if (f->custom[k].field != (unsigned)s->cust)
            continue;
        *p++ = found++ ? ',' : '[';
        p = put_cval(p, s, f, &f->custom[k], json);
    }
    if (!found)
        return NULL;
    *p++ = ']';
    return p;
}

/* The generic path: the column's value as its Go type, through render(). */
static char *put_generic(char *p, const fc_fsel_t *s, const fc_flow_t *f, int json)
{
    const fc_column_t *c = s->col >= 0 ? &fc_columns[s->col] : NULL;
    const char *base = (const char *)f;
    val_t v = {VT_NIL, 0, NULL};
    uint32_t u32;
    uint64_t u64;

    switch (c ? c->kind : FC_K_VIRTUAL) {
    case FC_K_ENUM8:
        v.t = VT_FLOWTYPE;
        v.u = *(const uint8_t *)(base + c->off);
        break;
    case FC_K_U32:
        memcpy(&u32, base + c->off, 4);
        v.t = VT_U32;
        v.u = u32;
        break;
    case FC_K_U64:
        memcpy(&u64, base + c->off, 8);
        v.t = VT_U64;
        v.u = u64;
        break;
    case FC_K_ADDR:
        v.t = VT_BYTES;
        v.a = (const fc_addr_t *)(base + c->off);
        break;
    case FC_K_A_U32:
    case FC_K_A_ENUM: {
        uint16_t n = list_count(c, f);
        const uint32_t *e = (const uint32_t *)(base + c->off);
        v.t = c->kind == FC_K_A_U32 ? VT_U32 : VT_LAYER;
        *p++ = '[';
        for (unsigned k = 0; k < n; k++) {
            if (k)
                *p++ = ',';
            v.u = e[k];
            p = render(p, &v, s->render, c, f, json);
        }
        *p++ = ']';
        return p;
    }
    case FC_K_A_ADDR: {
        uint16_t n = list_count(c, f);
        const fc_addr_t *e = (const fc_addr_t *)(base + c->off);
        v.t = VT_BYTES;
        *p++ = '[';
        for (unsigned k = 0; k < n; k++) {
            if (k)
                *p++ = ',';
            v.a = &e[k];
            p = render(p, &v, s->render, c, f, json);
        }
        *p++ = ']';
        return p;
    }
    default:
        break; /* virtual: no value; nilskip left out the renderers that need one */
    }
    return render(p, &v, s->render, c, f, json);
}

/* ---- the record -------------------------------------------------------- */

static inline uint32_t ld32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t ld64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/*
 * GoFlow2's names padded to 32 bytes, so a name is one fixed-size copy:
 * proto by number (256: "unknown" for anything above 255), LayerStack by
 * number below 100 (len 0: no name), FlowType below 5.  Built once, before
 * any format is resolved.
 */
typedef struct pname_st {
    char s[32];
} pname_t;

#define NLAYER_PAD 100
static pname_t proto_pad[257], layer_pad[NLAYER_PAD], ftype_pad[5];
static uint8_t proto_plen[257], layer_plen[NLAYER_PAD], ftype_plen[5];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void pad_name(pname_t *d, uint8_t *len, const char *s)
{
    size_t n = strlen(s);
    assert(n < sizeof(d->s));
    memcpy(d->s, s, n);
    *len = (uint8_t)n;
}

static void names_init(void)
{
    for (unsigned v = 0; v < 257; v++)
        pad_name(&proto_pad[v], &proto_plen[v], v < 256 ? fc_proto_name(v) : "unknown");
    for (unsigned v = 0; v < NLAYER_PAD; v++)
        if (fc_layer_name(v))
            pad_name(&layer_pad[v], &layer_plen[v], fc_layer_name(v));
    for (unsigned v = 0; v < 5; v++)
        pad_name(&ftype_pad[v], &ftype_plen[v], fc_flow_type_name(v));
}

static void names_ready(void)
{
    pthread_once(&names_once, names_init);
}

/* A padded name: one 32-byte copy (the record's reserve has the room). */
static inline char *put_pname(char *p, const pname_t *n, uint8_t len)
{
    memcpy(p, n->s, sizeof(n->s));
    return p + len;
}

/* Text of the plan (a key or a run of zero texts): fixed-size copy when short. */
static inline char *put_text(char *p, const char *s, size_t n)
{
    /* whole blocks: the plan's text has PLAN_SLACK bytes after its end, the
     * record's reserve as many after its last byte */
    if (n <= KEY_FIXED) /* most keys and zero runs: one fixed-size block */
        memcpy(p, s, KEY_FIXED);
    else /* libc's memcpy moves long runs in fewer, wider steps than a block loop */
        memcpy(p, s, n);
    return p + n;
}

/* A list's count, clamped to its capacity. */
static inline unsigned pcount(const fc_pcol_t *c, const fc_flow_t *f)
{
    uint16_t n;
    memcpy(&n, (const char *)f + c->aux, sizeof(n));
    return n < c->cap ? n : c->cap;
}

/* The closing character of a quoted value (JSON only) and the separator. */
static inline char *close_sep(char *p, const int json)
{
    if (json) {
        memcpy(p, "\",", 2);
        return p + 2;
    }
    *p++ = ' ';
    return p;
}

/*
 * The last long number (>= 10^8) each 64-bit column printed, per thread:
 * the nanosecond timestamps.  A record's receive time is the same for every
 * record of its datagram (the whole text is reused), its flow start and end
 * times share their digits above the last 8 with the previous record's (those
 * are reused).  Indexed by the column's place in its plan, so the columns of
 * one record never share an entry; another format or thread sharing one can
 * only make it miss (an entry is a pure function of its value).
 */
typedef struct numcache_st {
    uint64_t v;  /* the value whose text is s[0..len); 0: empty (values here are >= 10^8) */
    uint64_t hi; /* v / 10^8, whose text is s[0..hlen) */
    uint32_t hlen, len;
    char s[40]; /* up to 20 digits, and room for the fixed-size writes */
} numcache_t;
static __thread numcache_t numcache[NUMCACHE];

/* x (>= 10^8) in decimal through the column's cache entry. Room: FK_U64_ROOM. */
static inline __attribute__((always_inline)) char *put_u64_cached(char *p, uint64_t x,
                                                                  unsigned slot)
{
    numcache_t *e = &numcache[slot];
    if (e->v != x) {
        uint64_t hi = x / 100000000;
        if (e->hi != hi) {
            e->hlen = (uint32_t)(fk_put_u64(e->s, hi) - e->s);
            e->hi = hi;
        }
        fk__put_digits8(e->s + e->hlen, (uint32_t)(x - hi * 100000000));
        e->len = e->hlen + 8;
        e->v = x;
    }
    memcpy(p, e->s, FK_U64_ROOM);
    return p + e->len;
}

/*
 * One column's value, its closing character and its separator, by the
 * writer `op` (a constant where put_group is inlined, so each group type
 * gets its own straight-line copy).  The key was written before.
 */
static inline __attribute__((always_inline)) char *put_value(char *p, const fc_format_t *fmt,
                                                             const fc_pcol_t *c, const unsigned op,
                                                             const fc_flow_t *f, const int json)
{
    const char *base = (const char *)f;
    const char *v = base + c->off;
    const char sep = json ? ',' : ' ';

    switch (op) {
    case OP_NUM:
        if (c->w8) {
            uint64_t x = ld64(v);
            p = x < 100000000 ? fk__put_small(p, (uint32_t)x) : put_u64_cached(p, x, c->slot);
        } else {
            p = fk_put_u64(p, ld32(v));
        }
        *p++ = sep;
        return p;
    case OP_FLOWTYPE: {
        unsigned t = *(const uint8_t *)v;
        if (t < 5)
            p = put_pname(p, &ftype_pad[t], ftype_plen[t]);
        else /* protobuf-go's String() of a value without a name: its number */
            p = fk_put_u64(p, t);
        return close_sep(p, json);
    }
    case OP_IP: {
        const fc_addr_t *a = (const fc_addr_t *)v;
        if (a->len == 4)
            p = fk_put_ip4(p, a->a);
        else if (a->len == 16)
            p = put_ip(p, a->a, 16);
        return close_sep(p, json);
    }
    case OP_MAC:
        p = fk_put_mac48(p, ld64(v));
        return close_sep(p, json);
    case OP_ETYPE:
        switch (ld32(v)) {
        case 0x800:
            p = put_mem(p, "IPv4", 4);
            break;
        case 0x86dd:
            p = put_mem(p, "IPv6", 4);
            break;
        case 0x806:
            p = put_mem(p, "ARP", 3);
            break;
        default:
            break;
        }
        return close_sep(p, json);
    case OP_PROTO: {
        uint32_t n = ld32(v);
        n = n < 256 ? n : 256;
        p = put_pname(p, &proto_pad[n], proto_plen[n]);
        return close_sep(p, json);
    }
    case OP_NET: {
        const fc_addr_t *a = (const fc_addr_t *)(base + c->aux);
        uint32_t bits = ld32(v);
        if (a->len == 4 && bits <= 32) /* the common case inline */
            p = put_prefix4(p, a->a, bits);
        else if (a->len == 16 && bits == 0) /* IPv6 without a mask (softflowd's): all masked */
            p = put_mem(p, "::/0", 4);
        else
            p = put_prefix(p, a, bits);
        return close_sep(p, json);
    }
    case OP_LNUM: {
        unsigned n = pcount(c, f);
        for (unsigned k = 0; k < n; k++) {
            p = fk_put_u64(p, ld32(v + 4 * k));
            *p++ = ',';
        }
        p -= n != 0; /* the last element's comma becomes the bracket */
        *p++ = ']';
        *p++ = sep;
        return p;
    }
    case OP_LLAYER: {
        unsigned n = pcount(c, f);
        for (unsigned k = 0; k < n; k++) {
            uint32_t e = ld32(v + 4 * k);
            if (e < NLAYER_PAD && layer_plen[e]) {
                if (json)
                    *p++ = '"';
                p = put_pname(p, &layer_pad[e], layer_plen[e]);
                if (json)
                    *p++ = '"';
            } else { /* rare: a value without a name, printed by the generic path */
                val_t x = {VT_LAYER, e, NULL};
                p = render(p, &x, FC_R_NONE, &fc_columns[fmt->sel[c->sel].col], f, json);
            }
            *p++ = ',';
        }
        p -= n != 0;
        *p++ = ']';
        *p++ = sep;
        return p;
    }
    case OP_LIP: {
        unsigned n = pcount(c, f);
        const fc_addr_t *a = (const fc_addr_t *)v;
        for (unsigned k = 0; k < n; k++) {
            if (json)
                *p++ = '"';
            if (a[k].len == 4 || a[k].len == 16)
                p = put_ip(p, a[k].a, a[k].len);
            if (json)
                *p++ = '"';
            *p++ = ',';
        }
        p -= n != 0;
        *p++ = ']';
        *p++ = sep;
        return p;
    }
    default: {
        const fc_fsel_t *s = &fmt->sel[c->sel];
        if (s->cust >= 0) {
            char *e = put_custom(p, s, fmt, f, json);
            if (!e) /* absent: the key written before it goes too */
                return p - c->klen;
            p = e;
        } else {
            p = put_generic(p, s, f, json);
        }
        *p++ = sep;
        return p;
    }
    }
}

/*
 * The n (<= 64) zero tests z of record f: bit k set when test k is not zero.
 * Branch-free: one masked load each.
 */
static inline uint64_t value_mask(const fc_ztest_t *z, unsigned n, const fc_flow_t *f)
{
    const char *base = (const char *)f;
    uint64_t nz = 0;
    /* last column first, so each bit goes in by a shift of one */
#pragma GCC unroll 4
    for (unsigned k = n; k-- > 0;)
        nz = nz << 1 | (uint64_t)((ld64(base + z[k].off) & z[k].mask) != 0);
    return nz;
}

/*
 * The columns a record with the decoder's promise zero_cols (record.h) may
 * print a value for, when the plan has at most 64: those with no zero test
 * (always written), and those whose test reads a column the promise leaves
 * out (or nothing at all: a constant text) dropped.  A NetFlow v9 or IPFIX
 * template sets a third of FlowMessage, so most tests go.  The columns keep
 * their places in the plan's text: a dropped column is zero, so its zero
 * text is what it prints, and the runs around it stay single copies.
 * Records of one template share the promise, so the last list is kept per
 * thread, named by the plan's id and the promise.
 */
#define NSHAPE 4

/*
 * A shape: the steps that write a record whose live columns print a value
 * where nz has bits, so a record of a known shape costs per printed column
 * one copy and its writer, with no bit scan: each step is a text of the plan
 * (the zero run before the column and its key) and the column's writer, or
 * (OP_TEXT) the text alone.  Records of one template mostly have one shape
 * or a few (the columns a template sets are mostly not zero).
 */
typedef struct step_st {
    uint32_t text; /* in the plan's text */
    uint16_t len;
    uint8_t op; /* the column's writer, or OP_TEXT */
    uint8_t col;
} step_t;

typedef struct shape_st {
    uint64_t nz; /* the live list's bits it writes */
    unsigned n;
    step_t st[2 * 64 + 1]; /* a column without its key in a run takes two; the trailing run */
} shape_t;

typedef struct live_st {
    uint64_t id, zc; /* the plan and the promise it was made for; id 0: none */
    uint64_t always; /* bit i: live column i has no zero test */
    unsigned n;
    uint8_t col[64]; /* live column i is the plan's column col[i] */
    fc_ztest_t zt[64];
    unsigned nshape, next; /* shapes made, and the one a new shape replaces */
    unsigned misses;       /* records whose shape was not there (a new one is made every 4th) */
    const shape_t *last;   /* the last record's shape, NULL none */
    shape_t shape[NSHAPE];
} live_t;
static __thread live_t live_kv[2]; /* [0] text, [1] JSON */

/* The steps of the record whose live columns print where nz has bits; 0, or
 * -1 when a text is longer than a step holds (then the record is written by
 * bit scan). */
static int shape_build(shape_t *sh, const live_t *l, const fc_plan_t *pl, uint64_t nz)
{
    const fc_pcol_t *col = pl->col;
    unsigned k = 0, n = 0; /* the first column not written yet */
    uint32_t from, len;
#define STEP(t, l, o, c)                                      \
    do {                                                      \
        if ((l) > UINT16_MAX)                                 \
            return -1;                                        \
        sh->st[n++] = (step_t){(t), (uint16_t)(l), (o), (c)}; \
    } while (0)
    sh->nz = nz;
    while (nz) {
        unsigned j = l->col[__builtin_ctzll(nz)];
        const fc_pcol_t *c = &col[j];
        nz &= nz - 1;
        from = col[k].z;
        if (c->kz) {
            len = c->z + c->klen - from;
            STEP(from, len, c->op, (uint8_t)j);
        } else {
            if (c->z > from)
                STEP(from, c->z - from, OP_TEXT, 0);
            STEP(c->key, c->klen, c->op, (uint8_t)j);
        }
        k = j + 1;
    }
    if (k < pl->ncol)
        STEP(col[k].z, col[pl->ncol].z - col[k].z, OP_TEXT, 0);
#undef STEP
    sh->n = n;
    return 0;
}

/* The shape for nz: a kept one, or one made now (on every 4th miss: records
 * of a template whose shapes vary too much are written by bit scan); NULL
 * then. */
static const shape_t *shape_miss(live_t *l, const fc_plan_t *pl, uint64_t nz)
{
    for (unsigned i = 0; i < l->nshape; i++)
        if (l->shape[i].nz == nz)
            return l->last = &l->shape[i];
    if (l->misses++ % 4)
        return NULL;
    shape_t *sh = &l->shape[l->next];
    if (shape_build(sh, l, pl, nz) < 0)
        return NULL;
    l->next = (l->next + 1) % NSHAPE;
    l->nshape += l->nshape < NSHAPE;
    return l->last = sh;
}

/* The shape for nz: the last record's inline, the others in shape_miss. */
static inline const shape_t *shape_find(live_t *l, const fc_plan_t *pl, uint64_t nz)
{
    return l->last && l->last->nz == nz ? l->last : shape_miss(l, pl, nz);
}

static live_t *live_build(live_t *l, const fc_plan_t *pl, uint64_t zc)
{
    unsigned n = 0;
    l->nshape = l->next = l->misses = 0;
    l->last = NULL;
    l->always = 0;
    for (unsigned k = 0; k < pl->ncol; k++) {
        const fc_pcol_t *c = &pl->col[k];
        unsigned always = (unsigned)(pl->always[0] >> k & 1);
        if (!always && (!pl->zt[k].mask || (c->zcol >= 0 && zc >> c->zcol & 1)))
            continue; /* prints its zero text whatever the record */
        l->always |= (uint64_t)always << n;
        l->col[n] = (uint8_t)k;
        l->zt[n++] = pl->zt[k];
    }
    l->n = n;
    l->id = pl->id;
    l->zc = zc;
    return l;
}

/* The list for the promise: the last one when it is the same (inline, per record). */
static inline live_t *live_list(const fc_plan_t *pl, uint64_t zc, int json)
{
    live_t *l = &live_kv[json];
    return l->id == pl->id && l->zc == zc ? l : live_build(l, pl, zc);
}

/* The ops put_value specialises: each switch below has one case per op, so
 * that every case inlines put_value with its op a constant. */
#define VALUE_OPS(X) \
    X(OP_NUM)        \
    X(OP_FLOWTYPE)   \
    X(OP_IP)         \
    X(OP_MAC)        \
    X(OP_ETYPE)      \
    X(OP_PROTO)      \
    X(OP_NET)        \
    X(OP_LNUM)       \
    X(OP_LLAYER)     \
    X(OP_LIP)

/* Column c's value by its writer op (one inlined copy of each). */
static inline __attribute__((always_inline)) char *put_op(char *p, const fc_format_t *fmt,
                                                          const fc_pcol_t *c, unsigned op,
                                                          const fc_flow_t *f, const int json)
{
    switch (op) {
#define CASE(o)                               \
    case o:                                   \
        p = put_value(p, fmt, c, o, f, json); \
        break;
        VALUE_OPS(CASE)
#undef CASE
    case OP_TEXT: /* a shape's step with no value */
        break;
    default:
        p = put_value(p, fmt, c, OP_GENERIC, f, json);
        break;
    }
    return p;
}

/*
 * Columns [first, first + n) (n <= 64) whose bits are set in nz print a
 * value: the column of bit i is map[i] when map is set (a live list), else
 * i.  Each run of zero columns, and the key of the column after it, is one
 * copy; each other column is its writer.
 */
static inline __attribute__((always_inline)) char *
put_cols(char *p, const fc_format_t *fmt, const fc_plan_t *pl, unsigned first, unsigned n,
         uint64_t nz, const uint8_t *map, const fc_flow_t *f, const int json)
{
    const fc_pcol_t *col = pl->col + first;
    unsigned k = 0; /* the first column not written yet */

    while (nz) {
        unsigned j = (unsigned)__builtin_ctzll(nz);
        if (map)
            j = map[j];
        const fc_pcol_t *c = &col[j];
        nz &= nz - 1;
        if (c->kz) { /* the zero run k..j-1 (maybe empty), then the key */
            p = put_text(p, pl->text + col[k].z, c->z + c->klen - col[k].z);
        } else {
            p = put_text(p, pl->text + col[k].z, c->z - col[k].z);
            p = put_text(p, pl->text + c->key, c->klen);
        }
        k = j + 1;
        p = put_op(p, fmt, c, c->op, f, json);
    }
    if (k < n) /* the trailing zero run */
        p = put_text(p, pl->text + col[k].z, col[n].z - col[k].z);
    return p;
}

/* A record of a known shape: its steps. */
static inline __attribute__((always_inline)) char *put_shape(char *p, const fc_format_t *fmt,
                                                             const fc_plan_t *pl, const shape_t *sh,
                                                             const fc_flow_t *f, const int json)
{
    for (const step_t *st = sh->st, *end = st + sh->n; st < end; st++) {
        p = put_text(p, pl->text + st->text, st->len);
        p = put_op(p, fmt, &pl->col[st->col], st->op, f, json);
    }
    return p;
}

/* One column, key included (plan time: its zero text). */
static char *put_column(char *p, const fc_format_t *fmt, const fc_plan_t *pl, const fc_pcol_t *c,
                        unsigned op, const fc_flow_t *f, int json)
{
    p = put_mem(p, pl->text + c->key, c->klen);
    switch (op) {
#define CASE(o) \
    case o:     \
        return json ? put_value(p, fmt, c, o, f, 1) : put_value(p, fmt, c, o, f, 0);
        VALUE_OPS(CASE)
#undef CASE
    default:
        return json ? put_value(p, fmt, c, OP_GENERIC, f, 1)
                    : put_value(p, fmt, c, OP_GENERIC, f, 0);
    }
}

/* The writer's body, instantiated once per shape so `json` is a constant. */
static inline __attribute__((always_inline)) int format_kv(fk_buf_t *b, const fc_flow_t *f,
                                                           const fc_format_t *fmt, const int json)
{
    if (!fmt)
        fmt = get_default();
    if (fmt->error) {
        b->error = fmt->error;
        return -1;
    }
    /* the common case inline: the block has room (fk_buf_reserve's first test) */
    char *start = b->cap - b->len >= fmt->bound ? b->data + b->len : fk_buf_reserve(b, fmt->bound);
    if (!start)
        return -1;
    const fc_plan_t *pl = &fmt->plan[json];
    char *p = start;

    if (json)
        *p++ = '{';
    if (f->zero_cols && pl->ncol <= 64) {
        /* only the tests of the columns the decoder may have set */
        live_t *l = live_list(pl, f->zero_cols, json);
        uint64_t nz = value_mask(l->zt, l->n, f) | l->always;
        const shape_t *sh = shape_find(l, pl, nz);
        if (sh)
            p = put_shape(p, fmt, pl, sh, f, json);
        else
            p = put_cols(p, fmt, pl, 0, pl->ncol, nz, l->col, f, json);
    } else {
        for (unsigned first = 0; first < pl->ncol; first += 64) {
            unsigned n = pl->ncol - first < 64 ? pl->ncol - first : 64;
            uint64_t nz = value_mask(pl->zt + first, n, f) | pl->always[first / 64];
            p = put_cols(p, fmt, pl, first, n, nz, NULL, f, json);
        }
    }
    /* The last separator: '}' in JSON ("{}" when nothing printed), dropped in text. */
    if (json) {
        if (p == start + 1)
            *p++ = '}';
        else
            p[-1] = '}';
    } else if (p > start) {
        p--;
    }
    assert((size_t)(p - start) + PLAN_SLACK <= fmt->bound); /* the reserve covered the record */
    b->len += (size_t)(p - start);
    return 0;
}

int fc__format_kv(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt, int json)
{
    return json ? format_kv(b, f, fmt, 1) : format_kv(b, f, fmt, 0);
}

int fc_format_json(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt)
{
    int rc = format_kv(b, f, fmt, 1);
    /* flowkit's extra values (IPFIX elements outside FlowMessage), after the
     * columns, unless formatter.fields chose the columns (format.h) */
    return rc || fc_format_has_fields(fmt) ? rc : fc_format_extras(b, f, 1);
}

int fc__format_kv_generic(fk_buf_t *b, const fc_flow_t *f, const fc_format_t *fmt, int json)
{
    if (!fmt)
        fmt = get_default();
    char *start = fk_buf_reserve(b, fmt->bound);
    if (!start)
        return -1;
    char *p = start;
    int first = 1;

    if (json)
        *p++ = '{';
    for (unsigned i = 0; i < fmt->nsel; i++) {
        const fc_fsel_t *s = &fmt->sel[i];
        if (s->nilskip)
            continue;
        if (s->emptyskip &&
            ((const fc_addr_t *)(const void *)((const char *)f + fc_columns[s->col].off))->len == 0)
            continue;
        char *at = p;
        if (!first)
            *p++ = json ? ',' : ' ';
        p = json ? put_mem(p, s->jkey, s->jlen) : put_mem(p, s->tkey, s->tlen);
        if (s->cust >= 0) {
            char *e = put_custom(p, s, fmt, f, json);
            if (!e) { /* absent custom value: nothing of it printed */
                p = at;
                continue;
            }
            p = e;
        } else {
            p = put_generic(p, s, f, json);
        }
        first = 0;
    }
    if (json)
        *p++ = '}';
    assert((size_t)(p - start) <= fmt->bound);
    b->len += (size_t)(p - start);
    return 0;
}
