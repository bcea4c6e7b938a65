/*
 * ntp.c - ipfixprobe's "ntp" plugin: the header of an NTPv4 client/server
 * message (RFC 5905 section 7.3).
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on ntp.pcap):
 *   - only the packet that creates a flow is looked at, and only when either
 *     port is 123; the flow is then exported at once (FP_HOOK_FLUSH), so every
 *     NTP packet becomes its own record;
 *   - a record is attached only when the message parses: version 4, mode 3
 *     or 4, stratum <= 16, poll <= 17.  flowprobe also requires the whole
 *     48-byte header to be captured (ipfixprobe reads it unchecked);
 *   - NTP_DELAY and NTP_DISPERSION are never parsed: ipfixprobe exports its
 *     initial value 9 for both;
 *   - NTP_REF_ID is the four octets in dotted decimal; with stratum 0 the
 *     kiss codes INIT, STEP, DENY and RATE are shown as those words;
 *   - a timestamp is "SECONDS.FFFFFF".  ipfixprobe builds each 32-bit half by
 *     concatenating the octets in unpadded hex ("%x", so 0x0a gives "a") and
 *     reading that back as hex; we reproduce that value.  SECONDS is printed
 *     in decimal and FFFFFF is the fraction (value / 2^32) printed with "%f"
 *     minus its leading digit (so 0.9999996 prints as ".000000").
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"

#define NTP_PORT     123
#define NTP_HDR_LEN  48
#define NTP_UNPARSED 9 /* ipfixprobe's initial value of delay / dispersion */

typedef struct ntp_record_st {
    uint32_t delay;
    uint32_t dispersion;
    uint8_t leap;
    uint8_t version;
    uint8_t mode;
    uint8_t stratum;
    uint8_t poll;
    uint8_t precision;
    char ref_id[16]; /* "255.255.255.255" */
    char ref[24];    /* "4294967295.000000" */
    char orig[24];
    char recv[24];
    char sent[24];
} ntp_record_t;

typedef struct ntp_state_st {
    ntp_record_t r;
    uint8_t has; /* a record is attached */
} ntp_state_t;

static const fk_field_t ntp_fields[] = {
    FK_U8(ntp_record_t, leap, "NTP_LEAP", "ntp_leap", 8057, 18, 0),
    FK_U8(ntp_record_t, version, "NTP_VERSION", "ntp_version", 8057, 19, 0),
    FK_U8(ntp_record_t, mode, "NTP_MODE", "ntp_mode", 8057, 20, 0),
    FK_U8(ntp_record_t, stratum, "NTP_STRATUM", "ntp_stratum", 8057, 21, 0),
    FK_U8(ntp_record_t, poll, "NTP_POLL", "ntp_poll", 8057, 22, 0),
    FK_U8(ntp_record_t, precision, "NTP_PRECISION", "ntp_precision", 8057, 23, 0),
    FK_U32(ntp_record_t, delay, "NTP_DELAY", "ntp_delay", 8057, 24, 0),
    FK_U32(ntp_record_t, dispersion, "NTP_DISPERSION", "ntp_dispersion", 8057, 25, 0),
    FK_STR(ntp_record_t, ref_id, "NTP_REF_ID", "ntp_ref_id", 8057, 26, 0),
    FK_STR(ntp_record_t, ref, "NTP_REF", "ntp_ref", 8057, 27, 0),
    FK_STR(ntp_record_t, orig, "NTP_ORIG", "ntp_orig", 8057, 28, 0),
    FK_STR(ntp_record_t, recv, "NTP_RECV", "ntp_recv", 8057, 29, 0),
    FK_STR(ntp_record_t, sent, "NTP_SENT", "ntp_sent", 8057, 30, 0),
};

/* ipfixprobe's reading of 4 octets: unpadded hex digits concatenated (see top). */
static uint32_t ntp_hexcat(const uint8_t *p)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 4; i++)
        v = (v << (p[i] < 16 ? 4 : 8)) | p[i];
    return (uint32_t)v; /* at most 8 hex digits: always fits */
}

static void ntp_timestamp(char *out, size_t cap, const uint8_t *p)
{
    uint32_t secs = ntp_hexcat(p);
    double fract = (double)ntp_hexcat(p + 4) / 4294967296.0;
    char fbuf[16];

    snprintf(fbuf, sizeof(fbuf), "%f", fract); /* "0.xxxxxx" or "1.000000" */
    snprintf(out, cap, "%u%.7s", (unsigned)secs, fbuf + 1);
}

static void ntp_ref_id(ntp_record_t *r, const uint8_t *id)
{
    static const char kiss[][5] = {"INIT", "STEP", "DENY", "RATE"};

    if (r->stratum == 0)
        for (size_t i = 0; i < sizeof(kiss) / sizeof(kiss[0]); i++)
            if (memcmp(id, kiss[i], 4) == 0) {
                memcpy(r->ref_id, kiss[i], 5);
                return;
            }
    snprintf(r->ref_id, sizeof(r->ref_id), "%u.%u.%u.%u", id[0], id[1], id[2], id[3]);
}

/* Parse an NTP header into r: 1 when it is a message ipfixprobe accepts. */
static int ntp_parse(ntp_record_t *r, const uint8_t *data, size_t len)
{
    fk_cursor_t c = fk_cur_make(data, len);
    uint8_t h[NTP_HDR_LEN];

    if (!data || !fk_cur_copy(&c, h, sizeof(h)))
        return 0;
    memset(r, 0, sizeof(*r));
    r->leap = (uint8_t)(h[0] >> 6);
    r->version = (uint8_t)((h[0] >> 3) & 7);
    r->mode = (uint8_t)(h[0] & 7);
    r->stratum = h[1];
    r->poll = h[2];
    r->precision = h[3];
    if (r->version != 4 || r->mode < 3 || r->mode > 4 || r->stratum > 16 || r->poll > 17)
        return 0;
    r->delay = NTP_UNPARSED;
    r->dispersion = NTP_UNPARSED;
    ntp_ref_id(r, h + 12);
    ntp_timestamp(r->ref, sizeof(r->ref), h + 16);
    ntp_timestamp(r->orig, sizeof(r->orig), h + 24);
    ntp_timestamp(r->recv, sizeof(r->recv), h + 32);
    ntp_timestamp(r->sent, sizeof(r->sent), h + 40);
    return 1;
}

static int ntp_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    ntp_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;

    (void)ctx;
    (void)flow;
    if (pkt->src_port != NTP_PORT && pkt->dst_port != NTP_PORT)
        return FP_HOOK_OK;
    s->has = (uint8_t)ntp_parse(&s->r, pkt->payload, pkt->payload_len);
    if (!s->has)
        memset(&s->r, 0, sizeof(s->r));
    return FP_HOOK_FLUSH;
}

static unsigned ntp_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const ntp_state_t *)state)->has ? 1 : 0;
}

static const void *ntp_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const ntp_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_ntp = {
    .abi = FP_PLUGIN_ABI,
    .name = "ntp",
    .summary =
        "NTP header: leap, version, mode, stratum, poll, precision, reference id, timestamps",
    .fields = ntp_fields,
    .nfields = sizeof(ntp_fields) / sizeof(ntp_fields[0]),
    .record_size = sizeof(ntp_record_t),
    .state_size = sizeof(ntp_state_t),
    .post_create = ntp_post_create,
    .records = ntp_records,
    .record = ntp_record,
};
