/*
 * dns.c - the DNS wire-format reader (see dns.h for the contract).
 *
 * Where ipfixprobe reads past the message (a pointer or label at the last
 * octet, a pointer to the very end), it reads whatever follows in memory;
 * here those cases are FK_DNS_EBADNAME.  ipfixprobe ends up abandoning the
 * message in all of them anyway, because the name's skip that follows fails.
 */
#include "dns.h"

#include <string.h>

#include "../../lib/core/copy.h"

int fk_dns_open(fk_dns_msg_t *m, fk_dns_hdr_t *h, const uint8_t *payload, size_t len, bool tcp)
{
    fk_cursor_t c;

    if (!payload)
        return FK_DNS_ENOTMSG; /* no payload captured */
    c = fk_cur_make(payload, len);
    if (tcp) {
        uint16_t plen;
        /* RFC 1035 4.2.2: two-octet length, then the message. */
        if (!fk_cur_be16(&c, &plen) || plen != fk_cur_left(&c))
            return FK_DNS_ENOTMSG;
    }
    if (!fk_cur_has(&c, FK_DNS_HDR_LEN) || fk_cur_left(&c) > UINT32_MAX)
        return FK_DNS_ENOTMSG;
    m->p = c.p;
    m->len = (uint32_t)fk_cur_left(&c);
    fk_cur_be16(&c, &h->id);
    fk_cur_be16(&c, &h->flags);
    fk_cur_be16(&c, &h->qdcount);
    fk_cur_be16(&c, &h->ancount);
    fk_cur_be16(&c, &h->nscount);
    fk_cur_be16(&c, &h->arcount);
    return FK_DNS_OK;
}

int fk_dns_name(const fk_dns_msg_t *m, uint32_t off, uint8_t *out, size_t cap, size_t *len)
{
    uint32_t pos = off;
    unsigned hops = 0;
    size_t n = 0;

    *len = 0;
    for (;;) {
        if (pos >= m->len)
            return FK_DNS_EBADNAME;
        uint8_t b = m->p[pos];
        if (b == 0)
            break;
        if ((b & 0xC0) == 0xC0) {
            /* RFC 1035 4.1.4: 14-bit offset from the start of the message. */
            if (pos + 1 >= m->len || hops++ >= FK_DNS_MAX_HOPS)
                return FK_DNS_EBADNAME;
            pos = (uint32_t)(b & 0x3F) << 8 | m->p[pos + 1];
            continue;
        }
        /* 0x40 and 0x80 prefixes (RFC 6891 6.1.4 extended labels) are rejected
         * by the 63-octet rule.  The label and the octet after it must be in
         * the message. */
        if (hops++ >= FK_DNS_MAX_HOPS || b > FK_DNS_LABEL_MAX || (size_t)pos + b + 2 > m->len)
            return FK_DNS_EBADNAME;
        if (n > 0 && n < cap)
            out[n] = '.';
        if (n > 0)
            n++;
        if (n + b <= cap) { /* the label fits: one copy (most names) */
            fk_copy_short(out + n, m->p + pos + 1, b);
            n += b;
        } else {
            for (unsigned i = 0; i < b; i++, n++)
                if (n < cap)
                    out[n] = m->p[pos + 1 + i];
        }
        pos += (uint32_t)b + 1;
    }
    *len = n < cap ? n : cap;
    return FK_DNS_OK;
}

int fk_dns_name_skip(const fk_dns_msg_t *m, uint32_t off, uint32_t *next)
{
    uint32_t pos = off;

    /* pos grows by at least 1 per step and stays below len + 64: no loop, no wrap. */
    for (;;) {
        if (pos >= m->len)
            return FK_DNS_EBADNAME;
        uint8_t b = m->p[pos];
        if (b == 0) {
            *next = pos + 1;
            return FK_DNS_OK;
        }
        if ((b & 0xC0) == 0xC0) {
            *next = pos + 2;
            return FK_DNS_OK;
        }
        pos += (uint32_t)b + 1;
    }
}

int fk_dns_question(const fk_dns_msg_t *m, uint32_t off, fk_dns_q_t *q)
{
    uint32_t at;
    int rc = fk_dns_name_skip(m, off, &at);

    if (rc != FK_DNS_OK)
        return rc;
    if ((uint64_t)at + 4 > m->len)
        return FK_DNS_ESHORT;
    q->name_off = off;
    q->qtype = fk_load_be16(m->p + at);
    q->qclass = fk_load_be16(m->p + at + 2);
    q->next = at + 4;
    return FK_DNS_OK;
}

int fk_dns_rr(const fk_dns_msg_t *m, uint32_t off, fk_dns_rr_t *rr)
{
    uint32_t at;
    int rc = fk_dns_name_skip(m, off, &at);

    if (rc != FK_DNS_OK)
        return rc;
    if ((uint64_t)at + 10 > m->len)
        return FK_DNS_ESHORT;
    rr->name_off = off;
    rr->type = fk_load_be16(m->p + at);
    rr->rclass = fk_load_be16(m->p + at + 2);
    rr->ttl = fk_load_be32(m->p + at + 4);
    rr->rdlength = fk_load_be16(m->p + at + 8);
    if ((uint64_t)at + 10 + rr->rdlength > m->len)
        return FK_DNS_ESHORT; /* RDLENGTH lies */
    rr->rdata_off = at + 10;
    rr->next = rr->rdata_off + rr->rdlength;
    return FK_DNS_OK;
}
