/*
 * writer.c - building IPFIX messages (RFC 7011 3).
 */
#include <string.h>

#include "ipfix.h"

void fk_ipfix_msg_begin(fk_ipfix_msg_t *m, uint8_t *buf, size_t cap, uint32_t odid,
                        uint32_t export_time)
{
    m->buf = buf;
    m->cap = cap > FK_IPFIX_MAX_MSG ? FK_IPFIX_MAX_MSG : cap;
    m->len = FK_IPFIX_HDR_LEN;
    m->set_start = 0;
    m->set_id = 0;
    m->records = 0;
    fk_ipfix_be16(buf, FK_IPFIX_VERSION);
    fk_ipfix_be16(buf + 2, FK_IPFIX_HDR_LEN);
    fk_ipfix_be32(buf + 4, export_time);
    fk_ipfix_be32(buf + 8, 0);
    fk_ipfix_be32(buf + 12, odid);
}

static void close_set(fk_ipfix_msg_t *m)
{
    if (!m->set_start)
        return;
    if (m->len - m->set_start == FK_IPFIX_SET_HDR_LEN) {
        m->len = m->set_start; /* an empty set is dropped, not sent */
    } else {
        fk_ipfix_be16(m->buf + m->set_start + 2, (uint16_t)(m->len - m->set_start));
    }
    m->set_start = 0;
    m->set_id = 0;
}

bool fk_ipfix_msg_set(fk_ipfix_msg_t *m, uint16_t set_id)
{
    if (m->set_start && m->set_id == set_id)
        return true;
    close_set(m);
    if (m->cap - m->len < FK_IPFIX_SET_HDR_LEN)
        return false;
    m->set_start = m->len;
    m->set_id = set_id;
    fk_ipfix_be16(m->buf + m->len, set_id);
    fk_ipfix_be16(m->buf + m->len + 2, 0);
    m->len += FK_IPFIX_SET_HDR_LEN;
    return true;
}

uint8_t *fk_ipfix_msg_room(fk_ipfix_msg_t *m, size_t n)
{
    if (!m->set_start || m->cap - m->len < n)
        return NULL;
    return m->buf + m->len;
}

size_t fk_ipfix_msg_end(fk_ipfix_msg_t *m)
{
    close_set(m);
    fk_ipfix_be16(m->buf + 2, (uint16_t)m->len);
    return m->len;
}

void fk_ipfix_msg_set_seq(uint8_t *msg, uint32_t seq)
{
    fk_ipfix_be32(msg + 8, seq);
}

size_t fk_ipfix_template_size(const fk_ipfix_ie_t *ie, size_t n)
{
    size_t sz = 4;
    for (size_t i = 0; i < n; i++)
        sz += ie[i].pen ? 8 : 4;
    return sz;
}

bool fk_ipfix_put_template(fk_ipfix_msg_t *m, uint16_t id, const fk_ipfix_ie_t *ie, size_t n)
{
    size_t sz = fk_ipfix_template_size(ie, n);
    uint8_t *p = fk_ipfix_msg_room(m, sz);

    if (!p || m->set_id != FK_IPFIX_SET_TEMPLATE || n > 0xffff)
        return false;
    fk_ipfix_be16(p, id);
    fk_ipfix_be16(p + 2, (uint16_t)n);
    p += 4;
    for (size_t i = 0; i < n; i++) {
        fk_ipfix_be16(p, (uint16_t)(ie[i].id | (ie[i].pen ? 0x8000 : 0)));
        fk_ipfix_be16(p + 2, ie[i].len);
        p += 4;
        if (ie[i].pen) {
            fk_ipfix_be32(p, ie[i].pen);
            p += 4;
        }
    }
    m->len += sz;
    return true;
}

size_t fk_ipfix_put_basiclist(uint8_t *p, uint32_t pen, uint16_t id, uint16_t elen, size_t count)
{
    size_t body = (pen ? 9 : 5) + count * elen; /* semantic, field id, length, [EN], elements */
    p[0] = 255;
    fk_ipfix_be16(p + 1, (uint16_t)body);
    p[3] = FK_IPFIX_SEM_ALLOF;
    fk_ipfix_be16(p + 4, (uint16_t)(id | (pen ? 0x8000 : 0)));
    fk_ipfix_be16(p + 6, elen);
    if (pen) {
        fk_ipfix_be32(p + 8, pen);
        return 12;
    }
    return 8;
}

/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
#define NTP_UNIX_OFFSET 2208988800ULL

uint64_t fk_ipfix_ntp_from_ns(uint64_t ns)
{
    uint64_t sec = ns / 1000000000ULL + NTP_UNIX_OFFSET;
    uint64_t sub = ns % 1000000000ULL;
    /* ceil(sub * 2^32 / 1e9): the fraction decodes back to sub, not sub - 1. */
    uint64_t frac = ((sub << 32) + 999999999ULL) / 1000000000ULL;
    return (sec << 32) | (frac & 0xffffffffULL);
}

uint64_t fk_ipfix_ns_from_ntp(uint64_t ntp)
{
    uint64_t sec = ntp >> 32;
    uint64_t frac = ntp & 0xffffffffULL;
    uint64_t unix_s = sec >= NTP_UNIX_OFFSET ? sec - NTP_UNIX_OFFSET : 0;
    return unix_s * 1000000000ULL + ((frac * 1000000000ULL) >> 32);
}
