/*
 * pipeline.h - flowcollector's receive -> decode -> produce -> format ->
 * transport path.
 *
 * Per listener: `count` receiver threads (one SO_REUSEPORT socket each, reading
 * batches with recvmmsg) put datagrams on the listener's bounded queue;
 * `workers` threads take them, decode under the shared decoder-state lock
 * (templates and sampling rates are shared by every socket and worker, as one
 * exporter may hit any of them), format the records outside the lock into a
 * per-worker buffer, and hand full buffers to the transport.  A full queue
 * drops the datagram and counts it (blocking=false, GoFlow2's default) or
 * makes the receiver wait (blocking=true).
 *
 * pcap:// listeners are read by the calling thread at full speed, decoding
 * inline, then the collector exits once every pcap listener is done and no
 * network listener exists.
 */
#ifndef FC_PIPELINE_H
#define FC_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <pthread.h>

#include "decode/decode.h"
#include "format/format.h"
#include "format/key.h"
#include "listen/listen.h"
#include "transport/transport.h"

struct fc_metrics_st;

typedef enum fc_produce { FC_PRODUCE_SAMPLE, FC_PRODUCE_RAW } fc_produce_t;
typedef enum fc_fmt { FC_FMT_JSON, FC_FMT_TEXT, FC_FMT_BIN } fc_fmt_t;

typedef struct fc_config_st {
    fc_listen_t *listen;
    size_t nlisten;
    fc_produce_t produce;
    fc_fmt_t format;
    fc_transport_t *transport; /* where records go (the caller opens and closes it) */
    const fc_key_t *key;       /* message key fields (NULL: no keys); used by message transports */
    fc_state_t *state;         /* decoder state shared with the caller (HTTP, persistence) ... */
    pthread_mutex_t *state_mu; /* ... under this lock; NULL state: the pipeline makes its own */
    struct fc_metrics_st *metrics; /* per-exporter counters for /metrics (NULL: none) */
    const char *persist_path;      /* -templates.json.path ("" or NULL: none) */
    uint64_t persist_ns;           /* -templates.json.interval (0: write on every change) */
    char *sep;                     /* -transport.file.sep (unescaped) */
    size_t seplen;
    uint64_t ttl_ns;        /* -templates.ttl */
    uint64_t sweep_ns;      /* -templates.sweep-interval */
    unsigned err_cnt;       /* -err.cnt */
    uint64_t err_int_ns;    /* -err.int */
    const fc_format_t *fmt; /* columns/renderers (NULL = GoFlow2 defaults) */
    bool sflow_decap; /* -sflow.decap: decode VXLAN/GRE/Geneve/IP-in-IP samples to the inner flow */
    struct {
        fc_addr_t addr;
        uint64_t rate;
    } overrides[64]; /* -sampling.override */
    size_t noverrides;
} fc_config_t;

/* Counters the pipeline keeps (summed over threads when read). */
typedef struct fc_pstats_st {
    uint64_t received;           /* datagrams received */
    uint64_t dropped;            /* datagrams dropped: queue full (non-blocking) */
    uint64_t kernel_drops;       /* datagrams the kernel dropped (socket receive buffer full) */
    uint64_t kernel_drops_final; /* the sockets' SO_MEMINFO drop counters at close */
    uint64_t unknown;            /* datagrams of no known protocol */
    uint64_t records;            /* records produced (handed to the transport) */
    uint64_t tcp_sessions;       /* IPFIX-over-TCP connections accepted */
    uint64_t tcp_errors;         /* TCP streams closed on a framing error */
    uint64_t persist_writes;     /* template snapshots written */
    uint64_t persist_errors;     /* ... and failed */
    uint64_t sflow_counter_samples;
    fc_dstats_t nf; /* NetFlow v5/v9/IPFIX decoder counters */
    fc_dstats_t sf; /* sFlow decoder counters (mapped into the same classes) */
} fc_pstats_t;

/*
 * Run until every pcap listener is read (when there are only pcap listeners)
 * or *stop is set; SIGHUP-style reopen when *reopen is set.  0, or -1 with a
 * message (cannot bind, cannot open the output).
 */
int fc_pipeline_run(const fc_config_t *cfg, volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *reopen, fc_pstats_t *st, fk_err_t *e);

#endif /* FC_PIPELINE_H */
