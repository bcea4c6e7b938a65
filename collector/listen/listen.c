/*
 * listen.c - parsing -listen URIs and detecting a datagram's protocol.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/core/cursor.h"
#include "../../lib/core/opts.h"

int fc_detect(const uint8_t *p, size_t n)
{
    if (n < 4)
        return -1;
    uint32_t w = fk_load_be32(p);
    if (w == 5)
        return FC_PROTO_SFLOW;
    uint16_t v = (uint16_t)(w >> 16);
    if (v == 5 || v == 9 || v == 10)
        return FC_PROTO_NETFLOW;
    return -1;
}

static int parse_bool(const char *v, bool *out)
{
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "t") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "f") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

static int parse_one(char *uri, fc_listen_t *l, fk_err_t *e)
{
    char *sep = strstr(uri, "://");
    char *rest, *query;
    bool have_workers = false, have_queue = false;

    memset(l, 0, sizeof(*l));
    snprintf(l->uri, sizeof(l->uri), "%s", uri);
    l->count = 1;
    if (!sep)
        return fk_errf(e, "-listen: '%s': expected SCHEME://HOST:PORT (e.g. netflow://:2055)", uri);
    *sep = '\0';
    rest = sep + 3;
    snprintf(l->scheme, sizeof(l->scheme), "%s", uri);
    if (strcmp(uri, "ipfix+tcp") == 0 || strcmp(uri, "netflow+tcp") == 0) {
        /* RFC 7011 10.4: IPFIX messages back to back on a TCP connection */
        l->proto = FC_PROTO_NETFLOW;
        l->tcp = true;
    } else if (strcmp(uri, "sflow") == 0)
        l->proto = FC_PROTO_SFLOW;
    else if (strcmp(uri, "netflow") == 0)
        l->proto = FC_PROTO_NETFLOW;
    else if (strcmp(uri, "nfl") == 0)
        l->proto = FC_PROTO_NFL;
    else if (strcmp(uri, "flow") == 0)
        l->proto = FC_PROTO_FLOW;
    else if (strcmp(uri, "pcap") == 0)
        l->proto = FC_PROTO_FLOW;
    else
        return fk_errf(e,
                       "-listen: '%s': unknown scheme '%s' (sflow, netflow, nfl, flow, pcap, "
                       "ipfix+tcp, netflow+tcp)",
                       l->uri, uri);

    query = strchr(rest, '?');
    if (query)
        *query++ = '\0';
    if (strcmp(uri, "pcap") == 0) {
        if (*rest == '\0')
            return fk_errf(e, "-listen: '%s': pcap:// needs a file path (pcap:///tmp/x.pcap)",
                           l->uri);
        l->pcap = strdup(rest);
        if (!l->pcap)
            return fk_errf(e, "out of memory");
    } else {
        /* [host]:port or host:port or :port; the port must be a number. */
        char *colon = strrchr(rest, ':');
        char *slash = strchr(rest, '/');
        if (slash)
            *slash = '\0';
        if (!colon)
            return fk_errf(e, "-listen: '%s': no port (write %s://:PORT)", l->uri, uri);
        *colon = '\0';
        uint64_t port;
        if (fk_opts_uint("port", colon + 1, 1, 65535, &port, e) < 0)
            return fk_errf(e, "-listen: '%s': port must be a number in 1..65535", l->uri);
        l->port = (uint16_t)port;
        char *h = rest;
        size_t hl = strlen(h);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h[hl - 1] = '\0';
            h++;
        }
        snprintf(l->host, sizeof(l->host), "%s", h);
    }

    for (char *save = NULL, *kv = query ? strtok_r(query, "&", &save) : NULL; kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        uint64_t n;
        if (l->tcp)
            return fk_errf(e,
                           "-listen: '%s': TCP listeners take no options (one thread serves "
                           "every connection; TCP itself holds back exporters)",
                           l->uri);
        if (!eq)
            return fk_errf(e, "-listen: '%s': option '%s' needs a value", l->uri, kv);
        *eq++ = '\0';
        if (strcmp(kv, "count") == 0) {
            if (fk_opts_uint("count", eq, 0, 256, &n, e) < 0)
                return fk_errf(e, "-listen: '%s': %s", l->uri, e->msg);
            l->count = n ? (unsigned)n : 1; /* GoFlow2: 0 means 1 */
        } else if (strcmp(kv, "workers") == 0) {
            if (fk_opts_uint("workers", eq, 1, 256, &n, e) < 0)
                return fk_errf(e, "-listen: '%s': %s", l->uri, e->msg);
            l->workers = (unsigned)n;
            have_workers = true;
        } else if (strcmp(kv, "blocking") == 0) {
            if (parse_bool(eq, &l->blocking) < 0)
                return fk_errf(e, "-listen: '%s': blocking=%s, expected true or false", l->uri, eq);
        } else if (strcmp(kv, "queue_size") == 0) {
            if (fk_opts_uint("queue_size", eq, 0, 100000000, &n, e) < 0)
                return fk_errf(e, "-listen: '%s': %s", l->uri, e->msg);
            l->queue_size = (size_t)n;
            have_queue = true;
            l->queue_set = true;
        } else {
            return fk_errf(e,
                           "-listen: '%s': unknown option '%s' (count, workers, blocking, "
                           "queue_size)",
                           l->uri, kv);
        }
    }
    /* GoFlow2's defaults: workers = 2*count; queue 1,000,000 when non-blocking,
     * synchronous (0) when blocking. */
    if (!have_workers)
        l->workers = 2 * l->count;
    if (!have_queue)
        l->queue_size = l->blocking ? 0 : 1000000;
    return 0;
}

int fc_listen_parse(const char *list, fc_listen_t **out, size_t *n, fk_err_t *e)
{
    char *copy = strdup(list), *save = NULL;
    fc_listen_t *v = NULL;
    size_t k = 0;

    if (!copy)
        return fk_errf(e, "out of memory");
    for (char *uri = strtok_r(copy, ",", &save); uri; uri = strtok_r(NULL, ",", &save)) {
        fc_listen_t *nv = realloc(v, (k + 1) * sizeof(*v));
        if (!nv) {
            fc_listen_free(v, k);
            free(copy);
            return fk_errf(e, "out of memory");
        }
        v = nv;
        if (parse_one(uri, &v[k], e) < 0) {
            fc_listen_free(v, k + 1);
            free(copy);
            return -1;
        }
        k++;
    }
    free(copy);
    if (k == 0)
        return fk_errf(e, "-listen: no URI given");
    *out = v;
    *n = k;
    return 0;
}

void fc_listen_free(fc_listen_t *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i].pcap);
    free(l);
}

void fc_listen_peer(const struct sockaddr_storage *ss, fc_addr_t *a, uint16_t *port)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(a, 0, sizeof(*a));
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ss;
        a->len = 4;
        memcpy(a->a, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ss;
        if (memcmp(&in6->sin6_addr, mapped, 12) == 0) { /* an IPv4 exporter */
            a->len = 4;
            memcpy(a->a, (const uint8_t *)&in6->sin6_addr + 12, 4);
        } else {
            a->len = 16;
            memcpy(a->a, &in6->sin6_addr, 16);
        }
        *port = ntohs(in6->sin6_port);
    }
}
