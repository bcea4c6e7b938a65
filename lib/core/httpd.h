/*
 * httpd.h - a tiny HTTP/1.1 server for scrape endpoints (Prometheus text on
 * GET /metrics).  One thread, one connection at a time, bounded reads with a
 * timeout, Connection: close: a scrape every few seconds needs nothing more,
 * and nothing a client sends can make it allocate or block for long.
 */
#ifndef FK_HTTPD_H
#define FK_HTTPD_H

#include "buf.h"
#include "log.h"

/* Fill `b` with the body for `path` (without the query); return the HTTP
 * status (200, 404, 500 or 503, with any body).  Called on the server thread. */
typedef int (*fk_httpd_fn)(void *arg, const char *path, fk_buf_t *b, const char **ctype);

typedef struct fk_httpd_st fk_httpd_t;

/*
 * Listen on `addr` ("HOST:PORT", ":PORT", "[V6]:PORT" or "PORT") and serve
 * requests with `fn` on a new thread.  NULL with a message on failure.
 */
fk_httpd_t *fk_httpd_start(const char *addr, fk_httpd_fn fn, void *arg, fk_err_t *e);

/* The port actually bound (useful with port 0). */
int fk_httpd_port(const fk_httpd_t *h);

/* Stop the thread and close the socket. */
void fk_httpd_stop(fk_httpd_t *h);

#endif /* FK_HTTPD_H */
