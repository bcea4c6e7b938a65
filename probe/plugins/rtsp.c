/*
 * rtsp.c - ipfixprobe's "rtsp" plugin: the request line and User-Agent of an
 * RTSP/1.0 request, the status code, Server and Content-Type of its response
 * (RFC 2326 sections 6-7, 12; the message shape is HTTP/1.1's).
 *
 * As ipfixprobe 5.7.0 (its conformance case on rtsp.pcap), per TCP segment:
 *   - a segment is a request when its first four bytes are one of "GET ",
 *     "POST", "PUT ", "HEAD", "DELE", "TRAC", "OPTI", "CONN", "PATC", "DESC",
 *     "SETU", "PLAY", "PAUS", "TEAR", "RECO", "ANNO"; else a response when
 *     it starts with "RTSP".  Other segments are ignored;
 *   - a request is parsed when its request URI is followed by " RTSP"; a
 *     response when the text between its first two spaces reads as a number
 *     > 0 (C atoi);
 *   - a flow carries a record once one request or response parsed; a second
 *     request after a request (or response after a response) exports the
 *     flow and re-creates it from that packet (FP_HOOK_FLUSH_REINSERT) -- a
 *     TCP retransmission of the request does it too, as the reference shows;
 *   - lines end at LF (unlike the http plugin's CRLF), and a line of at most
 *     one byte before its LF ends the header section (so "\r\n", but also
 *     "x\n");  every other line up to there must have its LF and a ':' at or
 *     after its start, else the message counts as not parsed (fields read
 *     before stay in the flow's state, as in ipfixprobe's reused record);
 *   - names match case-sensitively ("User-Agent"; "Content-Type", "Server");
 *     values are cut to ipfixprobe's buffers (method 9 bytes, URI, agent and
 *     server 127, content type 31); httpline.h tells how names and values
 *     are cut out of a line;
 *   - a response clears Content-Type but not Server: a Server read from an
 *     earlier response of the record stays.
 *
 * Hardening over ipfixprobe: "RTSP" after the URI must lie inside the
 * payload; a value whose ':' is on a later line or right before the LF is
 * empty (ipfixprobe copies a negative length); a header line without LF is
 * "not parsed" without pointer arithmetic on NULL; a failed message's fields
 * never leak into another flow (ipfixprobe reuses one scratch record).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"
#include "httpline.h"

typedef struct rtsp_record_st {
    char method[10];
    char user_agent[128];
    char uri[128];
    char server[128];
    char content_type[32];
    uint16_t code;
} rtsp_record_t;

/*
 * Zeroed when a flow is created.  The record is a body (plugin.h), taken
 * and cleared when a message first writes to it, so the flows that never
 * carry RTSP neither carry nor clear its 430 bytes.
 */
typedef struct rtsp_state_st {
    void *body;   /* the rtsp_record_t record() returns; NULL: none yet */
    uint8_t has;  /* a request or response parsed: the flow carries the record */
    uint8_t req;  /* the record holds a parsed request */
    uint8_t resp; /* the record holds a parsed response */
} rtsp_state_t;

/* Field table in the order of ipfixprobe's IPFIX template (IPFIX_RTSP_TEMPLATE). */
static const fk_field_t rtsp_fields[] = {
    FK_STR(rtsp_record_t, method, "RTSP_REQUEST_METHOD", "rtsp_request_method", 8057, 1040, 0),
    FK_STR(rtsp_record_t, user_agent, "RTSP_REQUEST_AGENT", "rtsp_request_agent", 8057, 1041, 0),
    FK_STR(rtsp_record_t, uri, "RTSP_REQUEST_URI", "rtsp_request_uri", 8057, 1042, 0),
    FK_U16(rtsp_record_t, code, "RTSP_RESPONSE_STATUS_CODE", "rtsp_response_status_code", 8057,
           1043, 0),
    FK_STR(rtsp_record_t, server, "RTSP_RESPONSE_SERVER", "rtsp_response_server", 8057, 1045, 0),
    FK_STR(rtsp_record_t, content_type, "RTSP_RESPONSE_CONTENT_TYPE", "rtsp_response_content_type",
           8057, 1044, 0),
};

enum {
    RTSP_FAIL = 0,  /* not parsed (what was read so far stays) */
    RTSP_OK = 1,    /* parsed */
    RTSP_FLUSH = 2, /* a second request/response: export, then re-create */
};

/* The record, for a write: the flow's first one reads as empty. */
static rtsp_record_t *rtsp_rec(rtsp_state_t *s, const fp_hookpkt_t *hp)
{
    return fp_plugin_record(hp, s, rtsp_fields, sizeof(rtsp_fields) / sizeof(rtsp_fields[0]));
}

static bool rtsp_is_request(const uint8_t *p, size_t n)
{
    static const char methods[][4] = {"GET ", "POST", "PUT ", "HEAD", "DELE", "TRAC",
                                      "OPTI", "CONN", "PATC", "DESC", "SETU", "PLAY",
                                      "PAUS", "TEAR", "RECO", "ANNO"};

    if (n < 4)
        return false;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (memcmp(p, methods[i], 4) == 0)
            return true;
    return false;
}

static bool rtsp_is_response(const uint8_t *p, size_t n)
{
    return n >= 4 && memcmp(p, "RTSP", 4) == 0;
}

static int rtsp_parse_request(rtsp_state_t *s, const fp_hookpkt_t *hp, const uint8_t *p, size_t n)
{
    rtsp_record_t *r;
    const uint8_t *end = p + n, *sp1, *sp2, *lf;
    char name[FP_HL_NAME_CAP];
    fp_hl_walk_t w;
    fp_hl_hdr_t h;
    int rc;

    if (n == 0 || !fp_hl_split(p, end, &sp1, &sp2) || !fp_hl_at(sp2 + 1, end, "RTSP", 4))
        return RTSP_FAIL;
    if (s->req)
        return RTSP_FLUSH;
    if (!(r = rtsp_rec(s, hp)))
        return RTSP_FAIL;
    /* The method goes through the 64-byte scratch buffer, then into 10. */
    fp_hl_copy(name, sizeof(name), p, sp1);
    fp_hl_cut(r->method, sizeof(r->method), name);
    fp_hl_copy(r->uri, sizeof(r->uri), sp1 + 1, sp2);

    lf = memchr(sp2, '\n', (size_t)(end - sp2));
    if (!lf)
        return RTSP_FAIL;
    r->user_agent[0] = 0;
    fp_hl_walk_init(&w, lf + 1, end, false);
    while ((rc = fp_hl_next(&w, &h)) == FP_HL_HDR)
        if (strcmp(h.name, "User-Agent") == 0)
            fp_hl_value(r->user_agent, sizeof(r->user_agent), &h);
    if (rc == FP_HL_BAD)
        return RTSP_FAIL;
    s->req = 1;
    return RTSP_OK;
}

static int rtsp_parse_response(rtsp_state_t *s, const fp_hookpkt_t *hp, const uint8_t *p, size_t n)
{
    rtsp_record_t *r;
    const uint8_t *end = p + n, *sp1, *sp2, *lf;
    char num[FP_HL_NAME_CAP];
    fp_hl_walk_t w;
    fp_hl_hdr_t h;
    int32_t code;
    int rc;

    if (!rtsp_is_response(p, n) || !fp_hl_split(p, end, &sp1, &sp2))
        return RTSP_FAIL;
    fp_hl_copy(num, sizeof(num), sp1 + 1, sp2);
    code = fp_hl_atoi(num);
    if (code <= 0)
        return RTSP_FAIL;
    if (s->resp)
        return RTSP_FLUSH;
    if (!(r = rtsp_rec(s, hp)))
        return RTSP_FAIL;
    r->code = (uint16_t)code; /* ipfixprobe stores the int in 16 bits */

    lf = memchr(sp2, '\n', (size_t)(end - sp2));
    if (!lf)
        return RTSP_FAIL;
    r->content_type[0] = 0; /* but not server: see the top comment */
    fp_hl_walk_init(&w, lf + 1, end, false);
    while ((rc = fp_hl_next(&w, &h)) == FP_HL_HDR) {
        if (strcmp(h.name, "Content-Type") == 0)
            fp_hl_value(r->content_type, sizeof(r->content_type), &h);
        else if (strcmp(h.name, "Server") == 0)
            fp_hl_value(r->server, sizeof(r->server), &h);
    }
    if (rc == FP_HL_BAD)
        return RTSP_FAIL;
    s->resp = 1;
    return RTSP_OK;
}

/* Parse a segment of a flow; returns RTSP_FAIL / RTSP_OK / RTSP_FLUSH. */
static int rtsp_segment(rtsp_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    const uint8_t *p = pkt->payload;
    size_t n = pkt->payload_len;
    int rc;

    if (!p)
        return RTSP_FAIL;
    if (rtsp_is_request(p, n))
        rc = rtsp_parse_request(s, hp, p, n);
    else if (rtsp_is_response(p, n))
        rc = rtsp_parse_response(s, hp, p, n);
    else
        return RTSP_FAIL;
    if (rc == RTSP_OK)
        s->has = 1;
    return rc;
}

static int rtsp_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    (void)rtsp_segment(state, hp); /* a fresh state never asks to flush */
    return FP_HOOK_OK;
}

static int rtsp_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    return rtsp_segment(state, hp) == RTSP_FLUSH ? FP_HOOK_FLUSH_REINSERT : FP_HOOK_OK;
}

static unsigned rtsp_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const rtsp_state_t *)state)->has ? 1 : 0;
}

static const void *rtsp_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return ((const rtsp_state_t *)state)->body;
}

const fp_plugin_t fp_plugin_rtsp = {
    .abi = FP_PLUGIN_ABI,
    .name = "rtsp",
    .summary = "RTSP request method, URI, user agent; response status, server, content type",
    .fields = rtsp_fields,
    .nfields = sizeof(rtsp_fields) / sizeof(rtsp_fields[0]),
    .record_size = sizeof(rtsp_record_t),
    .state_size = sizeof(rtsp_state_t),
    .body_size = sizeof(rtsp_record_t),
    .post_create = rtsp_post_create,
    .pre_update = rtsp_pre_update,
    .records = rtsp_records,
    .record = rtsp_record,
};
