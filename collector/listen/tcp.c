/*
 * tcp.c - IPFIX over TCP: stream framing and a poll(2) loop serving every
 * connection of a listener on one thread (see tcp.h).
 *
 * One thread is enough: TCP holds a fast exporter back (flow control) instead
 * of dropping what the collector cannot keep up with, and decoding is the
 * pipeline's (the message callback); the loop only reads and frames.
 */
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/core/cursor.h"
#include "../../lib/ipfix/ipfix.h"
#include "../../lib/ipfix/lz4s.h"

#define READ_CHUNK 65536

/* ======================================================================== framing */

enum { MODE_DETECT, MODE_PLAIN, MODE_LZ4 };

struct fc_tcpframe_st {
    int mode;
    bool broken;
    char why[512];               /* the error that broke the stream, repeated on later feeds */
    uint8_t buf[FC_TCP_MSG_MAX]; /* an unfinished message (plain framing) */
    size_t have;                 /* bytes of it in buf */
    uint8_t head[4];             /* the first bytes, until the mode is known */
    size_t nhead;
    fk_lz4s_reader_t *lz; /* MODE_LZ4 */
};

fc_tcpframe_t *fc_tcpframe_new(void)
{
    fc_tcpframe_t *f = calloc(1, sizeof(*f));
    return f;
}

void fc_tcpframe_free(fc_tcpframe_t *f)
{
    if (!f)
        return;
    fk_lz4s_reader_free(f->lz);
    free(f);
}

size_t fc_tcpframe_pending(const fc_tcpframe_t *f)
{
    return f->have + f->nhead + (f->lz ? fk_lz4s_reader_pending(f->lz) : 0);
}

bool fc_tcpframe_lz4(const fc_tcpframe_t *f)
{
    return f->mode == MODE_LZ4;
}

static int broken(fc_tcpframe_t *f, fk_err_t *e, const char *msg)
{
    f->broken = true;
    snprintf(f->why, sizeof(f->why), "%s", msg);
    return fk_errf(e, "%s", f->why);
}

/*
 * The message header at p (at least 4 bytes): its length, or 0 when it is
 * not an IPFIX header (reason in msg).
 */
static size_t msg_len(const uint8_t *p, char *msg, size_t cap)
{
    uint16_t ver = fk_load_be16(p), len = fk_load_be16(p + 2);
    if (ver != FK_IPFIX_VERSION) {
        if (ver == 5 || ver == 9)
            snprintf(msg, cap,
                     "NetFlow v%u on TCP: it has no length field to frame a stream (only IPFIX, "
                     "RFC 7011 10.4)",
                     ver);
        else
            snprintf(msg, cap, "not an IPFIX message: version %u, expected 10", ver);
        return 0;
    }
    if (len < FK_IPFIX_HDR_LEN) {
        snprintf(msg, cap, "IPFIX message length %u is shorter than its 16-byte header", len);
        return 0;
    }
    return len;
}

/* Plain IPFIX framing over p[0..n). */
static int plain(fc_tcpframe_t *f, const uint8_t *p, size_t n, fc_tcpframe_fn fn, void *arg,
                 fk_err_t *e)
{
    char why[200];
    while (n) {
        if (f->have < 4) { /* complete the header first */
            size_t take = 4 - f->have < n ? 4 - f->have : n;
            if (f->have == 0 && n >= 4) {
                /* fast path: whole messages straight from the chunk, no copy */
                size_t len = msg_len(p, why, sizeof(why));
                if (!len)
                    return broken(f, e, why);
                if (len <= n) {
                    fn(arg, p, len);
                    p += len;
                    n -= len;
                    continue;
                }
            }
            memcpy(f->buf + f->have, p, take);
            f->have += take;
            p += take;
            n -= take;
            if (f->have < 4)
                return 0;
        }
        size_t len = msg_len(f->buf, why, sizeof(why));
        if (!len)
            return broken(f, e, why);
        size_t take = len - f->have < n ? len - f->have : n;
        memcpy(f->buf + f->have, p, take);
        f->have += take;
        p += take;
        n -= take;
        if (f->have == len) {
            fn(arg, f->buf, len);
            f->have = 0;
        }
    }
    return 0;
}

int fc_tcpframe_feed(fc_tcpframe_t *f, const uint8_t *p, size_t n, fc_tcpframe_fn fn, void *arg,
                     fk_err_t *e)
{
    if (f->broken)
        return fk_errf(e, "%s", f->why);
    if (f->mode == MODE_DETECT) {
        /* Decide on the first 4 bytes (ipfixcol2's order, lz4s.h). */
        uint8_t tmp[4];
        size_t take = 4 - f->nhead < n ? 4 - f->nhead : n;
        memcpy(f->head + f->nhead, p, take);
        f->nhead += take;
        memcpy(tmp, f->head, f->nhead);
        fk_lz4s_kind_t k = fk_lz4s_detect(tmp, f->nhead);
        if (k == FK_LZ4S_KIND_MORE && f->nhead < 4)
            return 0;
        size_t held = f->nhead;
        f->nhead = 0;
        if (k == FK_LZ4S_KIND_LZ4) {
            fk_err_t le;
            f->lz = fk_lz4s_reader_new(0, &le);
            if (!f->lz)
                return broken(f, e, le.msg);
            f->mode = MODE_LZ4;
        } else if (k == FK_LZ4S_KIND_TLS) {
            return broken(f, e, "a TLS handshake: IPFIX over TLS is not supported");
        } else {
            f->mode = MODE_PLAIN; /* IPFIX, or garbage the framer will name */
        }
        /* replay the bytes held for detection, then the rest of this chunk */
        if (fc_tcpframe_feed(f, tmp, held, fn, arg, e) < 0)
            return -1;
        return fc_tcpframe_feed(f, p + take, n - take, fn, arg, e);
    }
    if (f->mode == MODE_PLAIN)
        return plain(f, p, n, fn, arg, e);

    /* MODE_LZ4: one block = one message normally; frame the output anyway. */
    if (fk_lz4s_feed(f->lz, p, n) < 0)
        return broken(f, e, "LZ4 reader fed before it was drained");
    for (;;) {
        const uint8_t *msg;
        size_t len;
        fk_err_t le;
        int r = fk_lz4s_next(f->lz, &msg, &len, &le);
        if (r == 0)
            return 0;
        if (r < 0)
            return broken(f, e, le.msg);
        if (plain(f, msg, len, fn, arg, e) < 0)
            return -1;
    }
}

/* ======================================================================== listener */

typedef struct conn_st {
    int fd;
    fc_addr_t peer;
    uint16_t port;
    fc_tcpframe_t *fr;
} conn_t;

struct fc_tcp_st {
    int fd;
    conn_t conns[FC_TCP_MAX_CONNS];
    size_t nconns;
    uint64_t refused; /* connections over FC_TCP_MAX_CONNS */
};

fc_tcp_t *fc_tcp_open(const fc_listen_t *l, fk_err_t *e)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    int one = 1, err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%u", l->port);
    err = getaddrinfo(l->host[0] ? l->host : NULL, port, &hints, &res);
    if (err) {
        fk_errf(e, "-listen %s: %s", l->uri, gai_strerror(err));
        return NULL;
    }
    struct addrinfo *ai = res;
    for (struct addrinfo *a = res; a && !l->host[0]; a = a->ai_next)
        if (a->ai_family == AF_INET6)
            ai = a; /* no host: the IPv6 wildcard, dual stack, as the UDP listeners */
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fk_errf(e, "-listen %s: socket: %s", l->uri, strerror(errno));
        freeaddrinfo(res);
        return NULL;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
        fk_errf(e, "-listen %s: cannot bind: %s", l->uri, strerror(errno));
        close(fd);
        freeaddrinfo(res);
        return NULL;
    }
    freeaddrinfo(res);
    fc_tcp_t *t = calloc(1, sizeof(*t));
    if (!t) {
        close(fd);
        fk_errf(e, "out of memory");
        return NULL;
    }
    t->fd = fd;
    return t;
}

int fc_tcp_fd(const fc_tcp_t *t)
{
    return t->fd;
}

void fc_tcp_free(fc_tcp_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nconns; i++) {
        close(t->conns[i].fd);
        fc_tcpframe_free(t->conns[i].fr);
    }
    close(t->fd);
    free(t);
}

typedef struct deliver_st {
    const fc_tcp_cb_t *cb;
    const conn_t *c;
    uint64_t now;
} deliver_t;

static void deliver(void *arg, const uint8_t *msg, size_t len)
{
    deliver_t *d = arg;
    fc_dgram_t dg;
    memset(&dg, 0, sizeof(dg));
    dg.data = msg;
    dg.len = len;
    dg.src = d->c->peer;
    dg.src_port = d->c->port;
    dg.received_ns = d->now;
    d->cb->message(d->cb->arg, &dg);
}

static void drop_conn(fc_tcp_t *t, size_t i, const fc_tcp_cb_t *cb, const char *why)
{
    conn_t *c = &t->conns[i];
    size_t lost = fc_tcpframe_pending(c->fr);
    if (cb->close)
        cb->close(cb->arg, &c->peer, c->port, why, lost);
    close(c->fd);
    fc_tcpframe_free(c->fr);
    t->conns[i] = t->conns[--t->nconns];
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void fc_tcp_run(fc_tcp_t *t, volatile sig_atomic_t *stop, const fc_tcp_cb_t *cb)
{
    static __thread uint8_t chunk[READ_CHUNK];
    struct pollfd *pf = calloc(FC_TCP_MAX_CONNS + 1, sizeof(*pf));

    if (!pf)
        return;
    while (!*stop) {
        pf[0].fd = t->fd;
        pf[0].events = POLLIN;
        pf[0].revents = 0;
        for (size_t i = 0; i < t->nconns; i++) {
            pf[i + 1].fd = t->conns[i].fd;
            pf[i + 1].events = POLLIN;
            pf[i + 1].revents = 0;
        }
        size_t polled = t->nconns;
        int r = poll(pf, polled + 1, 200);
        if (r <= 0)
            continue;
        /* connections first, from the end so drop_conn's swap keeps indexes valid */
        for (size_t i = polled; i-- > 0;) {
            if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            conn_t *c = &t->conns[i];
            ssize_t got = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {
                char why[128];
                size_t lost = fc_tcpframe_pending(c->fr);
                if (got < 0)
                    snprintf(why, sizeof(why), "read: %s", strerror(errno));
                else if (lost)
                    snprintf(why, sizeof(why), "closed inside a message (%zu bytes lost)", lost);
                drop_conn(t, i, cb, got < 0 || lost ? why : NULL);
                continue;
            }
            deliver_t d = {cb, c, wall_ns()};
            fk_err_t e;
            if (fc_tcpframe_feed(c->fr, chunk, (size_t)got, deliver, &d, &e) < 0)
                drop_conn(t, i, cb, e.msg);
        }
        if (pf[0].revents & POLLIN) {
            for (;;) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                int fd = accept4(t->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                    break;
                if (t->nconns == FC_TCP_MAX_CONNS) {
                    t->refused++;
                    fk_warn("ipfix+tcp: %zu connections already; refusing another", t->nconns);
                    close(fd);
                    continue;
                }
                conn_t *c = &t->conns[t->nconns];
                c->fr = fc_tcpframe_new();
                if (!c->fr) {
                    close(fd);
                    continue;
                }
                c->fd = fd;
                fc_listen_peer(&ss, &c->peer, &c->port);
                t->nconns++;
                if (cb->open)
                    cb->open(cb->arg, &c->peer, c->port);
            }
        }
        if (cb->idle)
            cb->idle(cb->arg);
    }
    while (t->nconns)
        drop_conn(t, t->nconns - 1, cb,
                  fc_tcpframe_pending(t->conns[t->nconns - 1].fr)
                      ? "collector stopping inside a message"
                      : NULL);
    free(pf);
}
