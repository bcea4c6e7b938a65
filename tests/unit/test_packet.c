/*
 * test_packet.c - fk_packet_parse on hand-built frames.
 *
 * Every frame is built byte by byte by the small helpers below, then parsed
 * from a heap copy of exactly the captured length, so that ASan (FK_SANITIZE)
 * reports any read past the capture.  Each layer is checked on a good frame,
 * then every frame is cut at every length to check that the parser stops at
 * the right layer, says why, and leaves everything past that layer zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/packet/packet.h"

/* ---- frame builder ---------------------------------------------------- */

typedef struct frame_st {
    uint8_t d[2048];
    uint32_t n;
} frame_t;

static const uint8_t MAC_A[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t MAC_B[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
static const uint8_t MAC_IN_A[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t MAC_IN_B[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

#define V4_SRC 0xc0000201u /* 192.0.2.1 */
#define V4_DST 0xc6336402u /* 198.51.100.2 */
static const uint8_t V6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_DST[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

/* 20 bytes of SYN options: MSS 1460, NOP, WS 7, SACK permitted, timestamps. */
static const uint8_t SYN_OPTS[20] = {2, 4,  0x05, 0xb4, 1,    3,    3,    7,    4,    2,
                                     8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
#define SYN_OPT_BITS \
    ((uint64_t)1 << 1 | (uint64_t)1 << 2 | (uint64_t)1 << 3 | (uint64_t)1 << 4 | (uint64_t)1 << 8)

static void put8(frame_t *f, uint8_t v)
{
    assert_true(f->n < sizeof(f->d));
    f->d[f->n++] = v;
}

static void put16(frame_t *f, uint16_t v)
{
    put8(f, (uint8_t)(v >> 8));
    put8(f, (uint8_t)v);
}

static void put32(frame_t *f, uint32_t v)
{
    put16(f, (uint16_t)(v >> 16));
    put16(f, (uint16_t)v);
}

static void putn(frame_t *f, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(f, ((const uint8_t *)p)[i]);
}

static void fill(frame_t *f, uint8_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(f, v);
}

static void set16(frame_t *f, uint32_t off, uint16_t v)
{
    f->d[off] = (uint8_t)(v >> 8);
    f->d[off + 1] = (uint8_t)v;
}

static void eth(frame_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    putn(f, dst, 6);
    putn(f, src, 6);
    put16(f, type);
}

static void vlan(frame_t *f, uint16_t tci, uint16_t next)
{
    put16(f, tci);
    put16(f, next);
}

static uint32_t mpls_lse(uint32_t label, int bos, uint8_t ttl)
{
    return label << 12 | (uint32_t)(bos ? 1 : 0) << 8 | ttl;
}

/* PPPoE session header; the length is patched by pppoe_done(). */
static uint32_t pppoe(frame_t *f, uint16_t proto)
{
    uint32_t off = f->n;
    put8(f, 0x11); /* version 1, type 1 */
    put8(f, 0x00); /* code: session data */
    put16(f, 0x0042);
    put16(f, 0);
    put16(f, proto);
    return off;
}

static void pppoe_done(frame_t *f, uint32_t off)
{
    set16(f, off + 4, (uint16_t)(f->n - off - 6));
}

static void sll(frame_t *f, uint16_t alen, uint16_t proto)
{
    put16(f, 0); /* to us */
    put16(f, 1); /* ARPHRD_ETHER */
    put16(f, alen);
    putn(f, MAC_B, 6);
    fill(f, 0, 2);
    put16(f, proto);
}

static void sll2(frame_t *f, uint16_t proto)
{
    put16(f, proto);
    put16(f, 0);
    put32(f, 3); /* ifindex */
    put16(f, 1); /* ARPHRD_ETHER */
    put8(f, 4);  /* outgoing */
    put8(f, 6);
    putn(f, MAC_B, 6);
    fill(f, 0, 2);
}

/* IPv4 header with `ihl` 32-bit words; total length patched by ip4_done(). */
static uint32_t ip4(frame_t *f, uint8_t proto, unsigned ihl, uint16_t frag)
{
    uint32_t off = f->n;
    put8(f, (uint8_t)(0x40 | ihl));
    put8(f, 0xb8); /* DSCP EF */
    put16(f, 0);
    put16(f, 0x1234);
    put16(f, frag);
    put8(f, 61);
    put8(f, proto);
    put16(f, 0);
    put32(f, V4_SRC);
    put32(f, V4_DST);
    if (ihl > 5) {
        fill(f, 1, (ihl - 5) * 4 - 1); /* NOPs, then End of Option List */
        put8(f, 0);
    }
    return off;
}

static void ip4_done(frame_t *f, uint32_t off)
{
    set16(f, off + 2, (uint16_t)(f->n - off));
}

/* IPv6 header; payload length patched by ip6_done(). */
static uint32_t ip6(frame_t *f, uint8_t nh)
{
    uint32_t off = f->n;
    put32(f, 6u << 28 | 0x2eu << 20 | 0x12345u);
    put16(f, 0);
    put8(f, nh);
    put8(f, 63);
    putn(f, V6_SRC, 16);
    putn(f, V6_DST, 16);
    return off;
}

static void ip6_done(frame_t *f, uint32_t off)
{
    set16(f, off + 4, (uint16_t)(f->n - off - 40));
}

/* Hop-by-hop, routing or destination options: (len8 + 1) * 8 bytes. */
static void ext6(frame_t *f, uint8_t nh, uint8_t len8)
{
    put8(f, nh);
    put8(f, len8);
    fill(f, 0, 6 + (size_t)len8 * 8);
}

static void frag6(frame_t *f, uint8_t nh, uint16_t off8, int more, uint32_t id)
{
    put8(f, nh);
    put8(f, 0);
    put16(f, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
    put32(f, id);
}

/* Authentication header with a 12-byte ICV: (4 + 2) * 4 = 24 bytes. */
static void ah6(frame_t *f, uint8_t nh)
{
    put8(f, nh);
    put8(f, 4);
    put16(f, 0);
    put32(f, 0x100);
    put32(f, 1);
    fill(f, 0xcc, 12);
}

static void tcp(frame_t *f, uint16_t sport, uint16_t dport, uint8_t flags, const uint8_t *opts,
                size_t optlen)
{
    put16(f, sport);
    put16(f, dport);
    put32(f, 0x01020304);
    put32(f, 0x0a0b0c0d);
    put8(f, (uint8_t)((20 + optlen) / 4 << 4));
    put8(f, flags);
    put16(f, 0xfaf0);
    put16(f, 0);
    put16(f, 0);
    putn(f, opts, optlen);
}

static void udp(frame_t *f, uint16_t sport, uint16_t dport, uint16_t payload)
{
    put16(f, sport);
    put16(f, dport);
    put16(f, (uint16_t)(8 + payload));
    put16(f, 0);
}

/* ICMP echo: type, code, checksum (the parsed header), then id and sequence. */
static void icmp(frame_t *f, uint8_t type, uint8_t code)
{
    put8(f, type);
    put8(f, code);
    put16(f, 0);
    put32(f, 0x00010002);
}

static void sctp(frame_t *f, uint16_t sport, uint16_t dport)
{
    put16(f, sport);
    put16(f, dport);
    put32(f, 0xdeadbeef);
    put32(f, 0);
}

static void hello(frame_t *f)
{
    putn(f, "hello", 5);
}

/* ---- parsing under exact bounds ---------------------------------------- */

static bool port_proto(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

/*
 * Parse the first `len` bytes of `f` from a heap copy of exactly `len` bytes
 * (ASan then catches any over-read) and check what must hold for every parse.
 * The caller frees the copy; pkt->payload points into it.
 */
static uint8_t *g_live; /* the current copy, freed by the teardown if an assertion fails */

static uint8_t *parse_len(fk_packet_t *p, int link, const frame_t *f, uint32_t len)
{
    assert_null(g_live); /* one copy at a time: each test frees before parsing again */
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    g_live = buf;
    memcpy(buf, f->d, len);
    int rc = fk_packet_parse(p, link, buf, len, f->n, 42);

    assert_int_equal(rc, p->err);
    assert_ptr_equal(p->frame, buf);
    assert_int_equal(p->caplen, len);
    assert_int_equal(p->wirelen, f->n);
    assert_int_equal(p->ts_ns, 42);
    assert_true(p->err < FK_PERR_COUNT_);
    assert_true(p->layer_ok < FK_LAYER_COUNT_ && p->err_layer < FK_LAYER_COUNT_);
    assert_int_equal(p->err == FK_PERR_NONE, p->err_layer == FK_LAYER_NONE);
    /* Stopping at layer N means every layer above N was understood. */
    if (p->err_layer > FK_LAYER_L2 && p->layer_ok < p->err_layer - 1)
        fail_msg("stopped at %s (%s) but layer_ok is only %s", fk_layer_name(p->err_layer),
                 fk_perr_name(p->err), fk_layer_name(p->layer_ok));
    if (p->payload) {
        assert_true(p->payload >= buf && p->payload <= buf + len);
        assert_true(p->payload_len <= (size_t)(buf + len - p->payload));
        assert_true(p->payload_len <= p->payload_wire);
    } else {
        assert_int_equal(p->payload_len, 0);
    }
    if (fk_packet_has_key(p))
        assert_true(p->ip_version == 4 || p->ip_version == 6);
    return buf;
}

static uint8_t *parse(fk_packet_t *p, int link, const frame_t *f)
{
    return parse_len(p, link, f, f->n);
}

static void done(uint8_t *buf)
{
    assert_ptr_equal(buf, g_live);
    free(buf);
    g_live = NULL;
}

static int free_live(void **state)
{
    (void)state;
    free(g_live);
    g_live = NULL;
    return 0;
}

static void assert_v4_addrs(const fk_packet_t *p)
{
    static const uint8_t src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    static const uint8_t dst[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 2};
    assert_int_equal(p->ip_version, 4);
    assert_memory_equal(p->src_ip, src, 16);
    assert_memory_equal(p->dst_ip, dst, 16);
}

static void assert_v6_addrs(const fk_packet_t *p)
{
    assert_int_equal(p->ip_version, 6);
    assert_memory_equal(p->src_ip, V6_SRC, 16);
    assert_memory_equal(p->dst_ip, V6_DST, 16);
}

static void assert_ok(const fk_packet_t *p, uint8_t layer)
{
    if (p->err != FK_PERR_NONE)
        fail_msg("parse stopped: %s at %s (layer_ok %s)", fk_perr_name(p->err),
                 fk_layer_name(p->err_layer), fk_layer_name(p->layer_ok));
    assert_int_equal(p->layer_ok, layer);
}

static void assert_stop(const fk_packet_t *p, uint8_t layer, uint8_t err)
{
    if (p->err != err || p->err_layer != layer)
        fail_msg("expected %s at %s, got %s at %s", fk_perr_name(err), fk_layer_name(layer),
                 fk_perr_name(p->err), fk_layer_name(p->err_layer));
}

/* ---- link layers ------------------------------------------------------- */

static void build_eth_ipv4_tcp(frame_t *f)
{
    eth(f, MAC_A, MAC_B, 0x0800);
    uint32_t ip = ip4(f, 6, 5, 0x4000);
    tcp(f, 40000, 443, 0x02, SYN_OPTS, sizeof(SYN_OPTS));
    hello(f);
    ip4_done(f, ip);
}

static void test_ethernet_ipv4_tcp(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    build_eth_ipv4_tcp(&f);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_true(p.has_mac);
    assert_memory_equal(p.dst_mac, MAC_A, 6);
    assert_memory_equal(p.src_mac, MAC_B, 6);
    assert_int_equal(p.vlan_count, 0);
    assert_int_equal(p.mpls_count, 0);
    assert_int_equal(p.ethertype, 0x0800);
    assert_v4_addrs(&p);
    assert_int_equal(p.ip_proto, 6);
    assert_int_equal(p.ip_ttl, 61);
    assert_int_equal(p.ip_tos, 0xb8);
    assert_int_equal(p.ip_flags, 2); /* DF */
    assert_int_equal(p.ip_hdr_len, 20);
    assert_int_equal(p.ip_len, 20 + 40 + 5);
    assert_int_equal(p.ip_id, 0x1234);
    assert_false(p.is_fragment);
    assert_false(p.frag_more);
    assert_int_equal(p.frag_off, 0);
    assert_int_equal(p.l3_off, 14);
    assert_int_equal(p.l4_off, 34);
    assert_int_equal(p.src_port, 40000);
    assert_int_equal(p.dst_port, 443);
    assert_int_equal(p.tcp_flags, FK_TCP_SYN);
    assert_int_equal(p.tcp_seq, 0x01020304);
    assert_int_equal(p.tcp_ack, 0x0a0b0c0d);
    assert_int_equal(p.tcp_window, 0xfaf0);
    assert_int_equal(p.tcp_mss, 1460);
    assert_int_equal(p.tcp_wscale, 7);
    assert_int_equal(p.tcp_options, SYN_OPT_BITS);
    assert_int_equal(p.tcp_tsval, 0x11223344);
    assert_int_equal(p.tcp_tsecr, 0x55667788);
    assert_ptr_equal(p.payload, buf + 74);
    assert_int_equal(p.payload_len, 5);
    assert_int_equal(p.payload_wire, 5);
    assert_memory_equal(p.payload, "hello", 5);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

/* A stale packet struct must not leak into the next parse. */
static void test_parse_overwrites_packet(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x0806);
    fill(&f, 0, 28);

    memset(&p, 0xff, sizeof(p));
    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_int_equal(p.ip_version, 0);
    assert_int_equal(p.src_port, 0);
    assert_int_equal(p.vlan_count, 0);
    assert_int_equal(p.tcp_options, 0);
    assert_null(p.payload);
    done(buf);
}

static void test_vlan_single(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x8100);
    vlan(&f, 0xa000 | 42, 0x0800); /* PCP 5 must not leak into the VID */
    uint32_t ip = ip4(&f, 17, 5, 0);
    udp(&f, 53, 5353, 5);
    hello(&f);
    ip4_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.vlan_count, 1);
    assert_int_equal(p.vlan_id[0], 42);
    assert_int_equal(p.ethertype, 0x0800);
    assert_int_equal(p.l3_off, 18);
    assert_int_equal(p.src_port, 53);
    assert_int_equal(p.dst_port, 5353);
    done(buf);
}

static void test_vlan_qinq(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x88a8);
    vlan(&f, 100, 0x8100);
    vlan(&f, 0x1000 | 200, 0x86dd); /* DEI set */
    uint32_t ip = ip6(&f, 17);
    udp(&f, 1000, 2000, 5);
    hello(&f);
    ip6_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.vlan_count, 2);
    assert_int_equal(p.vlan_id[0], 100);
    assert_int_equal(p.vlan_id[1], 200);
    assert_int_equal(p.ethertype, 0x86dd);
    assert_int_equal(p.l3_off, 22);
    assert_v6_addrs(&p);
    assert_int_equal(p.src_port, 1000);
    done(buf);

    /* The pre-standard 0x9100 outer tag too. */
    f.d[12] = 0x91;
    f.d[13] = 0x00;
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.vlan_count, 2);
    done(buf);
}

static void build_vlans(frame_t *f, int tags)
{
    eth(f, MAC_A, MAC_B, 0x8100);
    for (int i = 0; i < tags; i++)
        vlan(f, (uint16_t)(i + 1), i + 1 < tags ? 0x8100 : 0x0800);
    uint32_t ip = ip4(f, 17, 5, 0);
    udp(f, 1, 2, 0);
    ip4_done(f, ip);
}

/* 16 tags are parsed (only FK_MAX_VLANS recorded); a 17th makes the frame invalid. */
static void test_vlan_depth_limit(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;

    build_vlans(&f, 16);
    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.vlan_count, 16);
    for (int i = 0; i < FK_MAX_VLANS; i++)
        assert_int_equal(p.vlan_id[i], i + 1);
    done(buf);

    memset(&f, 0, sizeof(f));
    build_vlans(&f, 17);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L2, FK_PERR_INVALID);
    assert_int_equal(p.ip_version, 0);
    assert_false(fk_packet_has_key(&p));
    done(buf);
}

static void test_mpls_two_labels(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x8847);
    put32(&f, mpls_lse(100, 0, 64));
    put32(&f, mpls_lse(200, 1, 63));
    uint32_t ip = ip4(&f, 6, 5, 0);
    tcp(&f, 1234, 80, 0x18, NULL, 0);
    hello(&f);
    ip4_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.mpls_count, 2);
    assert_int_equal(p.mpls[0], mpls_lse(100, 0, 64));
    assert_int_equal(p.mpls[1], mpls_lse(200, 1, 63));
    assert_int_equal(p.ethertype, 0x0800);
    assert_int_equal(p.l3_off, 22);
    assert_int_equal(p.dst_port, 80);
    assert_int_equal(p.tcp_flags, FK_TCP_PSH | FK_TCP_ACK);
    done(buf);
}

static void test_mpls_pseudowire(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x8847);
    put32(&f, mpls_lse(300, 1, 255));
    put32(&f, 0); /* RFC 4385 control word */
    eth(&f, MAC_IN_A, MAC_IN_B, 0x0800);
    uint32_t ip = ip4(&f, 17, 5, 0);
    udp(&f, 67, 68, 5);
    hello(&f);
    ip4_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.mpls_count, 1);
    /* The inner frame names the real hosts. */
    assert_true(p.has_mac);
    assert_memory_equal(p.dst_mac, MAC_IN_A, 6);
    assert_memory_equal(p.src_mac, MAC_IN_B, 6);
    assert_int_equal(p.l3_off, 14 + 4 + 4 + 14);
    assert_int_equal(p.src_port, 67);
    done(buf);
}

static void test_mpls_malformed(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;

    /* No bottom-of-stack bit before the capture ends. */
    eth(&f, MAC_A, MAC_B, 0x8847);
    for (int i = 0; i < 3; i++)
        put32(&f, mpls_lse((uint32_t)i, 0, 64));
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L2, FK_PERR_TRUNCATED);
    assert_int_equal(p.mpls_count, 3);
    assert_false(fk_packet_has_key(&p));
    done(buf);
    put16(&f, 0x4500); /* half an entry */
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L2, FK_PERR_TRUNCATED);
    done(buf);

    /* A stack deeper than any router builds: invalid, however many bytes follow. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x8847);
    for (int i = 0; i < 40; i++)
        put32(&f, mpls_lse((uint32_t)i, 0, 64));
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L2, FK_PERR_INVALID);
    assert_true(p.mpls_count > FK_MAX_MPLS);
    done(buf);

    /* Bottom of stack, then neither IP nor a control word: L2 was fine, L3 is not ours. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x8847);
    put32(&f, mpls_lse(5, 1, 64));
    fill(&f, 0x55, 20);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    assert_int_equal(p.layer_ok, FK_LAYER_L2);
    assert_false(fk_packet_has_key(&p));
    done(buf);
}

static void test_pppoe(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;

    eth(&f, MAC_A, MAC_B, 0x8864);
    uint32_t ph = pppoe(&f, 0x0021);
    uint32_t ip = ip4(&f, 17, 5, 0);
    udp(&f, 500, 4500, 5);
    hello(&f);
    ip4_done(&f, ip);
    pppoe_done(&f, ph);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.ethertype, 0x0800);
    assert_int_equal(p.l3_off, 22);
    assert_v4_addrs(&p);
    assert_int_equal(p.dst_port, 4500);
    done(buf);

    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x8864);
    ph = pppoe(&f, 0x0057);
    ip = ip6(&f, 6);
    tcp(&f, 5000, 22, 0x10, NULL, 0);
    ip6_done(&f, ip);
    pppoe_done(&f, ph);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.ethertype, 0x86dd);
    assert_v6_addrs(&p);
    assert_int_equal(p.dst_port, 22);
    done(buf);

    /* LCP inside the session: framing fine, payload not IP. */
    f.d[20] = 0xc0;
    f.d[21] = 0x21;
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    assert_int_equal(p.layer_ok, FK_LAYER_L2);
    done(buf);

    /* Discovery code (PADI 0x09) on the session ethertype, and a length below 2. */
    f.d[20] = 0x00;
    f.d[21] = 0x57;
    f.d[15] = 0x09;
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L2, FK_PERR_INVALID);
    done(buf);
    f.d[15] = 0x00;
    set16(&f, 18, 1);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L2, FK_PERR_INVALID);
    done(buf);
}

static void test_sll(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;

    sll(&f, 6, 0x0800);
    uint32_t ip = ip4(&f, 6, 5, 0);
    tcp(&f, 1, 2, 0x02, NULL, 0);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_SLL, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_true(p.has_mac);
    assert_memory_equal(p.src_mac, MAC_B, 6);
    assert_int_equal(p.l3_off, 16);
    assert_v4_addrs(&p);
    done(buf);

    /* No 6-byte address (e.g. a tun device): no MAC. */
    set16(&f, 4, 0);
    buf = parse(&p, FK_LINK_SLL, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_false(p.has_mac);
    done(buf);

    /* Cooked capture of ARP. */
    set16(&f, 14, 0x0806);
    buf = parse(&p, FK_LINK_SLL, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    assert_int_equal(p.layer_ok, FK_LAYER_L2);
    done(buf);
}

static void test_sll2(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;

    sll2(&f, 0x86dd);
    uint32_t ip = ip6(&f, 17);
    udp(&f, 123, 123, 5);
    hello(&f);
    ip6_done(&f, ip);
    uint8_t *buf = parse(&p, FK_LINK_SLL2, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_true(p.has_mac);
    assert_memory_equal(p.src_mac, MAC_B, 6);
    assert_int_equal(p.ethertype, 0x86dd);
    assert_int_equal(p.l3_off, 20);
    assert_v6_addrs(&p);
    assert_int_equal(p.src_port, 123);
    done(buf);
}

static void test_raw_ip(void **state)
{
    (void)state;
    static const int v4links[] = {FK_LINK_RAW, FK_LINK_RAW_BSD, FK_LINK_RAW_BSD2, FK_LINK_IPV4};
    static const int v6links[] = {FK_LINK_RAW, FK_LINK_RAW_BSD, FK_LINK_RAW_BSD2, FK_LINK_IPV6};
    frame_t f4 = {0}, f6 = {0};
    fk_packet_t p;
    uint8_t *buf;

    uint32_t ip = ip4(&f4, 1, 5, 0);
    icmp(&f4, 8, 0);
    fill(&f4, 0, 32); /* long enough to reach the IPv6 version check below */
    ip4_done(&f4, ip);
    ip = ip6(&f6, 58);
    icmp(&f6, 128, 0);
    ip6_done(&f6, ip);

    for (size_t i = 0; i < 4; i++) {
        buf = parse(&p, v4links[i], &f4);
        assert_ok(&p, FK_LAYER_L4);
        assert_false(p.has_mac);
        assert_int_equal(p.ethertype, 0x0800);
        assert_int_equal(p.l3_off, 0);
        assert_v4_addrs(&p);
        assert_int_equal(p.icmp_type, 8);
        done(buf);

        buf = parse(&p, v6links[i], &f6);
        assert_ok(&p, FK_LAYER_L4);
        assert_int_equal(p.ethertype, 0x86dd);
        assert_v6_addrs(&p);
        assert_int_equal(p.icmp_type, 128);
        done(buf);
    }

    /* Raw IP whose version nibble is neither 4 nor 6; IPv6 bytes on the IPv4 link type. */
    f4.d[0] = 0x55;
    buf = parse(&p, FK_LINK_RAW, &f4);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    assert_int_equal(p.layer_ok, FK_LAYER_L2);
    done(buf);
    f4.d[0] = 0x45;
    buf = parse(&p, FK_LINK_IPV4, &f6);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    done(buf);
    buf = parse(&p, FK_LINK_IPV6, &f4);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    done(buf);
}

static void loop_frame(frame_t *f, const uint8_t fam[4], int v6)
{
    memset(f, 0, sizeof(*f));
    putn(f, fam, 4);
    uint32_t ip = v6 ? ip6(f, 17) : ip4(f, 17, 5, 0);
    udp(f, 7, 9, 5);
    hello(f);
    if (v6)
        ip6_done(f, ip);
    else
        ip4_done(f, ip);
}

static void test_loopback(void **state)
{
    (void)state;
    static const struct {
        int link;
        uint8_t fam[4];
        int v6;
    } cases[] = {
        {FK_LINK_NULL, {2, 0, 0, 0}, 0},  /* AF_INET, little-endian host */
        {FK_LINK_NULL, {0, 0, 0, 2}, 0},  /* AF_INET, big-endian host */
        {FK_LINK_NULL, {24, 0, 0, 0}, 1}, /* AF_INET6: NetBSD, OpenBSD */
        {FK_LINK_NULL, {28, 0, 0, 0}, 1}, /* FreeBSD */
        {FK_LINK_NULL, {30, 0, 0, 0}, 1}, /* macOS */
        {FK_LINK_NULL, {0, 0, 0, 30}, 1}, {FK_LINK_LOOP, {0, 0, 0, 2}, 0},
        {FK_LINK_LOOP, {0, 0, 0, 24}, 1}, {FK_LINK_LOOP, {0, 0, 0, 28}, 1},
    };
    frame_t f;
    fk_packet_t p;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        loop_frame(&f, cases[i].fam, cases[i].v6);
        uint8_t *buf = parse(&p, cases[i].link, &f);
        assert_ok(&p, FK_LAYER_L4);
        assert_int_equal(p.l3_off, 4);
        if (cases[i].v6)
            assert_v6_addrs(&p);
        else
            assert_v4_addrs(&p);
        assert_int_equal(p.dst_port, 9);
        done(buf);
    }

    /* AF_APPLETALK: the loopback header is fine, its payload is not IP. */
    static const uint8_t other[4] = {16, 0, 0, 0};
    loop_frame(&f, other, 0);
    uint8_t *buf = parse(&p, FK_LINK_NULL, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    assert_int_equal(p.layer_ok, FK_LAYER_L2);
    done(buf);
}

static void test_unknown_link(void **state)
{
    (void)state;
    static const int supported[] = {
        FK_LINK_NULL, FK_LINK_ETHERNET, FK_LINK_RAW_BSD, FK_LINK_RAW_BSD2, FK_LINK_RAW,
        FK_LINK_LOOP, FK_LINK_SLL,      FK_LINK_IPV4,    FK_LINK_IPV6,     FK_LINK_SLL2};
    static const int unsupported[] = {-1, 2, 105, 127, 147, 9999};
    frame_t f = {0};
    fk_packet_t p;
    build_eth_ipv4_tcp(&f);

    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
        assert_true(fk_packet_link_supported(supported[i]));
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        assert_false(fk_packet_link_supported(unsupported[i]));
        uint8_t *buf = parse(&p, unsupported[i], &f);
        assert_stop(&p, FK_LAYER_L2, FK_PERR_UNSUPPORTED);
        assert_int_equal(p.layer_ok, FK_LAYER_NONE);
        assert_false(fk_packet_has_key(&p));
        done(buf);
    }
}

static void test_arp_and_8023(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;

    eth(&f, MAC_A, MAC_B, 0x0806);
    put16(&f, 1);      /* Ethernet */
    put16(&f, 0x0800); /* IPv4 */
    put8(&f, 6);
    put8(&f, 4);
    put16(&f, 1); /* request */
    putn(&f, MAC_B, 6);
    put32(&f, V4_SRC);
    fill(&f, 0, 6);
    put32(&f, V4_DST);
    fill(&f, 0, 18); /* pad to 60 */

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_int_equal(p.layer_ok, FK_LAYER_L2);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    assert_int_equal(p.ethertype, 0x0806);
    assert_true(p.has_mac);
    assert_int_equal(p.ip_version, 0);
    assert_false(fk_packet_has_key(&p));
    done(buf);

    /* An 802.3 length field (LLC follows) is not IP either. */
    set16(&f, 12, 46);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_UNSUPPORTED);
    assert_int_equal(p.layer_ok, FK_LAYER_L2);
    done(buf);
}

/* ---- IPv4 -------------------------------------------------------------- */

static void test_ipv4_options(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x0800);
    uint32_t ip = ip4(&f, 17, 6, 0);
    udp(&f, 111, 222, 5);
    hello(&f);
    ip4_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.ip_hdr_len, 24);
    assert_int_equal(p.l4_off, 38);
    assert_int_equal(p.src_port, 111);
    assert_int_equal(p.dst_port, 222);
    assert_memory_equal(p.payload, "hello", 5);
    done(buf);

    /* The largest header: IHL 15. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 17, 15, 0);
    udp(&f, 111, 222, 0);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.ip_hdr_len, 60);
    assert_int_equal(p.l4_off, 74);
    done(buf);
}

static void test_ipv4_fragments(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;

    /* First fragment: MF set, offset 0, the transport header is there.  Its UDP
     * length covers the whole datagram, so it exceeds this fragment's payload. */
    eth(&f, MAC_A, MAC_B, 0x0800);
    uint32_t ip = ip4(&f, 17, 5, 0x2000);
    udp(&f, 4000, 53, 1000);
    fill(&f, 0xab, 32);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_true(p.is_fragment);
    assert_true(p.frag_more);
    assert_int_equal(p.frag_off, 0);
    assert_int_equal(p.ip_flags, 1);
    assert_int_equal(p.src_port, 4000);
    assert_int_equal(p.dst_port, 53);
    assert_int_equal(p.payload_len, 32);
    assert_int_equal(p.payload_wire, 32); /* this fragment's share, not the datagram's */
    assert_true(fk_packet_has_key(&p));
    done(buf);

    /* A later fragment: what follows the header is data, not ports. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 17, 5, 185);
    fill(&f, 0xab, 24);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L3);
    assert_true(p.is_fragment);
    assert_false(p.frag_more);
    assert_int_equal(p.frag_off, 185);
    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.src_port, 0);
    assert_int_equal(p.dst_port, 0);
    assert_int_equal(p.l4_off, 34);
    assert_ptr_equal(p.payload, buf + 34);
    assert_int_equal(p.payload_len, 24);
    assert_int_equal(p.payload_wire, 24);
    assert_true(fk_packet_has_key(&p));
    done(buf);

    /* Even one that is too short to hold a UDP header. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 6, 5, 0x2000 | 3);
    fill(&f, 0xab, 4);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L3);
    assert_true(p.frag_more);
    assert_int_equal(p.payload_len, 4);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

static void test_ipv4_invalid(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;

    build_eth_ipv4_tcp(&f);

    /* IHL below 5. */
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        f.d[14] = (uint8_t)(0x40 | ihl);
        buf = parse(&p, FK_LINK_ETHERNET, &f);
        assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
        assert_int_equal(p.layer_ok, FK_LAYER_L2);
        assert_int_equal(p.ip_version, 0);
        assert_false(fk_packet_has_key(&p));
        done(buf);
    }
    f.d[14] = 0x45;

    /* Total length shorter than the header itself. */
    set16(&f, 16, 19);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    assert_int_equal(p.ip_version, 0);
    done(buf);
    f.d[14] = 0x46;
    set16(&f, 16, 23);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    done(buf);
    f.d[14] = 0x45;

    /* Wrong version under the IPv4 ethertype. */
    set16(&f, 16, (uint16_t)(f.n - 14));
    f.d[14] = 0x65;
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    done(buf);
    f.d[14] = 0x45;

    /* Total length too short for the TCP header it announces. */
    set16(&f, 16, 20 + 10);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L4, FK_PERR_INVALID);
    assert_int_equal(p.layer_ok, FK_LAYER_L3);
    assert_int_equal(p.src_port, 0);
    assert_false(fk_packet_has_key(&p));
    done(buf);
}

/* Ethernet pads frames to 60 bytes; the padding is not IP payload. */
static void test_ethernet_padding(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;

    eth(&f, MAC_A, MAC_B, 0x0800);
    uint32_t ip = ip4(&f, 17, 5, 0);
    udp(&f, 9, 9, 2);
    putn(&f, "hi", 2);
    ip4_done(&f, ip);
    fill(&f, 0xee, 60 - f.n);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.ip_len, 30);
    assert_int_equal(p.payload_len, 2);
    assert_int_equal(p.payload_wire, 2);
    assert_memory_equal(p.payload, "hi", 2);
    done(buf);

    /* A bare ACK: 6 bytes of padding, no payload. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 6, 5, 0);
    tcp(&f, 80, 50000, 0x10, NULL, 0);
    ip4_done(&f, ip);
    fill(&f, 0xee, 6);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(p.payload_wire, 0);
    done(buf);

    /* IPv6 with a trailing FCS captured. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x86dd);
    ip = ip6(&f, 17);
    udp(&f, 9, 9, 2);
    putn(&f, "hi", 2);
    ip6_done(&f, ip);
    fill(&f, 0xee, 4);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.payload_len, 2);
    assert_int_equal(p.ip_len, 40 + 10);
    done(buf);
}

/* ---- IPv6 -------------------------------------------------------------- */

static void build_ipv6_chain(frame_t *f)
{
    eth(f, MAC_A, MAC_B, 0x86dd);
    uint32_t ip = ip6(f, 0);
    ext6(f, 43, 0);                 /* hop-by-hop, 8 bytes */
    ext6(f, 60, 1);                 /* routing, 16 bytes */
    ext6(f, 44, 0);                 /* destination options, 8 bytes */
    frag6(f, 51, 0, 1, 0xdeadbeef); /* first fragment */
    ah6(f, 6);                      /* 24 bytes */
    tcp(f, 33333, 8080, 0x02, SYN_OPTS, sizeof(SYN_OPTS));
    hello(f);
    ip6_done(f, ip);
}

static void test_ipv6_extension_chain(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    build_ipv6_chain(&f);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_v6_addrs(&p);
    assert_int_equal(p.ip_tos, 0x2e);
    assert_int_equal(p.ipv6_flow, 0x12345);
    assert_int_equal(p.ip_ttl, 63);
    assert_int_equal(p.ip_hdr_len, 40);
    assert_int_equal(p.ip_len, f.n - 14);
    assert_int_equal(p.ip_proto, 6);
    assert_true(p.is_fragment);
    assert_true(p.frag_more);
    assert_int_equal(p.frag_off, 0);
    assert_int_equal(p.ip_id, 0xdeadbeef);
    assert_int_equal(p.l3_off, 14);
    assert_int_equal(p.l4_off, 14 + 40 + 8 + 16 + 8 + 8 + 24);
    assert_int_equal(p.src_port, 33333);
    assert_int_equal(p.dst_port, 8080);
    assert_int_equal(p.tcp_mss, 1460);
    assert_memory_equal(p.payload, "hello", 5);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

static void test_ipv6_nonfirst_fragment(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x86dd);
    uint32_t ip = ip6(&f, 44);
    frag6(&f, 17, 100, 0, 7);
    fill(&f, 0xab, 24);
    ip6_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L3);
    assert_int_equal(p.ip_proto, 17);
    assert_true(p.is_fragment);
    assert_false(p.frag_more);
    assert_int_equal(p.frag_off, 100);
    assert_int_equal(p.ip_id, 7);
    assert_int_equal(p.src_port, 0);
    assert_int_equal(p.l4_off, 14 + 48);
    assert_ptr_equal(p.payload, buf + 14 + 48);
    assert_int_equal(p.payload_len, 24);
    assert_int_equal(p.payload_wire, 24);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

/* As for IPv4, a first fragment's UDP length is the whole datagram's. */
static void test_ipv6_first_fragment_udp(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x86dd);
    uint32_t ip = ip6(&f, 44);
    frag6(&f, 17, 0, 1, 9);
    udp(&f, 4000, 53, 3000);
    fill(&f, 0xab, 40);
    ip6_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_true(p.is_fragment);
    assert_true(p.frag_more);
    assert_int_equal(p.frag_off, 0);
    assert_int_equal(p.src_port, 4000);
    assert_int_equal(p.dst_port, 53);
    assert_int_equal(p.payload_len, 40);
    assert_int_equal(p.payload_wire, 40);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

static void build_ipv6_exts(frame_t *f, int n)
{
    memset(f, 0, sizeof(*f));
    eth(f, MAC_A, MAC_B, 0x86dd);
    uint32_t ip = ip6(f, n ? 60 : 17);
    for (int i = 0; i < n; i++)
        ext6(f, i + 1 < n ? 60 : 17, 0);
    udp(f, 1, 2, 0);
    ip6_done(f, ip);
}

static void test_ipv6_extension_limit(void **state)
{
    (void)state;
    frame_t f;
    fk_packet_t p;
    uint8_t *buf;

    /* Exactly FK_MAX_IPV6_EXT headers are walked ... */
    build_ipv6_exts(&f, FK_MAX_IPV6_EXT);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.dst_port, 2);
    done(buf);

    /* ... one more is invalid. */
    build_ipv6_exts(&f, FK_MAX_IPV6_EXT + 1);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    assert_int_equal(p.src_port, 0);
    done(buf);
}

static void test_ipv6_invalid(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;

    /* An extension header longer than the payload length announces. */
    eth(&f, MAC_A, MAC_B, 0x86dd);
    uint32_t ip = ip6(&f, 0);
    ext6(&f, 17, 0);
    udp(&f, 1, 2, 0);
    ip6_done(&f, ip);
    f.d[14 + 40 + 1] = 3; /* claims 32 bytes, 16 are left */
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    assert_false(fk_packet_has_key(&p));
    done(buf);

    /* Payload length too short for the UDP header. */
    f.d[14 + 40 + 1] = 0;
    set16(&f, 18, 8 + 4);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L4, FK_PERR_INVALID);
    assert_false(fk_packet_has_key(&p));
    done(buf);

    /* Wrong version under the IPv6 ethertype. */
    f.d[14] = 0x45;
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L3, FK_PERR_INVALID);
    assert_int_equal(p.ip_version, 0);
    done(buf);
}

static void test_ipv6_no_next_header(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    eth(&f, MAC_A, MAC_B, 0x86dd);
    uint32_t ip = ip6(&f, 59);
    fill(&f, 0, 8);
    ip6_done(&f, ip);

    uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L3);
    assert_int_equal(p.ip_proto, 59);
    assert_int_equal(p.payload_len, 8);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

/* ---- transport --------------------------------------------------------- */

static void test_udp_icmp_sctp(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;
    uint32_t ip;

    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 17, 5, 0);
    udp(&f, 5060, 5061, 5);
    hello(&f);
    fill(&f, 0x77, 3); /* bytes past the UDP length, inside the IP length */
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.src_port, 5060);
    assert_int_equal(p.dst_port, 5061);
    assert_int_equal(p.payload_len, 5);
    assert_int_equal(p.payload_wire, 5);
    done(buf);

    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 1, 5, 0);
    icmp(&f, 3, 1);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.icmp_type, 3);
    assert_int_equal(p.icmp_code, 1);
    assert_int_equal(p.src_port, 0);
    assert_int_equal(p.payload_len, 4);
    assert_true(fk_packet_has_key(&p));
    done(buf);

    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x86dd);
    ip = ip6(&f, 58);
    icmp(&f, 135, 0);
    ip6_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.ip_proto, 58);
    assert_int_equal(p.icmp_type, 135);
    done(buf);

    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 132, 5, 0);
    sctp(&f, 2905, 2944);
    hello(&f);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L4);
    assert_int_equal(p.src_port, 2905);
    assert_int_equal(p.dst_port, 2944);
    assert_int_equal(p.payload_len, 5);
    done(buf);

    /* GRE: no ports, the IP payload is the payload. */
    memset(&f, 0, sizeof(f));
    eth(&f, MAC_A, MAC_B, 0x0800);
    ip = ip4(&f, 47, 5, 0);
    fill(&f, 0, 4);
    ip4_done(&f, ip);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_ok(&p, FK_LAYER_L3);
    assert_int_equal(p.ip_proto, 47);
    assert_int_equal(p.payload_len, 4);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

static void test_tcp_options_odd(void **state)
{
    (void)state;
    static const uint8_t bad_len[4] = {2, 1, 0, 0};            /* MSS with length 1 */
    static const uint8_t eol[8] = {0, 2, 4, 5, 0xb4, 0, 0, 0}; /* MSS after End of List */
    static const uint8_t overrun[4] = {8, 10, 0, 0};           /* timestamps cut by doff */
    static const uint8_t wrong_len[8] = {2, 3, 5, 1, 3, 4, 7, 0};
    static const struct {
        const uint8_t *opts;
        size_t len;
        uint64_t bits;
        uint16_t mss;
    } cases[] = {
        {bad_len, 4, 1u << 2, 0},
        {eol, 8, 1u << 0, 0},
        {overrun, 4, 1u << 8, 0},
        {wrong_len, 8, 1u << 1 | 1u << 2 | 1u << 3, 0}, /* wrong lengths: seen, not read */
    };
    frame_t f;
    fk_packet_t p;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&f, 0, sizeof(f));
        eth(&f, MAC_A, MAC_B, 0x0800);
        uint32_t ip = ip4(&f, 6, 5, 0);
        tcp(&f, 1, 2, 0x02, cases[i].opts, cases[i].len);
        ip4_done(&f, ip);
        uint8_t *buf = parse(&p, FK_LINK_ETHERNET, &f);
        assert_ok(&p, FK_LAYER_L4);
        assert_int_equal(p.tcp_options, cases[i].bits);
        assert_int_equal(p.tcp_mss, cases[i].mss);
        assert_int_equal(p.tcp_wscale, 0);
        assert_int_equal(p.tcp_tsval, 0);
        done(buf);
    }
}

static void test_tcp_invalid(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;
    eth(&f, MAC_A, MAC_B, 0x0800);
    uint32_t ip = ip4(&f, 6, 5, 0);
    tcp(&f, 1, 2, 0x02, NULL, 0);
    hello(&f);
    ip4_done(&f, ip);

    /* Data offset below 5 words. */
    for (uint8_t doff = 0; doff < 5; doff++) {
        f.d[34 + 12] = (uint8_t)(doff << 4);
        buf = parse(&p, FK_LINK_ETHERNET, &f);
        assert_stop(&p, FK_LAYER_L4, FK_PERR_INVALID);
        assert_int_equal(p.layer_ok, FK_LAYER_L3);
        assert_int_equal(p.src_port, 0);
        assert_false(fk_packet_has_key(&p));
        done(buf);
    }

    /* Data offset past the end of the IP datagram. */
    f.d[34 + 12] = 15 << 4;
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L4, FK_PERR_INVALID);
    assert_false(fk_packet_has_key(&p));
    done(buf);
}

static void test_udp_length_lies(void **state)
{
    (void)state;
    frame_t f = {0};
    fk_packet_t p;
    uint8_t *buf;
    eth(&f, MAC_A, MAC_B, 0x0800);
    uint32_t ip = ip4(&f, 17, 5, 0);
    udp(&f, 1111, 2222, 5);
    hello(&f);
    ip4_done(&f, ip);

    /* Bigger than the IP payload: ports are fine, the length is not. */
    set16(&f, 34 + 4, 200);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L4, FK_PERR_INVALID);
    assert_int_equal(p.layer_ok, FK_LAYER_L4);
    assert_int_equal(p.src_port, 1111);
    assert_int_equal(p.dst_port, 2222);
    assert_true(fk_packet_has_key(&p));
    assert_int_equal(p.payload_len, 5); /* the IP length is trusted instead */
    assert_int_equal(p.payload_wire, 5);
    done(buf);

    /* Smaller than the UDP header itself. */
    set16(&f, 34 + 4, 7);
    buf = parse(&p, FK_LINK_ETHERNET, &f);
    assert_stop(&p, FK_LAYER_L4, FK_PERR_INVALID);
    assert_int_equal(p.src_port, 1111);
    assert_true(fk_packet_has_key(&p));
    done(buf);
}

/* ---- every truncation of every frame ----------------------------------- */

/*
 * Where a frame's layers start and end.  Cut anywhere before `l3` (or at `l3`
 * when L2 must peek at the first L3 byte to know what follows, as after MPLS),
 * the parse stops at L2; before `l4`, at L3; before `l4_min` (the fixed
 * transport header), at L4 with no ports; before `l4_end` (TCP options), at L4
 * with the ports kept.
 */
typedef struct layout_st {
    const char *name;
    int link;
    frame_t f;
    uint16_t ethertype;
    uint8_t ipv;
    uint8_t proto;
    uint32_t l3, l4, l4_min, l4_end;
    bool l2_peeks;
    uint16_t sport, dport;
} layout_t;

static void expect_no_l4(const fk_packet_t *p)
{
    assert_int_equal(p->src_port, 0);
    assert_int_equal(p->dst_port, 0);
    assert_int_equal(p->tcp_flags, 0);
    assert_int_equal(p->tcp_seq, 0);
    assert_int_equal(p->tcp_window, 0);
    assert_int_equal(p->icmp_type, 0);
    assert_int_equal(p->tcp_mss, 0);
    assert_int_equal(p->tcp_options, 0);
    assert_int_equal(p->tcp_tsval, 0);
    assert_null(p->payload);
    assert_int_equal(p->payload_len, 0);
}

static void expect_no_l3(const fk_packet_t *p)
{
    static const uint8_t zero[16];
    assert_int_equal(p->ethertype, 0);
    assert_int_equal(p->ip_version, 0);
    assert_int_equal(p->ip_proto, 0);
    assert_memory_equal(p->src_ip, zero, 16);
    expect_no_l4(p);
}

static void check_cut(const layout_t *l, uint32_t len)
{
    fk_packet_t p;
    uint8_t *buf = parse_len(&p, l->link, &l->f, len);
    uint8_t want_layer, want_err = FK_PERR_TRUNCATED;

    if (len < l->l3 || (l->l2_peeks && len == l->l3))
        want_layer = FK_LAYER_L2;
    else if (len < l->l4)
        want_layer = FK_LAYER_L3;
    else if (len < l->l4_end)
        want_layer = FK_LAYER_L4;
    else {
        want_layer = FK_LAYER_NONE;
        want_err = FK_PERR_NONE;
    }
    if (p.err != want_err || p.err_layer != want_layer)
        fail_msg("%s cut at %u of %u: expected %s at %s, got %s at %s", l->name, len, l->f.n,
                 fk_perr_name(want_err), fk_layer_name(want_layer), fk_perr_name(p.err),
                 fk_layer_name(p.err_layer));

    switch (want_layer) {
    case FK_LAYER_L2:
        assert_int_equal(p.layer_ok, FK_LAYER_NONE);
        expect_no_l3(&p);
        assert_false(fk_packet_has_key(&p));
        break;
    case FK_LAYER_L3:
        assert_int_equal(p.layer_ok, FK_LAYER_L2);
        /* Raw IP learns the version from the first byte, so an empty capture has none. */
        if (len > l->l3 || l->link != FK_LINK_RAW)
            assert_int_equal(p.ethertype, l->ethertype);
        assert_int_equal(p.ip_proto, 0);
        /* IPv6 sets its fixed header before walking the extension headers. */
        if (l->ipv == 4 || len < l->l3 + 40)
            assert_int_equal(p.ip_version, 0);
        expect_no_l4(&p);
        assert_false(fk_packet_has_key(&p));
        break;
    case FK_LAYER_L4:
        assert_int_equal(p.ip_version, l->ipv);
        assert_int_equal(p.ip_proto, l->proto);
        assert_int_equal(p.l4_off, l->l4);
        if (len < l->l4_min) {
            assert_int_equal(p.layer_ok, FK_LAYER_L3);
            expect_no_l4(&p);
            assert_int_equal(fk_packet_has_key(&p), !port_proto(l->proto));
        } else {
            /* Only TCP options are cut: the key is whole, the options are not read. */
            assert_int_equal(p.layer_ok, FK_LAYER_L4);
            assert_int_equal(p.src_port, l->sport);
            assert_int_equal(p.dst_port, l->dport);
            assert_int_equal(p.tcp_mss, 0);
            assert_int_equal(p.tcp_options, 0);
            assert_int_equal(p.tcp_tsval, 0);
            assert_int_equal(p.payload_len, 0);
            assert_true(fk_packet_has_key(&p));
        }
        break;
    default:
        assert_int_equal(p.layer_ok, l->l4_min > l->l4 ? FK_LAYER_L4 : FK_LAYER_L3);
        assert_int_equal(p.ip_version, l->ipv);
        assert_int_equal(p.ip_proto, l->proto);
        assert_int_equal(p.l3_off, l->l3);
        assert_int_equal(p.l4_off, l->l4);
        assert_int_equal(p.src_port, l->sport);
        assert_int_equal(p.dst_port, l->dport);
        assert_ptr_equal(p.payload, buf + l->l4_end);
        assert_int_equal(p.payload_len, len - l->l4_end);
        assert_int_equal(p.payload_wire, l->f.n - l->l4_end);
        assert_true(fk_packet_has_key(&p));
    }
    done(buf);
}

/* Fill in the transport part of a layout from what was just appended. */
static void l4_tcp(layout_t *l, size_t optlen)
{
    l->proto = 6;
    l->l4 = l->f.n;
    l->l4_min = l->l4 + 20;
    l->l4_end = l->l4_min + (uint32_t)optlen;
    l->sport = 40000;
    l->dport = 443;
    tcp(&l->f, l->sport, l->dport, 0x02, SYN_OPTS, optlen);
}

static void l4_udp(layout_t *l)
{
    l->proto = 17;
    l->l4 = l->f.n;
    l->l4_min = l->l4_end = l->l4 + 8;
    l->sport = 53;
    l->dport = 33000;
    udp(&l->f, l->sport, l->dport, 5);
}

static void l4_icmp(layout_t *l, uint8_t proto, uint8_t type)
{
    l->proto = proto;
    l->l4 = l->f.n;
    l->l4_min = l->l4_end = l->l4 + 4;
    icmp(&l->f, type, 0);
}

static void l4_sctp(layout_t *l)
{
    l->proto = 132;
    l->l4 = l->f.n;
    l->l4_min = l->l4_end = l->l4 + 12;
    l->sport = 36412;
    l->dport = 36412;
    sctp(&l->f, l->sport, l->dport);
}

static uint32_t l3_v4(layout_t *l, uint8_t proto, unsigned ihl, uint16_t frag)
{
    l->ethertype = 0x0800;
    l->ipv = 4;
    l->l3 = l->f.n;
    return ip4(&l->f, proto, ihl, frag);
}

static uint32_t l3_v6(layout_t *l, uint8_t nh)
{
    l->ethertype = 0x86dd;
    l->ipv = 6;
    l->l3 = l->f.n;
    return ip6(&l->f, nh);
}

static void check_all_cuts(layout_t *l)
{
    for (uint32_t len = 0; len <= l->f.n; len++)
        check_cut(l, len);
}

static void test_truncation_link_layers(void **state)
{
    (void)state;
    static layout_t l; /* 2 KiB frame: keep it off the stack */
    uint32_t ip, ph;

    memset(&l, 0, sizeof(l));
    l.name = "eth/ipv4/tcp+options";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x0800);
    ip = l3_v4(&l, 6, 5, 0);
    l4_tcp(&l, sizeof(SYN_OPTS));
    hello(&l.f);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "eth/vlan/ipv4/udp";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x8100);
    vlan(&l.f, 7, 0x0800);
    ip = l3_v4(&l, 17, 5, 0);
    l4_udp(&l);
    hello(&l.f);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "eth/qinq/ipv6/udp";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x88a8);
    vlan(&l.f, 7, 0x8100);
    vlan(&l.f, 8, 0x86dd);
    ip = l3_v6(&l, 17);
    l4_udp(&l);
    hello(&l.f);
    ip6_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "eth/mpls*2/ipv4/icmp";
    l.link = FK_LINK_ETHERNET;
    l.l2_peeks = true;
    eth(&l.f, MAC_A, MAC_B, 0x8847);
    put32(&l.f, mpls_lse(16, 0, 64));
    put32(&l.f, mpls_lse(17, 1, 64));
    ip = l3_v4(&l, 1, 5, 0);
    l4_icmp(&l, 1, 8);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "eth/mpls/cw/eth/ipv4/tcp";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x8847);
    put32(&l.f, mpls_lse(16, 1, 64));
    put32(&l.f, 0);
    eth(&l.f, MAC_IN_A, MAC_IN_B, 0x0800);
    ip = l3_v4(&l, 6, 5, 0);
    l4_tcp(&l, 0);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "eth/pppoe/ipv4/udp";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x8864);
    ph = pppoe(&l.f, 0x0021);
    ip = l3_v4(&l, 17, 5, 0);
    l4_udp(&l);
    hello(&l.f);
    ip4_done(&l.f, ip);
    pppoe_done(&l.f, ph);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "eth/pppoe/ipv6/tcp";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x8864);
    ph = pppoe(&l.f, 0x0057);
    ip = l3_v6(&l, 6);
    l4_tcp(&l, 8);
    ip6_done(&l.f, ip);
    pppoe_done(&l.f, ph);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "sll/ipv4/tcp";
    l.link = FK_LINK_SLL;
    sll(&l.f, 6, 0x0800);
    ip = l3_v4(&l, 6, 5, 0);
    l4_tcp(&l, 12);
    hello(&l.f);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "sll2/ipv6/udp";
    l.link = FK_LINK_SLL2;
    sll2(&l.f, 0x86dd);
    ip = l3_v6(&l, 17);
    l4_udp(&l);
    hello(&l.f);
    ip6_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "null/ipv4/udp";
    l.link = FK_LINK_NULL;
    putn(&l.f, "\x02\x00\x00\x00", 4);
    ip = l3_v4(&l, 17, 5, 0);
    l4_udp(&l);
    hello(&l.f);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "loop/ipv6/tcp";
    l.link = FK_LINK_LOOP;
    put32(&l.f, 30);
    ip = l3_v6(&l, 6);
    l4_tcp(&l, 4);
    ip6_done(&l.f, ip);
    check_all_cuts(&l);
}

static void test_truncation_ip_layers(void **state)
{
    (void)state;
    static layout_t l;
    uint32_t ip;

    memset(&l, 0, sizeof(l));
    l.name = "raw/ipv4/sctp";
    l.link = FK_LINK_RAW;
    ip = l3_v4(&l, 132, 5, 0);
    l4_sctp(&l);
    hello(&l.f);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "raw/ipv6/icmpv6";
    l.link = FK_LINK_RAW;
    ip = l3_v6(&l, 58);
    l4_icmp(&l, 58, 128);
    hello(&l.f);
    ip6_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "ipv4(228)/ipv4+options/udp";
    l.link = FK_LINK_IPV4;
    ip = l3_v4(&l, 17, 7, 0);
    l4_udp(&l);
    hello(&l.f);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "ipv6(229)/hop/routing/dst/frag/ah/tcp";
    l.link = FK_LINK_IPV6;
    ip = l3_v6(&l, 0);
    ext6(&l.f, 43, 0);
    ext6(&l.f, 60, 1);
    ext6(&l.f, 44, 0);
    frag6(&l.f, 51, 0, 1, 99);
    ah6(&l.f, 6);
    l4_tcp(&l, sizeof(SYN_OPTS));
    hello(&l.f);
    ip6_done(&l.f, ip);
    check_all_cuts(&l);

    /* Non-first fragments end at L3: the cut moves from L3 straight to payload. */
    memset(&l, 0, sizeof(l));
    l.name = "eth/ipv4 fragment";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x0800);
    ip = l3_v4(&l, 6, 5, 0x2000 | 100);
    l.proto = 6;
    l.l4 = l.l4_min = l.l4_end = l.f.n;
    fill(&l.f, 0x5a, 16);
    ip4_done(&l.f, ip);
    check_all_cuts(&l);

    memset(&l, 0, sizeof(l));
    l.name = "eth/ipv6 fragment";
    l.link = FK_LINK_ETHERNET;
    eth(&l.f, MAC_A, MAC_B, 0x86dd);
    ip = l3_v6(&l, 44);
    frag6(&l.f, 17, 100, 1, 5);
    l.proto = 17;
    l.l4 = l.l4_min = l.l4_end = l.f.n;
    fill(&l.f, 0x5a, 16);
    ip6_done(&l.f, ip);
    check_all_cuts(&l);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(fk_layer_name(FK_LAYER_NONE), "none");
    assert_string_equal(fk_layer_name(FK_LAYER_L2), "l2");
    assert_string_equal(fk_layer_name(FK_LAYER_L3), "l3");
    assert_string_equal(fk_layer_name(FK_LAYER_L4), "l4");
    assert_string_equal(fk_layer_name(FK_LAYER_COUNT_), "?");
    assert_string_equal(fk_layer_name(-1), "?");
    assert_string_equal(fk_perr_name(FK_PERR_NONE), "ok");
    assert_string_equal(fk_perr_name(FK_PERR_TRUNCATED), "truncated");
    assert_string_equal(fk_perr_name(FK_PERR_INVALID), "invalid");
    assert_string_equal(fk_perr_name(FK_PERR_UNSUPPORTED), "unsupported");
    assert_string_equal(fk_perr_name(FK_PERR_COUNT_), "?");
    assert_string_equal(fk_perr_name(-1), "?");
}

#define T(f) cmocka_unit_test_teardown(f, free_live)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ethernet_ipv4_tcp),
        T(test_parse_overwrites_packet),
        T(test_vlan_single),
        T(test_vlan_qinq),
        T(test_vlan_depth_limit),
        T(test_mpls_two_labels),
        T(test_mpls_pseudowire),
        T(test_mpls_malformed),
        T(test_pppoe),
        T(test_sll),
        T(test_sll2),
        T(test_raw_ip),
        T(test_loopback),
        T(test_unknown_link),
        T(test_arp_and_8023),
        T(test_ipv4_options),
        T(test_ipv4_fragments),
        T(test_ipv4_invalid),
        T(test_ethernet_padding),
        T(test_ipv6_extension_chain),
        T(test_ipv6_nonfirst_fragment),
        T(test_ipv6_first_fragment_udp),
        T(test_ipv6_extension_limit),
        T(test_ipv6_invalid),
        T(test_ipv6_no_next_header),
        T(test_udp_icmp_sctp),
        T(test_tcp_options_odd),
        T(test_tcp_invalid),
        T(test_udp_length_lies),
        T(test_truncation_link_layers),
        T(test_truncation_ip_layers),
        T(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
