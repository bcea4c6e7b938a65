/*
 * fields.c - NetFlow v9 / IPFIX information elements -> the common record,
 * as GoFlow2's producer fills it (goflow2-spec.md section 7, and the mapping
 * table of goflow2-protocols.txt), with its quirks fixed where the spec says
 * so: a sampling rate carried by a data record is kept, samplingPacketSpace
 * (306) is used, flowStart/EndSysUpTime (22/23) work for IPFIX too.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "../format/format.h"
#include "registry.h"

/* NTP timestamp (RFC 7011 6.1.9) to ns. */
static uint64_t ntp_ns(const uint8_t *v, size_t len)
{
    return len == 8 ? fk_ipfix_ns_from_ntp(fc_be_uint(v, 8)) : 0;
}

/* GoFlow2's addrReplaceCheck: an all-zero address does not replace one already
 * set; setting one also sets etype from its family. */
static void set_addr(fc_flow_t *f, fc_addr_t *dst, const uint8_t *v, size_t len, bool etype)
{
    static const uint8_t zero[16];
    if (len != 4 && len != 16)
        return; /* fc_nf_apply reports it as FC_NF_PARTIAL */
    if (dst->len && memcmp(v, zero, len) == 0)
        return;
    dst->len = (uint8_t)len;
    memcpy(dst->a, v, len);
    if (etype)
        f->etype = len == 4 ? 0x0800 : 0x86dd;
}

static uint64_t mac48(const uint8_t *v, size_t len)
{
    return len == 6 ? fc_be_uint(v, 6) : 0;
}

/* v9 and IPFIX sysUptime-relative times: the header's export time minus the
 * uptime difference, in ms (uint32 arithmetic, as the counters wrap). */
static uint64_t uptime_ns(const fc_nfctx_t *cx, uint32_t at_ms)
{
    uint64_t base = (uint64_t)cx->export_secs * 1000000000ULL;
    uint32_t ago = cx->uptime_ms - at_ms;
    uint64_t ago_ns = (uint64_t)ago * 1000000ULL;
    return base > ago_ns ? base - ago_ns : 0;
}

static void push_mpls(fc_flow_t *f, uint32_t lse_top24)
{
    /* mplsLabelStackSection: 3 bytes, label in the top 20 bits (>>4 as GoFlow2). */
    if (f->n_mpls < FC_MAX_MPLS) {
        /* mpls_ttl and mpls_ip share the count: theirs must read as zero
         * (records are not cleared past the counts, see fc_flow_clear) */
        f->mpls_ttl[f->n_mpls] = 0;
        memset(&f->mpls_ip[f->n_mpls], 0, sizeof(f->mpls_ip[0]));
        f->mpls_label[f->n_mpls++] = lse_top24 >> 4;
    } else
        f->truncated_lists++;
}

/*
 * fc_be_uint for the widths templates use (1, 2, 4, 8 bytes: the load
 * patterns compile to single byte-swapping loads); other widths take the
 * general loop.  Called for every field of every record.
 */
static inline uint64_t be_value(const uint8_t *v, size_t len)
{
    switch (len) {
    case 1:
        return v[0];
    case 2:
        return (uint64_t)v[0] << 8 | v[1];
    case 4:
        return (uint64_t)((uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]);
    case 8:
        return (uint64_t)v[0] << 56 | (uint64_t)v[1] << 48 | (uint64_t)v[2] << 40 |
               (uint64_t)v[3] << 32 | (uint64_t)v[4] << 24 | (uint64_t)v[5] << 16 |
               (uint64_t)v[6] << 8 | v[7];
    default:
        return fc_be_uint(v, len);
    }
}

/*
 * The elements whose handling depends only on their own value: a plain
 * integer stored into one column (two for vlanId), an address, a MAC.  One
 * table serves fc_nf_apply and the per-template plans below, so the two
 * cannot disagree.  Ids are IANA's (RFC 7012; NetFlow v9 uses the same
 * numbers for these, RFC 3954 section 8).
 */
enum { NF_NONE, NF_U32, NF_U64, NF_ADDR, NF_ADDR_ET, NF_MAC };

typedef struct nf_ie_st {
    uint8_t kind;
    uint16_t off;  /* the column in fc_flow_t */
    uint16_t off2; /* a second column (vlanId), 0 none */
} nf_ie_t;

#define NF(k, field)                     \
    {                                    \
        k, offsetof(fc_flow_t, field), 0 \
    }
#define NF2(k, field, field2)                                      \
    {                                                              \
        k, offsetof(fc_flow_t, field), offsetof(fc_flow_t, field2) \
    }

static const nf_ie_t nf_ies[256] = {
    [1] = NF(NF_U64, bytes),    /* IN_BYTES / octetDeltaCount */
    [23] = NF(NF_U64, bytes),   /* OUT_BYTES / postOctetDeltaCount */
    [2] = NF(NF_U64, packets),  /* IN_PKTS / packetDeltaCount */
    [24] = NF(NF_U64, packets), /* OUT_PKTS / postPacketDeltaCount */
    [4] = NF(NF_U32, proto),
    [5] = NF(NF_U32, ip_tos),
    [6] = NF(NF_U32, tcp_flags),
    [7] = NF(NF_U32, src_port),
    [11] = NF(NF_U32, dst_port),
    [9] = NF(NF_U32, src_net),
    [29] = NF(NF_U32, src_net),
    [13] = NF(NF_U32, dst_net),
    [30] = NF(NF_U32, dst_net),
    [10] = NF(NF_U32, in_if),
    [14] = NF(NF_U32, out_if),
    [16] = NF(NF_U32, src_as),
    [17] = NF(NF_U32, dst_as),
    [58] = NF2(NF_U32, src_vlan, vlan_id), /* SRC_VLAN / vlanId: both, as GoFlow2 */
    [59] = NF(NF_U32, dst_vlan),
    [89] = NF(NF_U32, forwarding_status),
    [52] = NF(NF_U32, ip_ttl), /* minimumTTL: GoFlow2's source of ip_ttl */
    [31] = NF(NF_U32, ipv6_flow_label),
    [54] = NF(NF_U32, fragment_id),
    [88] = NF(NF_U32, fragment_offset),
    [138] = NF(NF_U32, observation_point_id),
    [8] = NF(NF_ADDR_ET, src_addr),
    [27] = NF(NF_ADDR_ET, src_addr),
    [12] = NF(NF_ADDR_ET, dst_addr),
    [28] = NF(NF_ADDR_ET, dst_addr),
    [15] = NF(NF_ADDR, next_hop),
    [62] = NF(NF_ADDR, next_hop),
    [18] = NF(NF_ADDR, bgp_next_hop),
    [63] = NF(NF_ADDR, bgp_next_hop),
    [56] = NF(NF_MAC, src_mac), /* IN_SRC_MAC / sourceMacAddress */
    [81] = NF(NF_MAC, src_mac), /* postSourceMacAddress */
    [57] = NF(NF_MAC, dst_mac), /* OUT_DST_MAC / postDestinationMacAddress */
    [80] = NF(NF_MAC, dst_mac), /* destinationMacAddress */
};

static inline void put32(fc_flow_t *f, uint16_t off, uint64_t u)
{
    uint32_t x = (uint32_t)u;
    memcpy((char *)f + off, &x, 4);
}

static inline void put64(fc_flow_t *f, uint16_t off, uint64_t u)
{
    memcpy((char *)f + off, &u, 8);
}

static inline fc_addr_t *addr_at(fc_flow_t *f, uint16_t off)
{
    return (fc_addr_t *)(void *)((char *)f + off);
}

/* An element of nf_ies; FC_NF_PARTIAL when its length does not fit its type. */
static int apply_ie(fc_flow_t *f, const nf_ie_t *d, const uint8_t *v, size_t len)
{
    switch (d->kind) {
    case NF_U32: {
        uint64_t u = be_value(v, len);
        put32(f, d->off, u);
        if (d->off2)
            put32(f, d->off2, u);
        return FC_NF_COLUMN;
    }
    case NF_U64:
        put64(f, d->off, be_value(v, len));
        return FC_NF_COLUMN;
    case NF_ADDR:
    case NF_ADDR_ET:
        /* An address or MAC of a length its type cannot have fills nothing:
         * PARTIAL, so IPFIX keeps what was sent as an unknown element rather
         * than losing it. */
        if (len != 4 && len != 16)
            return FC_NF_PARTIAL;
        set_addr(f, addr_at(f, d->off), v, len, d->kind == NF_ADDR_ET);
        return FC_NF_COLUMN;
    default: /* NF_MAC */
        if (len != 6)
            return FC_NF_PARTIAL;
        put64(f, d->off, mac48(v, len));
        return FC_NF_COLUMN;
    }
}

int fc_nf_apply(fc_flow_t *f, fc_nfctx_t *cx, uint32_t pen, uint16_t id, const uint8_t *v,
                size_t len)
{
    if (pen != 0) {
        /* RFC 5103 reverse elements and enterprise elements are not part of
         * GoFlow2's record; the mapping file (and flowkit's registry) use them. */
        return FC_NF_NONE;
    }
    if (id < 256 && nf_ies[id].kind)
        return apply_ie(f, &nf_ies[id], v, len);

    uint64_t u = be_value(v, len);
    switch (id) {
    case 192:
        /* ipTTL (RFC 7012: the TTL / hop limit of the flow's packets), which
         * flowprobe's basicplus exports as "ip_ttl": the same quantity as
         * FlowMessage's ip_ttl, so it fills that column (flowkit's addition;
         * GoFlow2 reads only 52, which still wins when both are sent). */
        if (!f->ip_ttl)
            f->ip_ttl = (uint32_t)u;
        break;
    case 197: /* fragmentFlags */
        f->ip_flags = (uint32_t)(u >> 5);
        /* The column keeps bits 0-2 (RFC 7012 numbering, MSB first); the low
         * bits, where ipfixprobe and flowprobe put the IP header's flags,
         * would be lost: keep the element too. */
        return FC_NF_PARTIAL;
    case 32:  /* icmpTypeCodeIPv4: type in the high byte */
    case 139: /* icmpTypeCodeIPv6 */
        f->icmp_type = (uint32_t)(u >> 8) & 0xff;
        f->icmp_code = (uint32_t)u & 0xff;
        break;
    case 176:
    case 178:
        f->icmp_type = (uint32_t)u;
        break;
    case 177:
    case 179:
        f->icmp_code = (uint32_t)u;
        break;
    case 60: /* ipVersion: flowprobe and others send it; it fixes etype */
        if (u == 4)
            f->etype = 0x0800;
        else if (u == 6)
            f->etype = 0x86dd;
        break;
    case 70:
    case 71:
    case 72:
        if (len == 3)
            push_mpls(f, (uint32_t)u);
        /* The column keeps the 20-bit label, not the EXP and bottom-of-stack
         * bits of the section: keep the element too. */
        return FC_NF_PARTIAL;
    case 34: /* samplingInterval, 50 samplerRandomInterval: a rate in the record */
    case 50:
        if (u) {
            f->sampling_rate = u;
            cx->have_rate = true;
        }
        break;
    case 21: /* LAST_SWITCHED / flowEndSysUpTime (ms of sysUptime) */
    case 22: /* FIRST_SWITCHED / flowStartSysUpTime */
    {
        uint64_t t = 0;
        if (cx->version == 9)
            t = uptime_ns(cx, (uint32_t)u);
        else if (cx->init_ms)
            /* IPFIX has no uptime in its header; with the exporter's
             * systemInitTimeMilliseconds (IE 160) these times are absolute
             * (GoFlow2 ignores them for IPFIX: its quirk 9, fixed). */
            t = (cx->init_ms + u) * 1000000ULL;
        else
            return FC_NF_PARTIAL; /* not usable yet: kept as an unknown element */
        if (id == 21)
            f->time_flow_end_ns = t;
        else
            f->time_flow_start_ns = t;
        cx->have_time = true;
        break;
    }
    case 150:
        f->time_flow_start_ns = u * 1000000000ULL;
        cx->have_time = true;
        break;
    case 151:
        f->time_flow_end_ns = u * 1000000000ULL;
        cx->have_time = true;
        break;
    case 152:
        f->time_flow_start_ns = u * 1000000ULL;
        cx->have_time = true;
        break;
    case 153:
        f->time_flow_end_ns = u * 1000000ULL;
        cx->have_time = true;
        break;
    case 154:
    case 156:
        f->time_flow_start_ns = ntp_ns(v, len);
        cx->have_time = true;
        break;
    case 155:
    case 157:
        f->time_flow_end_ns = ntp_ns(v, len);
        cx->have_time = true;
        break;
    case 158: /* flowStartDeltaMicroseconds: before the export time */
        f->time_flow_start_ns = (uint64_t)cx->export_secs * 1000000000ULL - u * 1000ULL;
        cx->have_time = true;
        break;
    case 159:
        f->time_flow_end_ns = (uint64_t)cx->export_secs * 1000000000ULL - u * 1000ULL;
        cx->have_time = true;
        break;
    default:
        return FC_NF_NONE;
    }
    return FC_NF_COLUMN;
}

/* ------------------------------------------------------------ template plans */

/*
 * A data template compiled once, when it is announced, into one step per
 * field that matters: the table lookup and the element switch of
 * fc_nf_apply are done here instead of for every field of every record, the
 * value's offset in a fixed-length record is known, and NetFlow v9 fields
 * the record has no column for are dropped.  Running the plan has exactly
 * the effect of fc_nf_apply over the record's fields in template order (the
 * fallback step, P_APPLY, is fc_nf_apply itself), plus, for IPFIX, the extra
 * values ipfix.c would add.  Without a plan (options templates, a mapping
 * file, no memory) the decoders take the general path.
 */
enum {
    P_U32,   /* nf_ies NF_U32, any length */
    P_U32_1, /* ... of 1, 2 or 4 bytes (the load needs no length test) */
    P_U32_2B,
    P_U32_4,
    P_U32_2, /* NF_U32 with a second column */
    P_U64,   /* NF_U64, any length */
    P_U64_4, /* ... of 4 or 8 bytes */
    P_U64_8,
    P_U32_1_X2, /* two of the same fixed-width op on adjacent fields: off, then off2 */
    P_U32_2B_X2,
    P_U32_4_X2,
    P_U64_4_X2,
    P_U64_8_X2,
    P_ADDR4_ET_X2, /* source then destination address (or any two), adjacent */
    P_ADDR16_ET_X2,
    P_V9_TIMES4, /* P_V9_START4 then P_V9_END4 on adjacent fields */
    P_ADDR4,     /* NF_ADDR(_ET), 4 or 16 bytes */
    P_ADDR4_ET,
    P_ADDR16,
    P_ADDR16_ET,
    P_MAC,
    P_V9_START, /* v9 FIRST_SWITCHED / LAST_SWITCHED (sysUptime ms) */
    P_V9_END,
    P_V9_START4, /* ... of 4 bytes, as RFC 3954 8 gives them (the load needs no length test) */
    P_V9_END4,
    P_MS_START, /* flowStart/EndMilliseconds (152/153) */
    P_MS_END,
    P_MS_START8, /* ... of 8 bytes, as RFC 7011's dateTimeMilliseconds (6.1.8) */
    P_MS_END8,
    P_IPVER,          /* ipVersion (60): etype */
    P_IPFIX_UP_START, /* IPFIX flowStart/EndSysUpTime (22/21): with the exporter's */
    P_IPFIX_UP_END,   /* init time absolute, else an extra value (fc_nf_apply's PARTIAL) */
    P_APPLY,          /* anything else fc_nf_apply knows: call it */
    P_EXTRA,          /* IPFIX: not a column, an extra value of the record */
    P_EXTRA_REG,      /* the same, its registry entry known (fc_extras_reg) */
};

typedef struct nf_step_st {
    uint8_t op;
    int16_t reg;  /* P_EXTRA_REG: registry entry, -1 unknown element */
    uint16_t idx; /* the template field */
    uint16_t len; /* its length (fixed-length fields) */
    uint32_t at;  /* its offset in the record (fixed-length templates) */
    uint16_t off, off2;
} nf_step_t;

struct fc_nfplan_st {
    uint8_t version;
    uint16_t n;
    uint64_t zero_cols; /* the columns no record of the template sets (fc_flow_t.zero_cols) */
    nf_step_t step[];
};

/* Whether fc_nf_apply does anything with the element: asked of fc_nf_apply
 * itself (on a scratch record, with an IPFIX context that has an init time,
 * so that the sysUpTime elements answer), so that no list repeats its cases.
 * Answers for ids below 256, where all of its cases are, are kept. */
static bool nf_probe(uint32_t pen, uint16_t id)
{
    static const uint8_t one[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    fc_flow_t f;
    fc_nfctx_t cx = {10, 0, 1, 1, false, false, 0, 0};
    memset(&f, 0, sizeof(f));
    return fc_nf_apply(&f, &cx, pen, id, one, 8) != FC_NF_NONE;
}

static bool nf_known[256];
static pthread_once_t nf_known_once = PTHREAD_ONCE_INIT;

static void nf_known_init(void)
{
    for (unsigned id = 0; id < 256; id++)
        nf_known[id] = nf_probe(0, (uint16_t)id);
}

static bool nf_knows(uint32_t pen, uint16_t id)
{
    if (pen || id >= 256)
        return nf_probe(pen, id);
    pthread_once(&nf_known_once, nf_known_init);
    return nf_known[id];
}

/* The fc_columns index of the column at offset `off`, -1 if none. */
static int column_at(uint16_t off)
{
    for (int i = 0; i < FC_NCOLUMNS; i++)
        if (fc_columns[i].kind != FC_K_VIRTUAL && fc_columns[i].off == off)
            return i;
    return -1;
}

/*
 * The protobuf columns that no record of this plan can set: all but those the
 * decoders write for every record (record_start/record_end in nfv9.c and
 * ipfix.c), those of the plan's steps, and etype (addresses, ipVersion).  A
 * P_APPLY step may write anything fc_nf_apply writes: then no promise.
 */
static uint64_t plan_zero_cols(const fc_nfplan_t *pl)
{
    static const uint16_t always[] = {
        offsetof(fc_flow_t, type),
        offsetof(fc_flow_t, time_received_ns),
        offsetof(fc_flow_t, sequence_num),
        offsetof(fc_flow_t, sampler_address),
        offsetof(fc_flow_t, sampling_rate),
        offsetof(fc_flow_t, observation_domain_id),
        offsetof(fc_flow_t, time_flow_start_ns),
        offsetof(fc_flow_t, time_flow_end_ns),
        offsetof(fc_flow_t, etype),
    };
    uint64_t written = 0, proto = 0;
    _Static_assert(FC_NCOLUMNS <= 64, "zero_cols is a 64-bit set");
    for (int i = 0; i < FC_NCOLUMNS; i++)
        if (fc_columns[i].pb)
            proto |= 1ULL << i;
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++) {
        int c = column_at(always[i]);
        if (c < 0)
            return 0;
        written |= 1ULL << c;
    }
    for (uint16_t i = 0; i < pl->n; i++) {
        const nf_step_t *s = &pl->step[i];
        if (s->op == P_APPLY)
            return 0;
        if (s->op == P_EXTRA || s->op == P_EXTRA_REG || s->op == P_IPVER || s->op == P_V9_START ||
            s->op == P_V9_END || s->op == P_V9_START4 || s->op == P_V9_END4 ||
            s->op == P_V9_TIMES4 || s->op == P_MS_START || s->op == P_MS_END ||
            s->op == P_MS_START8 || s->op == P_MS_END8 || s->op == P_IPFIX_UP_START ||
            s->op == P_IPFIX_UP_END)
            continue; /* extras, etype and times: none, or in `always` */
        int c = column_at(s->off), c2 = s->off2 ? column_at(s->off2) : 0;
        if (c < 0 || c2 < 0)
            return 0;
        written |= 1ULL << c | (s->off2 ? 1ULL << c2 : 0);
    }
    return proto & ~written;
}

/*
 * Steps of one fixed-width op on adjacent template fields (the next field's
 * value starts where this one's ends) merged into one step of its _X2 op:
 * templates list their counters, ports and addresses in pairs (bytes and
 * packets, source and destination), and v9 templates the flow's start and
 * end (P_V9_TIMES4); a step costs its dispatch more than its load.
 * Writes keep template order (off, then off2), as fc_nf_apply's would.
 */
static void plan_pairs(fc_nfplan_t *pl)
{
    uint16_t n = 0;
    for (uint16_t i = 0; i < pl->n; i++) {
        nf_step_t s = pl->step[i];
        const nf_step_t *b = i + 1 < pl->n ? &pl->step[i + 1] : NULL;
        uint8_t x2 = s.op == P_U32_1       ? P_U32_1_X2
                     : s.op == P_U32_2B    ? P_U32_2B_X2
                     : s.op == P_U32_4     ? P_U32_4_X2
                     : s.op == P_U64_4     ? P_U64_4_X2
                     : s.op == P_U64_8     ? P_U64_8_X2
                     : s.op == P_ADDR4_ET  ? P_ADDR4_ET_X2
                     : s.op == P_ADDR16_ET ? P_ADDR16_ET_X2
                                           : 0;
        bool next = b && b->idx == s.idx + 1 && b->at == s.at + s.len;
        if (x2 && next && b->op == s.op && !s.off2 && !b->off2) {
            s.op = x2;
            s.off2 = b->off;
            i++;
        } else if (s.op == P_V9_START4 && next && b->op == P_V9_END4) {
            s.op = P_V9_TIMES4; /* the columns are fixed: no offsets */
            i++;
        }
        pl->step[n++] = s;
    }
    pl->n = n;
}

fc_nfplan_t *fc_nf_plan_new(const fk_ipfix_tmpl_t *t, uint8_t version)
{
    if (t->options || t->nfields == 0)
        return NULL;
    fc_nfplan_t *pl = malloc(sizeof(*pl) + (size_t)t->nfields * sizeof(pl->step[0]));
    if (!pl)
        return NULL;
    pl->version = version;
    pl->n = 0;
    uint32_t at = 0;
    for (uint16_t i = 0; i < t->nfields; i++) {
        const fk_ipfix_ie_t *ie = &t->f[i];
        nf_step_t s = {P_APPLY, 0, i, ie->len, at, 0, 0};
        bool fixed = ie->len != FK_IPFIX_VARLEN;
        at += fixed ? ie->len : 0;
        if (ie->pen == 0 && ie->id < 256 && nf_ies[ie->id].kind && fixed) {
            const nf_ie_t *d = &nf_ies[ie->id];
            s.off = d->off;
            s.off2 = d->off2;
            switch (d->kind) {
            case NF_U32:
                s.op = d->off2        ? P_U32_2
                       : ie->len == 1 ? P_U32_1
                       : ie->len == 2 ? P_U32_2B
                       : ie->len == 4 ? P_U32_4
                                      : P_U32;
                break;
            case NF_U64:
                s.op = ie->len == 4 ? P_U64_4 : ie->len == 8 ? P_U64_8 : P_U64;
                break;
            case NF_ADDR:
            case NF_ADDR_ET:
                if (ie->len == 4)
                    s.op = d->kind == NF_ADDR_ET ? P_ADDR4_ET : P_ADDR4;
                else if (ie->len == 16)
                    s.op = d->kind == NF_ADDR_ET ? P_ADDR16_ET : P_ADDR16;
                break; /* other lengths: P_APPLY (PARTIAL) */
            default:
                if (ie->len == 6)
                    s.op = P_MAC;
                break;
            }
        } else if (ie->pen == 0 && fixed && version == 9 && (ie->id == 21 || ie->id == 22)) {
            s.op = ie->len == 4 ? (ie->id == 22 ? P_V9_START4 : P_V9_END4)
                                : (ie->id == 22 ? P_V9_START : P_V9_END);
        } else if (ie->pen == 0 && fixed && (ie->id == 152 || ie->id == 153)) {
            s.op = ie->len == 8 ? (ie->id == 152 ? P_MS_START8 : P_MS_END8)
                                : (ie->id == 152 ? P_MS_START : P_MS_END);
        } else if (ie->pen == 0 && ie->id == 60) {
            s.op = P_IPVER;
        } else if (ie->pen == 0 && version == 10 && (ie->id == 21 || ie->id == 22)) {
            s.op = ie->id == 22 ? P_IPFIX_UP_START : P_IPFIX_UP_END;
        } else if (!nf_knows(ie->pen, ie->id)) {
            if (version == 9)
                continue; /* fc_nf_apply would ignore it; v9 records keep no extras */
            int reg = fc_extras_reg(ie);
            /* only an extra value: no step when records keep none
             * (fc_extras_use is set before the first template comes) */
            if (reg == FC_EXTRAS_SKIP || !fc_extras_wanted())
                continue;
            s.op = reg == FC_EXTRAS_NO_REG ? P_EXTRA : P_EXTRA_REG;
            s.reg = (int16_t)(reg < 0 ? -1 : reg);
        }
        pl->step[pl->n++] = s;
    }
    plan_pairs(pl);
    pl->zero_cols = plan_zero_cols(pl);
    return pl;
}

void fc_nf_plan_free(fc_nfplan_t *pl)
{
    free(pl);
}

/* The plan's steps; `by_values` is a constant in each of the two copies
 * fc_nf_plan_run makes, so that the fixed-offset loop asks nothing per step. */
static inline __attribute__((always_inline)) void
plan_steps(const fc_nfplan_t *pl, const fk_ipfix_tmpl_t *t, fc_flow_t *f, fc_nfctx_t *cx,
           const uint8_t *rec, const fk_ipfix_value_t *v, const bool by_values)
{
    for (const nf_step_t *s = pl->step, *end = s + pl->n; s < end; s++) {
        /* v9 and fixed-length IPFIX: fixed offsets into the record; other
         * IPFIX: the reader's values (variable-length fields move the ones
         * after them) */
        const uint8_t *p = by_values ? v[s->idx].p : rec + s->at;
        size_t len = by_values ? v[s->idx].len : s->len;
        switch (s->op) {
        case P_U32_1:
            put32(f, s->off, p[0]);
            break;
        case P_U32_2B:
            put32(f, s->off, be_value(p, 2));
            break;
        case P_U32_4:
            put32(f, s->off, be_value(p, 4));
            break;
        case P_U64_4:
            put64(f, s->off, be_value(p, 4));
            break;
        case P_U64_8:
            put64(f, s->off, be_value(p, 8));
            break;
        /* pairs (plan_pairs): the second value follows the first */
        case P_U32_1_X2:
            put32(f, s->off, p[0]);
            put32(f, s->off2, p[1]);
            break;
        case P_U32_2B_X2:
            put32(f, s->off, be_value(p, 2));
            put32(f, s->off2, be_value(p + 2, 2));
            break;
        case P_U32_4_X2:
            put32(f, s->off, be_value(p, 4));
            put32(f, s->off2, be_value(p + 4, 4));
            break;
        case P_U64_4_X2:
            put64(f, s->off, be_value(p, 4));
            put64(f, s->off2, be_value(p + 4, 4));
            break;
        case P_U64_8_X2:
            put64(f, s->off, be_value(p, 8));
            put64(f, s->off2, be_value(p + 8, 8));
            break;
        case P_ADDR4_ET_X2:
            set_addr(f, addr_at(f, s->off), p, 4, true);
            set_addr(f, addr_at(f, s->off2), p + 4, 4, true);
            break;
        case P_ADDR16_ET_X2:
            set_addr(f, addr_at(f, s->off), p, 16, true);
            set_addr(f, addr_at(f, s->off2), p + 16, 16, true);
            break;
        case P_V9_TIMES4:
            f->time_flow_start_ns = uptime_ns(cx, (uint32_t)be_value(p, 4));
            f->time_flow_end_ns = uptime_ns(cx, (uint32_t)be_value(p + 4, 4));
            cx->have_time = true;
            break;
        case P_U32:
            put32(f, s->off, be_value(p, len));
            break;
        case P_U32_2: {
            uint64_t u = be_value(p, len);
            put32(f, s->off, u);
            put32(f, s->off2, u);
            break;
        }
        case P_U64:
            put64(f, s->off, be_value(p, len));
            break;
        case P_ADDR4:
            set_addr(f, addr_at(f, s->off), p, 4, false);
            break;
        case P_ADDR4_ET:
            set_addr(f, addr_at(f, s->off), p, 4, true);
            break;
        case P_ADDR16:
            set_addr(f, addr_at(f, s->off), p, 16, false);
            break;
        case P_ADDR16_ET:
            set_addr(f, addr_at(f, s->off), p, 16, true);
            break;
        case P_MAC:
            put64(f, s->off, mac48(p, 6));
            break;
        case P_V9_START:
            f->time_flow_start_ns = uptime_ns(cx, (uint32_t)be_value(p, len));
            cx->have_time = true;
            break;
        case P_V9_END:
            f->time_flow_end_ns = uptime_ns(cx, (uint32_t)be_value(p, len));
            cx->have_time = true;
            break;
        case P_V9_START4:
            f->time_flow_start_ns = uptime_ns(cx, (uint32_t)be_value(p, 4));
            cx->have_time = true;
            break;
        case P_V9_END4:
            f->time_flow_end_ns = uptime_ns(cx, (uint32_t)be_value(p, 4));
            cx->have_time = true;
            break;
        case P_MS_START8:
            f->time_flow_start_ns = be_value(p, 8) * 1000000ULL;
            cx->have_time = true;
            break;
        case P_MS_END8:
            f->time_flow_end_ns = be_value(p, 8) * 1000000ULL;
            cx->have_time = true;
            break;
        case P_MS_START:
            f->time_flow_start_ns = be_value(p, len) * 1000000ULL;
            cx->have_time = true;
            break;
        case P_MS_END:
            f->time_flow_end_ns = be_value(p, len) * 1000000ULL;
            cx->have_time = true;
            break;
        case P_IPVER: {
            uint64_t u = be_value(p, len);
            if (u == 4)
                f->etype = 0x0800;
            else if (u == 6)
                f->etype = 0x86dd;
            break;
        }
        case P_IPFIX_UP_START:
        case P_IPFIX_UP_END:
            if (cx->init_ms) {
                uint64_t ns = (cx->init_ms + be_value(p, len)) * 1000000ULL;
                if (s->op == P_IPFIX_UP_START)
                    f->time_flow_start_ns = ns;
                else
                    f->time_flow_end_ns = ns;
                cx->have_time = true;
            } else if (fc_extras_wanted()) {
                fc_extras_add(f, &t->f[s->idx], p, len);
            }
            break;
        case P_EXTRA_REG:
            if (fc_extras_wanted())
                fc_extras_add_reg(f, &t->f[s->idx], s->reg, p, len);
            break;
        case P_APPLY:
            if (fc_nf_apply(f, cx, t->f[s->idx].pen, t->f[s->idx].id, p, len) != FC_NF_COLUMN &&
                pl->version == 10 && fc_extras_wanted())
                fc_extras_add(f, &t->f[s->idx], p, len);
            break;
        default: /* P_EXTRA */
            if (fc_extras_wanted())
                fc_extras_add(f, &t->f[s->idx], p, len);
            break;
        }
    }
}

void fc_nf_plan_run(const fc_nfplan_t *pl, const fk_ipfix_tmpl_t *t, fc_flow_t *f, fc_nfctx_t *cx,
                    const uint8_t *rec, const fk_ipfix_value_t *v)
{
    f->zero_cols = pl->zero_cols;
    if (v)
        plan_steps(pl, t, f, cx, NULL, v, true);
    else
        plan_steps(pl, t, f, cx, rec, NULL, false);
}

uint64_t fc_nf_options_rate(const fk_ipfix_tmpl_t *t, const fk_ipfix_value_t *v, size_t n)
{
    uint64_t interval = 0, space = 0, random = 0, sampling = 0;

    for (size_t i = 0; i < n && i < t->nfields; i++) {
        if (v[i].ie->pen)
            continue;
        uint64_t u = fc_be_uint(v[i].p, v[i].len);
        switch (v[i].ie->id) {
        case 305:
            interval = u;
            break;
        case 306:
            space = u;
            break;
        case 50:
            random = u;
            break;
        case 34:
            sampling = u;
            break;
        }
    }
    /* GoFlow2's order (305, then 50, then 34); unlike GoFlow2, 305 with 306
     * means "interval sampled out of interval + space" (RFC 5477). */
    if (interval)
        return space ? (interval + space) / interval : interval;
    if (random)
        return random;
    return sampling;
}
