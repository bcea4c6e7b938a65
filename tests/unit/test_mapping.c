/*
 * test_mapping.c - the mapping file (collector/mapping.c): loading GoFlow2's
 * sample and the seed page's examples, refusing what is wrong with its line
 * and column, and each mapping feature end to end through the real decoders
 * (IPFIX, NetFlow v9, sFlow raw headers, IPFIX dataLinkFrameSection) and the
 * real formatters (JSON, text, bin decoded back tag by tag).
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

#include "collector/decode/decode.h"
#include "collector/decode/sflow.h"
#include "collector/format/format.h"
#include "collector/mapping.h"
#include "lib/core/buf.h"
#include "tests/common/jsoncheck.h"

/* GoFlow2's cmd/goflow2/mapping.yaml, as ../shared/reference/goflow2-mapping.yaml has it. */
static const char GOFLOW2_SAMPLE[] =
    "formatter:\n"
    "  fields: # list of fields to format in JSON\n"
    "    - type\n    - time_received_ns\n    - sequence_num\n    - sampling_rate\n"
    "    - flow_direction\n    - sampler_address\n    - time_flow_start_ns\n"
    "    - time_flow_end_ns\n    - bytes\n    - packets\n    - src_addr\n    - src_net\n"
    "    - dst_addr\n    - dst_net\n    - etype\n    - proto\n    - src_port\n    - dst_port\n"
    "    - in_if\n    - out_if\n    - src_mac\n    - dst_mac\n"
    "    # additional fields\n"
    "    - icmp_name # virtual column\n"
    "    - csum # udp checksum\n"
    "  key:\n    - sampler_address\n"
    "  protobuf: # manual protobuf fields addition\n"
    "    - name: flow_direction\n      index: 42\n      type: varint\n"
    "    - name: bi_flow_direction\n      index: 41\n      type: varint\n"
    "    - name: ingress_vrf_id\n      index: 39\n      type: varint\n"
    "    - name: egress_vrf_id\n      index: 40\n      type: varint\n"
    "    - name: csum\n      index: 999\n      type: varint\n"
    "  render:\n    time_received_ns: datetimenano\n"
    "# Decoder mappings\n"
    "ipfix:\n  mapping:\n"
    "    - field: 61\n      destination: flow_direction\n"
    "    - field: 239\n      destination: bi_flow_direction\n"
    "    - field: 234\n      destination: ingress_vrf_id\n"
    "    - field: 235\n      destination: egress_vrf_id\n"
    "netflowv9:\n  mapping:\n"
    "    - field: 34 # samplingInterval provided within the template\n"
    "      destination: sampling_rate\n      endian: little\n"
    "    - field: 61\n      destination: flow_direction\n"
    "sflow:\n  ports:\n"
    "    - proto: \"udp\"\n      dir: \"dst\"\n      port: 3544\n      parser: \"teredo-dst\"\n"
    "    - proto: \"udp\"\n      dir: \"both\"\n      port: 4754\n      parser: \"gre\"\n"
    "    - proto: \"udp\"\n      dir: \"both\"\n      port: 6081\n      parser: \"geneve\"\n"
    "  mapping:\n"
    "    - layer: \"udp\"\n      offset: 48\n      length: 16\n      destination: csum\n"
    "    - layer: \"tcp\"\n      offset: 128\n      length: 16\n      destination: csum\n";

/* The seed page's examples (goflow2-protocols.txt "Map custom fields"), with
 * TTL from IPFIX 51, NetFlow v9 51 and sFlow ipv4 offset 64 length 8. */
static const char SEED[] =
    "formatter:\n"
    "  fields:\n"
    "    - type\n    - sampling_rate\n    - src_addr\n    - proto\n    - icmp_name\n"
    "    - flow_direction\n    - ip_ttl_test\n    - juniper_properties\n    - custom_src_port\n"
    "  rename:\n    src_addr: source\n"
    "  render:\n    proto: none\n"
    "  key:\n    - sampler_address\n    - ip_ttl_test\n"
    "  protobuf:\n"
    "    - name: flow_direction\n      index: 42\n      type: varint\n"
    "    - name: ip_ttl_test\n      index: 1000\n      type: varint\n"
    "    - name: juniper_properties\n      index: 1001\n      type: varint\n      array: true\n"
    "    - name: custom_src_port\n      index: 1002\n      type: varint\n"
    "ipfix:\n  mapping:\n"
    "    - field: 34\n      destination: SamplingRate\n      endian: little\n"
    "    - field: 61\n      destination: flow_direction\n"
    "    - field: 51\n      destination: ip_ttl_test\n"
    "    - field: 137\n      destination: juniper_properties\n      penprovided: true\n"
    "      pen: 2636\n"
    "netflowv9:\n  mapping:\n"
    "    - field: 51\n      destination: ip_ttl_test\n"
    "    - field: 61\n      destination: flow_direction\n"
    "    - field: 34\n      destination: sampling_rate\n      endianness: little\n"
    "sflow:\n  mapping:\n"
    "    - layer: \"IPv4\"\n      offset: 64\n      length: 8\n      destination: ip_ttl_test\n"
    "    - layer: \"4\"\n      offset: 0\n      length: 16\n      destination: custom_src_port\n";

static fc_mapping_t *parse_ok(const char *y)
{
    fk_err_t e = {0};
    fc_mapping_t *m = fc_mapping_parse(y, strlen(y), "t.yaml", &e);
    if (!m)
        print_error("refused: %s\n", e.msg);
    assert_non_null(m);
    return m;
}

/* The text refused, with a message starting "t.yaml:LINE:COL:" and holding `what`. */
static void refused(const char *y, const char *where, const char *what)
{
    fk_err_t e = {0};
    fc_mapping_t *m = fc_mapping_parse(y, strlen(y), "t.yaml", &e);
    if (m || strncmp(e.msg, where, strlen(where)) != 0 || !strstr(e.msg, what)) {
        print_error("yaml:\n%s\nwant \"%s ... %s\", got \"%s\"\n", y, where, what,
                    m ? "(accepted)" : e.msg);
        fc_mapping_free(m);
        fail();
    }
}

/* ---- datagram builder ------------------------------------------------------ */

typedef struct bb_st {
    uint8_t d[4096];
    size_t n;
} bb_t;

static void b8(bb_t *b, unsigned v)
{
    assert_true(b->n < sizeof(b->d));
    b->d[b->n++] = (uint8_t)v;
}
static void b16(bb_t *b, unsigned v)
{
    b8(b, v >> 8);
    b8(b, v);
}
static void b32(bb_t *b, uint32_t v)
{
    b16(b, v >> 16);
    b16(b, v & 0xffff);
}
static void bmem(bb_t *b, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b8(b, ((const uint8_t *)p)[i]);
}
static void bput16(bb_t *b, size_t at, unsigned v)
{
    b->d[at] = (uint8_t)(v >> 8);
    b->d[at + 1] = (uint8_t)v;
}

/* An Ethernet / IPv4 (TTL 57) / UDP 5353 -> 53 frame with UDP checksum 0xbeef. */
static size_t frame_udp(uint8_t *p)
{
    static const uint8_t f[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                0xaa, 0xbb, 0x08, 0x00, 0x45, 0x00, 0x00, 0x20, 0x12, 0x34,
                                0x00, 0x00, 57,   17,   0x00, 0x00, 198,  51,   100,  1,
                                203,  0,    113,  2,    0x14, 0xe9, 0x00, 53,   0x00, 0x0c,
                                0xbe, 0xef, 'a',  'b',  'c',  'd'};
    memcpy(p, f, sizeof(f));
    return sizeof(f);
}

typedef struct sink_st {
    fc_flow_t f[8];
    size_t n;
} sink_t;
static sink_t g_sink;

static int emit(void *arg, fc_flow_t *f)
{
    sink_t *s = arg;
    assert_true(s->n < 8);
    s->f[s->n++] = *f;
    return 0;
}

static const fc_addr_t EXP = {4, {192, 0, 2, 1}};

/* The datagram last decoded: kept until the next one, as records' extra
 * values point into it (record.h) and are formatted after decoding here. */
static uint8_t *g_copy;

static void decode(int version, bb_t *b, fc_state_t *st)
{
    fc_dgram_t dg = {NULL, b->n, EXP, 4739, 1700000000000000000ULL};
    free(g_copy);
    uint8_t *copy = g_copy = malloc(b->n); /* exactly the datagram: ASan sees any over-read */
    memcpy(copy, b->d, b->n);
    dg.data = copy;
    fc_dstats_t ds = {0};
    fk_err_t e = {0};
    if (version == 10)
        assert_int_equal(fc_ipfix_decode(&dg, emit, &g_sink, st, &ds, &e), 0);
    else if (version == 9)
        assert_int_equal(fc_nfv9_decode(&dg, emit, &g_sink, st, &ds, &e), 0);
    else {
        fc_sflow_stats_t ss = {0};
        assert_int_equal(fc_sflow_decode(&dg, emit, &g_sink, &ss, &e), 0);
    }
}

/* IPFIX: 8 src, 51 ttl, 61 direction, 34 rate (little-endian 100), 315
 * dataLinkFrameSection, and Juniper 2636/137 twice (an array). */
static void ipfix_dgram(bb_t *b)
{
    uint8_t fr[64];
    size_t flen = frame_udp(fr);
    b->n = 0;
    b16(b, 10), b16(b, 0), b32(b, 1700000000), b32(b, 7), b32(b, 1);
    size_t s = b->n;
    b16(b, 2), b16(b, 0);
    b16(b, 256), b16(b, 7);
    b16(b, 8), b16(b, 4);
    b16(b, 51), b16(b, 1);
    b16(b, 61), b16(b, 1);
    b16(b, 34), b16(b, 4);
    b16(b, 315), b16(b, 0xffff);
    b16(b, 0x8000 | 137), b16(b, 4), b32(b, 2636);
    b16(b, 0x8000 | 137), b16(b, 4), b32(b, 2636);
    bput16(b, s + 2, (unsigned)(b->n - s));
    s = b->n;
    b16(b, 256), b16(b, 0);
    b8(b, 10), b8(b, 1), b8(b, 2), b8(b, 3);
    b8(b, 64);
    b8(b, 1);
    b8(b, 100), b8(b, 0), b8(b, 0), b8(b, 0);
    b8(b, (unsigned)flen), bmem(b, fr, flen);
    b32(b, 0x01020304);
    b32(b, 7);
    bput16(b, s + 2, (unsigned)(b->n - s));
    bput16(b, 2, (unsigned)b->n);
}

/* NetFlow v9: options (rate 5000 for the source id) then data with 51 = 33,
 * 61 = 1 and 34 = 200 little-endian. */
static void nfv9_dgram(bb_t *b)
{
    b->n = 0;
    b16(b, 9), b16(b, 3), b32(b, 100000), b32(b, 1700000000), b32(b, 1), b32(b, 0);
    size_t s = b->n;
    b16(b, 1), b16(b, 0); /* options template */
    b16(b, 257), b16(b, 4), b16(b, 4);
    b16(b, 1), b16(b, 4);  /* scope: system */
    b16(b, 34), b16(b, 4); /* samplingInterval */
    bput16(b, s + 2, (unsigned)(b->n - s));
    s = b->n;
    b16(b, 0), b16(b, 0);
    b16(b, 256), b16(b, 4);
    b16(b, 8), b16(b, 4);
    b16(b, 51), b16(b, 1);
    b16(b, 61), b16(b, 1);
    b16(b, 34), b16(b, 4);
    bput16(b, s + 2, (unsigned)(b->n - s));
    s = b->n;
    b16(b, 257), b16(b, 0);
    b32(b, 0), b32(b, 5000);
    bput16(b, s + 2, (unsigned)(b->n - s));
    s = b->n;
    b16(b, 256), b16(b, 0);
    b8(b, 10), b8(b, 9), b8(b, 9), b8(b, 9);
    b8(b, 33), b8(b, 1);
    b8(b, 200), b8(b, 0), b8(b, 0), b8(b, 0);
    b16(b, 0); /* padding to 4 */
    bput16(b, s + 2, (unsigned)(b->n - s));
}

/* sFlow v5: one flow sample with a raw Ethernet header (frame_udp). */
static void sflow_dgram(bb_t *b)
{
    uint8_t fr[64];
    size_t flen = frame_udp(fr);
    b->n = 0;
    b32(b, 5), b32(b, 1), b8(b, 192), b8(b, 0), b8(b, 2), b8(b, 10);
    b32(b, 0), b32(b, 1), b32(b, 1000), b32(b, 1);
    b32(b, 1); /* flow sample */
    size_t s = b->n;
    b32(b, 0);
    b32(b, 1), b32(b, 3), b32(b, 256), b32(b, 1000), b32(b, 0), b32(b, 3), b32(b, 4), b32(b, 1);
    b32(b, 1); /* raw packet header */
    size_t r = b->n;
    b32(b, 0);
    b32(b, 1), b32(b, (uint32_t)flen + 4), b32(b, 4), b32(b, (uint32_t)flen);
    bmem(b, fr, flen);
    while (b->n % 4)
        b8(b, 0);
    uint32_t rl = (uint32_t)(b->n - r - 4), sl = (uint32_t)(b->n - s - 4);
    bput16(b, r, rl >> 16), bput16(b, r + 2, rl & 0xffff);
    bput16(b, s, sl >> 16), bput16(b, s + 2, sl & 0xffff);
}

static char *format(const fc_flow_t *f, const fc_format_t *fmt, int json)
{
    fk_buf_t b;
    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    assert_int_equal(json ? fc_format_json(&b, f, fmt) : fc_format_text(&b, f, fmt), 0);
    /* the compiled plan agrees with the generic renderer */
    fk_buf_t g;
    assert_int_equal(fk_buf_init(&g, NULL, 0), 0);
    assert_int_equal(fc__format_kv_generic(&g, f, fmt, json), 0);
    if (fc_format_has_fields(fmt))
        assert_memory_equal(b.data, g.data, b.len < g.len ? g.len : b.len);
    fk_buf_free(&g);
    char *s = strndup(b.data, b.len);
    fk_buf_free(&b);
    if (json && !fk_json_valid(s, strlen(s))) {
        print_error("not JSON: %s\n", s);
        fail();
    }
    return s;
}

/* ---- protobuf reader (tests): field `num`'s values in order ----------------- */

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t c = *(*p)++;
        *v |= (uint64_t)(c & 0x7f) << s;
        if (c < 0x80)
            return 0;
    }
    return -1;
}

/* Values (varints) of field num in the delimited message at p; their count. */
static size_t pb_find(const uint8_t *p, size_t n, uint32_t num, uint64_t *out, size_t max,
                      int *wt_out)
{
    const uint8_t *end = p + n;
    uint64_t len, tag, v;
    size_t k = 0;
    assert_int_equal(pb_varint(&p, end, &len), 0);
    assert_int_equal((size_t)(end - p), len);
    while (p < end) {
        assert_int_equal(pb_varint(&p, end, &tag), 0);
        unsigned wt = tag & 7;
        if (wt == 0) {
            assert_int_equal(pb_varint(&p, end, &v), 0);
        } else {
            assert_int_equal(wt, 2);
            assert_int_equal(pb_varint(&p, end, &v), 0);
            assert_true(v <= (uint64_t)(end - p));
            p += v;
        }
        if ((tag >> 3) == num && k < max) {
            *wt_out = (int)wt;
            out[k++] = v;
        }
    }
    return k;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_goflow2_sample_loads(void **state)
{
    (void)state;
    fc_mapping_t *m = parse_ok(GOFLOW2_SAMPLE);
    const fc_mapkey_t *k;
    assert_int_equal(fc_mapping_keys(m, &k), 1);
    assert_string_equal(k[0].name, "sampler_address");
    assert_true(k[0].col >= 0);
    assert_string_equal(fc_columns[k[0].col].name, "sampler_address");
    assert_int_equal(fc_mapping_ports(m), 3);
    assert_true(fc_mapping_has_packet(m));

    /* sFlow UDP: csum (UDP header offset 48 bits, 16) = 0xbeef; icmp_name "unknown";
     * time_received_ns rendered datetimenano. */
    fc_mapping_use(m);
    bb_t b;
    g_sink.n = 0;
    sflow_dgram(&b);
    decode(5, &b, NULL);
    assert_int_equal(g_sink.n, 1);
    char *j = format(&g_sink.f[0], fc_mapping_format(m), 1);
    assert_non_null(
        strstr(j, "\"type\":\"SFLOW_5\",\"time_received_ns\":\"2023-11-14T22:13:20Z\""));
    assert_non_null(strstr(j, "\"icmp_name\":\"unknown\",\"csum\":48879}"));
    assert_null(strstr(j, "flow_direction")); /* no value: left out */
    free(j);

    /* NetFlow v9: 61 -> flow_direction; 34 little-endian -> sampling_rate 200, kept
     * although options data announced 5000 */
    fc_state_t *st = fc_state_new(0);
    g_sink.n = 0;
    nfv9_dgram(&b);
    decode(9, &b, st);
    assert_int_equal(g_sink.n, 1);
    assert_int_equal(g_sink.f[0].sampling_rate, 200);
    j = format(&g_sink.f[0], fc_mapping_format(m), 1);
    assert_non_null(strstr(j, "\"sampling_rate\":200,\"flow_direction\":1,"));
    free(j);
    fc_state_free(st);
    fc_mapping_use(NULL);
    fc_mapping_free(m);
}

static void test_ipfix_mapping(void **state)
{
    (void)state;
    fc_mapping_t *m = parse_ok(SEED);
    fc_state_t *st = fc_state_new(0);
    bb_t b;
    fc_mapping_use(m);
    g_sink.n = 0;
    ipfix_dgram(&b);
    decode(10, &b, st);
    assert_int_equal(g_sink.n, 1);
    const fc_flow_t *f = &g_sink.f[0];
    assert_int_equal(f->sampling_rate, 100); /* 34 little-endian, Go name destination */

    char *j = format(f, fc_mapping_format(m), 1);
    /* TTL from 51, direction from 61, Juniper array of two; custom_src_port
     * from the 315 frame's UDP header (layer 4, offset 0, 16 bits) = 5353 */
    assert_string_equal(j, "{\"type\":\"IPFIX\",\"sampling_rate\":100,\"source\":\"10.1.2.3\","
                           "\"proto\":0,\"icmp_name\":\"unknown\",\"flow_direction\":1,"
                           "\"ip_ttl_test\":57,\"juniper_properties\":[16909060,7],"
                           "\"custom_src_port\":5353}");
    free(j);
    /* the 315 frame's IPv4 TTL (57) replaced the record's 64 for ip_ttl_test:
     * the last value of a non-array field wins (mapping order: 51, then 315) */
    j = format(f, fc_mapping_format(m), 0);
    assert_string_equal(j, "type=IPFIX sampling_rate=100 source=10.1.2.3 proto=0 "
                           "icmp_name=unknown flow_direction=1 ip_ttl_test=57 "
                           "juniper_properties=[16909060,7] custom_src_port=5353");
    free(j);

    /* bin: custom fields at their indexes, the array unpacked (one tag each) */
    fk_buf_t bin;
    assert_int_equal(fk_buf_init(&bin, NULL, 0), 0);
    assert_int_equal(fc_format_bin(&bin, f, fc_mapping_format(m)), 0);
    uint64_t v[4];
    int wt = -1;
    assert_int_equal(pb_find((const uint8_t *)bin.data, bin.len, 42, v, 4, &wt), 1);
    assert_int_equal(v[0], 1);
    assert_int_equal(wt, 0);
    assert_int_equal(pb_find((const uint8_t *)bin.data, bin.len, 1001, v, 4, &wt), 2);
    assert_int_equal(v[0], 0x01020304);
    assert_int_equal(v[1], 7);
    assert_int_equal(pb_find((const uint8_t *)bin.data, bin.len, 1000, v, 4, &wt), 1);
    assert_int_equal(v[0], 57);
    assert_int_equal(pb_find((const uint8_t *)bin.data, bin.len, 3, v, 4, &wt), 1); /* rate */
    assert_int_equal(v[0], 100);
    fk_buf_free(&bin);

    /* A mapped element is not repeated as an extra; with no fields the extras print */
    fc_mapping_t *m2 =
        parse_ok("ipfix:\n  mapping:\n    - field: 137\n      penprovided: true\n"
                 "      pen: 2636\n      destination: x\n"
                 "formatter:\n  protobuf:\n    - {name: x, index: 2000, type: bytes}\n");
    fc_mapping_use(m2);
    g_sink.n = 0;
    fc_state_free(st);
    st = fc_state_new(0);
    decode(10, &b, st);
    assert_int_equal(g_sink.n, 1);
    j = format(&g_sink.f[0], fc_mapping_format(m2), 1);
    assert_null(strstr(j, "\"x\""));      /* not in fields: custom fields print only when listed */
    assert_null(strstr(j, "\"id\":137")); /* mapped: not an unknown element any more */
    free(j);
    assert_int_equal(fk_buf_init(&bin, NULL, 0), 0);
    assert_int_equal(fc_format_bin(&bin, &g_sink.f[0], NULL), 0);
    assert_int_equal(pb_find((const uint8_t *)bin.data, bin.len, 2000, v, 4, &wt), 1);
    assert_int_equal(wt, 2);
    assert_int_equal(v[0], 4); /* bytes: the length of the last value (non-array) */
    fk_buf_free(&bin);

    fc_mapping_use(NULL);
    fc_mapping_free(m2);
    fc_state_free(st);
    fc_mapping_free(m);
}

static void test_nfv9_and_sflow_mapping(void **state)
{
    (void)state;
    fc_mapping_t *m = parse_ok(SEED);
    fc_state_t *st = fc_state_new(0);
    bb_t b;
    fc_mapping_use(m);
    g_sink.n = 0;
    nfv9_dgram(&b);
    decode(9, &b, st);
    assert_int_equal(g_sink.n, 1);
    char *j = format(&g_sink.f[0], fc_mapping_format(m), 1);
    assert_string_equal(j, "{\"type\":\"NETFLOW_V9\",\"sampling_rate\":200,\"source\":\"10.9.9.9\","
                           "\"proto\":0,\"icmp_name\":\"unknown\",\"flow_direction\":1,"
                           "\"ip_ttl_test\":33}");
    free(j);

    g_sink.n = 0;
    sflow_dgram(&b);
    decode(5, &b, NULL);
    assert_int_equal(g_sink.n, 1);
    j = format(&g_sink.f[0], fc_mapping_format(m), 1);
    assert_string_equal(j,
                        "{\"type\":\"SFLOW_5\",\"sampling_rate\":256,\"source\":\"198.51.100.1\","
                        "\"proto\":17,\"icmp_name\":\"unknown\",\"ip_ttl_test\":57,"
                        "\"custom_src_port\":5353}");
    free(j);
    fc_mapping_use(NULL);
    fc_mapping_free(m);

    /* Bits that are not byte-aligned, little-endian, lists and addresses as destinations */
    m = parse_ok("sflow:\n  mapping:\n"
                 "    - {layer: ip, offset: 4, length: 4, destination: ihl}\n"
                 "    - {layer: 3, offset: 0, length: 4, destination: IpFlags}\n"
                 "    - {layer: udp, offset: 16, length: 16, endianness: little, destination: "
                 "dst_as}\n"
                 "    - {layer: ipv4, offset: 96, length: 32, destination: next_hop}\n"
                 "    - {layer: Ethernet, offset: 0, length: 48, destination: raw}\n"
                 "    - {layer: 7, offset: 0, length: 32, destination: as_path}\n"
                 "    - {layer: 7, offset: 8, length: 8, destination: as_path}\n"
                 "    - {layer: ipv6, offset: 0, length: 8, destination: ihl}\n"
                 "    - {layer: 7, offset: 24, length: 16, destination: bgp_communities}\n"
                 "formatter:\n  fields: [ihl, ip_flags, dst_as, next_hop, raw, as_path]\n"
                 "  protobuf:\n    - {name: ihl, index: 3000, type: varint}\n"
                 "    - {name: raw, index: 3001, type: bytes}\n");
    fc_mapping_use(m);
    g_sink.n = 0;
    decode(5, &b, NULL);
    assert_int_equal(g_sink.n, 1);
    j = format(&g_sink.f[0], fc_mapping_format(m), 1);
    assert_string_equal(j,
                        "{\"ihl\":5,\"ip_flags\":4,\"dst_as\":13568,\"next_hop\":\"198.51.100.1\","
                        "\"raw\":\"001122334455\",\"as_path\":[1633837924,98]}");
    free(j);
    /* 'c' 'd' then past the packet: skipped and counted, not zero-filled */
    assert_int_equal(g_sink.f[0].n_bgp_communities, 0);
    assert_int_equal(fc_mapping_skipped(m), 1);
    fc_mapping_use(NULL);
    fc_mapping_free(m);
    fc_state_free(st);
}

static void test_formatter(void **state)
{
    (void)state;
    /* selection, order, rename, render (etype, proto names, network prefix, icmp
     * name, mac, datetime), the virtual icmp_name */
    fc_mapping_t *m = parse_ok("formatter:\n"
                               "  fields: [dst_net, proto, etype, icmp_name, src_mac, "
                               "time_flow_start_ns, tf]\n"
                               "  rename: {dst_net: net, icmp_name: icmp}\n"
                               "  render: {time_flow_start_ns: datetimenano, etype: etype, tf: "
                               "network}\n");
    fc_flow_t f;
    memset(&f, 0, sizeof(f));
    f.proto = 1;
    f.icmp_type = 8;
    f.etype = 0x86dd;
    f.dst_net = 24;
    f.dst_addr = (fc_addr_t){4, {10, 1, 2, 3}};
    f.src_mac = 0x0011223344ffULL;
    f.time_flow_start_ns = 1500000000;
    char *j = format(&f, fc_mapping_format(m), 1);
    assert_string_equal(j, "{\"net\":\"10.1.2.0/24\",\"proto\":\"ICMP\",\"etype\":\"IPv6\","
                           "\"icmp\":\"Echo\",\"src_mac\":\"00:11:22:33:44:ff\","
                           "\"time_flow_start_ns\":\"1970-01-01T00:00:01.5Z\",\"tf\":\"unknown\"}");
    free(j);
    fc_mapping_free(m);

    /* render none overrides a default; datetime on seconds; datetimenano; ip */
    m = parse_ok(
        "formatter:\n  fields: [dst_net, proto, sequence_num, time_received_ns, next_hop]\n"
        "  render:\n    dst_net: none\n    proto: none\n    sequence_num: datetime\n"
        "    time_received_ns: datetimenano\n    next_hop: ip\n");
    f.sequence_num = 86400;
    f.time_received_ns = 1000000000000000123ULL;
    j = format(&f, fc_mapping_format(m), 0);
    assert_string_equal(j, "dst_net=24 proto=1 sequence_num=1970-01-02T00:00:00Z "
                           "time_received_ns=2001-09-09T01:46:40.000000123Z next_hop=");
    free(j);
    fc_mapping_free(m);
}

static void test_refused(void **state)
{
    (void)state;
    refused("formatter:\n  fieldz: [a]\n", "t.yaml:2:3:", "unknown key \"fieldz\"");
    refused("formatter:\n  fields: [type, nope]\n", "t.yaml:2:18:", "field \"nope\"");
    refused("formatter:\n  fields: type\n", "t.yaml:2:11:", "expected a list");
    refused("formatter:\n  protobuf:\n    - {name: a, index: 42, type: varint}\n"
            "    - {name: b, index: 42, type: varint}\n",
            "t.yaml:4:24:", "two custom fields");
    refused("formatter:\n  protobuf:\n    - {name: a, index: 25, type: varint}\n",
            "t.yaml:3:24:", "flow.proto's field ip_ttl");
    refused("formatter:\n  protobuf:\n    - {name: a, index: \"7\", type: varint}\n",
            "t.yaml:3:24:", "expected an unquoted integer");
    refused("formatter:\n  protobuf:\n    - {name: a, index: 7000, type: int}\n",
            "t.yaml:3:36:", "expected varint, string or bytes");
    refused("formatter:\n  protobuf:\n    - {name: a, index: 7000, type: varint}\n"
            "    - {name: a, index: 7001, type: varint}\n",
            "t.yaml:4:14:", "declared twice");
    refused("formatter:\n  protobuf:\n    - {name: src_addr, index: 7000, type: varint}\n",
            "t.yaml:3:14:", "is a flow.proto field");
    refused("formatter:\n  protobuf:\n    - {name: a, index: 19500, type: varint}\n",
            "t.yaml:3:24:", "reserved");
    refused("formatter:\n  render:\n    proto: name\n", "t.yaml:3:12:", "not a renderer");
    refused("formatter:\n  key: [nothing]\n",
            "t.yaml:2:9:", "key field \"nothing\" does not exist");
    refused("formatter:\n  rename: {zzz: a}\n", "t.yaml:2:12:", "formatter.rename: \"zzz\"");
    refused("ipfix:\n  mapping:\n    - {field: 61, destination: nowhere}\n",
            "t.yaml:3:32:", "destination \"nowhere\"");
    refused("ipfix:\n  mapping:\n    - {field: 61, destination: type}\n",
            "t.yaml:3:32:", "cannot take");
    refused("ipfix:\n  mapping:\n    - {field: 70000, destination: in_if}\n",
            "t.yaml:3:15:", "out of range");
    refused("ipfix:\n  mapping:\n    - {field: 137, pen: 2636, destination: in_if}\n",
            "t.yaml:3:25:", "penprovided is not true");
    refused("ipfix:\n  mapping:\n    - {field: 1, destination: in_if, endian: middle}\n",
            "t.yaml:3:46:", "expected big or little");
    refused("ipfix:\n  mapping:\n    - {field: 1, destination: in_if, endian: big, "
            "endianness: little}\n",
            "t.yaml:3:63:", "disagree");
    refused("netflowv9:\n  mapping:\n    - {field: 1, destination: in_if, penprovided: true}\n",
            "t.yaml:3:51:", "no enterprise number");
    refused("sflow:\n  mapping:\n    - {layer: vxlan, offset: 0, length: 8, destination: in_if}\n",
            "t.yaml:3:15:", "layer \"vxlan\"");
    refused("sflow:\n  mapping:\n    - {layer: 4, offset: 0, length: 72, destination: in_if}\n",
            "t.yaml:3:37:", "at most 64");
    refused("sflow:\n  mapping:\n    - {layer: 4, encap: true, length: 8, destination: in_if}\n",
            "t.yaml:3:25:", "not implemented");
    refused("sflow:\n  ports:\n    - {proto: udp, dir: dst, port: 4789, parser: vxlan}\n",
            "t.yaml:3:50:", "packet parsers");
    refused("formatter:\n  fields: [type]\n  fields: [proto]\n", "t.yaml:3:3:", "given twice");
    refused("formatter: [\n", "t.yaml:2:1:", "YAML");
    refused("kafka: {}\n", "t.yaml:1:1:", "unknown key \"kafka\"");
    refused("formatter: {}\n---\nipfix: {}\n", "t.yaml:3:1:", "second YAML document");
    /* accepted spellings: Go names, endian and endianness, layer case, null sections */
    fc_mapping_t *m = parse_ok("formatter:\nipfix:\n  mapping: []\nnetflowv9:\n  mapping:\n"
                               "    - {field: 10, destination: InIf, endian: little, "
                               "endianness: little}\n"
                               "sflow:\n  mapping:\n"
                               "    - {layer: UDP, offset: 0x10, length: 16, destination: "
                               "DstPort}\n");
    fc_mapping_free(m);
    m = parse_ok("");
    assert_false(fc_format_has_fields(fc_mapping_format(m)));
    fc_mapping_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goflow2_sample_loads),
        cmocka_unit_test(test_ipfix_mapping),
        cmocka_unit_test(test_nfv9_and_sflow_mapping),
        cmocka_unit_test(test_formatter),
        cmocka_unit_test(test_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_copy);
    return rc;
}
