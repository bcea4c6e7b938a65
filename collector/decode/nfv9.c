/*
 * nfv9.c - NetFlow v9 (RFC 3954).
 *
 * Header, 20 bytes: version(2)=9 count(2) sysUptime(4, ms) UNIX secs(4)
 *                   sequence(4, per packet) source id(4)
 * FlowSets: id(2) length(2), then
 *   id 0  templates:         template id(2) field count(2) {type(2) length(2)}...
 *   id 1  options templates: template id(2) scope length(2) option length(2)
 *                            {type(2) length(2)} scopes then options (lengths in bytes)
 *   id >= 256  data records of that template, padding to 4 bytes allowed.
 * Templates are kept per (exporter address and port, source id, template id).
 * Template sets are read before data sets, so data that precedes its
 * template in the same packet still decodes.
 */
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../mapping.h"
#include "decode.h"

typedef struct v9ctx_st {
    const fc_dgram_t *dg;
    fc_emit_fn emit;
    void *arg;
    fc_state_t *s;
    fc_dstats_t *st;
    fc_xkey_t k;
    uint32_t uptime, secs, seq;
    uint64_t rate;
} v9ctx_t;

static int read_templates(v9ctx_t *c, fk_cursor_t set, bool options, fk_err_t *e)
{
    static __thread fk_ipfix_tmpl_t t;
    int rc = 0;

    while (fk_cur_left(&set) >= 4) {
        uint16_t id = 0, a = 0, b = 0;
        if (!fk_cur_be16(&set, &id) || !fk_cur_be16(&set, &a))
            break;
        if (id == 0 && a == 0)
            break; /* padding */
        memset(&t, 0, offsetof(fk_ipfix_tmpl_t, f));
        t.id = id;
        t.options = options;
        uint16_t nscope = 0, nfields;
        if (options) {
            /* scope and option lengths are in bytes, 4 bytes per field */
            if (!fk_cur_be16(&set, &b) || a % 4 || b % 4) {
                c->st->invalid++;
                return fk_errf(e, "netflow v9: options template %u: lengths %u/%u", id, a, b);
            }
            nscope = a / 4;
            nfields = (uint16_t)(nscope + b / 4);
        } else {
            nfields = a;
        }
        if (id < 256 || nfields > FK_IPFIX_MAX_FIELDS || (!options && nfields == 0)) {
            c->st->invalid++;
            return fk_errf(e, "netflow v9: template %u with %u fields", id, nfields);
        }
        uint32_t fixed = 0;
        for (uint16_t i = 0; i < nfields; i++) {
            uint16_t ft, fl;
            if (!fk_cur_be16(&set, &ft) || !fk_cur_be16(&set, &fl)) {
                c->st->invalid++;
                return fk_errf(e, "netflow v9: template %u runs past its flowset", id);
            }
            t.f[i].id = ft;
            t.f[i].len = fl;
            fixed += fl;
        }
        if (fixed == 0) {
            c->st->invalid++;
            return fk_errf(e, "netflow v9: template %u has only zero-length fields", id);
        }
        t.nfields = nfields;
        t.scope = nscope;
        t.fixed_len = fixed;
        c->st->templates++;
        if (fc_state_put_template(c->s, &c->k, &t, c->dg->received_ns) < 0)
            rc = fk_errf(e, "netflow v9: out of memory for templates");
    }
    return rc;
}

/* The header fields every record of the datagram gets. */
static void record_start(v9ctx_t *c, fc_flow_t *f)
{
    f->type = FC_NETFLOW_V9;
    f->time_received_ns = c->dg->received_ns;
    f->sequence_num = c->seq;
    f->sampler_address = c->dg->src;
    f->observation_domain_id = c->k.domain;
}

static int record_end(v9ctx_t *c, fc_flow_t *f, const fc_nfctx_t *cx)
{
    if (!cx->have_rate) /* a rate in the record itself wins (GoFlow2 quirk 3 fixed) */
        f->sampling_rate = c->rate;
    if (!cx->have_time) /* no time field: the export time, as GoFlow2 */
        f->time_flow_start_ns = f->time_flow_end_ns = (uint64_t)c->secs * 1000000000ULL;
    c->st->records++;
    return c->emit(c->arg, f);
}

static int read_data(v9ctx_t *c, const fk_ipfix_tmpl_t *t, const fc_nfplan_t *plan, fk_cursor_t set)
{
    static __thread fk_ipfix_value_t v[FK_IPFIX_MAX_FIELDS];
    const fc_mapping_t *m = fc_mapping_active();
    fc_flow_t f;

    if (!t->options && plan && !m) {
        /* The template's plan (fields.c): no value array, no per-field
         * dispatch on the element id, and a record cleared up to its lists. */
        while (fk_cur_left(&set) >= t->fixed_len) {
            fc_nfctx_t cx = {9, c->uptime, 0, c->secs, false, false, 0, 0};
            fc_flow_clear(&f);
            record_start(c, &f);
            fc_nf_plan_run(plan, t, &f, &cx, set.p, NULL);
            set.p += t->fixed_len;
            if (record_end(c, &f, &cx))
                return 1;
        }
        return 0;
    }
    while (fk_cur_left(&set) >= t->fixed_len) {
        for (uint16_t i = 0; i < t->nfields; i++) {
            v[i].ie = &t->f[i];
            v[i].p = set.p;
            v[i].len = t->f[i].len;
            set.p += t->f[i].len;
        }
        if (t->options) {
            c->st->option_records++;
            uint64_t r = fc_nf_options_rate(t, v, t->nfields);
            if (r) {
                fc_state_set_sampling(c->s, &c->k, r);
                c->rate = r;
            }
            continue;
        }
        fc_nfctx_t cx = {9, c->uptime, 0, c->secs, false, false, 0, 0};
        memset(&f, 0, sizeof(f));
        record_start(c, &f);
        for (uint16_t i = 0; i < t->nfields; i++) {
            fc_nf_apply(&f, &cx, 0, t->f[i].id, v[i].p, v[i].len);
            /* netflowv9.mapping after the built-in handling: a mapping wins */
            if (m)
                fc_mapping_nf(m, &f, 9, 0, t->f[i].id, v[i].p, v[i].len, &cx.have_rate);
        }
        if (record_end(c, &f, &cx))
            return 1;
    }
    return 0;
}

int fc_nfv9_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_state_t *s, fc_dstats_t *st,
                   fk_err_t *e)
{
    fk_cursor_t c = fk_cur_make(dg->data, dg->len);
    v9ctx_t x;
    uint16_t ver = 0, count = 0;
    uint32_t srcid = 0;
    int rc = 0;

    st->datagrams++;
    memset(&x, 0, sizeof(x));
    if (!fk_cur_be16(&c, &ver) || !fk_cur_be16(&c, &count) || !fk_cur_be32(&c, &x.uptime) ||
        !fk_cur_be32(&c, &x.secs) || !fk_cur_be32(&c, &x.seq) || !fk_cur_be32(&c, &srcid)) {
        st->truncated++;
        return fk_errf(e, "netflow v9: %zu bytes, shorter than the 20-byte header", dg->len);
    }
    if (ver != 9) {
        st->bad_version++;
        return fk_errf(e, "netflow v9: version %u", ver);
    }
    x.dg = dg;
    x.emit = emit;
    x.arg = arg;
    x.s = s;
    x.st = st;
    x.k = (fc_xkey_t){dg->src, dg->src_port, 9, srcid};
    fc_state_sequence(s, &x.k, x.seq, 1, st);
    x.rate = fc_state_sampling(s, &x.k);

    /* Two passes: templates first, then data and options data. */
    for (int pass = 0; pass < 2; pass++) {
        fk_cursor_t sets = c;
        while (fk_cur_left(&sets) >= 4) {
            uint16_t id = 0, len = 0;
            fk_cursor_t body;
            fk_cur_be16(&sets, &id);
            fk_cur_be16(&sets, &len);
            if (len < 4 || !fk_cur_sub(&sets, len - 4, &body)) {
                if (pass == 0) {
                    st->invalid++;
                    rc = fk_errf(e, "netflow v9: flowset %u claims %u bytes, %zu left", id, len,
                                 fk_cur_left(&sets) + 4);
                }
                break;
            }
            if (id <= 1) {
                if (pass == 0 && read_templates(&x, body, id == 1, e) < 0)
                    rc = -1;
            } else if (id >= 256) {
                if (pass == 0)
                    continue;
                const fc_nfplan_t *plan;
                const fk_ipfix_tmpl_t *t =
                    fc_state_template_plan(s, &x.k, id, dg->received_ns, &plan);
                if (!t) {
                    st->no_template++;
                    rc = fk_errf(e, "netflow v9: no template %u from this exporter yet", id);
                    continue;
                }
                if (read_data(&x, t, plan, body) > 0)
                    return rc;
            } else if (pass == 0) {
                st->invalid++;
                rc = fk_errf(e, "netflow v9: flowset id %u is reserved", id);
            }
        }
    }
    return rc;
}
