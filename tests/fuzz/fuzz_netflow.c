/*
 * fuzz_netflow.c - libFuzzer target for the NetFlow v5, NetFlow v9 and IPFIX
 * decoders (collector/decode/{nfv5,nfv9,ipfix,fields,state}.c) and their raw
 * JSON (raw.c).
 *
 * Input layout:
 *   byte 0      selector: bits 0-1 decoder (0 v5, 1 v9, 2 IPFIX, 3 by version
 *               as the pipeline dispatches); bit 2 IPv6 exporter; bit 3
 *               datagrams after the first come from another UDP port; bit 4 a
 *               static sampling override for the exporter; bit 5 the emit
 *               callback stops each datagram after 3 records
 *   then        1..4 datagrams, each a 2-byte big-endian length and that many
 *               bytes (the last one takes what is left when shorter)
 *
 * All datagrams of one input share ONE fc_state_t, so templates, options
 * (sampling rates, systemInitTime) and sequence numbers from datagram 1 are
 * used by datagram 2.  Each datagram is copied into a heap block of exactly
 * its length so ASan sees any read past it.  Checked whatever the bytes:
 * every record sane (address lengths 0/4/16, list counts within their caps,
 * tied to the datagram header and exporter), counters matching the return
 * code and the records emitted, the raw JSON well formed or nothing written,
 * template expiry emptying the store, and a second run on a fresh state
 * giving the same results.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/decode/decode.h"
#include "lib/core/buf.h"
#include "lib/core/cursor.h"
#include "tests/common/jsoncheck.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_netflow: invariant failed: %s (datagram %d, %zu bytes)\n", \
                    #cond, g_dgram, g_len);                                                  \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define RECV_NS       1700000000123456789ULL
#define OVERRIDE_RATE 77777u /* above v5's 14-bit field */
#define MAX_DGRAMS    4
#define STOP_AFTER    3

static int g_dgram;
static size_t g_len;

enum { D_V5, D_V9, D_IPFIX, D_AUTO };

typedef struct run_st {
    const fc_dgram_t *dg;
    int kind;      /* D_V5, D_V9 or D_IPFIX */
    bool override; /* a static rate is set for the exporter */
    bool stop;     /* emit stops after STOP_AFTER records */
    size_t n;
    uint64_t hash; /* of the records, to compare runs */
} run_t;

static bool addr_ok(const fc_addr_t *a)
{
    return a->len == 0 || a->len == 4 || a->len == 16;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0x100000001b3ULL;
}

static uint64_t mix_addr(uint64_t h, const fc_addr_t *a)
{
    h = mix(h, a->len);
    for (unsigned i = 0; i < a->len; i++)
        h = mix(h, a->a[i]);
    return h;
}

static int check_flow(void *arg, fc_flow_t *f)
{
    run_t *r = arg;
    const uint8_t *p = r->dg->data;

    r->n++;
    CHECK(f->time_received_ns == RECV_NS);
    CHECK(f->sampler_address.len == r->dg->src.len &&
          memcmp(f->sampler_address.a, r->dg->src.a, f->sampler_address.len) == 0);
    CHECK(addr_ok(&f->src_addr) && addr_ok(&f->dst_addr) && addr_ok(&f->next_hop) &&
          addr_ok(&f->bgp_next_hop));
    CHECK(f->n_mpls <= FC_MAX_MPLS && f->n_mpls_ip <= FC_MAX_MPLS &&
          f->n_as_path <= FC_MAX_ASPATH && f->n_bgp_communities <= FC_MAX_COMMUNITIES &&
          f->n_layers <= FC_MAX_LAYERS && f->n_srv6 <= FC_MAX_SRV6);
    /* NetFlow/IPFIX fill none of the sFlow-only lists, nor the sFlow decap addresses */
    CHECK(f->outer_src_addr.len == 0 && f->outer_dst_addr.len == 0);
    CHECK(f->n_mpls_ip == 0 && f->n_as_path == 0 && f->n_bgp_communities == 0 && f->n_layers == 0 &&
          f->n_srv6 == 0);
    for (unsigned i = 0; i < f->n_mpls; i++)
        CHECK(f->mpls_label[i] < (1u << 20));
    CHECK(f->src_mac < (1ULL << 48) && f->dst_mac < (1ULL << 48));
    CHECK(f->etype == 0 || f->etype == 0x0800 || f->etype == 0x86dd);
    switch (r->kind) {
    case D_V5:
        CHECK(r->dg->len >= 24 + 48 * r->n && r->n <= 30);
        CHECK(f->type == FC_NETFLOW_V5);
        CHECK(f->etype == 0x0800 && f->src_addr.len == 4 && f->dst_addr.len == 4 &&
              f->next_hop.len == 4);
        CHECK(f->sequence_num == fk_load_be32(p + 16));
        CHECK(f->sampling_rate <= 0x3fff || (r->override && f->sampling_rate == OVERRIDE_RATE));
        CHECK(f->sampling_rate == (fk_load_be16(p + 22) & 0x3fffu) ||
              ((fk_load_be16(p + 22) & 0x3fffu) == 0 &&
               f->sampling_rate == (r->override ? OVERRIDE_RATE : 0)));
        CHECK(f->src_port <= 0xffff && f->dst_port <= 0xffff && f->proto <= 0xff &&
              f->tcp_flags <= 0xff && f->ip_tos <= 0xff && f->src_net <= 0xff &&
              f->dst_net <= 0xff && f->in_if <= 0xffff && f->out_if <= 0xffff);
        CHECK(f->observation_domain_id == 0);
        break;
    case D_V9:
        CHECK(r->dg->len >= 20);
        CHECK(f->type == FC_NETFLOW_V9);
        CHECK(f->sequence_num == fk_load_be32(p + 12));
        CHECK(f->observation_domain_id == fk_load_be32(p + 16));
        break;
    case D_IPFIX:
        CHECK(r->dg->len >= 16 && fk_load_be16(p + 2) <= r->dg->len);
        CHECK(f->type == FC_IPFIX);
        CHECK(f->sequence_num == fk_load_be32(p + 8));
        CHECK(f->observation_domain_id == fk_load_be32(p + 12));
        break;
    }
    uint64_t h = r->hash;
    h = mix(h, f->bytes);
    h = mix(h, f->packets);
    h = mix(h, f->time_flow_start_ns);
    h = mix(h, f->time_flow_end_ns);
    h = mix(h, f->sampling_rate);
    h = mix(h, f->etype);
    h = mix(h, (uint64_t)f->src_port << 16 | f->dst_port);
    h = mix(h, f->n_mpls);
    h = mix_addr(h, &f->src_addr);
    h = mix_addr(h, &f->dst_addr);
    r->hash = h;
    return r->stop && r->n >= STOP_AFTER;
}

static void check_raw(const fc_dgram_t *dg)
{
    static const char prefix[] = "prev-output\n";
    fk_buf_t b;
    fk_err_t e;

    if (fk_buf_init(&b, NULL, 0) < 0)
        return;
    fk_buf_puts(&b, prefix);
    e.msg[0] = 0;
    int rc = fc_nf_raw_json(dg, &b, &e);
    size_t pl = sizeof(prefix) - 1;
    CHECK(rc == 0 || rc == -1);
    CHECK(b.len >= pl && memcmp(b.data, prefix, pl) == 0);
    if (rc == 0) {
        CHECK(fk_json_valid(b.data + pl, b.len - pl));
        CHECK(b.len - pl > 20 && memcmp(b.data + pl, "{\"type\":\"", 9) == 0);
    } else {
        CHECK(b.len == pl); /* nothing partial left behind */
        CHECK(e.msg[0] != 0);
        /* only a cut header or a version other than 5, 9, 10 fails */
        uint16_t ver = dg->len >= 2 ? fk_load_be16(dg->data) : 0;
        CHECK(dg->len < 24 || (ver != 5 && ver != 9 && ver != 10));
    }
    fk_buf_free(&b);
}

typedef struct result_st {
    int n;
    int rc[MAX_DGRAMS];
    size_t records[MAX_DGRAMS];
    uint64_t hash;
} result_t;

/* Decode all datagrams with one shared state; raw JSON of each when `raw`. */
static void run_all(const uint8_t *sel_p, const uint8_t *const *dp, const size_t *dl, int nd,
                    bool raw, result_t *res)
{
    uint8_t sel = *sel_p;
    int mode = sel & 3;
    fc_addr_t src4 = {4, {198, 51, 100, 23}};
    fc_addr_t src6 = {16, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x17}};
    fc_addr_t src = (sel & 4) ? src6 : src4;
    fc_state_t *s = fc_state_new(1000000000ULL);
    uint64_t learned = 0;

    if (!s)
        return;
    if (sel & 0x10)
        fc_state_set_override(s, &src, OVERRIDE_RATE);
    memset(res, 0, sizeof(*res));
    for (int i = 0; i < nd; i++) {
        uint8_t *heap = malloc(dl[i] ? dl[i] : 1);
        if (!heap)
            break;
        memcpy(heap, dp[i], dl[i]);
        g_dgram = i;
        g_len = dl[i];
        fc_dgram_t dg = {heap, dl[i], src, (uint16_t)((sel & 8) && i ? 2056 + i : 2055), RECV_NS};
        int kind = mode;
        if (mode == D_AUTO) {
            uint16_t ver = dl[i] >= 2 ? fk_load_be16(heap) : 0;
            kind = ver == 5 ? D_V5 : ver == 9 ? D_V9 : D_IPFIX;
        }
        run_t r = {&dg, kind, (sel & 0x10) != 0, (sel & 0x20) != 0, 0, res->hash};
        fc_dstats_t st;
        fk_err_t e;
        memset(&st, 0, sizeof(st));
        e.msg[0] = 0;
        int rc = kind == D_V5   ? fc_nfv5_decode(&dg, check_flow, &r, s, &st, &e)
                 : kind == D_V9 ? fc_nfv9_decode(&dg, check_flow, &r, s, &st, &e)
                                : fc_ipfix_decode(&dg, check_flow, &r, s, &st, &e);
        uint64_t problems = st.truncated + st.invalid + st.bad_version + st.no_template;
        CHECK(rc == 0 || rc == -1);
        CHECK(st.datagrams == 1 && st.records == r.n);
        if (rc < 0)
            CHECK(e.msg[0] != 0);
        if (!r.stop || r.n < STOP_AFTER)
            CHECK((rc == -1) == (problems > 0));
        CHECK(st.truncated <= 1);
        if (kind != D_IPFIX) /* IPFIX counts reserved set ids there too */
            CHECK(st.bad_version <= 1);
        if (st.truncated || (kind != D_IPFIX && st.bad_version))
            CHECK(r.n == 0 && st.templates == 0 && problems == 1);
        if (kind == D_V5) {
            CHECK(st.templates == 0 && st.no_template == 0 && st.option_records == 0);
            if (rc == 0 && !r.stop)
                CHECK(r.n == fk_load_be16(heap + 2));
        }
        learned += st.templates;
        CHECK(fc_state_templates(s) <= learned);
        res->rc[i] = rc;
        res->records[i] = r.n;
        res->hash = r.hash;
        res->n = i + 1;
        if (raw)
            check_raw(&dg);
        free(heap);
    }
    /* Unused for longer than the TTL: every template goes. */
    size_t held = fc_state_templates(s);
    CHECK(fc_state_expire(s, RECV_NS + 500000000ULL) == 0);
    CHECK(fc_state_expire(s, RECV_NS + 2000000000ULL) == held);
    CHECK(fc_state_templates(s) == 0);
    fc_state_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *dp[MAX_DGRAMS];
    size_t dl[MAX_DGRAMS];
    int nd = 0;

    if (size < 1)
        return 0;
    size_t off = 1;
    while (nd < MAX_DGRAMS && size - off >= 2) {
        size_t want = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        size_t take = want < size - off ? want : size - off;
        dp[nd] = data + off;
        dl[nd] = take;
        nd++;
        off += take;
    }
    if (nd == 0)
        return 0;

    result_t a, b;
    run_all(data, dp, dl, nd, true, &a);
    /* Same datagrams, fresh state: the same results. */
    run_all(data, dp, dl, nd, false, &b);
    CHECK(a.n == b.n && a.hash == b.hash);
    for (int i = 0; i < a.n; i++)
        CHECK(a.rc[i] == b.rc[i] && a.records[i] == b.records[i]);
    return 0;
}
