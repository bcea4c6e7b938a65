/*
 * http.c - the endpoints of http.h on lib/core/httpd (one thread, one
 * connection at a time, bounded requests).
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/core/httpd.h"
#include "decode/persist.h"

struct fc_http_st {
    fc_http_cfg_t c;
    fk_httpd_t *srv;
};

static int serve(void *arg, const char *path, fk_buf_t *b, const char **ctype)
{
    fc_http_t *h = arg;

    if (strcmp(path, "/metrics") == 0) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        if (h->c.metrics)
            fc_metrics_write(h->c.metrics, b);
        if (h->c.state) {
            pthread_mutex_lock(h->c.state_mu);
            fc_metrics_write_templates(h->c.state, b);
            pthread_mutex_unlock(h->c.state_mu);
        }
        if (h->c.transport) {
            fc_tstats_t st;
            fc_transport_stats(h->c.transport, &st);
            fc_metrics_write_transport(h->c.transport->ops->name, &st, b);
        }
        return b->error ? 500 : 200;
    }
    if (strcmp(path, "/__health") == 0) {
        /* GoFlow2: OK while the collector is collecting */
        if (h->c.metrics && fc_metrics_ready(h->c.metrics)) {
            fk_buf_puts(b, "OK\n");
            return 200;
        }
        fk_buf_puts(b, "Not OK\n");
        return 503;
    }
    if (h->c.templates_path && h->c.templates_path[0] && strcmp(path, h->c.templates_path) == 0) {
        if (!h->c.state) {
            fk_buf_puts(b, "Not Found\n");
            return 404;
        }
        *ctype = "application/json";
        pthread_mutex_lock(h->c.state_mu);
        long n = fc_persist_json(h->c.state, b);
        pthread_mutex_unlock(h->c.state_mu);
        if (n < 0) {
            b->len = 0;
            *ctype = "text/plain; charset=utf-8";
            fk_buf_puts(b, "Internal Server Error\n");
            return 500;
        }
        return 200;
    }
    fk_buf_puts(b, "404 page not found\n"); /* Go's http.NotFound body */
    return 404;
}

fc_http_t *fc_http_start(const fc_http_cfg_t *c, fk_err_t *e)
{
    fc_http_t *h = calloc(1, sizeof(*h));
    if (!h) {
        fk_errf(e, "out of memory");
        return NULL;
    }
    h->c = *c;
    fk_err_t he;
    h->srv = fk_httpd_start(c->addr, serve, h, &he);
    if (!h->srv) {
        fk_errf(e, "-addr %s: %s", c->addr, he.msg);
        free(h);
        return NULL;
    }
    return h;
}

int fc_http_port(const fc_http_t *h)
{
    return fk_httpd_port(h->srv);
}

void fc_http_stop(fc_http_t *h)
{
    if (!h)
        return;
    fk_httpd_stop(h->srv);
    free(h);
}
