/*
 * tcp.h - IPFIX over TCP (RFC 7011 section 10.4): ipfix+tcp:// and
 * netflow+tcp:// listeners.
 *
 * On a TCP connection IPFIX messages follow each other with no delimiter but
 * their own header (RFC 7011 3.1):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |       Version Number          |            Length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  (export time, sequence, domain) ...
 *
 * so the framer reads Version (must be 10) and Length (>= 16, the header)
 * and cuts the stream there.  A stream whose header lies cannot be
 * resynchronised (there is no marker to search for), so a bad header closes
 * the connection (RFC 7011 10.4.1: the Collecting Process closes a session it
 * cannot parse) and is counted.  NetFlow v5/v9 carry no length and cannot be
 * framed on TCP; they are refused the same way.
 *
 * A stream that starts with "LZ4c" is ipfixprobe's LZ4-compressed framing
 * (lib/ipfix/lz4s.h, what `flowprobe -o 'ipfix;c'` sends); it is
 * decompressed first and the IPFIX framer runs on the result.
 *
 * Templates received on a connection belong to that transport session
 * (RFC 7011 section 8): the listener reports each closed connection so the
 * caller can drop them.  The exporter is identified by the connection's
 * source address and port, as a UDP exporter is.
 */
#ifndef FC_TCP_H
#define FC_TCP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/core/log.h"
#include "../record.h"
#include "listen.h"

#define FC_TCP_MSG_MAX   65535u /* an IPFIX message's Length field is 16 bits */
#define FC_TCP_MAX_CONNS 1024   /* connections served at once; more are refused */

/* ---- stream framing (no I/O: what the fuzzer drives) ------------------------ */

typedef struct fc_tcpframe_st fc_tcpframe_t;

/* Called once per whole message; data is valid during the call only. */
typedef void (*fc_tcpframe_fn)(void *arg, const uint8_t *msg, size_t len);

/* A framer for one connection; NULL when out of memory. */
fc_tcpframe_t *fc_tcpframe_new(void);
void fc_tcpframe_free(fc_tcpframe_t *f);

/*
 * Feed the next `n` bytes of the stream (chunks may split messages and
 * headers anywhere).  Every message completed by them goes to fn.  Returns
 * 0, or -1 with the reason in e when the stream is broken (bad version or
 * length, corrupt LZ4): the connection must then be closed; further feeds
 * return -1 at once.
 */
int fc_tcpframe_feed(fc_tcpframe_t *f, const uint8_t *p, size_t n, fc_tcpframe_fn fn, void *arg,
                     fk_err_t *e);

/* Bytes of an unfinished message held (what a connection closing now loses). */
size_t fc_tcpframe_pending(const fc_tcpframe_t *f);

/* True once the stream was recognised as LZ4-compressed. */
bool fc_tcpframe_lz4(const fc_tcpframe_t *f);

/* ---- the listener ------------------------------------------------------------ */

typedef struct fc_tcp_st fc_tcp_t;

typedef struct fc_tcp_cb_st {
    void *arg;
    /* a connection was accepted */
    void (*open)(void *arg, const fc_addr_t *peer, uint16_t port);
    /* one IPFIX message (dg->src/src_port = the peer, received_ns = now) */
    void (*message)(void *arg, const fc_dgram_t *dg);
    /* a connection ended: why == NULL for an orderly close, else the reason
     * (framing error, read error); `lost` bytes of an unfinished message */
    void (*close)(void *arg, const fc_addr_t *peer, uint16_t port, const char *why, size_t lost);
    /* after each round of reads (deliver buffered output now) */
    void (*idle)(void *arg);
} fc_tcp_cb_t;

/* Bind and listen (l->tcp must be set).  NULL with a message. */
fc_tcp_t *fc_tcp_open(const fc_listen_t *l, fk_err_t *e);

/* The listening socket (for getsockname). */
int fc_tcp_fd(const fc_tcp_t *t);

/*
 * Serve connections on the calling thread until *stop is set (checked at
 * least every 200 ms); every open connection is then closed (reported
 * through cb->close) and the function returns.
 */
void fc_tcp_run(fc_tcp_t *t, volatile sig_atomic_t *stop, const fc_tcp_cb_t *cb);

/* Close the listening socket and free; NULL is a no-op. */
void fc_tcp_free(fc_tcp_t *t);

#endif /* FC_TCP_H */
