/*
 * dns.c - ipfixprobe's "dns" plugin: header fields, the first question, the
 * first answer's RDATA in readable form, and the EDNS0 OPT record of each DNS
 * message (RFC 1035 section 4, RFC 6891).
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on dns.pcap):
 *   - a packet is looked at when either port is 53; over TCP only a message
 *     whose 2-octet length prefix equals the rest of the segment;
 *   - a message that parses ends the flow at once (FP_HOOK_FLUSH), so each
 *     DNS message is its own record (query and response are two flows);
 *     one that does not parse leaves the flow alone, and a later packet of
 *     the same flow is tried again;
 *   - a message is abandoned (no record) when a name cannot be read: the
 *     question names, the first answer's RDATA names, and the owner name skip
 *     of every RR.  When a question, an RR header or RDATA lies past the end,
 *     parsing stops but the record keeps what was read so far;
 *   - DNS_NAME is the first question's name cut to 127 octets; DNS_RDATA is
 *     the first answer formatted as the readme's table says, cut to 159
 *     octets; DNS_RLENGTH is its length; DNS_PSIZE and DNS_DO come from the
 *     OPT record (the last one wins);
 *   - ipfixprobe's quirks kept: owner names of RRs are only skipped, so an
 *     answer owner with a bad label still counts; SRV shows the owner name
 *     with its first two '_' removed and its first two '.' turned to spaces;
 *     TXT strings are joined with spaces; MINFO's two names are joined with
 *     nothing between them; RRSIG's signer name must be readable although it
 *     is not shown; unknown types show "(not_impl)".
 *   - where ipfixprobe reads RDATA fields past the end of the message (a
 *     short A/AAAA/SOA/SRV/MX/DS/RRSIG/DNSKEY RDATA at the very end), it reads
 *     stray memory; flowprobe abandons the message instead.  Fields read past
 *     RDLENGTH but inside the message are read as ipfixprobe reads them.
 *   - deliberate difference: ipfixprobe prints a DS record's algorithm as the
 *     key tag's two octets read in host order (a bug); flowprobe prints the
 *     algorithm, as the readme's table says.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/core/copy.h"
#include "../../lib/core/cursor.h"
#include "../plugin.h"
#include "../proto/dns.h"

#define DNS_QNAME_CAP 128 /* ipfixprobe's qname[128]: 127 octets + NUL */
#define DNS_RDATA_CAP 159 /* ipfixprobe's data[160] less its NUL */
#define DNS_NAME_TMP  512 /* a decoded name, enough to fill DNS_RDATA after SRV's edits */

typedef struct dns_record_st {
    uint32_t rr_ttl;
    uint16_t answers;
    uint16_t qtype;
    uint16_t qclass;
    uint16_t rlength; /* octets in rdata, <= DNS_RDATA_CAP */
    uint16_t psize;
    uint16_t id;
    uint8_t rcode;
    uint8_t dns_do;
    char qname[DNS_QNAME_CAP];
    uint8_t rdata[DNS_RDATA_CAP];
} dns_record_t;

/* Zeroed when a flow is created.  The record is a body (plugin.h), taken
 * by the flow's first DNS message; dns_parse clears it. */
typedef struct dns_state_st {
    void *body;  /* the dns_record_t; NULL: none yet */
    uint8_t has; /* a record is attached */
} dns_state_t;

/* In ipfixprobe's IPFIX template order. */
static const fk_field_t dns_fields[] = {
    FK_U16(dns_record_t, answers, "DNS_ANSWERS", "dns_answers", 8057, 14, 0),
    FK_U8(dns_record_t, rcode, "DNS_RCODE", "dns_rcode", 8057, 1, 0),
    FK_U16(dns_record_t, qtype, "DNS_QTYPE", "dns_qtype", 8057, 3, 0),
    FK_U16(dns_record_t, qclass, "DNS_CLASS", "dns_class", 8057, 4, 0),
    FK_U32(dns_record_t, rr_ttl, "DNS_RR_TTL", "dns_rr_ttl", 8057, 5, 0),
    FK_U16(dns_record_t, rlength, "DNS_RLENGTH", "dns_rlength", 8057, 6, 0),
    FK_U16(dns_record_t, psize, "DNS_PSIZE", "dns_psize", 8057, 8, 0),
    FK_U8(dns_record_t, dns_do, "DNS_DO", "dns_do", 8057, 9, 0),
    FK_U16(dns_record_t, id, "DNS_ID", "dns_id", 8057, 10, 0),
    FK_STR(dns_record_t, qname, "DNS_NAME", "dns_name", 8057, 2, 0),
    FK_BYTES(dns_record_t, rdata, rlength, "DNS_RDATA", "dns_rdata", 8057, 7, 0),
};

/* An output buffer that keeps the first `cap` octets and drops the rest. */
typedef struct dns_out_st {
    uint8_t *p;
    size_t cap;
    size_t len;
} dns_out_t;

static void dns_put(dns_out_t *o, const void *src, size_t n)
{
    size_t room = o->cap - o->len;

    if (n > room)
        n = room;
    fk_copy_short(o->p + o->len, src, n);
    o->len += n;
}

static void dns_puts(dns_out_t *o, const char *s)
{
    dns_put(o, s, strlen(s));
}

static void dns_putu(dns_out_t *o, uint32_t v)
{
    char num[FK_FMT_U64_MAX];

    dns_put(o, num, fk_fmt_u64(num, v));
}

/* Append the name at `off`; false when it cannot be read. */
static bool dns_put_name(dns_out_t *o, const fk_dns_msg_t *m, uint32_t off)
{
    uint8_t name[DNS_NAME_TMP];
    size_t n;

    if (fk_dns_name(m, off, name, sizeof(name), &n) != FK_DNS_OK)
        return false;
    dns_put(o, name, n);
    return true;
}

/*
 * SRV's owner "_service._proto.name" shown as "service proto name", the way
 * ipfixprobe edits it: the first two '_' are removed (the scan stops at a NUL
 * octet), then the first two '.' become spaces.
 */
static void dns_srv_owner(uint8_t *s, size_t *len)
{
    size_t n = *len, i = 0;
    int found = 0, dots = 0;

    while (i < n && s[i]) {
        if (s[i] != '_') {
            i++;
            continue;
        }
        memmove(s + i, s + i + 1, n - i - 1);
        n--;
        if (found++)
            break;
    }
    for (i = 0; i < n && dots < 2; i++)
        if (s[i] == '.') {
            s[i] = ' ';
            dots++;
        }
    *len = n;
}

/*
 * Format the first answer's RDATA (the readme's table) into o.  Fixed fields
 * are read from the message (ipfixprobe does not stop at RDLENGTH).  Returns
 * false when the message must be abandoned: a name cannot be read or a field
 * lies past the end of the message.
 */
static bool dns_rdata(dns_out_t *o, const fk_dns_msg_t *m, const fk_dns_rr_t *rr)
{
    fk_cursor_t c = fk_dns_cur(m, rr->rdata_off);
    uint32_t off = rr->rdata_off;
    uint8_t b[20];

    switch (rr->type) {
    case FK_DNS_A:
        if (!fk_cur_copy(&c, b, 4))
            return false;
        for (int i = 0; i < 4; i++) {
            if (i)
                dns_puts(o, ".");
            dns_putu(o, b[i]);
        }
        return true;
    case FK_DNS_AAAA: {
        char txt[FK_FMT_IP_MAX]; /* inet_ntop's text, without printf */
        if (!fk_cur_copy(&c, b, 16))
            return false;
        dns_put(o, txt, fk_fmt_ip6(txt, b));
        return true;
    }
    case FK_DNS_NS:
    case FK_DNS_CNAME:
    case FK_DNS_PTR:
    case FK_DNS_DNAME:
        return dns_put_name(o, m, off);
    case FK_DNS_SOA: {
        /* RFC 1035 3.3.13: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM */
        uint32_t at;
        if (!dns_put_name(o, m, off) || fk_dns_name_skip(m, off, &at) != FK_DNS_OK)
            return false;
        dns_puts(o, " ");
        if (!dns_put_name(o, m, at) || fk_dns_name_skip(m, at, &at) != FK_DNS_OK)
            return false;
        c = fk_dns_cur(m, at);
        for (int i = 0; i < 5; i++) {
            uint32_t v;
            if (!fk_cur_be32(&c, &v))
                return false;
            dns_puts(o, " ");
            dns_putu(o, v);
        }
        return true;
    }
    case FK_DNS_SRV: {
        /* RFC 2782: PRIORITY WEIGHT PORT TARGET; the owner names the service. */
        uint8_t owner[DNS_NAME_TMP];
        size_t n;
        uint16_t prio, weight, port;
        if (fk_dns_name(m, rr->name_off, owner, sizeof(owner), &n) != FK_DNS_OK)
            return false;
        dns_srv_owner(owner, &n);
        if (!fk_cur_be16(&c, &prio) || !fk_cur_be16(&c, &weight) || !fk_cur_be16(&c, &port))
            return false;
        dns_put(o, owner, n);
        dns_puts(o, " ");
        if (!dns_put_name(o, m, off + 6))
            return false;
        dns_puts(o, " ");
        dns_putu(o, prio);
        dns_puts(o, " ");
        dns_putu(o, weight);
        dns_puts(o, " ");
        dns_putu(o, port);
        return true;
    }
    case FK_DNS_MX: {
        uint16_t pref;
        if (!fk_cur_be16(&c, &pref))
            return false;
        dns_putu(o, pref);
        dns_puts(o, " ");
        return dns_put_name(o, m, off + 2);
    }
    case FK_DNS_TXT: {
        /* RFC 1035 3.3.14: <character-string>s, each shown whole or not at all. */
        size_t used = 0;
        uint8_t slen;
        while (rr->rdlength && fk_cur_peek_u8(&c, 0, &slen) && used + slen + 1u <= rr->rdlength) {
            if (used)
                dns_puts(o, " ");
            dns_put(o, c.p + 1, slen); /* inside RDATA: checked by fk_dns_rr */
            used += slen + 1u;
            fk_cur_skip(&c, slen + 1u);
        }
        return true;
    }
    case FK_DNS_MINFO: {
        uint32_t at;
        if (!dns_put_name(o, m, off) || fk_dns_name_skip(m, off, &at) != FK_DNS_OK)
            return false;
        return dns_put_name(o, m, at);
    }
    case FK_DNS_HINFO:
    case FK_DNS_ISDN:
        /* Shown raw, length octets included, as ipfixprobe does. */
        dns_put(o, m->p + off, rr->rdlength);
        return true;
    case FK_DNS_DS:     /* RFC 4034 5.1: KEY TAG, ALGORITHM, DIGEST TYPE, DIGEST */
    case FK_DNS_DNSKEY: /* RFC 4034 2.1: FLAGS, PROTOCOL, ALGORITHM, PUBLIC KEY */
        /* the 16-bit and two 8-bit numbers; the key or digest is not shown */
        if (!fk_cur_copy(&c, b, 4))
            return false;
        dns_putu(o, fk_load_be16(b));
        dns_puts(o, " ");
        dns_putu(o, b[2]);
        dns_puts(o, " ");
        dns_putu(o, b[3]);
        dns_puts(o, " <key>");
        return true;
    case FK_DNS_RRSIG: {
        /* RFC 4034 3.1: TYPE COVERED, ALGORITHM, LABELS, ORIGINAL TTL,
         * EXPIRATION, INCEPTION, KEY TAG, SIGNER'S NAME, SIGNATURE. */
        uint8_t tmp[1];
        size_t n;
        if (!fk_cur_copy(&c, b, 18))
            return false;
        dns_putu(o, fk_load_be16(b));
        dns_puts(o, " ");
        dns_putu(o, b[2]);
        dns_puts(o, " ");
        dns_putu(o, b[3]);
        for (int i = 0; i < 3; i++) {
            dns_puts(o, " ");
            dns_putu(o, fk_load_be32(b + 4 + 4 * i));
        }
        dns_puts(o, " ");
        dns_putu(o, fk_load_be16(b + 16));
        dns_puts(o, " <key>");
        /* Not shown, but ipfixprobe abandons the message when it is unreadable. */
        return fk_dns_name(m, off + 18, tmp, 0, &n) == FK_DNS_OK;
    }
    default:
        dns_puts(o, "(not_impl)");
        return true;
    }
}

/* Skip `count` RRs from *off; OPT records set psize/do.  false = abandon. */
static bool dns_skip_rrs(const fk_dns_msg_t *m, uint32_t *off, unsigned count, dns_record_t *r,
                         bool *stop)
{
    for (unsigned i = 0; i < count; i++) {
        fk_dns_rr_t rr;
        int rc = fk_dns_rr(m, *off, &rr);
        if (rc == FK_DNS_EBADNAME)
            return false;
        if (rc != FK_DNS_OK) {
            *stop = true;
            return true;
        }
        if (r && rr.type == FK_DNS_OPT) {
            /* RFC 6891 6.1.2-6.1.3: CLASS = UDP payload size, TTL bit 15 = DO. */
            r->psize = rr.rclass;
            r->dns_do = (uint8_t)((rr.ttl >> 15) & 1);
        }
        *off = rr.next;
    }
    return true;
}

/*
 * Parse one DNS message into r (cleared first).  Returns 1 when ipfixprobe
 * would attach the record, 0 when it abandons the message.
 */
static int dns_parse(dns_record_t *r, const uint8_t *payload, size_t len, bool tcp)
{
    fk_dns_msg_t m;
    fk_dns_hdr_t h;
    uint32_t off = FK_DNS_HDR_LEN;
    bool stop = false;

    fk_record_clear(dns_fields, sizeof(dns_fields) / sizeof(dns_fields[0]), r);
    if (fk_dns_open(&m, &h, payload, len, tcp) != FK_DNS_OK)
        return 0;
    r->answers = h.ancount;
    r->id = h.id;
    r->rcode = (uint8_t)(h.flags & 0x0F);

    for (unsigned i = 0; i < h.qdcount; i++) {
        uint8_t name[DNS_QNAME_CAP - 1];
        size_t n;
        fk_dns_q_t q;
        if (fk_dns_name(&m, off, name, sizeof(name), &n) != FK_DNS_OK)
            return 0;
        int rc = fk_dns_question(&m, off, &q);
        if (rc == FK_DNS_EBADNAME)
            return 0;
        if (rc != FK_DNS_OK)
            return 1;
        if (i == 0) {
            r->qtype = q.qtype;
            r->qclass = q.qclass;
            memcpy(r->qname, name, n);
            r->qname[n] = '\0';
        }
        off = q.next;
    }

    for (unsigned i = 0; i < h.ancount; i++) {
        fk_dns_rr_t rr;
        int rc = fk_dns_rr(&m, off, &rr);
        if (rc == FK_DNS_EBADNAME)
            return 0;
        if (rc != FK_DNS_OK)
            return 1;
        if (i == 0) {
            dns_out_t o = {r->rdata, sizeof(r->rdata), 0};
            if (!dns_rdata(&o, &m, &rr))
                return 0;
            r->rr_ttl = rr.ttl;
            r->rlength = (uint16_t)o.len;
        }
        off = rr.next;
    }

    if (!dns_skip_rrs(&m, &off, h.nscount, NULL, &stop))
        return 0;
    if (!stop && !dns_skip_rrs(&m, &off, h.arcount, r, &stop))
        return 0;
    return 1;
}

/* Both hooks: a DNS packet that parses attaches a record and ends the flow. */
static int dns_packet(dns_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    dns_record_t *r;

    if (pkt->src_port != FK_DNS_PORT && pkt->dst_port != FK_DNS_PORT)
        return FP_HOOK_OK;
    if (!(r = fp_plugin_body(hp, s)))
        return FP_HOOK_OK;
    /* A flow never holds a record here: one that did was flushed at once. */
    s->has = (uint8_t)dns_parse(r, pkt->payload, pkt->payload_len, pkt->ip_proto == IPPROTO_TCP);
    return s->has ? FP_HOOK_FLUSH : FP_HOOK_OK; /* without `has`, r is never read */
}

static int dns_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    return dns_packet(state, hp);
}

static int dns_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    /* The ports are part of the flow key: a flow without port 53 never gets
     * one, so the cache need not offer dns its later packets. */
    if (hp->pkt->src_port != FK_DNS_PORT && hp->pkt->dst_port != FK_DNS_PORT)
        return FP_HOOK_DONE;
    return dns_packet(state, hp);
}

static unsigned dns_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const dns_state_t *)state)->has ? 1 : 0;
}

static const void *dns_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return ((const dns_state_t *)state)->body;
}

const fp_plugin_t fp_plugin_dns = {
    .abi = FP_PLUGIN_ABI,
    .name = "dns",
    .flags = FP_PLUGIN_PAYLOAD_HOOKS, /* no payload, no DNS message (and no port change) */
    .summary = "DNS (port 53, UDP and TCP): id, rcode, first question, first answer's data, EDNS0 "
               "payload size and DO bit; one record per DNS message",
    .fields = dns_fields,
    .nfields = sizeof(dns_fields) / sizeof(dns_fields[0]),
    .record_size = sizeof(dns_record_t),
    .state_size = sizeof(dns_state_t),
    .body_size = sizeof(dns_record_t),
    .post_create = dns_post_create,
    .post_update = dns_post_update,
    .records = dns_records,
    .record = dns_record,
};
