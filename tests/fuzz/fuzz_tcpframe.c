/*
 * fuzz_tcpframe.c - libFuzzer target for the IPFIX-over-TCP stream framer
 * (collector/listen/tcp.c: fc_tcpframe_*, plain RFC 7011 framing and
 * ipfixprobe's LZ4 framing, detected from the first bytes).
 *
 * Input: byte 0 picks a chunk size (1 + c % 97); the rest is the TCP byte
 * stream.  The stream is fed three ways - whole, in chunks of that size, and
 * one byte at a time - and the three framers must deliver the same messages
 * (count, bytes, hash) and end the same way (broken or not, same reason):
 * how TCP splits a stream must never matter.  Every message delivered must
 * be an IPFIX message whose Length field is its length.  The pending count
 * is bounded by one message.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/listen/tcp.h"
#include "lib/core/cursor.h"

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_tcpframe: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

typedef struct run_st {
    size_t n, bytes;
    uint64_t hash;
    bool broken;
    char why[512];
} run_t;

static void on_msg(void *arg, const uint8_t *m, size_t len)
{
    run_t *r = arg;
    CHECK(len >= 16 && len <= FC_TCP_MSG_MAX);
    CHECK(fk_load_be16(m) == 10);
    CHECK(fk_load_be16(m + 2) == len);
    r->n++;
    r->bytes += len;
    for (size_t i = 0; i < len; i++)
        r->hash = (r->hash ^ m[i]) * 0x100000001b3ULL;
    r->hash ^= len;
}

static void run(const uint8_t *p, size_t n, size_t chunk, run_t *r)
{
    fc_tcpframe_t *f = fc_tcpframe_new();
    memset(r, 0, sizeof(*r));
    r->hash = 0xcbf29ce484222325ULL;
    if (!f)
        abort();
    for (size_t off = 0; off < n && !r->broken;) {
        size_t take = n - off < chunk ? n - off : chunk;
        /* a heap copy of exactly the chunk: ASan sees any read past it */
        uint8_t *c = malloc(take);
        memcpy(c, p + off, take);
        fk_err_t e;
        if (fc_tcpframe_feed(f, c, take, on_msg, r, &e) < 0) {
            r->broken = true;
            snprintf(r->why, sizeof(r->why), "%s", e.msg);
            CHECK(e.msg[0]);
            /* broken stays broken */
            CHECK(fc_tcpframe_feed(f, c, take, on_msg, r, &e) < 0);
        }
        free(c);
        off += take;
        CHECK(fc_tcpframe_pending(f) <= FC_TCP_MSG_MAX + 65535 + 8);
    }
    if (!fc_tcpframe_lz4(f))
        CHECK(r->broken || r->bytes + fc_tcpframe_pending(f) == n);
    fc_tcpframe_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = 1 + data[0] % 97;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    run_t a, b, c;
    run(p, n, n ? n : 1, &a);
    run(p, n, chunk, &b);
    run(p, n, 1, &c);
    CHECK(a.n == b.n && a.n == c.n);
    CHECK(a.bytes == b.bytes && a.bytes == c.bytes);
    CHECK(a.hash == b.hash && a.hash == c.hash);
    CHECK(a.broken == b.broken && a.broken == c.broken);
    CHECK(strcmp(a.why, b.why) == 0 && strcmp(a.why, c.why) == 0);
    return 0;
}
