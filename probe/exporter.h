/*
 * exporter.h - the output thread: flows from the workers' rings to the outputs.
 *
 * Each worker (one per input) hands finished flows to the exporter through its
 * own single-producer ring (-Q entries); one output thread drains the rings
 * round-robin, applies the -f flows-per-second limit, and calls every
 * output's write(), plus tick() about every 100 ms so outputs can flush on
 * time.  A full ring makes the worker wait (nothing is dropped).
 */
#ifndef FP_EXPORTER_H
#define FP_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "output/output.h"
#include "plugin.h"

typedef struct fp_outinst_st {
    const fp_output_ops_t *ops;
    void *ctx;
    const char *arg; /* the -o argument, for messages */
    uint64_t errors; /* failed writes (atomic: written by the output thread) */
} fp_outinst_t;

typedef struct fp_exporter_stats_st {
    uint64_t flows;      /* flows handed to the outputs */
    uint64_t full_waits; /* times a worker found its ring full and waited */
    double cpu_s;        /* CPU seconds the output thread used (encoding, writing) */
} fp_exporter_stats_t;

typedef struct fp_exporter_st fp_exporter_t;

/*
 * Start the output thread for `nworkers` producers, with rings of `queue`
 * entries (rounded up: fp_exporter_ring_entries) and at most `fps` flows per
 * second (0 = unlimited).  `plugins` are those whose slabs the flows carry:
 * the thread fetches each queued flow's slabs and record lines a few flows
 * before the outputs read them.  `outs` and `plugins` must outlive it.  NULL
 * with a message on failure.
 */
fp_exporter_t *fp_exporter_new(fp_outinst_t *outs, size_t nouts, size_t nworkers, size_t queue,
                               uint64_t fps, const fp_plugin_inst_t *plugins, size_t nplugins,
                               fk_err_t *e);

/*
 * Worker `w`: hand one finished flow to the output thread (waits while the
 * ring is full).  The record is lent, not copied: it must stay as it is
 * until it comes back.  Returns a record lent earlier that the output thread
 * is done with, or NULL -- at most as many are out at once as the ring
 * holds (a cache's fp_export_fn with cfg.lend set to that).
 */
const fp_flow_t *fp_exporter_put(fp_exporter_t *x, unsigned w, const fp_flow_t *flow);

/*
 * Worker `w`: the record the next fp_exporter_put() will return, when that
 * is known already (NULL otherwise) -- to prefetch only.
 */
const fp_flow_t *fp_exporter_peek(const fp_exporter_t *x, unsigned w);

/* The flows a ring of `queue` entries holds (fp_exporter_new rounds it up). */
size_t fp_exporter_ring_entries(size_t queue);

/* Worker `w` will put no more flows. */
void fp_exporter_done(fp_exporter_t *x, unsigned w);

/* Wait until every worker is done and every flow is written; stop the thread. */
void fp_exporter_join(fp_exporter_t *x, fp_exporter_stats_t *st);

/* Pin the output thread to `cpu` (< 0: leave it). */
void fp_exporter_pin(fp_exporter_t *x, int cpu);

/* Ask the output thread to reopen its output files (SIGHUP); any thread. */
void fp_exporter_reopen(fp_exporter_t *x);

/* Counters so far, for telemetry; any thread. */
void fp_exporter_snapshot(fp_exporter_t *x, fp_exporter_stats_t *st);

void fp_exporter_free(fp_exporter_t *x);

#endif /* FP_EXPORTER_H */
