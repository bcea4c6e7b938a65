/*
 * input.h - packet sources (ipfixprobe's "input" plugins, -i).
 *
 * An input yields captured frames in batches (so the worker can prefetch
 * across packets).  Frames stay valid until the next call to next() or
 * close().  An input is used by one worker thread.
 */
#ifndef FP_INPUT_H
#define FP_INPUT_H

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

typedef struct fp_input_stats_st {
    uint64_t filtered; /* frames rejected by the BPF filter */
    uint64_t damaged;  /* records that could not be read (truncated file, bogus length) */
} fp_input_stats_t;

typedef struct fp_input_ops_st {
    const char *name;            /* the -i NAME */
    const char *summary;         /* one line for -h input */
    const fk_optspec_t *options; /* accepted keys */
    /* Open from parsed options.  0, or -1 with a message. */
    int (*open)(void **ctx, const fk_opts_t *o, fk_err_t *e);
    /* Link type of the frames (pcap LINKTYPE_*). */
    int (*link)(void *ctx);
    /* Fill up to `max` frames: returns how many (0 = end of input), or -1
     * on a read error with a message in e (the input is then finished). */
    int (*next)(void *ctx, fp_frame_t *frames, unsigned max, fk_err_t *e);
    /* Bytes consumed and total, for progress (total 0 = unknown). */
    void (*progress)(void *ctx, uint64_t *done, uint64_t *total);
    void (*stats)(void *ctx, fp_input_stats_t *st);
    void (*close)(void *ctx);
} fp_input_ops_t;

/* Compiled-in inputs, NULL-terminated (probe/input/registry.c). */
extern const fp_input_ops_t *const fp_inputs[];
const fp_input_ops_t *fp_input_find(const char *name);

#endif /* FP_INPUT_H */
