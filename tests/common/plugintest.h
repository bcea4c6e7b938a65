/*
 * plugintest.h - what the plugin unit tests share: an export callback that
 * keeps each exported flow and its plugin record, and accessors that read a
 * record through the plugin's field table (so tests check what every output
 * will print).  Header-only; include after <cmocka.h> and define MAXF (flows
 * kept) and, for records over 1024 bytes, MAXREC first.
 */
#ifndef FK_TEST_PLUGINTEST_H
#define FK_TEST_PLUGINTEST_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "tests/common/frame4.h"
#include "probe/plugin.h"

#ifndef MAXF
#define MAXF 16
#endif
#ifndef MAXREC
#define MAXREC 1024 /* bytes of one kept record */
#endif

/* The plugin under test, and what the cache exported. */
static fp_plugin_inst_t g_pi;
static size_t g_nout;
static unsigned g_nrec[MAXF];
static uint8_t g_rec[MAXF][MAXREC];
static fp_flow_t g_flow[MAXF];

static const fp_flow_t *collect(void *arg, fp_flow_t *flow)
{
    (void)arg;
    assert_true(g_nout < MAXF);
    const void *st = fp_plugin_state(&g_pi, flow);
    g_nrec[g_nout] = g_pi.p->records(g_pi.ctx, flow, st);
    assert_true(g_pi.p->record_size <= sizeof(g_rec[0]));
    memset(g_rec[g_nout], 0, sizeof(g_rec[0]));
    if (g_nrec[g_nout])
        memcpy(g_rec[g_nout], g_pi.p->record(g_pi.ctx, flow, st, 0), g_pi.p->record_size);
    g_flow[g_nout] = *flow;
    g_nout++;
    return NULL;
}

static const fk_field_t *field(const char *name)
{
    for (size_t i = 0; i < g_pi.p->nfields; i++)
        if (strcmp(g_pi.p->fields[i].name, name) == 0)
            return &g_pi.p->fields[i];
    fail_msg("no field %s", name);
    return NULL;
}

static uint64_t u64(size_t flow, const char *name)
{
    return fk_field_u64(field(name), g_rec[flow], 0);
}

static const char *csv(size_t flow, const char *name)
{
    static char out[4 * MAXREC + 64];
    fk_buf_t b;

    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    fk_field_csv(&b, field(name), g_rec[flow]);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.data, b.len);
    out[b.len] = 0;
    fk_buf_free(&b);
    return out;
}

/* Every field of flow k's record as the CSV output prints them, '|' after
 * each: what a reused-record test compares with a fresh cache's. */
static inline const char *pt_all_fields(size_t k)
{
    static char out[4 * MAXREC];
    size_t n = 0;

    out[0] = 0;
    for (size_t f = 0; f < g_pi.p->nfields; f++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s|", csv(k, g_pi.p->fields[f].name));
    assert_true(n < sizeof(out));
    return out;
}

/*
 * The check of the *_reused_record tests: flow k, the last exported, with
 * `nrec` records, prints field by field as in a fresh cache.  In the fresh
 * run (dirty = 0) its text is kept in `fresh` (4 * MAXREC bytes); in the
 * run over records an earlier flow filled, it must equal that text.
 */
static inline void pt_same_as_fresh(int dirty, char *fresh, size_t k, unsigned nrec)
{
    assert_int_equal(g_nout, k + 1);
    assert_int_equal(g_nrec[k], nrec);
    const char *now = g_nrec[k] ? pt_all_fields(k) : "";
    if (!dirty)
        strcpy(fresh, now);
    else
        assert_string_equal(now, fresh);
}

/*
 * A raw IPv4 frame between 10.0.0.1:cport (the client) and 10.0.0.2:sport,
 * client -> server when `fwd`: TCP (proto 6; a 20-byte header with
 * `tcp_flags` and a 0xff00 window) or UDP (17; length field `ulen`, 0 = the
 * true one) carrying `pay`.  It goes through the real parser as captured to
 * `cap` bytes (0 = all), from a heap block of exactly that size so that ASan
 * sees any read past the capture, and to the cache when it has a flow key.
 * Returns whether it had one.
 */
static inline bool pt_put4(fp_cache_t *c, int fwd, uint16_t cport, uint16_t sport, uint8_t proto,
                           uint8_t tcp_flags, const void *pay, size_t n, size_t cap, unsigned ulen,
                           uint64_t t)
{
    static uint8_t f[PT_FRAME4_MAX];
    size_t total = fwd ? pt_frame4(f, 1, cport, 2, sport, proto, tcp_flags, 0, pay, n, ulen)
                       : pt_frame4(f, 2, sport, 1, cport, proto, tcp_flags, 0, pay, n, ulen);
    return pt_send4(c, f, total, cap, t);
}

/* A string field as stored in the record (what IPFIX and JSON carry): NUL
 * terminated within its capacity. */
static inline const char *str(size_t flow, const char *name)
{
    const fk_field_t *f = field(name);

    assert_int_equal(f->type, FK_T_STR);
    assert_non_null(memchr(g_rec[flow] + f->off, 0, f->cap));
    return (const char *)(g_rec[flow] + f->off);
}

/* A field's CSV text without its quotes. */
static inline const char *csv_text(size_t flow, const char *name)
{
    static char out[4 * MAXREC + 64];
    const char *s = csv(flow, name);
    size_t n = strlen(s);
    assert_true(n >= 2 && s[0] == '"' && s[n - 1] == '"' && n - 2 < sizeof(out));
    memcpy(out, s + 1, n - 2); /* strip the CSV quotes */
    out[n - 2] = 0;
    return out;
}

/*
 * Enable the plugin named by `arg` ("NAME" or "NAME;key=value;...", whose
 * options go to its init) as g_pi and make a cache with `cfg` (NULL: the
 * default) that exports to `cb` (usually collect).  The cache's records
 * start as garbage (0xff), as an earlier flow's leftovers would be: a plugin
 * whose partial state_zero lets stale state show fails its tests.
 */
static inline fp_cache_t *pt_start_cfg(const char *arg, fp_export_fn cb, const fp_cache_cfg_t *cfg)
{
    fp_cache_cfg_t def;
    fk_opts_t o;
    fk_err_t e;

    memset(&g_pi, 0, sizeof(g_pi));
    assert_int_equal(fk_opts_parse(arg, &o, &e), 0);
    g_pi.p = fp_plugin_find(o.name);
    assert_non_null(g_pi.p);
    assert_int_equal(g_pi.p->abi, FP_PLUGIN_ABI);
    if (g_pi.p->init)
        assert_int_equal(g_pi.p->init(&g_pi.ctx, &o, &e), 0);
    fk_opts_free(&o);
    g_nout = 0;
    if (!cfg) {
        fp_cache_cfg_default(&def);
        cfg = &def;
    }
    fp_cache_t *c = fp_cache_new(cfg, &g_pi, 1, cb, NULL, &e);
    assert_non_null(c);
    fp_cache_poison(c, 0xff);
    return c;
}

static inline fp_cache_t *pt_start(const char *arg, fp_export_fn cb)
{
    return pt_start_cfg(arg, cb, NULL);
}

/* Export what the cache still holds, free it, release the plugin's context. */
static inline void pt_finish(fp_cache_t *c)
{
    fp_cache_flush(c);
    fp_cache_free(c);
    if (g_pi.p->fini)
        g_pi.p->fini(g_pi.ctx);
    g_pi.ctx = NULL;
}

#endif /* FK_TEST_PLUGINTEST_H */
