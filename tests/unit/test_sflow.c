/*
 * test_sflow.c - the sFlow v5 decoder on hand-built datagrams.
 *
 * Datagrams are written with the small XDR builder below (32-bit words,
 * opaque data padded to 4 bytes, lengths patched when a structure closes),
 * frames with the frame builder, and decoded from a heap copy of exactly the
 * datagram's length so ASan (FK_SANITIZE) reports any read past it.  Good
 * datagrams check every field; hostile ones check the counters and that what
 * can still be decoded is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/decode/sflow.h"

/* ---- XDR builder ---------------------------------------------------------- */

typedef struct xdr_st {
    uint8_t d[65536];
    size_t n;
} xdr_t;

static void x_u8(xdr_t *x, uint8_t v)
{
    assert_true(x->n < sizeof(x->d));
    x->d[x->n++] = v;
}

static void x_u32(xdr_t *x, uint32_t v)
{
    x_u8(x, (uint8_t)(v >> 24));
    x_u8(x, (uint8_t)(v >> 16));
    x_u8(x, (uint8_t)(v >> 8));
    x_u8(x, (uint8_t)v);
}

static void x_u64(xdr_t *x, uint64_t v)
{
    x_u32(x, (uint32_t)(v >> 32));
    x_u32(x, (uint32_t)v);
}

static void x_bytes(xdr_t *x, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x_u8(x, ((const uint8_t *)p)[i]);
}

/* opaque<>: length, bytes, zero padding to 4. */
static void x_opaque(xdr_t *x, const void *p, size_t n)
{
    x_u32(x, (uint32_t)n);
    x_bytes(x, p, n);
    while (x->n & 3)
        x_u8(x, 0);
}

/* Open a length-prefixed structure: returns where its length goes. */
static size_t x_open(xdr_t *x, uint32_t format)
{
    x_u32(x, format);
    size_t at = x->n;
    x_u32(x, 0);
    return at;
}

static void x_close(xdr_t *x, size_t at)
{
    uint32_t len = (uint32_t)(x->n - at - 4);
    x->d[at] = (uint8_t)(len >> 24);
    x->d[at + 1] = (uint8_t)(len >> 16);
    x->d[at + 2] = (uint8_t)(len >> 8);
    x->d[at + 3] = (uint8_t)len;
}

static void x_set32(xdr_t *x, size_t at, uint32_t v)
{
    x->d[at] = (uint8_t)(v >> 24);
    x->d[at + 1] = (uint8_t)(v >> 16);
    x->d[at + 2] = (uint8_t)(v >> 8);
    x->d[at + 3] = (uint8_t)v;
}

static const uint8_t AGENT4[4] = {192, 0, 2, 10};
static const uint8_t AGENT6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};

/* Datagram header; returns where the sample count is (to fix it up). */
static size_t x_header(xdr_t *x, int v6, uint32_t seq, uint32_t nsamples)
{
    x->n = 0;
    x_u32(x, 5);
    x_u32(x, v6 ? 2 : 1);
    if (v6)
        x_bytes(x, AGENT6, 16);
    else
        x_bytes(x, AGENT4, 4);
    x_u32(x, 3);      /* sub-agent */
    x_u32(x, seq);    /* sequence */
    x_u32(x, 123456); /* uptime */
    size_t at = x->n;
    x_u32(x, nsamples);
    return at;
}

/* Compact flow sample header (type 1) up to the record count. */
static size_t x_flow_sample(xdr_t *x, uint32_t seq, uint32_t rate, uint32_t in, uint32_t out,
                            uint32_t nrec)
{
    size_t at = x_open(x, 1);
    x_u32(x, seq);
    x_u32(x, (0u << 24) | 7); /* source id: ifIndex 7 */
    x_u32(x, rate);
    x_u32(x, 100000); /* pool */
    x_u32(x, 2);      /* drops */
    x_u32(x, in);
    x_u32(x, out);
    x_u32(x, nrec);
    return at;
}

/* Raw packet header record (0:1). */
static void x_raw_header(xdr_t *x, uint32_t proto, uint32_t frame_len, const uint8_t *h,
                         size_t hlen)
{
    size_t r = x_open(x, 1);
    x_u32(x, proto);
    x_u32(x, frame_len);
    x_u32(x, 4); /* stripped (FCS) */
    x_opaque(x, h, hlen);
    x_close(x, r);
}

/* ---- frame builder ---------------------------------------------------------- */

typedef struct frame_st {
    uint8_t d[512];
    size_t n;
} frame_t;

static const uint8_t MAC_DST[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t MAC_SRC[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
static const uint8_t V4_SRC[4] = {198, 51, 100, 1};
static const uint8_t V4_DST[4] = {203, 0, 113, 2};
static const uint8_t V6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_DST[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static void f_u8(frame_t *f, uint8_t v)
{
    assert_true(f->n < sizeof(f->d));
    f->d[f->n++] = v;
}

static void f_u16(frame_t *f, uint16_t v)
{
    f_u8(f, (uint8_t)(v >> 8));
    f_u8(f, (uint8_t)v);
}

static void f_bytes(frame_t *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f_u8(f, p[i]);
}

static void f_eth(frame_t *f, uint16_t type)
{
    f_bytes(f, MAC_DST, 6);
    f_bytes(f, MAC_SRC, 6);
    f_u16(f, type);
}

/* IPv4 header, 20 bytes; `paylen` is what follows it on the wire. */
static void f_ipv4(frame_t *f, uint8_t proto, uint16_t paylen, const uint8_t *src,
                   const uint8_t *dst)
{
    f_u8(f, 0x45);
    f_u8(f, 0xb8); /* tos: DSCP EF */
    f_u16(f, (uint16_t)(20 + paylen));
    f_u16(f, 0x1234); /* id */
    f_u16(f, 0x4000); /* DF */
    f_u8(f, 61);      /* ttl */
    f_u8(f, proto);
    f_u16(f, 0);
    f_bytes(f, src, 4);
    f_bytes(f, dst, 4);
}

static void f_ipv6(frame_t *f, uint8_t nh, uint16_t paylen)
{
    f_u8(f, 0x6a); /* version 6, traffic class 0xa5 */
    f_u8(f, 0x5b); /* ..., flow label 0xbcdef */
    f_u16(f, 0xcdef);
    f_u16(f, paylen);
    f_u8(f, nh);
    f_u8(f, 64);
    f_bytes(f, V6_SRC, 16);
    f_bytes(f, V6_DST, 16);
}

static void f_tcp(frame_t *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
    f_u16(f, sport);
    f_u16(f, dport);
    f_u16(f, 0), f_u16(f, 1); /* seq */
    f_u16(f, 0), f_u16(f, 0); /* ack */
    f_u8(f, 0x50);
    f_u8(f, flags);
    f_u16(f, 65535);
    f_u16(f, 0), f_u16(f, 0);
}

static void f_udp(frame_t *f, uint16_t sport, uint16_t dport, uint16_t paylen)
{
    f_u16(f, sport);
    f_u16(f, dport);
    f_u16(f, (uint16_t)(8 + paylen));
    f_u16(f, 0);
}

/* Ethernet / IPv4 / TCP 40000 -> 443 SYN|ACK with 26 payload bytes (66 bytes). */
static void frame_v4_tcp(frame_t *f)
{
    f->n = 0;
    f_eth(f, 0x0800);
    f_ipv4(f, 6, 20 + 26, V4_SRC, V4_DST);
    f_tcp(f, 40000, 443, 0x12);
    for (int i = 0; i < 26; i++)
        f_u8(f, (uint8_t)i);
}

/* ---- decoding helpers ----------------------------------------------------------- */

#define MAXF 1100

typedef struct sink_st {
    fc_flow_t f[MAXF];
    size_t n;
    size_t stop_after; /* 0 = never */
} sink_t;

static int sink_emit(void *arg, fc_flow_t *flow)
{
    sink_t *s = arg;
    assert_true(s->n < MAXF);
    s->f[s->n++] = *flow;
    return s->stop_after && s->n >= s->stop_after;
}

static sink_t *g_sink;

static int setup(void **state)
{
    (void)state;
    g_sink = calloc(1, sizeof(*g_sink));
    return g_sink ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(g_sink);
    return 0;
}

#define RECV_NS 1681591482723694000ULL /* 2023-04-15T20:44:42.723694Z */

/* Decode `len` bytes of x from an exact heap copy; resets the sink. */
static int decode(const xdr_t *x, size_t len, const fc_sflow_opts_t *o, fc_sflow_stats_t *st,
                  fc_sflow_hdr_t *hdr, fk_err_t *e)
{
    uint8_t *heap = malloc(len ? len : 1);
    assert_non_null(heap);
    memcpy(heap, x->d, len);
    fc_dgram_t dg = {heap, len, {4, {127, 0, 0, 1}}, 50001, RECV_NS};
    g_sink->n = 0;
    int rc = fc_sflow_decode_ex(&dg, o, sink_emit, g_sink, st, hdr, e);
    free(heap);
    return rc;
}

static void assert_addr(const fc_addr_t *a, const uint8_t *want, size_t len)
{
    assert_int_equal(a->len, len);
    assert_memory_equal(a->a, want, len);
}

static uint64_t mac48(const uint8_t m[6])
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | m[i];
    return v;
}

static void assert_layers(const fc_flow_t *f, size_t n, const uint32_t *stack, const uint32_t *size)
{
    assert_int_equal(f->n_layers, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f->layer_stack[i], stack[i]);
        assert_int_equal(f->layer_size[i], size[i]);
    }
}

/* ---- good datagrams --------------------------------------------------------------- */

/* IPv4 agent, compact flow sample, raw Ethernet/IPv4/TCP header. */
static void test_ipv4_agent_raw_tcp(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;
    fc_sflow_stats_t st = {0};
    fc_sflow_hdr_t hdr;
    fk_err_t e = {{0}};

    frame_v4_tcp(&fr);
    x_header(x, 0, 1234, 1);
    size_t s = x_flow_sample(x, 77, 512, 7, 9, 1);
    x_raw_header(x, 1, 1514, fr.d, fr.n); /* 66 bytes: padded to 68 */
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, &hdr, &e), 0);
    assert_int_equal(g_sink->n, 1);
    const fc_flow_t *f = &g_sink->f[0];
    assert_int_equal(f->type, FC_SFLOW_5);
    assert_true(f->time_received_ns == RECV_NS && f->time_flow_start_ns == RECV_NS &&
                f->time_flow_end_ns == RECV_NS);
    assert_int_equal(f->sequence_num, 1234);
    assert_int_equal(f->sampling_rate, 512);
    assert_addr(&f->sampler_address, AGENT4, 4);
    assert_int_equal(f->in_if, 7);
    assert_int_equal(f->out_if, 9);
    assert_int_equal(f->bytes, 1514);
    assert_int_equal(f->packets, 1);
    assert_addr(&f->src_addr, V4_SRC, 4);
    assert_addr(&f->dst_addr, V4_DST, 4);
    assert_int_equal(f->etype, 0x0800);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->src_port, 40000);
    assert_int_equal(f->dst_port, 443);
    assert_int_equal(f->tcp_flags, 0x12);
    assert_int_equal(f->ip_tos, 0xb8);
    assert_int_equal(f->ip_ttl, 61);
    assert_int_equal(f->ip_flags, 2); /* DF */
    assert_int_equal(f->fragment_id, 0x1234);
    assert_int_equal(f->fragment_offset, 0);
    assert_true(f->src_mac == mac48(MAC_SRC) && f->dst_mac == mac48(MAC_DST));
    static const uint32_t ls[] = {FC_L_ETHERNET, FC_L_IPV4, FC_L_TCP}, sz[] = {14, 20, 20};
    assert_layers(f, 3, ls, sz);

    assert_true(hdr.valid);
    assert_int_equal(hdr.version, 5);
    assert_int_equal(hdr.agent_type, 1);
    assert_addr(&hdr.agent, AGENT4, 4);
    assert_int_equal(hdr.sub_agent_id, 3);
    assert_int_equal(hdr.sequence_num, 1234);
    assert_int_equal(hdr.uptime_ms, 123456);
    assert_int_equal(hdr.samples_count, 1);

    assert_int_equal(st.datagrams, 1);
    assert_int_equal(st.samples, 1);
    assert_int_equal(st.flow_samples, 1);
    assert_int_equal(st.flows, 1);
    assert_int_equal(st.truncated + st.invalid + st.unsupported + st.capped, 0);
    assert_int_equal(st.header_partial + st.header_unparsed, 0);
    free(x);
}

/* IPv6 agent, expanded flow sample, Ethernet/802.1Q/IPv6/UDP header. */
static void test_ipv6_agent_expanded(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr = {{0}, 0};
    fc_sflow_stats_t st = {0};
    fc_sflow_hdr_t hdr;

    f_eth(&fr, 0x8100);
    f_u16(&fr, 0xa000 | 300); /* PCP 5, VID 300 */
    f_u16(&fr, 0x86dd);
    f_ipv6(&fr, 17, 8 + 4);
    f_udp(&fr, 5353, 53, 4);
    f_u16(&fr, 0xdead), f_u16(&fr, 0xbeef);

    x_header(x, 1, 99, 1);
    size_t s = x_open(x, 3);
    x_u32(x, 5);               /* seq */
    x_u32(x, 0), x_u32(x, 42); /* source id type 0 index 42 */
    x_u32(x, 2048), x_u32(x, 1000), x_u32(x, 0);
    x_u32(x, 0), x_u32(x, 0x12345); /* input: ifIndex */
    x_u32(x, 2), x_u32(x, 3);       /* output: multiple interfaces, 3 */
    x_u32(x, 1);
    x_raw_header(x, 1, 1000, fr.d, fr.n);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, &hdr, NULL), 0);
    assert_int_equal(g_sink->n, 1);
    const fc_flow_t *f = &g_sink->f[0];
    assert_addr(&f->sampler_address, AGENT6, 16);
    assert_int_equal(hdr.agent_type, 2);
    assert_addr(&hdr.agent, AGENT6, 16);
    assert_int_equal(f->sequence_num, 99);
    assert_int_equal(f->sampling_rate, 2048);
    assert_int_equal(f->in_if, 0x12345);
    assert_int_equal(f->out_if, 3); /* GoFlow2: the value, format dropped */
    assert_int_equal(f->bytes, 1000);
    assert_addr(&f->src_addr, V6_SRC, 16);
    assert_addr(&f->dst_addr, V6_DST, 16);
    assert_int_equal(f->etype, 0x86dd);
    assert_int_equal(f->proto, 17);
    assert_int_equal(f->src_port, 5353);
    assert_int_equal(f->dst_port, 53);
    assert_int_equal(f->vlan_id, 300);
    assert_int_equal(f->ip_tos, 0xa5);
    assert_int_equal(f->ipv6_flow_label, 0xbcdef);
    assert_int_equal(f->ip_ttl, 64);
    assert_int_equal(f->tcp_flags, 0);
    static const uint32_t ls[] = {FC_L_ETHERNET, FC_L_DOT1Q, FC_L_IPV6, FC_L_UDP};
    static const uint32_t sz[] = {14, 4, 40, 8};
    assert_layers(f, 4, ls, sz);

    /* if_index_only: the multiple-interfaces output is not an ifIndex. */
    fc_sflow_opts_t o = {.if_index_only = true};
    assert_int_equal(decode(x, x->n, &o, &st, NULL, NULL), 0);
    assert_int_equal(g_sink->f[0].in_if, 0x12345);
    assert_int_equal(g_sink->f[0].out_if, 0);
    free(x);
}

/* Compact interface words keep their format bits unless if_index_only. */
static void test_compact_interface_formats(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;

    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 1);
    size_t s = x_flow_sample(x, 1, 1, 5, 0x40000000u | 258, 1); /* output: discarded, reason 258 */
    x_raw_header(x, 1, 100, fr.d, fr.n);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(g_sink->f[0].out_if, 0x40000000u | 258);
    assert_int_equal(g_sink->f[0].forwarding_status, 0);
    fc_sflow_opts_t o = {.if_index_only = true};
    assert_int_equal(decode(x, x->n, &o, NULL, NULL, NULL), 0);
    assert_int_equal(g_sink->f[0].in_if, 5);
    assert_int_equal(g_sink->f[0].out_if, 0);
    assert_int_equal(g_sink->f[0].forwarding_status, 128);
    free(x);
}

/* Header protocol 11 (raw IPv4) with ICMP, and 12 (raw IPv6) with a fragment header. */
static void test_ip_header_protocols(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t a = {{0}, 0}, b = {{0}, 0};
    fc_sflow_stats_t st = {0};

    f_ipv4(&a, 1, 8, V4_SRC, V4_DST);
    f_u8(&a, 3), f_u8(&a, 4), f_u16(&a, 0), f_u16(&a, 0), f_u16(&a, 1500);

    f_ipv6(&b, 44, 8 + 8 + 4);
    f_u8(&b, 17), f_u8(&b, 0), f_u16(&b, (uint16_t)(0 << 3 | 1)), f_u16(&b, 0xcafe),
        f_u16(&b, 0xf00d);
    f_udp(&b, 1000, 2000, 4);
    f_u16(&b, 0), f_u16(&b, 0);

    x_header(x, 0, 1, 2);
    size_t s = x_flow_sample(x, 1, 10, 1, 2, 1);
    x_raw_header(x, 11, 28, a.d, a.n);
    x_close(x, s);
    s = x_flow_sample(x, 2, 10, 1, 2, 1);
    x_raw_header(x, 12, b.n, b.d, b.n);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), 0);
    assert_int_equal(g_sink->n, 2);
    const fc_flow_t *f = &g_sink->f[0];
    assert_int_equal(f->etype, 0x0800);
    assert_int_equal(f->proto, 1);
    assert_int_equal(f->icmp_type, 3);
    assert_int_equal(f->icmp_code, 4);
    assert_int_equal(f->src_port, 0);
    static const uint32_t ls0[] = {FC_L_IPV4, FC_L_ICMP}, sz0[] = {20, 8};
    assert_layers(f, 2, ls0, sz0);

    f = &g_sink->f[1];
    assert_int_equal(f->etype, 0x86dd);
    assert_int_equal(f->proto, 17);
    assert_int_equal(f->fragment_id, 0xcafef00d);
    assert_int_equal(f->fragment_offset, 0);
    assert_int_equal(f->ip_flags, 1); /* M */
    assert_int_equal(f->src_port, 1000);
    static const uint32_t ls1[] = {FC_L_IPV6, FC_L_IPV6_FRAGMENT, FC_L_UDP}, sz1[] = {40, 8, 8};
    assert_layers(f, 3, ls1, sz1);
    assert_int_equal(st.header_partial + st.header_unparsed, 0);
    free(x);
}

/* MPLS label stack over Ethernet; an unparsed header protocol still gives bytes. */
static void test_mpls_and_unparsed_protocol(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr = {{0}, 0};
    fc_sflow_stats_t st = {0};

    f_eth(&fr, 0x8847);
    f_u16(&fr, 0x0006), f_u16(&fr, 0x4440); /* label 100, TC 2, TTL 64 */
    f_u16(&fr, 0x0000), f_u16(&fr, 0x1141); /* label 1, TC 0, S, TTL 65 */
    f_ipv4(&fr, 17, 8, V4_SRC, V4_DST);
    f_udp(&fr, 1, 2, 0);

    x_header(x, 0, 1, 1);
    size_t s = x_flow_sample(x, 1, 1, 1, 2, 2);
    x_raw_header(x, 1, 200, fr.d, fr.n);
    x_raw_header(x, 7, 300, fr.d, 8); /* PPP: not parsed, the later record sets bytes */
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), 0);
    const fc_flow_t *f = &g_sink->f[0];
    assert_int_equal(f->n_mpls, 2);
    assert_int_equal(f->mpls_label[0], 100);
    assert_int_equal(f->mpls_ttl[0], 64);
    assert_int_equal(f->mpls_label[1], 1);
    assert_int_equal(f->mpls_ttl[1], 65);
    assert_int_equal(f->etype, 0x0800);
    assert_addr(&f->src_addr, V4_SRC, 4);
    static const uint32_t ls[] = {FC_L_ETHERNET, FC_L_MPLS, FC_L_IPV4, FC_L_UDP};
    static const uint32_t sz[] = {14, 8, 20, 8};
    assert_layers(f, 4, ls, sz);
    assert_int_equal(f->bytes, 300);
    assert_int_equal(st.header_unparsed, 1);
    free(x);
}

/* Sampled IPv4 data, Ethernet data and the extended switch, router and gateway records. */
static void test_extended_records(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    fc_sflow_stats_t st = {0};
    static const uint8_t nh6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t bgp_nh[4] = {192, 0, 2, 254};

    x_header(x, 0, 7, 2);
    size_t s = x_flow_sample(x, 1, 100, 1, 2, 5);
    size_t r = x_open(x, 3); /* sampled IPv4 */
    x_u32(x, 1400), x_u32(x, 6);
    x_bytes(x, V4_SRC, 4), x_bytes(x, V4_DST, 4);
    x_u32(x, 1111), x_u32(x, 80), x_u32(x, 0x18), x_u32(x, 0x20);
    x_close(x, r);
    r = x_open(x, 2); /* sampled Ethernet */
    x_u32(x, 1418);
    x_bytes(x, MAC_SRC, 6), x_u8(x, 0), x_u8(x, 0);
    x_bytes(x, MAC_DST, 6), x_u8(x, 0), x_u8(x, 0);
    x_u32(x, 0x0800);
    x_close(x, r);
    r = x_open(x, 1001); /* switch */
    x_u32(x, 10), x_u32(x, 3), x_u32(x, 20), x_u32(x, 4);
    x_close(x, r);
    r = x_open(x, 1002); /* router, IPv6 next hop */
    x_u32(x, 2), x_bytes(x, nh6, 16), x_u32(x, 24), x_u32(x, 48);
    x_close(x, r);
    r = x_open(x, 1003); /* gateway: 2 segments, 2 communities */
    x_u32(x, 1), x_bytes(x, bgp_nh, 4);
    x_u32(x, 64500), x_u32(x, 0), x_u32(x, 64501);
    x_u32(x, 2);
    x_u32(x, 2), x_u32(x, 2), x_u32(x, 65001), x_u32(x, 65002); /* AS_SEQUENCE */
    x_u32(x, 1), x_u32(x, 1), x_u32(x, 65010);                  /* AS_SET */
    x_u32(x, 2), x_u32(x, 0xfde80001), x_u32(x, 2);
    x_u32(x, 100);
    x_close(x, r);
    x_close(x, s);

    /* Second sample: gateway with no path and a source AS. */
    s = x_flow_sample(x, 2, 100, 1, 2, 1);
    r = x_open(x, 1003);
    x_u32(x, 1), x_bytes(x, bgp_nh, 4);
    x_u32(x, 64500), x_u32(x, 64999), x_u32(x, 0);
    x_u32(x, 0), x_u32(x, 0), x_u32(x, 0);
    x_close(x, r);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), 0);
    assert_int_equal(g_sink->n, 2);
    const fc_flow_t *f = &g_sink->f[0];
    assert_addr(&f->src_addr, V4_SRC, 4);
    assert_addr(&f->dst_addr, V4_DST, 4);
    assert_int_equal(f->bytes, 1400);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->src_port, 1111);
    assert_int_equal(f->dst_port, 80);
    assert_int_equal(f->tcp_flags, 0x18);
    assert_int_equal(f->ip_tos, 0x20);
    assert_int_equal(f->etype, 0x0800);
    assert_true(f->src_mac == mac48(MAC_SRC) && f->dst_mac == mac48(MAC_DST));
    assert_int_equal(f->src_vlan, 10);
    assert_int_equal(f->dst_vlan, 20);
    assert_addr(&f->next_hop, nh6, 16);
    assert_int_equal(f->src_net, 24);
    assert_int_equal(f->dst_net, 48);
    assert_addr(&f->bgp_next_hop, bgp_nh, 4);
    assert_int_equal(f->n_as_path, 3);
    assert_int_equal(f->as_path[0], 65001);
    assert_int_equal(f->as_path[1], 65002);
    assert_int_equal(f->as_path[2], 65010);
    assert_int_equal(f->dst_as, 65010);
    assert_int_equal(f->next_hop_as, 65001);
    assert_int_equal(f->src_as, 64500); /* SrcAS 0: the router's AS */
    assert_int_equal(f->n_bgp_communities, 2);
    assert_int_equal(f->bgp_communities[0], 0xfde80001);
    assert_int_equal(f->bgp_communities[1], 2);
    assert_int_equal(f->n_layers, 0);

    f = &g_sink->f[1];
    assert_int_equal(f->n_as_path, 0);
    assert_int_equal(f->dst_as, 64500);
    assert_int_equal(f->next_hop_as, 0);
    assert_int_equal(f->src_as, 64999);
    assert_int_equal(st.invalid + st.unknown_records, 0);
    free(x);
}

/* Counter samples are counted, not emitted; the flow sample after them is. */
static void test_counter_samples_skipped(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;
    fc_sflow_stats_t st = {0};

    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 3);
    size_t s = x_open(x, 2);
    x_u32(x, 340), x_u32(x, 6), x_u32(x, 2);
    size_t r = x_open(x, 1); /* generic interface counters, 88 bytes */
    x_u32(x, 6), x_u32(x, 6), x_u64(x, 1000000000), x_u32(x, 1), x_u32(x, 3);
    x_u64(x, 1), x_u32(x, 1000);
    for (int i = 0; i < 5; i++)
        x_u32(x, 0);
    x_u64(x, 2), x_u32(x, 2000);
    for (int i = 0; i < 5; i++)
        x_u32(x, 0);
    x_close(x, r);
    r = x_open(x, 2); /* Ethernet counters */
    for (int i = 0; i < 13; i++)
        x_u32(x, (uint32_t)i);
    x_close(x, r);
    x_close(x, s);
    s = x_open(x, 4); /* expanded counter sample, no records */
    x_u32(x, 1), x_u32(x, 0), x_u32(x, 6), x_u32(x, 0);
    x_close(x, s);
    s = x_flow_sample(x, 1, 1, 1, 2, 1);
    x_raw_header(x, 1, 100, fr.d, fr.n);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), 0);
    assert_int_equal(g_sink->n, 1);
    assert_int_equal(g_sink->f[0].dst_port, 443);
    assert_int_equal(st.samples, 3);
    assert_int_equal(st.counter_samples, 2);
    assert_int_equal(st.flow_samples, 1);
    assert_int_equal(st.unknown_records, 0);
    free(x);
}

/* Unknown sample types and record formats are skipped by their lengths. */
static void test_unknown_skipped(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;
    fc_sflow_stats_t st = {0};

    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 4);
    size_t s = x_open(x, 5); /* drop sample: not decoded here */
    x_u32(x, 1), x_u32(x, 2), x_u32(x, 3);
    x_close(x, s);
    s = x_open(x, (4413u << 12) | 1); /* enterprise 4413 */
    x_u32(x, 0xffffffff);
    x_close(x, s);
    s = x_flow_sample(x, 1, 1, 1, 2, 4);
    size_t r = x_open(x, 2000); /* unknown standard format */
    x_u32(x, 1), x_u32(x, 2), x_u32(x, 3);
    x_close(x, r);
    r = x_open(x, (8800u << 12) | 1); /* enterprise record, 0 bytes */
    x_close(x, r);
    x_raw_header(x, 1, 100, fr.d, fr.n);
    r = x_open(x, 1036); /* egress queue: unknown here */
    x_u32(x, 3);
    x_close(x, r);
    x_close(x, s);
    s = x_open(x, 9); /* unknown standard sample type, after the flow */
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), 0);
    assert_int_equal(g_sink->n, 1);
    assert_int_equal(g_sink->f[0].src_port, 40000);
    assert_int_equal(st.samples, 4);
    assert_int_equal(st.unknown_samples, 3);
    assert_int_equal(st.unknown_records, 3);
    assert_int_equal(st.truncated + st.invalid, 0);
    free(x);
}

/* Tunnels: GRE is followed in the layer stack; with decap the inner flow is reported. */
static void test_tunnels(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t gre = {{0}, 0}, vx = {{0}, 0};
    static const uint8_t IN_SRC[4] = {10, 0, 0, 1}, IN_DST[4] = {10, 0, 0, 2};

    /* Ethernet / IPv4 / GRE (key) / IPv4 / TCP */
    f_eth(&gre, 0x0800);
    f_ipv4(&gre, 47, 8 + 20 + 20, V4_SRC, V4_DST);
    f_u16(&gre, 0x2000), f_u16(&gre, 0x0800), f_u16(&gre, 0), f_u16(&gre, 77);
    f_ipv4(&gre, 6, 20, IN_SRC, IN_DST);
    f_tcp(&gre, 1234, 22, 0x02);

    /* Ethernet / IPv4 / UDP 4789 / VXLAN / Ethernet / IPv4 / UDP */
    f_eth(&vx, 0x0800);
    f_ipv4(&vx, 17, 8 + 8 + 14 + 20 + 8, V4_SRC, V4_DST);
    f_udp(&vx, 50000, 4789, 8 + 14 + 20 + 8);
    f_u8(&vx, 0x08), f_u8(&vx, 0), f_u16(&vx, 0), f_u16(&vx, 0x0012), f_u16(&vx, 0x3400);
    f_eth(&vx, 0x0800);
    f_ipv4(&vx, 17, 8, IN_SRC, IN_DST);
    f_udp(&vx, 53, 5353, 0);

    x_header(x, 0, 1, 2);
    size_t s = x_flow_sample(x, 1, 1, 1, 2, 1);
    x_raw_header(x, 1, 500, gre.d, gre.n);
    x_close(x, s);
    s = x_flow_sample(x, 2, 1, 1, 2, 1);
    x_raw_header(x, 1, 600, vx.d, vx.n);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(g_sink->n, 2);
    const fc_flow_t *f = &g_sink->f[0];
    assert_addr(&f->src_addr, V4_SRC, 4);       /* outer */
    assert_int_equal(f->outer_src_addr.len, 0); /* no decap: no outer copy */
    assert_int_equal(f->proto, 47);
    static const uint32_t lg[] = {FC_L_ETHERNET, FC_L_IPV4, FC_L_GRE, FC_L_IPV4, FC_L_TCP};
    static const uint32_t sg[] = {14, 20, 8, 20, 20};
    assert_layers(f, 5, lg, sg);
    f = &g_sink->f[1];
    assert_addr(&f->src_addr, V4_SRC, 4);
    assert_int_equal(f->dst_port, 4789);
    static const uint32_t lv[] = {FC_L_ETHERNET, FC_L_IPV4, FC_L_UDP};
    static const uint32_t sv[] = {14, 20, 8};
    assert_layers(f, 3, lv, sv);

    fc_sflow_opts_t o = {.decap = true};
    assert_int_equal(decode(x, x->n, &o, NULL, NULL, NULL), 0);
    f = &g_sink->f[0];
    assert_addr(&f->src_addr, IN_SRC, 4);
    assert_addr(&f->dst_addr, IN_DST, 4);
    /* the tunnel's outer addresses are kept beside the inner flow */
    assert_addr(&f->outer_src_addr, V4_SRC, 4);
    assert_addr(&f->outer_dst_addr, V4_DST, 4);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->src_port, 1234);
    assert_int_equal(f->dst_port, 22);
    assert_int_equal(f->tcp_flags, 0x02);
    assert_true(f->src_mac == mac48(MAC_SRC)); /* no inner Ethernet: outer MACs stay */
    assert_int_equal(f->bytes, 500);
    assert_layers(f, 5, lg, sg);
    f = &g_sink->f[1];
    assert_addr(&f->src_addr, IN_SRC, 4);
    assert_addr(&f->outer_src_addr, V4_SRC, 4);
    assert_int_equal(f->proto, 17);
    assert_int_equal(f->src_port, 53);
    assert_int_equal(f->dst_port, 5353);
    static const uint32_t lv2[] = {FC_L_ETHERNET, FC_L_IPV4, FC_L_UDP, FC_L_CUSTOM,
                                   FC_L_ETHERNET, FC_L_IPV4, FC_L_UDP};
    static const uint32_t sv2[] = {14, 20, 8, 8, 14, 20, 8};
    assert_layers(f, 7, lv2, sv2);
    free(x);
}

/* emit's non-zero return stops the datagram. */
static void test_emit_stops(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;
    fc_sflow_stats_t st = {0};

    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 3);
    for (int i = 0; i < 3; i++) {
        size_t s = x_flow_sample(x, (uint32_t)i, 1, 1, 2, 1);
        x_raw_header(x, 1, 100, fr.d, fr.n);
        x_close(x, s);
    }
    g_sink->stop_after = 1;
    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), 0);
    g_sink->stop_after = 0;
    assert_int_equal(g_sink->n, 1);
    assert_int_equal(st.flows, 1);
    free(x);
}

/* ---- hostile datagrams ------------------------------------------------------------- */

/* A datagram of three flow samples around a counter sample, for the cut tests. */
static size_t build_four(xdr_t *x, size_t ends[4])
{
    frame_t fr;
    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 4);
    for (int i = 0; i < 4; i++) {
        if (i == 2) {
            size_t s = x_open(x, 2);
            x_u32(x, 1), x_u32(x, 1), x_u32(x, 0);
            x_close(x, s);
        } else {
            size_t s = x_flow_sample(x, (uint32_t)i, 1, 1, 2, 2);
            x_raw_header(x, 1, 100, fr.d, fr.n);
            size_t r = x_open(x, 1001);
            x_u32(x, 1), x_u32(x, 0), x_u32(x, 2), x_u32(x, 0);
            x_close(x, r);
            x_close(x, s);
        }
        ends[i] = x->n;
    }
    return x->n;
}

/* Every cut of a good datagram: no read past it, counted truncated, complete samples kept. */
static void test_every_truncation(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    size_t ends[4];
    size_t len = build_four(x, ends);

    for (size_t cut = 0; cut < len; cut++) {
        fc_sflow_stats_t st = {0};
        fc_sflow_hdr_t hdr;
        fk_err_t e = {{0}};
        int rc = decode(x, cut, NULL, &st, &hdr, &e);
        size_t want = 0;
        for (int i = 0; i < 4; i++)
            if (ends[i] <= cut && i != 2)
                want++;
        assert_int_equal(rc, -1);
        assert_int_equal(st.truncated, 1);
        assert_int_equal(st.invalid + st.unsupported + st.capped, 0);
        assert_int_equal(g_sink->n, want);
        assert_int_equal(st.flows, want);
        assert_true(strncmp(e.msg, "sflow: ", 7) == 0);
        assert_int_equal(hdr.valid, cut >= 28);
    }
    fc_sflow_stats_t st = {0};
    assert_int_equal(decode(x, len, NULL, &st, NULL, NULL), 0);
    assert_int_equal(g_sink->n, 3);
    free(x);
}

/* A sample whose length runs past the datagram: the samples before it still count. */
static void test_sample_length_past_end(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    size_t ends[4];
    size_t len = build_four(x, ends);
    fc_sflow_stats_t st = {0};

    /* Sample 3's length field sits 4 bytes after sample 2 ends. */
    x_set32(x, ends[2] + 4, 0xfffffff0u);
    assert_int_equal(decode(x, len, NULL, &st, NULL, NULL), -1);
    assert_int_equal(g_sink->n, 2);
    assert_int_equal(st.truncated, 1);
    free(x);
}

/* The raw header's length is bigger than its record: that sample is dropped, not the next. */
static void test_header_longer_than_record(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;
    fc_sflow_stats_t st = {0};
    fk_err_t e = {{0}};

    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 2);
    size_t s = x_flow_sample(x, 1, 1, 1, 2, 1);
    size_t r = x_open(x, 1);
    x_u32(x, 1), x_u32(x, 100), x_u32(x, 4);
    x_u32(x, 200); /* header length 200 */
    x_bytes(x, fr.d, 64);
    x_close(x, r);
    x_close(x, s);
    s = x_flow_sample(x, 2, 1, 1, 2, 1);
    x_raw_header(x, 1, 100, fr.d, fr.n);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, &e), -1);
    assert_int_equal(g_sink->n, 1);
    assert_int_equal(g_sink->f[0].sampling_rate, 1);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(st.truncated, 0);
    assert_non_null(strstr(e.msg, "header length 200"));
    free(x);
}

/* A record running past its sample, and fewer records than announced. */
static void test_record_framing(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;
    fc_sflow_stats_t st = {0};

    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 3);
    size_t s = x_flow_sample(x, 1, 1, 1, 2, 1);
    size_t r = x_open(x, 1001);
    x_u32(x, 1), x_u32(x, 2), x_u32(x, 3), x_u32(x, 4);
    x_close(x, r);
    x_set32(x, r, 400); /* record says 400 bytes */
    x_close(x, s);
    s = x_flow_sample(x, 2, 1, 1, 2, 3); /* 3 records announced, 1 present */
    x_raw_header(x, 1, 100, fr.d, fr.n);
    x_close(x, s);
    s = x_flow_sample(x, 3, 1, 1, 2, 1);
    x_raw_header(x, 1, 100, fr.d, fr.n);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), -1);
    assert_int_equal(g_sink->n, 1);
    assert_int_equal(g_sink->f[0].sampling_rate, 1);
    assert_int_equal(st.invalid, 2);
    assert_int_equal(st.samples, 3);
    free(x);
}

/* 1001 samples: the first 1000 decode, the cap is counted. */
static void test_sample_count_capped(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    fc_sflow_stats_t st = {0};

    x_header(x, 0, 1, 1001);
    for (int i = 0; i < 1001; i++) {
        size_t s = x_flow_sample(x, (uint32_t)i, 1, 1, 2, 0);
        x_close(x, s);
    }
    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), -1);
    assert_int_equal(g_sink->n, 1000);
    assert_int_equal(st.capped, 1);
    assert_int_equal(st.samples, 1000);
    assert_int_equal(g_sink->f[999].packets, 1);
    free(x);
}

/* 1001 records in a sample, and AS-path / community lists over the cap. */
static void test_record_and_list_caps(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    fc_sflow_stats_t st = {0};

    x_header(x, 0, 1, 4);
    size_t s = x_flow_sample(x, 1, 1, 1, 2, 1001);
    for (int i = 0; i < 1001; i++) {
        size_t r = x_open(x, 1001);
        x_u32(x, 1), x_u32(x, 0), x_u32(x, 1), x_u32(x, 0);
        x_close(x, r);
    }
    x_close(x, s);
    s = x_flow_sample(x, 2, 1, 1, 2, 1); /* 1001 AS-path segments */
    size_t r = x_open(x, 1003);
    x_u32(x, 1), x_bytes(x, AGENT4, 4), x_u32(x, 1), x_u32(x, 2), x_u32(x, 3);
    x_u32(x, 1001);
    for (int i = 0; i < 1001; i++)
        x_u32(x, 2), x_u32(x, 0);
    x_u32(x, 0), x_u32(x, 0);
    x_close(x, r);
    x_close(x, s);
    s = x_flow_sample(x, 3, 1, 1, 2, 1); /* 1001 communities */
    r = x_open(x, 1003);
    x_u32(x, 1), x_bytes(x, AGENT4, 4), x_u32(x, 1), x_u32(x, 2), x_u32(x, 3);
    x_u32(x, 0);
    x_u32(x, 1001);
    for (int i = 0; i < 1001; i++)
        x_u32(x, (uint32_t)i);
    x_u32(x, 0);
    x_close(x, r);
    x_close(x, s);
    s = x_flow_sample(x, 4, 4, 1, 2, 0); /* and a good one */
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), -1);
    assert_int_equal(st.capped, 3);
    assert_int_equal(st.invalid, 0);
    assert_int_equal(g_sink->n, 1);
    assert_int_equal(g_sink->f[0].sampling_rate, 4);
    free(x);
}

/* Zero-length samples and records. */
static void test_zero_lengths(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    frame_t fr;
    fc_sflow_stats_t st = {0};

    frame_v4_tcp(&fr);
    x_header(x, 0, 1, 4);
    size_t s = x_open(x, 1); /* flow sample of 0 bytes */
    x_close(x, s);
    s = x_flow_sample(x, 1, 1, 1, 2, 1); /* a switch record of 0 bytes */
    size_t r = x_open(x, 1001);
    x_close(x, r);
    x_close(x, s);
    s = x_flow_sample(x, 2, 2, 1, 2, 2); /* 0-byte unknown record, then a good header */
    r = x_open(x, 3000);
    x_close(x, r);
    x_raw_header(x, 1, 100, fr.d, fr.n);
    x_close(x, s);
    s = x_flow_sample(x, 3, 3, 1, 2, 1); /* a raw header of 0 bytes: a record, no packet */
    x_raw_header(x, 1, 64, fr.d, 0);
    x_close(x, s);

    assert_int_equal(decode(x, x->n, NULL, &st, NULL, NULL), -1);
    assert_int_equal(st.invalid, 2);
    assert_int_equal(st.unknown_records, 1);
    assert_int_equal(g_sink->n, 2);
    assert_int_equal(g_sink->f[0].sampling_rate, 2);
    assert_int_equal(g_sink->f[0].dst_port, 443);
    assert_int_equal(g_sink->f[1].sampling_rate, 3);
    assert_int_equal(g_sink->f[1].bytes, 64);
    assert_int_equal(g_sink->f[1].src_addr.len, 0);
    assert_int_equal(st.header_partial, 1);
    free(x);
}

/* Datagram headers this decoder does not read. */
static void test_unsupported_headers(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    fc_sflow_stats_t st = {0};
    fc_sflow_hdr_t hdr;
    fk_err_t e = {{0}};

    x_header(x, 0, 1, 0);
    x_set32(x, 0, 4); /* version 4 */
    assert_int_equal(decode(x, x->n, NULL, &st, &hdr, &e), -1);
    assert_false(hdr.valid);
    assert_int_equal(st.unsupported, 1);
    assert_non_null(strstr(e.msg, "version 4"));

    x_header(x, 0, 1, 0);
    x_set32(x, 4, 3); /* agent address type 3 */
    assert_int_equal(decode(x, x->n, NULL, &st, &hdr, NULL), -1);
    assert_int_equal(st.unsupported, 2);

    /* Type 0 ("unknown", no address bytes) is valid sFlow. */
    x->n = 0;
    x_u32(x, 5), x_u32(x, 0), x_u32(x, 1), x_u32(x, 2), x_u32(x, 3), x_u32(x, 1);
    size_t s = x_flow_sample(x, 1, 1, 1, 2, 0);
    x_close(x, s);
    assert_int_equal(decode(x, x->n, NULL, &st, &hdr, NULL), 0);
    assert_true(hdr.valid);
    assert_int_equal(hdr.agent.len, 0);
    assert_int_equal(g_sink->n, 1);
    assert_int_equal(g_sink->f[0].sampler_address.len, 0);
    assert_int_equal(g_sink->f[0].sequence_num, 2);
    assert_int_equal(st.unsupported, 2);
    free(x);
}

/* ---- raw JSON ------------------------------------------------------------------------ */

static char *json_of(const xdr_t *x, size_t len, int *rc)
{
    fk_buf_t b;
    fk_err_t e = {{0}};
    fc_dgram_t dg = {x->d, len, {4, {127, 0, 0, 1}}, 50001, RECV_NS};

    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    *rc = fc_sflow_raw_json(&dg, &b, &e);
    char *s = strndup(b.data, b.len);
    fk_buf_free(&b);
    return s;
}

/* GoFlow2's example from docs/protocols.md, with the sample length it really has. */
static void test_raw_json_counters(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    static const uint8_t lo[4] = {127, 0, 0, 1};
    int rc;

    x->n = 0;
    x_u32(x, 5), x_u32(x, 1), x_bytes(x, lo, 4);
    x_u32(x, 100000), x_u32(x, 1234), x_u32(x, 19070720), x_u32(x, 1);
    size_t s = x_open(x, 2);
    x_u32(x, 340), x_u32(x, 6), x_u32(x, 1);
    size_t r = x_open(x, 1);
    x_u32(x, 6), x_u32(x, 6), x_u64(x, 0), x_u32(x, 0), x_u32(x, 3);
    x_u64(x, 0), x_u32(x, 1000), x_u32(x, 0), x_u32(x, 0), x_u32(x, 0), x_u32(x, 0), x_u32(x, 0);
    x_u64(x, 0), x_u32(x, 2000), x_u32(x, 0), x_u32(x, 0), x_u32(x, 0), x_u32(x, 0);
    x_u32(x, 0);
    x_close(x, r);
    x_close(x, s);

    char *j = json_of(x, x->n, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(
        j, "{\"type\":\"sflow\",\"message\":{\"version\":5,\"ip-version\":1,\"agent-ip\":"
           "\"127.0.0.1\",\"sub-agent-id\":100000,\"sequence-number\":1234,\"uptime\":19070720,"
           "\"samples-count\":1,\"samples\":[{\"header\":{\"format\":2,\"length\":108,"
           "\"sample-sequence-number\":340,\"source-id-type\":0,\"source-id-value\":6},"
           "\"counter-records-count\":1,\"records\":[{\"header\":{\"data-format\":1,"
           "\"length\":88},\"data\":{\"if-index\":6,\"if-type\":6,\"if-speed\":0,"
           "\"if-direction\":0,\"if-status\":3,\"if-in-octets\":0,\"if-in-ucast-pkts\":1000,"
           "\"if-in-multicast-pkts\":0,\"if-in-broadcast-pkts\":0,\"if-in-discards\":0,"
           "\"if-in-errors\":0,\"if-in-unknown-protos\":0,\"if-out-octets\":0,"
           "\"if-out-ucast-pkts\":2000,\"if-out-multicast-pkts\":0,"
           "\"if-out-broadcast-pkts\":0,\"if-out-discards\":0,\"if-out-errors\":0,"
           "\"if-promiscuous-mode\":0}}]}]},\"src\":\"[::ffff:127.0.0.1]:50001\","
           "\"time_received\":\"2023-04-15T20:44:42.723694Z\"}");
    free(j);
    free(x);
}

static void test_raw_json_flow(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    static const uint8_t hdr5[5] = {1, 2, 3, 4, 5};
    int rc;

    x_header(x, 1, 9, 3);
    size_t s = x_flow_sample(x, 77, 512, 7, 0x40000001u, 4);
    x_raw_header(x, 1, 1514, hdr5, 5);
    size_t r = x_open(x, 1003);
    x_u32(x, 2), x_bytes(x, AGENT6, 16), x_u32(x, 1), x_u32(x, 0), x_u32(x, 2);
    x_u32(x, 1), x_u32(x, 2), x_u32(x, 2), x_u32(x, 3), x_u32(x, 4);
    x_u32(x, 1), x_u32(x, 7), x_u32(x, 50);
    x_close(x, r);
    r = x_open(x, 3000);
    x_u32(x, 0xfbff0000);
    x_close(x, r);
    r = x_open(x, 1001); /* cut short */
    x_u32(x, 1);
    x_close(x, r);
    x_close(x, s);
    s = x_open(x, 7);
    x_u32(x, 0x00ff00ff);
    x_close(x, s);
    s = x_open(x, 1);
    x_u32(x, 1);
    x_close(x, s);

    char *j = json_of(x, x->n, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(
        j, "{\"type\":\"sflow\",\"message\":{\"version\":5,\"ip-version\":2,\"agent-ip\":"
           "\"2001:db8::a\",\"sub-agent-id\":3,\"sequence-number\":9,\"uptime\":123456,"
           "\"samples-count\":3,\"samples\":[{\"header\":{\"format\":1,\"length\":160,"
           "\"sample-sequence-number\":77,\"source-id-type\":0,\"source-id-value\":7},"
           "\"sampling-rate\":512,\"sample-pool\":100000,\"drops\":2,\"input\":7,"
           "\"output\":1073741825,\"flow-records-count\":4,\"records\":["
           "{\"header\":{\"data-format\":1,\"length\":24},\"data\":{\"protocol\":1,"
           "\"frame-length\":1514,\"stripped\":4,\"original-length\":5,"
           "\"header-data\":\"AQIDBAU=\"}},"
           "{\"header\":{\"data-format\":1003,\"length\":64},\"data\":{"
           "\"next-hop-ip-version\":2,\"next-hop\":\"2001:db8::a\",\"as\":1,\"src-as\":0,"
           "\"src-peer-as\":2,\"as-destinations\":1,\"as-path-type\":2,\"as-path-length\":2,"
           "\"as-path\":[3,4],\"dst-as-path\":[{\"type\":2,\"path\":[3,4]}],"
           "\"communities-length\":1,\"communities\":[7],\"local-pref\":50}},"
           "{\"header\":{\"data-format\":3000,\"length\":4},\"data\":{\"data\":\"+/8AAA==\"}},"
           "{\"header\":{\"data-format\":1001,\"length\":4},\"data\":null,\"error\":\"invalid\"}"
           "],\"error\":\"invalid\"},"
           "{\"header\":{\"format\":7,\"length\":4},\"data\":\"AP8A/w==\"},"
           "{\"header\":{\"format\":1,\"length\":4},\"error\":\"invalid\"}"
           "]},\"src\":\"[::ffff:127.0.0.1]:50001\","
           "\"time_received\":\"2023-04-15T20:44:42.723694Z\"}");
    free(j);

    /* A cut datagram says so; a bad header writes nothing. */
    j = json_of(x, x->n - 1, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(
        strstr(j, "{\"header\":{\"format\":1,\"length\":4},\"error\":\"truncated\"}]}"));
    free(j);
    j = json_of(x, 10, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(j, "");
    free(j);
    free(x);
}

/* ---- a real exporter ------------------------------------------------------------------ */

/*
 * One datagram from pmacct 1.7.7's sfprobe (pmacctd replaying
 * shared/conformance/ipfixprobe/inputs/vlan.pcap, sampling_rate 1, agent
 * 192.0.2.10, sub-agent 7, ifIndex 5), as captured on loopback; the expected
 * values were read with tshark's sFlow dissector.  Same bytes as
 * tests/fuzz/corpus/fuzz_sflow/pmacct-vlan-1.
 */
static const char PMACCT_VLAN_HEX[] = "0000000500000001c000020a000000070000000100000000000000060000"
                                      "00010000009c000000010000000100000001"
                                      "0000000100000000000000053fffffff00000002000003e9000000100000"
                                      "007b00000000000000000000000000000001"
                                      "0000005c000000010000004e000000040000004a00c09f32418c00e018b1"
                                      "0cad8100007b080045000038000040004011"
                                      "6547c0a8aa08c0a8aa14801b003500249eb0f76f01000001000000000000"
                                      "06676f6f676c6503636f6d00000f00010000"
                                      "00000001000000d000000002000000010000000100000002000000000000"
                                      "00053fffffff00000002000003e900000010"
                                      "0000007b0000000000000000000000000000000100000090000000010000"
                                      "0132000000040000008000e018b10cad00c0"
                                      "9f32418c8100007b08004500011cccbb0000801197a7c0a8aa14c0a8aa08"
                                      "0035801b0108d6f3f76f8180000100060000"
                                      "000606676f6f676c6503636f6d00000f0001c00c000f000100000228000a"
                                      "002805736d747034c00cc00c000f00010000"
                                      "0228000a000a05736d747035c00cc00c000f000100000228000000010000"
                                      "009800000003000000010000000100000003"
                                      "00000000000000053fffffff00000002000003e900000010000000000000"
                                      "000000000000000000000000000100000058"
                                      "000000010000004a000000040000004600c09f32418c00e018b10cad0800"
                                      "450000380000400040116547c0a8aa08c0a8"
                                      "aa14801b003500249eb0f76f0100000100000000000006676f6f676c6503"
                                      "636f6d00000f00010000000000010000009c"
                                      "0000000400000001000000010000000400000000000000053fffffff0000"
                                      "0002000003e9000000100000009600000000"
                                      "0000000000000000000000010000005c000000010000004e000000040000"
                                      "004a00c09f32418c00e018b10cad81000096"
                                      "0800450000380000400040116547c0a8aa08c0a8aa14801b003500249eb0"
                                      "f76f0100000100000000000006676f6f676c"
                                      "6503636f6d00000f0001000000000001000000d000000005000000010000"
                                      "00010000000500000000000000053fffffff"
                                      "00000002000003e900000010000000000000000000000000000000000000"
                                      "000100000090000000010000012e00000004"
                                      "0000008000e018b10cad00c09f32418c08004500011cccbb0000801197a7"
                                      "c0a8aa14c0a8aa080035801b0108d6f3f76f"
                                      "8180000100060000000606676f6f676c6503636f6d00000f0001c00c000f"
                                      "000100000228000a002805736d747034c00c"
                                      "c00c000f000100000228000a000a05736d747035c00cc00c000f00010000"
                                      "0228000a000a00000001000000d000000006"
                                      "00000001000000010000000600000000000000053fffffff000000020000"
                                      "03e900000010000000960000000000000000"
                                      "0000000000000001000000900000000100000132000000040000008000e0"
                                      "18b10cad00c09f32418c8100009608004500"
                                      "011cccbb0000801197a7c0a8aa14c0a8aa080035801b0108d6f3f76f8180"
                                      "000100060000000606676f6f676c6503636f"
                                      "6d00000f0001c00c000f000100000228000a002805736d747034c00cc00c"
                                      "000f000100000228000a000a05736d747035"
                                      "c00cc00c000f000100000228";

static void test_pmacct_datagram(void **state)
{
    (void)state;
    xdr_t *x = calloc(1, sizeof(*x));
    fc_sflow_stats_t st = {0};
    fc_sflow_hdr_t hdr;
    static const uint8_t agent[4] = {192, 0, 2, 10};
    static const uint8_t a8[4] = {192, 168, 170, 8}, a20[4] = {192, 168, 170, 20};
    static const struct {
        uint32_t bytes, vlan;
        int from8;
    } want[6] = {{78, 123, 1}, {306, 123, 0}, {74, 0, 1}, {78, 150, 1}, {302, 0, 0}, {306, 150, 0}};

    for (size_t i = 0; PMACCT_VLAN_HEX[2 * i]; i++) {
        unsigned v;
        assert_int_equal(sscanf(PMACCT_VLAN_HEX + 2 * i, "%2x", &v), 1);
        x->d[x->n++] = (uint8_t)v;
    }
    assert_int_equal(x->n, 1164);
    assert_int_equal(decode(x, x->n, NULL, &st, &hdr, NULL), 0);
    assert_true(hdr.valid);
    assert_addr(&hdr.agent, agent, 4);
    assert_int_equal(hdr.sub_agent_id, 7);
    assert_int_equal(hdr.sequence_num, 1);
    assert_int_equal(hdr.samples_count, 6);
    assert_int_equal(g_sink->n, 6);
    for (int i = 0; i < 6; i++) {
        const fc_flow_t *f = &g_sink->f[i];
        assert_int_equal(f->sampling_rate, 1);
        assert_int_equal(f->in_if, 5);
        assert_int_equal(f->out_if, 0x3fffffff); /* format 0, "not known" */
        assert_int_equal(f->bytes, want[i].bytes);
        assert_int_equal(f->src_vlan, want[i].vlan);
        assert_int_equal(f->vlan_id, want[i].vlan);
        assert_int_equal(f->etype, 0x0800);
        assert_int_equal(f->proto, 17);
        assert_addr(&f->src_addr, want[i].from8 ? a8 : a20, 4);
        assert_addr(&f->dst_addr, want[i].from8 ? a20 : a8, 4);
        assert_int_equal(f->src_port, want[i].from8 ? 32795 : 53);
        assert_int_equal(f->dst_port, want[i].from8 ? 53 : 32795);
        assert_int_equal(f->ip_ttl, want[i].from8 ? 64 : 128);
        assert_true(f->src_mac == (want[i].from8 ? 0x00e018b10cadULL : 0x00c09f32418cULL));
        assert_int_equal(f->n_layers, want[i].vlan ? 4 : 3);
    }
    assert_int_equal(st.truncated + st.invalid + st.unknown_records + st.header_partial, 0);

    fc_sflow_opts_t o = {.if_index_only = true};
    assert_int_equal(decode(x, x->n, &o, NULL, NULL, NULL), 0);
    assert_int_equal(g_sink->f[0].out_if, 0);
    assert_int_equal(g_sink->f[0].in_if, 5);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_agent_raw_tcp),
        cmocka_unit_test(test_ipv6_agent_expanded),
        cmocka_unit_test(test_compact_interface_formats),
        cmocka_unit_test(test_ip_header_protocols),
        cmocka_unit_test(test_mpls_and_unparsed_protocol),
        cmocka_unit_test(test_extended_records),
        cmocka_unit_test(test_counter_samples_skipped),
        cmocka_unit_test(test_unknown_skipped),
        cmocka_unit_test(test_tunnels),
        cmocka_unit_test(test_emit_stops),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_sample_length_past_end),
        cmocka_unit_test(test_header_longer_than_record),
        cmocka_unit_test(test_record_framing),
        cmocka_unit_test(test_sample_count_capped),
        cmocka_unit_test(test_record_and_list_caps),
        cmocka_unit_test(test_zero_lengths),
        cmocka_unit_test(test_unsupported_headers),
        cmocka_unit_test(test_raw_json_counters),
        cmocka_unit_test(test_raw_json_flow),
        cmocka_unit_test(test_pmacct_datagram),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
