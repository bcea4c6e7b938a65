/*
 * listen.h - where flowcollector takes datagrams from: GoFlow2's -listen URIs
 * (goflow2-spec.md section 2) plus flowkit's pcap:// replay.
 *
 *   sflow://HOST:PORT    sFlow v5
 *   netflow://HOST:PORT  NetFlow v5, v9 and IPFIX (dispatch on the version)
 *   nfl://HOST:PORT      NetFlow v5 only ("legacy")
 *   flow://HOST:PORT     any of them, detected per datagram
 *   pcap:///PATH         UDP datagrams of a capture file, detected per datagram,
 *                        exporter = the datagram's source; read at full speed
 *   ipfix+tcp://HOST:PORT   IPFIX over TCP (RFC 7011 10.4), plain or with
 *   netflow+tcp://HOST:PORT ipfixprobe's LZ4 stream framing (detected); flowkit's
 *                        schemes, GoFlow2 has no TCP input (listen/tcp.c)
 *   options: ?count=N&workers=M&blocking=true|false&queue_size=Q (UDP only)
 *   With as many workers as sockets (count=N&workers=N) and no queue_size,
 *   each receiving thread decodes what it reads (no queue, no hand-off).
 */
#ifndef FC_LISTEN_H
#define FC_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/log.h"
#include "../record.h"

typedef enum fc_proto {
    FC_PROTO_SFLOW,
    FC_PROTO_NETFLOW,
    FC_PROTO_NFL,
    FC_PROTO_FLOW, /* detect */
} fc_proto_t;

typedef struct fc_listen_st {
    fc_proto_t proto;
    char host[256]; /* "" = all addresses */
    uint16_t port;
    char *pcap;        /* pcap:// path, else NULL */
    unsigned count;    /* sockets (SO_REUSEPORT), >= 1 */
    unsigned workers;  /* decoding threads, default 2*count */
    bool blocking;     /* receive waits for workers instead of dropping */
    size_t queue_size; /* datagrams queued per listener (0 = synchronous) */
    bool queue_set;    /* queue_size was given: keep the receiver -> worker queue even
                        * when workers == count (else each receiver decodes inline) */
    char uri[512];     /* as given, for messages */
    bool tcp;          /* ipfix+tcp:// or netflow+tcp:// */
    char scheme[16];   /* as given: "netflow", "ipfix+tcp", ... (metric labels) */
} fc_listen_t;

/*
 * A socket address as the exporter address of the record: IPv4, IPv6, and
 * IPv4-mapped IPv6 (from a dual-stack socket) as IPv4 (GoFlow2 PR #493).
 * Other families give an absent address and port 0.
 */
struct sockaddr_storage;
void fc_listen_peer(const struct sockaddr_storage *ss, fc_addr_t *a, uint16_t *port);

/*
 * Parse a comma-separated list of URIs into *out (array of *n, free with
 * fc_listen_free).  0, or -1 with a message naming the bad URI.
 */
int fc_listen_parse(const char *list, fc_listen_t **out, size_t *n, fk_err_t *e);
void fc_listen_free(fc_listen_t *l, size_t n);

/* The listener's type as GoFlow2's metrics label it: its scheme ("netflow",
 * "sflow", "nfl", "flow", "pcap", "ipfix+tcp", ...). */
static inline const char *fc_listen_type(const fc_listen_t *l)
{
    return l->scheme;
}

/* Which protocol a datagram is, GoFlow2's "flow://" rule; -1 when unknown. */
int fc_detect(const uint8_t *p, size_t n);

#endif /* FC_LISTEN_H */
