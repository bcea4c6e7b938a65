/*
 * test_plugin_netbios.c - the netbios plugin, driven through the real packet
 * parser and flow cache: names and suffixes decoded from NBNS questions, one
 * record per name (several per flow), a flow that fills its record slots is
 * exported and continued; and hostile messages (cut at every length into
 * exact-size buffers, so ASan sees any over-read, label lengths other than
 * 32, letters outside 'A'..'P', no question, other ports).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "tests/common/frame4.h"
#include "probe/plugin.h"

#define SEC    1000000000ULL
#define MAXF   64
#define MAXR   32 /* records kept per exported flow */
#define RECMAX 64

/* The plugin under test, and every record of every exported flow. */
static fp_plugin_inst_t g_pi;
static size_t g_nout;
static unsigned g_nrec[MAXF];
static uint8_t g_rec[MAXF][MAXR][RECMAX];
static fp_flow_t g_flow[MAXF];

static const fp_flow_t *collect(void *arg, fp_flow_t *flow)
{
    const void *st = fp_plugin_state(&g_pi, flow);

    (void)arg;
    assert_true(g_nout < MAXF);
    assert_true(g_pi.p->record_size <= RECMAX);
    g_nrec[g_nout] = g_pi.p->records(g_pi.ctx, flow, st);
    assert_true(g_nrec[g_nout] <= MAXR);
    memset(g_rec[g_nout], 0, sizeof(g_rec[0]));
    for (unsigned r = 0; r < g_nrec[g_nout]; r++)
        memcpy(g_rec[g_nout][r], g_pi.p->record(g_pi.ctx, flow, st, r), g_pi.p->record_size);
    g_flow[g_nout++] = *flow;
    return NULL;
}

static const fk_field_t *field(const char *name)
{
    for (size_t i = 0; i < g_pi.p->nfields; i++)
        if (strcmp(g_pi.p->fields[i].name, name) == 0)
            return &g_pi.p->fields[i];
    fail_msg("no field %s", name);
    return NULL;
}

static uint64_t suffix(size_t flow, unsigned r)
{
    return fk_field_u64(field("NB_SUFFIX"), g_rec[flow][r], 0);
}

/* NB_NAME as stored (what IPFIX and JSON carry). */
static const char *name(size_t flow, unsigned r)
{
    return (const char *)g_rec[flow][r] + field("NB_NAME")->off;
}

/* NB_NAME as the CSV output prints it. */
static const char *csv(size_t flow, unsigned r)
{
    static char out[128];
    fk_buf_t b;

    assert_int_equal(fk_buf_init(&b, NULL, 64), 0);
    fk_field_csv(&b, field("NB_NAME"), g_rec[flow][r]);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.data, b.len);
    out[b.len] = 0;
    fk_buf_free(&b);
    return out;
}

static fp_cache_t *start(void)
{
    fp_cache_cfg_t cfg;
    fk_err_t e;

    memset(&g_pi, 0, sizeof(g_pi));
    g_pi.p = fp_plugin_find("netbios");
    assert_non_null(g_pi.p);
    assert_int_equal(g_pi.p->abi, FP_PLUGIN_ABI);
    g_nout = 0;
    fp_cache_cfg_default(&cfg);
    fp_cache_t *c = fp_cache_new(&cfg, &g_pi, 1, collect, NULL, &e);
    assert_non_null(c);
    return c;
}

static void finish(fp_cache_t *c)
{
    fp_cache_flush(c);
    fp_cache_free(c);
}

/*
 * A raw IPv4 frame 10.0.0.1:sport -> 10.0.0.255:dport (rev: the other way)
 * of protocol `proto` (UDP 17, TCP 6), carrying `pay`, captured up to `cap`
 * bytes (0 = all) into a heap buffer of exactly that size.
 */
static void put_ex(fp_cache_t *c, uint8_t proto, int rev, uint16_t sport, uint16_t dport,
                   const void *pay, size_t n, size_t cap, uint64_t t)
{
    static uint8_t f[PT_FRAME4_MAX];
    size_t total = pt_frame4(f, rev ? 255 : 1, sport, rev ? 1 : 255, dport, proto,
                             0x18 /* PSH ACK */, 0, pay, n, 0);
    (void)pt_send4(c, f, total, cap, t);
}

static void put(fp_cache_t *c, uint16_t sport, uint16_t dport, const void *pay, size_t n,
                uint64_t t)
{
    put_ex(c, 17, 0, sport, dport, pay, n, 0, t);
}

/*
 * An NBNS name registration or query (RFC 1002 4.2.2 / 4.2.12) for the
 * 16-octet name `nm` (15 octets padded, then the suffix), first-level
 * encoded; returns its length (50 bytes: header, name, type, class).
 */
static size_t nbns(uint8_t *m, const uint8_t nm[16], uint16_t qdcount)
{
    static const uint8_t hdr[12] = {0x81, 0x23, 0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1};
    size_t n = 0;

    memcpy(m, hdr, sizeof(hdr));
    m[4] = (uint8_t)(qdcount >> 8);
    m[5] = (uint8_t)qdcount;
    n = sizeof(hdr);
    m[n++] = 32;
    for (int i = 0; i < 16; i++) {
        m[n++] = (uint8_t)('A' + (nm[i] >> 4));
        m[n++] = (uint8_t)('A' + (nm[i] & 15));
    }
    m[n++] = 0; /* end of name (root label) */
    m[n++] = 0; /* QUESTION_TYPE NB */
    m[n++] = 0x20;
    m[n++] = 0; /* QUESTION_CLASS IN */
    m[n++] = 1;
    return n;
}

/* A name padded with spaces to 15 octets plus a suffix. */
static void nbname(uint8_t nm[16], const char *s, uint8_t sfx)
{
    size_t l = strlen(s);

    memset(nm, ' ', 15);
    memcpy(nm, s, l > 15 ? 15 : l);
    nm[15] = sfx;
}

static void test_netbios_names(void **state)
{
    (void)state;
    uint8_t m[64], nm[16];
    size_t n;
    fp_cache_t *c = start();

    /* A host registers three names on one flow. */
    nbname(nm, "MACBOOKPRO-071C", 0x00);
    n = nbns(m, nm, 1);
    put(c, 137, 137, m, n, 1 * SEC);
    memcpy(nm, "\x01\x02__MSBROWSE__\x02\x01", 16);
    n = nbns(m, nm, 1);
    put(c, 137, 137, m, n, 2 * SEC);
    nbname(nm, "WORKGROUP", 0x1d);
    n = nbns(m, nm, 1);
    put(c, 137, 137, m, n, 3 * SEC);
    /* The same name again is a record again. */
    put(c, 137, 137, m, n, 4 * SEC);
    /* A client port asking the name server: the answer (QDCOUNT 0, only
     * an answer record) adds nothing. */
    nbname(nm, "WINDIONLEAF-SUR", 0x20);
    n = nbns(m, nm, 1);
    put(c, 62948, 137, m, n, 1 * SEC);
    n = nbns(m, nm, 0);
    put_ex(c, 17, 1, 137, 62948, m, n, 0, 2 * SEC);
    finish(c);

    assert_int_equal(g_nout, 2);
    for (size_t i = 0; i < g_nout; i++) {
        if (g_flow[i].src_port == 62948) {
            assert_int_equal(g_flow[i].packets, 1);
            assert_int_equal(g_flow[i].packets_rev, 1);
            assert_int_equal(g_nrec[i], 1);
            assert_string_equal(name(i, 0), "WINDIONLEAF-SUR");
            assert_int_equal(suffix(i, 0), 0x20);
            continue;
        }
        assert_int_equal(g_flow[i].packets, 4);
        assert_int_equal(g_nrec[i], 4);
        assert_string_equal(name(i, 0), "MACBOOKPRO-071C");
        assert_int_equal(suffix(i, 0), 0);
        /* Control octets are kept; the CSV output drops them. */
        assert_string_equal(name(i, 1), "\x01\x02__MSBROWSE__\x02");
        assert_string_equal(csv(i, 1), "\"__MSBROWSE__\"");
        assert_int_equal(suffix(i, 1), 1);
        assert_string_equal(name(i, 2), "WORKGROUP      ");
        assert_string_equal(csv(i, 2), "\"WORKGROUP      \"");
        assert_int_equal(suffix(i, 2), 0x1d);
        assert_string_equal(name(i, 3), "WORKGROUP      ");
        assert_int_equal(suffix(i, 3), 0x1d);
    }
}

/* Which packets are looked at: port 137 on either side, any transport. */
static void test_netbios_ports(void **state)
{
    (void)state;
    uint8_t m[64], nm[16];
    size_t n;
    fp_cache_t *c = start();

    nbname(nm, "HOST", 0);
    n = nbns(m, nm, 1);
    put(c, 5000, 6000, m, n, 1 * SEC);            /* not 137: nothing */
    put(c, 137, 6001, m, n, 1 * SEC);             /* from 137 */
    put(c, 6002, 137, m, n, 1 * SEC);             /* to 137 */
    put_ex(c, 6, 0, 6003, 137, m, n, 0, 1 * SEC); /* TCP, as ipfixprobe reads it */
    /* A flow started on other ports never has 137 on a packet; one that
     * started with a non-NBNS packet on 137 gets names from later ones. */
    put(c, 6004, 137, "junk", 4, 1 * SEC);
    put(c, 6004, 137, m, n, 2 * SEC);
    finish(c);

    assert_int_equal(g_nout, 5);
    for (size_t i = 0; i < g_nout; i++) {
        if (g_flow[i].src_port == 5000) {
            assert_int_equal(g_nrec[i], 0);
            continue;
        }
        assert_int_equal(g_nrec[i], 1);
        assert_string_equal(name(i, 0), "HOST           ");
        assert_int_equal(suffix(i, 0), 0);
    }
}

/* More names than a flow holds: the flow is exported and continues. */
static void test_netbios_full(void **state)
{
    (void)state;
    uint8_t m[64], nm[16];
    char s[16];
    fp_cache_t *c = start();

    for (int i = 0; i < 20; i++) {
        s[0] = 'N';
        s[1] = (char)('A' + i);
        s[2] = 0;
        nbname(nm, s, (uint8_t)i);
        size_t n = nbns(m, nm, 1);
        put(c, 137, 137, m, n, (uint64_t)(i + 1) * SEC);
        /* A packet with no name never ends the flow. */
        put(c, 137, 137, m, 12, (uint64_t)(i + 1) * SEC);
    }
    finish(c);

    assert_int_equal(g_nout, 2);
    assert_int_equal(g_nrec[0], 16);
    assert_int_equal(g_nrec[1], 4);
    assert_int_equal(g_flow[0].end_reason, FP_END_FORCED);
    assert_int_equal(g_flow[0].packets, 32); /* 16 names + 16 without */
    assert_int_equal(g_flow[1].packets, 8);
    for (unsigned r = 0; r < 16; r++) {
        assert_int_equal(name(0, r)[1], 'A' + (int)r);
        assert_int_equal(suffix(0, r), r);
    }
    for (unsigned r = 0; r < 4; r++) {
        assert_int_equal(name(1, r)[1], 'A' + 16 + (int)r);
        assert_int_equal(suffix(1, r), 16 + r);
    }
}

/* Every cut of a message: by the capture (caplen) and by the IP length. */
static void test_netbios_truncated(void **state)
{
    (void)state;
    uint8_t m[64], nm[16];
    size_t n;

    nbname(nm, "TISKARNA", 0);
    n = nbns(m, nm, 1);
    for (size_t cut = 0; cut <= n; cut++) {
        fp_cache_t *c = start();
        put_ex(c, 17, 0, 137, 137, m, n, 28 + cut, 1 * SEC); /* snaplen cut */
        put(c, 137, 138, m, cut, 1 * SEC);                   /* short datagram */
        finish(c);
        assert_int_equal(g_nout, 2);
        /* Header, length octet and 32 letters: 45 bytes are needed. */
        unsigned want = cut >= 45 ? 1 : 0;
        assert_int_equal(g_nrec[0], want);
        assert_int_equal(g_nrec[1], want);
        if (want) {
            assert_string_equal(name(0, 0), "TISKARNA       ");
            assert_string_equal(name(1, 0), "TISKARNA       ");
        }
    }
}

static void test_netbios_hostile(void **state)
{
    (void)state;
    uint8_t m[64], bad[64], nm[16];
    size_t n;
    uint16_t port = 1000;
    fp_cache_t *c = start();

    nbname(nm, "VALID", 0x1c);
    n = nbns(m, nm, 1);

    /* Label lengths other than 32: shorter, longer, a compression pointer. */
    const uint8_t lens[] = {0, 1, 31, 33, 63, 0xc0};
    for (size_t i = 0; i < sizeof(lens); i++) {
        memcpy(bad, m, n);
        bad[12] = lens[i];
        put(c, 137, port++, bad, n, 1 * SEC);
    }
    /* Letters outside 'A'..'P' anywhere in the name or the suffix. */
    const uint8_t odd[] = {'Q', 'Z', '@', 'a', 'p', '0', ' ', 0, 0xff};
    const size_t where[] = {13, 14, 29, 43, 44};
    for (size_t i = 0; i < sizeof(odd); i++)
        for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
            memcpy(bad, m, n);
            bad[where[w]] = odd[i];
            put(c, 137, port++, bad, n, 1 * SEC);
        }
    /* No question. */
    memcpy(bad, m, n);
    bad[4] = bad[5] = 0;
    put(c, 137, port++, bad, n, 1 * SEC);
    /* All 0xff, all zero. */
    memset(bad, 0xff, sizeof(bad));
    put(c, 137, port++, bad, sizeof(bad), 1 * SEC);
    memset(bad, 0, sizeof(bad));
    put(c, 137, port++, bad, sizeof(bad), 1 * SEC);
    const uint16_t nbad = (uint16_t)(port - 1000);

    /* Accepted edge cases: QDCOUNT 0xffff (the rest is not read), a 0x00
     * octet in the name (the string ends there), 'P' and 'A' extremes. */
    memcpy(bad, m, n);
    bad[4] = bad[5] = 0xff;
    put(c, 137, 2000, bad, 45, 1 * SEC);
    memcpy(bad, m, n);
    bad[13 + 2 * 3] = bad[14 + 2 * 3] = 'A'; /* octet 3 = 0x00 */
    put(c, 137, 2001, bad, n, 1 * SEC);
    memcpy(bad, m, n);
    memset(bad + 13, 'P', 32); /* fifteen 0xff octets, suffix 0xff */
    put(c, 137, 2002, bad, n, 1 * SEC);
    finish(c);

    assert_int_equal(g_nout, nbad + 3);
    for (size_t i = 0; i < g_nout; i++) {
        switch (g_flow[i].dst_port) {
        case 2000:
            assert_int_equal(g_nrec[i], 1);
            assert_string_equal(name(i, 0), "VALID          ");
            assert_int_equal(suffix(i, 0), 0x1c);
            break;
        case 2001:
            assert_int_equal(g_nrec[i], 1);
            assert_string_equal(name(i, 0), "VAL");
            break;
        case 2002:
            assert_int_equal(g_nrec[i], 1);
            assert_int_equal(strlen(name(i, 0)), 15);
            assert_int_equal((uint8_t)name(i, 0)[14], 0xff);
            assert_int_equal(suffix(i, 0), 0xff);
            assert_string_equal(csv(i, 0), "\"\"");
            break;
        default:
            assert_int_equal(g_nrec[i], 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netbios_names),   cmocka_unit_test(test_netbios_ports),
        cmocka_unit_test(test_netbios_full),    cmocka_unit_test(test_netbios_truncated),
        cmocka_unit_test(test_netbios_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
