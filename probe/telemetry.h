/*
 * telemetry.h - flowprobe's run-time counters, as ipfixprobe exposes them
 * through appFs: per input and worker (packets, bytes, parse failures by
 * reason, kernel drops, cache hits/misses/ends), per output (flows, errors),
 * rendered as text (SIGUSR1, -t DIR) or Prometheus exposition format
 * (--metrics ADDR, GET /metrics).
 */
#ifndef FP_TELEMETRY_H
#define FP_TELEMETRY_H

#include <stddef.h>

#include "../lib/core/buf.h"
#include "exporter.h"
#include "worker.h"

typedef struct fp_telemetry_st {
    fp_worker_t *workers;
    size_t nworkers;
    fp_exporter_t *exporter;
    const fp_outinst_t *outs;
    size_t nouts;
    double started; /* CLOCK_MONOTONIC seconds at start */
} fp_telemetry_t;

/* Human-readable, one block per input plus the output thread. */
void fp_telemetry_text(fk_buf_t *b, const fp_telemetry_t *t);

/* Prometheus text exposition format 0.0.4. */
void fp_telemetry_prom(fk_buf_t *b, const fp_telemetry_t *t);

/* Write DIR/stats (text) and DIR/metrics (Prometheus), each replaced
 * atomically.  0, or -1 with a message. */
int fp_telemetry_write_dir(const char *dir, const fp_telemetry_t *t, fk_err_t *e);

#endif /* FP_TELEMETRY_H */
