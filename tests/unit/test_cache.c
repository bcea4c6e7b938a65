/*
 * test_cache.c - the biflow cache: direction, timeouts, TCP restarts, split,
 * evictions, fragments, plugin hooks and accounting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/core/field.h"
#include "probe/cache/cache.h"

#define SEC  1000000000ULL
#define MAXF 256

/* Flows the cache exported, copied out (the cache reuses the memory). */
static fp_flow_t g_out[MAXF];
static size_t g_nout;

static const fp_flow_t *collect(void *arg, fp_flow_t *flow)
{
    (void)arg;
    assert_true(g_nout < MAXF);
    g_out[g_nout++] = *flow;
    return NULL;
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

static int g_flush_on_len;   /* pre_update: REINSERT when a packet has this length */
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
    tstate_t *s = st;
    assert_int_equal(s->creates, 0); /* slab is zeroed for every new flow */
    /* Reverse only for a flow re-created (REINSERT) from a reverse packet. */
    assert_int_equal(hp->rev, f->packets_rev);
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

static const fp_flow_t *collect_state(void *arg, fp_flow_t *flow)
{
    fp_plugin_inst_t *pi = arg;
    g_seen[g_nout] = *(tstate_t *)fp_plugin_state(pi, flow);
    collect(NULL, flow);
    return NULL;
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
    /* REINSERT from pre_update (ipfixprobe's semantics): the old flow is
     * exported unchanged; the flow goes on with the same key and direction,
     * its counters restarted from this (reverse) packet and TIME_FIRST at the
     * old flow's TIME_LAST. */
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
    assert_int_equal(g_out[1].packets, 1);
    assert_int_equal(g_out[1].packets_rev, 1);
    assert_int_equal(g_out[1].bytes, 777);
    assert_int_equal(g_out[1].bytes_rev, 999);
    assert_int_equal(g_out[1].time_first, 1 * SEC + 2);
    assert_int_equal(g_out[1].time_last, 1 * SEC + 4);
    assert_int_equal(g_seen[1].creates, 1);
    assert_int_equal(g_pre_creates, 2);
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

/*
 * A plugin that asks the cache to zero only its flags (state_zero): the
 * record after them holds whatever an earlier flow left there, and the
 * plugin clears it only when it starts a record.  Packets of length 500
 * make a record.
 */
typedef struct zrec_st {
    uint16_t n;
    uint16_t vals[4];
    char name[16];
    uint32_t x;
} zrec_t;

typedef struct zstate_st {
    uint8_t has;
    uint8_t hdr_zero;  /* the flags were all zero when post_create ran */
    uint8_t body_byte; /* the record's first byte then: leftovers, not zeroed */
    uint8_t pad;
    uint32_t creates;
    zrec_t r;
    uint8_t tail[24];
} zstate_t;

static const fk_field_t zfields[] = {
    FK_ARRAY(FK_T_A_U16, 2, zrec_t, vals, n, "Z_VALS", "z_vals", 0, 0, 0),
    FK_STR(zrec_t, name, "Z_NAME", "z_name", 0, 0, 0),
    FK_U32(zrec_t, x, "Z_X", "z_x", 0, 0, 0),
};

static void z_record_if(zstate_t *s, const fk_packet_t *pkt)
{
    if (pkt->ip_len != 500 || s->has)
        return;
    fk_record_clear(zfields, sizeof(zfields) / sizeof(zfields[0]), &s->r);
    s->r.n = 2;
    s->r.vals[0] = 7;
    s->r.vals[1] = 8;
    memcpy(s->r.name, "abc", 4);
    s->r.x = 42;
    s->has = 1;
}

static int z_post_create(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    zstate_t *s = st;
    (void)ctx;
    (void)f;
    s->hdr_zero = 1;
    for (size_t i = 0; i < offsetof(zstate_t, r); i++)
        if (((const uint8_t *)st)[i] != 0 && i != offsetof(zstate_t, hdr_zero))
            s->hdr_zero = 0;
    s->body_byte = ((const uint8_t *)&s->r)[0];
    s->creates++;
    z_record_if(s, hp->pkt);
    return FP_HOOK_OK;
}

static int z_post_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    z_record_if(st, hp->pkt);
    return hp->pkt->ip_len == 500 ? FP_HOOK_FLUSH : FP_HOOK_OK;
}

static unsigned z_records(void *ctx, const fp_flow_t *f, const void *st)
{
    (void)ctx;
    (void)f;
    return ((const zstate_t *)st)->has;
}

static const void *z_record(void *ctx, const fp_flow_t *f, const void *st, unsigned i)
{
    (void)ctx;
    (void)f;
    (void)i;
    return &((const zstate_t *)st)->r;
}

static const fp_plugin_t zero_plugin = {
    .abi = FP_PLUGIN_ABI,
    .name = "partial",
    .fields = zfields,
    .nfields = sizeof(zfields) / sizeof(zfields[0]),
    .record_size = sizeof(zrec_t),
    .state_size = sizeof(zstate_t),
    .state_zero = offsetof(zstate_t, r),
    .post_create = z_post_create,
    .post_update = z_post_update,
    .records = z_records,
    .record = z_record,
};

static fp_plugin_inst_t g_zpl[1];
static size_t g_nzpl;
static zstate_t g_zseen[MAXF];
static const void *g_zstate[MAXF];

/* Keep the live state and where it lives. */
static const fp_flow_t *collect_z(void *arg, fp_flow_t *flow)
{
    (void)arg;
    size_t k = g_nout;
    const fp_plugin_inst_t *zi = &g_zpl[g_nzpl - 1];
    g_zseen[k] = *(const zstate_t *)fp_plugin_state(zi, flow);
    g_zstate[k] = fp_plugin_state(zi, flow);
    collect(NULL, flow);
    return NULL;
}

static fp_cache_t *zcache(void)
{
    fp_cache_cfg_t cfg;
    fk_err_t e;

    memset(g_zpl, 0, sizeof(g_zpl));
    g_nzpl = 0;
    g_zpl[g_nzpl++].p = &zero_plugin;
    fp_cache_cfg_default(&cfg);
    g_nout = 0;
    fp_cache_t *c = fp_cache_new(&cfg, g_zpl, g_nzpl, collect_z, NULL, &e);
    assert_non_null(c);
    assert_true(fp_cache_slot_bytes(c) >= sizeof(fp_flow_t) + sizeof(zstate_t));
    fp_cache_poison(c, 0xa5); /* every record starts as garbage */
    return c;
}

static void test_state_zero(void **state)
{
    (void)state;
    fp_cache_t *c = zcache();

    /* A new flow: flags zeroed, the rest is the garbage the pool held. */
    put(c, mk(17, 1, 1, 2, 2, 1 * SEC, 100, 0));
    fp_cache_flush(c);
    assert_int_equal(g_nout, 1);
    assert_true(g_zseen[0].hdr_zero);
    assert_int_equal(g_zseen[0].body_byte, 0xa5);
    assert_int_equal(g_zseen[0].has, 0);

    /* A flow that makes a record and ends (FLUSH from post_update) ... */
    put(c, mk(17, 3, 3, 4, 4, 2 * SEC, 100, 0));
    put(c, mk(17, 3, 3, 4, 4, 2 * SEC + 1, 500, 0));
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_zseen[1].has, 1);
    assert_int_equal(g_zseen[1].r.n, 2);
    /* ... and the next flow gets its record back (the one freed last), with
     * the flags zeroed and the old record still in the rest: it must not
     * show, since the new flow makes no record of its own. */
    put(c, mk(17, 5, 5, 6, 6, 3 * SEC, 100, 0));
    fp_cache_flush(c);
    assert_int_equal(g_nout, 3);
    assert_ptr_equal(g_zstate[2], g_zstate[1]);
    assert_true(g_zseen[2].hdr_zero);
    assert_int_equal(g_zseen[2].creates, 1);
    assert_int_equal(g_zseen[2].body_byte, 2); /* the old r.n, not zeroed */
    assert_int_equal(g_zseen[2].has, 0);
    assert_int_equal(z_records(NULL, NULL, &g_zseen[2]), 0);
    fp_cache_free(c);
}

/* Hooks only reach the plugins that have them, each with its own slab. */
static int g_calls[2][3];
static const void *g_hook_state[2];

static int h0_post_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)hp;
    g_calls[0][2]++;
    g_hook_state[0] = st;
    (void)f;
    return FP_HOOK_OK;
}

static int h1_post_create(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)hp;
    g_calls[1][0]++;
    g_hook_state[1] = st;
    return FP_HOOK_OK;
}

static int h1_pre_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)st;
    g_calls[1][1]++;
    return hp->pkt->ip_len == 300 ? FP_HOOK_FLUSH : FP_HOOK_OK;
}

static void test_hook_tables(void **state)
{
    (void)state;
    static const fp_plugin_t none = {.abi = FP_PLUGIN_ABI, .name = "none"};
    static const fp_plugin_t h0 = {
        .abi = FP_PLUGIN_ABI, .name = "h0", .state_size = 8, .post_update = h0_post_update};
    static const fp_plugin_t h1 = {.abi = FP_PLUGIN_ABI,
                                   .name = "h1",
                                   .state_size = 16,
                                   .post_create = h1_post_create,
                                   .pre_update = h1_pre_update};
    fp_plugin_inst_t pl[3] = {{.p = &none}, {.p = &h0}, {.p = &h1}};

    memset(g_calls, 0, sizeof(g_calls));
    fp_cache_t *c = new_cache(NULL, pl, 3);
    put(c, mk(6, 1, 1, 2, 2, 1 * SEC, 100, 0));
    put(c, mk(6, 2, 2, 1, 1, 1 * SEC + 1, 100, 0));
    put(c, mk(6, 1, 1, 2, 2, 1 * SEC + 2, 300, 0)); /* h1 flushes; a new flow starts */
    fp_cache_flush(c);
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_calls[1][0], 2); /* post_create: both flows */
    assert_int_equal(g_calls[1][1], 2); /* pre_update: the two packets that found a flow */
    assert_int_equal(g_calls[0][2], 1); /* post_update: only the one not flushed */
    /* Each hook got its own plugin's slab. */
    assert_true((const uint8_t *)g_hook_state[1] - (const uint8_t *)g_hook_state[0] ==
                (ptrdiff_t)(pl[2].state_off - pl[1].state_off));
    assert_int_equal(pl[1].state_off, pl[0].state_off); /* "none" has no slab */
    fp_cache_free(c);
}

/*
 * FP_HOOK_DONE: an update hook that answers it is not called again for that
 * flow (the other plugins' hooks still are), post_create's DONE means OK,
 * and a re-created flow starts with every hook on again.
 */
static int g_done_calls[3];

static int d0_pre_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)st;
    g_done_calls[0]++;
    /* done from the third update on; a 300-byte packet asks for a flush */
    if (hp->pkt->ip_len == 300)
        return FP_HOOK_FLUSH;
    return g_done_calls[0] >= 2 ? FP_HOOK_DONE : FP_HOOK_OK;
}

static int d0_post_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)st;
    (void)hp;
    g_done_calls[1]++;
    return FP_HOOK_OK;
}

static int d1_post_create(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)st;
    (void)hp;
    return FP_HOOK_DONE; /* counts as OK; updates still come */
}

static int d1_post_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)f;
    (void)st;
    (void)hp;
    g_done_calls[2]++;
    return FP_HOOK_OK;
}

static void test_hook_done(void **state)
{
    (void)state;
    static const fp_plugin_t d0 = {.abi = FP_PLUGIN_ABI,
                                   .name = "d0",
                                   .state_size = 8,
                                   .pre_update = d0_pre_update,
                                   .post_update = d0_post_update};
    static const fp_plugin_t d1 = {.abi = FP_PLUGIN_ABI,
                                   .name = "d1",
                                   .state_size = 8,
                                   .post_create = d1_post_create,
                                   .post_update = d1_post_update};
    fp_plugin_inst_t pl[2] = {{.p = &d0}, {.p = &d1}};

    memset(g_done_calls, 0, sizeof(g_done_calls));
    fp_cache_t *c = new_cache(NULL, pl, 2);
    for (int i = 0; i < 6; i++) /* 1 create + 5 updates */
        put(c, mk(6, 1, 1, 2, 2, 1 * SEC + (uint64_t)i, 100, 0));
    /* d0's pre_update: called twice (OK, then DONE), then never; its
     * post_update ran once, for the update before DONE. */
    assert_int_equal(g_done_calls[0], 2);
    assert_int_equal(g_done_calls[1], 1);
    assert_int_equal(g_done_calls[2], 5); /* d1 is not affected */
    /* A 300-byte packet would flush -- but d0 is done for this flow. */
    put(c, mk(6, 1, 1, 2, 2, 1 * SEC + 6, 300, 0));
    assert_int_equal(g_done_calls[0], 2);
    assert_int_equal(g_nout, 0);
    fp_cache_flush(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_out[0].packets, 7);

    /* The next flow in the slot (the record is reused) gets every hook again. */
    put(c, mk(6, 1, 1, 2, 2, 2 * SEC, 100, 0));
    put(c, mk(6, 1, 1, 2, 2, 2 * SEC + 1, 300, 0)); /* d0 flushes this time */
    assert_int_equal(g_done_calls[0], 3);
    assert_int_equal(g_nout, 2);
    fp_cache_free(c);
}

/* FP_PLUGIN_PAYLOAD_HOOKS: update hooks skip packets without payload; post_create does not. */
static int g_bare_calls[4]; /* payload-only plugin: create, pre, post; other plugin: pre */
static int bare_post_create(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx, (void)f, (void)st, (void)hp;
    g_bare_calls[0]++;
    return FP_HOOK_OK;
}
static int bare_pre_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx, (void)f, (void)st;
    assert_true(hp->pkt->payload_len > 0);
    g_bare_calls[1]++;
    return FP_HOOK_OK;
}
static int bare_post_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx, (void)f, (void)st;
    assert_true(hp->pkt->payload_len > 0);
    g_bare_calls[2]++;
    return FP_HOOK_OK;
}
static int every_pre_update(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    (void)ctx, (void)f, (void)st, (void)hp;
    g_bare_calls[3]++;
    return FP_HOOK_OK;
}

static void test_payload_hooks(void **state)
{
    (void)state;
    static const fp_plugin_t pay = {.abi = FP_PLUGIN_ABI,
                                    .name = "pay",
                                    .flags = FP_PLUGIN_PAYLOAD_HOOKS,
                                    .state_size = 8,
                                    .post_create = bare_post_create,
                                    .pre_update = bare_pre_update,
                                    .post_update = bare_post_update};
    static const fp_plugin_t every = {
        .abi = FP_PLUGIN_ABI, .name = "every", .state_size = 8, .pre_update = every_pre_update};
    static const uint8_t data[4] = {1, 2, 3, 4};
    fp_plugin_inst_t pl[2] = {{.p = &every}, {.p = &pay}};

    memset(g_bare_calls, 0, sizeof(g_bare_calls));
    fp_cache_t *c = new_cache(NULL, pl, 2);
    /* A bare SYN creates the flow: post_create runs all the same. */
    put(c, mk(6, 1, 1, 2, 2, 1 * SEC, 40, FK_TCP_SYN));
    assert_int_equal(g_bare_calls[0], 1);
    /* Bare ACKs and segments with data, interleaved, through both put paths. */
    for (int i = 0; i < 8; i++) {
        fk_packet_t p = mk(6, 1, 1, 2, 2, 1 * SEC + 1 + (uint64_t)i, 40, FK_TCP_ACK);
        if (i % 2) {
            p.payload = data;
            p.payload_len = sizeof(data);
        }
        if (i < 4)
            put(c, p);
        else
            fp_cache_put_batch(c, &p, 1);
    }
    assert_int_equal(g_bare_calls[1], 4); /* only the four with payload */
    assert_int_equal(g_bare_calls[2], 4);
    assert_int_equal(g_bare_calls[3], 8); /* the other plugin sees every packet */
    fp_cache_flush(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_out[0].packets, 9); /* the packets count, called or not */
    fp_cache_free(c);
}

/*
 * Lending (cfg.lend, fp_export_fn): an exporter that holds up to LEND
 * records and hands back the oldest only when it holds LEND -- the most a
 * lending cache must cope with.  The cache must export the same flows as a
 * copying one, never touch a record while it is lent, and never run out of
 * records (ASan build: no read or write outside the pool).
 */
#define LEND  8
#define MAXLF 16384
static fp_flow_t g_lf[2][MAXLF]; /* per pass: every flow exported */
static size_t g_nlf[2];
static const fp_flow_t *g_lent[LEND];
static fp_flow_t g_lent_copy[LEND];
static size_t g_nlent, g_lent_head;

static size_t g_peeks, g_peek_hits;
static const fp_flow_t *g_peeked;

/* fp_export_peek_fn: what lender() will hand back next, as an exporter knows it. */
static const fp_flow_t *lend_peek(void *arg)
{
    (void)arg;
    g_peeks++;
    g_peeked = g_nlent == LEND ? g_lent[g_lent_head] : NULL;
    return g_peeked;
}

static const fp_flow_t *lender(void *arg, fp_flow_t *flow)
{
    int pass = *(const int *)arg;
    const fp_flow_t *back = NULL;

    assert_true(g_nlf[pass] < MAXLF);
    g_lf[pass][g_nlf[pass]++] = *flow;
    if (!pass)
        return NULL; /* not lending: the record is the cache's again */
    if (g_nlent == LEND) {
        size_t k = g_lent_head;
        /* Untouched while lent: its bytes are still those exported. */
        assert_memory_equal(g_lent[k], &g_lent_copy[k], sizeof(fp_flow_t));
        back = g_lent[k];
        if (back == g_peeked)
            g_peek_hits++;
        g_lent_head = (k + 1) % LEND;
        g_nlent--;
    }
    size_t at = (g_lent_head + g_nlent) % LEND;
    g_lent[at] = flow;
    g_lent_copy[at] = *flow;
    g_nlent++;
    return back;
}

static void test_lend(void **state)
{
    (void)state;
    fp_cache_cfg_t cfg;
    fk_err_t e;

    fp_cache_cfg_default(&cfg);
    cfg.size_exp = 6; /* 64 slots in rows of 4: evictions as well as timeouts */
    cfg.line_exp = 2;
    cfg.inactive_s = 5;
    cfg.active_s = 20;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t seed = 7;

        g_nlf[pass] = 0;
        g_nlent = g_lent_head = 0;
        cfg.lend = pass ? LEND : 0;
        fp_cache_t *c = fp_cache_new(&cfg, NULL, 0, lender, &pass, &e);
        assert_non_null(c);
        fp_cache_poison(c, 0x5a);
        g_peeks = g_peek_hits = 0;
        g_peeked = NULL;
        fp_cache_set_peek(c, lend_peek); /* a hint for lending caches only */
        for (int i = 0; i < 20000; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            uint32_t r = (uint32_t)(seed >> 33);
            uint8_t a = (uint8_t)(1 + r % 60), b = (uint8_t)(100 + (r >> 8) % 5);
            uint8_t flags = (r >> 16) % 50 == 0 ? FK_TCP_FIN : FK_TCP_ACK;
            uint64_t t = (uint64_t)i * SEC / 100;
            fk_packet_t p = (r >> 20) & 1 ? mk(6, a, 1000, b, 80, t, 60, flags)
                                          : mk(6, b, 80, a, 1000, t, 60, flags);
            fp_cache_put(c, &p);
        }
        fp_cache_flush(c);
        fp_cache_free(c);
        /* Lending, the cache asks after every export what comes back next
         * (and fetches it); copying, never. */
        if (pass) {
            assert_int_equal(g_peeks, g_nlf[pass]);
            assert_true(g_peek_hits > g_nlf[pass] / 2);
        } else {
            assert_int_equal(g_peeks, 0);
        }
    }
    /* Enough of each way out, and the same flows either way. */
    assert_true(g_nlf[0] > 500);
    assert_int_equal(g_nlf[0], g_nlf[1]);
    for (size_t k = 0; k < g_nlf[0]; k++) {
        const fp_flow_t *x = &g_lf[0][k], *y = &g_lf[1][k];
        assert_memory_equal(x->src_ip, y->src_ip, 16);
        assert_memory_equal(x->dst_ip, y->dst_ip, 16);
        assert_int_equal(x->src_port, y->src_port);
        assert_int_equal(x->dst_port, y->dst_port);
        assert_int_equal(x->packets, y->packets);
        assert_int_equal(x->packets_rev, y->packets_rev);
        assert_int_equal(x->bytes, y->bytes);
        assert_int_equal(x->time_first, y->time_first);
        assert_int_equal(x->time_last, y->time_last);
        assert_int_equal(x->tcp_flags, y->tcp_flags);
        assert_int_equal(x->end_reason, y->end_reason);
    }
}

/*
 * Bodies (fp_plugin_t.body_size): a plugin that keeps its record out of
 * the slot gets one only for the flows it asks for; a body stays its
 * flow's while the record is lent, whatever flows come after; and bodies
 * are reused, so a run needs no more of them than records exist.
 */
typedef struct bbody_st {
    uint32_t id;
    uint32_t fill[15]; /* every word = id */
} bbody_t;

typedef struct bstate_st {
    void *body;
    uint8_t has;
} bstate_t;

static const fk_field_t bfields[] = {
    FK_U32(bbody_t, id, "B_ID", "b_id", 0, 0, 0),
};
static uint32_t g_bseq;   /* ids handed out */
static uint32_t g_bfresh; /* bodies whose first word was the pool's poison */
static const void *g_bseen[1024];
static size_t g_nbseen;

static int b_post_create(void *ctx, fp_flow_t *f, void *st, const fp_hookpkt_t *hp)
{
    bstate_t *s = st;
    (void)ctx;
    (void)f;
    if (s->body || s->has)
        fail_msg("a new flow with a body already");
    if (!((hp->pkt->src_ip[15] ^ hp->pkt->dst_ip[15]) & 1))
        return FP_HOOK_OK; /* not this plugin's flow: no body */
    bbody_t *b = fp_plugin_body(hp, s);
    assert_non_null(b);
    assert_ptr_equal(s->body, b);
    uint32_t w;
    memcpy(&w, b, sizeof(w));
    if (w == 0xa5a5a5a5u)
        g_bfresh++;
    b->id = ++g_bseq;
    for (size_t i = 0; i < 15; i++)
        b->fill[i] = b->id;
    s->has = 1;
    size_t k;
    for (k = 0; k < g_nbseen && g_bseen[k] != b; k++)
        ;
    if (k == g_nbseen) {
        assert_true(g_nbseen < sizeof(g_bseen) / sizeof(g_bseen[0]));
        g_bseen[g_nbseen++] = b;
    }
    return FP_HOOK_OK;
}

static unsigned b_records(void *ctx, const fp_flow_t *f, const void *st)
{
    (void)ctx;
    (void)f;
    return ((const bstate_t *)st)->has;
}

static const void *b_record(void *ctx, const fp_flow_t *f, const void *st, unsigned i)
{
    (void)ctx;
    (void)f;
    (void)i;
    return ((const bstate_t *)st)->body;
}

static const fp_plugin_t body_plugin = {
    .abi = FP_PLUGIN_ABI,
    .name = "bodies",
    .fields = bfields,
    .nfields = 1,
    .record_size = sizeof(bbody_t),
    .state_size = sizeof(bstate_t),
    .body_size = sizeof(bbody_t),
    .post_create = b_post_create,
    .records = b_records,
    .record = b_record,
};

static fp_plugin_inst_t g_bpl[1];
static const fp_flow_t *g_blent[LEND];
static uint32_t g_blent_id[LEND]; /* the body id each lent record had (0: none) */
static size_t g_nblent, g_blent_head, g_bwith, g_bwithout;

/* A body and its flow: the id, in every word. */
static uint32_t body_id(const fp_flow_t *flow)
{
    const fp_plugin_inst_t *pi = &g_bpl[0];
    const bstate_t *s = fp_plugin_state(pi, flow);

    if (!pi->p->records(pi->ctx, flow, s))
        return 0;
    const bbody_t *b = pi->p->record(pi->ctx, flow, s, 0);
    for (size_t i = 0; i < 15; i++)
        assert_int_equal(b->fill[i], b->id);
    return b->id;
}

static const fp_flow_t *body_lender(void *arg, fp_flow_t *flow)
{
    const fp_flow_t *back = NULL;
    uint32_t id = body_id(flow);

    (void)arg;
    if (id)
        g_bwith++;
    else
        g_bwithout++;
    if (g_nblent == LEND) {
        size_t k = g_blent_head;
        /* Its body still holds what its flow wrote. */
        assert_int_equal(body_id(g_blent[k]), g_blent_id[k]);
        back = g_blent[k];
        g_blent_head = (k + 1) % LEND;
        g_nblent--;
    }
    size_t at = (g_blent_head + g_nblent) % LEND;
    g_blent[at] = flow;
    g_blent_id[at] = id;
    g_nblent++;
    return back;
}

static void test_bodies(void **state)
{
    (void)state;
    fp_cache_cfg_t cfg;
    fk_err_t e;
    uint64_t seed = 11;

    fp_cache_cfg_default(&cfg);
    cfg.size_exp = 6; /* 64 slots: evictions, timeouts and record reuse */
    cfg.line_exp = 2;
    cfg.inactive_s = 5;
    cfg.active_s = 20;
    cfg.lend = LEND;
    memset(g_bpl, 0, sizeof(g_bpl));
    g_bpl[0].p = &body_plugin;
    g_bseq = g_bfresh = 0;
    g_nbseen = g_nblent = g_blent_head = g_bwith = g_bwithout = 0;
    fp_cache_t *c = fp_cache_new(&cfg, g_bpl, 1, body_lender, NULL, &e);
    assert_non_null(c);
    fp_cache_poison(c, 0xa5);
    /* The slot holds the pointer, not the body. */
    assert_true(g_bpl[0].state_off + sizeof(bstate_t) <= fp_cache_slot_bytes(c));
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t)(seed >> 33);
        uint8_t a = (uint8_t)(1 + r % 60), b = (uint8_t)(100 + (r >> 8) % 5);
        uint8_t flags = (r >> 16) % 50 == 0 ? FK_TCP_FIN : FK_TCP_ACK;
        uint64_t t = (uint64_t)i * SEC / 100;
        fk_packet_t p = (r >> 20) & 1 ? mk(6, a, 1000, b, 80, t, 60, flags)
                                      : mk(6, b, 80, a, 1000, t, 60, flags);
        fp_cache_put(c, &p);
    }
    fp_cache_flush(c);
    /* Both kinds of flow, every body id exported once and intact. */
    assert_true(g_bwith > 300);
    assert_true(g_bwithout > 300);
    assert_int_equal(g_bwith, g_bseq);
    /* Reused: no more bodies than records (64 slots + LEND lent), and each
     * first seen as the pool's poison, never as another flow's body. */
    assert_true(g_nbseen <= 64 + LEND);
    assert_int_equal(g_bfresh, g_nbseen);
    assert_true(g_bseq > 4 * g_nbseen);
    /* The stats agree: every body handed out is one of those seen, and
     * no flow was ever refused one. */
    fp_cache_stats_t cs;
    fp_cache_get_stats(c, &cs);
    assert_int_equal(cs.body_misses, 0);
    assert_true(cs.bodies >= 1 && cs.bodies <= g_nbseen);
    fp_cache_free(c);
}

/* A plugin whose body pointer the cache would not zero is refused, by name of the rule. */
static void test_body_pointer_rule(void **state)
{
    (void)state;
    fp_cache_cfg_t cfg;
    fk_err_t e = {{0}};
    fp_plugin_t bad = body_plugin;
    fp_plugin_inst_t pi[1];

    bad.state_zero = 1; /* only `body`'s first byte */
    memset(pi, 0, sizeof(pi));
    pi[0].p = &bad;
    fp_cache_cfg_default(&cfg);
    cfg.size_exp = 6;
    cfg.line_exp = 2;
    assert_null(fp_cache_new(&cfg, pi, 1, collect, NULL, &e));
    assert_non_null(strstr(e.msg, "body"));
    bad.state_zero = sizeof(void *); /* enough */
    fp_cache_t *c = fp_cache_new(&cfg, pi, 1, collect, NULL, &e);
    assert_non_null(c);
    fp_cache_free(c);
}

static void test_cfg_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "cache;s=3",  "cache;s=99",     "cache;l=11", "cache;a=0",     "cache;i=x",     "cache;S=1",
        "cache;size", "cache;fe=maybe", "cache;fs=0", "cache;bogus=1", "cache;s=4;l=5",
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
        cmocka_unit_test(test_state_zero),
        cmocka_unit_test(test_hook_tables),
        cmocka_unit_test(test_hook_done),
        cmocka_unit_test(test_payload_hooks),
        cmocka_unit_test(test_lend),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_body_pointer_rule),
        cmocka_unit_test(test_cfg_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
