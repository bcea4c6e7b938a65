/*
 * httpd.c - see httpd.h.  RFC 9112 (HTTP/1.1 message syntax): we read the
 * request line and headers up to the blank line (at most REQ_MAX bytes, at
 * most IO_TIMEOUT_MS per read), answer GET and HEAD, and close.
 */
#include "httpd.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX       8192
#define IO_TIMEOUT_MS 2000

struct fk_httpd_st {
    int fd;
    int port;
    fk_httpd_fn fn;
    void *arg;
    pthread_t thread;
    atomic_int stop;
    fk_buf_t body;
    fk_buf_t out;
};

/* Split "HOST:PORT" / "[V6]:PORT" / ":PORT" / "PORT" in place. */
static int split_addr(char *s, char **host, char **port)
{
    char *colon;

    if (s[0] == '[') {
        char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -1;
        *end = '\0';
        *host = s + 1;
        *port = end + 2;
        return 0;
    }
    colon = strrchr(s, ':');
    if (!colon) {
        *host = NULL;
        *port = s;
        return 0;
    }
    *colon = '\0';
    *host = s[0] ? s : NULL;
    *port = colon + 1;
    return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, IO_TIMEOUT_MS) != 1)
            return -1;
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void reply(fk_httpd_t *h, int fd, int status, const char *ctype, bool head)
{
    const char *reason = status == 200   ? "OK"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 500 ? "Internal Server Error"
                         : status == 503 ? "Service Unavailable"
                                         : "Bad Request";
    h->out.len = 0;
    fk_buf_printf(&h->out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n%s\r\n",
                  status, reason, ctype, h->body.len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!head)
        fk_buf_put(&h->out, h->body.data, h->body.len);
    send_all(fd, h->out.data, h->out.len);
}

static void serve(fk_httpd_t *h, int fd)
{
    char req[REQ_MAX + 1];
    size_t len = 0;

    /* Read until the end of the headers; the body of a GET is ignored. */
    while (len < REQ_MAX) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, IO_TIMEOUT_MS) != 1)
            return;
        ssize_t r = recv(fd, req + len, REQ_MAX - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        len += (size_t)r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[len] = '\0';

    char method[8], target[256];
    const char *ctype = "text/plain; charset=utf-8";
    h->body.len = 0;
    if (sscanf(req, "%7s %255s HTTP/", method, target) != 2) {
        fk_buf_puts(&h->body, "bad request\n");
        reply(h, fd, 400, ctype, false);
        return;
    }
    bool head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        fk_buf_puts(&h->body, "only GET and HEAD\n");
        reply(h, fd, 405, ctype, false);
        return;
    }
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    int status = h->fn(h->arg, target, &h->body, &ctype);
    reply(h, fd, status, ctype, head);
}

static void *run(void *arg)
{
    fk_httpd_t *h = arg;

    while (!atomic_load(&h->stop)) {
        struct pollfd pfd = {h->fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) != 1)
            continue;
        int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve(h, c);
        close(c);
    }
    return NULL;
}

fk_httpd_t *fk_httpd_start(const char *addr, fk_httpd_fn fn, void *arg, fk_err_t *e)
{
    char tmp[256], *host, *port;
    struct addrinfo hints, *res = NULL;
    fk_httpd_t *h;

    if (strlen(addr) >= sizeof(tmp) ||
        (snprintf(tmp, sizeof(tmp), "%s", addr), split_addr(tmp, &host, &port) < 0) || !port[0]) {
        fk_errf(e, "'%s' is not an address to listen on; use HOST:PORT, :PORT or [V6]:PORT", addr);
        return NULL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int err = getaddrinfo(host, port, &hints, &res);
    if (err) {
        fk_errf(e, "cannot listen on '%s': %s", addr, gai_strerror(err));
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (!h || fk_buf_init(&h->body, NULL, 16384) < 0 || fk_buf_init(&h->out, NULL, 16384) < 0) {
        freeaddrinfo(res);
        if (h) {
            fk_buf_free(&h->body);
            free(h);
        }
        fk_errf(e, "out of memory");
        return NULL;
    }
    h->fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        int one = 1;
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0) {
            h->fd = fd;
            break;
        }
        err = errno;
        close(fd);
        errno = err;
    }
    freeaddrinfo(res);
    if (h->fd < 0) {
        fk_errf(e, "cannot listen on '%s': %s", addr, strerror(errno));
        fk_httpd_stop(h);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(h->fd, (struct sockaddr *)&ss, &sl) == 0) {
        char serv[16];
        if (getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof(serv), NI_NUMERICSERV) ==
            0)
            h->port = atoi(serv);
    }
    h->fn = fn;
    h->arg = arg;
    err = pthread_create(&h->thread, NULL, run, h);
    if (err) {
        fk_errf(e, "cannot start the HTTP thread: %s", strerror(err));
        close(h->fd);
        h->fd = -1;
        fk_httpd_stop(h);
        return NULL;
    }
    return h;
}

int fk_httpd_port(const fk_httpd_t *h)
{
    return h->port;
}

void fk_httpd_stop(fk_httpd_t *h)
{
    if (!h)
        return;
    if (h->fd >= 0) {
        atomic_store(&h->stop, 1);
        pthread_join(h->thread, NULL);
        close(h->fd);
    }
    fk_buf_free(&h->body);
    fk_buf_free(&h->out);
    free(h);
}
