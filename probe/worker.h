/*
 * worker.h - one input's packet loop: read, parse, account, cache.
 *
 * A worker owns its input and its flow cache; nothing on this path takes a
 * lock or allocates.  Finished flows leave through the cache's export
 * callback.
 */
#ifndef FP_WORKER_H
#define FP_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/packet/packet.h"
#include "cache/cache.h"
#include "input/input.h"

/* Frames read and parsed per step of the loop. */
#define FP_BATCH 32

typedef struct fp_parse_stats_st {
    uint64_t frames;      /* frames read from the input (after any BPF filter) */
    uint64_t frame_bytes; /* their bytes on the wire */
    uint64_t parsed;      /* frames with a flow key, given to the cache */
    uint64_t parsed_bytes; /* their IP-layer bytes */
    uint64_t not_parsed;  /* frames without a flow key */
    /* frames by the layer and reason parsing stopped; [L4][...] includes
     * packets that still had a key (e.g. a UDP length that lies) */
    uint64_t reason[FK_LAYER_COUNT_][FK_PERR_COUNT_];
} fp_parse_stats_t;

typedef struct fp_worker_st {
    const fp_input_ops_t *in;
    void *in_ctx;
    const char *label;     /* the -i argument, for messages */
    fp_cache_t *cache;
    uint64_t max_packets;  /* -c: stop after this many frames (0 = no limit) */
    bool progress;         /* draw a progress line on stderr */
    volatile sig_atomic_t *stop; /* set asynchronously to end the loop early */
    fp_parse_stats_t st;
} fp_worker_t;

/*
 * Run until the input ends, max_packets is reached or *stop is set; then
 * export every cached flow.  Returns 0, or -1 with a message on an input error
 * (flows are still exported).
 */
int fp_worker_run(fp_worker_t *w, fk_err_t *e);

/* Account one frame (parse + cache); exposed for tests and the fuzzer. */
void fp_worker_packet(fp_worker_t *w, int link, const fp_frame_t *fr);

#endif /* FP_WORKER_H */
