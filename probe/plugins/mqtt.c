/*
 * mqtt.c - ipfixprobe's "mqtt" plugin: MQTT 3.1.1 / 5.0 control packets.
 *
 * As ipfixprobe 5.7.0:
 *   - A flow carries a record only when its first packet's payload is an MQTT
 *     CONNECT (fixed header, remaining length, then the UTF-8 string "MQTT")
 *     and that payload parses; later packets (either direction) are parsed
 *     only for flows that carry a record.
 *   - A TCP segment may hold several MQTT packets; each one sets bit `type`
 *     (type = high nibble of the first byte) in MQTT_TYPE_CUMULATIVE.  Bit 0
 *     is also OR'ed with the session-present flag of the last CONNACK.
 *   - CONNECT: version (must be 4 or 5, else the rest of the segment is
 *     dropped), connection flags and keep alive, last one wins.
 *   - CONNACK: session-present flag and return code, last one wins.
 *   - PUBLISH: the header flags are OR'ed into MQTT_PUBLISH_FLAGS; the topic
 *     (rejected when it contains '#') is appended with a '#' terminator while
 *     fewer than `tc` topics were seen (tc defaults to 0: no topics).
 *   - DISCONNECT: the flow is exported right after the packet is counted.
 *   - A packet whose remaining length runs past the captured payload, or a
 *     string that does not end before the payload does, stops the parse of
 *     that segment (what was read before it stays).
 *
 * Hardening over ipfixprobe: the remaining length is a proper MQTT varint of
 * at most 4 bytes, every field is read through a cursor bounded by its MQTT
 * packet's remaining length, and the topic list has a fixed capacity.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"

#define MQTT_TOPICS_CAP 512 /* bytes of "t1#t2#...", NUL included */
#define MQTT_TC_MAX     1024
#define MQTT_VARINT_MAX 4 /* MQTT limits the remaining length to 4 bytes */

enum {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_DISCONNECT = 14,
};

typedef struct mqtt_record_st {
    uint16_t type_cumulative; /* types seen | last session-present flag */
    uint16_t keep_alive;
    uint8_t version;
    uint8_t connection_flags;
    uint8_t return_code;
    uint8_t publish_flags;
    char topics[MQTT_TOPICS_CAP];
} mqtt_record_t;

/*
 * Zeroed when a flow is created.  The record is a body (plugin.h), taken
 * and cleared when the flow's first packet is a CONNECT; the flows that are
 * not MQTT neither carry nor touch its 500 bytes.
 */
typedef struct mqtt_state_st {
    void *body; /* the mqtt_record_t; NULL: none yet */
    uint8_t session_present;
    uint8_t active; /* the flow carries a record */
    uint8_t flush;  /* a DISCONNECT was seen: export after this packet */
    uint8_t full;   /* a topic did not fit: store no further ones */
    uint16_t types; /* bit per MQTT packet type seen */
    uint16_t topics_len;
    uint32_t topic_count;
} mqtt_state_t;

#define MQTT_R(st) ((mqtt_record_t *)(st)->body) /* the record: parsing has one */

static const fk_optspec_t mqtt_opts[] = {
    {"tc", "topiccount", "COUNT",
     "export the first COUNT PUBLISH topics, '#'-separated (default 0)"},
    {NULL, NULL, NULL, NULL},
};

static const fk_field_t mqtt_fields[] = {
    FK_U16(mqtt_record_t, type_cumulative, "MQTT_TYPE_CUMULATIVE", "mqtt_type_cumulative", 8057,
           1033, 0),
    FK_U8(mqtt_record_t, version, "MQTT_VERSION", "mqtt_version", 8057, 1034, 0),
    FK_U8(mqtt_record_t, connection_flags, "MQTT_CONNECTION_FLAGS", "mqtt_connection_flags", 8057,
          1035, 0),
    FK_U16(mqtt_record_t, keep_alive, "MQTT_KEEP_ALIVE", "mqtt_keep_alive", 8057, 1036, 0),
    FK_U8(mqtt_record_t, return_code, "MQTT_CONNECTION_RETURN_CODE", "mqtt_connection_return_code",
          8057, 1037, 0),
    FK_U8(mqtt_record_t, publish_flags, "MQTT_PUBLISH_FLAGS", "mqtt_publish_flags", 8057, 1038, 0),
    FK_STR(mqtt_record_t, topics, "MQTT_TOPICS", "mqtt_topics", 8057, 1039, 0),
};

/* The plugin context is just the topic limit, stored in the pointer. */
static int mqtt_init(void **ctx, const fk_opts_t *opts, fk_err_t *e)
{
    uint64_t tc = 0;

    for (size_t i = 0; opts && i < opts->n; i++) {
        int k = fk_opts_lookup(opts, i, mqtt_opts, "mqtt", e);
        if (k < 0)
            return -1;
        if (fk_opts_uint(opts->kv[i].key, opts->kv[i].value, 0, MQTT_TC_MAX, &tc, e) < 0)
            return -1;
    }
    *ctx = (void *)(uintptr_t)tc;
    return 0;
}

static uint32_t mqtt_tc(const void *ctx)
{
    return (uint32_t)(uintptr_t)ctx;
}

/* MQTT remaining length: 7 bits a byte, little end first, at most 4 bytes. */
static bool mqtt_varint(fk_cursor_t *c, uint32_t *out)
{
    uint32_t v = 0;
    uint8_t b;

    for (unsigned i = 0; i < MQTT_VARINT_MAX; i++) {
        if (!fk_cur_u8(c, &b))
            return false;
        v |= (uint32_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false; /* a fifth continuation byte: not MQTT */
}

/*
 * A UTF-8 string (16-bit length, bytes) from `c`.  As ipfixprobe, it must end
 * before `pay_end`, the end of the captured payload.
 */
static bool mqtt_string(fk_cursor_t *c, const uint8_t *pay_end, const uint8_t **s, uint16_t *len)
{
    fk_cursor_t t = *c;

    if (!fk_cur_be16(&t, len) || !fk_cur_has(&t, *len) || t.p + *len >= pay_end)
        return false;
    *s = t.p;
    t.p += *len;
    *c = t;
    return true;
}

/* True when the payload starts with an MQTT packet whose first string is "MQTT". */
static bool mqtt_is_connect(const uint8_t *p, size_t n)
{
    fk_cursor_t c = fk_cur_make(p, n);
    const uint8_t *s;
    uint16_t len;
    uint32_t rl;

    if (n <= 1 || !fk_cur_skip(&c, 1) || !mqtt_varint(&c, &rl))
        return false;
    return mqtt_string(&c, p + n, &s, &len) && len == 4 && memcmp(s, "MQTT", 4) == 0;
}

static void mqtt_add_topic(mqtt_state_t *st, uint32_t tc, const uint8_t *s, uint16_t len)
{
    if (st->topic_count++ >= tc || st->full)
        return;
    if ((size_t)st->topics_len + len + 2 > MQTT_TOPICS_CAP) {
        st->full = 1; /* keep whole topics only, in order */
        return;
    }
    memcpy(MQTT_R(st)->topics + st->topics_len, s, len);
    st->topics_len = (uint16_t)(st->topics_len + len);
    MQTT_R(st)->topics[st->topics_len++] = '#';
    MQTT_R(st)->topics[st->topics_len] = 0;
}

/* Parse the MQTT packets of one segment into `st`; false when it is not (all) MQTT. */
static bool mqtt_parse(mqtt_state_t *st, uint32_t tc, const uint8_t *p, size_t n)
{
    fk_cursor_t c = fk_cur_make(p, n);
    const uint8_t *end = p + n;

    if (!p || n == 0)
        return false;
    while (fk_cur_left(&c) > 0) {
        fk_cursor_t m;
        uint8_t hdr, type, flags;
        uint32_t rl;

        fk_cur_u8(&c, &hdr);
        type = hdr >> 4;
        flags = hdr & 0x0f;
        st->types |= (uint16_t)(1u << type);
        MQTT_R(st)->type_cumulative = (uint16_t)(st->types | st->session_present);
        if (!mqtt_varint(&c, &rl) || !fk_cur_sub(&c, rl, &m))
            return false; /* hostile or split across segments */

        if (type == MQTT_CONNECT) {
            const uint8_t *s;
            uint16_t len;
            uint8_t ver, cf;
            uint16_t ka;

            if (!mqtt_string(&m, end, &s, &len) || len != 4 || memcmp(s, "MQTT", 4) != 0)
                return false;
            if (!fk_cur_u8(&m, &ver))
                return false;
            MQTT_R(st)->version = ver;
            if (ver != 4 && ver != 5)
                return false;
            if (!fk_cur_u8(&m, &cf) || !fk_cur_be16(&m, &ka))
                return false;
            MQTT_R(st)->connection_flags = cf;
            MQTT_R(st)->keep_alive = ka;
        } else if (type == MQTT_CONNACK) {
            uint8_t ackf, rc;

            if (!fk_cur_u8(&m, &ackf) || !fk_cur_u8(&m, &rc))
                return false;
            st->session_present = ackf & 1;
            MQTT_R(st)->return_code = rc;
            MQTT_R(st)->type_cumulative = (uint16_t)(st->types | st->session_present);
        } else if (type == MQTT_PUBLISH) {
            const uint8_t *s;
            uint16_t len;

            MQTT_R(st)->publish_flags |= flags;
            if (!mqtt_string(&m, end, &s, &len) || memchr(s, '#', len))
                return false;
            mqtt_add_topic(st, tc, s, len);
        } else if (type == MQTT_DISCONNECT) {
            st->flush = 1;
        }
    }
    return true;
}

static int mqtt_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    mqtt_state_t *st = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)flow;
    if (!pkt->payload || !mqtt_is_connect(pkt->payload, pkt->payload_len))
        return FP_HOOK_OK;
    if (!fp_plugin_record(hp, st, mqtt_fields, sizeof(mqtt_fields) / sizeof(mqtt_fields[0])))
        return FP_HOOK_OK;
    if (mqtt_parse(st, mqtt_tc(ctx), pkt->payload, pkt->payload_len)) {
        st->active = 1;
    } else {
        /* No record; nothing leaks into later packets (the body stays the
         * flow's: the cache takes it back with the record). */
        uint8_t flush = st->flush;
        memset(&st->session_present, 0, sizeof(*st) - offsetof(mqtt_state_t, session_present));
        st->flush = flush;
    }
    return FP_HOOK_OK;
}

static int mqtt_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    mqtt_state_t *st = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)flow;
    if (st->active && pkt->payload)
        (void)mqtt_parse(st, mqtt_tc(ctx), pkt->payload, pkt->payload_len);
    return FP_HOOK_OK;
}

static int mqtt_post_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    mqtt_state_t *st = state;

    (void)ctx;
    (void)flow;
    (void)hp;
    if (st->flush) {
        st->flush = 0;
        return FP_HOOK_FLUSH;
    }
    return FP_HOOK_OK;
}

static unsigned mqtt_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    const mqtt_state_t *st = state;

    (void)ctx;
    (void)flow;
    return st->active ? 1 : 0;
}

static const void *mqtt_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    const mqtt_state_t *st = state;

    (void)ctx;
    (void)flow;
    (void)i;
    return st->body;
}

const fp_plugin_t fp_plugin_mqtt = {
    .abi = FP_PLUGIN_ABI,
    .name = "mqtt",
    .summary = "MQTT CONNECT/CONNACK/PUBLISH fields, packet types and topics",
    .options = mqtt_opts,
    .fields = mqtt_fields,
    .nfields = sizeof(mqtt_fields) / sizeof(mqtt_fields[0]),
    .record_size = sizeof(mqtt_record_t),
    .state_size = sizeof(mqtt_state_t),
    .body_size = sizeof(mqtt_record_t),
    .init = mqtt_init,
    .post_create = mqtt_post_create,
    .pre_update = mqtt_pre_update,
    .post_update = mqtt_post_update,
    .records = mqtt_records,
    .record = mqtt_record,
};
