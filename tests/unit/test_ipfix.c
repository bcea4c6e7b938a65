/*
 * test_ipfix.c - the IPFIX message writer and reader (lib/ipfix), and the
 * bytes flowprobe's ipfix output puts on the wire for ipfixprobe's basic
 * template.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ipfix/ipfix.h"
#include "probe/flow.h"
#include "probe/plugin.h"
#include "probe/output/output.h"

extern const fp_output_ops_t fp_output_ipfix;

/* ---- a template store for the reader ---- */

typedef struct store_st {
    fk_ipfix_tmpl_t t[8];
    int used[8];
} store_t;

static const fk_ipfix_tmpl_t *lookup(void *s, uint32_t odid, uint16_t id)
{
    store_t *st = s;
    (void)odid;
    for (int i = 0; i < 8; i++)
        if (st->used[i] && st->t[i].id == id)
            return &st->t[i];
    return NULL;
}

static int put(void *s, uint32_t odid, const fk_ipfix_tmpl_t *t)
{
    store_t *st = s;
    (void)odid;
    for (int i = 0; i < 8; i++)
        if (!st->used[i] || st->t[i].id == t->id) {
            st->used[i] = 1;
            st->t[i] = *t;
            return 0;
        }
    return -1;
}

static const fk_ipfix_store_ops_t ops = {lookup, put};

typedef struct seen_st {
    int records;
    uint8_t last[64];
    size_t last_len;
} seen_t;

static int on_rec(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const fk_ipfix_value_t *v,
                  size_t n)
{
    seen_t *s = arg;
    (void)odid;
    (void)t;
    s->records++;
    s->last_len = 0;
    for (size_t i = 0; i < n && s->last_len + v[i].len <= sizeof(s->last); i++) {
        memcpy(s->last + s->last_len, v[i].p, v[i].len);
        s->last_len += v[i].len;
    }
    return 0;
}

static size_t hex2bin(const char *hex, uint8_t *out)
{
    size_t n = 0;
    unsigned v;
    while (*hex) {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static void test_ntp(void **state)
{
    (void)state;
    /* 1970-01-01 is NTP second 2208988800. */
    assert_int_equal(fk_ipfix_ntp_from_ns(0) >> 32, 2208988800ULL);
    assert_int_equal(fk_ipfix_ntp_from_ns(500000000ULL) & 0xffffffffULL, 0x80000000ULL);
    /* Every microsecond of a second survives the round trip exactly. */
    for (uint64_t us = 0; us < 1000000; us += 997) {
        uint64_t ns = 1477674114000000000ULL + us * 1000;
        assert_int_equal(fk_ipfix_ns_from_ntp(fk_ipfix_ntp_from_ns(ns)), ns);
    }
    assert_int_equal(fk_ipfix_ns_from_ntp(fk_ipfix_ntp_from_ns(999999999ULL)), 999999999ULL);
}

static void test_varlen_and_basiclist(void **state)
{
    (void)state;
    uint8_t b[16], want[32];

    assert_int_equal(fk_ipfix_put_varlen(b, 0), 1);
    assert_int_equal(b[0], 0);
    assert_int_equal(fk_ipfix_put_varlen(b, 254), 1);
    assert_int_equal(b[0], 254);
    assert_int_equal(fk_ipfix_put_varlen(b, 255), 3);
    assert_int_equal(b[0], 255);
    assert_int_equal(b[1], 0);
    assert_int_equal(b[2], 255);
    assert_int_equal(fk_ipfix_put_varlen(b, 1000), 3);
    assert_int_equal(b[1] << 8 | b[2], 1000);

    /* ipfixprobe's pstats packet lengths [60, 1500, 52] (facts file, [PBL]). */
    size_t n = hex2bin("FF 00 0F 03 83 F5 00 02 00 00 1F 79", want);
    assert_int_equal(fk_ipfix_put_basiclist(b, 8057, 1013, 2, 3), 12);
    assert_memory_equal(b, want, n);
    /* An IANA element carries no enterprise number. */
    assert_int_equal(fk_ipfix_put_basiclist(b, 0, 7, 2, 2), 8);
    assert_int_equal(b[4], 0x00);
    assert_int_equal(b[5], 0x07);

    uint8_t sem;
    fk_ipfix_ie_t ie;
    const uint8_t *el;
    size_t ellen;
    uint8_t list[] = {0x03, 0x83, 0xF5, 0x00, 0x02, 0x00, 0x00, 0x1F, 0x79, 0, 60, 5, 220, 0, 52};
    assert_int_equal(fk_ipfix_basiclist(list, sizeof(list), &sem, &ie, &el, &ellen), 0);
    assert_int_equal(sem, 3);
    assert_int_equal(ie.pen, 8057);
    assert_int_equal(ie.id, 1013);
    assert_int_equal(ie.len, 2);
    assert_int_equal(ellen, 6);
    /* an element length that does not divide the rest is refused */
    assert_int_equal(fk_ipfix_basiclist(list, sizeof(list) - 1, &sem, &ie, &el, &ellen), -1);
    assert_int_equal(fk_ipfix_basiclist(list, 4, &sem, &ie, &el, &ellen), -1);
}

/* Build a message with a template and two records and read it back. */
static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[512];
    fk_ipfix_msg_t m;
    const fk_ipfix_ie_t ie[] = {
        {0, 8, 4},
        {8057, 100, FK_IPFIX_VARLEN},
        {29305, 1, 8},
    };
    store_t st = {0};
    seen_t seen = {0};
    fk_ipfix_stats_t stats = {0};
    fk_err_t e;

    fk_ipfix_msg_begin(&m, buf, sizeof(buf), 7, 1000);
    assert_true(fk_ipfix_msg_set(&m, FK_IPFIX_SET_TEMPLATE));
    assert_true(fk_ipfix_put_template(&m, 300, ie, 3));
    assert_true(fk_ipfix_msg_set(&m, 300));
    for (int r = 0; r < 2; r++) {
        uint8_t *p = fk_ipfix_msg_room(&m, 4 + 1 + 5 + 8);
        assert_non_null(p);
        fk_ipfix_be32(p, 0x0a000001 + (uint32_t)r);
        p[4] = 5;
        memcpy(p + 5, "hello", 5);
        fk_ipfix_be64(p + 10, 42 + (uint64_t)r);
        m.len += 18;
        m.records++;
    }
    size_t len = fk_ipfix_msg_end(&m);
    fk_ipfix_msg_set_seq(buf, 99);
    assert_int_equal(buf[2] << 8 | buf[3], len);
    assert_int_equal(buf[11], 99);
    assert_int_equal(fk_ipfix_frame(buf, len), (long)len);
    assert_int_equal(fk_ipfix_frame(buf, len - 1), 0);

    assert_int_equal(fk_ipfix_decode(buf, len, &st, &ops, on_rec, &seen, &stats, &e), 0);
    assert_int_equal(stats.templates, 1);
    assert_int_equal(seen.records, 2);
    assert_int_equal(seen.last_len, 17);
    assert_memory_equal(seen.last, "\x0a\x00\x00\x02hello\x00\x00\x00\x00\x00\x00\x00\x2b", 17);
    const fk_ipfix_tmpl_t *t = lookup(&st, 7, 300);
    assert_non_null(t);
    assert_int_equal(t->nfields, 3);
    assert_int_equal(t->f[1].pen, 8057);
    assert_int_equal(t->f[2].pen, 29305);

    /* Every truncation of the message is refused without over-reading. */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        store_t s2 = {0};
        fk_ipfix_stats_t st2 = {0};
        assert_int_equal(fk_ipfix_decode(copy, cut, &s2, &ops, NULL, NULL, &st2, &e), -1);
        free(copy);
    }
}

static void test_hostile(void **state)
{
    (void)state;
    uint8_t msg[128];
    store_t st = {0};
    fk_ipfix_stats_t stats = {0};
    fk_err_t e;
    size_t n;

    /* data set before any template: counted, not decoded */
    n = hex2bin("000a 0018 00000000 00000000 00000001 0100 0008 01020304", msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, NULL, NULL, &stats, &e), -1);
    assert_int_equal(stats.no_template, 1);
    /* a set longer than the message */
    n = hex2bin("000a 0018 00000000 00000000 00000001 0100 00ff 01020304", msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, NULL, NULL, &stats, &e), -1);
    assert_true(stats.invalid >= 1);
    /* version 9 is not IPFIX */
    n = hex2bin("0009 0010 00000000 00000000 00000001", msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, NULL, NULL, &stats, &e), -1);
    assert_int_equal(stats.unsupported, 1);
    /* template with a field count running past its set */
    n = hex2bin("000a 001c 00000000 00000000 00000001 0002 000c 0100 0005 0008 0004", msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, NULL, NULL, &stats, &e), -1);
    /* template of all-zero-length fields */
    n = hex2bin("000a 001c 00000000 00000000 00000001 0002 000c 0100 0001 0008 0000", msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, NULL, NULL, &stats, &e), -1);
    /* variable-length field whose length runs past the set */
    n = hex2bin("000a 0024 00000000 00000000 00000001 0002 000c 0101 0001 0064 ffff"
                "0101 0008 05 414243",
                msg);
    seen_t seen = {0};
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, on_rec, &seen, &stats, &e), -1);
    assert_int_equal(seen.records, 0);
    /* padding after the last record is not a record */
    n = hex2bin("000a 0024 00000000 00000000 00000001 0002 000c 0102 0001 0008 0004"
                "0102 0008 01020304",
                msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, on_rec, &seen, &stats, &e), 0);
    assert_int_equal(seen.records, 1);
    n = hex2bin("000a 0026 00000000 00000000 00000001 0002 000c 0102 0001 0008 0004"
                "0102 000a 01020304 0000",
                msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, on_rec, &seen, &stats, &e), 0);
    assert_int_equal(seen.records, 2);
    /* withdrawal (count 0) removes the template */
    n = hex2bin("000a 0018 00000000 00000000 00000001 0002 0008 0102 0000", msg);
    assert_int_equal(fk_ipfix_decode(msg, n, &st, &ops, NULL, NULL, &stats, &e), 0);
    assert_int_equal(stats.withdrawals, 1);
    assert_int_equal(lookup(&st, 1, 0x102)->nfields, 0);
}

/* A fixed-record function: takes records 0, 2, 4 ... by their bytes, asks for
 * the others as values; stops after `stop_at` records when set. */
typedef struct fixed_seen_st {
    int calls;
    int stop_at;
    const uint8_t *rec[8];
    uint32_t len[8];
} fixed_seen_t;

static fixed_seen_t g_fixed;

static int on_fixed(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const uint8_t *rec)
{
    (void)arg;
    (void)odid;
    int k = g_fixed.calls++;
    if (k < 8) {
        g_fixed.rec[k] = rec;
        g_fixed.len[k] = t->fixed_len;
    }
    if (g_fixed.stop_at && g_fixed.calls >= g_fixed.stop_at)
        return 1;
    return k % 2 ? FK_IPFIX_AS_VALUES : 0;
}

/*
 * fk_ipfix_decode_fixed: a fixed-length template's records go to the fixed
 * function as their bytes (one after another, padding left out); a record it
 * hands back goes to the record function as values; a template with a
 * variable-length field goes to the record function only; a non-zero answer
 * stops the message.
 */
static void test_fixed_records(void **state)
{
    (void)state;
    uint8_t msg[128];
    store_t st = {0};
    fk_ipfix_stats_t stats = {0};
    fk_ipfix_hdr_t hdr;
    fk_err_t e;
    seen_t seen = {0};

    /* template 0x102: id 8 (4 bytes), id 4 (1 byte); three records and 2 bytes of padding */
    size_t n = hex2bin("000a 0035 00000000 00000000 00000001 0002 0010 0102 0002 0008 0004"
                       "0004 0001 0102 0015 0a000001 06 0a000002 11 0a000003 01 0000",
                       msg);
    assert_int_equal(msg[3], n);
    memset(&g_fixed, 0, sizeof(g_fixed));
    assert_int_equal(fk_ipfix_decode_fixed(msg, n, FK_IPFIX_ALL, &hdr, &st, &ops, on_rec, on_fixed,
                                           &seen, &stats, &e),
                     0);
    assert_int_equal(g_fixed.calls, 3);
    assert_int_equal(stats.records, 3);
    for (int k = 0; k < 3; k++) {
        assert_ptr_equal(g_fixed.rec[k], msg + 36 + 5 * k);
        assert_int_equal(g_fixed.len[k], 5);
    }
    assert_int_equal(seen.records, 1); /* the second, handed back */
    assert_int_equal(seen.last_len, 5);
    assert_memory_equal(seen.last, "\x0a\x00\x00\x02\x11", 5);

    /* stopping: the third record is not offered */
    memset(&g_fixed, 0, sizeof(g_fixed));
    g_fixed.stop_at = 2;
    seen.records = 0;
    memset(&stats, 0, sizeof(stats));
    assert_int_equal(fk_ipfix_decode_fixed(msg, n, FK_IPFIX_ALL, &hdr, &st, &ops, on_rec, on_fixed,
                                           &seen, &stats, &e),
                     0);
    assert_int_equal(g_fixed.calls, 2);
    assert_int_equal(seen.records, 0);

    /* a variable-length field: values only */
    n = hex2bin("000a 0028 00000000 00000000 00000001 0002 000c 0103 0001 0064 ffff"
                "0103 000c 03 414243 02 4142 00",
                msg);
    assert_int_equal(msg[3], n);
    memset(&g_fixed, 0, sizeof(g_fixed));
    seen.records = 0;
    assert_int_equal(fk_ipfix_decode_fixed(msg, n, FK_IPFIX_ALL, &hdr, &st, &ops, on_rec, on_fixed,
                                           &seen, &stats, &e),
                     0);
    assert_int_equal(g_fixed.calls, 0);
    assert_int_equal(seen.records, 3);
    assert_int_equal(seen.last_len, 0);
}

/* flowprobe's ipfix output, to a file: the basic IPv4 template is ipfixprobe's,
 * byte for byte (facts file, section 3), and a record decodes back. */
static void test_output_basic_template(void **state)
{
    (void)state;
    char path[] = "/tmp/fk_ipfix_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);

    char arg[128];
    snprintf(arg, sizeof(arg), "ipfix;file=%s;d=7", path);
    fk_opts_t o;
    fk_err_t e;
    assert_int_equal(fk_opts_parse(arg, &o, &e), 0);
    fp_schema_t s = {fp_basic_fields, fp_basic_nfields, NULL, 0};
    void *ctx;
    assert_int_equal(fp_output_ipfix.open(&ctx, &o, &s, &e), 0);
    fk_opts_free(&o);

    fp_flow_t f;
    memset(&f, 0, sizeof(f));
    f.ip_version = 4;
    f.src_ip[10] = f.src_ip[11] = 0xff;
    f.dst_ip[10] = f.dst_ip[11] = 0xff;
    f.src_ip[12] = 10;
    f.src_ip[15] = 1;
    f.dst_ip[12] = 10;
    f.dst_ip[15] = 2;
    f.bytes = 1000;
    f.bytes_rev = 2000;
    f.packets = 3;
    f.packets_rev = 4;
    f.proto = 6;
    f.src_port = 1234;
    f.dst_port = 80;
    f.end_reason = 3;
    f.time_first = 1477674114088536000ULL;
    f.time_last = 1477674117087644000ULL;
    assert_int_equal(fp_output_ipfix.write(ctx, &f), 0);
    assert_int_equal(fp_output_ipfix.close(ctx, &e), 0);

    uint8_t file[1024];
    FILE *fp = fopen(path, "rb");
    size_t len = fread(file, 1, sizeof(file), fp);
    fclose(fp);
    unlink(path);

    uint8_t want[128];
    size_t wn = hex2bin("0102 0012"
                        "0088 0001 0001 0008 8001 0008 00007279 0002 0008 8002 0008 00007279"
                        "009A 0008 009B 0008 003C 0001 0004 0001 0006 0001 8006 0001 00007279"
                        "0007 0002 000B 0002 000A 0004 0008 0004 000C 0004 0038 0006 0050 0006",
                        want);
    assert_int_equal(wn, 88);
    /* first message: header, template set header, the template */
    assert_true(len > 16 + 4 + wn);
    assert_int_equal(file[16] << 8 | file[17], 2);
    assert_memory_equal(file + 20, want, wn);
    assert_int_equal(file[15], 1); /* observation domain 1 by default */

    /* second message: one data record of 81 bytes (facts: v4 record size) */
    size_t m1 = (size_t)(file[2] << 8 | file[3]);
    store_t st = {0};
    seen_t seen = {0};
    fk_ipfix_stats_t stats = {0};
    assert_int_equal(fk_ipfix_decode(file, m1, &st, &ops, NULL, NULL, &stats, &e), 0);
    assert_int_equal(fk_ipfix_decode(file + m1, len - m1, &st, &ops, on_rec, &seen, &stats, &e), 0);
    assert_int_equal(seen.records, 1);
    assert_int_equal((file[m1 + 16] << 8 | file[m1 + 17]), 258);
    assert_int_equal((file[m1 + 18] << 8 | file[m1 + 19]), 4 + 81);
    const uint8_t *r = file + m1 + 20;
    assert_int_equal(r[0], 3);               /* flowEndReason */
    assert_int_equal(r[1 + 7], 1000 & 0xff); /* octets, 8 bytes */
    assert_int_equal(r[25 + 7], 4);          /* reverse packets, 8 bytes */
    assert_int_equal(r[49], 4);              /* ipVersion */
    assert_int_equal(r[57 + 3], 7);          /* ingressInterface = dir= */
    assert_memory_equal(r + 61, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    uint64_t ntp = 0;
    for (int i = 0; i < 8; i++)
        ntp = ntp << 8 | r[33 + i];
    assert_int_equal(fk_ipfix_ns_from_ntp(ntp), f.time_first);
}

/* A plugin record with a string, bytes and arrays, as plugins will have. */
typedef struct prec_st {
    char host[16];
    uint8_t blob[8];
    uint16_t blob_len;
    uint16_t lens[4];
    uint16_t nlens;
    uint64_t times[2];
    uint16_t ntimes;
} prec_t;

static const fk_field_t prec_fields[] = {
    FK_STR(prec_t, host, "T_HOST", "t_host", 8057, 700, 0),
    FK_BYTES(prec_t, blob, blob_len, "T_BLOB", "t_blob", 8057, 701, 0),
    FK_ARRAY(FK_T_A_U16, 2, prec_t, lens, nlens, "T_LENS", "t_lens", 8057, 702, 0),
    FK_ARRAY(FK_T_A_TIME, 8, prec_t, times, ntimes, "T_TIMES", "t_times", 8057, 703, 0),
};

static prec_t g_prec;

static unsigned t_records(void *ctx, const fp_flow_t *f, const void *st)
{
    (void)ctx;
    (void)f;
    (void)st;
    return 1;
}

static const void *t_record(void *ctx, const fp_flow_t *f, const void *st, unsigned i)
{
    (void)ctx;
    (void)f;
    (void)st;
    (void)i;
    return &g_prec;
}

static const fp_plugin_t tplugin = {
    .abi = FP_PLUGIN_ABI,
    .name = "t",
    .fields = prec_fields,
    .nfields = 4,
    .record_size = sizeof(prec_t),
    .records = t_records,
    .record = t_record,
};

typedef struct vals_st {
    fk_ipfix_value_t v[32];
    uint8_t copy[1024];
    size_t n;
} vals_t;

static int keep(void *arg, uint32_t odid, const fk_ipfix_tmpl_t *t, const fk_ipfix_value_t *v,
                size_t n)
{
    vals_t *k = arg;
    size_t off = 0;
    (void)odid;
    (void)t;
    k->n = n;
    for (size_t i = 0; i < n && i < 32; i++) {
        k->v[i] = v[i];
        memcpy(k->copy + off, v[i].p, v[i].len);
        k->v[i].p = k->copy + off;
        off += v[i].len;
    }
    return 0;
}

static void test_output_plugin_fields(void **state)
{
    (void)state;
    char path[] = "/tmp/fk_ipfix_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char arg[128];
    snprintf(arg, sizeof(arg), "ipfix;file=%s", path);

    fp_plugin_inst_t pi = {.p = &tplugin};
    pi.zero_record = calloc(1, sizeof(prec_t));
    fp_schema_t s = {fp_basic_fields, fp_basic_nfields, &pi, 1};
    fk_opts_t o;
    fk_err_t e;
    void *ctx;
    assert_int_equal(fk_opts_parse(arg, &o, &e), 0);
    assert_int_equal(fp_output_ipfix.open(&ctx, &o, &s, &e), 0);
    fk_opts_free(&o);

    memset(&g_prec, 0, sizeof(g_prec));
    strcpy(g_prec.host, "example.org");
    memcpy(g_prec.blob, "\x01\x02\x03", 3);
    g_prec.blob_len = 3;
    g_prec.lens[0] = 60;
    g_prec.lens[1] = 1500;
    g_prec.lens[2] = 52;
    g_prec.nlens = 3;
    g_prec.times[0] = 1477674114088536000ULL;
    g_prec.times[1] = 1477674114089000000ULL;
    g_prec.ntimes = 2;
    fp_flow_t f;
    memset(&f, 0, sizeof(f));
    f.ip_version = 6;
    f.src_ip[15] = 1;
    f.dst_ip[15] = 2;
    assert_int_equal(fp_output_ipfix.write(ctx, &f), 0);
    assert_int_equal(fp_output_ipfix.close(ctx, &e), 0);
    free(pi.zero_record);

    uint8_t file[2048];
    FILE *fp = fopen(path, "rb");
    size_t len = fread(file, 1, sizeof(file), fp);
    fclose(fp);
    unlink(path);
    store_t st = {0};
    fk_ipfix_stats_t stats = {0};
    vals_t k = {0};
    size_t off = 0;
    while (off < len) {
        long m = fk_ipfix_frame(file + off, len - off);
        assert_true(m > 0);
        assert_int_equal(fk_ipfix_decode(file + off, (size_t)m, &st, &ops, keep, &k, &stats, &e),
                         0);
        off += (size_t)m;
    }
    assert_int_equal(stats.records, 1);
    /* IPv6 template (259): basic fields with 27/28, then the plugin's four. */
    size_t b = k.n - 4;
    assert_int_equal(k.v[b].ie->id, 700);
    assert_int_equal(k.v[b].ie->pen, 8057);
    assert_int_equal(k.v[b].ie->len, FK_IPFIX_VARLEN);
    assert_int_equal(k.v[b].len, 11);
    assert_memory_equal(k.v[b].p, "example.org", 11);
    assert_int_equal(k.v[b + 1].len, 3);
    assert_memory_equal(k.v[b + 1].p, "\x01\x02\x03", 3);
    /* basicLists as ipfixprobe writes them: allOf, element with EN 8057 */
    uint8_t sem;
    fk_ipfix_ie_t el;
    const uint8_t *e0;
    size_t elen;
    assert_int_equal(k.v[b + 2].ie->id, FK_IPFIX_IE_BASICLIST);
    assert_int_equal(fk_ipfix_basiclist(k.v[b + 2].p, k.v[b + 2].len, &sem, &el, &e0, &elen), 0);
    assert_int_equal(sem, FK_IPFIX_SEM_ALLOF);
    assert_int_equal(el.id, 702);
    assert_int_equal(el.pen, 8057);
    assert_int_equal(el.len, 2);
    assert_int_equal(elen, 6);
    assert_memory_equal(e0, "\x00\x3c\x05\xdc\x00\x34", 6);
    assert_int_equal(fk_ipfix_basiclist(k.v[b + 3].p, k.v[b + 3].len, &sem, &el, &e0, &elen), 0);
    assert_int_equal(el.len, 8);
    assert_int_equal(elen, 16);
    /* times in milliseconds since the epoch */
    uint64_t ms = 0;
    for (int i = 0; i < 8; i++)
        ms = ms << 8 | e0[i];
    assert_int_equal(ms, 1477674114088ULL);
    /* addresses of an IPv6 flow use the IPv6 elements */
    int saw27 = 0;
    for (size_t i = 0; i < k.n; i++)
        if (k.v[i].ie->pen == 0 && k.v[i].ie->id == 27 && k.v[i].len == 16)
            saw27 = 1;
    assert_true(saw27);
}

static void test_output_bad_options(void **state)
{
    (void)state;
    static const char *bad[] = {
        "ipfix;p=99999",   "ipfix;bogus=1", "ipfix;m=20", "ipfix;u;c",
        "ipfix;file=/x;u", "ipfix;I=-1",    "ipfix;t=x",  "ipfix;file=/nonexistent/dir/f.ipfix",
    };
    fp_schema_t s = {fp_basic_fields, fp_basic_nfields, NULL, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fk_opts_t o;
        fk_err_t e = {{0}};
        void *ctx = NULL;
        assert_int_equal(fk_opts_parse(bad[i], &o, &e), 0);
        assert_int_equal(fp_output_ipfix.open(&ctx, &o, &s, &e), -1);
        assert_true(strlen(e.msg) > 10);
        fk_opts_free(&o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ntp),
        cmocka_unit_test(test_varlen_and_basiclist),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_fixed_records),
        cmocka_unit_test(test_output_basic_template),
        cmocka_unit_test(test_output_plugin_fields),
        cmocka_unit_test(test_output_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
