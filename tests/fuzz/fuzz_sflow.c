/*
 * fuzz_sflow.c - libFuzzer target for the sFlow v5 decoder and its raw JSON.
 *
 * Input: one datagram, copied into a heap block of exactly its length so ASan
 * sees any read past it.  It is decoded with the default options and with
 * decap + if_index_only, and written as raw JSON; the results are checked
 * against what must hold whatever the bytes: counts within the DoS caps, every
 * emitted record sane and tied to the datagram header, the counters telling
 * the same story as the return code, and the JSON well formed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/decode/sflow.h"
#include "tests/common/jsoncheck.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_sflow: invariant failed: %s (%zu bytes)\n", #cond, g_len); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static size_t g_len;

typedef struct run_st {
    const fc_sflow_hdr_t *hdr;
    uint64_t received_ns;
    size_t n;
    uint64_t layers; /* sum of n_layers, to compare runs */
} run_t;

static bool addr_ok(const fc_addr_t *a)
{
    return a->len == 0 || a->len == 4 || a->len == 16;
}

static int check_flow(void *arg, fc_flow_t *f)
{
    run_t *r = arg;

    r->n++;
    CHECK(r->n <= FC_SFLOW_MAX_SAMPLES);
    CHECK(r->hdr->valid);
    CHECK(f->type == FC_SFLOW_5);
    CHECK(f->packets == 1);
    CHECK(f->time_received_ns == r->received_ns && f->time_flow_start_ns == r->received_ns &&
          f->time_flow_end_ns == r->received_ns);
    CHECK(f->sequence_num == r->hdr->sequence_num);
    CHECK(f->sampler_address.len == r->hdr->agent.len &&
          memcmp(f->sampler_address.a, r->hdr->agent.a, f->sampler_address.len) == 0);
    CHECK(addr_ok(&f->src_addr) && addr_ok(&f->dst_addr) && addr_ok(&f->next_hop) &&
          addr_ok(&f->bgp_next_hop));
    CHECK(f->sampling_rate <= UINT32_MAX && f->bytes <= UINT32_MAX);
    CHECK(f->n_layers <= FC_MAX_LAYERS && f->n_as_path <= FC_MAX_ASPATH &&
          f->n_bgp_communities <= FC_MAX_COMMUNITIES && f->n_mpls <= FC_MAX_MPLS &&
          f->n_srv6 <= FC_MAX_SRV6 && f->n_mpls_ip == 0);
    for (unsigned i = 0; i < f->n_layers; i++) {
        uint32_t l = f->layer_stack[i];
        CHECK(l <= FC_L_TEREDO || l == FC_L_CUSTOM);
        CHECK(f->layer_size[i] <= 65535);
    }
    for (unsigned i = 0; i < f->n_srv6; i++)
        CHECK(f->ipv6_routing_header_addresses[i].len == 16);
    for (unsigned i = 0; i < f->n_mpls; i++)
        CHECK(f->mpls_label[i] < (1u << 20) && f->mpls_ttl[i] <= 255);
    if (f->src_addr.len)
        CHECK(f->src_addr.len == f->dst_addr.len);
    CHECK(f->src_port <= 0xffffffffu && f->ip_ttl <= 255 && f->ip_flags <= 7);
    CHECK(f->src_mac < (1ULL << 48) && f->dst_mac < (1ULL << 48));
    CHECK(f->forwarding_status == 0 || f->forwarding_status == 128);
    r->layers += f->n_layers;
    return 0;
}

static int decode(const fc_dgram_t *dg, const fc_sflow_opts_t *o, fc_sflow_stats_t *st,
                  fc_sflow_hdr_t *hdr, run_t *r)
{
    fk_err_t e;
    memset(r, 0, sizeof(*r));
    r->hdr = hdr;
    r->received_ns = dg->received_ns;
    memset(st, 0, sizeof(*st));
    e.msg[0] = 0;
    int rc = fc_sflow_decode_ex(dg, o, check_flow, r, st, hdr, &e);
    uint64_t problems = st->truncated + st->invalid + st->unsupported + st->capped;
    CHECK(rc == 0 || rc == -1);
    CHECK((rc == -1) == (problems > 0));
    CHECK(rc == 0 || strncmp(e.msg, "sflow: ", 7) == 0);
    CHECK(st->datagrams == 1 && st->flows == r->n);
    CHECK(st->samples <= FC_SFLOW_MAX_SAMPLES);
    CHECK(st->flow_samples + st->counter_samples + st->unknown_samples <= st->samples);
    CHECK(st->flows <= st->flow_samples);
    CHECK(st->truncated <= 1 && st->unsupported <= 1);
    if (!hdr->valid)
        CHECK(problems == 1 && st->samples == 0 && r->n == 0);
    else
        CHECK(hdr->version == 5 && hdr->agent.len == (hdr->agent_type == 0   ? 0
                                                      : hdr->agent_type == 1 ? 4
                                                                             : 16));
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *heap = malloc(size ? size : 1);
    fc_sflow_stats_t st1, st2;
    fc_sflow_hdr_t h1, h2;
    run_t r1, r2;

    if (!heap)
        return 0;
    memcpy(heap, data, size);
    g_len = size;
    fc_dgram_t dg = {
        heap, size, {16, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}}, 6343, 1700000000123456789ULL};

    int rc1 = decode(&dg, NULL, &st1, &h1, &r1);
    fc_sflow_opts_t o = {.decap = true, .if_index_only = true};
    int rc2 = decode(&dg, &o, &st2, &h2, &r2);
    /* Options change fields, never the structure. */
    CHECK(rc1 == rc2 && r1.n == r2.n &&
          memcmp(&st1, &st2, offsetof(fc_sflow_stats_t, header_unparsed)) == 0);
    CHECK(h1.valid == h2.valid && h1.sequence_num == h2.sequence_num &&
          h1.samples_count == h2.samples_count && h1.agent.len == h2.agent.len);
    CHECK(r2.layers >= r1.layers);

    /* The same bytes again give the same result. */
    run_t r3;
    fc_sflow_stats_t st3;
    fc_sflow_hdr_t h3;
    CHECK(decode(&dg, NULL, &st3, &h3, &r3) == rc1 && r3.n == r1.n && r3.layers == r1.layers &&
          memcmp(&st1, &st3, sizeof(st1)) == 0);

    fk_buf_t b;
    fk_err_t e;
    if (fk_buf_init(&b, NULL, 0) == 0) {
        int jrc = fc_sflow_raw_json(&dg, &b, &e);
        CHECK((jrc == 0) == h1.valid);
        if (jrc == 0) {
            CHECK(fk_json_valid(b.data, b.len));
            CHECK(b.len > 30 && memcmp(b.data, "{\"type\":\"sflow\"", 15) == 0);
        } else {
            CHECK(b.len == 0);
        }
        fk_buf_free(&b);
    }
    free(heap);
    return 0;
}
