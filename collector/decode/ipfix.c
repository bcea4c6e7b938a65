/*
 * ipfix.c - IPFIX (RFC 7011) datagrams to common records, on lib/ipfix's
 * reader.  Templates are kept per (exporter address and port, observation
 * domain, template id); a message's template sets are read before its data
 * sets; options data records give sampling rates for their domain.
 *
 * Elements that GoFlow2's FlowMessage carries fill its columns (fields.c);
 * every other element becomes an extra value of the record (registry.h):
 * named by flowkit's element registry (flowprobe's enterprise, reverse and
 * IANA fields, strings, basicLists), or kept as an unknown {pen, id, value}.
 */
#include <string.h>

#include "../../lib/packet/packet.h"
#include "../mapping.h"
#include "decode.h"
#include "registry.h"

typedef struct ictx_st {
    const fc_dgram_t *dg;
    fc_emit_fn emit;
    void *arg;
    fc_state_t *s;
    fc_dstats_t *st;
    fc_xkey_t k;
    fk_ipfix_hdr_t hdr;
    uint64_t rate;
    const fk_ipfix_tmpl_t *plan_t; /* the template last looked up, and its plan */
    const fc_nfplan_t *plan;
    bool first;      /* no data record of this datagram decoded yet */
    bool init_known; /* init_ms is the exporter's for domain init_odid */
    uint32_t init_odid;
    uint64_t init_ms;
} ictx_t;

static const fk_ipfix_tmpl_t *lookup(void *store, uint32_t odid, uint16_t id)
{
    ictx_t *c = store;
    c->k.domain = odid;
    c->plan_t = fc_state_template_plan(c->s, &c->k, id, c->dg->received_ns, &c->plan);
    return c->plan_t;
}

static int put(void *store, uint32_t odid, const fk_ipfix_tmpl_t *t)
{
    ictx_t *c = store;
    c->k.domain = odid;
    return fc_state_put_template(c->s, &c->k, t, c->dg->received_ns);
}

static const fk_ipfix_store_ops_t ops = {lookup, put};

/* The fields every record of the message gets, before its own; `extras`:
 * the record may get extra values (registry.h), in this thread's scratch. */
static inline __attribute__((always_inline)) void
record_start(ictx_t *c, fc_flow_t *f, uint32_t odid, fc_nfctx_t *cx, bool extras)
{
    c->k.domain = odid;
    if (!c->init_known || c->init_odid != odid) { /* one lookup per domain and datagram */
        c->init_ms = fc_state_init_ms(c->s, &c->k);
        c->init_odid = odid;
        c->init_known = true;
    }
    *cx = (fc_nfctx_t){10, 0, c->init_ms, c->hdr.export_time, false, false, 0, 0};
    f->type = FC_IPFIX;
    f->time_received_ns = c->dg->received_ns;
    f->sequence_num = c->hdr.sequence;
    f->sampler_address = c->dg->src;
    f->observation_domain_id = odid;
    if (extras) {
        fc_extras_begin(f, c->first);
        c->first = false;
    }
}

/* The header's defaults for what the record did not say; the record out. */
static inline __attribute__((always_inline)) int record_end(ictx_t *c, fc_flow_t *f,
                                                            const fc_nfctx_t *cx)
{
    if (!cx->have_rate)
        f->sampling_rate = c->rate;
    if (!cx->have_time)
        f->time_flow_start_ns = f->time_flow_end_ns = (uint64_t)c->hdr.export_time * 1000000000ULL;
    c->st->records++;
    return c->emit(c->arg, f);
}

/*
 * A record of a fixed-length template, as its bytes: the template's plan
 * reads the fields at their offsets (no value array).  Options records, a
 * template without a plan and a mapping file take the value path (on_record).
 */
static int on_fixed(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const uint8_t *rec)
{
    ictx_t *c = arg;
    if (t != c->plan_t || !c->plan || t->options || fc_mapping_active())
        return FK_IPFIX_AS_VALUES;
    fc_flow_t f;
    fc_nfctx_t cx;
    fc_flow_clear(&f);
    /* a plan adds extra values only when they are wanted (none with -format
     * bin): else the record keeps fc_flow_clear's none */
    record_start(c, &f, odid, &cx, fc_extras_wanted());
    fc_nf_plan_run(c->plan, t, &f, &cx, rec, NULL);
    return record_end(c, &f, &cx);
}

static int on_record(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const fk_ipfix_value_t *v,
                     size_t n)
{
    ictx_t *c = arg;

    if (t->options) {
        c->st->option_records++;
        c->k.domain = odid;
        uint64_t r = fc_nf_options_rate(t, v, n);
        if (r) {
            fc_state_set_sampling(c->s, &c->k, r);
            c->rate = r;
        }
        for (size_t i = 0; i < n; i++)
            if (v[i].ie->pen == 0 && v[i].ie->id == 160 && v[i].len == 8) {
                fc_state_set_init_ms(c->s, &c->k, fc_be_uint(v[i].p, 8));
                c->init_known = false;
            }
        return 0;
    }
    fc_flow_t f;
    fc_nfctx_t cx;
    const fc_mapping_t *m = fc_mapping_active();
    /* The template's plan (fields.c) when this is the template it came with
     * and no mapping file reads the elements; else element by element. */
    const fc_nfplan_t *plan = !m && t == c->plan_t ? c->plan : NULL;
    if (plan)
        fc_flow_clear(&f);
    else
        memset(&f, 0, sizeof(f));
    record_start(c, &f, odid, &cx, true);
    if (plan)
        /* fixed-length records: offsets from the first value, as v9 */
        fc_nf_plan_run(plan, t, &f, &cx, t->fixed_len ? v[0].p : NULL, t->fixed_len ? NULL : v);
    for (size_t i = 0; !plan && i < n; i++) {
        int r = fc_nf_apply(&f, &cx, v[i].ie->pen, v[i].ie->id, v[i].p, v[i].len);
        /* ipfix.mapping after the built-in handling (a mapping wins); an
         * element a mapping took is not repeated as an extra value */
        if (m &&
            fc_mapping_nf(m, &f, 10, v[i].ie->pen, v[i].ie->id, v[i].p, v[i].len, &cx.have_rate))
            r = FC_NF_COLUMN;
        if (m && v[i].ie->pen == 0 && v[i].ie->id == 315 && fc_mapping_has_packet(m)) {
            /* dataLinkFrameSection (RFC 7133 4.7): the frame's first bytes,
             * read by sflow.mapping as GoFlow2 does (an Ethernet frame, as
             * IANA's description of element 315 says) */
            fk_packet_t pkt;
            fk_packet_parse(&pkt, FK_LINK_ETHERNET, v[i].p, v[i].len, v[i].len, c->dg->received_ns);
            fc_mapping_packet(m, &f, &pkt);
        }
        if (r != FC_NF_COLUMN)
            fc_extras_add(&f, v[i].ie, v[i].p, v[i].len);
    }
    return record_end(c, &f, &cx);
}

int fc_ipfix_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_state_t *s,
                    fc_dstats_t *st, fk_err_t *e)
{
    ictx_t c;
    fk_ipfix_stats_t is = {0};
    int rc;

    memset(&c, 0, sizeof(c));
    c.dg = dg;
    c.emit = emit;
    c.arg = arg;
    c.s = s;
    c.st = st;
    c.first = true;
    c.k = (fc_xkey_t){dg->src, dg->src_port, 10, 0};
    st->datagrams++;
    /* Templates first, so data sets before their template in this message decode. */
    rc = fk_ipfix_decode_ex(dg->data, dg->len, FK_IPFIX_TEMPLATES, &c.hdr, &c, &ops, NULL, NULL,
                            &is, e);
    if (c.hdr.version == FK_IPFIX_VERSION) {
        c.k.domain = c.hdr.odid;
        c.rate = fc_state_sampling(s, &c.k);
        uint64_t before = is.records;
        int r2 = fk_ipfix_decode_fixed(dg->data, dg->len, FK_IPFIX_DATA, &c.hdr, &c, &ops,
                                       on_record, on_fixed, &c, &is, e);
        if (r2 < 0)
            rc = -1;
        c.k.domain = c.hdr.odid;
        fc_state_sequence(s, &c.k, c.hdr.sequence, (uint32_t)(is.records - before), st);
    }
    st->templates += is.templates;
    st->withdrawals += is.withdrawals;
    st->truncated += is.truncated;
    st->invalid += is.invalid;
    st->bad_version += is.unsupported;
    st->no_template += is.no_template;
    return rc;
}
