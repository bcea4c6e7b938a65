/*
 * plugintest.h - what the plugin unit tests share: an export callback that
 * keeps each exported flow and its plugin record, and accessors that read a
 * record through the plugin's field table (so tests check what every output
 * will print).  Header-only; include after <cmocka.h> and define MAXF (and
 * MAXREC) first.
 */
#ifndef FK_TEST_PLUGINTEST_H
#define FK_TEST_PLUGINTEST_H

#include <string.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#ifndef MAXF
#define MAXF 16
#endif
/* Bytes kept of each exported record (define larger before including for big records). */
#ifndef MAXREC
#define MAXREC 1024
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

#endif /* FK_TEST_PLUGINTEST_H */
