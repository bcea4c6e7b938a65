/*
 * passivedns.c - ipfixprobe's "passivedns" plugin: the address records of
 * DNS responses, one output record per A, AAAA or PTR answer (RFC 1035
 * 3.4.1, RFC 3596 2.2, RFC 1035 3.5 / RFC 3596 2.5 for reverse names).
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on dns.pcap):
 *   - only packets from port 53 are read (responses; over TCP only a message
 *     whose 2-octet length prefix equals the rest of the segment); every such
 *     packet ends the flow (FP_HOOK_FLUSH), whether or not it gave records,
 *     so a query and its response make one flow;
 *   - A / AAAA: DNS_NAME is the answer's owner name, DNS_IP its address;
 *     PTR: DNS_NAME is the target name and DNS_IP the address spelled by the
 *     owner name (d.c.b.a.in-addr.arpa, or 32 nibbles of ip6.arpa); a PTR
 *     whose owner is not such a name gives no record;
 *   - names are cut to 254 octets (ipfixprobe's aname[255]);
 *   - an unreadable question name or a short question gives no records; an
 *     unreadable answer name, an answer that lies past the end, or an
 *     A/AAAA address past the end of the message (where ipfixprobe reads
 *     stray memory) stops parsing, keeping the records already made;
 *   - in-addr.arpa octets are read as C's strtoull with base 0 reads them
 *     (so "010" is octal 8, "0x1f" hex), after trimming white space, each at
 *     most 255; ip6.arpa nibbles as base-16 numbers of at most 15;
 *   - deliberate difference: ipfixprobe builds an ip6.arpa address from the
 *     nibbles wrongly (octet i = nibble i twice); flowprobe builds the
 *     address the name spells (RFC 3596 2.5);
 *   - flowprobe keeps at most PDNS_MAX_RECORDS records per response (the
 *     per-flow state has a fixed size); further answers are not reported.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"
#include "../proto/dns.h"

#define PDNS_MAX_RECORDS 8
#define PDNS_NAME_CAP    255  /* ipfixprobe's aname[255]: 254 octets + NUL */
#define PDNS_OWNER_TMP   1024 /* a decoded owner name for reverse-name parsing */

typedef struct pdns_record_st {
    uint32_t rr_ttl;
    uint16_t id;
    uint16_t atype;
    uint8_t ip[16]; /* IPv4 stored IPv4-mapped */
    char name[PDNS_NAME_CAP];
} pdns_record_t;

/*
 * Zeroed when a flow is created.  The records are a body (plugin.h), taken
 * by the flow's first DNS response.  A record is written whole (cleared
 * first) before the count takes it in, so the records past the count may
 * hold an earlier flow's leftovers.
 */
typedef struct pdns_state_st {
    void *body; /* pdns_record_t[PDNS_MAX_RECORDS] */
    uint8_t n;  /* records attached */
} pdns_state_t;

/* In ipfixprobe's IPFIX template order (its DNS_RDATA element carries DNS_IP). */
static const fk_field_t pdns_fields[] = {
    FK_U16(pdns_record_t, id, "DNS_ID", "dns_id", 8057, 10, 0),
    FK_U32(pdns_record_t, rr_ttl, "DNS_RR_TTL", "dns_rr_ttl", 8057, 5, 0),
    FK_U16(pdns_record_t, atype, "DNS_ATYPE", "dns_atype", 8057, 11, 0),
    FK_IP(pdns_record_t, ip, "DNS_IP", "dns_ip", 8057, 7, 0),
    FK_STR(pdns_record_t, name, "DNS_NAME", "dns_name", 8057, 2, 0),
};

static bool pdns_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * Read one label of a reverse name as strtoull(base) would, after trimming
 * white space; the whole label must be consumed and no '-' may lead.
 * false when it is not a number of at most `max`.
 */
static bool pdns_num(const uint8_t *s, size_t n, int base, unsigned max, uint8_t *out)
{
    char buf[72];
    char *end;

    while (n && pdns_space(s[0]))
        s++, n--;
    while (n && pdns_space(s[n - 1]))
        n--;
    /* A part is at most one label (63 octets): dots split labels. */
    if (n == 0 || n >= sizeof(buf) || s[0] == '-' || memchr(s, 0, n))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    unsigned long long v = strtoull(buf, &end, base);
    if (errno == ERANGE || end != buf + n || v > max)
        return false;
    *out = (uint8_t)v;
    return true;
}

/* Does `s` (n octets, lower-cased) end with `suffix`, found first at that place? */
static bool pdns_suffix(const uint8_t *s, size_t n, const char *suffix, size_t *at)
{
    size_t k = strlen(suffix);

    /* ipfixprobe looks for the first occurrence and wants it at the end. */
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, suffix, k) == 0) {
            *at = i;
            return i + k == n;
        }
    return false;
}

/* The address a reverse-lookup owner name spells; false when it spells none. */
static bool pdns_reverse(uint8_t *s, size_t n, uint8_t ip[16])
{
    size_t at, start = 0, cnt = 0;

    if (n && s[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (uint8_t)(s[i] - 'A' + 'a');
    memset(ip, 0, 16);

    if (pdns_suffix(s, n, ".in-addr.arpa", &at)) {
        /* RFC 1035 3.5: d.c.b.a.in-addr.arpa for a.b.c.d */
        ip[10] = ip[11] = 0xFF;
        for (size_t i = 0; i <= at; i++) {
            if (i < at && s[i] != '.')
                continue;
            if (cnt > 3 || !pdns_num(s + start, i - start, 0, 255, &ip[15 - cnt]))
                return false;
            cnt++;
            start = i + 1;
        }
        return cnt == 4;
    }
    if (pdns_suffix(s, n, ".ip6.arpa", &at)) {
        /* RFC 3596 2.5: 32 nibbles, least significant first */
        uint8_t nib[32];
        for (size_t i = 0; i <= at; i++) {
            if (i < at && s[i] != '.')
                continue;
            if (cnt > 31 || !pdns_num(s + start, i - start, 16, 15, &nib[31 - cnt]))
                return false;
            cnt++;
            start = i + 1;
        }
        if (cnt != 32)
            return false;
        for (int i = 0; i < 16; i++)
            ip[i] = (uint8_t)(nib[2 * i] << 4 | nib[2 * i + 1]);
        return true;
    }
    return false;
}

/* Fill the records from one response; returns how many. */
static uint8_t pdns_parse(pdns_record_t *recs, const uint8_t *payload, size_t len, bool tcp)
{
    fk_dns_msg_t m;
    fk_dns_hdr_t h;
    uint32_t off = FK_DNS_HDR_LEN;
    uint8_t n = 0;

    if (fk_dns_open(&m, &h, payload, len, tcp) != FK_DNS_OK)
        return 0;
    for (unsigned i = 0; i < h.qdcount; i++) {
        fk_dns_q_t q;
        if (fk_dns_question(&m, off, &q) != FK_DNS_OK)
            return 0;
        off = q.next;
    }
    for (unsigned i = 0; i < h.ancount && n < PDNS_MAX_RECORDS; i++) {
        uint8_t owner[PDNS_OWNER_TMP];
        size_t olen;
        fk_dns_rr_t rr;

        if (fk_dns_name(&m, off, owner, sizeof(owner), &olen) != FK_DNS_OK ||
            fk_dns_rr(&m, off, &rr) != FK_DNS_OK)
            return n;
        off = rr.next;

        pdns_record_t *r = &recs[n];
        memset(r, 0, sizeof(*r));
        r->id = h.id;
        r->rr_ttl = rr.ttl;
        r->atype = rr.type;
        fk_cursor_t c = fk_dns_cur(&m, rr.rdata_off);
        if (rr.type == FK_DNS_A || rr.type == FK_DNS_AAAA) {
            bool v4 = rr.type == FK_DNS_A;
            /* Read from the message, as ipfixprobe reads past a short RDLENGTH. */
            if (v4) {
                r->ip[10] = r->ip[11] = 0xFF;
                if (!fk_cur_copy(&c, r->ip + 12, 4))
                    return n;
            } else if (!fk_cur_copy(&c, r->ip, 16)) {
                return n;
            }
            size_t k = olen < PDNS_NAME_CAP - 1 ? olen : PDNS_NAME_CAP - 1;
            memcpy(r->name, owner, k);
            r->name[k] = '\0';
            n++;
        } else if (rr.type == FK_DNS_PTR) {
            size_t k;
            if (fk_dns_name(&m, rr.rdata_off, (uint8_t *)r->name, PDNS_NAME_CAP - 1, &k) !=
                FK_DNS_OK)
                return n;
            r->name[k] = '\0';
            if (pdns_reverse(owner, olen, r->ip))
                n++;
        }
    }
    return n;
}

/* Both hooks: a response ends the flow, with or without records. */
static int pdns_packet(pdns_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    pdns_record_t *recs;

    if (pkt->src_port != FK_DNS_PORT)
        return FP_HOOK_OK;
    if ((recs = fp_plugin_body(hp, s)) != NULL)
        s->n = pdns_parse(recs, pkt->payload, pkt->payload_len, pkt->ip_proto == IPPROTO_TCP);
    return FP_HOOK_FLUSH;
}

static int pdns_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    return pdns_packet(state, hp);
}

static int pdns_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    return pdns_packet(state, hp);
}

static unsigned pdns_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const pdns_state_t *)state)->n;
}

static const void *pdns_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    const pdns_state_t *s = state;

    (void)ctx;
    (void)flow;
    return &((const pdns_record_t *)s->body)[i < PDNS_MAX_RECORDS ? i : 0];
}

const fp_plugin_t fp_plugin_passivedns = {
    .abi = FP_PLUGIN_ABI,
    .name = "passivedns",
    .summary = "A, AAAA and PTR answers of DNS responses (port 53): one record per answer",
    .fields = pdns_fields,
    .nfields = sizeof(pdns_fields) / sizeof(pdns_fields[0]),
    .record_size = sizeof(pdns_record_t),
    .state_size = sizeof(pdns_state_t),
    .body_size = PDNS_MAX_RECORDS * sizeof(pdns_record_t),
    .post_create = pdns_post_create,
    .post_update = pdns_post_update,
    .records = pdns_records,
    .record = pdns_record,
};
