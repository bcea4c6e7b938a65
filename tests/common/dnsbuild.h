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
#include "tests/common/frame4.h"

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

static inline void d_hdr(dmsg_t *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
                         uint16_t ns, uint16_t ar)
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
static inline void d_send(fp_cache_t *c, uint8_t proto, int from_server, uint16_t cport,
                          uint16_t sport, const uint8_t *pay, size_t paylen, long trunc, uint64_t t)
{
    static uint8_t f[PT_FRAME4_MAX];
    size_t total =
        from_server ? pt_frame4(f, 2, sport, 1, cport, proto, 0x18 /* PSH ACK */, 0, pay, paylen, 0)
                    : pt_frame4(f, 1, cport, 2, sport, proto, 0x18, 0, pay, paylen, 0);
    size_t th = proto == 6 ? 20 : 8;

    assert_true(pt_send4(c, f, total, trunc >= 0 ? 20 + th + (size_t)trunc : total, t));
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
