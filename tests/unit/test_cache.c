/*
 * test_cache.c - the biflow cache: direction, timeouts, TCP restarts, split,
 * evictions, fragments, plugin hooks and accounting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe/cache/cache.h"

#define SEC 1000000000ULL
#define MAXF 256

/* Flows the cache exported, copied out (the cache reuses the memory). */
static fp_flow_t g_out[MAXF];
static size_t g_nout;

static void collect(void *arg, fp_flow_t *flow)
{
    (void)arg;
    assert_true(g_nout < MAXF);
    g_out[g_nout++] = *flow;
}

static void v4(uint8_t a[16], uint8_t last)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[15] = last;
}

/* A TCP/UDP packet from 10.0.0.s:sp to 10.0.0.d:dp at time t (ns). */
static fk_packet_t mk(uint8_t proto, uint8_t s, uint16_t sp, uint8_t d, uint16_t dp, uint64_t t,
                      uint16_t len, uint8_t flags)
{
    fk_packet_t p;
    memset(&p, 0, sizeof(p));
    p.ts_ns = t;
    p.layer_ok = FK_LAYER_L4;
    p.ip_version = 4;
    p.ip_proto = proto;
    v4(p.src_ip, s);
    v4(p.dst_ip, d);
    p.src_port = sp;
    p.dst_port = dp;
    p.ip_len = len;
    p.tcp_flags = flags;
    p.src_mac[5] = s;
    p.dst_mac[5] = d;
    return p;
}

static fp_cache_t *new_cache(const char *spec, fp_plugin_inst_t *pl, size_t n)
{
    fp_cache_cfg_t cfg;
    fk_opts_t o;
    fk_err_t e;
    fp_cache_t *c;

    fp_cache_cfg_default(&cfg);
    if (spec) {
        assert_int_equal(fk_opts_parse(spec, &o, &e), 0);
        assert_int_equal(fp_cache_cfg_apply(&cfg, &o, &e), 0);
        fk_opts_free(&o);
    }
    g_nout = 0;
    c = fp_cache_new(&cfg, pl, n, collect, NULL, &e);
    assert_non_null(c);
    return c;
}

static void put(fp_cache_t *c, fk_packet_t p)
{
    fp_cache_put(c, &p);
}

static void test_biflow_direction(void **state)
{
    (void)state;
    fp_cache_t *c = new_cache(NULL, NULL, 0);

    put(c, mk(17, 1, 1000, 2, 53, 10 * SEC, 60, 0));
    put(c, mk(17, 2, 53, 1, 1000, 10 * SEC + 5, 100, 0));
    put(c, mk(17, 1, 1000, 2, 53, 11 * SEC, 70, 0));
    fp_cache_flush(c);
    assert_int_equal(g_nout, 1);
    /* SRC is the sender of the first packet. */
    assert_int_equal(g_out[0].src_ip[15], 1);
    assert_int_equal(g_out[0].src_port, 1000);
    assert_int_equal(g_out[0].packets, 2);
    assert_int_equal(g_out[0].bytes, 130);
    assert_int_equal(g_out[0].packets_rev, 1);
    assert_int_equal(g_out[0].bytes_rev, 100);
    assert_int_equal(g_out[0].time_first, 10 * SEC);
    assert_int_equal(g_out[0].time_last, 11 * SEC);
    assert_int_equal(g_out[0].src_mac[5], 1);
    assert_int_equal(g_out[0].end_reason, FP_END_FORCED);
    fp_cache_free(c);
}

static void test_inactive_and_active(void **state)
{
    (void)state;
    fp_cache_t *c = new_cache("cache;i=5;a=20", NULL, 0);

    /* Gap of 5 whole seconds ends the flow (>= inactive); 4 does not. */
    put(c, mk(17, 1, 1, 2, 2, 100 * SEC + 900000000, 10, 0));
    put(c, mk(17, 1, 1, 2, 2, 104 * SEC + 100, 10, 0));
    assert_int_equal(g_nout, 0);
    put(c, mk(17, 1, 1, 2, 2, 109 * SEC, 10, 0));
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_out[0].packets, 2);
    assert_int_equal(g_out[0].end_reason, FP_END_INACTIVE);

    /* Active timeout: a flow that keeps going is cut every 20 s. */
    for (uint64_t t = 109; t <= 130; t++)
        put(c, mk(17, 1, 1, 2, 2, t * SEC, 10, 0));
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_out[1].end_reason, FP_END_ACTIVE);
    assert_int_equal(g_out[1].packets, 21); /* the packet at 109 that started it, then 109..128 */
    fp_cache_flush(c);
    assert_int_equal(g_nout, 3);
    assert_int_equal(g_out[2].packets, 2); /* 129, 130 */
    fp_cache_free(c);
}

static void test_tcp_restart_and_reason(void **state)
{
    (void)state;
    fp_cache_t *c = new_cache("cache;i=5", NULL, 0);

    put(c, mk(6, 1, 1234, 2, 80, 1 * SEC, 60, FK_TCP_SYN));
    put(c, mk(6, 2, 80, 1, 1234, 1 * SEC + 1, 60, FK_TCP_SYN | FK_TCP_ACK));
    put(c, mk(6, 1, 1234, 2, 80, 1 * SEC + 2, 52, FK_TCP_FIN | FK_TCP_ACK));
    /* A SYN from the side that sent FIN: a new connection on the same tuple. */
    put(c, mk(6, 1, 1234, 2, 80, 2 * SEC, 60, FK_TCP_SYN));
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_out[0].end_reason, FP_END_EOF);
    assert_int_equal(g_out[0].tcp_flags, FK_TCP_SYN | FK_TCP_FIN | FK_TCP_ACK);
    assert_int_equal(g_out[0].tcp_flags_rev, FK_TCP_SYN | FK_TCP_ACK);
    /* A SYN from the other side, which sent no FIN/RST, does not split. */
    put(c, mk(6, 1, 1234, 2, 80, 2 * SEC + 1, 52, FK_TCP_RST));
    put(c, mk(6, 2, 80, 1, 1234, 2 * SEC + 2, 60, FK_TCP_SYN));
    assert_int_equal(g_nout, 1);
    /* Idle with FIN/RST seen: end reason "end of flow detected". */
    put(c, mk(17, 9, 9, 8, 8, 10 * SEC, 10, 0));
    fp_cache_expire(c, 10 * SEC);
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_out[1].end_reason, FP_END_EOF);
    fp_cache_flush(c);
    fp_cache_free(c);
}

static void test_split(void **state)
{
    (void)state;
    fp_cache_t *c = new_cache("cache;S", NULL, 0);

    put(c, mk(17, 1, 1000, 2, 53, 1 * SEC, 60, 0));
    put(c, mk(17, 2, 53, 1, 1000, 1 * SEC, 100, 0));
    put(c, mk(17, 1, 1000, 2, 53, 1 * SEC, 60, 0));
    fp_cache_flush(c);
    assert_int_equal(g_nout, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(g_out[i].packets_rev, 0);
        if (g_out[i].src_ip[15] == 1)
            assert_int_equal(g_out[i].packets, 2);
        else
            assert_int_equal(g_out[i].packets, 1);
    }
    fp_cache_free(c);
}

static void test_eviction_and_accounting(void **state)
{
    (void)state;
    /* 16 slots in rows of 4: 40 concurrent flows must evict. */
    fp_cache_t *c = new_cache("cache;s=4;l=2", NULL, 0);
    fp_cache_stats_t st;
    uint64_t pk = 0, by = 0;

    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 40; i++)
            put(c, mk(17, 1, (uint16_t)(1000 + i), 2, 53, 1 * SEC, (uint16_t)(40 + i), 0));
    fp_cache_flush(c);
    fp_cache_get_stats(c, &st);
    assert_true(st.end_no_res > 0);
    assert_true(st.peak_flows <= 16);
    for (size_t i = 0; i < g_nout; i++) {
        pk += g_out[i].packets + g_out[i].packets_rev;
        by += g_out[i].bytes + g_out[i].bytes_rev;
    }
    assert_int_equal(pk, 120);
    assert_int_equal(st.packets, 120);
    assert_int_equal(st.exported_packets, 120);
    assert_int_equal(by, st.bytes);
    assert_int_equal(st.flows, 0);
    fp_cache_free(c);
}

static void test_fragments(void **state)
{
    (void)state;
    fp_cache_t *c = new_cache(NULL, NULL, 0);
    fk_packet_t first = mk(17, 1, 5000, 2, 6000, 1 * SEC, 1500, 0);
    fk_packet_t later = mk(17, 1, 0, 2, 0, 1 * SEC + 10, 500, 0);
    fk_packet_t orphan = mk(17, 1, 0, 2, 0, 1 * SEC + 20, 300, 0);

    first.is_fragment = true;
    first.frag_more = true;
    first.ip_id = 77;
    later.is_fragment = true;
    later.frag_off = 185;
    later.ip_id = 77;
    orphan.is_fragment = true;
    orphan.frag_off = 10;
    orphan.ip_id = 78;
    fp_cache_put(c, &first);
    fp_cache_put(c, &later);
    fp_cache_put(c, &orphan);
    fp_cache_flush(c);
    /* The later fragment joins its first fragment's flow; the orphan keeps ports 0. */
    assert_int_equal(g_nout, 2);
    for (size_t i = 0; i < 2; i++) {
        if (g_out[i].src_port == 5000) {
            assert_int_equal(g_out[i].packets, 2);
            assert_int_equal(g_out[i].bytes, 2000);
        } else {
            assert_int_equal(g_out[i].src_port, 0);
            assert_int_equal(g_out[i].packets, 1);
        }
    }
    fp_cache_stats_t st;
    fp_cache_get_stats(c, &st);
    assert_int_equal(st.frag_hits, 1);
    assert_int_equal(st.frag_misses, 1);
    fp_cache_free(c);

    /* With the fragmentation cache off, the later fragment has no ports. */
    c = new_cache("cache;fe=false", NULL, 0);
    first.src_port = 5000;
    later.src_port = later.dst_port = 0;
    fp_cache_put(c, &first);
    fp_cache_put(c, &later);
    fp_cache_flush(c);
    assert_int_equal(g_nout, 2);
    fp_cache_free(c);
}

/* ---- a test plugin exercising every hook ---- */

typedef struct tstate_st {
    uint32_t creates, updates, exports;
    uint32_t rev_packets;
} tstate_t;

static int g_flush_on_len; /* pre_update: REINSERT when a packet has this length */
static int g_post_flush_len; /* post_update: FLUSH when a packet has this length */
static int g_pre_creates;

static void t_pre_create(void *ctx, const fk_packet_t *pkt)
{
    (void)ctx;
    (void)pkt;
    g_pre_creates++;
}

static int t_post_create(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    tstate_t *s = st;
    assert_int_equal(s->creates, 0); /* slab is zeroed for every new flow */
    /* Only a reinserted flow (its first packet counted as DST -> SRC) can see
     * a reverse packet here. */
    if (hp->rev)
        assert_int_equal(f->packets_rev, 1);
    else
        assert_int_equal(f->packets, 1);
    s->creates++;
    return FP_HOOK_OK;
}

static int t_pre_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)st;
    return hp->pkt->ip_len == g_flush_on_len ? FP_HOOK_FLUSH_REINSERT : FP_HOOK_OK;
}

static int t_post_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    tstate_t *s = st;
    s->updates++;
    s->rev_packets += hp->rev;
    return hp->pkt->ip_len == g_post_flush_len ? FP_HOOK_FLUSH : FP_HOOK_OK;
}

static void t_pre_export(void *ctx, fp_flow_t *f, void *st)
{
    (void)ctx;
    (void)f;
    ((tstate_t *)st)->exports++;
}

static tstate_t g_seen[MAXF];

static void collect_state(void *arg, fp_flow_t *flow)
{
    fp_plugin_inst_t *pi = arg;
    g_seen[g_nout] = *(tstate_t *)fp_plugin_state(pi, flow);
    collect(NULL, flow);
}

static const fp_plugin_t test_plugin = {
    .abi = FP_PLUGIN_ABI,
    .name = "test",
    .summary = "hooks under test",
    .state_size = sizeof(tstate_t),
    .pre_create = t_pre_create,
    .post_create = t_post_create,
    .pre_update = t_pre_update,
    .post_update = t_post_update,
    .pre_export = t_pre_export,
};

static void test_plugin_hooks(void **state)
{
    (void)state;
    fp_plugin_inst_t pi = {.p = &test_plugin};
    fp_cache_cfg_t cfg;
    fk_err_t e;

    fp_cache_cfg_default(&cfg);
    g_nout = 0;
    g_pre_creates = 0;
    g_flush_on_len = 999;
    g_post_flush_len = 777;
    fp_cache_t *c = fp_cache_new(&cfg, &pi, 1, collect_state, &pi, &e);
    assert_non_null(c);

    put(c, mk(17, 1, 1, 2, 2, 1 * SEC, 100, 0));
    put(c, mk(17, 2, 2, 1, 1, 1 * SEC + 1, 100, 0));
    put(c, mk(17, 1, 1, 2, 2, 1 * SEC + 2, 100, 0));
    /* REINSERT from pre_update (ipfixprobe's record reuse): the old flow ends
     * without this packet, at the previous packet's time; the new record
     * keeps the old orientation (SRC is still 1 although 2 sent the packet),
     * starts at that same time, and counts the packet as DST -> SRC. */
    put(c, mk(17, 2, 2, 1, 1, 1 * SEC + 3, 999, 0));
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_out[0].packets + g_out[0].packets_rev, 3);
    assert_int_equal(g_out[0].time_last, 1 * SEC + 2);
    assert_int_equal(g_out[0].end_reason, FP_END_FORCED);
    assert_int_equal(g_seen[0].creates, 1);
    assert_int_equal(g_seen[0].updates, 2);
    assert_int_equal(g_seen[0].rev_packets, 1);
    assert_int_equal(g_seen[0].exports, 1);
    /* FLUSH from post_update: the flow ends including this packet. */
    put(c, mk(17, 1, 1, 2, 2, 1 * SEC + 4, 777, 0));
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_out[1].src_ip[15], 1);
    assert_int_equal(g_out[1].time_first, 1 * SEC + 2);
    assert_int_equal(g_out[1].time_last, 1 * SEC + 4);
    assert_int_equal(g_out[1].packets, 1);
    assert_int_equal(g_out[1].bytes, 777);
    assert_int_equal(g_out[1].packets_rev, 1);
    assert_int_equal(g_out[1].bytes_rev, 999);
    assert_int_equal(g_seen[1].creates, 1);
    assert_int_equal(g_seen[1].updates, 1);
    assert_int_equal(g_pre_creates, 1);
    fp_cache_flush(c);
    assert_int_equal(g_nout, 2);

    fp_cache_stats_t st;
    fp_cache_get_stats(c, &st);
    assert_int_equal(st.end_plugin, 2);
    assert_int_equal(st.exported_packets, st.packets);
    fp_cache_free(c);
}

static int t_key_vlan_dummy(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)st;
    (void)hp;
    return FP_HOOK_OK;
}

static void test_vlan_key(void **state)
{
    (void)state;
    static const fp_plugin_t vlan_plugin = {
        .abi = FP_PLUGIN_ABI,
        .name = "vlankey",
        .flags = FP_PLUGIN_KEY_VLAN,
        .post_update = t_key_vlan_dummy,
    };
    fk_packet_t a = mk(17, 1, 1, 2, 2, 1 * SEC, 10, 0);
    fk_packet_t b = a;

    a.vlan_count = 1;
    a.vlan_id[0] = 10;
    b.vlan_count = 1;
    b.vlan_id[0] = 20;

    /* Without a plugin asking for it, the VLAN is not part of the key. */
    fp_cache_t *c = new_cache(NULL, NULL, 0);
    fp_cache_put(c, &a);
    fp_cache_put(c, &b);
    fp_cache_flush(c);
    assert_int_equal(g_nout, 1);
    fp_cache_free(c);

    fp_plugin_inst_t pi = {.p = &vlan_plugin};
    c = new_cache(NULL, &pi, 1);
    fp_cache_put(c, &a);
    fp_cache_put(c, &b);
    fp_cache_flush(c);
    assert_int_equal(g_nout, 2);
    fp_cache_free(c);
}

static void test_cfg_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "cache;s=3",  "cache;s=99",   "cache;l=11",   "cache;a=0",      "cache;i=x",
        "cache;S=1",  "cache;size",   "cache;fe=maybe", "cache;fs=0",   "cache;bogus=1",
        "cache;s=4;l=5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fp_cache_cfg_t cfg;
        fk_opts_t o;
        fk_err_t e = {{0}};
        fp_cache_cfg_default(&cfg);
        assert_int_equal(fk_opts_parse(bad[i], &o, &e), 0);
        assert_int_equal(fp_cache_cfg_apply(&cfg, &o, &e), -1);
        assert_true(strlen(e.msg) > 0);
        fk_opts_free(&o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_biflow_direction),
        cmocka_unit_test(test_inactive_and_active),
        cmocka_unit_test(test_tcp_restart_and_reason),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_eviction_and_accounting),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_plugin_hooks),
        cmocka_unit_test(test_vlan_key),
        cmocka_unit_test(test_cfg_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
