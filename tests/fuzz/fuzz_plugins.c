/*
 * fuzz_plugins.c - libFuzzer target for every processing plugin compiled into
 * flowprobe, driven the way the probe drives them: through the real packet
 * parser and flow cache, then every record rendered by every output's field
 * formatter.
 *
 * Input: one selector byte choosing the plugin (index into fp_plugins[]), then
 * a stream of packets, each
 *
 *     len(2, big-endian) ctl(1) aux(1) payload(len bytes, fewer if the input ends)
 *
 * ctl bit 0    direction (0: client -> server, 1: reverse)
 *     bit 1    UDP instead of TCP
 *     bits 2-5 server port from g_ports (the ports plugins look for)
 *     bit 6    IPv6 instead of IPv4
 *     bit 7    the captured length is cut to half the payload (caplen < wire)
 * aux          TCP flags (TCP) and, in its low nibble, the time step in 100 ms
 *
 * Every frame is built in a heap block of exactly its captured length so ASan
 * sees any read past the capture.  The point is crashes, leaks, over-reads and
 * undefined behaviour in plugin code; the invariants checked on the output are
 * that records() stays within what record() can serve, every field of every
 * record renders, and a record the cache lends out (cfg.lend, as flowprobe's
 * exporter borrows it) still renders as it did when it was lent, one export
 * later, when it is handed back.  Each exported flow also goes through the
 * csv and ipfix outputs themselves (to /dev/null; ipfix with 1458-byte
 * messages, so records are written in place, through the scratch buffer and
 * dropped as too large): their compiled row and template writers trust the
 * field capacities, which hostile records must not get past.  The outputs
 * stay open from input to input (one pair per plugin).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/output/output.h"
#include "probe/plugin.h"

#define MAX_PAYLOAD 1500

/* Well-known ports of the application protocols the plugins read. */
static const uint16_t g_ports[16] = {80,   53, 123, 5060,  1883, 443,  137,  1900,
                                     5353, 25, 554, 51820, 1194, 8080, 5061, 0 /* from aux */};

static fp_plugin_inst_t g_inst;
static size_t g_nplugins;
static fk_buf_t g_out, g_out2, g_lent_txt;
static const fp_flow_t *g_lent; /* the record the cache lent us last */
static const fp_output_ops_t *g_csv_ops, *g_ipfix_ops;
/* Per plugin (index into fp_plugins[]): its schema (the basic fields and the
 * plugin, whose instance is g_inst) and the outputs opened on it, kept from
 * input to input: opening them per input would cost most of the run. */
#define MAX_FUZZ_PLUGINS 64
static struct {
    fp_schema_t schema;
    void *zero;
    void *csv, *ipfix;
} g_outs[MAX_FUZZ_PLUGINS];
static void *g_csv, *g_ipfix; /* the current input's */

/* Open output `ops` from `spec` for this input's schema; abort if it cannot. */
static void *out_open(const fp_output_ops_t *ops, const char *spec, const fp_schema_t *s)
{
    fk_opts_t o;
    fk_err_t e;
    void *ctx = NULL;

    if (fk_opts_parse(spec, &o, &e) != 0 || ops->open(&ctx, &o, s, &e) != 0) {
        fprintf(stderr, "fuzz_plugins: %s: %s\n", spec, e.msg);
        abort();
    }
    fk_opts_free(&o);
    return ctx;
}

static void render_rec(fk_buf_t *b, const fp_plugin_t *p, const void *rec)
{
    for (size_t f = 0; f < p->nfields; f++) {
        fk_field_csv(b, &p->fields[f], rec);
        fk_field_json(b, &p->fields[f], rec);
        fk_field_text(b, &p->fields[f], rec);
    }
}

/* Every record of a flow, rendered into b (emptied first). */
static void render_flow(fk_buf_t *b, const fp_flow_t *flow)
{
    const fp_plugin_t *p = g_inst.p;
    const void *st = fp_plugin_state(&g_inst, flow);
    unsigned n = p->records(g_inst.ctx, flow, st);

    if (n > 100000) {
        fprintf(stderr, "fuzz_plugins: %s: records() = %u\n", p->name, n);
        abort();
    }
    b->len = 0;
    for (unsigned i = 0; i < n; i++) {
        const void *rec = p->record(g_inst.ctx, flow, st, i);
        if (!rec) {
            fprintf(stderr, "fuzz_plugins: %s: record(%u) of %u is NULL\n", p->name, i, n);
            abort();
        }
        render_rec(b, p, rec);
    }
}

static const fp_flow_t *render(void *arg, fp_flow_t *flow)
{
    const fp_flow_t *back = g_lent;

    (void)arg;
    if (back) {
        render_flow(&g_out2, back);
        if (g_out2.len != g_lent_txt.len || memcmp(g_out2.data, g_lent_txt.data, g_out2.len)) {
            fprintf(stderr, "fuzz_plugins: %s: a lent record changed before it came back\n",
                    g_inst.p->name);
            abort();
        }
    }
    render_flow(&g_out, flow);
    if (g_csv_ops->write(g_csv, flow) != 0 || g_ipfix_ops->write(g_ipfix, flow) != 0) {
        fprintf(stderr, "fuzz_plugins: %s: an output failed to write\n", g_inst.p->name);
        abort();
    }
    g_lent_txt.len = 0;
    fk_buf_put(&g_lent_txt, g_out.data, g_out.len);
    g_lent = flow;
    return back;
}

/* An IPv4 or IPv6 + TCP/UDP frame around `pay`, in a heap block of caplen bytes. */
static uint8_t *build(uint8_t ctl, uint8_t aux, const uint8_t *pay, size_t paylen, uint16_t port,
                      size_t *caplen, size_t *wire)
{
    const int v6 = ctl & 0x40, udp = ctl & 0x02, rev = ctl & 0x01;
    const size_t iph = v6 ? 40 : 20, l4h = udp ? 8 : 20;
    const size_t total = iph + l4h + paylen;
    uint8_t hdr[60];
    uint16_t sport = rev ? port : 40000, dport = rev ? 40000 : port;

    memset(hdr, 0, sizeof(hdr));
    if (v6) {
        hdr[0] = 0x60;
        hdr[4] = (uint8_t)((l4h + paylen) >> 8);
        hdr[5] = (uint8_t)(l4h + paylen);
        hdr[6] = udp ? 17 : 6;
        hdr[7] = 64;
        hdr[8] = 0x20, hdr[9] = 0x01, hdr[23] = rev ? 2 : 1; /* 2001::1 / 2001::2 */
        hdr[24] = 0x20, hdr[25] = 0x01, hdr[39] = rev ? 1 : 2;
    } else {
        hdr[0] = 0x45;
        hdr[2] = (uint8_t)(total >> 8);
        hdr[3] = (uint8_t)total;
        hdr[8] = 64;
        hdr[9] = udp ? 17 : 6;
        hdr[12] = hdr[16] = 10;
        hdr[15] = rev ? 2 : 1;
        hdr[19] = rev ? 1 : 2;
    }
    uint8_t *l4 = hdr + iph;
    l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
    l4[2] = (uint8_t)(dport >> 8), l4[3] = (uint8_t)dport;
    if (udp) {
        l4[4] = (uint8_t)((8 + paylen) >> 8);
        l4[5] = (uint8_t)(8 + paylen);
    } else {
        l4[4] = aux, l4[7] = 1; /* some sequence number */
        l4[12] = 0x50;          /* data offset 5 */
        l4[13] = aux;
        l4[14] = 0xff;
    }

    *wire = total;
    *caplen = (ctl & 0x80) ? iph + l4h + paylen / 2 : total;
    uint8_t *f = malloc(*caplen ? *caplen : 1);
    if (!f)
        return NULL;
    memcpy(f, hdr, iph + l4h);
    memcpy(f + iph + l4h, pay, *caplen - iph - l4h);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fp_cache_cfg_t cfg;
    fk_opts_t o;
    fk_err_t e;

    if (g_nplugins == 0) {
        while (fp_plugins[g_nplugins] && g_nplugins < MAX_FUZZ_PLUGINS)
            g_nplugins++;
        g_csv_ops = fp_output_find("csv");
        g_ipfix_ops = fp_output_find("ipfix");
        if (fk_buf_init(&g_out, NULL, 256) != 0 || fk_buf_init(&g_out2, NULL, 256) != 0 ||
            fk_buf_init(&g_lent_txt, NULL, 256) != 0 || !g_csv_ops || !g_ipfix_ops)
            abort();
    }
    if (size < 1 || g_nplugins == 0)
        return 0;

    memset(&g_inst, 0, sizeof(g_inst));
    g_inst.p = fp_plugins[data[0] % g_nplugins];
    if (fk_opts_parse(g_inst.p->name, &o, &e) != 0)
        abort();
    if (g_inst.p->init && g_inst.p->init(&g_inst.ctx, &o, &e) != 0) {
        fprintf(stderr, "fuzz_plugins: %s: init without options failed: %s\n", g_inst.p->name,
                e.msg);
        abort();
    }
    fk_opts_free(&o);
    size_t pix = data[0] % g_nplugins;
    if (!g_outs[pix].csv) {
        const fp_plugin_t *p = g_inst.p;
        g_outs[pix].zero = calloc(1, p->record_size ? p->record_size : 1);
        if (!g_outs[pix].zero)
            abort();
        g_inst.zero_record = g_outs[pix].zero;
        g_outs[pix].schema = (fp_schema_t){fp_basic_fields, fp_basic_nfields, &g_inst, 1};
        g_outs[pix].csv = out_open(g_csv_ops, "csv;file=/dev/null", &g_outs[pix].schema);
        g_outs[pix].ipfix =
            out_open(g_ipfix_ops, "ipfix;file=/dev/null;mtu=1458", &g_outs[pix].schema);
    }
    g_inst.zero_record = g_outs[pix].zero;
    g_csv = g_outs[pix].csv;
    g_ipfix = g_outs[pix].ipfix;
    fp_cache_cfg_default(&cfg);
    cfg.size_exp = 6; /* a few flows per input: keep set-up cheap so the plugins get the time */
    cfg.line_exp = 2;
    cfg.frag_size = 16;
    cfg.lend = 1; /* render() keeps the last record it was given */
    g_lent = NULL;
    fp_cache_t *c = fp_cache_new(&cfg, &g_inst, 1, render, NULL, &e);
    if (!c)
        abort();

    uint64_t ts = 1700000000ULL * 1000000000ULL;
    size_t off = 1;
    while (off + 4 <= size) {
        size_t len = ((size_t)data[off] << 8 | data[off + 1]) % (MAX_PAYLOAD + 1);
        uint8_t ctl = data[off + 2], aux = data[off + 3];
        off += 4;
        if (len > size - off)
            len = size - off;
        uint16_t port = g_ports[(ctl >> 2) & 15];
        if (port == 0)
            port = (uint16_t)(aux * 257u);

        size_t caplen, wire;
        uint8_t *f = build(ctl, aux, data + off, len, port, &caplen, &wire);
        off += len;
        if (!f)
            break;
        ts += (uint64_t)(aux & 15) * 100000000ULL;
        fk_packet_t pkt;
        fk_packet_parse(&pkt, FK_LINK_RAW, f, (uint32_t)caplen, (uint32_t)wire, ts);
        if (fk_packet_has_key(&pkt))
            fp_cache_put(c, &pkt);
        free(f);
    }
    fp_cache_flush(c);
    fp_cache_stats_t cs;
    fp_cache_get_stats(c, &cs);
    if (cs.body_misses) { /* the pools hold a body per record: only a lost one runs them dry */
        fprintf(stderr, "fuzz_plugins: %s: %llu bodies asked for, none left\n", g_inst.p->name,
                (unsigned long long)cs.body_misses);
        abort();
    }
    fp_cache_free(c);
    g_lent = NULL;
    if (g_inst.p->fini)
        g_inst.p->fini(g_inst.ctx);
    return 0;
}
