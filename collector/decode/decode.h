/*
 * decode.h - what the NetFlow v5, NetFlow v9 and IPFIX decoders share: the
 * per-exporter state (templates, sampling rates, sequence tracking), the
 * counters, and the mapping of information elements to the common record.
 *
 * Decoders are functions of (datagram bytes, exporter state) -> records; the
 * state is owned by the caller, one per receiving thread (or shared under the
 * caller's lock).
 */
#ifndef FC_DECODE_H
#define FC_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/core/log.h"
#include "../../lib/ipfix/ipfix.h"
#include "../record.h"

/* Counters for every error class (STYLE rule 2), per collector. */
typedef struct fc_dstats_st {
    uint64_t datagrams;      /* datagrams given to a decoder */
    uint64_t records;        /* flow records emitted */
    uint64_t templates;      /* (options) templates learned */
    uint64_t withdrawals;    /* template withdrawals */
    uint64_t option_records; /* options data records read (sampling rates ...) */
    uint64_t truncated;      /* datagrams shorter than their headers say */
    uint64_t invalid;        /* lengths or counts that contradict each other */
    uint64_t bad_version;    /* not the protocol the listener expects */
    uint64_t no_template;    /* data sets whose template is unknown */
    uint64_t seq_lost;       /* datagrams/records missing by sequence numbers */
    uint64_t seq_reset;      /* sequence jumps backwards (exporter restart) */
} fc_dstats_t;

/* Key of everything an exporter announces: its address and port, the
 * protocol version and the observation domain (v9: source id). */
typedef struct fc_xkey_st {
    fc_addr_t addr;
    uint16_t port;
    uint8_t version;
    uint32_t domain;
} fc_xkey_t;

typedef struct fc_state_st fc_state_t;

/* New state; `ttl_ns` expires templates unused for that long (0 = never). */
fc_state_t *fc_state_new(uint64_t ttl_ns);
void fc_state_free(fc_state_t *s);

/* Template for (key, id), or NULL; refreshes its last-used time when `touch`. */
const fk_ipfix_tmpl_t *fc_state_template(fc_state_t *s, const fc_xkey_t *k, uint16_t id,
                                         uint64_t now_ns);
/* Store (or withdraw, when t->nfields == 0) a template. 0 or -1 (no memory). */
int fc_state_put_template(fc_state_t *s, const fc_xkey_t *k, const fk_ipfix_tmpl_t *t,
                          uint64_t now_ns);
/* Drop templates unused for the TTL (0: keep) and exporter entries (rates,
 * sequences) idle for an hour; returns how many templates went. */
size_t fc_state_expire(fc_state_t *s, uint64_t now_ns);
/* Templates held. */
size_t fc_state_templates(const fc_state_t *s);

/*
 * -templates.ttl.extend-on-access: a lookup by a data set also restarts the
 * template's TTL (default off, as GoFlow2: the TTL runs from the last time
 * the exporter announced the template).
 */
void fc_state_set_extend_on_access(fc_state_t *s, bool on);

/* A number that changes whenever a template is added, replaced, withdrawn or
 * expired (persistence writes only when it moved). */
uint64_t fc_state_generation(const fc_state_t *s);

/* One stored template, as fc_state_foreach_template hands it out (valid during the call). */
typedef struct fc_tmpl_info_st {
    const fc_xkey_t *k; /* exporter address and port, version, domain */
    uint16_t id;
    const fk_ipfix_tmpl_t *t;
    uint64_t added_ns;    /* wall-clock ns of the first announcement */
    uint64_t updated_ns;  /* of the last announcement */
    uint64_t accessed_ns; /* of the last lookup, 0 never */
    uint64_t updates;     /* announcements so far */
} fc_tmpl_info_t;
typedef void (*fc_tmpl_fn)(void *arg, const fc_tmpl_info_t *ti);

/* Call fn for every template (caller holds the state's lock); returns how many. */
size_t fc_state_foreach_template(const fc_state_t *s, fc_tmpl_fn fn, void *arg);

/*
 * Forget the templates of one transport session (exporter address and port):
 * RFC 7011 section 8, templates live until withdrawn or until the transport
 * session (a TCP connection) closes.  Returns how many went.
 */
size_t fc_state_drop_session(fc_state_t *s, const fc_addr_t *addr, uint16_t port);

/*
 * systemInitTimeMilliseconds (IE 160) announced in options data for (addr,
 * version, domain), 0 if none: IPFIX exporters that report flow times as
 * sysUpTime (IE 21/22, softflowd does) need it to give absolute times.
 */
uint64_t fc_state_init_ms(fc_state_t *s, const fc_xkey_t *k);
void fc_state_set_init_ms(fc_state_t *s, const fc_xkey_t *k, uint64_t ms);

/* Sampling rate announced in options data for (addr, version, domain); 0 if none. */
uint64_t fc_state_sampling(fc_state_t *s, const fc_xkey_t *k);
void fc_state_set_sampling(fc_state_t *s, const fc_xkey_t *k, uint64_t rate);

/*
 * A static sampling rate for an exporter address, for devices that announce
 * none (flowkit's -sampling.override).  It applies when options data gave no
 * rate.
 */
void fc_state_set_override(fc_state_t *s, const fc_addr_t *addr, uint64_t rate);

/*
 * Sequence tracking: the exporter says `seq` for this datagram and that it
 * covers `count` units (records for v5/IPFIX, datagrams for v9/sFlow).  Gaps
 * are added to st->seq_lost, backward jumps to st->seq_reset.
 */
void fc_state_sequence(fc_state_t *s, const fc_xkey_t *k, uint32_t seq, uint32_t count,
                       fc_dstats_t *st);

/* Context for turning one data record into an fc_flow_t. */
typedef struct fc_nfctx_st {
    uint8_t version;       /* 9 or 10 */
    uint32_t uptime_ms;    /* v9: sysUptime of the header */
    uint64_t init_ms;      /* IPFIX: the exporter's systemInitTimeMilliseconds, 0 unknown */
    uint32_t export_secs;  /* v9/IPFIX: header export time */
    bool have_time;        /* a time field was seen */
    bool have_rate;        /* a sampling rate field was seen in the record */
    uint64_t pkt_interval; /* 305 seen in an options record */
    uint64_t pkt_space;    /* 306 seen in an options record */
} fc_nfctx_t;

/*
 * Apply one information element (IANA numbering, shared by v9 and IPFIX for
 * the fields the common record has) to `f`.  Returns FC_NF_COLUMN when the
 * element is one of those (even when its value was unusable, e.g. a wrong
 * length), FC_NF_PARTIAL when its column keeps only part of what was sent
 * (fragmentFlags, MPLS label stack sections, IPFIX sysUpTime times without
 * the exporter's init time), FC_NF_NONE for unknown or enterprise elements,
 * which it ignores.  IPFIX gives the NONE and PARTIAL ones to flowkit's
 * element registry (registry.h) as extra values; the mapping file may map them.
 */
#define FC_NF_NONE    0
#define FC_NF_COLUMN  1
#define FC_NF_PARTIAL 2
int fc_nf_apply(fc_flow_t *f, fc_nfctx_t *cx, uint32_t pen, uint16_t id, const uint8_t *v,
                size_t len);

/*
 * A data template compiled for decoding (fields.c): what fc_nf_apply does
 * for each of its fields, resolved once.  fc_nf_plan_run(plan, t, f, cx,
 * rec, v) has the effect of fc_nf_apply over the record's fields in
 * template order and, for IPFIX (version 10), of adding the values that are
 * not columns as extra values (fc_extras_add).  v9 passes the record's first
 * byte and v = NULL (fixed-length templates); IPFIX passes the reader's
 * values.  fc_nf_plan_new returns NULL for options templates (and without
 * memory): decode those the general way.  Plans assume no mapping file.
 */
typedef struct fc_nfplan_st fc_nfplan_t;
fc_nfplan_t *fc_nf_plan_new(const fk_ipfix_tmpl_t *t, uint8_t version);
void fc_nf_plan_free(fc_nfplan_t *pl);
void fc_nf_plan_run(const fc_nfplan_t *pl, const fk_ipfix_tmpl_t *t, fc_flow_t *f, fc_nfctx_t *cx,
                    const uint8_t *rec, const fk_ipfix_value_t *v);

/* fc_state_template, and the template's plan (NULL if it has none). */
const fk_ipfix_tmpl_t *fc_state_template_plan(fc_state_t *s, const fc_xkey_t *k, uint16_t id,
                                              uint64_t now_ns, const fc_nfplan_t **plan);

/* The sampling rate carried by an options data record, 0 if none (305/306, 50, 34). */
uint64_t fc_nf_options_rate(const fk_ipfix_tmpl_t *t, const fk_ipfix_value_t *v, size_t n);

/* Decoders: 0 when the datagram was understood, -1 when something was skipped
 * (counted in st, first problem in e).  Records go to emit(arg, flow). */
int fc_nfv5_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_state_t *s, fc_dstats_t *st,
                   fk_err_t *e);
int fc_nfv9_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_state_t *s, fc_dstats_t *st,
                   fk_err_t *e);
int fc_ipfix_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_state_t *s,
                    fc_dstats_t *st, fk_err_t *e);

/*
 * -produce raw: the datagram's structure (header, template definitions, data
 * sets as hex) as one JSON object appended to b.  0, or -1 when the header
 * itself is cut short (b is then left as it was).
 */
struct fk_buf_st;
int fc_nf_raw_json(const fc_dgram_t *dg, struct fk_buf_st *b, fk_err_t *e);

/* Big-endian unsigned of 1..8 bytes (longer values keep the low 8 bytes). */
static inline uint64_t fc_be_uint(const uint8_t *p, size_t len)
{
    uint64_t v = 0;
    if (len > 8) {
        p += len - 8;
        len = 8;
    }
    for (size_t i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

#endif /* FC_DECODE_H */
