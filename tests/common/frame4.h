/*
 * frame4.h - raw IPv4 TCP/UDP frames for the plugin tests, sent through the
 * real parser into a flow cache.  Header-only; include after <cmocka.h>.
 */
#ifndef FK_TEST_FRAME4_H
#define FK_TEST_FRAME4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/packet/packet.h"
#include "probe/cache/cache.h"

#define PT_FRAME4_MAX 65535 /* the IPv4 total length */

/*
 * Write into f (PT_FRAME4_MAX bytes) an IPv4 frame 10.0.0.`src`:sp ->
 * 10.0.0.`dst`:dp of protocol `proto` carrying `pay`: TCP (6; a 20-byte
 * header with `tcp_flags`, sequence number `seq` and a 0xff00 window) or
 * UDP (17; length field `ulen`, 0 = the true one).  Returns its length.
 */
static inline size_t pt_frame4(uint8_t *f, uint8_t src, uint16_t sp, uint8_t dst, uint16_t dp,
                               uint8_t proto, uint8_t tcp_flags, uint32_t seq, const void *pay,
                               size_t n, unsigned ulen)
{
    size_t hl = proto == 6 ? 40 : 28, total = hl + n;

    assert_true(total <= PT_FRAME4_MAX);
    memset(f, 0, hl);
    f[0] = 0x45;
    f[2] = (uint8_t)(total >> 8);
    f[3] = (uint8_t)total;
    f[8] = 64;
    f[9] = proto;
    f[12] = f[16] = 10;
    f[15] = src;
    f[19] = dst;
    f[20] = (uint8_t)(sp >> 8);
    f[21] = (uint8_t)sp;
    f[22] = (uint8_t)(dp >> 8);
    f[23] = (uint8_t)dp;
    if (proto == 6) {
        f[24] = (uint8_t)(seq >> 24);
        f[25] = (uint8_t)(seq >> 16);
        f[26] = (uint8_t)(seq >> 8);
        f[27] = (uint8_t)seq;
        f[32] = 5 << 4;
        f[33] = tcp_flags;
        f[34] = 0xff;
    } else {
        unsigned u = ulen ? ulen : (unsigned)(8 + n);
        f[24] = (uint8_t)(u >> 8);
        f[25] = (uint8_t)u;
    }
    if (n)
        memcpy(f + hl, pay, n);
    return total;
}

/*
 * Parse frame f of `total` bytes as captured to `cap` bytes (0 or more than
 * total = all), from a heap block of exactly that size so that ASan sees
 * any read past the capture, and hand it to the cache when it has a flow
 * key.  Returns whether it had one.
 */
static inline bool pt_send4(fp_cache_t *c, const uint8_t *f, size_t total, size_t cap, uint64_t t)
{
    fk_packet_t pkt;
    size_t len = cap && cap < total ? cap : total;
    uint8_t *copy = malloc(len);

    assert_non_null(copy);
    memcpy(copy, f, len);
    fk_packet_parse(&pkt, FK_LINK_RAW, copy, (uint32_t)len, (uint32_t)total, t);
    bool key = fk_packet_has_key(&pkt);
    if (key)
        fp_cache_put(c, &pkt);
    free(copy);
    return key;
}

#endif /* FK_TEST_FRAME4_H */
