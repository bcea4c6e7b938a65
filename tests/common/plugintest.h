/*
 * plugintest.h - what the plugin unit tests share: an export callback that
 * keeps each exported flow and its plugin record, and accessors that read a
 * record through the plugin's field table (so tests check what every output
 * will print).  Header-only; include after <cmocka.h> and define MAXF (flows
 * kept) and, for records over 1024 bytes, MAXREC first.
 */
#ifndef FK_TEST_PLUGINTEST_H
#define FK_TEST_PLUGINTEST_H

#include <string.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "probe/cache/cache.h"
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

static void collect(void *arg, fp_flow_t *flow)
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
    static char out[1024];
    fk_buf_t b;

    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    fk_field_csv(&b, field(name), g_rec[flow]);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.data, b.len);
    out[b.len] = 0;
    fk_buf_free(&b);
    return out;
}

/*
 * Enable the plugin named by `arg` ("NAME" or "NAME;key=value;...", whose
 * options go to its init) as g_pi and make a default cache that exports to
 * `cb` (usually collect).
 */
static inline fp_cache_t *pt_start(const char *arg, fp_export_fn cb)
{
    fp_cache_cfg_t cfg;
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
    fp_cache_cfg_default(&cfg);
    fp_cache_t *c = fp_cache_new(&cfg, &g_pi, 1, cb, NULL, &e);
    assert_non_null(c);
    return c;
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
