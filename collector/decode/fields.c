/*
 * fields.c - NetFlow v9 / IPFIX information elements -> the common record,
 * as GoFlow2's producer fills it (goflow2-spec.md section 7, and the mapping
 * table of goflow2-protocols.txt), with its quirks fixed where the spec says
 * so: a sampling rate carried by a data record is kept, samplingPacketSpace
 * (306) is used, flowStart/EndSysUpTime (22/23) work for IPFIX too.
 */
#include <string.h>

#include "decode.h"

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
    if (f->n_mpls < FC_MAX_MPLS)
        f->mpls_label[f->n_mpls++] = lse_top24 >> 4;
    else
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

int fc_nf_apply(fc_flow_t *f, fc_nfctx_t *cx, uint32_t pen, uint16_t id, const uint8_t *v,
                size_t len)
{
    uint64_t u = be_value(v, len);

    if (pen != 0) {
        /* RFC 5103 reverse elements and enterprise elements are not part of
         * GoFlow2's record; the mapping file (and flowkit's registry) use them. */
        return FC_NF_NONE;
    }
    /* An address or MAC of a length its type cannot have fills nothing:
     * PARTIAL, so IPFIX keeps what was sent as an unknown element rather than
     * losing it. */
    switch (id) {
    case 8:
    case 12:
    case 27:
    case 28:
    case 15:
    case 62:
    case 18:
    case 63:
        if (len != 4 && len != 16)
            return FC_NF_PARTIAL;
        break;
    case 56:
    case 57:
    case 80:
    case 81:
        if (len != 6)
            return FC_NF_PARTIAL;
        break;
    default:
        break;
    }
    switch (id) {
    case 1:  /* IN_BYTES / octetDeltaCount */
    case 23: /* OUT_BYTES / postOctetDeltaCount */
        f->bytes = u;
        break;
    case 2:  /* IN_PKTS / packetDeltaCount */
    case 24: /* OUT_PKTS / postPacketDeltaCount */
        f->packets = u;
        break;
    case 4:
        f->proto = (uint32_t)u;
        break;
    case 5:
        f->ip_tos = (uint32_t)u;
        break;
    case 6:
        f->tcp_flags = (uint32_t)u;
        break;
    case 7:
        f->src_port = (uint32_t)u;
        break;
    case 11:
        f->dst_port = (uint32_t)u;
        break;
    case 8:
    case 27:
        set_addr(f, &f->src_addr, v, len, true);
        break;
    case 12:
    case 28:
        set_addr(f, &f->dst_addr, v, len, true);
        break;
    case 9:
    case 29:
        f->src_net = (uint32_t)u;
        break;
    case 13:
    case 30:
        f->dst_net = (uint32_t)u;
        break;
    case 10:
        f->in_if = (uint32_t)u;
        break;
    case 14:
        f->out_if = (uint32_t)u;
        break;
    case 15:
    case 62:
        set_addr(f, &f->next_hop, v, len, false);
        break;
    case 18:
    case 63:
        set_addr(f, &f->bgp_next_hop, v, len, false);
        break;
    case 16:
        f->src_as = (uint32_t)u;
        break;
    case 17:
        f->dst_as = (uint32_t)u;
        break;
    case 56: /* IN_SRC_MAC / sourceMacAddress */
    case 81: /* postSourceMacAddress */
        f->src_mac = mac48(v, len);
        break;
    case 57: /* OUT_DST_MAC / postDestinationMacAddress */
    case 80: /* destinationMacAddress */
        f->dst_mac = mac48(v, len);
        break;
    case 58: /* SRC_VLAN / vlanId: both vlan_id and src_vlan, as GoFlow2 */
        f->src_vlan = (uint32_t)u;
        f->vlan_id = (uint32_t)u;
        break;
    case 59:
        f->dst_vlan = (uint32_t)u;
        break;
    case 89:
        f->forwarding_status = (uint32_t)u;
        break;
    case 52: /* minimumTTL: GoFlow2's source of ip_ttl */
        f->ip_ttl = (uint32_t)u;
        break;
    case 192:
        /* ipTTL (RFC 7012: the TTL / hop limit of the flow's packets), which
         * flowprobe's basicplus exports as "ip_ttl": the same quantity as
         * FlowMessage's ip_ttl, so it fills that column (flowkit's addition;
         * GoFlow2 reads only 52, which still wins when both are sent). */
        if (!f->ip_ttl)
            f->ip_ttl = (uint32_t)u;
        break;
    case 31:
        f->ipv6_flow_label = (uint32_t)u;
        break;
    case 54:
        f->fragment_id = (uint32_t)u;
        break;
    case 88:
        f->fragment_offset = (uint32_t)u;
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
    case 138:
        f->observation_point_id = (uint32_t)u;
        break;
    default:
        return FC_NF_NONE;
    }
    return FC_NF_COLUMN;
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
