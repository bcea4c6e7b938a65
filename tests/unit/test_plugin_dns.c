/*
 * test_plugin_dns.c - the dns and passivedns plugins, driven through the
 * real packet parser and flow cache with crafted DNS messages: header,
 * question and OPT fields, every RDATA format of the readme's table, one
 * record per message (flush and re-create), DNS over TCP, passivedns's one
 * record per A/AAAA/PTR answer and reverse names; and hostile messages:
 * compression loops, pointers past the end, names over 255 octets, lying
 * RDLENGTH and ANCOUNT, truncation at every length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"
#include "probe/proto/dns.h"

#define SEC  1000000000ULL
#define MAXF 64

#include "tests/common/dnsbuild.h"
#include "tests/common/plugintest.h"

/* Every record of every exported flow (passivedns gives several). */
#define MAXR 16
static uint8_t g_all[MAXF][MAXR][1024];

static const fp_flow_t *collect_all(void *arg, fp_flow_t *flow)
{
    size_t k = g_nout;
    collect(arg, flow);
    const void *st = fp_plugin_state(&g_pi, flow);
    assert_true(g_nrec[k] <= MAXR);
    for (unsigned i = 0; i < g_nrec[k]; i++)
        memcpy(g_all[k][i], g_pi.p->record(g_pi.ctx, flow, st, i), g_pi.p->record_size);
    return NULL;
}

static fp_cache_t *start(const char *name)
{
    memset(g_all, 0, sizeof(g_all));
    fp_cache_t *c = pt_start(name, collect_all);
    assert_true(g_pi.p->record_size <= sizeof(g_all[0][0]));
    return c;
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/* DNS_RDATA of flow k as a C string (it is text, or binary shown raw). */
static const char *rdata(size_t k)
{
    static char out[256];
    uint16_t n = (uint16_t)u64(k, "DNS_RLENGTH");
    const fk_field_t *f = field("DNS_RDATA");

    assert_true(n <= f->cap);
    assert_int_equal(fk_field_count(f, g_rec[k]), n);
    memcpy(out, g_rec[k] + f->off, n);
    out[n] = '\0';
    return out;
}

/* Field `name` of record i of flow k, as the CSV output prints it. */
static const char *csv_of(size_t k, unsigned i, const char *name)
{
    static char out[1024];
    fk_buf_t b;

    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    fk_field_csv(&b, field(name), g_all[k][i]);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.data, b.len);
    out[b.len] = 0;
    fk_buf_free(&b);
    return out;
}

static uint64_t u64_of(size_t k, unsigned i, const char *name)
{
    return fk_field_u64(field(name), g_all[k][i], 0);
}

/* ------------------------------------------------------------ dns */

static void test_dns_query_and_response(void **state)
{
    dmsg_t q, r;
    (void)state;

    d_hdr(&q, 0x1234, 0x0100, 1, 0, 0, 1);
    d_question(&q, "www.example.com", 1);
    d_opt(&q, 4096, 1);

    d_hdr(&r, 0x1234, 0x8183, 1, 2, 0, 1); /* NXDOMAIN-ish rcode 3 */
    d_question(&r, "www.example.com", 1);
    d_ptr(&r, 12);
    d_rrfix(&r, 1, 1, 300, 4);
    d_raw(&r, "\x5d\xb8\xd8\x22", 4);
    d_ptr(&r, 12);
    d_rrfix(&r, 1, 1, 301, 4);
    d_raw(&r, "\x01\x02\x03\x04", 4);
    d_opt(&r, 1232, 0);

    fp_cache_t *c = start("dns");
    d_send(c, 17, 0, 40000, 53, q.b, q.n, -1, 1 * SEC);
    d_send(c, 17, 1, 40000, 53, r.b, r.n, -1, 1 * SEC + 1000);
    finish(c);

    /* One record per DNS message: the query and the response are two flows. */
    assert_int_equal(g_nout, 2);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].end_reason, FP_END_FORCED);
    assert_int_equal(g_flow[0].packets, 1);
    assert_int_equal(u64(0, "DNS_ID"), 0x1234);
    assert_int_equal(u64(0, "DNS_ANSWERS"), 0);
    assert_int_equal(u64(0, "DNS_QTYPE"), 1);
    assert_int_equal(u64(0, "DNS_CLASS"), 1);
    assert_int_equal(u64(0, "DNS_PSIZE"), 4096);
    assert_int_equal(u64(0, "DNS_DO"), 1);
    assert_int_equal(u64(0, "DNS_RLENGTH"), 0);
    assert_string_equal(csv(0, "DNS_NAME"), "\"www.example.com\"");
    assert_string_equal(csv(0, "DNS_RDATA"), "");

    assert_int_equal(g_nrec[1], 1);
    assert_int_equal(g_flow[1].src_port, 53);
    assert_int_equal(u64(1, "DNS_ANSWERS"), 2);
    assert_int_equal(u64(1, "DNS_RCODE"), 3);
    assert_int_equal(u64(1, "DNS_RR_TTL"), 300); /* the first answer's */
    assert_int_equal(u64(1, "DNS_PSIZE"), 1232);
    assert_int_equal(u64(1, "DNS_DO"), 0);
    assert_string_equal(rdata(1), "93.184.216.34");
    assert_string_equal(csv(1, "DNS_RDATA"), "39332e3138342e3231362e3334");
}

/* A response whose single answer has type `type` and RDATA `rd`, owner `owner`. */
static const char *one_answer(const char *owner, uint16_t type, const void *rd, uint16_t rdlen)
{
    dmsg_t r;

    d_hdr(&r, 7, 0x8180, 1, 1, 0, 0);
    d_question(&r, "example.com", type); /* "example.com" at offset 12 */
    if (owner)
        d_name(&r, owner);
    else
        d_ptr(&r, 12);
    d_rrfix(&r, type, 1, 60, rdlen);
    d_raw(&r, rd, rdlen);

    fp_cache_t *c = start("dns");
    d_send(c, 17, 1, 40000, 53, r.b, r.n, -1, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "DNS_RR_TTL"), 60);
    return rdata(0);
}

static void test_dns_rdata_formats(void **state)
{
    (void)state;
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    assert_string_equal(one_answer(NULL, 28, v6, 16), "2001:db8::1");

    /* NS / CNAME / PTR / DNAME: a name, here "ns1" + pointer to example.com */
    static const uint8_t ns[] = {3, 'n', 's', '1', 0xC0, 12};
    assert_string_equal(one_answer(NULL, 2, ns, sizeof(ns)), "ns1.example.com");
    assert_string_equal(one_answer(NULL, 5, ns, sizeof(ns)), "ns1.example.com");
    assert_string_equal(one_answer(NULL, 12, ns, sizeof(ns)), "ns1.example.com");
    assert_string_equal(one_answer(NULL, 39, ns, sizeof(ns)), "ns1.example.com");

    static const uint8_t mx[] = {0, 10, 4, 'm', 'a', 'i', 'l', 0xC0, 12};
    assert_string_equal(one_answer(NULL, 15, mx, sizeof(mx)), "10 mail.example.com");

    static const uint8_t txt[] = {5, 'h', 'e', 'l', 'l', 'o', 0, 5, 'w', 'o', 'r', 'l', 'd'};
    assert_string_equal(one_answer(NULL, 16, txt, sizeof(txt)), "hello  world");
    /* A string that does not fit RDLENGTH is not shown. */
    static const uint8_t txt2[] = {2, 'o', 'k', 9, 'x'};
    assert_string_equal(one_answer(NULL, 16, txt2, sizeof(txt2)), "ok");

    static const uint8_t soa[] = {2,  'n', 's', 0xC0, 12, 4, 'r', 'o', 'o', 't', 0xC0,
                                  12, 0,   0,   0,    1,  0, 0,   0,   2,   0,   0,
                                  0,  3,   0,   0,    0,  4, 0,   0,   0,   5};
    assert_string_equal(one_answer(NULL, 6, soa, sizeof(soa)),
                        "ns.example.com root.example.com 1 2 3 4 5");

    /* SRV: owner "_sip._tcp.example.com" loses two '_' and two '.' */
    static const uint8_t srv[] = {0, 10, 0, 20, 0x13, 0xc4, 3, 's', 'i', 'p', 0xC0, 12};
    assert_string_equal(one_answer("_sip._tcp.example.com", 33, srv, sizeof(srv)),
                        "sip tcp example.com sip.example.com 10 20 5060");

    static const uint8_t minfo[] = {1, 'a', 0xC0, 12, 1, 'b', 0xC0, 12};
    assert_string_equal(one_answer(NULL, 14, minfo, sizeof(minfo)), "a.example.comb.example.com");

    /* HINFO and ISDN: RDATA as it is, length octets included */
    static const uint8_t hinfo[] = {3, 'c', 'p', 'u', 2, 'o', 's'};
    assert_string_equal(one_answer(NULL, 13, hinfo, sizeof(hinfo)), "\003cpu\002os");

    static const uint8_t ds[] = {0x12, 0x34, 8, 2, 0xaa, 0xbb};
    assert_string_equal(one_answer(NULL, 43, ds, sizeof(ds)), "4660 8 2 <key>");

    static const uint8_t rrsig[] = {0,    6,    8,    2,    0,    1,    0x51, 0x80,
                                    0x57, 0x12, 0x68, 0x50, 0x57, 0x05, 0x5c, 0x40,
                                    0xec, 0xc7, 0xC0, 12,   0xde, 0xad};
    assert_string_equal(one_answer(NULL, 46, rrsig, sizeof(rrsig)),
                        "6 8 2 86400 1460824144 1459969088 60615 <key>");

    static const uint8_t dnskey[] = {1, 1, 3, 8, 0xff};
    assert_string_equal(one_answer(NULL, 48, dnskey, sizeof(dnskey)), "257 3 8 <key>");

    static const uint8_t any[] = {1, 2, 3};
    assert_string_equal(one_answer(NULL, 99, any, sizeof(any)), "(not_impl)");
}

/* Long RDATA is cut to 159 octets, long question names to 127. */
static void test_dns_truncated_fields(void **state)
{
    (void)state;
    uint8_t txt[300];
    for (size_t i = 0; i < sizeof(txt); i += 100) {
        txt[i] = 99;
        memset(txt + i + 1, 'a' + (int)(i / 100), 99);
    }
    const char *s = one_answer(NULL, 16, txt, sizeof(txt));
    assert_int_equal(strlen(s), 159);
    assert_int_equal(u64(0, "DNS_RLENGTH"), 159);
    assert_int_equal(s[99], ' ');
    assert_int_equal(s[100], 'b');

    /* A name of 5 x 63 octets (319 with dots, over RFC 1035's 255). */
    char longname[5 * 64];
    for (int i = 0; i < 5; i++) {
        memset(longname + 64 * i, 'a' + i, 63);
        longname[64 * i + 63] = i < 4 ? '.' : '\0';
    }
    dmsg_t q;
    d_hdr(&q, 1, 0x0100, 1, 0, 0, 0);
    d_question(&q, longname, 1);
    fp_cache_t *c = start("dns");
    d_send(c, 17, 0, 40000, 53, q.b, q.n, -1, 1 * SEC);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    const char *n = csv(0, "DNS_NAME");
    assert_int_equal(strlen(n), 127 + 2);
    assert_memory_equal(n + 1, longname, 127);
}

static void test_dns_flush_and_recreate(void **state)
{
    dmsg_t q;
    (void)state;

    d_hdr(&q, 1, 0x0100, 1, 0, 0, 0);
    d_question(&q, "a.example", 1);
    fp_cache_t *c = start("dns");
    /* garbage first: no record, the flow stays; the next message is read */
    d_send(c, 17, 0, 40000, 53, (const uint8_t *)"junk", 4, -1, 1 * SEC);
    d_send(c, 17, 0, 40000, 53, q.b, q.n, -1, 2 * SEC);
    q.b[1] = 2; /* id 2 */
    d_send(c, 17, 0, 40000, 53, q.b, q.n, -1, 3 * SEC);
    /* another port: never read */
    d_send(c, 17, 0, 40000, 5300, q.b, q.n, -1, 4 * SEC);
    finish(c);

    assert_int_equal(g_nout, 3);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets, 2); /* the junk packet and the query */
    assert_int_equal(u64(0, "DNS_ID"), 1);
    assert_int_equal(g_nrec[1], 1);
    assert_int_equal(g_flow[1].packets, 1);
    assert_int_equal(u64(1, "DNS_ID"), 2);
    assert_int_equal(g_nrec[2], 0);
}

static void test_dns_tcp(void **state)
{
    dmsg_t q;
    (void)state;

    d_hdr(&q, 9, 0x0100, 1, 0, 0, 0);
    d_question(&q, "tcp.example", 16);
    fp_cache_t *c = start("dns");
    d_send_tcp(c, 0, 40001, &q, (uint16_t)q.n, 1 * SEC);       /* whole: read */
    d_send_tcp(c, 0, 40002, &q, (uint16_t)(q.n + 1), 1 * SEC); /* prefix lies: not read */
    d_send(c, 6, 0, 40003, 53, q.b, 1, -1, 1 * SEC);           /* one octet */
    d_send(c, 6, 0, 40004, 53, NULL, 0, -1, 1 * SEC);          /* no payload */
    finish(c);

    assert_int_equal(g_nout, 4);
    unsigned with = 0;
    for (size_t k = 0; k < g_nout; k++) {
        if (!g_nrec[k])
            continue;
        with++;
        assert_int_equal(g_flow[k].src_port, 40001);
        assert_int_equal(u64(k, "DNS_ID"), 9);
        assert_int_equal(u64(k, "DNS_QTYPE"), 16);
        assert_string_equal(csv(k, "DNS_NAME"), "\"tcp.example\"");
    }
    assert_int_equal(with, 1);
}

/* Send one message; return the number of records its flow got. */
static unsigned dns_one(const char *plugin, const dmsg_t *m, long trunc)
{
    fp_cache_t *c = start(plugin);
    d_send(c, 17, 1, 40000, 53, m->b, m->n, trunc, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    return g_nrec[0];
}

/*
 * A question whose name is a pointer to the last of k chained pointers
 * (each to the one before, the first to a root label): k + 1 hops.
 */
static const dmsg_t *chain(int k)
{
    static dmsg_t m;

    d_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
    d_ptr(&m, (uint16_t)(19 + 2 * (k - 1)));
    d_u16(&m, 1);
    d_u16(&m, 1);
    d_u8(&m, 0); /* offset 18 */
    for (int i = 0; i < k; i++)
        d_ptr(&m, (uint16_t)(i == 0 ? 18 : 19 + 2 * (i - 1)));
    return &m;
}

static void test_dns_hostile_names(void **state)
{
    dmsg_t m;
    (void)state;

    /* compression loop in the question: a pointer to itself */
    d_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
    d_ptr(&m, 12);
    d_u16(&m, 1);
    d_u16(&m, 1);
    assert_int_equal(dns_one("dns", &m, -1), 0);

    /* a loop through a label: "a" then a pointer back to it */
    d_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
    d_labels(&m, "a", 1);
    d_ptr(&m, 12);
    d_u16(&m, 1);
    d_u16(&m, 1);
    assert_int_equal(dns_one("dns", &m, -1), 0);

    /* a pointer past the end, and one at the very end */
    d_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
    d_ptr(&m, 0x3fff);
    d_u16(&m, 1);
    d_u16(&m, 1);
    assert_int_equal(dns_one("dns", &m, -1), 0);
    d_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
    d_ptr(&m, 16); /* = length of the message */
    d_u16(&m, 1);
    assert_int_equal(dns_one("dns", &m, -1), 0);

    /* a label over 63 octets (0x40 prefix) and one running off the end */
    d_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
    d_u8(&m, 0x40);
    d_raw(&m, "xxxx", 4);
    assert_int_equal(dns_one("dns", &m, -1), 0);
    d_hdr(&m, 1, 0x8180, 1, 0, 0, 0);
    d_u8(&m, 20);
    d_raw(&m, "abc", 3);
    assert_int_equal(dns_one("dns", &m, -1), 0);

    /* a chain of pointers: 128 hops are read, 129 are not */
    assert_int_equal(dns_one("dns", chain(127), -1), 1);
    assert_string_equal(csv(0, "DNS_NAME"), "\"\"");
    assert_int_equal(dns_one("dns", chain(128), -1), 0);
}

static void test_dns_hostile_counts(void **state)
{
    dmsg_t m;
    (void)state;

    /* RDLENGTH lies past the end: parsing stops, the record stays without RDATA */
    d_hdr(&m, 5, 0x8180, 1, 1, 0, 0);
    d_question(&m, "x.example", 1);
    d_ptr(&m, 12);
    d_rrfix(&m, 1, 1, 77, 400);
    d_raw(&m, "\x01\x02\x03\x04", 4);
    assert_int_equal(dns_one("dns", &m, -1), 1);
    assert_int_equal(u64(0, "DNS_ANSWERS"), 1);
    assert_int_equal(u64(0, "DNS_RR_TTL"), 0);
    assert_int_equal(u64(0, "DNS_RLENGTH"), 0);
    assert_string_equal(csv(0, "DNS_NAME"), "\"x.example\"");

    /* ANCOUNT 65535, one answer present: the second owner runs off the end,
     * which ipfixprobe treats as an unreadable message */
    d_hdr(&m, 5, 0x8180, 1, 65535, 0, 0);
    d_question(&m, "x.example", 1);
    d_ptr(&m, 12);
    d_rrfix(&m, 1, 1, 77, 4);
    d_raw(&m, "\x01\x02\x03\x04", 4);
    assert_int_equal(dns_one("dns", &m, -1), 0);
    /* ... while passivedns keeps the answer it read */
    assert_int_equal(dns_one("passivedns", &m, -1), 1);
    assert_string_equal(csv_of(0, 0, "DNS_IP"), "1.2.3.4");

    /* QDCOUNT 65535 with one question: a short question keeps the record */
    d_hdr(&m, 5, 0x0100, 65535, 0, 0, 0);
    d_question(&m, "x.example", 1);
    d_u8(&m, 0);
    d_u8(&m, 0);
    assert_int_equal(dns_one("dns", &m, -1), 1);
    assert_string_equal(csv(0, "DNS_NAME"), "\"x.example\"");

    /* A short A RDATA at the very end would make ipfixprobe read stray
     * memory: flowprobe abandons the message */
    d_hdr(&m, 5, 0x8180, 1, 1, 0, 0);
    d_question(&m, "x.example", 1);
    d_ptr(&m, 12);
    d_rrfix(&m, 1, 1, 77, 2);
    d_raw(&m, "\x01\x02", 2);
    assert_int_equal(dns_one("dns", &m, -1), 0);
}

/* Every cut of a full response: no read past the capture, sane records. */
static void test_dns_truncation_every_length(void **state)
{
    dmsg_t m;
    (void)state;

    d_hdr(&m, 5, 0x8180, 1, 3, 1, 1);
    d_question(&m, "www.example.com", 1);
    d_ptr(&m, 12);
    d_rrfix(&m, 5, 1, 10, 6);
    d_raw(&m,
          "\x03"
          "web"
          "\xC0\x10",
          6);
    d_ptr(&m, 12);
    d_rrfix(&m, 1, 1, 20, 4);
    d_raw(&m, "\x0a\x00\x00\x01", 4);
    d_ptr(&m, 12);
    d_rrfix(&m, 28, 1, 30, 16);
    d_raw(&m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    d_ptr(&m, 16);
    d_rrfix(&m, 2, 1, 40, 2);
    d_ptr(&m, 16);
    d_opt(&m, 1400, 1);

    assert_int_equal(dns_one("dns", &m, -1), 1);
    assert_string_equal(rdata(0), "web.example.com");
    assert_int_equal(u64(0, "DNS_PSIZE"), 1400);
    for (long cut = 0; cut < (long)m.n; cut++) {
        unsigned n = dns_one("dns", &m, cut);
        assert_true(n <= 1);
        if (n)
            assert_true(u64(0, "DNS_RLENGTH") <= 159);
        /* and the same cut as the message's real length */
        dmsg_t s = m;
        s.n = (size_t)cut;
        n = dns_one("dns", &s, -1);
        assert_true(n <= 1);
        if (cut < FK_DNS_HDR_LEN)
            assert_int_equal(n, 0);
        n = dns_one("passivedns", &s, -1);
        assert_true(n <= 2);
    }
    assert_int_equal(dns_one("passivedns", &m, -1), 2);
}

/* ------------------------------------------------------------ passivedns */

static void test_pdns_answers(void **state)
{
    dmsg_t q, r;
    (void)state;

    d_hdr(&q, 0x4242, 0x0100, 1, 0, 0, 0);
    d_question(&q, "www.example.com", 1);
    d_hdr(&r, 0x4242, 0x8180, 1, 4, 0, 0);
    d_question(&r, "www.example.com", 1);
    d_ptr(&r, 12);
    d_rrfix(&r, 5, 1, 10, 6); /* CNAME: no record */
    d_raw(&r,
          "\x03"
          "web"
          "\xC0\x10",
          6);
    d_ptr(&r, 45); /* web.example.com, the CNAME's target */
    d_rrfix(&r, 1, 1, 20, 4);
    d_raw(&r, "\x0a\x00\x00\x01", 4);
    d_ptr(&r, 45);
    d_rrfix(&r, 1, 1, 21, 4);
    d_raw(&r, "\x0a\x00\x00\x02", 4);
    d_ptr(&r, 45);
    d_rrfix(&r, 28, 1, 22, 16);
    d_raw(&r, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);

    fp_cache_t *c = start("passivedns");
    d_send(c, 17, 0, 40000, 53, q.b, q.n, -1, 1 * SEC);
    d_send(c, 17, 1, 40000, 53, r.b, r.n, -1, 1 * SEC + 1000);
    finish(c);

    /* the query does not end the flow; the response does, with 3 records */
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_flow[0].packets, 1);
    assert_int_equal(g_flow[0].packets_rev, 1);
    assert_int_equal(g_flow[0].end_reason, FP_END_FORCED);
    assert_int_equal(g_nrec[0], 3);
    static const char *ips[] = {"10.0.0.1", "10.0.0.2", "2001:db8::1"};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(u64_of(0, i, "DNS_ID"), 0x4242);
        assert_int_equal(u64_of(0, i, "DNS_RR_TTL"), 20 + i);
        assert_int_equal(u64_of(0, i, "DNS_ATYPE"), i < 2 ? 1 : 28);
        assert_string_equal(csv_of(0, i, "DNS_IP"), ips[i]);
        assert_string_equal(csv_of(0, i, "DNS_NAME"), "\"web.example.com\"");
    }
}

/* A response with one PTR answer for owner `owner`; returns the records. */
static unsigned pdns_ptr(const char *owner)
{
    dmsg_t r;

    d_hdr(&r, 3, 0x8180, 1, 1, 0, 0);
    d_question(&r, owner, 12);
    d_ptr(&r, 12);
    d_rrfix(&r, 12, 1, 99, 12);
    d_name(&r, "host.example");
    return dns_one("passivedns", &r, -1);
}

static void test_pdns_ptr(void **state)
{
    (void)state;

    assert_int_equal(pdns_ptr("4.3.2.1.in-addr.arpa"), 1);
    assert_string_equal(csv_of(0, 0, "DNS_IP"), "1.2.3.4");
    assert_string_equal(csv_of(0, 0, "DNS_NAME"), "\"host.example\"");
    assert_int_equal(u64_of(0, 0, "DNS_ATYPE"), 12);
    assert_int_equal(u64_of(0, 0, "DNS_RR_TTL"), 99);

    /* case-insensitive suffix; octets read as strtoull base 0 does */
    assert_int_equal(pdns_ptr("0x10.010.2.1.IN-ADDR.ARPA"), 1);
    assert_string_equal(csv_of(0, 0, "DNS_IP"), "1.2.8.16");

    /* RFC 3596 2.5: nibbles, least significant first */
    assert_int_equal(
        pdns_ptr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"), 1);
    assert_string_equal(csv_of(0, 0, "DNS_IP"), "2001:db8::1");

    /* not a reverse name, too many or too few octets, out of range, bad nibble */
    assert_int_equal(pdns_ptr("host.example.com"), 0);
    assert_int_equal(pdns_ptr("5.4.3.2.1.in-addr.arpa"), 0);
    assert_int_equal(pdns_ptr("3.2.1.in-addr.arpa"), 0);
    assert_int_equal(pdns_ptr("256.3.2.1.in-addr.arpa"), 0);
    assert_int_equal(pdns_ptr("-1.3.2.1.in-addr.arpa"), 0);
    assert_int_equal(pdns_ptr("in-addr.arpa"), 0);
    assert_int_equal(pdns_ptr("abcdefghijkl"), 0); /* 12 chars: ipfixprobe 5.x's npos trap */
    assert_int_equal(pdns_ptr("4.3.2.1.in-addr.arpa.in-addr.arpa"), 0);
    assert_int_equal(
        pdns_ptr("g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"), 0);
    assert_int_equal(pdns_ptr("1.0.ip6.arpa"), 0);
}

static void test_pdns_limits(void **state)
{
    dmsg_t r;
    (void)state;

    /* more answers than the state holds: the first PDNS_MAX_RECORDS (8) */
    d_hdr(&r, 3, 0x8180, 1, 12, 0, 0);
    d_question(&r, "many.example", 1);
    for (int i = 0; i < 12; i++) {
        d_ptr(&r, 12);
        d_rrfix(&r, 1, 1, (uint32_t)i, 4);
        d_u32(&r, 0x0a000000u + (uint32_t)i);
    }
    assert_int_equal(dns_one("passivedns", &r, -1), 8);
    assert_string_equal(csv_of(0, 7, "DNS_IP"), "10.0.0.7");

    /* an unreadable owner after a good answer keeps the good one */
    d_hdr(&r, 3, 0x8180, 1, 2, 0, 0);
    d_question(&r, "loop.example", 1);
    d_ptr(&r, 12);
    d_rrfix(&r, 1, 1, 1, 4);
    d_u32(&r, 0x01020304);
    d_ptr(&r, (uint16_t)r.n); /* points at itself */
    d_rrfix(&r, 1, 1, 1, 4);
    d_u32(&r, 0x05060708);
    assert_int_equal(dns_one("passivedns", &r, -1), 1);

    /* a long owner name is cut to 254 octets */
    char longname[5 * 64];
    for (int i = 0; i < 5; i++) {
        memset(longname + 64 * i, 'a' + i, 63);
        longname[64 * i + 63] = i < 4 ? '.' : '\0';
    }
    d_hdr(&r, 3, 0x8180, 1, 1, 0, 0);
    d_question(&r, longname, 1);
    d_ptr(&r, 12);
    d_rrfix(&r, 1, 1, 1, 4);
    d_u32(&r, 0x01020304);
    assert_int_equal(dns_one("passivedns", &r, -1), 1);
    assert_int_equal(strlen(csv_of(0, 0, "DNS_NAME")), 254 + 2);

    /* queries (to port 53) give nothing and do not end the flow */
    d_hdr(&r, 3, 0x0100, 1, 0, 0, 0);
    d_question(&r, "q.example", 1);
    fp_cache_t *c = start("passivedns");
    d_send(c, 17, 0, 40000, 53, r.b, r.n, -1, 1 * SEC);
    d_send(c, 17, 0, 40000, 53, r.b, r.n, -1, 2 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_flow[0].packets, 2);
    assert_int_equal(g_nrec[0], 0);
}

/* ------------------------------------------------------------ the reader */

/* Every field of every record of flow k, as the CSV output prints them. */
static const char *pdns_all(size_t k)
{
    static char out[MAXR * 1024];
    size_t n = 0;

    out[0] = 0;
    for (unsigned i = 0; i < g_nrec[k]; i++)
        for (size_t f = 0; f < g_pi.p->nfields; f++)
            n += (size_t)snprintf(out + n, sizeof(out) - n, "%s|",
                                  csv_of(k, i, g_pi.p->fields[f].name));
    assert_true(n < sizeof(out));
    return out;
}

/*
 * A flow in a record an earlier response filled (the record freed last is
 * the next one taken): only the record count is zeroed for it, so it must
 * give what a fresh cache gives -- no records for a flow that is not a
 * response, and an A answer without the bytes an AAAA answer left.
 */
static void test_pdns_reused_record(void **state)
{
    dmsg_t q, big, a;
    char fresh[2][MAXR * 1024];
    (void)state;

    d_hdr(&q, 7, 0x0100, 1, 0, 0, 0);
    d_question(&q, "a.example", 1);
    d_hdr(&big, 8, 0x8180, 1, 3, 0, 0);
    d_question(&big, "a-much-longer-name.in.some.example.org", 28);
    for (int i = 0; i < 3; i++) {
        d_ptr(&big, 12);
        d_rrfix(&big, 28, 1, 1000, 16);
        d_raw(&big, "\xff\xee\xdd\xcc\xbb\xaa\x99\x88\x77\x66\x55\x44\x33\x22\x11\x01", 16);
    }
    d_hdr(&a, 9, 0x8180, 1, 1, 0, 0);
    d_question(&a, "a.example", 1);
    d_ptr(&a, 12);
    d_rrfix(&a, 1, 1, 5, 4);
    d_raw(&a, "\x0a\x00\x00\x07", 4);

    for (int dirty = 0; dirty < 2; dirty++) {
        for (int resp = 0; resp < 2; resp++) {
            fp_cache_t *c = start("passivedns");
            if (dirty) {
                d_send(c, 17, 1, 40000, 53, big.b, big.n, -1, 1 * SEC); /* 3 records */
                fp_cache_flush(c);
                assert_int_equal(g_nout, 1);
                assert_int_equal(g_nrec[0], 3);
            }
            size_t k = g_nout;
            /* another flow (client port 40001): a query, or a response */
            if (resp)
                d_send(c, 17, 1, 40001, 53, a.b, a.n, -1, 2 * SEC);
            else
                d_send(c, 17, 0, 40001, 53, q.b, q.n, -1, 2 * SEC);
            finish(c);
            assert_int_equal(g_nout, k + 1);
            assert_int_equal(g_nrec[k], resp ? 1 : 0);
            if (!dirty)
                strcpy(fresh[resp], pdns_all(k));
            else
                assert_string_equal(pdns_all(k), fresh[resp]);
        }
    }
    assert_string_equal(fresh[1], "9|5|1|10.0.0.7|\"a.example\"|");
}

/*
 * dns clears its record itself when a message arrives (dns_parse), not the
 * cache: a flow in a record that an earlier flow filled (EDNS, answers,
 * rdata) must print what it prints in a fresh cache -- a query without EDNS
 * or answers leaves DNS_PSIZE, DNS_DO, DNS_RR_TTL and DNS_RDATA at zero.
 */
static void test_dns_reused_record(void **state)
{
    dmsg_t big, q, none;
    char fresh[3][4 * MAXREC];
    (void)state;

    d_hdr(&big, 1, 0x8180, 1, 1, 0, 1);
    d_question(&big, "a-much-longer-name.in.some.example.org", 16);
    d_ptr(&big, 12);
    d_rrfix(&big, 16, 1, 86400, 12);
    d_raw(&big, "\x0bhello world", 12);
    d_opt(&big, 4096, 1);
    d_hdr(&q, 2, 0x0100, 1, 0, 0, 0);
    d_question(&q, "b.example", 1);
    d_hdr(&none, 3, 0x8182, 0, 0, 0, 0); /* no question at all */

    const dmsg_t *later[3] = {&q, &none, &big};
    for (int dirty = 0; dirty < 2; dirty++) {
        for (int m = 0; m < 3; m++) {
            fp_cache_t *c = start("dns");
            if (dirty) {
                d_send(c, 17, 1, 40000, 53, big.b, big.n, -1, 1 * SEC);
                assert_int_equal(g_nout, 1);
                assert_int_equal(g_nrec[0], 1);
            }
            size_t k = g_nout;
            d_send(c, 17, m == 0 ? 0 : 1, 40001, 53, later[m]->b, later[m]->n, -1, 2 * SEC);
            finish(c);
            pt_same_as_fresh(dirty, fresh[m], k, 1);
            if (m == 0) { /* the query: nothing of big's shows */
                assert_int_equal(u64(k, "DNS_PSIZE"), 0);
                assert_int_equal(u64(k, "DNS_RR_TTL"), 0);
                assert_int_equal(u64(k, "DNS_RLENGTH"), 0);
            }
        }
    }
}

static void test_reader_direct(void **state)
{
    (void)state;
    fk_dns_msg_t m;
    fk_dns_hdr_t h;
    uint8_t name[8];
    size_t n;
    uint32_t next;
    static const uint8_t msg[] = {0,   1,   0x81, 0x80, 0, 1,   0,   0,   0, 0, 0, 0, 5, 'h',
                                  'e', 'l', 'l',  'o',  3, 'c', 'o', 'm', 0, 0, 1, 0, 1};

    assert_int_equal(fk_dns_open(&m, &h, msg, 11, false), FK_DNS_ENOTMSG);
    assert_int_equal(fk_dns_open(&m, &h, NULL, 0, true), FK_DNS_ENOTMSG);
    assert_int_equal(fk_dns_open(&m, &h, msg, sizeof(msg), false), FK_DNS_OK);
    assert_int_equal(h.flags, 0x8180);
    /* a small buffer keeps the first octets, the name is still validated */
    assert_int_equal(fk_dns_name(&m, 12, name, sizeof(name), &n), FK_DNS_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(name, "hello.co", 8);
    assert_int_equal(fk_dns_name_skip(&m, 12, &next), FK_DNS_OK);
    assert_int_equal(next, 23);
    assert_int_equal(fk_dns_name(&m, (uint32_t)sizeof(msg), name, sizeof(name), &n),
                     FK_DNS_EBADNAME);
    assert_int_equal(fk_dns_name_skip(&m, (uint32_t)sizeof(msg), &next), FK_DNS_EBADNAME);
    fk_dns_rr_t rr;
    assert_int_equal(fk_dns_rr(&m, 12, &rr), FK_DNS_ESHORT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_query_and_response),
        cmocka_unit_test(test_dns_rdata_formats),
        cmocka_unit_test(test_dns_truncated_fields),
        cmocka_unit_test(test_dns_flush_and_recreate),
        cmocka_unit_test(test_dns_tcp),
        cmocka_unit_test(test_dns_hostile_names),
        cmocka_unit_test(test_dns_hostile_counts),
        cmocka_unit_test(test_dns_truncation_every_length),
        cmocka_unit_test(test_pdns_answers),
        cmocka_unit_test(test_pdns_ptr),
        cmocka_unit_test(test_pdns_limits),
        cmocka_unit_test(test_dns_reused_record),
        cmocka_unit_test(test_pdns_reused_record),
        cmocka_unit_test(test_reader_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
