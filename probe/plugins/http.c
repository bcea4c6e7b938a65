/*
 * http.c - ipfixprobe's "http" plugin: the request line and a few header
 * fields of an HTTP/1.x request (method, Host, target URL, User-Agent,
 * Referer) and of its response (status code, Content-Type, Server, the names
 * of the cookies Set-Cookie sets).  Message syntax: RFC 9112 sections 2-5;
 * Set-Cookie: RFC 6265 section 4.1.
 *
 * As ipfixprobe 5.7.0 (its conformance case on http.pcap), per TCP segment:
 *   - a segment is a request when its first four bytes are one of "GET ",
 *     "POST", "PUT ", "HEAD", "DELE", "TRAC", "OPTI", "CONN", "PATC", or
 *     when a space occurs in its first 32 bytes, another space follows, and
 *     "HTTP" comes right after that one (any method).  Else it is a response
 *     when it starts with "HTTP".  Other segments (bodies, continuations)
 *     are ignored: a header section split over segments is read only as far
 *     as its first segment goes;
 *   - a request is parsed when its request target is followed by " HTTP";
 *     a response when the text between its first two spaces reads as a
 *     number > 0 (C atoi: "200abc" is 200, "abc" is not a status);
 *   - a flow carries a record once one request or response parsed; a second
 *     request on a flow whose record already holds one (or a second response
 *     after a response) exports the flow and re-creates it from that packet
 *     (FP_HOOK_FLUSH_REINSERT), so each exchange of a keep-alive connection
 *     is its own record;
 *   - a message "parses" only when its header section ends in the segment:
 *     every line up to an empty line (or up to the segment end) ends with
 *     CRLF and has a ':' somewhere at or after its start.  Fields read before
 *     a failure stay in the flow's state: they show if a later message of
 *     the same flow parses, as ipfixprobe's reused scratch record shows them;
 *   - field names match case-sensitively ("Host", "User-Agent", "Referer",
 *     "Content-Type", "Server", "Set-Cookie"); the last occurrence wins;
 *     values are cut to ipfixprobe's buffers (method 15 bytes, host 63, URL,
 *     agent, referer and server 127, content type 31) -- see httpline.h for
 *     how names and values are cut out of a line;
 *   - Set-Cookie: the bytes from the value start to the first '=' of the
 *     line are appended to HTTP_RESPONSE_SET_COOKIE_NAMES, ';'-separated,
 *     within 511 bytes (a name that does not fit is cut; once the list is
 *     full nothing more is added).  A Set-Cookie line without '=' ends the
 *     header section (the response still counts as parsed).  After an
 *     appended name, ipfixprobe drops a trailing LF/CR by testing the byte
 *     at the new name's length from the start of the whole list, not at its
 *     end; we reproduce that too.
 *
 * Hardening over ipfixprobe (which reads past the payload or copies negative
 * lengths in these cases): "HTTP" after the target must lie inside the
 * payload; a name whose ':' is on a later line gets an empty value; a
 * Set-Cookie whose '=' comes before its value start is skipped; the first
 * cookie name is cut to 511 bytes (ipfixprobe writes 512 plus the NUL).
 * And ipfixprobe keeps one scratch record per worker across flows, so a
 * message that fails to parse can leak its fields into another flow's record;
 * flowprobe keeps such leftovers within their own flow.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"
#include "httpline.h"

#define HTTP_SNIFF_METHOD_MAX 32 /* ipfixprobe looks for the first space this far */

typedef struct http_record_st {
    char user_agent[128];
    char method[16];
    char host[64];
    char referer[128];
    char uri[128];
    char content_type[32];
    char server[128];
    char set_cookie[512];
    uint16_t code;
} http_record_t;

/*
 * The flags come first: only they are zeroed when a flow is created
 * (state_zero); r is cleared when a message first writes to it, so the many
 * flows that never carry HTTP never pay for a kilobyte of memset.
 */
typedef struct http_state_st {
    uint8_t has;     /* a request or response parsed: the flow carries r */
    uint8_t req;     /* r holds a parsed request */
    uint8_t resp;    /* r holds a parsed response */
    uint8_t r_init;  /* r has been cleared for this flow */
    http_record_t r; /* what record() returns */
} http_state_t;

/* Field table in the order of ipfixprobe's IPFIX template (IPFIX_HTTP_TEMPLATE). */
static const fk_field_t http_fields[] = {
    FK_STR(http_record_t, user_agent, "HTTP_REQUEST_AGENT", "http_request_agent", 39499, 20, 0),
    FK_STR(http_record_t, method, "HTTP_REQUEST_METHOD", "http_request_method", 8057, 200, 0),
    FK_STR(http_record_t, host, "HTTP_REQUEST_HOST", "http_request_host", 39499, 1, 0),
    FK_STR(http_record_t, referer, "HTTP_REQUEST_REFERER", "http_request_referer", 39499, 3, 0),
    FK_STR(http_record_t, uri, "HTTP_REQUEST_URL", "http_request_url", 39499, 2, 0),
    FK_STR(http_record_t, content_type, "HTTP_RESPONSE_CONTENT_TYPE", "http_response_content_type",
           39499, 10, 0),
    FK_STR(http_record_t, server, "HTTP_RESPONSE_SERVER", "http_response_server", 8057, 201, 0),
    FK_STR(http_record_t, set_cookie, "HTTP_RESPONSE_SET_COOKIE_NAMES",
           "http_response_set_cookie_names", 8057, 202, 0),
    FK_U16(http_record_t, code, "HTTP_RESPONSE_STATUS_CODE", "http_response_status_code", 39499, 12,
           0),
};

enum {
    HTTP_FAIL = 0,  /* not parsed (what was read so far stays) */
    HTTP_OK = 1,    /* parsed */
    HTTP_FLUSH = 2, /* a second request/response: export, then re-create */
};

/* Before the first write to r in a flow: make it read as empty. */
static void http_clear(http_state_t *s)
{
    if (!s->r_init) {
        fk_record_clear(http_fields, sizeof(http_fields) / sizeof(http_fields[0]), &s->r);
        s->r_init = 1;
    }
}

static bool http_is_request(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n, *sp1, *sp2;

    if (n < 4)
        return false;
    /* The nine method prefixes, told apart by their first byte first (one
     * switch, then one 4-byte compare) rather than nine compares per payload. */
    switch (p[0]) {
    case 'G':
        if (memcmp(p, "GET ", 4) == 0)
            return true;
        break;
    case 'P':
        if (memcmp(p, "POST", 4) == 0 || memcmp(p, "PUT ", 4) == 0 || memcmp(p, "PATC", 4) == 0)
            return true;
        break;
    case 'H':
        if (memcmp(p, "HEAD", 4) == 0)
            return true;
        break;
    case 'D':
        if (memcmp(p, "DELE", 4) == 0)
            return true;
        break;
    case 'T':
        if (memcmp(p, "TRAC", 4) == 0)
            return true;
        break;
    case 'O':
        if (memcmp(p, "OPTI", 4) == 0)
            return true;
        break;
    case 'C':
        if (memcmp(p, "CONN", 4) == 0)
            return true;
        break;
    default:
        break;
    }
    /* Any method: "X Y HTTP" with the first space within 32 bytes.  Every
     * payload of a flow comes here (bodies, TLS records ...): the spaces
     * are looked for inline first, a library call costs more than the few
     * bytes up to the usual space. */
    const uint8_t *lim = p + (n < HTTP_SNIFF_METHOD_MAX ? n : HTTP_SNIFF_METHOD_MAX);
    sp1 = fp_hl_find2(p, lim, ' ', ' ');
    if (sp1 == lim)
        return false;
    lim = end - (sp1 + 1) > 64 ? sp1 + 1 + 64 : end;
    sp2 = fp_hl_find2(sp1 + 1, lim, ' ', ' ');
    if (sp2 == lim)
        sp2 = lim < end ? memchr(lim, ' ', (size_t)(end - lim)) : NULL;
    return sp2 && fp_hl_at(sp2 + 1, end, "HTTP", 4);
}

static bool http_is_response(const uint8_t *p, size_t n)
{
    return n >= 4 && memcmp(p, "HTTP", 4) == 0;
}

/*
 * Append one cookie name [b, e) to the ';'-separated list, as ipfixprobe's
 * add_str does (see the top comment for its trailing-CR/LF test).
 */
static void http_add_cookie(char *dst, size_t cap, const uint8_t *b, const uint8_t *e)
{
    size_t dl = strnlen(dst, cap - 1), len, at, pos;

    if (e < b)
        return; /* ipfixprobe: negative memcpy */
    len = (size_t)(e - b);
    if (dl > 0) {
        if (dl + 2 >= cap)
            return; /* full */
        if (len + dl + 1 >= cap)
            len = cap - dl - 2;
        dst[dl] = ';';
        at = dl + 1;
    } else {
        if (len >= cap)
            len = cap - 1;
        at = 0;
    }
    /* strcat of the name: it ends at a NUL byte. */
    pos = at;
    for (size_t i = 0; i < len && b[i]; i++)
        dst[pos++] = (char)b[i];
    dst[pos] = 0;
    /* ipfixprobe's trailing-LF/CR test, at index len - 1 of the whole list. */
    if (len >= 1 && dst[len - 1] == '\n')
        len--;
    if (len >= 1 && dst[len - 1] == '\r')
        len--;
    dst[at + len] = 0; /* at + len <= cap - 1 */
}

static int http_parse_request(http_state_t *s, const uint8_t *p, size_t n)
{
    http_record_t *r = &s->r;
    const uint8_t *end = p + n, *sp1, *sp2, *cr;
    char name[FP_HL_NAME_CAP];
    fp_hl_walk_t w;
    fp_hl_hdr_t h;
    int rc;

    if (n == 0 || !fp_hl_split(p, end, &sp1, &sp2) || !fp_hl_at(sp2 + 1, end, "HTTP", 4))
        return HTTP_FAIL;
    if (s->req)
        return HTTP_FLUSH;
    http_clear(s);
    /* The method goes through the 64-byte scratch buffer, then into 16. */
    fp_hl_copy(name, sizeof(name), p, sp1);
    fp_hl_cut(r->method, sizeof(r->method), name);
    fp_hl_copy(r->uri, sizeof(r->uri), sp1 + 1, sp2);

    cr = fp_hl_crlf(sp2, end);
    if (!cr)
        return HTTP_FAIL;
    r->host[0] = 0;
    r->user_agent[0] = 0;
    r->referer[0] = 0;
    fp_hl_walk_init(&w, cr + 2, end, true);
    w.names = false; /* compared in place */
    while ((rc = fp_hl_next(&w, &h)) == FP_HL_HDR) {
        if (fp_hl_name_is(&h, "Host", 4))
            fp_hl_value(r->host, sizeof(r->host), &h);
        else if (fp_hl_name_is(&h, "User-Agent", 10))
            fp_hl_value(r->user_agent, sizeof(r->user_agent), &h);
        else if (fp_hl_name_is(&h, "Referer", 7))
            fp_hl_value(r->referer, sizeof(r->referer), &h);
    }
    if (rc == FP_HL_BAD)
        return HTTP_FAIL;
    s->req = 1;
    return HTTP_OK;
}

static int http_parse_response(http_state_t *s, const uint8_t *p, size_t n)
{
    http_record_t *r = &s->r;
    const uint8_t *end = p + n, *sp1, *sp2, *cr;
    char num[FP_HL_NAME_CAP];
    fp_hl_walk_t w;
    fp_hl_hdr_t h;
    int32_t code;
    int rc;

    if (!http_is_response(p, n) || !fp_hl_split(p, end, &sp1, &sp2))
        return HTTP_FAIL;
    fp_hl_copy(num, sizeof(num), sp1 + 1, sp2);
    code = fp_hl_atoi(num);
    if (code <= 0)
        return HTTP_FAIL;
    if (s->resp)
        return HTTP_FLUSH;
    http_clear(s);
    r->code = (uint16_t)code; /* ipfixprobe stores the int in 16 bits */

    cr = fp_hl_crlf(sp2, end);
    if (!cr)
        return HTTP_FAIL;
    r->content_type[0] = 0;
    r->server[0] = 0;
    r->set_cookie[0] = 0;
    fp_hl_walk_init(&w, cr + 2, end, true);
    w.names = false; /* compared in place */
    while ((rc = fp_hl_next(&w, &h)) == FP_HL_HDR) {
        if (fp_hl_name_is(&h, "Content-Type", 12)) {
            fp_hl_value(r->content_type, sizeof(r->content_type), &h);
        } else if (fp_hl_name_is(&h, "Server", 6)) {
            fp_hl_value(r->server, sizeof(r->server), &h);
        } else if (fp_hl_name_is(&h, "Set-Cookie", 10)) {
            /* RFC 6265 4.1: cookie-pair = cookie-name "=" cookie-value */
            const uint8_t *eq = fp_hl_strnchr(h.line, h.ve, '=');
            if (!eq)
                break; /* ipfixprobe stops reading headers here */
            http_add_cookie(r->set_cookie, sizeof(r->set_cookie), h.vb, eq);
        }
    }
    if (rc == FP_HL_BAD)
        return HTTP_FAIL;
    s->resp = 1;
    return HTTP_OK;
}

/* Parse a segment of a flow; returns HTTP_FAIL / HTTP_OK / HTTP_FLUSH. */
static int http_segment(http_state_t *s, const fk_packet_t *pkt)
{
    const uint8_t *p = pkt->payload;
    size_t n = pkt->payload_len;
    int rc;

    if (!p)
        return HTTP_FAIL;
    if (http_is_request(p, n))
        rc = http_parse_request(s, p, n);
    else if (http_is_response(p, n))
        rc = http_parse_response(s, p, n);
    else
        return HTTP_FAIL;
    if (rc == HTTP_OK)
        s->has = 1;
    return rc;
}

static int http_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    (void)http_segment(state, hp->pkt); /* a fresh state never asks to flush */
    return FP_HOOK_OK;
}

static int http_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    return http_segment(state, hp->pkt) == HTTP_FLUSH ? FP_HOOK_FLUSH_REINSERT : FP_HOOK_OK;
}

static unsigned http_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const http_state_t *)state)->has ? 1 : 0;
}

static const void *http_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return &((const http_state_t *)state)->r;
}

const fp_plugin_t fp_plugin_http = {
    .abi = FP_PLUGIN_ABI,
    .name = "http",
    .flags = FP_PLUGIN_PAYLOAD_HOOKS, /* a bare segment is neither request nor response */
    .summary = "HTTP request method, host, URL, user agent, referer; response status, content "
               "type, server, Set-Cookie names",
    .fields = http_fields,
    .nfields = sizeof(http_fields) / sizeof(http_fields[0]),
    .record_size = sizeof(http_record_t),
    .state_size = sizeof(http_state_t),
    .state_zero = offsetof(http_state_t, r),
    .post_create = http_post_create,
    .pre_update = http_pre_update,
    .records = http_records,
    .record = http_record,
};
