/*
 * test_key.c - the Kafka message key and partition (collector/format/key.c):
 * GoFlow2's formatter.key hash (FNV-1 over Go's %v text of each key field)
 * and sarama's hash partitioner (FNV-1a of the key, int32 % n, negated when
 * negative).
 *
 * Expected values were computed independently of the C code, in Python
 * (hash functions written from the FNV specification, draft-eastlake-fnv;
 * Go's %v rules from fmt's documentation: []byte prints "[1 2 3]", enums
 * their String()), e.g.
 *   fnv1 = lambda b: reduce(lambda h, x: ((h * 0x01000193) & 0xffffffff) ^ x, b, 0x811c9dc5)
 *   fnv1(b"[192 0 2 1]") == 0xa7d46c6c
 * plus the FNV reference vectors for "", "a" and "foobar".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "collector/format/format.h"
#include "collector/format/key.h"

static void test_fnv_vectors(void **state)
{
    (void)state;
    /* FNV reference vectors (32-bit FNV-1 and FNV-1a) */
    assert_int_equal(fc_fnv1_32(FC_FNV32_OFFSET, "", 0), 0x811c9dc5u);
    assert_int_equal(fc_fnv1_32(FC_FNV32_OFFSET, "a", 1), 0x050c5d7eu);
    assert_int_equal(fc_fnv1_32(FC_FNV32_OFFSET, "foobar", 6), 0x31f0b262u);
    assert_int_equal(fc_fnv1a_32(FC_FNV32_OFFSET, "a", 1), 0xe40c292cu);
    assert_int_equal(fc_fnv1a_32(FC_FNV32_OFFSET, "foobar", 6), 0xbf9cf968u);
}

/* Key text and hash of `f` for the field list `list`. */
static void check(const char *list, const fc_flow_t *f, const char *text, uint32_t hash)
{
    fc_key_t k;
    fk_err_t e;
    fk_buf_t b;

    assert_int_equal(fc_key_parse(&k, list, &e), 0);
    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    fc_key_text(&b, &k, f);
    assert_int_equal(b.len, strlen(text));
    assert_memory_equal(b.data, text, b.len);
    assert_int_equal(fc_key_hash(&k, f), hash);
    fk_buf_free(&b);
}

static void test_key_sampler(void **state)
{
    fc_flow_t f;
    (void)state;
    memset(&f, 0, sizeof(f));
    f.sampler_address.len = 4;
    memcpy(f.sampler_address.a, (uint8_t[]){192, 0, 2, 1}, 4);
    check("sampler_address", &f, "[192 0 2 1]", 0xa7d46c6cu);
    /* Go names work too (GoFlow2's reflect.FieldByName) */
    check("SamplerAddress", &f, "[192 0 2 1]", 0xa7d46c6cu);
}

static void test_key_enum_and_numbers(void **state)
{
    fc_flow_t f;
    (void)state;
    memset(&f, 0, sizeof(f));
    f.type = FC_IPFIX;
    f.src_as = 65000;
    /* no separator between fields */
    check("type, src_as", &f, "IPFIX65000", 0xbc39e288u);
}

static void test_key_lists(void **state)
{
    fc_flow_t f;
    (void)state;
    memset(&f, 0, sizeof(f));
    f.type = 9; /* no FlowType name: Go prints the number */
    f.n_layers = 3;
    f.layer_stack[0] = FC_L_ETHERNET;
    f.layer_stack[1] = FC_L_IPV4;
    f.layer_stack[2] = FC_L_TCP;
    f.n_as_path = 2;
    f.as_path[0] = 1;
    f.as_path[1] = 2;
    f.n_mpls_ip = 2;
    f.mpls_ip[0].len = 4;
    memcpy(f.mpls_ip[0].a, (uint8_t[]){10, 0, 0, 1}, 4);
    f.mpls_ip[1].len = 4;
    memcpy(f.mpls_ip[1].a, (uint8_t[]){10, 0, 0, 2}, 4);
    /* dst_addr absent: an empty []byte prints "[]" */
    check("layer_stack,as_path,mpls_ip,dst_addr,type", &f,
          "[Ethernet IPv4 TCP][1 2][[10 0 0 1] [10 0 0 2]][]9", 0x88d9ec49u);
}

static void test_key_ipv6(void **state)
{
    fc_flow_t f;
    (void)state;
    memset(&f, 0, sizeof(f));
    f.src_addr.len = 16;
    f.src_addr.a[0] = 0x20;
    f.src_addr.a[1] = 0x01;
    f.src_addr.a[2] = 0x0d;
    f.src_addr.a[3] = 0xb8;
    f.src_addr.a[15] = 1;
    f.dst_port = 443;
    check("src_addr,dst_port", &f, "[32 1 13 184 0 0 0 0 0 0 0 0 0 0 0 1]443", 0x8f0d81d2u);
}

static void test_key_parse_errors(void **state)
{
    fc_key_t k;
    fk_err_t e;
    (void)state;
    assert_int_equal(fc_key_parse(&k, "src_addr,nope", &e), -1);
    assert_string_equal(e.msg, "key field nope does not exist");
    /* icmp_name has no value to hash */
    assert_int_equal(fc_key_parse(&k, "icmp_name", &e), -1);
    assert_int_equal(fc_key_parse(&k, "src_addr,,dst_addr", &e), -1);
    assert_int_equal(fc_key_parse(&k, "", &e), 0);
    assert_int_equal(k.n, 0);
}

/* sarama's hash partitioner; values from the Python model in the header. */
static void test_partition(void **state)
{
    static const struct {
        uint32_t key; /* the 4-byte key, big-endian */
        int32_t n, want;
    } v[] = {
        /* FNV-1a(key) = 0xa2b12306, negative as int32: sarama negates the
         * remainder (0 for 7); the unsigned remainder would be 4 */
        {0xa7d46c6cu, 1, 0},   {0xa7d46c6cu, 3, 2},   {0xa7d46c6cu, 6, 2}, {0xa7d46c6cu, 7, 0},
        {0xa7d46c6cu, 64, 58}, {0xbc39e288u, 64, 12}, {0x88d9ec49u, 3, 1}, {0x88d9ec49u, 64, 33},
        {0x8f0d81d2u, 7, 6},   {0x8f0d81d2u, 64, 2},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t k[4] = {(uint8_t)(v[i].key >> 24), (uint8_t)(v[i].key >> 16),
                        (uint8_t)(v[i].key >> 8), (uint8_t)v[i].key};
        assert_int_equal(fc_key_partition(k, 4, v[i].n), v[i].want);
    }
    /* an empty key still hashes (GoFlow2 hands sarama a non-nil empty key) */
    assert_int_equal(fc_key_partition(NULL, 0, 7), 2); /* |int32(0x811c9dc5) % 7| */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv_vectors),
        cmocka_unit_test(test_key_sampler),
        cmocka_unit_test(test_key_enum_and_numbers),
        cmocka_unit_test(test_key_lists),
        cmocka_unit_test(test_key_ipv6),
        cmocka_unit_test(test_key_parse_errors),
        cmocka_unit_test(test_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
