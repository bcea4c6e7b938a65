/*
 * transport.h - where flowcollector's formatted records go: GoFlow2's
 * -transport (goflow2-spec.md section 1), "file" (transport/file.c) and
 * "kafka" (transport/kafka.c).
 *
 * The pipeline's workers format records back to back into a batch buffer and
 * hand the whole batch over in one call.  A stream transport (file) writes the
 * bytes as they are, separators included.  A message transport (kafka) needs
 * the record boundaries: the worker then also fills one fc_tmsg_t per record
 * (offset, length, optional key), and the transport sends each record as one
 * message, as GoFlow2's Send(key, data) does per FlowMessage.
 *
 * Threading: fc_transport_send may be called by several workers at once; each
 * transport serialises what it must.  fc_transport_reopen, _stats and _tick
 * may run concurrently with sends.  fc_transport_close runs after the last
 * send, once.
 *
 * Accounting (DESIGN.md invariant 2 applied to records): every record handed
 * to a transport ends up in exactly one of delivered, failed or queue_full
 * once fc_transport_close has returned; before that, the rest are `queued`.
 */
#ifndef FC_TRANSPORT_H
#define FC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/log.h"

/* One record inside a batch buffer. */
typedef struct fc_tmsg_st {
    uint32_t off;   /* first byte of the record in the batch */
    uint32_t len;   /* bytes of the record (no separator) */
    uint8_t key[4]; /* message key (formatter.key hash, big-endian), keylen bytes used */
    uint8_t keylen; /* 0: no key */
} fc_tmsg_t;

/* Counters of one transport (monotonic except `queued`). */
typedef struct fc_tstats_st {
    uint64_t messages;   /* records handed to the transport */
    uint64_t bytes;      /* their bytes */
    uint64_t delivered;  /* written (file) or acknowledged by a broker (kafka) */
    uint64_t failed;     /* write errors (file); delivery failures, timeouts and
                          * messages still unsent at exit (kafka) */
    uint64_t queue_full; /* refused because the local queue was at its bound (kafka) */
    uint64_t queued;     /* handed over but not yet delivered or failed (gauge) */
    uint64_t retries;    /* kafka: produce requests retried (from librdkafka statistics) */
} fc_tstats_t;

typedef struct fc_transport_st fc_transport_t;

/* What a transport implements; one const instance per kind (nginx-style module table). */
typedef struct fc_transport_ops_st {
    const char *name; /* "file", "kafka": -transport value and metric label */
    bool messages;    /* true: send() needs one fc_tmsg_t per record */
    /* Write a batch; m/n describe the records when `messages` (else m is NULL).
     * 0, or -1 when something was lost (counted in the stats already). */
    int (*send)(fc_transport_t *t, const uint8_t *data, size_t len, const fc_tmsg_t *m, size_t n);
    void (*reopen)(fc_transport_t *t); /* SIGHUP (NULL: nothing to do) */
    void (*tick)(fc_transport_t *t,
                 uint64_t now); /* about every 100 ms, monotonic ns (may be NULL) */
    void (*stats)(fc_transport_t *t, fc_tstats_t *st);
    /* Flush what is queued, fill *final (when not NULL) with the stats after
     * the flush, then free everything. */
    void (*close)(fc_transport_t *t, fc_tstats_t *final);
} fc_transport_ops_t;

/* Every transport starts with this header. */
struct fc_transport_st {
    const fc_transport_ops_t *ops;
};

/* -transport file: append to `path`, or stdout when path is NULL or "".
 * NULL with a message when the file cannot be opened. */
fc_transport_t *fc_transport_file_new(const char *path, fk_err_t *e);

/* -transport kafka: see transport/kafka.h. */

static inline int fc_transport_send(fc_transport_t *t, const uint8_t *data, size_t len,
                                    const fc_tmsg_t *m, size_t n)
{
    return t->ops->send(t, data, len, m, n);
}

static inline bool fc_transport_wants_messages(const fc_transport_t *t)
{
    return t->ops->messages;
}

static inline void fc_transport_reopen(fc_transport_t *t)
{
    if (t->ops->reopen)
        t->ops->reopen(t);
}

static inline void fc_transport_tick(fc_transport_t *t, uint64_t now_mono_ns)
{
    if (t->ops->tick)
        t->ops->tick(t, now_mono_ns);
}

static inline void fc_transport_stats(fc_transport_t *t, fc_tstats_t *st)
{
    t->ops->stats(t, st);
}

/* Flush and free; NULL is a no-op.  *final (may be NULL) gets the stats after the flush. */
static inline void fc_transport_close(fc_transport_t *t, fc_tstats_t *final)
{
    if (t)
        t->ops->close(t, final);
}

#endif /* FC_TRANSPORT_H */
