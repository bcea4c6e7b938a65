/*
 * metrics.h - flowcollector's Prometheus metrics: GoFlow2's families with
 * GoFlow2's names and labels (goflow2-spec.md section 6), so its dashboards
 * keep working, plus flowkit's own (flowkit_collector_*: sequence-gap
 * losses, kernel drops, queue drops, decode error classes, transport delivery
 * results, TCP sessions, template persistence).
 *
 * The pipeline reports each datagram once (fc_metrics_datagram) with what the
 * decoder counted; counters live in small per-exporter entries (no strings on
 * the hot path: label text is made only when /metrics is scraped).  Summaries
 * (GoFlow2's traffic size, decoding time, flow delay) are exported with their
 * _sum and _count only, no quantiles: rate(_sum)/rate(_count) works the same,
 * and quantiles would need a streaming estimator per series.
 *
 * Threading: every function may be called from any thread (one mutex).
 */
#ifndef FC_METRICS_H
#define FC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/core/buf.h"
#include "decode/decode.h"
#include "decode/sflow.h"
#include "transport/transport.h"

struct fc_pstats_st;

typedef struct fc_metrics_st fc_metrics_t;

/* Exporters tracked one by one; beyond, they share the remote_ip/router "overflow". */
#define FC_METRICS_MAX_EXPORTERS 10000

fc_metrics_t *fc_metrics_new(void);
void fc_metrics_free(fc_metrics_t *m);

/*
 * Register a listener's labels: `type` (GoFlow2's scheme name: netflow,
 * sflow, ...), the local address and port it is bound to.  Returns the index
 * to pass with its datagrams, or -1 (too many listeners: then its traffic is
 * not broken down).
 */
int fc_metrics_listener(fc_metrics_t *m, const char *type, const char *local_ip,
                        unsigned local_port);

/* What the pipeline knows about one decoded datagram. */
typedef struct fc_mdgram_st {
    int lidx;             /* fc_metrics_listener index, -1 none */
    const fc_addr_t *src; /* exporter (UDP/TCP source) */
    size_t bytes;         /* datagram (or IPFIX message) size */
    uint64_t decode_ns;   /* time spent decoding */
    const char *name;     /* decoder name label: the listener type */
    enum { FC_MD_NONE, FC_MD_NETFLOW, FC_MD_SFLOW } kind;
    uint8_t version;            /* NetFlow: 5, 9 or 10 */
    const fc_dstats_t *ds;      /* NetFlow counters of this datagram */
    uint32_t v5_count;          /* NetFlow v5: the header's record count */
    const fc_sflow_stats_t *ss; /* sFlow counters of this datagram */
    const fc_addr_t *agent;     /* sFlow agent address (len 0: unknown) */
    bool error;                 /* the decoder reported a problem */
    double delay_sum;           /* NetFlow: sum over records of received - flow end, s */
    uint64_t delay_n;           /* records in delay_sum */
} fc_mdgram_t;

void fc_metrics_datagram(fc_metrics_t *m, const fc_mdgram_t *d);

/* A datagram dropped before decoding (queue full). */
void fc_metrics_dropped(fc_metrics_t *m, int lidx, const fc_addr_t *src, size_t bytes);

/* The pipeline's totals (copied; refreshed by the pipeline about every 100 ms). */
void fc_metrics_set_pstats(fc_metrics_t *m, const struct fc_pstats_st *st);

/* GoFlow2's /__health: true while collecting. */
void fc_metrics_set_ready(fc_metrics_t *m, bool ready);
bool fc_metrics_ready(fc_metrics_t *m);

/* Append every family in Prometheus text format 0.0.4 (counters of this
 * object, the pipeline totals, process_* from /proc). */
void fc_metrics_write(fc_metrics_t *m, fk_buf_t *b);

/* Template families (GoFlow2's templates counter and timestamp gauges) of
 * state `s`; the caller holds the state's lock. */
void fc_metrics_write_templates(const fc_state_t *s, fk_buf_t *b);

/* flowkit's transport families for transport `name` with stats `st`. */
void fc_metrics_write_transport(const char *name, const fc_tstats_t *st, fk_buf_t *b);

#endif /* FC_METRICS_H */
