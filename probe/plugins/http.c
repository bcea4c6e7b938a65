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
 * The whole slab is zeroed when a flow is created.  The record is a body
 * (plugin.h): a flow gets one, cleared, when a message first writes to it,
 * so the many flows that never carry HTTP neither carry nor clear a
 * kilobyte of it.
 */
typedef struct http_state_st {
    void *body;   /* the http_record_t record() returns; NULL: none yet */
    uint8_t has;  /* a request or response parsed: the flow carries the record */
    uint8_t req;  /* the record holds a parsed request */
    uint8_t resp; /* the record holds a parsed response */
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

/* The record, for a write: the flow's first one reads as empty. */
static http_record_t *http_rec(http_state_t *s, const fp_hookpkt_t *hp)
{
    return fp_plugin_record(hp, s, http_fields, sizeof(http_fields) / sizeof(http_fields[0]));
}

/*
 * The nine method prefixes as 32-bit words (first byte lowest), each in its
 * own slot of a 16-slot table by a multiplicative hash: one multiply, one
 * load and one compare tell a payload's first four bytes from all nine (the
 * common case, a body segment, is none of them).  A clash of two prefixes
 * would be a duplicate designator (-Woverride-init, an error here); the word
 * 0 hashes to slot 0, which therefore holds a prefix rather than 0.
 */
#define HTTP_W(a, b, c, d)                                                                 \
    ((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | (uint32_t)(uint8_t)(c) << 16 | \
     (uint32_t)(uint8_t)(d) << 24)
#define HTTP_SLOT(w)       ((uint32_t)((uint32_t)(w)*0x08d12dfdu) >> 28)
#define HTTP_M(a, b, c, d) [HTTP_SLOT(HTTP_W(a, b, c, d))] = HTTP_W(a, b, c, d)
static const uint32_t http_prefix[16] = {
    [0] = HTTP_W('G', 'E', 'T', ' '), HTTP_M('G', 'E', 'T', ' '), HTTP_M('P', 'O', 'S', 'T'),
    HTTP_M('P', 'U', 'T', ' '),       HTTP_M('H', 'E', 'A', 'D'), HTTP_M('D', 'E', 'L', 'E'),
    HTTP_M('T', 'R', 'A', 'C'),       HTTP_M('O', 'P', 'T', 'I'), HTTP_M('C', 'O', 'N', 'N'),
    HTTP_M('P', 'A', 'T', 'C'),
};

/*
 * ipfixprobe's other request test, as it reads: the payload's first space
 * lies in its first 32 bytes, and "HTTP" follows the next space (wherever
 * that is).  Then *sp1 and *sp2 are those spaces: the request line's split,
 * with its "HTTP" already checked.  http_sniff answers the common cases
 * inline and leaves the rest (short payloads, a second space past the first
 * 32 bytes) to this.
 */
static __attribute__((noinline)) bool http_sniff_slow(const uint8_t *p, const uint8_t *end,
                                                      const uint8_t **sp1, const uint8_t **sp2)
{
    const uint8_t *lim = p + (end - p < HTTP_SNIFF_METHOD_MAX ? end - p : HTTP_SNIFF_METHOD_MAX);
    const uint8_t *a, *b;

    a = fp_hl_find2(p, lim, ' ', ' ');
    if (a == lim)
        return false;
    /* A few tens of bytes inline, then a library call for a long stretch. */
    lim = end - (a + 1) > 64 ? a + 1 + 64 : end;
    b = fp_hl_find2(a + 1, lim, ' ', ' ');
    if (b == lim) {
        if (lim == end)
            return false;
        b = memchr(lim, ' ', (size_t)(end - lim));
        if (!b)
            return false;
    }
    if (!fp_hl_at(b + 1, end, "HTTP", 4))
        return false;
    *sp1 = a;
    *sp2 = b;
    return true;
}

/*
 * http_sniff_slow's test where it is cheap: every payload of every flow that
 * is not a method prefix comes here (bodies, TLS records ...), so its first
 * 32 bytes are searched for spaces in two 16-byte compares, and the usual
 * body segment -- no space there, or a second one there not before "HTTP" --
 * is turned away in a few instructions.
 */
static inline bool http_sniff(const uint8_t *p, const uint8_t *end, const uint8_t **sp1,
                              const uint8_t **sp2)
{
#if defined(__SSE2__)
    if (end - p >= HTTP_SNIFF_METHOD_MAX) {
        const __m128i vsp = _mm_set1_epi8(' ');
        __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x0, vsp)) |
                     (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x1, vsp)) << 16;
        uint32_t m2 = m & (m - 1); /* the spaces after the first */
        if (!m)
            return false;
        if (!m2)
            return http_sniff_slow(p, end, sp1, sp2);
        if (!fp_hl_at(p + __builtin_ctz(m2) + 1, end, "HTTP", 4))
            return false;
        *sp1 = p + __builtin_ctz(m);
        *sp2 = p + __builtin_ctz(m2);
        return true;
    }
#endif
    return http_sniff_slow(p, end, sp1, sp2);
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

/*
 * A request whose line splits at sp1 and sp2 with "HTTP" after sp2 (the
 * caller checked): method, target, then Host, User-Agent and Referer from
 * the header section (RFC 9112 sections 3 and 5).
 */
static __attribute__((noinline)) int http_parse_request(http_state_t *s, const fp_hookpkt_t *hp,
                                                        const uint8_t *p, const uint8_t *end,
                                                        const uint8_t *sp1, const uint8_t *sp2)
{
    http_record_t *r;
    const uint8_t *cr;
    fp_hl_walk_t w;
    fp_hl_hdr_t h;
    int rc;

    if (s->req)
        return HTTP_FLUSH;
    if (!(r = http_rec(s, hp)))
        return HTTP_FAIL;
    fp_hl_method(r->method, sizeof(r->method), p, sp1);
    fp_hl_copy(r->uri, sizeof(r->uri), sp1 + 1, sp2);

    cr = fp_hl_crlf(sp2, end);
    if (!cr)
        return HTTP_FAIL;
    r->host[0] = 0;
    r->user_agent[0] = 0;
    r->referer[0] = 0;
    fp_hl_walk_init(&w, cr + 2, end, true);
    w.names = false; /* compared in place */
    /* One pass per line; the name is told by its length, then one compare. */
    while ((rc = fp_hl_next_crlf(&w, &h)) == FP_HL_HDR) {
        switch (h.nlen) {
        case 4:
            if (fp_hl_name_eq(&h, "Host", 4))
                fp_hl_value(r->host, sizeof(r->host), &h);
            break;
        case 10:
            if (fp_hl_name_eq(&h, "User-Agent", 10))
                fp_hl_value(r->user_agent, sizeof(r->user_agent), &h);
            break;
        case 7:
            if (fp_hl_name_eq(&h, "Referer", 7))
                fp_hl_value(r->referer, sizeof(r->referer), &h);
            break;
        default:
            break;
        }
    }
    if (rc == FP_HL_BAD)
        return HTTP_FAIL;
    s->req = 1;
    s->has = 1;
    return HTTP_OK;
}

/*
 * A payload that starts with "HTTP" (the caller checked): the status code
 * between the first two spaces, then Content-Type, Server and the Set-Cookie
 * names from the header section (RFC 9112 section 4, RFC 6265 section 4.1).
 */
static __attribute__((noinline)) int http_parse_response(http_state_t *s, const fp_hookpkt_t *hp,
                                                         const uint8_t *p, const uint8_t *end)
{
    http_record_t *r;
    const uint8_t *sp1, *sp2, *cr;
    fp_hl_walk_t w;
    fp_hl_hdr_t h;
    int32_t code;
    int rc;

    if (!fp_hl_split(p, end, &sp1, &sp2))
        return HTTP_FAIL;
    code = fp_hl_status(sp1 + 1, sp2);
    if (code <= 0)
        return HTTP_FAIL;
    if (s->resp)
        return HTTP_FLUSH;
    if (!(r = http_rec(s, hp)))
        return HTTP_FAIL;
    r->code = (uint16_t)code; /* ipfixprobe stores the int in 16 bits */

    cr = fp_hl_crlf(sp2, end);
    if (!cr)
        return HTTP_FAIL;
    r->content_type[0] = 0;
    r->server[0] = 0;
    r->set_cookie[0] = 0;
    fp_hl_walk_init(&w, cr + 2, end, true);
    w.names = false; /* compared in place */
    while ((rc = fp_hl_next_crlf(&w, &h)) == FP_HL_HDR) {
        switch (h.nlen) {
        case 12:
            if (fp_hl_name_eq(&h, "Content-Type", 12))
                fp_hl_value(r->content_type, sizeof(r->content_type), &h);
            break;
        case 6:
            if (fp_hl_name_eq(&h, "Server", 6))
                fp_hl_value(r->server, sizeof(r->server), &h);
            break;
        case 10:
            if (fp_hl_name_eq(&h, "Set-Cookie", 10)) {
                /* RFC 6265 4.1: cookie-pair = cookie-name "=" cookie-value */
                const uint8_t *eq = fp_hl_strnchr(h.line, h.ve, '=');
                if (!eq)
                    goto done; /* ipfixprobe stops reading headers here */
                http_add_cookie(r->set_cookie, sizeof(r->set_cookie), h.vb, eq);
            }
            break;
        default:
            break;
        }
    }
done:
    if (rc == FP_HL_BAD)
        return HTTP_FAIL;
    s->resp = 1;
    s->has = 1;
    return HTTP_OK;
}

/* A request by its method prefix: it parses when its line splits with "HTTP"
 * after the target. */
static __attribute__((noinline)) int http_request_split(http_state_t *s, const fp_hookpkt_t *hp,
                                                        const uint8_t *p, const uint8_t *end)
{
    const uint8_t *sp1, *sp2;

    if (!fp_hl_split(p, end, &sp1, &sp2) || !fp_hl_at(sp2 + 1, end, "HTTP", 4))
        return HTTP_FAIL;
    return http_parse_request(s, hp, p, end, sp1, sp2);
}

/*
 * Parse a segment of a flow; returns HTTP_FAIL / HTTP_OK / HTTP_FLUSH.  Most
 * segments are neither request nor response: they are told here, inline,
 * and only the others call out to a parser.
 */
static inline int http_segment(http_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    const uint8_t *p = pkt->payload, *end, *sp1, *sp2;
    uint32_t w;

    if (!p || pkt->payload_len < 4)
        return HTTP_FAIL; /* neither a request nor a response */
    end = p + pkt->payload_len;
    w = HTTP_W(p[0], p[1], p[2], p[3]);
    if (http_prefix[HTTP_SLOT(w)] == w)
        return http_request_split(s, hp, p, end);
    if (http_sniff(p, end, &sp1, &sp2))
        return http_parse_request(s, hp, p, end, sp1, sp2);
    if (w == HTTP_W('H', 'T', 'T', 'P'))
        return http_parse_response(s, hp, p, end);
    return HTTP_FAIL;
}

/*
 * False only for a segment http_segment turns away untouched: no request by
 * its prefix or by ipfixprobe's space rule, and no response -- the body
 * segments, TLS records and the like that most payloads are.  A leaf with
 * no calls, so pre_update decides them without a stack frame; anything
 * else (including what the first 32 bytes alone cannot settle) is a
 * candidate and goes the whole way.
 */
static inline bool http_candidate(const uint8_t *p, uint32_t n)
{
    uint32_t w;

    if (!p || n < 4)
        return false;
    w = HTTP_W(p[0], p[1], p[2], p[3]);
    if (http_prefix[HTTP_SLOT(w)] == w || w == HTTP_W('H', 'T', 'T', 'P'))
        return true;
#if defined(__SSE2__)
    if (n >= HTTP_SNIFF_METHOD_MAX) {
        const __m128i vsp = _mm_set1_epi8(' ');
        __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x0, vsp)) |
                     (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x1, vsp)) << 16;
        uint32_t m2 = m & (m - 1); /* the spaces after the first */
        if (!m)
            return false;
        return !m2 || fp_hl_at(p + __builtin_ctz(m2) + 1, p + n, "HTTP", 4);
    }
#endif
    return true;
}

static int http_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    (void)http_segment(state, hp); /* a fresh state never asks to flush */
    return FP_HOOK_OK;
}

static __attribute__((noinline)) int http_pre_update_slow(http_state_t *s, const fp_hookpkt_t *hp)
{
    return http_segment(s, hp) == HTTP_FLUSH ? FP_HOOK_FLUSH_REINSERT : FP_HOOK_OK;
}

static int http_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    (void)ctx;
    (void)flow;
    if (!http_candidate(hp->pkt->payload, hp->pkt->payload_len))
        return FP_HOOK_OK;
    return http_pre_update_slow(state, hp);
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
    return ((const http_state_t *)state)->body;
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
    .body_size = sizeof(http_record_t),
    .post_create = http_post_create,
    .pre_update = http_pre_update,
    .records = http_records,
    .record = http_record,
};
