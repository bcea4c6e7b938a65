/*
 * test_registry.c - flowcollector's element registry (collector/decode/
 * registry.c) and the extra values of IPFIX records (ipfix.c, format/extras.c).
 *
 *   - the registry is flowprobe's field tables: every exported field of the
 *     basic table and of every plugin is in it, keys are unambiguous once
 *     the template length is known, and a registry name that is also a
 *     GoFlow2 column is one GoFlow2's mapping fills (no duplicate JSON key);
 *   - cross-check against ../shared/reference/ipfixprobe-elements.csv
 *     (ipfixprobe's own element list): same (PEN, id), same wire length
 *     (skipped when the shared folder is absent);
 *   - hand-built IPFIX datagrams decode into named values printed as
 *     flowprobe prints them (JSON and text), unknown elements as
 *     {pen, id, hex}, padding dropped, and hostile lengths never misread;
 *   - the bounds: FC_MAX_UNKNOWN, FC_MAX_EXTRAS, counted in truncated_lists.
 * Datagrams are decoded from a heap copy of exactly their length, so ASan
 * reports any read past them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/decode/decode.h"
#include "collector/decode/registry.h"
#include "collector/format/format.h"
#include "lib/core/buf.h"
#include "probe/flow.h"
#include "probe/plugin.h"

/* ---- byte builder --------------------------------------------------------- */

typedef struct bb_st {
    uint8_t d[65536];
    size_t n;
} bb_t;

static bb_t g_b;

static void b_u8(bb_t *b, uint8_t v)
{
    assert_true(b->n < sizeof(b->d));
    b->d[b->n++] = v;
}

static void b_u16(bb_t *b, uint16_t v)
{
    b_u8(b, (uint8_t)(v >> 8));
    b_u8(b, (uint8_t)v);
}

static void b_u32(bb_t *b, uint32_t v)
{
    b_u16(b, (uint16_t)(v >> 16));
    b_u16(b, (uint16_t)v);
}

static void b_u64(bb_t *b, uint64_t v)
{
    b_u32(b, (uint32_t)(v >> 32));
    b_u32(b, (uint32_t)v);
}

static void b_bytes(bb_t *b, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b_u8(b, ((const uint8_t *)p)[i]);
}

static void b_put16(bb_t *b, size_t at, uint16_t v)
{
    b->d[at] = (uint8_t)(v >> 8);
    b->d[at + 1] = (uint8_t)v;
}

/* RFC 7011 3.1 header; length patched by msg_end. */
static void msg_begin(bb_t *b)
{
    b->n = 0;
    b_u16(b, 10);
    b_u16(b, 0);
    b_u32(b, 1700000000);
    b_u32(b, 0);
    b_u32(b, 1);
}

static void msg_end(bb_t *b)
{
    b_put16(b, 2, (uint16_t)b->n);
}

static size_t set_open(bb_t *b, uint16_t id)
{
    size_t at = b->n;
    b_u16(b, id);
    b_u16(b, 0);
    return at;
}

static void set_close(bb_t *b, size_t at)
{
    b_put16(b, at + 2, (uint16_t)(b->n - at));
}

/* A template set with one template (RFC 7011 3.4.1). */
static void tmpl(bb_t *b, uint16_t id, size_t n, const fk_ipfix_ie_t *ie)
{
    size_t s = set_open(b, FK_IPFIX_SET_TEMPLATE);
    b_u16(b, id);
    b_u16(b, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        b_u16(b, (uint16_t)(ie[i].id | (ie[i].pen ? 0x8000 : 0)));
        b_u16(b, ie[i].len);
        if (ie[i].pen)
            b_u32(b, ie[i].pen);
    }
    set_close(b, s);
}

static void varstr(bb_t *b, const char *s, size_t n)
{
    b_u8(b, (uint8_t)n); /* tests use n < 255 */
    b_bytes(b, s, n);
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct sink_st {
    fc_flow_t f[8];
    size_t n;
    fk_buf_t json, text;
} sink_t;

static sink_t g_sink;

/* Format at emit time: extra values are valid until the next datagram. */
static int collect(void *arg, fc_flow_t *f)
{
    sink_t *s = arg;
    if (s->n < 8)
        s->f[s->n++] = *f;
    assert_int_equal(fc_format_json(&s->json, f, NULL), 0);
    fk_buf_putc(&s->json, '\n');
    assert_int_equal(fc_format_text(&s->text, f, NULL), 0);
    fk_buf_putc(&s->text, '\n');
    return 0;
}

static int decode(fc_state_t *st, const bb_t *b, fc_dstats_t *ds)
{
    uint8_t *copy = malloc(b->n);
    fc_dgram_t dg = {copy, b->n, {4, {192, 0, 2, 1}}, 4739, 1700000000000000000ULL};
    fk_err_t e = {{0}};
    int rc;

    assert_non_null(copy);
    memcpy(copy, b->d, b->n);
    fk_buf_free(&g_sink.json);
    fk_buf_free(&g_sink.text);
    memset(&g_sink, 0, sizeof(g_sink));
    assert_int_equal(fk_buf_init(&g_sink.json, NULL, 4096), 0);
    assert_int_equal(fk_buf_init(&g_sink.text, NULL, 4096), 0);
    rc = fc_ipfix_decode(&dg, collect, &g_sink, st, ds, &e);
    fk_buf_putc(&g_sink.json, '\0');
    fk_buf_putc(&g_sink.text, '\0');
    free(copy); /* the records' extras are not read after this */
    return rc;
}

static void expect_in(const fk_buf_t *b, const char *want)
{
    if (!strstr(b->data, want)) {
        fprintf(stderr, "wanted  %s\nin      %s\n", want, b->data);
        fail();
    }
}

/* ---- the registry itself ---------------------------------------------------- */

static const fk_field_t *find_json(const char *json)
{
    for (size_t i = 0; i < fc_registry_count(); i++)
        if (strcmp(fc_registry_at(i)->f->json, json) == 0)
            return fc_registry_at(i)->f;
    return NULL;
}

static bool in_registry(const fk_field_t *f)
{
    for (size_t i = 0; i < fc_registry_count(); i++) {
        const fk_field_t *r = fc_registry_at(i)->f;
        if (r->pen == f->pen && r->ie == f->ie && r->type == f->type &&
            strcmp(r->json, f->json) == 0)
            return true;
    }
    return false;
}

/* Every exported field of flowprobe's tables is in the registry (built from them). */
static void test_registry_is_flowprobes_tables(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < fp_basic_nfields; i++)
        if (fp_basic_fields[i].ie) {
            assert_true(in_registry(&fp_basic_fields[i]));
            n++;
        }
    for (size_t k = 0; fp_plugins[k]; k++)
        for (size_t j = 0; j < fp_plugins[k]->nfields; j++)
            if (fp_plugins[k]->fields[j].ie) {
                if (!in_registry(&fp_plugins[k]->fields[j])) {
                    print_error("%s %s not in the registry\n", fp_plugins[k]->name,
                                fp_plugins[k]->fields[j].name);
                    fail();
                }
                n++;
            }
    /* fewer entries than fields only where two plugins declare one field */
    assert_true(fc_registry_count() <= n);
    assert_true(fc_registry_count() > 150);
    assert_null(fc_registry_at(fc_registry_count()));
    /* not exported in IPFIX: not in the registry */
    assert_null(find_json("link_bit_field"));
}

/* JSON names need no escaping; one (PEN, id, list) key never names two fields
 * that could both take the same encoding. */
static void test_registry_names_and_keys(void **state)
{
    (void)state;
    for (size_t i = 0; i < fc_registry_count(); i++) {
        const fk_field_t *a = fc_registry_at(i)->f;
        for (const char *p = a->json; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        for (size_t j = i + 1; j < fc_registry_count(); j++) {
            const fk_field_t *b = fc_registry_at(j)->f;
            if (a->pen != b->pen || a->ie != b->ie ||
                fk_ftype_is_array((fk_ftype_t)a->type) != fk_ftype_is_array((fk_ftype_t)b->type))
                continue;
            bool va = a->type == FK_T_STR || a->type == FK_T_BYTES;
            bool vb = b->type == FK_T_STR || b->type == FK_T_BYTES;
            if (va == vb && strcmp(a->json, b->json) != 0) {
                print_error("%s and %s share %u/%u\n", a->name, b->name, a->pen, a->ie);
                fail();
            }
        }
    }
    /* the one shared key: 8057/7 is dns_rdata (bytes) or dns_ip (an address) */
    int rdata = fc_registry_find(8057, 7, false, FK_IPFIX_VARLEN, 5);
    int ip4 = fc_registry_find(8057, 7, false, 4, 4);
    int ip6 = fc_registry_find(8057, 7, false, 16, 16);
    assert_true(rdata >= 0 && ip4 >= 0 && ip6 >= 0);
    assert_string_equal(fc_registry_at((size_t)rdata)->f->json, "dns_rdata");
    assert_string_equal(fc_registry_at((size_t)ip4)->f->json, "dns_ip");
    assert_int_equal(ip4, ip6);
    /* a length the type cannot have is not this field */
    int bad = fc_registry_find(8057, 7, false, 5, 5);
    assert_string_equal(fc_registry_at((size_t)bad)->f->json, "dns_rdata"); /* fixed-length bytes */
    assert_int_equal(fc_registry_find(0, 56, false, 5, 5), -1);             /* src_mac is 6 bytes */
    assert_int_equal(fc_registry_find(8057, 1013, false, FK_IPFIX_VARLEN, 4), -1); /* a list */
    assert_true(fc_registry_find(8057, 1013, true, 2, 4) >= 0);
    assert_int_equal(fc_registry_find(8057, 1013, true, FK_IPFIX_VARLEN, 4), -1);
    assert_int_equal(fc_registry_find(12345, 1, false, 4, 4), -1);
}

/* A registry name that is also a GoFlow2 column must be filled by GoFlow2's
 * mapping (fc_nf_apply), or the JSON would carry the key twice. */
static void test_registry_columns(void **state)
{
    (void)state;
    static const uint8_t zero[16];
    size_t shared = 0;
    for (size_t i = 0; i < fc_registry_count(); i++) {
        const fk_field_t *f = fc_registry_at(i)->f;
        if (fc_column_find(f->json) < 0)
            continue;
        shared++;
        fc_flow_t fl;
        fc_nfctx_t cx = {10, 0, 0, 0, false, false, 0, 0};
        memset(&fl, 0, sizeof(fl));
        unsigned len = fk_ftype_size((fk_ftype_t)f->type);
        if (f->type == FK_T_IP)
            len = 4;
        if (fc_nf_apply(&fl, &cx, f->pen, f->ie, zero, len ? len : 1) != FC_NF_COLUMN) {
            print_error("%s (%u/%u) is a GoFlow2 column name but not GoFlow2's element\n", f->json,
                        f->pen, f->ie);
            fail();
        }
    }
    assert_true(shared >= 10); /* bytes, packets, addresses, ports, ... vlan_id, ip_ttl */
}

/* ---- cross-check with ipfixprobe's element list ------------------------------ */

/* The IPFIX length flowprobe's encoder gives a fixed-size field (probe/output/ipfix.c). */
static int wire_len(const fk_field_t *f)
{
    unsigned w = fk_field_ilen_override(f->flags);
    switch ((fk_ftype_t)f->type) {
    case FK_T_STR:
    case FK_T_BYTES:
        return -1;
    case FK_T_IP:
        return f->pen == 0 && (f->ie == 8 || f->ie == 12) ? 4 : 16;
    case FK_T_TIME:
        return f->pen == 0 && (f->ie == 150 || f->ie == 151) ? 4 : 8;
    default:
        return (int)(w ? w : fk_ftype_size((fk_ftype_t)f->type));
    }
}

static void test_registry_vs_ipfixprobe(void **state)
{
    (void)state;
    char path[4096];
    const char *shared = getenv("FLOWKIT_SHARED");
    if (shared) {
        snprintf(path, sizeof(path), "%s/reference/ipfixprobe-elements.csv", shared);
    } else {
        /* the source tree's ../shared, found from this file's path */
        const char *src = __FILE__;
        const char *cut = strstr(src, "/tests/unit/test_registry.c");
        if (!cut)
            skip();
        snprintf(path, sizeof(path), "%.*s/../shared/reference/ipfixprobe-elements.csv",
                 (int)(cut - src), src);
    }
    FILE *fp = fopen(path, "r");
    if (!fp) {
        print_message("%s absent: cross-check skipped\n", path);
        skip();
    }
    struct {
        uint32_t pen;
        uint16_t id;
        int len;
    } csv[512];
    size_t ncsv = 0, lists = 0;
    char line[512];
    while (fgets(line, sizeof(line), fp) && ncsv < 512) {
        char name[256];
        unsigned pen, id;
        int len;
        if (line[0] == '#' || sscanf(line, "%255[^,],%u,%u,%d", name, &pen, &id, &len) != 4)
            continue;
        csv[ncsv].pen = pen;
        csv[ncsv].id = (uint16_t)id;
        csv[ncsv].len = len;
        lists += pen == 0 && id == FK_IPFIX_IE_BASICLIST;
        ncsv++;
    }
    fclose(fp);
    assert_true(ncsv > 150);
    assert_true(lists > 0);
    size_t checked = 0;
    for (size_t i = 0; i < fc_registry_count(); i++) {
        const fk_field_t *f = fc_registry_at(i)->f;
        if (fk_ftype_is_array((fk_ftype_t)f->type))
            continue; /* basicLists: ipfixprobe lists them as 0/291 */
        bool found = false, len_ok = false;
        for (size_t k = 0; k < ncsv; k++)
            if (csv[k].pen == f->pen && csv[k].id == f->ie) {
                found = true;
                len_ok |= csv[k].len == wire_len(f) ||
                          (f->type == FK_T_IP && csv[k].len == 16 && wire_len(f) == 4);
            }
        if (!found && f->pen == 0) {
            /* IANA defines IANA elements; ipfixprobe's list only has those it uses */
            print_message("%s: IANA %u, not used by ipfixprobe\n", f->name, f->ie);
            continue;
        }
        if (found && !len_ok && strcmp(f->name, "DNS_IP") == 0) {
            /* Known difference, flowprobe's: ipfixprobe's passivedns sends the
             * answer's address in DNS_RDATA (8057/7) as a variable-length
             * value; flowprobe's table declares it an address, which its
             * encoder sends as 16 fixed bytes.  The collector tells the two
             * apart by the template length (test_registry_names_and_keys). */
            print_message("%s: known difference (16 bytes, ipfixprobe: variable)\n", f->name);
            continue;
        }
        if (!found || !len_ok) {
            print_error("%s (%u/%u, length %d): %s in ipfixprobe-elements.csv\n", f->name, f->pen,
                        f->ie, wire_len(f), found ? "other length" : "not");
            fail();
        }
        checked++;
    }
    print_message("%zu registry elements match ipfixprobe's list\n", checked);
}

/* ---- decoding into extra values --------------------------------------------- */

static void test_extras_decode(void **state)
{
    (void)state;
    fc_state_t *st = fc_state_new(0);
    fc_dstats_t ds = {0};
    const fk_ipfix_ie_t ie[] = {
        {0, 8, 4},                                   /* src_addr: GoFlow2 column */
        {0, 1, 8},                                   /* bytes: column */
        {29305, 1, 8},                               /* bytes_rev */
        {0, 136, 1},                                 /* flow_end_reason */
        {39499, 1, FK_IPFIX_VARLEN},                 /* http_request_host */
        {0, 210, 3},                                 /* paddingOctets: dropped */
        {0, FK_IPFIX_IE_BASICLIST, FK_IPFIX_VARLEN}, /* ppi_pkt_lengths */
        {0, FK_IPFIX_IE_BASICLIST, FK_IPFIX_VARLEN}, /* ppi_pkt_times (ms) */
        {8057, 1020, 4},                             /* nts_mean (float32) */
        {8057, 7, 16},                               /* dns_ip (IPv6) */
        {8057, 7, FK_IPFIX_VARLEN},                  /* dns_rdata */
        {0, 197, 1},                                 /* fragmentFlags: column and extra ip_flg */
        {0, 192, 1},                                 /* ipTTL: column ip_ttl */
        {0, 56, 5},                                  /* src_mac with a wrong length: unknown */
        {12345, 77, 2},                              /* unknown enterprise element */
        {0, 60, 1},                                  /* ipVersion: etype */
    };
    const size_t n = sizeof(ie) / sizeof(ie[0]);
    float mean = 92.5f;
    uint32_t mean_bits;
    memcpy(&mean_bits, &mean, 4);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

    msg_begin(&g_b);
    tmpl(&g_b, 300, n, ie);
    size_t s = set_open(&g_b, 300);
    b_u32(&g_b, 0x0a000001);
    b_u64(&g_b, 1000);
    b_u64(&g_b, 2000);
    b_u8(&g_b, 3);
    varstr(&g_b, "ex\"ample.org", 12);
    b_u8(&g_b, 0), b_u8(&g_b, 0), b_u8(&g_b, 0);
    /* basicList (RFC 6313 4.5.1): 255 + 2-byte length, semantic, element id
     * with the enterprise bit, element length, PEN, then the elements */
    b_u8(&g_b, 255), b_u16(&g_b, 9 + 3 * 2), b_u8(&g_b, 3);
    b_u16(&g_b, 0x8000 | 1013), b_u16(&g_b, 2), b_u32(&g_b, 8057);
    b_u16(&g_b, 60), b_u16(&g_b, 1500), b_u16(&g_b, 40);
    b_u8(&g_b, 255), b_u16(&g_b, 9 + 2 * 8), b_u8(&g_b, 3);
    b_u16(&g_b, 0x8000 | 1014), b_u16(&g_b, 8), b_u32(&g_b, 8057);
    b_u64(&g_b, 1700000000123ULL), b_u64(&g_b, 1700000000456ULL);
    b_u32(&g_b, mean_bits);
    b_bytes(&g_b, v6, 16);
    varstr(&g_b, "\x01\x02\xff", 3);
    b_u8(&g_b, 2);
    b_u8(&g_b, 64);
    b_bytes(&g_b, "\x01\x02\x03\x04\x05", 5);
    b_u16(&g_b, 0xbeef);
    b_u8(&g_b, 4);
    set_close(&g_b, s);
    msg_end(&g_b);

    assert_int_equal(decode(st, &g_b, &ds), 0);
    assert_int_equal(g_sink.n, 1);
    const fc_flow_t *f = &g_sink.f[0];
    assert_int_equal(f->bytes, 1000);
    assert_int_equal(f->ip_ttl, 64);
    assert_int_equal(f->etype, 0x0800);
    assert_int_equal(f->truncated_lists, 0);
    /* bytes_rev, flow_end_reason, host, 2 lists, nts_mean, dns_ip, dns_rdata,
     * ip_flg, bad src_mac, unknown: 11 (padding dropped) */
    assert_int_equal(f->n_extras, 11);
    expect_in(&g_sink.json,
              "\"ipv6_routing_header_seg_left\":0,\"bytes_rev\":2000,\"flow_end_reason\":3,"
              "\"http_request_host\":\"ex\\\"ample.org\","
              "\"ppi_pkt_lengths\":[60,1500,40],"
              "\"ppi_pkt_times\":[1700000000123000000,1700000000456000000],"
              "\"nts_mean\":92.500000,\"dns_ip\":\"2001:db8::1\",\"dns_rdata\":\"0102ff\","
              "\"ip_flg\":2,"
              "\"unknown_elements\":[{\"pen\":0,\"id\":56,\"hex\":\"0102030405\"},"
              "{\"pen\":12345,\"id\":77,\"hex\":\"beef\"}]}\n");
    /* ipTTL fills the column only: one "ip_ttl" key */
    expect_in(&g_sink.json, "\"ip_ttl\":64,");
    assert_null(strstr(strstr(g_sink.json.data, "\"ip_ttl\":") + 1, "\"ip_ttl\":"));
    expect_in(&g_sink.text, " bytes_rev=2000 flow_end_reason=3 http_request_host=ex\"ample.org"
                            " ppi_pkt_lengths=[60|1500|40]"
                            " ppi_pkt_times=[2023-11-14T22:13:20.123000|2023-11-14T22:13:20.456000]"
                            " nts_mean=92.500000 dns_ip=2001:db8::1 dns_rdata=0102ff ip_flg=2"
                            " unknown_elements=[0:56:0102030405,12345:77:beef]\n");

    /* protobuf carries no extras: same bytes with and without them */
    fk_buf_t b1, b2;
    fc_flow_t plain = *f;
    plain.n_extras = 0;
    plain.extras = NULL;
    assert_int_equal(fk_buf_init(&b1, NULL, 4096), 0);
    assert_int_equal(fk_buf_init(&b2, NULL, 4096), 0);
    /* (the scratch is still this thread's: nothing was decoded since) */
    assert_int_equal(fc_format_bin(&b1, f, NULL), 0);
    assert_int_equal(fc_format_bin(&b2, &plain, NULL), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    fk_buf_free(&b1);
    fk_buf_free(&b2);
    fc_state_free(st);
}

/* Hostile values: a basicList whose header lies, a list of an unknown element,
 * a list of variable-length elements, a float of 3 bytes: kept as unknown
 * (hex of what was sent), never misread, never read past the value. */
static void test_extras_hostile(void **state)
{
    (void)state;
    fc_state_t *st = fc_state_new(0);
    fc_dstats_t ds = {0};
    const fk_ipfix_ie_t ie[] = {
        {0, FK_IPFIX_IE_BASICLIST, FK_IPFIX_VARLEN},
        {0, FK_IPFIX_IE_BASICLIST, FK_IPFIX_VARLEN},
        {0, FK_IPFIX_IE_BASICLIST, FK_IPFIX_VARLEN},
        {8057, 1020, 3},
        {8057, 1013, FK_IPFIX_VARLEN}, /* a list element sent bare: not the list */
    };
    msg_begin(&g_b);
    tmpl(&g_b, 301, 5, ie);
    size_t s = set_open(&g_b, 301);
    /* element length 2 but 3 bytes of elements */
    b_u8(&g_b, 12), b_u8(&g_b, 3), b_u16(&g_b, 0x8000 | 1013), b_u16(&g_b, 2), b_u32(&g_b, 8057);
    b_u8(&g_b, 1), b_u8(&g_b, 2), b_u8(&g_b, 3);
    /* unknown element */
    b_u8(&g_b, 7), b_u8(&g_b, 3), b_u16(&g_b, 999), b_u16(&g_b, 1), b_u8(&g_b, 9), b_u8(&g_b, 9);
    /* variable-length elements (two, each with its 1-byte length) */
    b_u8(&g_b, 9 + 6), b_u8(&g_b, 3), b_u16(&g_b, 0x8000 | 1013), b_u16(&g_b, 0xffff),
        b_u32(&g_b, 8057);
    b_u8(&g_b, 2), b_u8(&g_b, 1), b_u8(&g_b, 2);
    b_u8(&g_b, 2), b_u8(&g_b, 3), b_u8(&g_b, 4);
    /* a float of 3 bytes */
    b_u8(&g_b, 1), b_u8(&g_b, 2), b_u8(&g_b, 3);
    varstr(&g_b, "\x00\x01", 2);
    set_close(&g_b, s);
    msg_end(&g_b);
    assert_int_equal(decode(st, &g_b, &ds), 0);
    assert_int_equal(g_sink.n, 1);
    assert_int_equal(g_sink.f[0].n_extras, 5);
    expect_in(&g_sink.json, "\"ipv6_routing_header_seg_left\":0,\"unknown_elements\":["
                            "{\"pen\":0,\"id\":291,\"hex\":\"0383f5000200001f79010203\"},"
                            "{\"pen\":0,\"id\":291,\"hex\":\"0303e700010909\"},"
                            "{\"pen\":0,\"id\":291,\"hex\":\"0383f5ffff00001f79020102020304\"},"
                            "{\"pen\":8057,\"id\":1020,\"hex\":\"010203\"},"
                            "{\"pen\":8057,\"id\":1013,\"hex\":\"0001\"}]}\n");
    fc_state_free(st);
}

/* The bounds: unknown elements past FC_MAX_UNKNOWN, extras past
 * FC_MAX_EXTRAS, counted in truncated_lists and fc_extras_dropped(). */
static void test_extras_bounds(void **state)
{
    (void)state;
    fc_state_t *st = fc_state_new(0);
    fc_dstats_t ds = {0};
    static fk_ipfix_ie_t ie[FK_IPFIX_MAX_FIELDS];
    const size_t nunk = FC_MAX_UNKNOWN + 5, nknown = FC_MAX_EXTRAS + 10;
    size_t n = 0;

    for (size_t i = 0; i < nunk; i++)
        ie[n++] = (fk_ipfix_ie_t){4242, (uint16_t)i, 1};
    for (size_t i = 0; i < nknown; i++)
        ie[n++] = (fk_ipfix_ie_t){29305, 1, 1}; /* bytes_rev, again and again */
    msg_begin(&g_b);
    tmpl(&g_b, 302, n, ie);
    size_t s = set_open(&g_b, 302);
    for (size_t i = 0; i < n; i++)
        b_u8(&g_b, (uint8_t)i);
    set_close(&g_b, s);
    msg_end(&g_b);
    uint64_t before = fc_extras_dropped();
    assert_int_equal(decode(st, &g_b, &ds), 0);
    assert_int_equal(g_sink.n, 1);
    const fc_flow_t *f = &g_sink.f[0];
    assert_int_equal(f->n_extras, FC_MAX_EXTRAS);
    /* 5 unknown over their cap; of the known, FC_MAX_EXTRAS - FC_MAX_UNKNOWN fit */
    assert_int_equal(f->truncated_lists, 5 + nknown - (FC_MAX_EXTRAS - FC_MAX_UNKNOWN));
    assert_int_equal(fc_extras_dropped() - before, f->truncated_lists);
    fc_state_free(st);
}

/* Records of one datagram each get their own extras; the next datagram starts
 * the scratch over. */
static void test_extras_per_record(void **state)
{
    (void)state;
    fc_state_t *st = fc_state_new(0);
    fc_dstats_t ds = {0};
    const fk_ipfix_ie_t ie[] = {{29305, 2, 4}, {8057, 900, 4}};
    for (int round = 0; round < 2; round++) {
        msg_begin(&g_b);
        tmpl(&g_b, 303, 2, ie);
        size_t s = set_open(&g_b, 303);
        for (uint32_t r = 0; r < 3; r++)
            b_u32(&g_b, 10 * r + (uint32_t)round), b_u32(&g_b, 1460);
        set_close(&g_b, s);
        msg_end(&g_b);
        assert_int_equal(decode(st, &g_b, &ds), 0);
        assert_int_equal(g_sink.n, 3);
        for (size_t r = 0; r < 3; r++)
            assert_int_equal(g_sink.f[r].n_extras, 2);
        assert_ptr_equal(g_sink.f[1].extras, g_sink.f[0].extras + 2);
        for (int r = 0; r < 3; r++) {
            char want[80];
            snprintf(want, sizeof(want), "\"packets_rev\":%d,\"tcp_mss\":1460}\n", 10 * r + round);
            expect_in(&g_sink.json, want);
        }
    }
    fc_state_free(st);
}

/* JSON's last record layout (extras.c): records whose layouts alternate, or
 * differ in a length only, each print their own keys and values. */
static void test_extras_layouts(void **state)
{
    (void)state;
    int end_reason = fc_registry_find(0, 136, false, 1, 1);
    int bytes_rev = fc_registry_find(29305, 1, false, 8, 8);
    int host = fc_registry_find(39499, 1, false, FK_IPFIX_VARLEN, 5);
    assert_true(end_reason >= 0 && bytes_rev >= 0 && host >= 0);
    for (int i = 0; i < 40; i++) {
        uint8_t v[3][8] = {
            {(uint8_t)i}, {0, 0, 0, 0, 0, 0, 1, (uint8_t)i}, {0xbe, 0xef, (uint8_t)i}};
        unsigned hexlen = 2 + (unsigned)(i % 5 == 4); /* now and then one byte more */
        fc_xval_t a[] = {{v[0], 0, 136, 1, (uint16_t)end_reason},
                         {v[2], 12345, 77, (uint16_t)hexlen, FC_XREG_UNKNOWN}};
        fc_xval_t b[] = {{v[1], 29305, 1, 8, (uint16_t)bytes_rev},
                         {(const uint8_t *)"hosts", 39499, 1, 5, (uint16_t)host}};
        fc_flow_t f;
        memset(&f, 0, sizeof(f));
        int which = i % 3 == 2; /* A A B A A B ... */
        f.extras = which ? b : a;
        f.n_extras = 2;
        char want[160];
        if (which)
            snprintf(want, sizeof(want), ",\"bytes_rev\":%d,\"http_request_host\":\"hosts\"}",
                     256 + i);
        else if (hexlen == 2)
            snprintf(want, sizeof(want),
                     ",\"flow_end_reason\":%d,\"unknown_elements\":[{\"pen\":12345,\"id\":77,"
                     "\"hex\":\"beef\"}]}",
                     i);
        else
            snprintf(want, sizeof(want),
                     ",\"flow_end_reason\":%d,\"unknown_elements\":[{\"pen\":12345,\"id\":77,"
                     "\"hex\":\"beef%02x\"}]}",
                     i, i);
        fk_buf_t out;
        assert_int_equal(fk_buf_init(&out, NULL, 0), 0);
        assert_int_equal(fc_format_json(&out, &f, NULL), 0);
        size_t n = strlen(want);
        assert_true(out.len > n);
        if (memcmp(out.data + out.len - n, want, n) != 0)
            fail_msg("record %d: want ...%s, got %.*s", i, want, (int)out.len, out.data);
        fk_buf_free(&out);
    }
}

/* NetFlow v9 records and hand-made records have no extras: output unchanged. */
static void test_no_extras(void **state)
{
    (void)state;
    fc_flow_t f;
    fk_buf_t b;
    memset(&f, 0, sizeof(f));
    assert_int_equal(fk_buf_init(&b, NULL, 4096), 0);
    assert_int_equal(fc_format_json(&b, &f, NULL), 0);
    assert_true(b.len > 2 && b.data[b.len - 1] == '}');
    assert_null(memchr(b.data, '\n', b.len));
    fk_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_is_flowprobes_tables),
        cmocka_unit_test(test_registry_names_and_keys),
        cmocka_unit_test(test_registry_columns),
        cmocka_unit_test(test_registry_vs_ipfixprobe),
        cmocka_unit_test(test_extras_decode),
        cmocka_unit_test(test_extras_hostile),
        cmocka_unit_test(test_extras_bounds),
        cmocka_unit_test(test_extras_per_record),
        cmocka_unit_test(test_extras_layouts),
        cmocka_unit_test(test_no_extras),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fk_buf_free(&g_sink.json);
    fk_buf_free(&g_sink.text);
    return rc;
}
