/*
 * dnsbuild.h - what the DNS plugin tests share: a DNS message builder and a
 * frame sender that puts a UDP or TCP packet through the real packet parser
 * and flow cache, with the frame in a heap block of exactly the captured
 * length so ASan sees any read past the capture.  Header-only; include after
 * <cmocka.h>.
 */
#ifndef FK_TEST_DNSBUILD_H
#define FK_TEST_DNSBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/packet/packet.h"
#include "probe/cache/cache.h"

/* A message under construction. */
typedef struct dmsg_st {
    uint8_t b[4096];
    size_t n;
} dmsg_t;

static inline void d_u8(dmsg_t *m, uint8_t v)
{
    assert_true(m->n < sizeof(m->b));
    m->b[m->n++] = v;
}

static inline void d_u16(dmsg_t *m, uint16_t v)
{
    d_u8(m, (uint8_t)(v >> 8));
    d_u8(m, (uint8_t)v);
}

static inline void d_u32(dmsg_t *m, uint32_t v)
{
    d_u16(m, (uint16_t)(v >> 16));
    d_u16(m, (uint16_t)v);
}

static inline void d_raw(dmsg_t *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* "a.b.c" as labels, ending with the root label (or nothing when `open`). */
static inline void d_labels(dmsg_t *m, const char *dotted, int open)
{
    const char *s = dotted;

    while (*s) {
        const char *dot = strchr(s, '.');
        size_t k = dot ? (size_t)(dot - s) : strlen(s);
        d_u8(m, (uint8_t)k);
        d_raw(m, s, k);
        s += k;
        if (*s == '.')
            s++;
    }
    if (!open)
        d_u8(m, 0);
}

static inline void d_name(dmsg_t *m, const char *dotted)
{
    d_labels(m, dotted, 0);
}

static inline void d_ptr(dmsg_t *m, uint16_t off)
{
    d_u16(m, (uint16_t)(0xC000 | off));
}

static inline void d_hdr(dmsg_t *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                  uint16_t ar)
{
    m->n = 0;
    d_u16(m, id);
    d_u16(m, flags);
    d_u16(m, qd);
    d_u16(m, an);
    d_u16(m, ns);
    d_u16(m, ar);
}

static inline void d_question(dmsg_t *m, const char *name, uint16_t type)
{
    d_name(m, name);
    d_u16(m, type);
    d_u16(m, 1);
}

/* An RR's fixed part after its owner name; RDATA follows. */
static inline void d_rrfix(dmsg_t *m, uint16_t type, uint16_t cls, uint32_t ttl, uint16_t rdlen)
{
    d_u16(m, type);
    d_u16(m, cls);
    d_u32(m, ttl);
    d_u16(m, rdlen);
}

/* An EDNS0 OPT RR (RFC 6891): root owner, CLASS = payload size, DO bit. */
static inline void d_opt(dmsg_t *m, uint16_t psize, int dobit)
{
    d_u8(m, 0);
    d_rrfix(m, 41, psize, dobit ? 0x8000 : 0, 0);
}

/*
 * Send `pay` as one IPv4 packet: proto 17 (UDP) or 6 (TCP), from
 * 10.0.0.1:cport to 10.0.0.2:sport when !from_server, else the reverse.
 * trunc (when non-zero) cuts the capture to that many octets of payload.
 */
static inline void d_send(fp_cache_t *c, uint8_t proto, int from_server, uint16_t cport, uint16_t sport,
                   const uint8_t *pay, size_t paylen, long trunc, uint64_t t)
{
    size_t th = proto == 6 ? 20 : 8;
    size_t total = 20 + th + paylen;
    uint8_t *f = calloc(1, total);
    fk_packet_t pkt;

    assert_non_null(f);
    assert_true(total <= 65535);
    f[0] = 0x45;
    f[2] = (uint8_t)(total >> 8);
    f[3] = (uint8_t)total;
    f[8] = 64;
    f[9] = proto;
    f[12] = f[16] = 10;
    f[15] = from_server ? 2 : 1;
    f[19] = from_server ? 1 : 2;
    uint16_t sp = from_server ? sport : cport, dp = from_server ? cport : sport;
    f[20] = (uint8_t)(sp >> 8);
    f[21] = (uint8_t)sp;
    f[22] = (uint8_t)(dp >> 8);
    f[23] = (uint8_t)dp;
    if (proto == 6) {
        f[32] = 0x50;         /* data offset 5 */
        f[33] = 0x18;         /* PSH ACK */
        f[34] = f[35] = 0xff; /* window */
    } else {
        f[24] = (uint8_t)((8 + paylen) >> 8);
        f[25] = (uint8_t)(8 + paylen);
    }
    if (paylen)
        memcpy(f + 20 + th, pay, paylen);
    size_t cap = trunc >= 0 ? 20 + th + (size_t)trunc : total;
    if (cap > total)
        cap = total;
    /* The parser sees exactly `cap` octets in their own block. */
    uint8_t *g = malloc(cap ? cap : 1);
    assert_non_null(g);
    memcpy(g, f, cap);
    free(f);
    fk_packet_parse(&pkt, FK_LINK_RAW, g, (uint32_t)cap, (uint32_t)total, t);
    assert_true(fk_packet_has_key(&pkt));
    fp_cache_put(c, &pkt);
    free(g);
}

/* The same message behind an RFC 1035 4.2.2 length prefix. */
static inline void d_send_tcp(fp_cache_t *c, int from_server, uint16_t cport, const dmsg_t *m,
                       uint16_t prefix, uint64_t t)
{
    uint8_t buf[4096 + 2];

    buf[0] = (uint8_t)(prefix >> 8);
    buf[1] = (uint8_t)prefix;
    memcpy(buf + 2, m->b, m->n);
    d_send(c, 6, from_server, cport, 53, buf, m->n + 2, -1, t);
}

#endif /* FK_TEST_DNSBUILD_H */
