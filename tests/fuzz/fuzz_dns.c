/*
 * fuzz_dns.c - libFuzzer target for the DNS wire-format reader
 * (probe/proto/dns.c).
 *
 * Input: one selector octet (bit 0: the payload is DNS over TCP, with its
 * 2-octet length prefix), then the transport payload.  The target walks the
 * message the way the plugins do -- every question and RR, every name
 * decompressed into a small and a large buffer and skipped -- and checks the
 * invariants every read must keep, whatever the bytes: offsets stay inside
 * the message, a name never overflows its buffer, RDATA lies inside the
 * message.  libFuzzer hands over a heap block of exactly the input's size,
 * so ASan sees any read past it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/proto/dns.h"

#define CHECK(cond)                                                     \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "fuzz_dns: invariant failed: %s\n", #cond); \
            abort();                                                    \
        }                                                               \
    } while (0)

/* Decompress the name at off into two buffers; both must agree on the prefix. */
static void walk_name(const fk_dns_msg_t *m, uint32_t off)
{
    uint8_t small[7], big[1024];
    size_t ns = 0, nb = 0;
    uint32_t next = 0;

    int a = fk_dns_name(m, off, small, sizeof(small), &ns);
    int b = fk_dns_name(m, off, big, sizeof(big), &nb);
    CHECK(a == b);
    CHECK(ns <= sizeof(small) && nb <= sizeof(big));
    if (a == FK_DNS_OK) {
        CHECK(ns == (nb < sizeof(small) ? nb : sizeof(small)));
        CHECK(memcmp(small, big, ns) == 0);
        /* a readable name can always be skipped, and ends inside the message + 1 */
        CHECK(fk_dns_name_skip(m, off, &next) == FK_DNS_OK);
        CHECK(next > off && next <= m->len + 1);
    } else {
        CHECK(a == FK_DNS_EBADNAME && ns == 0 && nb == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_dns_msg_t m;
    fk_dns_hdr_t h;

    if (size < 1)
        return 0;
    bool tcp = data[0] & 1;
    if (fk_dns_open(&m, &h, data + 1, size - 1, tcp) != FK_DNS_OK)
        return 0;
    CHECK(m.len >= FK_DNS_HDR_LEN && m.p >= data + 1 && m.p + m.len == data + size);

    uint32_t off = FK_DNS_HDR_LEN;
    for (unsigned i = 0; i < h.qdcount; i++) {
        fk_dns_q_t q;
        walk_name(&m, off);
        if (fk_dns_question(&m, off, &q) != FK_DNS_OK)
            return 0;
        CHECK(q.next > off && q.next <= m.len);
        off = q.next;
    }
    unsigned total = (unsigned)h.ancount + h.nscount + h.arcount;
    for (unsigned i = 0; i < total; i++) {
        fk_dns_rr_t rr;
        walk_name(&m, off);
        if (fk_dns_rr(&m, off, &rr) != FK_DNS_OK)
            return 0;
        CHECK(rr.rdata_off + rr.rdlength == rr.next && rr.next <= m.len && rr.next > off);
        /* names inside RDATA, as NS/CNAME/PTR/SOA/MX/SRV/RRSIG are read */
        walk_name(&m, rr.rdata_off);
        walk_name(&m, rr.rdata_off + 2);
        walk_name(&m, rr.rdata_off + 6);
        walk_name(&m, rr.rdata_off + 18);
        fk_cursor_t c = fk_dns_cur(&m, rr.rdata_off);
        CHECK(c.end == m.p + m.len);
        off = rr.next;
    }
    return 0;
}
