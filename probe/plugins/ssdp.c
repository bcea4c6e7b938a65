/*
 * ssdp.c - ipfixprobe's "ssdp" plugin: UPnP discovery messages (SSDP, UDP
 * port 1900; UPnP Device Architecture 2.0 section 1, HTTP-style header lines
 * as in RFC 9112 section 5).
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on ssdp.pcap):
 *   - a flow carries a record when the packet that creates it is sent to
 *     port 1900, even if nothing in it parses; later packets sent to port
 *     1900 (either direction) add to that record.  Nothing is ever flushed.
 *   - The first payload byte alone picks the message: 'N' is read as a
 *     NOTIFY (headers NT, LOCATION, SERVER), 'M' as an M-SEARCH (ST,
 *     USER-AGENT); anything else is ignored.
 *   - A header line ends at CRLF; the scan stops at a NUL byte.  A header
 *     matches when its name (any case) is followed at once by ':'; blanks
 *     after the ':' are skipped.  The value runs to the LF, so it keeps its
 *     CR: ipfixprobe exports "value\r;" and the NEMEA logger drops the CR
 *     (our CSV output drops non-printables the same way; JSON shows it).
 *   - NT and ST values count only when they start with "urn:"; what follows
 *     is appended.  SERVER and USER-AGENT values are appended whole.
 *     Appending adds "value;" unless the list would then reach its size
 *     (511 for NT/ST, 255 for SERVER/USER-AGENT, NUL included) or the value
 *     is already found in the list (a plain substring search: a value that
 *     occurs inside a longer one counts as present).
 *   - LOCATION gives SSDP_LOCATION_PORT, the last non-zero one wins.  The
 *     port is found from the first '.' of the value (first ']' in an IPv6
 *     flow): the next ':' within the value's length counted from there, then
 *     the number after it as strtol(s, NULL, 0) reads it (blanks, sign,
 *     0x/0 prefixes, saturation), cut to 16 bits.  That search may run past
 *     the end of the line into the next header lines, as ipfixprobe's does.
 *
 * Differences from ipfixprobe, where it reads out of bounds: every scan here
 * stops at the end of the captured payload (ipfixprobe looks one byte past
 * it, and its LOCATION search and number parse are unbounded); a value of
 * blanks only, which makes ipfixprobe compute a negative length, is
 * ignored; a packet to port 1900 on a flow that has no record (created by a
 * packet to another port) is ignored where ipfixprobe dereferences a null
 * record.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"

#define SSDP_PORT       1900
#define SSDP_URN_CAP    511 /* NT and ST lists, NUL included */
#define SSDP_SERVER_CAP 255
#define SSDP_AGENT_CAP  255

typedef struct ssdp_record_st {
    uint16_t port; /* SSDP_LOCATION_PORT */
    char nt[SSDP_URN_CAP];
    char st[SSDP_URN_CAP];
    char server[SSDP_SERVER_CAP];
    char user_agent[SSDP_AGENT_CAP];
} ssdp_record_t;

/*
 * Zeroed when a flow is created.  The record is a body (plugin.h), taken
 * and cleared when a flow starts to carry it (its first packet goes to
 * port 1900): the many flows that never do neither carry nor clear its
 * 1.5 kB.
 */
typedef struct ssdp_state_st {
    void *body;      /* the ssdp_record_t, once `active` */
    uint8_t active;  /* the flow carries a record */
    uint16_t nt_len; /* strlen of each list, kept to avoid rescans */
    uint16_t st_len;
    uint16_t server_len;
    uint16_t agent_len;
} ssdp_state_t;

static const fk_field_t ssdp_fields[] = {
    FK_U16(ssdp_record_t, port, "SSDP_LOCATION_PORT", "ssdp_location_port", 8057, 821, 0),
    FK_STR(ssdp_record_t, nt, "SSDP_NT", "ssdp_nt", 8057, 824, 0),
    FK_STR(ssdp_record_t, user_agent, "SSDP_USER_AGENT", "ssdp_user_agent", 8057, 823, 0),
    FK_STR(ssdp_record_t, st, "SSDP_ST", "ssdp_st", 8057, 825, 0),
    FK_STR(ssdp_record_t, server, "SSDP_SERVER", "ssdp_server", 8057, 822, 0),
};

enum { SSDP_H_NT, SSDP_H_LOCATION, SSDP_H_SERVER, SSDP_H_ST, SSDP_H_AGENT };

typedef struct ssdp_header_st {
    const char *name;
    uint8_t len;
    uint8_t id;
} ssdp_header_t;

#define SSDP_HDR(s, id)      \
    {                        \
        s, sizeof(s) - 1, id \
    }

/* The headers each message kind looks for, in ipfixprobe's order. */
static const ssdp_header_t ssdp_notify_hdrs[] = {
    SSDP_HDR("nt", SSDP_H_NT),
    SSDP_HDR("location", SSDP_H_LOCATION),
    SSDP_HDR("server", SSDP_H_SERVER),
};
static const ssdp_header_t ssdp_search_hdrs[] = {
    SSDP_HDR("st", SSDP_H_ST),
    SSDP_HDR("user-agent", SSDP_H_AGENT),
};

/* C-locale isspace(). */
static bool ssdp_blank(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static uint8_t ssdp_lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/*
 * The payload p[0 .. n).  The functions below take one header line of it as
 * p[from .. lf), where p[lf] is the LF of the line's CRLF.
 */
typedef struct ssdp_text_st {
    const uint8_t *p;
    size_t n;
} ssdp_text_t;

/*
 * If p[*at ..] starts with `name` (any case) and ':' within the line, move
 * *at past the ':' and the blanks after it and return true.  Returns false
 * (also) when only blanks are left on the line: ipfixprobe skips them into
 * the next line and ends with a negative value length, which adds nothing.
 */
static bool ssdp_header(const ssdp_text_t *t, size_t *at, size_t lf, const char *name, size_t len)
{
    size_t i = *at;

    if (lf - i <= len)
        return false;
    for (size_t k = 0; k < len; k++)
        if (ssdp_lower(t->p[i + k]) != (uint8_t)name[k])
            return false;
    if (t->p[i + len] != ':')
        return false;
    i += len + 1;
    while (i < lf && ssdp_blank(t->p[i]))
        i++;
    *at = i;
    return i < lf;
}

/* Append "v;" to the list (see the top comment for when it is not). */
static void ssdp_append(char *list, uint16_t *len, size_t cap, const uint8_t *v, size_t vlen)
{
    size_t l = *len;

    if (l + vlen + 1 >= cap)
        return;
    /* ipfixprobe's search stops one position short of the end of the list. */
    for (size_t i = 0; l > vlen && i < l - vlen; i++)
        if (memcmp(list + i, v, vlen) == 0)
            return;
    memcpy(list + l, v, vlen);
    list[l + vlen] = ';';
    list[l + vlen + 1] = 0;
    *len = (uint16_t)(l + vlen + 1);
}

static int ssdp_digit(uint8_t c, unsigned base)
{
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'z' ? c - 'a' + 10
            : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                   : 99;
    return d < (int)base ? d : -1;
}

/*
 * strtol(p + i, &end, 0) cut to 16 bits, reading nothing at or after p[n]:
 * returns false when no digit was read (end == start).
 */
static bool ssdp_strtol16(const uint8_t *p, size_t i, size_t n, uint16_t *out)
{
    const uint64_t lmax = (uint64_t)INT64_MAX; /* LONG_MAX on LP64, as ipfixprobe runs */
    unsigned base = 10;
    bool neg = false, over = false, any = false;
    uint64_t v = 0;

    while (i < n && ssdp_blank(p[i]))
        i++;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        neg = p[i++] == '-';
    if (i < n && p[i] == '0') {
        base = 8;
        any = true; /* the '0' itself is a digit */
        i++;
        if (i + 1 < n && (p[i] | 0x20) == 'x' && ssdp_digit(p[i + 1], 16) >= 0) {
            base = 16;
            i++;
        }
    }
    for (int d; i < n && (d = ssdp_digit(p[i], base)) >= 0; i++) {
        any = true;
        if (v > (lmax + 1 - (uint64_t)d) / base)
            over = true;
        else
            v = v * base + (uint64_t)d;
    }
    if (!any)
        return false;
    if (over || v > lmax + neg)
        v = neg ? lmax + 1 : lmax; /* ERANGE: LONG_MIN or LONG_MAX */
    *out = (uint16_t)(neg ? 0 - v : v);
    return true;
}

/* SSDP_LOCATION_PORT from the LOCATION value p[v .. lf); 0 when none. */
static uint16_t ssdp_location_port(const ssdp_text_t *t, size_t v, size_t lf, uint8_t ipver)
{
    const uint8_t *mark = memchr(t->p + v, ipver == 6 ? ']' : '.', lf - v);
    uint16_t port = 0;

    if (!mark)
        return 0;
    /* ipfixprobe searches the value's length from the mark, not to the line's end. */
    size_t from = (size_t)(mark - t->p), span = lf - v;
    if (span > t->n - from)
        span = t->n - from;
    const uint8_t *colon = memchr(mark, ':', span);
    if (!colon || !ssdp_strtol16(t->p, (size_t)(colon - t->p) + 1, t->n, &port))
        return 0;
    return port;
}

/* One header line p[from .. lf) of a message looking for `hdrs`. */
static void ssdp_line(ssdp_state_t *s, const ssdp_text_t *t, size_t from, size_t lf,
                      const ssdp_header_t *hdrs, size_t nhdrs, uint8_t ipver)
{
    ssdp_record_t *r = s->body;
    size_t v = from;

    for (size_t h = 0; h < nhdrs; h++) {
        if (!ssdp_header(t, &v, lf, hdrs[h].name, hdrs[h].len)) {
            if (v != from)
                return; /* the name matched but the value is blank */
            continue;
        }
        switch (hdrs[h].id) {
        case SSDP_H_NT:
            if (ssdp_header(t, &v, lf, "urn", 3))
                ssdp_append(r->nt, &s->nt_len, sizeof(r->nt), t->p + v, lf - v);
            break;
        case SSDP_H_ST:
            if (ssdp_header(t, &v, lf, "urn", 3))
                ssdp_append(r->st, &s->st_len, sizeof(r->st), t->p + v, lf - v);
            break;
        case SSDP_H_LOCATION: {
            uint16_t port = ssdp_location_port(t, v, lf, ipver);
            if (port)
                r->port = port;
            break;
        }
        case SSDP_H_SERVER:
            ssdp_append(r->server, &s->server_len, sizeof(r->server), t->p + v, lf - v);
            break;
        default:
            ssdp_append(r->user_agent, &s->agent_len, sizeof(r->user_agent), t->p + v, lf - v);
            break;
        }
        return;
    }
}

/* Parse one message sent to port 1900 into the flow's record. */
static void ssdp_parse(ssdp_state_t *s, const uint8_t *p, size_t n, uint8_t ipver)
{
    const ssdp_header_t *hdrs;
    size_t nhdrs, from = 0;
    ssdp_text_t t = {p, n};

    if (!p || n == 0)
        return;
    if (p[0] == 'N') {
        hdrs = ssdp_notify_hdrs;
        nhdrs = sizeof(ssdp_notify_hdrs) / sizeof(ssdp_notify_hdrs[0]);
    } else if (p[0] == 'M') {
        hdrs = ssdp_search_hdrs;
        nhdrs = sizeof(ssdp_search_hdrs) / sizeof(ssdp_search_hdrs[0]);
    } else {
        return;
    }
    /* p[0] is a letter, so a line can only end at i >= 1. */
    for (size_t i = 1; i < n && p[i] != 0; i++) {
        if (p[i] == '\n' && p[i - 1] == '\r') {
            ssdp_line(s, &t, from, i, hdrs, nhdrs, ipver);
            from = i + 1;
        }
    }
}

static int ssdp_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    ssdp_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)ctx;
    if (pkt->dst_port != SSDP_PORT)
        return FP_HOOK_OK;
    if (!fp_plugin_record(hp, s, ssdp_fields, sizeof(ssdp_fields) / sizeof(ssdp_fields[0])))
        return FP_HOOK_OK;
    s->active = 1;
    ssdp_parse(s, pkt->payload, pkt->payload_len, flow->ip_version);
    return FP_HOOK_OK;
}

static int ssdp_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    ssdp_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)ctx;
    if (s->active && pkt->dst_port == SSDP_PORT)
        ssdp_parse(s, pkt->payload, pkt->payload_len, flow->ip_version);
    return FP_HOOK_OK;
}

static unsigned ssdp_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const ssdp_state_t *)state)->active ? 1 : 0;
}

static const void *ssdp_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return ((const ssdp_state_t *)state)->body;
}

const fp_plugin_t fp_plugin_ssdp = {
    .abi = FP_PLUGIN_ABI,
    .name = "ssdp",
    .summary = "SSDP (UDP 1900) NOTIFY/M-SEARCH: location port, NT, ST, server, user agent lists",
    .fields = ssdp_fields,
    .nfields = sizeof(ssdp_fields) / sizeof(ssdp_fields[0]),
    .record_size = sizeof(ssdp_record_t),
    .state_size = sizeof(ssdp_state_t),
    .body_size = sizeof(ssdp_record_t),
    .post_create = ssdp_post_create,
    .pre_update = ssdp_pre_update,
    .records = ssdp_records,
    .record = ssdp_record,
};
