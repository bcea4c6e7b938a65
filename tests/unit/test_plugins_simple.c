/*
 * test_plugins_simple.c - the vlan, icmp, mpls and flow_hash plugins, driven
 * through the real cache with frames parsed by fk_packet_parse.  The ICMP
 * type/code, MPLS label entry and VLAN id are also checked against tshark's
 * dissection of the same frames written to a pcap, when tshark is installed.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe/cache/cache.h"

extern const fp_plugin_t fp_plugin_vlan;
extern const fp_plugin_t fp_plugin_icmp;
extern const fp_plugin_t fp_plugin_mpls;
extern const fp_plugin_t fp_plugin_flow_hash;

#define MAXF   32
#define NPL    4
#define RECMAX 32

/* An exported flow with a copy of each plugin's record (the cache reuses memory). */
typedef struct out_st {
    fp_flow_t flow;
    unsigned nrec[NPL];
    uint8_t rec[NPL][RECMAX];
} out_t;

static out_t g_out[MAXF];
static size_t g_nout;
static fp_plugin_inst_t g_pl[NPL];
static size_t g_npl;

static const fp_flow_t *collect(void *arg, fp_flow_t *flow)
{
    out_t *o;

    (void)arg;
    assert_true(g_nout < MAXF);
    o = &g_out[g_nout++];
    memset(o, 0, sizeof(*o));
    o->flow = *flow;
    for (size_t i = 0; i < g_npl; i++) {
        const fp_plugin_t *p = g_pl[i].p;
        const void *st = fp_plugin_state(&g_pl[i], flow);
        o->nrec[i] = p->records(g_pl[i].ctx, flow, st);
        assert_true(o->nrec[i] <= 1);
        assert_true(p->record_size <= RECMAX);
        if (o->nrec[i])
            memcpy(o->rec[i], p->record(g_pl[i].ctx, flow, st, 0), p->record_size);
    }
    return NULL;
}

/* ---- frame builder ---- */

typedef struct frame_st {
    uint8_t b[128];
    uint32_t len;
} frame_t;

static void put8(frame_t *f, uint8_t v)
{
    f->b[f->len++] = v;
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

static void eth(frame_t *f, uint8_t s, uint8_t d)
{
    static const uint8_t base[5] = {0x02, 0x00, 0x00, 0x00, 0x00};
    f->len = 0;
    memcpy(f->b, base, 5);
    f->b[5] = d;
    memcpy(f->b + 6, base, 5);
    f->b[11] = s;
    f->len = 12;
}

/* IPv4 header of 20 bytes with a valid checksum, `plen` payload bytes follow. */
static void ipv4(frame_t *f, uint8_t proto, uint8_t s, uint8_t d, uint16_t plen)
{
    uint32_t start = f->len, sum = 0;

    put16(f, 0x4500);
    put16(f, (uint16_t)(20 + plen));
    put32(f, 0x12340000);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    put32(f, 0x0a000000u | s);
    put32(f, 0x0a000000u | d);
    for (uint32_t i = 0; i < 20; i += 2)
        sum += (uint32_t)f->b[start + i] << 8 | f->b[start + i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    f->b[start + 10] = (uint8_t)(~sum >> 8);
    f->b[start + 11] = (uint8_t)~sum;
}

static void udp(frame_t *f, uint16_t sp, uint16_t dp)
{
    put16(f, sp);
    put16(f, dp);
    put16(f, 12);
    put16(f, 0);
    put32(f, 0xdeadbeef);
}

/* UDP 10.0.0.s:sp -> 10.0.0.d:dp, with an 802.1Q tag when vid != 0. */
static void mk_udp(frame_t *f, uint16_t vid, uint8_t s, uint16_t sp, uint8_t d, uint16_t dp)
{
    eth(f, s, d);
    if (vid) {
        put16(f, 0x8100);
        put16(f, vid);
    }
    put16(f, 0x0800);
    ipv4(f, 17, s, d, 12);
    udp(f, sp, dp);
}

static void mk_icmp4(frame_t *f, uint8_t s, uint8_t d, uint8_t type, uint8_t code)
{
    eth(f, s, d);
    put16(f, 0x0800);
    ipv4(f, 1, s, d, 8);
    put8(f, type);
    put8(f, code);
    put16(f, 0); /* checksum, not checked */
    put32(f, 0x00010001);
}

static void mk_icmp6(frame_t *f, uint8_t type, uint8_t code)
{
    eth(f, 1, 2);
    put16(f, 0x86dd);
    put32(f, 0x60000000);
    put16(f, 8);
    put8(f, 58);
    put8(f, 64);
    put32(f, 0xfe800000);
    put32(f, 0);
    put32(f, 0);
    put32(f, 1);
    put32(f, 0xfe800000);
    put32(f, 0);
    put32(f, 0);
    put32(f, 2);
    put8(f, type);
    put8(f, code);
    put16(f, 0);
    put32(f, 0);
}

#define LSE(label, tc, s, ttl) \
    ((uint32_t)(label) << 12 | (uint32_t)(tc) << 9 | (uint32_t)(s) << 8 | (ttl))

static void mk_mpls(frame_t *f, uint32_t lse1, uint32_t lse2)
{
    eth(f, 5, 6);
    put16(f, 0x8847);
    put32(f, lse1);
    put32(f, lse2);
    ipv4(f, 17, 5, 6, 12);
    udp(f, 4000, 5000);
}

/* ---- the frames of the test, in time order ---- */

enum {
    F_V100,
    F_UNTAGGED,
    F_V100_REV,
    F_ECHO_REQ,
    F_ECHO_REP,
    F_UNREACH,
    F_ICMP6,
    F_MPLS,
    NFRAMES
};

static frame_t g_fr[NFRAMES];

static void build_frames(void)
{
    mk_udp(&g_fr[F_V100], 100, 1, 1000, 2, 53);
    mk_udp(&g_fr[F_UNTAGGED], 0, 1, 1000, 2, 53);
    mk_udp(&g_fr[F_V100_REV], 100, 2, 53, 1, 1000);
    mk_icmp4(&g_fr[F_ECHO_REQ], 3, 4, 8, 0);
    mk_icmp4(&g_fr[F_ECHO_REP], 4, 3, 0, 0);
    mk_icmp4(&g_fr[F_UNREACH], 7, 8, 3, 3);
    mk_icmp6(&g_fr[F_ICMP6], 128, 0);
    mk_mpls(&g_fr[F_MPLS], LSE(16001, 5, 0, 64), LSE(17, 0, 1, 63));
}

/* Run all frames through a cache with `pl` enabled; flows land in g_out. */
static void run(const fp_plugin_t *const *pl, size_t n)
{
    fp_cache_cfg_t cfg;
    fk_err_t e;
    fp_cache_t *c;

    build_frames();
    memset(g_pl, 0, sizeof(g_pl));
    for (size_t i = 0; i < n; i++)
        g_pl[i].p = pl[i];
    g_npl = n;
    g_nout = 0;
    fp_cache_cfg_default(&cfg);
    c = fp_cache_new(&cfg, g_pl, n, collect, NULL, &e);
    assert_non_null(c);
    for (int i = 0; i < NFRAMES; i++) {
        fk_packet_t p;
        assert_int_equal(fk_packet_parse(&p, FK_LINK_ETHERNET, g_fr[i].b, g_fr[i].len, g_fr[i].len,
                                         (uint64_t)(i + 1) * 1000000ULL),
                         FK_PERR_NONE);
        assert_true(fk_packet_has_key(&p));
        fp_cache_put(c, &p);
    }
    fp_cache_flush(c);
    fp_cache_free(c);
}

/* The exported flow with this protocol, source host and vlan, or fail. */
static const out_t *find(uint8_t proto, uint8_t src_last, uint16_t vlan)
{
    for (size_t i = 0; i < g_nout; i++)
        if (g_out[i].flow.proto == proto && g_out[i].flow.src_ip[15] == src_last &&
            g_out[i].flow.vlan_id == vlan)
            return &g_out[i];
    fail_msg("no flow proto %u src .%u vlan %u", proto, src_last, vlan);
    return NULL;
}

static const out_t *find6(void)
{
    for (size_t i = 0; i < g_nout; i++)
        if (g_out[i].flow.ip_version == 6)
            return &g_out[i];
    fail_msg("no IPv6 flow");
    return NULL;
}

static uint16_t rec_u16(const out_t *o, size_t pl, const fk_field_t *f)
{
    return (uint16_t)fk_field_u64(f, o->rec[pl], 0);
}

/* ---- tests ---- */

static void test_descriptors(void **state)
{
    const fp_plugin_t *all[] = {&fp_plugin_vlan, &fp_plugin_icmp, &fp_plugin_mpls,
                                &fp_plugin_flow_hash};
    static const struct {
        const char *name, *field, *json;
        uint16_t ie;
        uint8_t type;
    } want[] = {
        {"vlan", "VLAN_ID", "vlan_id", 58, FK_T_U16},
        {"icmp", "L4_ICMP_TYPE_CODE", "icmp_type_code", 32, FK_T_U16},
        {"mpls", "MPLS_TOP_LABEL_STACK_SECTION", "mpls_top_label_stack_section", 70, FK_T_BYTES},
        {"flow_hash", "FLOW_ID", "flow_id", 148, FK_T_U64},
    };

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        const fp_plugin_t *p = all[i];
        assert_int_equal(p->abi, FP_PLUGIN_ABI);
        assert_string_equal(p->name, want[i].name);
        assert_ptr_equal(fp_plugin_find(want[i].name), p);
        assert_non_null(p->summary);
        assert_int_equal(p->nfields, 1);
        assert_string_equal(p->fields[0].name, want[i].field);
        assert_string_equal(p->fields[0].json, want[i].json);
        assert_int_equal(p->fields[0].pen, 0);
        assert_int_equal(p->fields[0].ie, want[i].ie);
        assert_int_equal(p->fields[0].type, want[i].type);
        assert_non_null(p->records);
        assert_non_null(p->record);
    }
    assert_int_equal(fp_plugin_vlan.flags & FP_PLUGIN_KEY_VLAN, FP_PLUGIN_KEY_VLAN);
    assert_int_equal(fp_plugin_icmp.flags & FP_PLUGIN_KEY_VLAN, 0);
}

static void test_vlan(void **state)
{
    const fp_plugin_t *pl[] = {&fp_plugin_vlan};
    const out_t *o;

    (void)state;
    run(pl, 1);
    /* The tagged and untagged UDP packets are two flows; the reply joins VLAN 100's. */
    o = find(17, 1, 100);
    assert_int_equal(o->nrec[0], 1);
    assert_int_equal(rec_u16(o, 0, &fp_plugin_vlan.fields[0]), 100);
    assert_int_equal(o->flow.packets, 1);
    assert_int_equal(o->flow.packets_rev, 1);
    o = find(17, 1, 0);
    assert_int_equal(o->nrec[0], 1); /* untagged flows carry VLAN_ID 0 */
    assert_int_equal(rec_u16(o, 0, &fp_plugin_vlan.fields[0]), 0);
    assert_int_equal(o->flow.packets, 1);
    assert_int_equal(o->flow.packets_rev, 0);
    o = find(1, 3, 0);
    assert_int_equal(o->nrec[0], 1);
}

static void test_icmp(void **state)
{
    const fp_plugin_t *pl[] = {&fp_plugin_icmp};
    const fk_field_t *f = &fp_plugin_icmp.fields[0];
    const out_t *o;

    (void)state;
    run(pl, 1);
    /* Without the vlan plugin the VLAN 100 and untagged UDP packets share a flow. */
    o = find(17, 1, 0);
    assert_int_equal(o->flow.packets, 2);
    assert_int_equal(o->nrec[0], 0);
    o = find(17, 5, 0); /* MPLS-carried UDP */
    assert_int_equal(o->nrec[0], 0);
    o = find(1, 3, 0); /* echo request + reply: the first packet decides */
    assert_int_equal(o->flow.packets + o->flow.packets_rev, 2);
    assert_int_equal(o->nrec[0], 1);
    assert_int_equal(rec_u16(o, 0, f), 0x0800);
    o = find(1, 7, 0);
    assert_int_equal(o->nrec[0], 1);
    assert_int_equal(rec_u16(o, 0, f), 0x0303);
    o = find6();
    assert_int_equal(o->nrec[0], 1);
    assert_int_equal(rec_u16(o, 0, f), 0x8000);
}

static void test_mpls(void **state)
{
    const fp_plugin_t *pl[] = {&fp_plugin_mpls};
    const fk_field_t *f = &fp_plugin_mpls.fields[0];
    uint32_t lse = LSE(16001, 5, 0, 64);
    const out_t *o;

    (void)state;
    run(pl, 1);
    o = find(17, 5, 0);
    assert_int_equal(o->nrec[0], 1);
    assert_int_equal(fk_field_count(f, o->rec[0]), 3);
    /* Label 16001, TC 5, S 0: the LSE's top three bytes, TTL dropped. */
    assert_int_equal(o->rec[0][f->off + 0], (lse >> 24) & 0xff);
    assert_int_equal(o->rec[0][f->off + 1], (lse >> 16) & 0xff);
    assert_int_equal(o->rec[0][f->off + 2], (lse >> 8) & 0xff);
    assert_int_equal(o->rec[0][f->off + 2] & 1, 0); /* not bottom of stack */
    o = find(17, 1, 0);
    assert_int_equal(o->nrec[0], 0);
    o = find(1, 3, 0);
    assert_int_equal(o->nrec[0], 0);
}

static void test_flow_hash(void **state)
{
    const fp_plugin_t *pl[] = {&fp_plugin_vlan, &fp_plugin_flow_hash};
    const fk_field_t *f = &fp_plugin_flow_hash.fields[0];
    uint64_t ids[MAXF];

    (void)state;
    run(pl, 2);
    assert_true(g_nout >= 6);
    for (size_t i = 0; i < g_nout; i++) {
        assert_int_equal(g_out[i].nrec[1], 1);
        ids[i] = fk_field_u64(f, g_out[i].rec[1], 0);
        assert_true(ids[i] == g_out[i].flow.hash);
        for (size_t j = 0; j < i; j++)
            assert_true(ids[i] != ids[j]); /* distinct flows, distinct ids here */
    }
    /* The biflow's id does not depend on which side is seen first: rerun reversed. */
    {
        uint64_t a = fk_field_u64(f, find(17, 1, 100)->rec[1], 0);
        frame_t t = g_fr[F_V100];
        fp_cache_cfg_t cfg;
        fk_err_t e;
        fp_cache_t *c;
        fk_packet_t p;

        fp_cache_cfg_default(&cfg);
        g_nout = 0;
        c = fp_cache_new(&cfg, g_pl, 2, collect, NULL, &e);
        assert_non_null(c);
        assert_int_equal(fk_packet_parse(&p, FK_LINK_ETHERNET, g_fr[F_V100_REV].b,
                                         g_fr[F_V100_REV].len, g_fr[F_V100_REV].len, 1000),
                         FK_PERR_NONE);
        fp_cache_put(c, &p);
        assert_int_equal(fk_packet_parse(&p, FK_LINK_ETHERNET, t.b, t.len, t.len, 2000),
                         FK_PERR_NONE);
        fp_cache_put(c, &p);
        fp_cache_flush(c);
        fp_cache_free(c);
        assert_int_equal(g_nout, 1);
        assert_true(fk_field_u64(f, g_out[0].rec[1], 0) == a);
    }
}

/* ---- cross-check against tshark ---- */

static void write_pcap(const char *path)
{
    FILE *fp = fopen(path, "wb");
    uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};

    assert_non_null(fp);
    /* Native byte order: the magic tells readers which. */
    assert_int_equal(fwrite(gh, 4, 6, fp), 6);
    for (int i = 0; i < NFRAMES; i++) {
        uint32_t rh[4] = {1000u + (uint32_t)i, 0, g_fr[i].len, g_fr[i].len};
        assert_int_equal(fwrite(rh, 4, 4, fp), 4);
        assert_int_equal(fwrite(g_fr[i].b, 1, g_fr[i].len, fp), g_fr[i].len);
    }
    assert_int_equal(fclose(fp), 0);
}

static void test_tshark(void **state)
{
    char dir[] = "/tmp/fk_plugins_XXXXXX", path[64], cmd[512], line[256];
    FILE *pp;
    int n = 0;

    (void)state;
    if (system("command -v tshark >/dev/null 2>&1") != 0)
        skip();
    build_frames();
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/frames.pcap", dir);
    write_pcap(path);
    snprintf(cmd, sizeof(cmd),
             "tshark -r %s -T fields -E separator=, -E occurrence=f -e vlan.id -e icmp.type "
             "-e icmp.code -e icmpv6.type -e icmpv6.code -e mpls.label -e mpls.exp "
             "-e mpls.bottom 2>/dev/null",
             path);
    pp = popen(cmd, "r");
    assert_non_null(pp);
    while (fgets(line, sizeof(line), pp)) {
        fk_packet_t p;
        unsigned v[8] = {0};
        char *s = line;

        assert_true(n < NFRAMES);
        for (int k = 0; k < 8; k++) {
            v[k] = (unsigned)strtoul(s, &s, 10);
            if (*s == ',')
                s++;
        }
        fk_packet_parse(&p, FK_LINK_ETHERNET, g_fr[n].b, g_fr[n].len, g_fr[n].len, 0);
        assert_int_equal(p.vlan_count ? p.vlan_id[0] : 0, v[0]);
        if (p.ip_proto == 1) {
            assert_int_equal(p.icmp_type << 8 | p.icmp_code, v[1] << 8 | v[2]);
        } else if (p.ip_proto == 58) {
            assert_int_equal(p.icmp_type << 8 | p.icmp_code, v[3] << 8 | v[4]);
        }
        if (p.mpls_count) {
            /* The plugin's 3 bytes: label(20) TC(3) S(1). */
            uint32_t sec = p.mpls[0] >> 8;
            assert_int_equal(sec >> 4, v[5]);
            assert_int_equal((sec >> 1) & 7, v[6]);
            assert_int_equal(sec & 1, v[7]);
        }
        n++;
    }
    assert_int_equal(pclose(pp), 0);
    assert_int_equal(n, NFRAMES);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptors), cmocka_unit_test(test_vlan),
        cmocka_unit_test(test_icmp),        cmocka_unit_test(test_mpls),
        cmocka_unit_test(test_flow_hash),   cmocka_unit_test(test_tshark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
