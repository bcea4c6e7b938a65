/*
 * http.h - flowcollector's HTTP endpoints on -addr (goflow2-spec.md 4), served
 * by lib/core/httpd:
 *
 *   GET /metrics           Prometheus text: GoFlow2's families and labels,
 *                          flowkit's own, process_* (collector/metrics.h)
 *   GET /__health          200 "OK\n" while collecting, 503 "Not OK\n" otherwise
 *   GET <-templates.path>  the templates as GoFlow2's JSON (application/json,
 *                          two-space indent; decode/persist.h for the shape)
 */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include <pthread.h>

#include "../lib/core/log.h"
#include "decode/decode.h"
#include "metrics.h"
#include "transport/transport.h"

typedef struct fc_http_cfg_st {
    const char *addr;           /* -addr: ":8080", "127.0.0.1:0", ... */
    const char *templates_path; /* -templates.path: "/templates" */
    fc_metrics_t *metrics;      /* not owned */
    fc_state_t *state;          /* not owned, read under state_mu */
    pthread_mutex_t *state_mu;
    fc_transport_t *transport; /* not owned; stats read while serving */
} fc_http_cfg_t;

typedef struct fc_http_st fc_http_t;

/* Start serving on a thread of its own.  NULL with a message (cannot bind). */
fc_http_t *fc_http_start(const fc_http_cfg_t *c, fk_err_t *e);

/* The port bound (for -addr with port 0). */
int fc_http_port(const fc_http_t *h);

/* Stop the thread and close the socket; NULL is a no-op. */
void fc_http_stop(fc_http_t *h);

#endif /* FC_HTTP_H */
