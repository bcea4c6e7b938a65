/*
 * worker.h - one input's packet loop: read, parse, account, cache.
 *
 * A worker owns its input and its flow cache; nothing on this path takes a
 * lock or allocates.  Finished flows leave through the cache's export
 * callback.
 */
#ifndef FP_WORKER_H
#define FP_WORKER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/packet/packet.h"
#include "cache/cache.h"
#include "input/input.h"

/* Frames read and parsed per step of the loop (default of -b). */
#define FP_BATCH 32

typedef struct fp_parse_stats_st {
    uint64_t frames;       /* frames read from the input (after any BPF filter) */
    uint64_t frame_bytes;  /* their bytes on the wire */
    uint64_t parsed;       /* frames with a flow key, given to the cache */
    uint64_t parsed_bytes; /* their IP-layer bytes */
    uint64_t not_parsed;   /* frames without a flow key */
    /* frames by the layer and reason parsing stopped; [L4][...] includes
     * packets that still had a key (e.g. a UDP length that lies) */
    uint64_t reason[FK_LAYER_COUNT_][FK_PERR_COUNT_];
} fp_parse_stats_t;

/* What the telemetry sees of a worker: a copy taken every ~100 ms. */
typedef struct fp_worker_snap_st {
    fp_parse_stats_t parse;
    fp_cache_stats_t cache;
    fp_input_stats_t input;
    bool running; /* the worker is still reading its input */
    double cpu_s; /* CPU seconds the worker thread used */
} fp_worker_snap_t;

typedef struct fp_worker_st {
    const fp_input_ops_t *in;
    void *in_ctx;
    const char *label; /* the -i argument, for messages */
    unsigned index;    /* position among the workers (its exporter ring) */
    fp_cache_t *cache;
    uint64_t max_packets;        /* -c: stop after this many frames (0 = no limit) */
    unsigned batch;              /* -b: frames per step (1..FP_MAX_IBLOCK; 0 = FP_BATCH) */
    bool progress;               /* draw a progress line on stderr */
    volatile sig_atomic_t *stop; /* set asynchronously to end the loop early */
    fp_parse_stats_t st;

    /* Published for other threads (telemetry) under `lock`. */
    pthread_mutex_t lock;
    fp_worker_snap_t snap;
} fp_worker_t;

/* Copy the worker's latest published counters (any thread). */
void fp_worker_snapshot(fp_worker_t *w, fp_worker_snap_t *out);

/*
 * Run until the input ends, max_packets is reached or *stop is set; then
 * export every cached flow.  Live inputs that go quiet have their flows
 * expired by the wall clock.  `lock` must be initialised by the caller.  Returns 0, or -1 with a
 * message on an input error (flows are still exported).
 */
int fp_worker_run(fp_worker_t *w, fk_err_t *e);

/* Account one frame (parse + cache); exposed for tests and the fuzzer. */
void fp_worker_packet(fp_worker_t *w, int link, const fp_frame_t *fr);

#endif /* FP_WORKER_H */
