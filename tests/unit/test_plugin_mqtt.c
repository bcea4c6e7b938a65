/*
 * test_plugin_mqtt.c - the mqtt plugin, driven through the real packet parser
 * and flow cache: a CONNECT starts a record, later packets of both directions
 * add to it, DISCONNECT exports the flow, topics honour tc; truncated and
 * hostile segments (lying remaining lengths, over-long varints, huge string
 * lengths, '#' in topics, bad versions) never read out of bounds.
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
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#define SEC  1000000000ULL
#define MAXF 16

#include "tests/common/plugintest.h"

/* Start a cache with the mqtt plugin initialised from `arg` ("mqtt;tc=2"). */
static fp_cache_t *start(const char *arg)
{
    return pt_start(arg, collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/* A raw IPv4/TCP frame 10.0.0.1:g_cport <-> 10.0.0.2:1883 carrying `pay`. */
static uint16_t g_cport = 40000;

static void put_tr(fp_cache_t *c, int fwd, const void *pay, size_t n, size_t trunc, uint64_t t)
{
    assert_true(
        pt_put4(c, fwd, g_cport, 1883, 6, FK_TCP_ACK | 0x08 /* ACK PSH */, pay, n, trunc, 0, t));
}

static void put(fp_cache_t *c, int fwd, const void *pay, size_t n, uint64_t t)
{
    put_tr(c, fwd, pay, n, 0, t);
}

#define PUT(c, fwd, arr, t) put((c), (fwd), (arr), sizeof(arr), (t))

/* CONNECT v4, flags 0x02, keep alive 60, client id "ab". */
static const uint8_t connect4[] = {0x10, 0x0e, 0, 4,  'M', 'Q', 'T', 'T',
                                   4,    0x02, 0, 60, 0,   2,   'a', 'b'};
/* CONNACK, session present, return code 0. */
static const uint8_t connack_sp[] = {0x20, 0x02, 0x01, 0x00};
static const uint8_t connack_rc5[] = {0x20, 0x02, 0x00, 0x05};
/* PUBLISH QoS0 "t/1" payload "x"; QoS1 retain "t2" id 1 payload "y"; QoS0 "t3". */
static const uint8_t pub1[] = {0x30, 0x06, 0, 3, 't', '/', '1', 'x'};
static const uint8_t pub2[] = {0x33, 0x07, 0, 2, 't', '2', 0, 1, 'y'};
static const uint8_t pub3[] = {0x30, 0x05, 0, 2, 't', '3', 'z'};
static const uint8_t subscribe[] = {0x82, 0x07, 0, 1, 0, 2, 'a', '#', 0};
static const uint8_t disconnect[] = {0xe0, 0x00};

static void test_mqtt_session(void **state)
{
    (void)state;
    fp_cache_t *c = start("mqtt;tc=2");

    PUT(c, 1, connect4, 1 * SEC);
    PUT(c, 0, connack_sp, 1 * SEC + 1);
    PUT(c, 1, pub1, 1 * SEC + 2);
    PUT(c, 1, subscribe, 1 * SEC + 3);
    PUT(c, 0, pub2, 1 * SEC + 4);
    PUT(c, 1, pub3, 1 * SEC + 5); /* third topic: over tc */
    PUT(c, 1, disconnect, 1 * SEC + 6);
    /* After DISCONNECT the flow was exported: this starts a new one. */
    PUT(c, 0, pub1, 1 * SEC + 7);
    finish(c);

    assert_int_equal(g_nout, 2);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].packets + g_flow[0].packets_rev, 7);
    /* types 1,2,3,8,14 and the session-present bit 0 */
    assert_int_equal(u64(0, "MQTT_TYPE_CUMULATIVE"), 0x4000 | 0x100 | 0x8 | 0x4 | 0x2 | 0x1);
    assert_int_equal(u64(0, "MQTT_VERSION"), 4);
    assert_int_equal(u64(0, "MQTT_CONNECTION_FLAGS"), 2);
    assert_int_equal(u64(0, "MQTT_KEEP_ALIVE"), 60);
    assert_int_equal(u64(0, "MQTT_CONNECTION_RETURN_CODE"), 0);
    assert_int_equal(u64(0, "MQTT_PUBLISH_FLAGS"), 3);
    assert_string_equal(csv(0, "MQTT_TOPICS"), "\"t/1#t2#\"");
    /* The flow after the flush did not start with CONNECT: no record. */
    assert_int_equal(g_nrec[1], 0);
}

/* Default tc is 0: no topics; several MQTT packets in one segment. */
static void test_mqtt_default_and_coalesced(void **state)
{
    (void)state;
    uint8_t seg[sizeof(connect4) + sizeof(pub1) + sizeof(connack_rc5)];
    fp_cache_t *c = start("mqtt");

    memcpy(seg, connect4, sizeof(connect4));
    memcpy(seg + sizeof(connect4), pub1, sizeof(pub1));
    memcpy(seg + sizeof(connect4) + sizeof(pub1), connack_rc5, sizeof(connack_rc5));
    PUT(c, 1, seg, 1 * SEC);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "MQTT_TYPE_CUMULATIVE"), 0x2 | 0x4 | 0x8);
    assert_int_equal(u64(0, "MQTT_CONNECTION_RETURN_CODE"), 5);
    assert_string_equal(csv(0, "MQTT_TOPICS"), "\"\"");
}

/* Flows that do not start with a parseable CONNECT carry no record. */
static void test_mqtt_not_connect(void **state)
{
    (void)state;
    static const uint8_t v3[] = {0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 3, 0x02, 0, 60, 0, 0};
    static const uint8_t notmqtt[] = {0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'X', 4, 0x02, 0, 60, 0, 0};
    fp_cache_t *c = start("mqtt;tc=5");

    PUT(c, 1, pub1, 1 * SEC); /* flow 1: PUBLISH first */
    PUT(c, 1, connect4, 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 0);

    c = start("mqtt;tc=5");
    PUT(c, 1, v3, 1 * SEC); /* unsupported version */
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 0);

    c = start("mqtt;tc=5");
    PUT(c, 1, notmqtt, 1 * SEC); /* wrong protocol name */
    finish(c);
    assert_int_equal(g_nrec[0], 0);

    c = start("mqtt;tc=5");
    put(c, 1, NULL, 0, 1 * SEC); /* no payload at all */
    PUT(c, 1, connect4, 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nrec[0], 0);
}

/* Truncated captures: nothing past the captured bytes is read. */
static void test_mqtt_truncated(void **state)
{
    (void)state;
    fp_cache_t *c = start("mqtt;tc=5");

    /* CONNECT cut inside the protocol name: no record. */
    put_tr(c, 1, connect4, sizeof(connect4), 40 + 6, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 0);

    /* Every cut of a CONNECT: never a record with bogus fields. */
    for (size_t cut = 1; cut < sizeof(connect4); cut++) {
        c = start("mqtt;tc=5");
        put_tr(c, 1, connect4, sizeof(connect4), 40 + cut, 1 * SEC);
        finish(c);
        assert_int_equal(g_nout, 1);
        assert_int_equal(g_nrec[0], 0);
    }

    /* A PUBLISH cut inside its topic: the type counts, the topic does not. */
    c = start("mqtt;tc=5");
    PUT(c, 1, connect4, 1 * SEC);
    put_tr(c, 1, pub1, sizeof(pub1), 40 + 5, 1 * SEC + 1);
    PUT(c, 1, pub3, 1 * SEC + 2);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "MQTT_TYPE_CUMULATIVE"), 0x2 | 0x8);
    assert_string_equal(csv(0, "MQTT_TOPICS"), "\"t3#\"");

    /* A CONNACK with too short a body stops the parse, fields unchanged. */
    c = start("mqtt;tc=5");
    PUT(c, 1, connect4, 1 * SEC);
    static const uint8_t shortack[] = {0x20, 0x01, 0x01};
    PUT(c, 0, shortack, 1 * SEC + 1);
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "MQTT_TYPE_CUMULATIVE"), 0x2 | 0x4);
}

/* Lying lengths, over-long varints, '#' in topics, big topic lists. */
static void test_mqtt_hostile(void **state)
{
    (void)state;
    static const uint8_t varint5[] = {0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 1, 'q', 'x'};
    static const uint8_t huge_rl[] = {0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 'q', 'x'};
    static const uint8_t huge_str[] = {0x30, 0x05, 0xff, 0xff, 'q', 'x', 'y'};
    static const uint8_t str_past_rl[] = {0x30, 0x02, 0,   9,   'q', 'x', 'y',
                                          'z',  'w',  'v', 'u', 't', 's', 'r'};
    static const uint8_t hash_topic[] = {0x31, 0x05, 0, 2, 'a', '#', 'x'};
    static const uint8_t at_end[] = {0x30, 0x04, 0, 2, 'e', 'n'}; /* string ends the payload */
    static const uint8_t connect_short[] = {0x10, 0x06, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 1};
    fp_cache_t *c = start("mqtt;tc=1000");

    PUT(c, 1, connect4, 1 * SEC);
    PUT(c, 1, varint5, 1 * SEC + 1);
    PUT(c, 1, huge_rl, 1 * SEC + 2);
    PUT(c, 1, huge_str, 1 * SEC + 3);
    PUT(c, 1, str_past_rl, 1 * SEC + 4);
    PUT(c, 1, hash_topic, 1 * SEC + 5);
    PUT(c, 1, at_end, 1 * SEC + 6);
    /* CONNECT whose remaining length ends before its fields: fields unchanged. */
    PUT(c, 1, connect_short, 1 * SEC + 7);
    /* Many topics: the list stays within its capacity, whole topics only. */
    /* (remaining length 203 is the two-byte varint cb 01) */
    uint8_t big[5 + 200 + 1] = {0x30, 0xcb, 0x01, 0, 200};
    memset(big + 5, 'L', 200);
    big[205] = 'p';
    for (int i = 0; i < 20; i++)
        PUT(c, 1, big, 1 * SEC + 8 + (uint64_t)i);
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "MQTT_TYPE_CUMULATIVE"), 0x2 | 0x8);
    assert_int_equal(u64(0, "MQTT_VERSION"), 4);
    assert_int_equal(u64(0, "MQTT_CONNECTION_FLAGS"), 2);
    assert_int_equal(u64(0, "MQTT_KEEP_ALIVE"), 60);
    assert_int_equal(u64(0, "MQTT_PUBLISH_FLAGS"), 1);
    const char *t = csv(0, "MQTT_TOPICS");
    size_t n = strlen(t);
    /* "L...L#L...L#" : two 200-byte topics fit in 512 bytes, a third does not */
    assert_int_equal(n, 2 + 2 * 201);
    assert_int_equal(t[201], '#');
    assert_int_equal(t[n - 2], '#');
}

static void test_mqtt_options(void **state)
{
    (void)state;
    const fp_plugin_t *p = fp_plugin_find("mqtt");
    const char *bad[] = {"mqtt;tc=x", "mqtt;tc=-1", "mqtt;tc=99999999", "mqtt;foo=1", "mqtt;tc"};
    fk_opts_t o;
    fk_err_t e;
    void *ctx = NULL;

    assert_non_null(p);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fk_opts_parse(bad[i], &o, &e), 0);
        assert_int_equal(p->init(&ctx, &o, &e), -1);
        fk_opts_free(&o);
    }
    assert_int_equal(fk_opts_parse("mqtt;topiccount=3", &o, &e), 0);
    assert_int_equal(p->init(&ctx, &o, &e), 0);
    fk_opts_free(&o);
}

/*
 * A flow in a record an earlier MQTT session filled (the record freed last
 * is the next one taken) gives what a fresh cache gives: no record when its
 * first packet is not a CONNECT, and a CONNECT's record without the
 * session's CONNACK, flags and topics.
 */
static void test_mqtt_reused_record(void **state)
{
    char fresh[2][4 * MAXREC];
    (void)state;

    for (int dirty = 0; dirty < 2; dirty++) {
        for (int conn = 0; conn < 2; conn++) {
            fp_cache_t *c = start("mqtt;tc=3");
            g_cport = 40000;
            if (dirty) {
                PUT(c, 1, connect4, 1 * SEC);
                PUT(c, 0, connack_rc5, 1 * SEC + 1);
                PUT(c, 1, pub1, 1 * SEC + 2);
                PUT(c, 0, pub2, 1 * SEC + 3);
                fp_cache_flush(c);
                assert_int_equal(g_nout, 1);
                assert_int_equal(g_nrec[0], 1);
                g_nout = 0;
            }
            g_cport = 40001; /* another flow */
            if (conn)
                PUT(c, 1, connect4, 2 * SEC);
            else
                PUT(c, 1, pub1, 2 * SEC);
            PUT(c, 1, pub3, 2 * SEC + 1);
            g_cport = 40000;
            finish(c);
            pt_same_as_fresh(dirty, fresh[conn], 0, conn ? 1 : 0);
        }
    }
    assert_string_equal(fresh[1], "10|4|2|60|0|0|\"t3#\"|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mqtt_session),
        cmocka_unit_test(test_mqtt_default_and_coalesced),
        cmocka_unit_test(test_mqtt_not_connect),
        cmocka_unit_test(test_mqtt_truncated),
        cmocka_unit_test(test_mqtt_hostile),
        cmocka_unit_test(test_mqtt_options),
        cmocka_unit_test(test_mqtt_reused_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
