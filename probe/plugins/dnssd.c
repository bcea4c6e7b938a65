/*
 * dnssd.c - ipfixprobe's "dnssd" plugin: DNS-based service discovery over
 * multicast DNS (RFC 6762, RFC 6763) on port 5353.
 *
 * DNSSD_QUERIES lists the names asked for ("name;" each) and DNSSD_RESPONSES
 * the services advertised ("name;port;target;cpu:os;txt;" each), collected
 * over the whole flow.  Semantics follow ipfixprobe 5.7.0 (its conformance
 * case on dnssd.pcap):
 *   - packets with either port 5353 are read (over TCP only a message whose
 *     2-octet length prefix equals the rest of the segment); the flow is
 *     never ended by the plugin;
 *   - queries: every question name, once, unless it contains "arpa";
 *   - responses: SRV (port, target), HINFO (cpu:os) and TXT records of the
 *     answer and additional sections of responses (QR set) and of the
 *     authority section of every message, merged by owner name, unless the
 *     name contains "arpa".  A name first seen in a TXT record shows port -1;
 *   - TXT data is kept only with the `txt` option: all strings, each followed
 *     by ':'; a TXT of a name seen before is appended (when not already a
 *     substring of what is kept) followed by one more ':' (ipfixprobe's
 *     quirk, kept);
 *   - a message whose names cannot be read adds nothing when it is the
 *     flow's first readable one; otherwise what it added before the damage
 *     stays (ipfixprobe adds to the record as it goes).  A section that runs
 *     past the end stops parsing and keeps what was read;
 *   - ipfixprobe's quirk kept: after an OPT record in the additional section
 *     the next record is looked for 10 octets too early (its fixed part is
 *     not skipped), which usually makes the rest of the message unreadable;
 *   - where ipfixprobe reads HINFO strings past the end of the message it
 *     reads stray memory; flowprobe treats the message as unreadable;
 *   - deliberate difference: with `txt=FILE` ipfixprobe loads the whitelist
 *     but still keeps every TXT string (its option also sets "all"); flowprobe
 *     applies the whitelist as its help describes: only services listed in
 *     the file, and of them only the listed keys (the text before '=').
 *   - the state has a fixed size: names are kept to 255 octets, at most
 *     DNSSD_MAX_RESP services and DNSSD_QBUF octets of queries; what does not
 *     fit is dropped, and the output strings hold whole entries only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"
#include "../proto/dns.h"

#define DNSSD_PORT     5353
#define DNSSD_NAME_MAX 255  /* octets kept of a name */
#define DNSSD_NAME_TMP 1024 /* a decoded name before it is cut */
#define DNSSD_TXT_TMP  1024 /* one TXT record's kept strings */
#define DNSSD_QBUF     512  /* queries: [len octet][name] ... */
#define DNSSD_MAX_RESP 16
#define DNSSD_ARENA    1536 /* response strings */
#define DNSSD_QOUT     512
#define DNSSD_ROUT     2048

/* Whitelist file limits: beyond these the file is refused, not cut. */
#define DNSSD_WL_LINE  1024
#define DNSSD_WL_LINES 256

typedef struct dnssd_str_st {
    uint16_t off; /* in the arena */
    uint16_t len;
} dnssd_str_t;

typedef struct dnssd_resp_st {
    dnssd_str_t name, target, cpu, os, txt;
    int32_t port; /* -1 until an SRV record gives one */
} dnssd_resp_t;

/*
 * What a flow has collected so far.  The three counts come first: they are
 * set when the flow takes its body, and nothing past them is read beyond
 * what they count, so the rest of the 2.5 kB may hold an earlier flow's
 * leftovers.
 */
typedef struct dnssd_work_st {
    uint16_t qlen;  /* bytes used in q */
    uint16_t alen;  /* bytes used in arena */
    uint16_t nresp; /* entries used in resp */
    uint8_t q[DNSSD_QBUF];
    dnssd_resp_t resp[DNSSD_MAX_RESP];
    uint8_t arena[DNSSD_ARENA];
} dnssd_work_t;

/* What the outputs read: rendered by pre_export over the work area. */
typedef struct dnssd_record_st {
    char queries[DNSSD_QOUT];
    char responses[DNSSD_ROUT];
} dnssd_record_t;

/*
 * The work area and then the record are a body (plugin.h), taken by the
 * flow's first packet to or from port 5353: the many flows that never
 * carry one neither carry nor touch its 2.5 kB.  pre_export writes the
 * whole record over the work area, so the record never shows leftovers
 * either.
 */
typedef union dnssd_body_un {
    dnssd_work_t w;   /* until pre_export */
    dnssd_record_t r; /* after it */
} dnssd_body_t;

/* Zeroed when a flow is created. */
typedef struct dnssd_state_st {
    void *body;  /* the dnssd_body_t; NULL: none yet */
    uint8_t has; /* a record is attached */
} dnssd_state_t;

/* One whitelist line: "service,key1,key2,...". */
typedef struct dnssd_wl_st {
    char *service;
    char **keys;
    size_t nkeys;
} dnssd_wl_t;

typedef struct dnssd_ctx_st {
    int txt;        /* the txt option was given */
    dnssd_wl_t *wl; /* whitelist lines; NULL = keep all TXT strings */
    size_t nwl;
    char *wl_text; /* the file's text all wl pointers point into */
} dnssd_ctx_t;

static const fk_optspec_t dnssd_opts[] = {
    {"t", "txt", "[FILE]",
     "keep TXT strings; FILE = whitelist, lines 'service.domain,key1,key2,...'"},
    {NULL, NULL, NULL, NULL},
};

static const fk_field_t dnssd_fields[] = {
    FK_STR(dnssd_record_t, queries, "DNSSD_QUERIES", "dnssd_queries", 8057, 826, 0),
    FK_STR(dnssd_record_t, responses, "DNSSD_RESPONSES", "dnssd_responses", 8057, 827, 0),
};

/* ------------------------------------------------------------ options */

static void dnssd_fini(void *ctx)
{
    dnssd_ctx_t *x = ctx;

    if (!x)
        return;
    for (size_t i = 0; i < x->nwl; i++)
        free(x->wl[i].keys);
    free(x->wl);
    free(x->wl_text);
    free(x);
}

/* Read the whole whitelist file into x->wl_text; -1 with a message. */
static int dnssd_wl_read(dnssd_ctx_t *x, const char *path, size_t *len, fk_err_t *e)
{
    FILE *f = fopen(path, "rb");
    size_t cap = (size_t)DNSSD_WL_LINE * DNSSD_WL_LINES + 1;
    size_t n;

    if (!f)
        return fk_errf(e, "txt: cannot open whitelist '%s': %s", path, strerror(errno));
    x->wl_text = malloc(cap + 1);
    if (!x->wl_text) {
        fclose(f);
        return fk_errf(e, "txt: out of memory");
    }
    n = fread(x->wl_text, 1, cap, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        return fk_errf(e, "txt: cannot read whitelist '%s'", path);
    if (n == cap)
        return fk_errf(e, "txt: whitelist '%s' is too big (at most %d lines of %d bytes)", path,
                       DNSSD_WL_LINES, DNSSD_WL_LINE);
    x->wl_text[n] = '\0';
    *len = n;
    return 0;
}

/*
 * Parse the whitelist: one service a line, then its TXT keys, comma
 * separated (ipfixprobe's format).  Empty lines are skipped and a CR before
 * the LF is dropped; a control octet, an empty service name, an over-long
 * line or too many lines make the file garbage.
 */
static int dnssd_wl_load(dnssd_ctx_t *x, const char *path, fk_err_t *e)
{
    size_t len = 0, line = 0;

    if (dnssd_wl_read(x, path, &len, e) < 0)
        return -1;
    x->wl = calloc(DNSSD_WL_LINES, sizeof(*x->wl));
    if (!x->wl)
        return fk_errf(e, "txt: out of memory");
    for (char *s = x->wl_text; s < x->wl_text + len;) {
        char *eol = memchr(s, '\n', (size_t)(x->wl_text + len - s));
        char *end = eol ? eol : x->wl_text + len;
        line++;
        if (end > s && end[-1] == '\r')
            end--;
        *end = '\0';
        if ((size_t)(end - s) > DNSSD_WL_LINE)
            return fk_errf(e, "txt: whitelist '%s' line %zu: longer than %d bytes", path, line,
                           DNSSD_WL_LINE);
        for (char *p = s; p < end; p++)
            if ((unsigned char)*p < 0x20 && *p != '\t')
                return fk_errf(
                    e, "txt: whitelist '%s' line %zu: control byte 0x%02x (not a text file?)", path,
                    line, (unsigned char)*p);
        if (end > s) {
            if (x->nwl == DNSSD_WL_LINES)
                return fk_errf(e, "txt: whitelist '%s': more than %d services", path,
                               DNSSD_WL_LINES);
            if (*s == ',')
                return fk_errf(e,
                               "txt: whitelist '%s' line %zu: expected 'service.domain,key,...', "
                               "found no service name",
                               path, line);
            dnssd_wl_t *w = &x->wl[x->nwl++];
            size_t commas = 0;
            for (char *p = s; p < end; p++)
                commas += *p == ',';
            w->keys = calloc(commas ? commas : 1, sizeof(char *));
            if (!w->keys)
                return fk_errf(e, "txt: out of memory");
            w->service = s;
            for (char *p = strchr(s, ','); p; p = strchr(p + 1, ',')) {
                *p = '\0';
                w->keys[w->nkeys++] = p + 1;
            }
        }
        s = eol ? eol + 1 : x->wl_text + len;
    }
    return 0;
}

static int dnssd_init(void **ctx, const fk_opts_t *opts, fk_err_t *e)
{
    dnssd_ctx_t *x = calloc(1, sizeof(*x));

    if (!x)
        return fk_errf(e, "out of memory");
    *ctx = x;
    for (size_t i = 0; opts && i < opts->n; i++) {
        /* txt's FILE is optional, which fk_opts_lookup cannot express. */
        if (fk_opts_match(dnssd_opts, opts->kv[i].key) < 0) {
            fk_opts_lookup(opts, i, dnssd_opts, "dnssd", e);
            goto fail;
        }
        x->txt = 1;
        if (opts->kv[i].value && opts->kv[i].value[0]) {
            if (x->wl_text) {
                fk_errf(e, "txt: only one whitelist file");
                goto fail;
            }
            if (dnssd_wl_load(x, opts->kv[i].value, e) < 0)
                goto fail;
        }
    }
    return 0;
fail:
    dnssd_fini(x);
    *ctx = NULL;
    return -1;
}

/* ------------------------------------------------------------ collecting */

static bool dnssd_has_arpa(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(s + i, "arpa", 4) == 0)
            return true;
    return false;
}

static bool dnssd_put(dnssd_work_t *w, const uint8_t *s, size_t n, dnssd_str_t *out)
{
    if (n > (size_t)(DNSSD_ARENA - w->alen))
        return false;
    memcpy(w->arena + w->alen, s, n);
    out->off = w->alen;
    out->len = (uint16_t)n;
    w->alen = (uint16_t)(w->alen + n);
    return true;
}

static bool dnssd_eq(const dnssd_work_t *w, dnssd_str_t a, const uint8_t *s, size_t n)
{
    return a.len == n && memcmp(w->arena + a.off, s, n) == 0;
}

/* A question name: added once, unless it contains "arpa". */
static void dnssd_add_query(dnssd_work_t *w, const uint8_t *name, size_t n)
{
    size_t at = 0;

    if (dnssd_has_arpa(name, n))
        return;
    if (n > DNSSD_NAME_MAX)
        n = DNSSD_NAME_MAX;
    while (at < w->qlen) {
        size_t k = w->q[at];
        if (k == n && memcmp(w->q + at + 1, name, n) == 0)
            return;
        at += 1 + k;
    }
    if (n + 1 > (size_t)(DNSSD_QBUF - w->qlen))
        return; /* full */
    w->q[w->qlen] = (uint8_t)n;
    memcpy(w->q + w->qlen + 1, name, n);
    w->qlen = (uint16_t)(w->qlen + 1 + n);
}

/* One RR's RDATA as ipfixprobe keeps it. */
typedef struct dnssd_rdata_st {
    int32_t port;
    size_t target_len, cpu_len, os_len, txt_len;
    uint8_t target[DNSSD_NAME_MAX];
    uint8_t cpu[255];
    uint8_t os[255];
    uint8_t txt[DNSSD_TXT_TMP];
} dnssd_rdata_t;

static void dnssd_txt_add(dnssd_rdata_t *rd, const uint8_t *s, size_t n)
{
    /* string + ':', whole or not at all */
    if (n + 1 > sizeof(rd->txt) - rd->txt_len)
        return;
    memcpy(rd->txt + rd->txt_len, s, n);
    rd->txt[rd->txt_len + n] = ':';
    rd->txt_len += n + 1;
}

/* The <Service>.<Domain> part of a service instance name (RFC 6763 4.1):
 * from the second '_' counted from the end; the whole name without two. */
static size_t dnssd_service(const uint8_t *name, size_t n)
{
    int seen = 0;

    for (size_t i = n; i-- > 0;)
        if (name[i] == '_' && ++seen == 2)
            return i;
    return 0;
}

static const dnssd_wl_t *dnssd_wl_find(const dnssd_ctx_t *x, const uint8_t *name, size_t n)
{
    size_t at = dnssd_service(name, n);

    for (size_t i = 0; i < x->nwl; i++) {
        size_t k = strlen(x->wl[i].service);
        if (k == n - at && memcmp(x->wl[i].service, name + at, k) == 0)
            return &x->wl[i];
    }
    return NULL;
}

static bool dnssd_key_ok(const dnssd_wl_t *w, const uint8_t *s, size_t n)
{
    const uint8_t *eq = memchr(s, '=', n);
    size_t k = eq ? (size_t)(eq - s) : n;

    for (size_t i = 0; i < w->nkeys; i++)
        if (strlen(w->keys[i]) == k && memcmp(w->keys[i], s, k) == 0)
            return true;
    return false;
}

/*
 * Read the RDATA ipfixprobe keeps for SRV, HINFO and TXT.  false when the
 * message must be treated as unreadable.
 */
static bool dnssd_rdata(const dnssd_ctx_t *x, const fk_dns_msg_t *m, const fk_dns_rr_t *rr,
                        const uint8_t *owner, size_t olen, dnssd_rdata_t *rd)
{
    fk_cursor_t c = fk_dns_cur(m, rr->rdata_off);

    rd->port = -1;
    rd->target_len = rd->cpu_len = rd->os_len = rd->txt_len = 0;
    switch (rr->type) {
    case FK_DNS_SRV: {
        /* RFC 2782: PRIORITY WEIGHT PORT TARGET */
        uint16_t port;
        if (fk_dns_name(m, rr->rdata_off + 6, rd->target, sizeof(rd->target), &rd->target_len) !=
            FK_DNS_OK)
            return false;
        fk_cur_skip(&c, 4);
        fk_cur_be16(&c, &port); /* before the target, which was readable */
        rd->port = port;
        return true;
    }
    case FK_DNS_HINFO: {
        /* RFC 1035 3.3.2: two <character-string>s, CPU and OS */
        uint8_t n;
        if (!fk_cur_u8(&c, &n) || !fk_cur_copy(&c, rd->cpu, n))
            return false;
        rd->cpu_len = n;
        if (!fk_cur_u8(&c, &n) || !fk_cur_copy(&c, rd->os, n))
            return false;
        rd->os_len = n;
        return true;
    }
    case FK_DNS_TXT: {
        /* RFC 6763 6: <character-string>s "key=value", each whole in RDATA. */
        const dnssd_wl_t *w = NULL;
        size_t used = 0;
        uint8_t slen;
        if (!x->txt)
            return true;
        if (x->wl && !(w = dnssd_wl_find(x, owner, olen)))
            return true;
        while (rr->rdlength && fk_cur_peek_u8(&c, 0, &slen) && used + slen + 1u <= rr->rdlength) {
            if (!w || dnssd_key_ok(w, c.p + 1, slen))
                dnssd_txt_add(rd, c.p + 1, slen);
            used += slen + 1u;
            fk_cur_skip(&c, slen + 1u);
        }
        return true;
    }
    default:
        return true;
    }
}

static bool dnssd_contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    return false;
}

/* Merge one SRV/HINFO/TXT record into the service list. */
static void dnssd_add_resp(dnssd_work_t *w, const uint8_t *name, size_t n, uint16_t type,
                           const dnssd_rdata_t *rd)
{
    dnssd_resp_t *r = NULL;

    if ((type != FK_DNS_SRV && type != FK_DNS_HINFO && type != FK_DNS_TXT) ||
        dnssd_has_arpa(name, n))
        return;
    if (n > DNSSD_NAME_MAX)
        n = DNSSD_NAME_MAX;
    for (uint16_t i = 0; i < w->nresp; i++)
        if (dnssd_eq(w, w->resp[i].name, name, n)) {
            r = &w->resp[i];
            break;
        }
    if (r) {
        dnssd_str_t a, b;
        switch (type) {
        case FK_DNS_SRV:
            if (dnssd_put(w, rd->target, rd->target_len, &a)) {
                r->port = rd->port;
                r->target = a;
            }
            break;
        case FK_DNS_HINFO:
            if (dnssd_put(w, rd->cpu, rd->cpu_len, &a) && dnssd_put(w, rd->os, rd->os_len, &b)) {
                r->cpu = a;
                r->os = b;
            }
            break;
        default: /* TXT: old + new + ':' (ipfixprobe's extra ':') */
            if (rd->txt_len &&
                !dnssd_contains(w->arena + r->txt.off, r->txt.len, rd->txt, rd->txt_len) &&
                (size_t)r->txt.len + rd->txt_len + 1 <= (size_t)(DNSSD_ARENA - w->alen)) {
                uint16_t at = w->alen;
                memcpy(w->arena + at, w->arena + r->txt.off, r->txt.len);
                memcpy(w->arena + at + r->txt.len, rd->txt, rd->txt_len);
                w->arena[at + r->txt.len + rd->txt_len] = ':';
                r->txt.off = at;
                r->txt.len = (uint16_t)(r->txt.len + rd->txt_len + 1);
                w->alen = (uint16_t)(at + r->txt.len);
            }
            break;
        }
        return;
    }
    if (w->nresp == DNSSD_MAX_RESP)
        return; /* full */
    dnssd_resp_t nr;
    memset(&nr, 0, sizeof(nr));
    nr.port = -1;
    uint16_t mark = w->alen;
    bool ok = dnssd_put(w, name, n, &nr.name);
    if (ok && type == FK_DNS_SRV) {
        nr.port = rd->port;
        ok = dnssd_put(w, rd->target, rd->target_len, &nr.target);
    } else if (ok && type == FK_DNS_HINFO) {
        ok =
            dnssd_put(w, rd->cpu, rd->cpu_len, &nr.cpu) && dnssd_put(w, rd->os, rd->os_len, &nr.os);
    } else if (ok) {
        ok = dnssd_put(w, rd->txt, rd->txt_len, &nr.txt);
    }
    if (!ok) {
        w->alen = mark; /* no room: the entry is dropped whole */
        return;
    }
    w->resp[w->nresp++] = nr;
}

enum { DNSSD_SEC_AN, DNSSD_SEC_NS, DNSSD_SEC_AR };

/* Read one section's RRs.  1 = go on, 0 = stop (kept), -1 = unreadable. */
static int dnssd_section(const dnssd_ctx_t *x, dnssd_work_t *w, const fk_dns_msg_t *m,
                         uint32_t *off, unsigned count, int sec, bool qr)
{
    for (unsigned i = 0; i < count; i++) {
        uint8_t name[DNSSD_NAME_TMP];
        size_t n;
        fk_dns_rr_t rr;
        dnssd_rdata_t rd;

        if (fk_dns_name(m, *off, name, sizeof(name), &n) != FK_DNS_OK)
            return -1;
        int rc = fk_dns_rr(m, *off, &rr);
        if (rc == FK_DNS_EBADNAME)
            return -1;
        if (rc != FK_DNS_OK)
            return 0;
        if (sec == DNSSD_SEC_AR && rr.type == FK_DNS_OPT) {
            /* ipfixprobe's quirk: OPT's 10-octet fixed part is not skipped. */
            *off = rr.rdata_off - 10 + rr.rdlength;
            continue;
        }
        *off = rr.next;
        if (!dnssd_rdata(x, m, &rr, name, n, &rd))
            return -1;
        /* Known answers in a query (RFC 6762 7.1) are not advertisements;
         * the authority section of a query holds a probe's proposed records. */
        if (qr || sec == DNSSD_SEC_NS)
            dnssd_add_resp(w, name, n, rr.type, &rd);
    }
    return 1;
}

/* Parse one message into w.  false when ipfixprobe calls it unparsed. */
static bool dnssd_parse(const dnssd_ctx_t *x, dnssd_work_t *w, const uint8_t *payload, size_t len,
                        bool tcp)
{
    fk_dns_msg_t m;
    fk_dns_hdr_t h;
    uint32_t off = FK_DNS_HDR_LEN;

    if (fk_dns_open(&m, &h, payload, len, tcp) != FK_DNS_OK)
        return false;
    for (unsigned i = 0; i < h.qdcount; i++) {
        uint8_t name[DNSSD_NAME_TMP];
        size_t n;
        fk_dns_q_t q;
        if (fk_dns_name(&m, off, name, sizeof(name), &n) != FK_DNS_OK)
            return false;
        int rc = fk_dns_question(&m, off, &q);
        if (rc == FK_DNS_EBADNAME)
            return false;
        if (rc != FK_DNS_OK)
            return true;
        dnssd_add_query(w, name, n);
        off = q.next;
    }
    bool qr = (h.flags & FK_DNS_QR) != 0;
    static const int order[3] = {DNSSD_SEC_AN, DNSSD_SEC_NS, DNSSD_SEC_AR};
    const unsigned counts[3] = {h.ancount, h.nscount, h.arcount};
    for (int s = 0; s < 3; s++) {
        int rc = dnssd_section(x, w, &m, &off, counts[s], order[s], qr);
        if (rc <= 0)
            return rc == 0;
    }
    return true;
}

/* ------------------------------------------------------------ hooks */

static int dnssd_packet(dnssd_ctx_t *x, dnssd_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    bool tcp = pkt->ip_proto == IPPROTO_TCP;
    dnssd_body_t *b = s->body;

    if (pkt->src_port != DNSSD_PORT && pkt->dst_port != DNSSD_PORT)
        return FP_HOOK_OK;
    if (!b) {
        if (!(b = fp_plugin_body(hp, s)))
            return FP_HOOK_OK;
        b->w.qlen = b->w.alen = b->w.nresp = 0;
    }
    if (s->has) {
        (void)dnssd_parse(x, &b->w, pkt->payload, pkt->payload_len, tcp);
        return FP_HOOK_OK;
    }
    /* The first readable message creates the record; an unreadable one leaves nothing. */
    if (dnssd_parse(x, &b->w, pkt->payload, pkt->payload_len, tcp)) {
        s->has = 1;
    } else {
        /* Empty again: what is past the counts is read only as far as they count. */
        b->w.qlen = b->w.alen = b->w.nresp = 0;
    }
    return FP_HOOK_OK;
}

static int dnssd_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)flow;
    return dnssd_packet(ctx, state, hp);
}

static int dnssd_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)flow;
    return dnssd_packet(ctx, state, hp);
}

/* Append s (n octets) to out if `need` more octets still fit with the NUL. */
static bool dnssd_room(size_t used, size_t need, size_t cap)
{
    return need < cap - used;
}

static void dnssd_strcat(char *out, size_t *len, const void *s, size_t n)
{
    memcpy(out + *len, s, n);
    *len += n;
}

/* Render the collected lists into the output strings (whole entries only). */
static void dnssd_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    dnssd_state_t *s = state;
    dnssd_work_t w; /* a copy: the record overwrites the work area */
    char ent[DNSSD_ROUT];
    size_t qn = 0, rn = 0;

    (void)ctx;
    (void)flow;
    if (!s->has)
        return;
    dnssd_record_t *out = &((dnssd_body_t *)s->body)->r; /* `has`: there is a body */
    memcpy(&w, &((dnssd_body_t *)s->body)->w, sizeof(w));
    memset(out, 0, sizeof(*out));

    for (size_t at = 0; at < w.qlen; at += 1u + w.q[at]) {
        size_t k = w.q[at];
        if (!dnssd_room(qn, k + 1, sizeof(out->queries)))
            break;
        dnssd_strcat(out->queries, &qn, w.q + at + 1, k);
        dnssd_strcat(out->queries, &qn, ";", 1);
    }
    for (uint16_t i = 0; i < w.nresp; i++) {
        const dnssd_resp_t *r = &w.resp[i];
        char port[16];
        size_t en = 0;
        int pl = snprintf(port, sizeof(port), "%d;", (int)r->port);
        /* name;port;target;cpu:os;txt; -- the five strings share the arena, so an
         * entry is at most DNSSD_ARENA + 17 octets: it fits in ent. */
        dnssd_strcat(ent, &en, w.arena + r->name.off, r->name.len);
        dnssd_strcat(ent, &en, ";", 1);
        dnssd_strcat(ent, &en, port, (size_t)pl);
        dnssd_strcat(ent, &en, w.arena + r->target.off, r->target.len);
        dnssd_strcat(ent, &en, ";", 1);
        if (r->cpu.len || r->os.len) {
            dnssd_strcat(ent, &en, w.arena + r->cpu.off, r->cpu.len);
            dnssd_strcat(ent, &en, ":", 1);
            dnssd_strcat(ent, &en, w.arena + r->os.off, r->os.len);
        }
        dnssd_strcat(ent, &en, ";", 1);
        dnssd_strcat(ent, &en, w.arena + r->txt.off, r->txt.len);
        dnssd_strcat(ent, &en, ";", 1);
        if (!dnssd_room(rn, en, sizeof(out->responses)))
            break;
        dnssd_strcat(out->responses, &rn, ent, en);
    }
}

static unsigned dnssd_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const dnssd_state_t *)state)->has ? 1 : 0;
}

static const void *dnssd_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const dnssd_body_t *)((const dnssd_state_t *)state)->body)->r;
}

const fp_plugin_t fp_plugin_dnssd = {
    .abi = FP_PLUGIN_ABI,
    .name = "dnssd",
    .summary = "DNS-SD over mDNS (port 5353): services queried and advertised (SRV, HINFO, "
               "TXT with the txt option)",
    .options = dnssd_opts,
    .fields = dnssd_fields,
    .nfields = sizeof(dnssd_fields) / sizeof(dnssd_fields[0]),
    .record_size = sizeof(dnssd_record_t),
    .state_size = sizeof(dnssd_state_t),
    .body_size = sizeof(dnssd_body_t),
    .init = dnssd_init,
    .fini = dnssd_fini,
    .post_create = dnssd_post_create,
    .post_update = dnssd_post_update,
    .pre_export = dnssd_pre_export,
    .records = dnssd_records,
    .record = dnssd_record,
};

_Static_assert(DNSSD_ARENA + 32 <= DNSSD_ROUT, "a rendered response entry must fit in ent");
_Static_assert(sizeof(dnssd_record_t) <= sizeof(dnssd_work_t) + 256,
               "the rendered record should not grow the state much past the work area");
