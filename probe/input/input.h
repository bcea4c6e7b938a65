/*
 * input.h - packet sources (ipfixprobe's "input" plugins, -i).
 *
 * An input yields captured frames in batches (so the worker can prefetch
 * across packets).  Frames stay valid until the next call to next() or
 * close().  An input is used by one worker thread.
 */
#ifndef FP_INPUT_H
#define FP_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/core/log.h"
#include "../../lib/core/opts.h"

typedef struct fp_frame_st {
    const uint8_t *data; /* captured bytes */
    uint32_t caplen;     /* bytes captured */
    uint32_t wirelen;    /* bytes on the wire */
    uint64_t ts_ns;      /* capture time, ns since the epoch */
} fp_frame_t;

/* Internal to inputs: the outcome of reading one frame. */
enum {
    FP_IN_EOF = 0,
    FP_IN_PACKET = 1,
    FP_IN_ERROR = -1,
};

/*
 * What next() returns when a live input saw nothing for about FP_IN_IDLE_MS:
 * the worker then checks for a stop request and expires flows by the wall
 * clock, so a quiet link still exports on time.
 */
#define FP_IN_IDLE    (-2)
#define FP_IN_IDLE_MS 100

/*
 * Sizes from the command line, as ipfixprobe's -B, -q and -b.  flowprobe reads
 * and caches in one thread per input, so there is no queue between the two:
 * -b is how many frames the worker takes per step, -B caps the bytes kept of a
 * live frame (snap length, ring frame size) and -q sizes a live input's kernel
 * buffer in blocks of -b frames of -B bytes.
 */
typedef struct fp_input_cfg_st {
    uint32_t pbuf;  /* -B: bytes kept of a live frame (default 1600) */
    uint32_t queue; /* -q: kernel buffer in blocks (default 64) */
    uint32_t block; /* -b: frames per block (default 32) */
} fp_input_cfg_t;

#define FP_DEFAULT_PBUF   1600
#define FP_DEFAULT_IQUEUE 64
#define FP_DEFAULT_IBLOCK 32
#define FP_MAX_IBLOCK     1024

typedef struct fp_input_stats_st {
    uint64_t filtered; /* frames rejected by the BPF filter (user space) */
    uint64_t damaged;  /* records that could not be read (truncated file, bogus length) */
    uint64_t received; /* live: frames the kernel handed over (PACKET_STATISTICS / pcap_stats) */
    uint64_t drops;    /* live: frames the kernel dropped because the ring/buffer was full */
    uint64_t if_drops; /* live: frames the interface/driver dropped (pcap ps_ifdrop) */
} fp_input_stats_t;

typedef struct fp_input_ops_st {
    const char *name;            /* the -i NAME */
    const char *summary;         /* one line for -h input */
    const fk_optspec_t *options; /* accepted keys */
    /* Open from parsed options and the global sizes.  0, or -1 with a message. */
    int (*open)(void **ctx, const fk_opts_t *o, const fp_input_cfg_t *cfg, fk_err_t *e);
    /* Link type of the frames (pcap LINKTYPE_*). */
    int (*link)(void *ctx);
    /* Fill up to `max` frames: returns how many (0 = end of input),
     * FP_IN_IDLE (live inputs: nothing arrived for a while; call again), or
     * -1 on a read error with a message in e (the input is then finished). */
    int (*next)(void *ctx, fp_frame_t *frames, unsigned max, fk_err_t *e);
    /* Bytes consumed and total, for progress (total 0 = unknown). */
    void (*progress)(void *ctx, uint64_t *done, uint64_t *total);
    /* Live inputs (may be NULL = not live): true when frames arrive from an
     * interface, so a stop request first drains what the kernel already
     * holds instead of dropping it. */
    bool (*live)(void *ctx);
    /* Counters so far; called by the worker thread that owns the input. */
    void (*stats)(void *ctx, fp_input_stats_t *st);
    void (*close)(void *ctx);
} fp_input_ops_t;

/* Compiled-in inputs, NULL-terminated (probe/input/registry.c). */
extern const fp_input_ops_t *const fp_inputs[];
const fp_input_ops_t *fp_input_find(const char *name);

#endif /* FP_INPUT_H */
