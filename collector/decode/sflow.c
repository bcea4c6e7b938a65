/*
 * sflow.c - sFlow version 5 (sflow.org sflow_version_5.txt, "sFlow Version 5",
 * July 2004).  Everything is XDR (RFC 4506): big-endian 32-bit words, opaque
 * data padded to a multiple of 4 bytes.
 *
 * Datagram:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        version (= 5)                          |
 *   |           agent address type (0 unknown, 1 IPv4, 2 IPv6)      |
 *   |              agent address (0, 4 or 16 bytes)                 |
 *   |                         sub-agent id                          |
 *   |                  sequence number (per sub-agent)              |
 *   |                       uptime (ms)                             |
 *   |                     number of samples                         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  data format: enterprise (20 bits) | sample type (12 bits)    |
 *   |                  sample length (bytes)                        |
 *   |                  sample data ...                              |  x samples
 *
 * Flow sample (0:1); the expanded form (0:3) splits source id and the
 * interfaces into separate words (type, index / format, value):
 *
 *   | sequence number | source id: type (8) index (24) |
 *   | sampling rate | sample pool | drops |
 *   | input: format (2) value (30) | output: format (2) value (30) |
 *   | number of records | { data format | length | record data } ...
 *
 * Counter sample (0:2, expanded 0:4): sequence number, source id, records.
 *
 * Flow records used here: 1 raw packet header {header protocol, frame
 * length, stripped, header<>}, 2 Ethernet frame data, 3 IPv4 data, 4 IPv6
 * data, 1001 extended switch, 1002 extended router, 1003 extended gateway.
 * Counter records shown by the raw JSON: 1 generic interface, 2 Ethernet.
 *
 * One walker (decode_datagram) reads this structure and hands what it finds
 * to a visitor: the flow visitor builds fc_flow_t records, the JSON visitor
 * writes GoFlow2's raw shape.  So both outputs see the same bytes the same way.
 */
#include "sflow.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../lib/core/cursor.h"
#include "../../lib/packet/packet.h"
#include "../mapping.h"

/* Sample types (enterprise 0). */
#define SF_FLOW        1
#define SF_COUNTER     2
#define SF_FLOW_EXP    3
#define SF_COUNTER_EXP 4

/* Flow record formats (enterprise 0). */
#define FR_HEADER   1
#define FR_ETHERNET 2
#define FR_IPV4     3
#define FR_IPV6     4
#define FR_SWITCH   1001
#define FR_ROUTER   1002
#define FR_GATEWAY  1003

/* Counter record formats (enterprise 0). */
#define CR_IF       1
#define CR_ETHERNET 2

/* Raw packet header protocols (SFLHeader_protocol). */
#define HP_ETHERNET 1
#define HP_IPV4     11
#define HP_IPV6     12

/* Tunnels followed inside one sampled header. */
#define MAX_TUNNELS 3

/* What became of one sample or record. */
enum sf_status {
    SF_OK = 0,
    SF_UNKNOWN,   /* a format this decoder skips by length */
    SF_TRUNCATED, /* the datagram ended inside it */
    SF_INVALID,   /* its content contradicts its length */
    SF_CAPPED,    /* a DoS limit was hit */
};

static const char *status_name(int s)
{
    static const char *n[] = {"ok", "unknown", "truncated", "invalid", "capped"};
    return s >= 0 && s <= SF_CAPPED ? n[s] : "?";
}

/* ---- decoded pieces ------------------------------------------------------ */

/* One sample's fixed fields.  Invariant: `type` is 1..4 only when enterprise is 0. */
typedef struct sf_sample_st {
    uint32_t index;     /* position in the datagram, from 0 */
    uint32_t format;    /* data format word as on the wire: enterprise << 12 | type */
    uint32_t length;    /* sample data length */
    uint32_t type;      /* SF_* or 0 for a sample this decoder does not know */
    uint32_t seq;       /* sample sequence number */
    uint32_t src_type;  /* source id type (compact: top 8 bits) */
    uint32_t src_index; /* source id index (compact: low 24 bits) */
    uint32_t rate;      /* flow samples: sampling rate */
    uint32_t pool;
    uint32_t drops;
    uint32_t input; /* compact: the whole 32-bit word; expanded: the value */
    uint32_t output;
    uint32_t in_fmt; /* expanded: format word; compact: input >> 30 */
    uint32_t out_fmt;
    uint32_t nrecords; /* as announced */
    fk_cursor_t body;  /* the sample data, `length` bytes */
} sf_sample_t;

/*
 * Counter record layouts as data (STYLE rule 4): GoFlow2's JSON names
 * (typos included: "aligment", "fcse", "seq-test") and field widths.
 */
typedef struct sf_cfield_st {
    const char *name;
    uint8_t width; /* 4 or 8 bytes */
} sf_cfield_t;

static const sf_cfield_t if_counters[] = {
    {"if-index", 4},
    {"if-type", 4},
    {"if-speed", 8},
    {"if-direction", 4},
    {"if-status", 4},
    {"if-in-octets", 8},
    {"if-in-ucast-pkts", 4},
    {"if-in-multicast-pkts", 4},
    {"if-in-broadcast-pkts", 4},
    {"if-in-discards", 4},
    {"if-in-errors", 4},
    {"if-in-unknown-protos", 4},
    {"if-out-octets", 8},
    {"if-out-ucast-pkts", 4},
    {"if-out-multicast-pkts", 4},
    {"if-out-broadcast-pkts", 4},
    {"if-out-discards", 4},
    {"if-out-errors", 4},
    {"if-promiscuous-mode", 4},
    {NULL, 0},
};

static const sf_cfield_t eth_counters[] = {
    {"dot3-stats-aligment-errors", 4},
    {"dot3-stats-fcse-errors", 4},
    {"dot3-stats-single-collision-frames", 4},
    {"dot3-stats-multiple-collision-frames", 4},
    {"dot3-stats-seq-test-errors", 4},
    {"dot3-stats-deferred-transmissions", 4},
    {"dot3-stats-late-collisions", 4},
    {"dot3-stats-excessive-collisions", 4},
    {"dot3-stats-internal-mac-transmit-errors", 4},
    {"dot3-stats-carrier-sense-errors", 4},
    {"dot3-stats-frame-too-longs", 4},
    {"dot3-stats-internal-mac-receive-errors", 4},
    {"dot3-stats-symbol-errors", 4},
    {NULL, 0},
};

#define SF_MAX_CFIELDS 19
_Static_assert(sizeof(if_counters) / sizeof(if_counters[0]) - 1 <= SF_MAX_CFIELDS,
               "if_counters fits sf_record_t");
_Static_assert(sizeof(eth_counters) / sizeof(eth_counters[0]) - 1 <= SF_MAX_CFIELDS,
               "eth_counters fits sf_record_t");

/* One record, decoded far enough that both visitors can use it. */
typedef struct sf_record_st {
    uint32_t format;  /* data format word as on the wire */
    uint32_t length;  /* record data length */
    fk_cursor_t body; /* the record data */
    union {
        struct { /* FR_HEADER */
            uint32_t proto, frame_len, stripped, hdr_len;
            const uint8_t *hdr; /* hdr_len bytes inside body */
        } hdr;
        struct { /* FR_ETHERNET */
            uint32_t length, type;
            uint8_t src[6], dst[6];
        } eth;
        struct { /* FR_IPV4, FR_IPV6 */
            uint32_t length, proto, sport, dport, tcp_flags, tos;
            fc_addr_t src, dst;
        } ip;
        struct { /* FR_SWITCH */
            uint32_t src_vlan, src_prio, dst_vlan, dst_prio;
        } sw;
        struct { /* FR_ROUTER */
            uint32_t nh_type, src_mask, dst_mask;
            fc_addr_t nh;
        } rt;
        struct { /* FR_GATEWAY: lists validated, read again through the cursors */
            uint32_t nh_type, as, src_as, src_peer_as, nseg, ncomm, localpref;
            fc_addr_t nh;
            fk_cursor_t segs;  /* nseg x {type, count, count x AS} */
            fk_cursor_t comms; /* ncomm x community */
        } gw;
        struct { /* counter records */
            const sf_cfield_t *table;
            uint64_t v[SF_MAX_CFIELDS];
        } ctr;
    } u;
} sf_record_t;

/* ---- the walker's context -------------------------------------------------- */

typedef struct sf_ctx_st sf_ctx_t;

/* What the walker reports; a non-zero return stops the datagram. */
typedef struct sf_visit_st {
    /* The datagram header decoded (ctx->hdr is filled). */
    int (*dgram_begin)(sf_ctx_t *c);
    /* A flow or counter sample's fixed fields decoded; records follow. */
    int (*sample_begin)(sf_ctx_t *c, const sf_sample_t *s);
    /* One record of the current sample, with what became of it. */
    int (*record)(sf_ctx_t *c, const sf_sample_t *s, const sf_record_t *r, int status);
    /* The current sample is done: SF_OK, or SF_INVALID / SF_CAPPED when one of
     * its records broke or a cap was hit (such a sample produces no flow). */
    int (*sample_end)(sf_ctx_t *c, const sf_sample_t *s, int status);
    /* A sample skipped whole: SF_UNKNOWN type, or SF_TRUNCATED / SF_INVALID. */
    int (*sample_skip)(sf_ctx_t *c, const sf_sample_t *s, int status);
    /* Every sample seen (not called when the header failed). */
    void (*dgram_end)(sf_ctx_t *c);
} sf_visit_t;

struct sf_ctx_st {
    const fc_dgram_t *dg;
    fc_sflow_opts_t opts;
    fc_sflow_stats_t *st; /* never NULL here */
    fk_err_t *e;          /* may be NULL */
    bool failed;          /* a problem was counted; e holds the first */
    fc_sflow_hdr_t hdr;
    fc_sflow_hdr_t *hdr_out; /* the caller's copy, written once the header decoded */
    const sf_visit_t *v;

    /* flow visitor */
    fc_emit_fn emit;
    void *arg;
    fc_flow_t flow;

    /* JSON visitor */
    fk_buf_t *out;
    uint32_t nsamples_out; /* samples written in this datagram */
    uint32_t nrecords_out; /* records written in the current sample */
};

/* Count a problem and describe it in e if it is the datagram's first. */
static void problem(sf_ctx_t *c, uint64_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(sf_ctx_t *c, uint64_t *counter, const char *fmt, ...)
{
    (*counter)++;
    if (c->failed)
        return;
    c->failed = true;
    if (!c->e)
        return;
    va_list ap;
    int n = snprintf(c->e->msg, sizeof(c->e->msg), "sflow: ");
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(c->e->msg))
        vsnprintf(c->e->msg + n, sizeof(c->e->msg) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- XDR reading --------------------------------------------------------- */

/* Skip the XDR padding after `len` bytes of opaque data, as far as it is there. */
static void skip_pad(fk_cursor_t *c, uint32_t len)
{
    size_t pad = (4 - (len & 3)) & 3;
    if (pad > fk_cur_left(c))
        pad = fk_cur_left(c);
    c->p += pad;
}

/*
 * An address { type; 0, 4 or 16 bytes }.  Type 0 is "unknown" with no bytes
 * (sFlow v5 address_type UNKNOWN).  Returns SF_OK, SF_INVALID (unknown type)
 * or SF_TRUNCATED (bytes missing).
 */
static int read_address(fk_cursor_t *c, uint32_t *type, fc_addr_t *a)
{
    memset(a, 0, sizeof(*a));
    if (!fk_cur_be32(c, type))
        return SF_TRUNCATED;
    switch (*type) {
    case 0:
        return SF_OK;
    case 1:
        a->len = 4;
        break;
    case 2:
        a->len = 16;
        break;
    default:
        return SF_INVALID;
    }
    return fk_cur_copy(c, a->a, a->len) ? SF_OK : SF_TRUNCATED;
}

/* ---- records ----------------------------------------------------------------- */

/*
 * Extended gateway (0:1003):
 *   next hop address | as | src_as | src_peer_as |
 *   dst_as_path<>: { segment type (1 set, 2 sequence) | as_number<> } |
 *   communities<> | localpref
 * The lists are checked against the record and the caps here; the visitors
 * read them again through u.gw.segs / u.gw.comms.
 */
static int decode_gateway(sf_ctx_t *c, const sf_sample_t *s, sf_record_t *r, fk_cursor_t *b)
{
    uint32_t seg_type, count;

    switch (read_address(b, &r->u.gw.nh_type, &r->u.gw.nh)) {
    case SF_OK:
        break;
    case SF_INVALID:
        problem(c, &c->st->invalid, "sample %u: gateway next hop of address type %u", s->index,
                r->u.gw.nh_type);
        return SF_INVALID;
    default:
        goto short_record;
    }
    if (!fk_cur_be32(b, &r->u.gw.as) || !fk_cur_be32(b, &r->u.gw.src_as) ||
        !fk_cur_be32(b, &r->u.gw.src_peer_as) || !fk_cur_be32(b, &r->u.gw.nseg))
        goto short_record;
    if (r->u.gw.nseg > FC_SFLOW_MAX_LIST) {
        problem(c, &c->st->capped, "sample %u: %u AS-path segments (limit %d)", s->index,
                r->u.gw.nseg, FC_SFLOW_MAX_LIST);
        return SF_CAPPED;
    }
    r->u.gw.segs = *b;
    for (uint32_t i = 0; i < r->u.gw.nseg; i++) {
        if (!fk_cur_be32(b, &seg_type) || !fk_cur_be32(b, &count))
            goto short_record;
        if (count > FC_SFLOW_MAX_LIST) {
            problem(c, &c->st->capped, "sample %u: AS-path segment of %u ASes (limit %d)", s->index,
                    count, FC_SFLOW_MAX_LIST);
            return SF_CAPPED;
        }
        if (!fk_cur_skip(b, (size_t)count * 4)) {
            problem(c, &c->st->invalid, "sample %u: AS-path segment of %u ASes, %zu bytes left",
                    s->index, count, fk_cur_left(b));
            return SF_INVALID;
        }
    }
    r->u.gw.segs.end = b->p;
    if (!fk_cur_be32(b, &r->u.gw.ncomm))
        goto short_record;
    if (r->u.gw.ncomm > FC_SFLOW_MAX_LIST) {
        problem(c, &c->st->capped, "sample %u: %u communities (limit %d)", s->index, r->u.gw.ncomm,
                FC_SFLOW_MAX_LIST);
        return SF_CAPPED;
    }
    if (!fk_cur_sub(b, (size_t)r->u.gw.ncomm * 4, &r->u.gw.comms)) {
        problem(c, &c->st->invalid, "sample %u: %u communities, %zu bytes left", s->index,
                r->u.gw.ncomm, fk_cur_left(b));
        return SF_INVALID;
    }
    if (!fk_cur_be32(b, &r->u.gw.localpref))
        goto short_record;
    return SF_OK;

short_record:
    problem(c, &c->st->invalid, "sample %u: gateway record of %u bytes is cut short", s->index,
            r->length);
    return SF_INVALID;
}

static int decode_counters(fk_cursor_t *b, sf_record_t *r, const sf_cfield_t *table)
{
    r->u.ctr.table = table;
    for (size_t i = 0; table[i].name; i++) {
        uint32_t v32, lo;
        if (table[i].width == 8) {
            /* Two words rather than fk_cur_be64, which gcc -O2 flags as
             * maybe-uninitialized. */
            if (!fk_cur_be32(b, &v32) || !fk_cur_be32(b, &lo))
                return SF_INVALID;
            r->u.ctr.v[i] = (uint64_t)v32 << 32 | lo;
        } else {
            if (!fk_cur_be32(b, &v32))
                return SF_INVALID;
            r->u.ctr.v[i] = v32;
        }
    }
    return SF_OK;
}

/* Decode one record of sample `s` into `r`; returns an sf_status (counted here). */
static int decode_record(sf_ctx_t *c, const sf_sample_t *s, sf_record_t *r)
{
    fk_cursor_t b = r->body;
    bool flow = s->type == SF_FLOW || s->type == SF_FLOW_EXP;
    uint32_t fmt = r->format;
    int rc;

    if (fmt >> 12) { /* enterprise-specific */
        c->st->unknown_records++;
        return SF_UNKNOWN;
    }
    if (!flow) {
        const sf_cfield_t *t = fmt == CR_IF         ? if_counters
                               : fmt == CR_ETHERNET ? eth_counters
                                                    : NULL;
        if (!t) {
            c->st->unknown_records++;
            return SF_UNKNOWN;
        }
        if (decode_counters(&b, r, t) != SF_OK) {
            problem(c, &c->st->invalid, "sample %u: counter record %u of %u bytes is cut short",
                    s->index, fmt, r->length);
            return SF_INVALID;
        }
        return SF_OK;
    }

    switch (fmt) {
    case FR_HEADER:
        if (!fk_cur_be32(&b, &r->u.hdr.proto) || !fk_cur_be32(&b, &r->u.hdr.frame_len) ||
            !fk_cur_be32(&b, &r->u.hdr.stripped) || !fk_cur_be32(&b, &r->u.hdr.hdr_len))
            goto short_record;
        if (!fk_cur_has(&b, r->u.hdr.hdr_len)) {
            problem(c, &c->st->invalid, "sample %u: header length %u, its record holds %zu",
                    s->index, r->u.hdr.hdr_len, fk_cur_left(&b));
            return SF_INVALID;
        }
        r->u.hdr.hdr = b.p;
        return SF_OK;
    case FR_ETHERNET:
        /* length | src mac (6, padded to 8) | dst mac (6 + 2) | type */
        if (!fk_cur_be32(&b, &r->u.eth.length) || !fk_cur_copy(&b, r->u.eth.src, 6) ||
            !fk_cur_skip(&b, 2) || !fk_cur_copy(&b, r->u.eth.dst, 6) || !fk_cur_skip(&b, 2) ||
            !fk_cur_be32(&b, &r->u.eth.type))
            goto short_record;
        return SF_OK;
    case FR_IPV4:
    case FR_IPV6: {
        /* length | protocol | src | dst | src port | dst port | tcp flags | tos/priority */
        uint8_t alen = fmt == FR_IPV4 ? 4 : 16;
        r->u.ip.src.len = r->u.ip.dst.len = alen;
        if (!fk_cur_be32(&b, &r->u.ip.length) || !fk_cur_be32(&b, &r->u.ip.proto) ||
            !fk_cur_copy(&b, r->u.ip.src.a, alen) || !fk_cur_copy(&b, r->u.ip.dst.a, alen) ||
            !fk_cur_be32(&b, &r->u.ip.sport) || !fk_cur_be32(&b, &r->u.ip.dport) ||
            !fk_cur_be32(&b, &r->u.ip.tcp_flags) || !fk_cur_be32(&b, &r->u.ip.tos))
            goto short_record;
        return SF_OK;
    }
    case FR_SWITCH:
        if (!fk_cur_be32(&b, &r->u.sw.src_vlan) || !fk_cur_be32(&b, &r->u.sw.src_prio) ||
            !fk_cur_be32(&b, &r->u.sw.dst_vlan) || !fk_cur_be32(&b, &r->u.sw.dst_prio))
            goto short_record;
        return SF_OK;
    case FR_ROUTER:
        rc = read_address(&b, &r->u.rt.nh_type, &r->u.rt.nh);
        if (rc == SF_INVALID) {
            problem(c, &c->st->invalid, "sample %u: router next hop of address type %u", s->index,
                    r->u.rt.nh_type);
            return SF_INVALID;
        }
        if (rc != SF_OK || !fk_cur_be32(&b, &r->u.rt.src_mask) ||
            !fk_cur_be32(&b, &r->u.rt.dst_mask))
            goto short_record;
        return SF_OK;
    case FR_GATEWAY:
        return decode_gateway(c, s, r, &b);
    default:
        c->st->unknown_records++;
        return SF_UNKNOWN;
    }

short_record:
    problem(c, &c->st->invalid, "sample %u: record %u of %u bytes is shorter than its fields",
            s->index, fmt, r->length);
    return SF_INVALID;
}

/* ---- samples and the datagram ------------------------------------------------- */

/* Decode the fixed fields of a known sample type; false when the sample is too short. */
static bool read_sample_fields(sf_sample_t *s, fk_cursor_t *b)
{
    uint32_t src;

    if (!fk_cur_be32(b, &s->seq))
        return false;
    if (s->type == SF_FLOW || s->type == SF_COUNTER) {
        if (!fk_cur_be32(b, &src))
            return false;
        s->src_type = src >> 24;
        s->src_index = src & 0x00ffffff;
    } else if (!fk_cur_be32(b, &s->src_type) || !fk_cur_be32(b, &s->src_index)) {
        return false;
    }
    if (s->type == SF_FLOW) {
        if (!fk_cur_be32(b, &s->rate) || !fk_cur_be32(b, &s->pool) || !fk_cur_be32(b, &s->drops) ||
            !fk_cur_be32(b, &s->input) || !fk_cur_be32(b, &s->output))
            return false;
        s->in_fmt = s->input >> 30;
        s->out_fmt = s->output >> 30;
    } else if (s->type == SF_FLOW_EXP) {
        if (!fk_cur_be32(b, &s->rate) || !fk_cur_be32(b, &s->pool) || !fk_cur_be32(b, &s->drops) ||
            !fk_cur_be32(b, &s->in_fmt) || !fk_cur_be32(b, &s->input) ||
            !fk_cur_be32(b, &s->out_fmt) || !fk_cur_be32(b, &s->output))
            return false;
    }
    return fk_cur_be32(b, &s->nrecords);
}

/* Decode one framed sample; returns non-zero when a visitor asked to stop. */
static int decode_sample(sf_ctx_t *c, sf_sample_t *s)
{
    fk_cursor_t b = s->body;
    uint32_t ent = s->format >> 12, t = s->format & 0xfff;
    int status = SF_OK;

    s->type = ent == 0 && t >= SF_FLOW && t <= SF_COUNTER_EXP ? t : 0;
    if (!s->type) {
        c->st->unknown_samples++;
        return c->v->sample_skip(c, s, SF_UNKNOWN);
    }
    if (!read_sample_fields(s, &b)) {
        problem(c, &c->st->invalid, "sample %u (type %u): %u bytes, shorter than its fields",
                s->index, t, s->length);
        return c->v->sample_skip(c, s, SF_INVALID);
    }
    if (s->type == SF_FLOW || s->type == SF_FLOW_EXP)
        c->st->flow_samples++;
    else
        c->st->counter_samples++;
    if (c->v->sample_begin(c, s))
        return 1;

    uint32_t todo = s->nrecords;
    if (todo > FC_SFLOW_MAX_RECORDS) {
        problem(c, &c->st->capped, "sample %u: %u records (limit %d)", s->index, s->nrecords,
                FC_SFLOW_MAX_RECORDS);
        todo = FC_SFLOW_MAX_RECORDS;
    }
    for (uint32_t i = 0; i < todo; i++) {
        sf_record_t r;
        memset(&r, 0, sizeof(r));
        if (!fk_cur_be32(&b, &r.format) || !fk_cur_be32(&b, &r.length)) {
            problem(c, &c->st->invalid, "sample %u: %u records announced, %u fit in %u bytes",
                    s->index, s->nrecords, i, s->length);
            status = SF_INVALID;
            break;
        }
        if (!fk_cur_sub(&b, r.length, &r.body)) {
            problem(c, &c->st->invalid, "sample %u: record %u of %u bytes, %zu left in the sample",
                    s->index, i, r.length, fk_cur_left(&b));
            status = SF_INVALID;
            break;
        }
        skip_pad(&b, r.length);
        int rs = decode_record(c, s, &r);
        if (rs == SF_INVALID || rs == SF_CAPPED)
            status = rs; /* the sample is malformed: the other records still show in JSON */
        if (c->v->record(c, s, &r, rs))
            return 1;
    }
    if (s->nrecords > FC_SFLOW_MAX_RECORDS && status == SF_OK)
        status = SF_CAPPED;
    return c->v->sample_end(c, s, status);
}

/*
 * Decode the datagram header and walk the samples, reporting to c->v.
 * Returns -1 when the header could not be decoded (nothing was visited).
 */
static int decode_datagram(sf_ctx_t *c)
{
    static const uint8_t none[1];
    const fc_dgram_t *dg = c->dg;
    fk_cursor_t cur = fk_cur_make(dg->len ? dg->data : none, dg->len);
    fc_sflow_hdr_t *h = &c->hdr;
    int rc;

    c->st->datagrams++;
    memset(h, 0, sizeof(*h));
    if (!fk_cur_be32(&cur, &h->version)) {
        problem(c, &c->st->truncated, "%zu bytes, no room for a version", dg->len);
        return -1;
    }
    if (h->version != 5) {
        problem(c, &c->st->unsupported, "version %u (only 5 is decoded)", h->version);
        return -1;
    }
    rc = read_address(&cur, &h->agent_type, &h->agent);
    if (rc == SF_INVALID) {
        problem(c, &c->st->unsupported, "agent address type %u (expected 0, 1 or 2)",
                h->agent_type);
        return -1;
    }
    if (rc != SF_OK || !fk_cur_be32(&cur, &h->sub_agent_id) ||
        !fk_cur_be32(&cur, &h->sequence_num) || !fk_cur_be32(&cur, &h->uptime_ms) ||
        !fk_cur_be32(&cur, &h->samples_count)) {
        problem(c, &c->st->truncated, "datagram of %zu bytes ends inside its header", dg->len);
        return -1;
    }
    h->valid = true;
    if (c->hdr_out)
        *c->hdr_out = *h;
    if (c->v->dgram_begin(c))
        return 0;

    uint32_t todo = h->samples_count;
    if (todo > FC_SFLOW_MAX_SAMPLES) {
        problem(c, &c->st->capped, "%u samples (limit %d)", h->samples_count, FC_SFLOW_MAX_SAMPLES);
        todo = FC_SFLOW_MAX_SAMPLES;
    }
    for (uint32_t i = 0; i < todo; i++) {
        sf_sample_t s;
        memset(&s, 0, sizeof(s));
        s.index = i;
        if (!fk_cur_be32(&cur, &s.format) || !fk_cur_be32(&cur, &s.length)) {
            problem(c, &c->st->truncated, "%u samples announced, the datagram ends after %u",
                    h->samples_count, i);
            break;
        }
        if (!fk_cur_sub(&cur, s.length, &s.body)) {
            problem(c, &c->st->truncated, "sample %u announces %u bytes, %zu are left", i, s.length,
                    fk_cur_left(&cur));
            c->v->sample_skip(c, &s, SF_TRUNCATED);
            break;
        }
        skip_pad(&cur, s.length);
        c->st->samples++;
        if (decode_sample(c, &s))
            return 0;
    }
    c->v->dgram_end(c);
    return 0;
}

/* ---- flow visitor: sampled headers ---------------------------------------------- */

static uint64_t mac48(const uint8_t m[6])
{
    return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
           (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
}

static void push_layer(fc_flow_t *f, uint32_t layer, uint32_t size)
{
    if (f->n_layers < FC_MAX_LAYERS) {
        f->layer_stack[f->n_layers] = layer;
        f->layer_size[f->n_layers] = size;
        f->n_layers++;
    } else {
        f->truncated_lists++;
    }
}

static void ip_from_packet(fc_addr_t *a, const uint8_t ip[16], uint8_t version)
{
    memset(a, 0, sizeof(*a));
    if (version == 4) {
        a->len = 4;
        memcpy(a->a, ip + 12, 4); /* fk_packet keeps IPv4 IPv4-mapped */
    } else if (version == 6) {
        a->len = 16;
        memcpy(a->a, ip, 16);
    }
}

/* Layer-2 fields: only those the packet has replace the flow's (a tunnel's
 * inner IP packet keeps the outer MACs and tags). */
static void fill_l2(fc_flow_t *f, const fk_packet_t *pkt)
{
    if (pkt->has_mac) {
        f->src_mac = mac48(pkt->src_mac);
        f->dst_mac = mac48(pkt->dst_mac);
    }
    if (pkt->vlan_count) {
        /* The innermost tag kept, as GoFlow2 keeps the last 802.1Q tag it reads. */
        unsigned i = pkt->vlan_count < FK_MAX_VLANS ? pkt->vlan_count : FK_MAX_VLANS;
        f->vlan_id = pkt->vlan_id[i - 1];
    }
    if (pkt->mpls_count) {
        unsigned n = pkt->mpls_count < FK_MAX_MPLS ? pkt->mpls_count : FK_MAX_MPLS;
        if (n > FC_MAX_MPLS)
            n = FC_MAX_MPLS;
        f->n_mpls = (uint16_t)n;
        for (unsigned i = 0; i < n; i++) {
            f->mpls_label[i] = pkt->mpls[i] >> 12; /* label(20) TC(3) S(1) TTL(8) */
            f->mpls_ttl[i] = pkt->mpls[i] & 0xff;
        }
        f->truncated_lists += pkt->mpls_count - n;
    }
    if (pkt->ethertype)
        f->etype = pkt->ethertype;
}

/* Layer-3 and layer-4 fields: all replaced, as they describe one packet. */
static void fill_l3l4(fc_flow_t *f, const fk_packet_t *pkt)
{
    ip_from_packet(&f->src_addr, pkt->src_ip, pkt->ip_version);
    ip_from_packet(&f->dst_addr, pkt->dst_ip, pkt->ip_version);
    f->proto = pkt->ip_proto;
    f->ip_tos = pkt->ip_tos;
    f->ip_ttl = pkt->ip_ttl;
    f->ipv6_flow_label = pkt->ip_version == 6 ? pkt->ipv6_flow : 0;
    if (pkt->ip_version == 4) {
        f->ip_flags = pkt->ip_flags;
        f->fragment_id = pkt->ip_id;
        f->fragment_offset = pkt->frag_off;
    } else if (pkt->is_fragment) {
        /* IPv6 fragment header: offset, M flag and identification (RFC 8200 4.5). */
        f->ip_flags = pkt->frag_more ? 1 : 0;
        f->fragment_id = pkt->ip_id;
        f->fragment_offset = pkt->frag_off;
    } else {
        f->ip_flags = f->fragment_id = f->fragment_offset = 0;
    }
    f->src_port = pkt->src_port;
    f->dst_port = pkt->dst_port;
    f->tcp_flags = pkt->ip_proto == 6 ? pkt->tcp_flags : 0;
    bool icmp = (pkt->ip_proto == 1 || pkt->ip_proto == 58) && pkt->layer_ok == FK_LAYER_L4;
    f->icmp_type = icmp ? pkt->icmp_type : 0;
    f->icmp_code = icmp ? pkt->icmp_code : 0;
    f->ipv6_routing_header_seg_left = 0;
    f->n_srv6 = 0;
}

/*
 * IPv6 extension headers between the fixed header and the upper layer, which
 * fk_packet_parse walked and bounded (l3_off + 40 .. l4_off): record the
 * routing and fragment headers in the layer stack, and the routing header's
 * segments left and SRv6 segment list (RFC 8754 2) for the outer packet.
 */
static void walk_ipv6_ext(fc_flow_t *f, const fk_packet_t *pkt, bool fields)
{
    /* fk_packet_parse read the 40-byte header at l3_off and skipped the chain
     * up to l4_off within the capture: both spans are there. */
    fk_cursor_t c = fk_cur_make(pkt->frame + pkt->l3_off + 40, pkt->l4_off - pkt->l3_off - 40);
    uint8_t nh = pkt->frame[pkt->l3_off + 6];

    for (int n = 0; n < FK_MAX_IPV6_EXT && fk_cur_has(&c, 8); n++) {
        size_t hlen;
        switch (nh) {
        case 0:
        case 43:
        case 60:
        case 135:
            hlen = ((size_t)c.p[1] + 1) * 8;
            break;
        case 51:
            hlen = ((size_t)c.p[1] + 2) * 4;
            break;
        case 44:
            hlen = 8;
            break;
        default:
            return;
        }
        if (!fk_cur_has(&c, hlen))
            return;
        if (nh == 43) {
            push_layer(f, FC_L_IPV6_ROUTING, (uint32_t)hlen);
            if (fields) {
                f->ipv6_routing_header_seg_left = c.p[3];
                if (c.p[2] == 4) { /* SRH: last entry, then 16-byte segments */
                    unsigned last = c.p[4];
                    for (unsigned k = 0; k <= last && 8 + 16 * (k + 1) <= hlen; k++) {
                        if (f->n_srv6 < FC_MAX_SRV6) {
                            fc_addr_t *a = &f->ipv6_routing_header_addresses[f->n_srv6++];
                            a->len = 16;
                            memcpy(a->a, c.p + 8 + 16 * k, 16);
                        } else {
                            f->truncated_lists++;
                        }
                    }
                }
            }
        } else if (nh == 44) {
            push_layer(f, FC_L_IPV6_FRAGMENT, 8);
        }
        nh = c.p[0];
        c.p += hlen;
    }
}

static void walk_packet(sf_ctx_t *c, fc_flow_t *f, const fk_packet_t *pkt, int link, int depth,
                        bool fields);

/* Parse a tunnel's inner packet and continue the walk into it. */
static void walk_inner(sf_ctx_t *c, fc_flow_t *f, int link, const uint8_t *p, size_t len, int depth,
                       bool fields)
{
    fk_packet_t in;

    fk_packet_parse(&in, link, p, (uint32_t)len, (uint32_t)len, c->dg->received_ns);
    if (fields && c->opts.decap && in.ip_version) {
        /* The inner packet names the real hosts: its fields replace the outer
         * ones; the outermost tunnel's addresses are kept beside them. */
        if (!f->outer_src_addr.len) {
            f->outer_src_addr = f->src_addr;
            f->outer_dst_addr = f->dst_addr;
        }
        fill_l2(f, &in);
        fill_l3l4(f, &in);
    }
    walk_packet(c, f, &in, link, depth + 1, fields && c->opts.decap && in.ip_version);
}

/*
 * Tunnels after the transport (or IP) header: GRE (RFC 2784, 2890), IP in IP,
 * and with decap VXLAN (RFC 7348) and Geneve (RFC 8926).  GoFlow2 follows GRE
 * and IP in IP by default, and VXLAN/Geneve only when configured by port.
 */
static void walk_tunnel(sf_ctx_t *c, fc_flow_t *f, const fk_packet_t *pkt, int depth, bool fields)
{
    fk_cursor_t b;
    uint16_t w0, ptype;

    if (!pkt->payload || pkt->frag_off != 0 || depth >= MAX_TUNNELS)
        return;
    b = fk_cur_make(pkt->payload, pkt->payload_len);
    switch (pkt->ip_proto) {
    case 4:
        walk_inner(c, f, FK_LINK_IPV4, b.p, fk_cur_left(&b), depth, fields);
        return;
    case 41:
        walk_inner(c, f, FK_LINK_IPV6, b.p, fk_cur_left(&b), depth, fields);
        return;
    case 47: {
        /* |C| |K|S| Reserved0 | Ver | Protocol Type | [checksum, reserved] [key] [seq] */
        size_t hlen = 4;
        if (!fk_cur_be16(&b, &w0) || !fk_cur_be16(&b, &ptype))
            return;
        if ((w0 & 7) != 0 || (w0 & 0x4000)) /* version 0 only; no source routing */
            return;
        hlen += (w0 & 0x8000 ? 4 : 0) + (w0 & 0x2000 ? 4 : 0) + (w0 & 0x1000 ? 4 : 0);
        if (!fk_cur_skip(&b, hlen - 4))
            return;
        push_layer(f, FC_L_GRE, (uint32_t)hlen);
        break;
    }
    case 17: {
        if (!c->opts.decap || pkt->layer_ok != FK_LAYER_L4)
            return;
        if (pkt->dst_port == 4789) {
            /* VXLAN: flags (I = 0x08) | reserved (3) | VNI (3) | reserved */
            if (!fk_cur_has(&b, 8) || !(b.p[0] & 0x08))
                return;
            b.p += 8;
            push_layer(f, FC_L_CUSTOM, 8); /* LayerStack has no VXLAN value */
            ptype = 0x6558;
        } else if (pkt->dst_port == 6081) {
            /* Geneve: Ver(2) OptLen(6) | O C Rsvd | Protocol Type | VNI (3) | Rsvd | options */
            if (!fk_cur_has(&b, 8) || (b.p[0] >> 6) != 0)
                return;
            size_t hlen = 8 + (size_t)(b.p[0] & 0x3f) * 4;
            ptype = fk_load_be16(b.p + 2);
            if (!fk_cur_skip(&b, hlen))
                return;
            push_layer(f, FC_L_GENEVE, (uint32_t)hlen);
        } else {
            return;
        }
        break;
    }
    default:
        return;
    }
    switch (ptype) {
    case 0x0800:
        walk_inner(c, f, FK_LINK_IPV4, b.p, fk_cur_left(&b), depth, fields);
        break;
    case 0x86dd:
        walk_inner(c, f, FK_LINK_IPV6, b.p, fk_cur_left(&b), depth, fields);
        break;
    case 0x6558: /* transparent Ethernet bridging */
        walk_inner(c, f, FK_LINK_ETHERNET, b.p, fk_cur_left(&b), depth, fields);
        break;
    default:
        break;
    }
}

/*
 * The layer stack (flow.proto LayerStack) of a parsed packet, from what
 * fk_packet_parse found and where: Ethernet, 802.1Q tags, the MPLS stack as
 * one layer, IP with its real header length, IPv6 routing and fragment
 * headers, the transport header, then any tunnel's inner packet.  `fields`
 * says whether this packet's IPv6 routing header fills the record's fields.
 */
static void walk_packet(sf_ctx_t *c, fc_flow_t *f, const fk_packet_t *pkt, int link, int depth,
                        bool fields)
{
    if (link == FK_LINK_ETHERNET && pkt->has_mac) {
        push_layer(f, FC_L_ETHERNET, 14);
        unsigned tags = pkt->vlan_count;
        for (unsigned i = 0; i < tags && i < FC_MAX_LAYERS; i++)
            push_layer(f, FC_L_DOT1Q, 4);
        if (pkt->mpls_count)
            push_layer(f, FC_L_MPLS, 4u * pkt->mpls_count);
    }
    if (pkt->ip_version == 4) {
        push_layer(f, FC_L_IPV4, pkt->ip_hdr_len);
    } else if (pkt->ip_version == 6) {
        push_layer(f, FC_L_IPV6, 40);
        if (pkt->l4_off > pkt->l3_off + 40u)
            walk_ipv6_ext(f, pkt, fields);
    } else {
        return;
    }
    if (pkt->layer_ok == FK_LAYER_L4) {
        switch (pkt->ip_proto) {
        case 6: /* layer_ok L4: the 20-byte TCP header at l4_off was read */
            push_layer(f, FC_L_TCP, (uint32_t)(pkt->frame[pkt->l4_off + 12] >> 4) * 4);
            break;
        case 17:
            push_layer(f, FC_L_UDP, 8);
            break;
        case 1:
            push_layer(f, FC_L_ICMP, 8);
            break;
        case 58:
            push_layer(f, FC_L_ICMPV6, 8);
            break;
        default:
            break;
        }
    }
    walk_tunnel(c, f, pkt, depth, fields);
}

/* Raw packet header record (0:1): fields and layers from fk_packet_parse. */
static void apply_header(sf_ctx_t *c, fc_flow_t *f, const sf_record_t *r)
{
    int link;
    fk_packet_t pkt;

    f->bytes = r->u.hdr.frame_len;
    switch (r->u.hdr.proto) {
    case HP_ETHERNET:
        link = FK_LINK_ETHERNET;
        break;
    case HP_IPV4:
        link = FK_LINK_IPV4;
        break;
    case HP_IPV6:
        link = FK_LINK_IPV6;
        break;
    default:
        c->st->header_unparsed++;
        return;
    }
    fk_packet_parse(&pkt, link, r->u.hdr.hdr, r->u.hdr.hdr_len, r->u.hdr.frame_len,
                    c->dg->received_ns);
    if (pkt.err == FK_PERR_TRUNCATED || pkt.err == FK_PERR_INVALID)
        c->st->header_partial++;

    /* A later header record replaces what an earlier one said. */
    f->src_mac = f->dst_mac = 0;
    f->vlan_id = 0;
    f->n_mpls = 0;
    f->etype = 0;
    f->n_layers = 0;
    fill_l2(f, &pkt);
    if (!f->etype && link == FK_LINK_ETHERNET && r->u.hdr.hdr_len >= 14)
        f->etype = fk_load_be16(r->u.hdr.hdr + 12); /* e.g. MPLS over something not IP */
    fill_l3l4(f, &pkt);
    walk_packet(c, f, &pkt, link, 0, true);
    /* sflow.mapping: bits of the sampled header by layer, offset and length */
    const fc_mapping_t *m = fc_mapping_active();
    if (fc_mapping_has_packet(m))
        fc_mapping_packet(m, f, &pkt);
}

/* ---- flow visitor --------------------------------------------------------------- */

static void set_interfaces(sf_ctx_t *c, fc_flow_t *f, const sf_sample_t *s)
{
    if (!c->opts.if_index_only) {
        /* GoFlow2: the compact word as it is, the expanded value without its format. */
        f->in_if = s->input;
        f->out_if = s->output;
        return;
    }
    uint32_t in = s->type == SF_FLOW ? s->input & 0x3fffffff : s->input;
    uint32_t out = s->type == SF_FLOW ? s->output & 0x3fffffff : s->output;
    /* In the compact form, ifIndex 0x3fffffff means "not known" (sFlow v5 5.). */
    if (s->type == SF_FLOW && in == 0x3fffffff)
        in = 0;
    if (s->type == SF_FLOW && out == 0x3fffffff)
        out = 0;
    f->in_if = s->in_fmt == 0 ? in : 0;
    f->out_if = s->out_fmt == 0 ? out : 0;
    if (s->out_fmt == 1)
        f->forwarding_status = 128; /* discarded; the value is the reason code */
}

static int flow_dgram_begin(sf_ctx_t *c)
{
    (void)c;
    return 0;
}

static int flow_sample_begin(sf_ctx_t *c, const sf_sample_t *s)
{
    fc_flow_t *f = &c->flow;

    if (s->type != SF_FLOW && s->type != SF_FLOW_EXP)
        return 0;
    memset(f, 0, sizeof(*f));
    f->type = FC_SFLOW_5;
    f->time_received_ns = f->time_flow_start_ns = f->time_flow_end_ns = c->dg->received_ns;
    f->sequence_num = c->hdr.sequence_num;
    f->sampling_rate = s->rate;
    f->sampler_address = c->hdr.agent;
    f->packets = 1;
    set_interfaces(c, f, s);
    return 0;
}

static void apply_gateway(fc_flow_t *f, const sf_record_t *r)
{
    fk_cursor_t segs = r->u.gw.segs, comms = r->u.gw.comms;
    uint32_t first = 0, last = 0, n = 0, v, type, count;

    f->bgp_next_hop = r->u.gw.nh;
    /* All segments flattened in order (GoFlow2 keeps the path only when there
     * is exactly one segment). */
    f->n_as_path = 0;
    for (uint32_t i = 0; i < r->u.gw.nseg; i++) {
        if (!fk_cur_be32(&segs, &type) || !fk_cur_be32(&segs, &count))
            break;
        for (uint32_t k = 0; k < count && fk_cur_be32(&segs, &v); k++) {
            if (n++ == 0)
                first = v;
            last = v;
            if (f->n_as_path < FC_MAX_ASPATH)
                f->as_path[f->n_as_path++] = v;
            else
                f->truncated_lists++;
        }
    }
    f->n_bgp_communities = 0;
    while (fk_cur_be32(&comms, &v)) {
        if (f->n_bgp_communities < FC_MAX_COMMUNITIES)
            f->bgp_communities[f->n_bgp_communities++] = v;
        else
            f->truncated_lists++;
    }
    f->dst_as = n ? last : r->u.gw.as;
    f->next_hop_as = n ? first : 0;
    f->src_as = r->u.gw.src_as > 0 ? r->u.gw.src_as : r->u.gw.as;
}

static int flow_record(sf_ctx_t *c, const sf_sample_t *s, const sf_record_t *r, int status)
{
    fc_flow_t *f = &c->flow;

    if (status != SF_OK || (s->type != SF_FLOW && s->type != SF_FLOW_EXP))
        return 0;
    switch (r->format) {
    case FR_HEADER:
        apply_header(c, f, r);
        break;
    case FR_ETHERNET:
        /* GoFlow2 ignores this record; it fills only what no header gave. */
        if (!f->src_mac && !f->dst_mac) {
            f->src_mac = mac48(r->u.eth.src);
            f->dst_mac = mac48(r->u.eth.dst);
        }
        if (!f->etype)
            f->etype = r->u.eth.type;
        break;
    case FR_IPV4:
    case FR_IPV6:
        f->src_addr = r->u.ip.src;
        f->dst_addr = r->u.ip.dst;
        f->bytes = r->u.ip.length;
        f->proto = r->u.ip.proto;
        f->src_port = r->u.ip.sport;
        f->dst_port = r->u.ip.dport;
        f->tcp_flags = r->u.ip.tcp_flags;
        f->ip_tos = r->u.ip.tos;
        f->etype = r->format == FR_IPV4 ? 0x0800 : 0x86dd;
        break;
    case FR_SWITCH:
        f->src_vlan = r->u.sw.src_vlan;
        f->dst_vlan = r->u.sw.dst_vlan;
        break;
    case FR_ROUTER:
        f->next_hop = r->u.rt.nh;
        f->src_net = r->u.rt.src_mask;
        f->dst_net = r->u.rt.dst_mask;
        break;
    case FR_GATEWAY:
        apply_gateway(f, r);
        break;
    default:
        break;
    }
    return 0;
}

static int flow_sample_end(sf_ctx_t *c, const sf_sample_t *s, int status)
{
    if (status != SF_OK || (s->type != SF_FLOW && s->type != SF_FLOW_EXP))
        return 0;
    c->st->flows++;
    return c->emit ? c->emit(c->arg, &c->flow) : 0;
}

static int flow_sample_skip(sf_ctx_t *c, const sf_sample_t *s, int status)
{
    (void)c, (void)s, (void)status;
    return 0;
}

static void flow_dgram_end(sf_ctx_t *c)
{
    (void)c;
}

static const sf_visit_t flow_visitor = {
    flow_dgram_begin, flow_sample_begin, flow_record,
    flow_sample_end,  flow_sample_skip,  flow_dgram_end,
};

int fc_sflow_decode_ex(const fc_dgram_t *dg, const fc_sflow_opts_t *opts, fc_emit_fn emit,
                       void *arg, fc_sflow_stats_t *st, fc_sflow_hdr_t *hdr, fk_err_t *e)
{
    sf_ctx_t ctx;
    fc_sflow_stats_t local;
    sf_ctx_t *c = &ctx;

    memset(c, 0, offsetof(sf_ctx_t, flow));
    if (!st) {
        memset(&local, 0, sizeof(local));
        st = &local;
    }
    c->dg = dg;
    if (opts)
        c->opts = *opts;
    c->st = st;
    c->e = e;
    c->v = &flow_visitor;
    c->emit = emit;
    c->arg = arg;
    c->hdr_out = hdr;
    if (hdr)
        memset(hdr, 0, sizeof(*hdr));
    int rc = decode_datagram(c);
    return rc < 0 || c->failed ? -1 : 0;
}

int fc_sflow_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_sflow_stats_t *st,
                    fk_err_t *e)
{
    return fc_sflow_decode_ex(dg, NULL, emit, arg, st, NULL, e);
}

/* ---- JSON visitor: GoFlow2's "-produce raw" shape --------------------------------- */

static void json_key(fk_buf_t *b, const char *k)
{
    fk_buf_putc(b, '"');
    fk_buf_puts(b, k);
    fk_buf_puts(b, "\":");
}

static void json_u64(fk_buf_t *b, const char *k, uint64_t v)
{
    json_key(b, k);
    fk_buf_u64(b, v);
}

/* Go's encoding/json writes []byte as standard base64 with padding. */
static void json_base64(fk_buf_t *b, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fk_buf_putc(b, '"');
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t k = n - i;
        if (k > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (k > 2)
            v |= p[i + 2];
        char o[4] = {tab[v >> 18], tab[(v >> 12) & 63], k > 1 ? tab[(v >> 6) & 63] : '=',
                     k > 2 ? tab[v & 63] : '='};
        fk_buf_put(b, o, 4);
    }
    fk_buf_putc(b, '"');
}

/*
 * An address as Go's netip.Addr.String(): dotted IPv4; IPv4-mapped IPv6 as
 * "::ffff:a.b.c.d"; other IPv6 in RFC 5952 form (longest run of two or more
 * zero groups as "::", the first on a tie); no address as "invalid IP".
 */
static void json_ip_text(fk_buf_t *b, const fc_addr_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *v4 = NULL;

    if (a->len == 4) {
        v4 = a->a;
    } else if (a->len == 16 && memcmp(a->a, mapped, 12) == 0) {
        fk_buf_puts(b, "::ffff:");
        v4 = a->a + 12;
    } else if (a->len != 16) {
        fk_buf_puts(b, "invalid IP");
        return;
    }
    if (v4) {
        fk_buf_printf(b, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
        return;
    }
    uint16_t g[8];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8; i++)
        g[i] = fk_load_be16(a->a + 2 * i);
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i >= 2 && j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            fk_buf_puts(b, "::");
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len)
            fk_buf_putc(b, ':');
        fk_buf_printf(b, "%x", g[i]);
    }
}

static void json_ip(fk_buf_t *b, const char *k, const fc_addr_t *a)
{
    json_key(b, k);
    fk_buf_putc(b, '"');
    json_ip_text(b, a);
    fk_buf_putc(b, '"');
}

static void json_mac(fk_buf_t *b, const char *k, const uint8_t m[6])
{
    json_key(b, k);
    fk_buf_putc(b, '"');
    fk_buf_mac(b, m);
    fk_buf_putc(b, '"');
}

/* time.Time as Go marshals it (RFC 3339 with nanoseconds, trailing zeros cut), in UTC. */
static void json_time(fk_buf_t *b, uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000ULL);
    uint32_t frac = (uint32_t)(ns % 1000000000ULL);
    struct tm tm;
    char d[10];
    int n = 9;

    gmtime_r(&secs, &tm);
    fk_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac) {
        snprintf(d, sizeof(d), "%09u", frac);
        while (n > 0 && d[n - 1] == '0')
            n--;
        fk_buf_putc(b, '.');
        fk_buf_put(b, d, (size_t)n);
    }
    fk_buf_puts(b, "Z\"");
}

static int json_dgram_begin(sf_ctx_t *c)
{
    fk_buf_t *b = c->out;
    const fc_sflow_hdr_t *h = &c->hdr;

    fk_buf_puts(b, "{\"type\":\"sflow\",\"message\":{");
    json_u64(b, "version", h->version);
    fk_buf_putc(b, ',');
    json_u64(b, "ip-version", h->agent_type);
    fk_buf_putc(b, ',');
    json_ip(b, "agent-ip", &h->agent);
    fk_buf_putc(b, ',');
    json_u64(b, "sub-agent-id", h->sub_agent_id);
    fk_buf_putc(b, ',');
    json_u64(b, "sequence-number", h->sequence_num);
    fk_buf_putc(b, ',');
    json_u64(b, "uptime", h->uptime_ms);
    fk_buf_putc(b, ',');
    json_u64(b, "samples-count", h->samples_count);
    fk_buf_puts(b, ",\"samples\":[");
    return 0;
}

/* {"header":{format, length[, sequence and source id]} */
static void json_sample_header(sf_ctx_t *c, const sf_sample_t *s, bool full)
{
    fk_buf_t *b = c->out;

    if (c->nsamples_out++)
        fk_buf_putc(b, ',');
    fk_buf_puts(b, "{\"header\":{");
    json_u64(b, "format", s->format);
    fk_buf_putc(b, ',');
    json_u64(b, "length", s->length);
    if (full) {
        fk_buf_putc(b, ',');
        json_u64(b, "sample-sequence-number", s->seq);
        fk_buf_putc(b, ',');
        json_u64(b, "source-id-type", s->src_type);
        fk_buf_putc(b, ',');
        json_u64(b, "source-id-value", s->src_index);
    }
    fk_buf_putc(b, '}');
}

static int json_sample_begin(sf_ctx_t *c, const sf_sample_t *s)
{
    fk_buf_t *b = c->out;

    json_sample_header(c, s, true);
    c->nrecords_out = 0;
    if (s->type == SF_FLOW || s->type == SF_FLOW_EXP) {
        fk_buf_putc(b, ',');
        json_u64(b, "sampling-rate", s->rate);
        fk_buf_putc(b, ',');
        json_u64(b, "sample-pool", s->pool);
        fk_buf_putc(b, ',');
        json_u64(b, "drops", s->drops);
        fk_buf_putc(b, ',');
        if (s->type == SF_FLOW) {
            json_u64(b, "input", s->input);
            fk_buf_putc(b, ',');
            json_u64(b, "output", s->output);
        } else {
            json_u64(b, "input-if-format", s->in_fmt);
            fk_buf_putc(b, ',');
            json_u64(b, "input-if-value", s->input);
            fk_buf_putc(b, ',');
            json_u64(b, "output-if-format", s->out_fmt);
            fk_buf_putc(b, ',');
            json_u64(b, "output-if-value", s->output);
        }
        fk_buf_putc(b, ',');
        json_u64(b, "flow-records-count", s->nrecords);
    } else {
        fk_buf_putc(b, ',');
        json_u64(b, "counter-records-count", s->nrecords);
    }
    fk_buf_puts(b, ",\"records\":[");
    return 0;
}

static void json_gateway(fk_buf_t *b, const sf_record_t *r)
{
    fk_cursor_t segs = r->u.gw.segs, comms = r->u.gw.comms;
    uint32_t v, type = 0, count = 0;

    json_u64(b, "next-hop-ip-version", r->u.gw.nh_type);
    fk_buf_putc(b, ',');
    json_ip(b, "next-hop", &r->u.gw.nh);
    fk_buf_putc(b, ',');
    json_u64(b, "as", r->u.gw.as);
    fk_buf_putc(b, ',');
    json_u64(b, "src-as", r->u.gw.src_as);
    fk_buf_putc(b, ',');
    json_u64(b, "src-peer-as", r->u.gw.src_peer_as);
    fk_buf_putc(b, ',');
    json_u64(b, "as-destinations", r->u.gw.nseg);
    /* GoFlow2 fills as-path-type/-length/as-path only for exactly one segment. */
    if (r->u.gw.nseg == 1) {
        fk_cursor_t one = segs;
        fk_cur_be32(&one, &type);
        fk_cur_be32(&one, &count);
    }
    fk_buf_putc(b, ',');
    json_u64(b, "as-path-type", type);
    fk_buf_putc(b, ',');
    json_u64(b, "as-path-length", count);
    fk_buf_puts(b, ",\"as-path\":");
    if (r->u.gw.nseg == 1) {
        fk_cursor_t one = segs;
        fk_cur_skip(&one, 8);
        fk_buf_putc(b, '[');
        for (uint32_t k = 0; k < count && fk_cur_be32(&one, &v); k++) {
            if (k)
                fk_buf_putc(b, ',');
            fk_buf_u64(b, v);
        }
        fk_buf_putc(b, ']');
    } else {
        fk_buf_puts(b, "null");
    }
    fk_buf_puts(b, ",\"dst-as-path\":[");
    for (uint32_t i = 0; i < r->u.gw.nseg; i++) {
        if (!fk_cur_be32(&segs, &type) || !fk_cur_be32(&segs, &count))
            break;
        if (i)
            fk_buf_putc(b, ',');
        fk_buf_putc(b, '{');
        json_u64(b, "type", type);
        fk_buf_puts(b, ",\"path\":[");
        for (uint32_t k = 0; k < count && fk_cur_be32(&segs, &v); k++) {
            if (k)
                fk_buf_putc(b, ',');
            fk_buf_u64(b, v);
        }
        fk_buf_puts(b, "]}");
    }
    fk_buf_puts(b, "],");
    json_u64(b, "communities-length", r->u.gw.ncomm);
    fk_buf_puts(b, ",\"communities\":[");
    for (uint32_t k = 0; fk_cur_be32(&comms, &v); k++) {
        if (k)
            fk_buf_putc(b, ',');
        fk_buf_u64(b, v);
    }
    fk_buf_puts(b, "],");
    json_u64(b, "local-pref", r->u.gw.localpref);
}

static void json_record_data(fk_buf_t *b, const sf_sample_t *s, const sf_record_t *r)
{
    bool flow = s->type == SF_FLOW || s->type == SF_FLOW_EXP;

    fk_buf_putc(b, '{');
    if (!flow) {
        for (size_t i = 0; r->u.ctr.table[i].name; i++) {
            if (i)
                fk_buf_putc(b, ',');
            json_u64(b, r->u.ctr.table[i].name, r->u.ctr.v[i]);
        }
        fk_buf_putc(b, '}');
        return;
    }
    switch (r->format) {
    case FR_HEADER:
        json_u64(b, "protocol", r->u.hdr.proto);
        fk_buf_putc(b, ',');
        json_u64(b, "frame-length", r->u.hdr.frame_len);
        fk_buf_putc(b, ',');
        json_u64(b, "stripped", r->u.hdr.stripped);
        fk_buf_putc(b, ',');
        /* GoFlow2 names the header length "original-length". */
        json_u64(b, "original-length", r->u.hdr.hdr_len);
        fk_buf_putc(b, ',');
        json_key(b, "header-data");
        json_base64(b, r->u.hdr.hdr, r->u.hdr.hdr_len);
        break;
    case FR_ETHERNET:
        json_u64(b, "length", r->u.eth.length);
        fk_buf_putc(b, ',');
        json_mac(b, "src-mac", r->u.eth.src);
        fk_buf_putc(b, ',');
        json_mac(b, "dst-mac", r->u.eth.dst);
        fk_buf_putc(b, ',');
        json_u64(b, "eth-type", r->u.eth.type);
        break;
    case FR_IPV4:
    case FR_IPV6:
        json_u64(b, "length", r->u.ip.length);
        fk_buf_putc(b, ',');
        json_u64(b, "protocol", r->u.ip.proto);
        fk_buf_putc(b, ',');
        json_ip(b, "src-ip", &r->u.ip.src);
        fk_buf_putc(b, ',');
        json_ip(b, "dst-ip", &r->u.ip.dst);
        fk_buf_putc(b, ',');
        json_u64(b, "src-port", r->u.ip.sport);
        fk_buf_putc(b, ',');
        json_u64(b, "dst-port", r->u.ip.dport);
        fk_buf_putc(b, ',');
        json_u64(b, "tcp-flags", r->u.ip.tcp_flags);
        fk_buf_putc(b, ',');
        json_u64(b, r->format == FR_IPV4 ? "tos" : "priority", r->u.ip.tos);
        break;
    case FR_SWITCH:
        json_u64(b, "src-vlan", r->u.sw.src_vlan);
        fk_buf_putc(b, ',');
        json_u64(b, "src-priority", r->u.sw.src_prio);
        fk_buf_putc(b, ',');
        json_u64(b, "dst-vlan", r->u.sw.dst_vlan);
        fk_buf_putc(b, ',');
        json_u64(b, "dst-priority", r->u.sw.dst_prio);
        break;
    case FR_ROUTER:
        json_u64(b, "next-hop-ip-version", r->u.rt.nh_type);
        fk_buf_putc(b, ',');
        json_ip(b, "next-hop", &r->u.rt.nh);
        fk_buf_putc(b, ',');
        json_u64(b, "src-mask-len", r->u.rt.src_mask);
        fk_buf_putc(b, ',');
        json_u64(b, "dst-mask-len", r->u.rt.dst_mask);
        break;
    case FR_GATEWAY:
        json_gateway(b, r);
        break;
    default:
        break;
    }
    fk_buf_putc(b, '}');
}

static int json_record(sf_ctx_t *c, const sf_sample_t *s, const sf_record_t *r, int status)
{
    fk_buf_t *b = c->out;

    if (c->nrecords_out++)
        fk_buf_putc(b, ',');
    fk_buf_puts(b, "{\"header\":{");
    json_u64(b, "data-format", r->format);
    fk_buf_putc(b, ',');
    json_u64(b, "length", r->length);
    fk_buf_puts(b, "},\"data\":");
    switch (status) {
    case SF_OK:
        json_record_data(b, s, r);
        break;
    case SF_UNKNOWN: /* GoFlow2's RawRecord */
        fk_buf_puts(b, "{\"data\":");
        json_base64(b, r->body.p, fk_cur_left(&r->body));
        fk_buf_putc(b, '}');
        break;
    default:
        fk_buf_puts(b, "null,\"error\":\"");
        fk_buf_puts(b, status_name(status));
        fk_buf_putc(b, '"');
        break;
    }
    fk_buf_putc(b, '}');
    return 0;
}

static int json_sample_end(sf_ctx_t *c, const sf_sample_t *s, int status)
{
    (void)s;
    fk_buf_putc(c->out, ']');
    if (status != SF_OK) {
        fk_buf_puts(c->out, ",\"error\":\"");
        fk_buf_puts(c->out, status_name(status));
        fk_buf_putc(c->out, '"');
    }
    fk_buf_putc(c->out, '}');
    return 0;
}

static int json_sample_skip(sf_ctx_t *c, const sf_sample_t *s, int status)
{
    fk_buf_t *b = c->out;

    json_sample_header(c, s, false);
    if (status == SF_UNKNOWN) { /* GoFlow2's RawSample: header and bytes */
        fk_buf_puts(b, ",\"data\":");
        json_base64(b, s->body.p, fk_cur_left(&s->body));
    } else {
        fk_buf_puts(b, ",\"error\":\"");
        fk_buf_puts(b, status_name(status));
        fk_buf_putc(b, '"');
    }
    fk_buf_putc(b, '}');
    return 0;
}

static void json_dgram_end(sf_ctx_t *c)
{
    fk_buf_t *b = c->out;
    const fc_dgram_t *dg = c->dg;

    fk_buf_puts(b, "]},\"src\":\"");
    /* netip.AddrPort.String() of GoFlow2's dual-stack socket: IPv4 sources
     * arrive IPv4-mapped, "[::ffff:192.0.2.1]:6343". */
    if (dg->src.len == 4 || dg->src.len == 16) {
        fc_addr_t a = dg->src;
        if (a.len == 4) {
            memmove(a.a + 12, a.a, 4);
            memset(a.a, 0, 10);
            a.a[10] = a.a[11] = 0xff;
            a.len = 16;
        }
        fk_buf_putc(b, '[');
        json_ip_text(b, &a);
        fk_buf_printf(b, "]:%u", dg->src_port);
    } else {
        fk_buf_puts(b, "invalid AddrPort");
    }
    fk_buf_puts(b, "\",");
    json_key(b, "time_received");
    json_time(b, dg->received_ns);
    fk_buf_putc(b, '}');
}

static const sf_visit_t json_visitor = {
    json_dgram_begin, json_sample_begin, json_record,
    json_sample_end,  json_sample_skip,  json_dgram_end,
};

int fc_sflow_raw_json(const fc_dgram_t *dg, fk_buf_t *out, fk_err_t *e)
{
    sf_ctx_t c;
    fc_sflow_stats_t st;

    memset(&c, 0, offsetof(sf_ctx_t, flow));
    memset(&st, 0, sizeof(st));
    c.dg = dg;
    c.st = &st;
    c.e = e;
    c.v = &json_visitor;
    c.out = out;
    c.nsamples_out = c.nrecords_out = 0;
    if (decode_datagram(&c) < 0)
        return -1;
    if (out->error) {
        if (e)
            fk_errf(e, "sflow: JSON output: %s", strerror(out->error));
        return -1;
    }
    return 0;
}
