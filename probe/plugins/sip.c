/*
 * sip.c - ipfixprobe's "sip" plugin: the start line and a few header fields
 * of a SIP message (RFC 3261 section 7).
 *
 *   Request:  Method SP Request-URI SP SIP-Version CRLF   (RFC 3261 7.1)
 *   Response: SIP-Version SP Status-Code SP Reason CRLF   (RFC 3261 7.2)
 *             *( header-name ":" value CRLF ) CRLF [ body ]
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on sip.pcap):
 *   - any transport and port: a packet is SIP when its payload holds at least
 *     64 bytes and starts with one of INVI, ACK_, CANC, BYE_, REGI, PUBL,
 *     NOTI (but not "NOTIFY * HTT", SSDP), INFO, SUBS, "OPTIONS sip:" (only
 *     this exact form: HTTP has OPTIONS too) or "SIP/"; SIP_MSG_TYPE is then
 *     1 .. 10 for the requests in that order (INVITE 1, ACK 2, CANCEL 3,
 *     BYE 4, REGISTER 5, OPTIONS 6, PUBLISH 7, NOTIFY 8, INFO 9, SUBSCRIBE
 *     10) and 99 for a response;
 *   - the packet that creates a flow is parsed when it is SIP; every later
 *     SIP packet of the flow (either direction, whether or not the flow has
 *     a record) asks for FP_HOOK_FLUSH_REINSERT, so each SIP message is its
 *     own record (two records of one flow may share 5-tuple and start time);
 *   - the payload is split into lines at LF only (a line keeps its CR); the
 *     header walk stops at the first line of 0 or 1 bytes (so at the blank
 *     line before the body);
 *   - header names are matched on their first 2-4 bytes with bit 5 cleared
 *     (so case-insensitively, and ':' also matches 0x1a): "FROM" / "F:",
 *     "TO:" / "T:", "VIA:" / "V:", "CALL" / "I:", "USER", "CSEQ"; the value
 *     starts after a fixed skip (5, 2, 3, 2, 4, 2, 8, 2, 11, 5 bytes), so
 *     "Call-Info" counts as Call-ID and "FromX" as From;
 *   - a plain value (Call-ID, User-Agent, CSeq, Via, Request-URI) loses its
 *     leading and trailing non-alphanumeric bytes and is cut at the first
 *     ';'; Via values are joined with ';'; a later header overwrites;
 *   - From / To hold the first "sip:" or "sips:" URI of the value, ended by
 *     the first '>' or else the first ';' in the rest; failing both, trailing
 *     non-letters are stripped (so a bare "sip:100@1.1.1.1" becomes "sip").
 *     When the URI follows an earlier ':' in the value, ipfixprobe measures
 *     the rest of the line from the wrong token and the URI may run past the
 *     line end (into CR LF and the next header): reproduced, but never past
 *     the payload;
 *   - SIP_STATUS_CODE is atoi() of the response's second word (999 when the
 *     line has none): leading white space (CR LF included) is skipped, a
 *     non-number gives 0, the result is truncated to 16 bits;
 *   - strings hold at most 127 bytes (ipfixprobe's 128-byte buffers).
 *
 * Hardening over ipfixprobe: every read stays within the captured payload.
 * ipfixprobe reads 4 bytes of lines shorter than that, scans past a value
 * whose fixed skip exceeds its line (we take the value as empty), runs atoi()
 * off the payload end, and overflows SIP_VIA once it is full (we stop
 * appending when not even the ';' fits).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"

#define SIP_MIN_MSG_LEN 64  /* shorter payloads are not looked at */
#define SIP_FIELD_LEN   128 /* string buffers, NUL included */
#define SIP_STATUS_NONE 999 /* a response line without a second word */

enum {
    SIP_INVALID = 0,
    SIP_INVITE = 1,
    SIP_ACK = 2,
    SIP_CANCEL = 3,
    SIP_BYE = 4,
    SIP_REGISTER = 5,
    SIP_OPTIONS = 6,
    SIP_PUBLISH = 7,
    SIP_NOTIFY = 8,
    SIP_INFO = 9,
    SIP_SUBSCRIBE = 10,
    SIP_RESPONSE = 99,
};

typedef struct sip_record_st {
    uint16_t msg_type;    /* 1 .. 10 request method, 99 response */
    uint16_t status_code; /* responses only */
    char cseq[SIP_FIELD_LEN];
    char calling_party[SIP_FIELD_LEN]; /* From URI */
    char called_party[SIP_FIELD_LEN];  /* To URI */
    char call_id[SIP_FIELD_LEN];
    char user_agent[SIP_FIELD_LEN];
    char request_uri[SIP_FIELD_LEN];
    char via[SIP_FIELD_LEN]; /* every Via value, ';'-separated */
} sip_record_t;

/*
 * Zeroed when a flow is created.  The record is a body (plugin.h), taken
 * and cleared when the flow's first packet turns out to be SIP; the flows
 * that are not neither carry nor touch its 900 bytes.
 */
typedef struct sip_state_st {
    void *body;  /* the sip_record_t, once `has` */
    uint8_t has; /* the flow's first packet was SIP: a record is attached */
} sip_state_t;

static const fk_field_t sip_fields[] = {
    FK_U16(sip_record_t, msg_type, "SIP_MSG_TYPE", "sip_msg_type", 8057, 100, 0),
    FK_U16(sip_record_t, status_code, "SIP_STATUS_CODE", "sip_status_code", 8057, 101, 0),
    FK_STR(sip_record_t, cseq, "SIP_CSEQ", "sip_cseq", 8057, 108, 0),
    FK_STR(sip_record_t, calling_party, "SIP_CALLING_PARTY", "sip_calling_party", 8057, 103, 0),
    FK_STR(sip_record_t, called_party, "SIP_CALLED_PARTY", "sip_called_party", 8057, 104, 0),
    FK_STR(sip_record_t, call_id, "SIP_CALL_ID", "sip_call_id", 8057, 102, 0),
    FK_STR(sip_record_t, user_agent, "SIP_USER_AGENT", "sip_user_agent", 8057, 106, 0),
    FK_STR(sip_record_t, request_uri, "SIP_REQUEST_URI", "sip_request_uri", 8057, 107, 0),
    FK_STR(sip_record_t, via, "SIP_VIA", "sip_via", 8057, 105, 0),
};

/* ASCII classes (the C locale's, whatever the process locale is). */
static inline bool sip_alpha(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool sip_alnum(uint8_t c)
{
    return sip_alpha(c) || (c >= '0' && c <= '9');
}

/*
 * A tokenizer over [p, p + left): each call returns the bytes up to the next
 * `sep` (or to the end) and steps past the separator.  A separator that is
 * the last byte ends the walk (no empty token after it); the first call
 * returns a token even for an empty region.  This is ipfixprobe's
 * parser_strtok without its word-at-a-time over-reads.
 */
typedef struct sip_tok_st {
    const uint8_t *next; /* start of the next token; NULL: no more */
    size_t left;         /* bytes from next to the end of the region */
    uint8_t sep;
} sip_tok_t;

static void sip_tok_init(sip_tok_t *t, const uint8_t *p, size_t n, uint8_t sep)
{
    t->next = p;
    t->left = n;
    t->sep = sep;
}

static const uint8_t *sip_tok_next(sip_tok_t *t, size_t *len)
{
    const uint8_t *b = t->next, *s;

    if (!b)
        return NULL;
    s = t->left ? memchr(b, t->sep, t->left) : NULL;
    if (!s) {
        *len = t->left;
        t->next = NULL;
        return b;
    }
    *len = (size_t)(s - b);
    t->left -= *len + 1;
    t->next = t->left ? s + 1 : NULL;
    return b;
}

/* The message type of a payload (see the top), SIP_INVALID if not SIP. */
static uint16_t sip_msg_type(const uint8_t *p, size_t n)
{
    static const struct {
        char head[5];
        uint16_t type;
    } heads[] = {
        {"INVI", SIP_INVITE}, {"ACK ", SIP_ACK},       {"CANC", SIP_CANCEL},
        {"BYE ", SIP_BYE},    {"REGI", SIP_REGISTER},  {"PUBL", SIP_PUBLISH},
        {"INFO", SIP_INFO},   {"SUBS", SIP_SUBSCRIBE}, {"SIP/", SIP_RESPONSE},
    };

    if (!p || n < SIP_MIN_MSG_LEN)
        return SIP_INVALID;
    /* OPTIONS is an HTTP method too: only "OPTIONS sip:" counts. */
    if (memcmp(p, "OPTI", 4) == 0)
        return memcmp(p + 4, "ONS sip:", 8) == 0 ? SIP_OPTIONS : SIP_INVALID;
    /* SSDP announces with "NOTIFY * HTTP/1.1". */
    if (memcmp(p, "NOTI", 4) == 0)
        return memcmp(p + 4, "FY * HTT", 8) == 0 ? SIP_INVALID : SIP_NOTIFY;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        if (memcmp(p, heads[i].head, 4) == 0)
            return heads[i].type;
    return SIP_INVALID;
}

/*
 * A plain header value: from line[skip], without leading and trailing
 * non-alphanumeric bytes, up to the first ';', at most cap - 1 bytes.  A skip
 * that reaches the line end gives "" (ipfixprobe reads past the line there).
 */
static void sip_field_value(const uint8_t *line, size_t len, size_t skip, char *dst, size_t cap)
{
    const uint8_t *p, *semi;
    size_t n;

    dst[0] = 0;
    if (skip >= len)
        return;
    p = line + skip;
    n = len - skip;
    while (n > 0 && !sip_alnum(*p)) {
        p++;
        n--;
    }
    while (n > 0 && !sip_alnum(p[n - 1]))
        n--;
    if ((semi = memchr(p, ';', n)) != NULL)
        n = (size_t)(semi - p);
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = 0;
}

/* The four bytes at p, bit 5 cleared ("sip:" and "SIP\x1a" alike), equal `pat`? */
static bool sip_uc_eq(const uint8_t *p, const char *pat, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] & 0xdf) != (uint8_t)pat[i])
            return false;
    return true;
}

/*
 * The SIP URI of a From / To value into dst (left as it was when there is
 * none).  `pay` .. `end` is the payload: the URI may run past its line (see
 * the top) but never past `end`.
 */
static void sip_field_uri(const uint8_t *line, size_t len, size_t skip, const uint8_t *pay,
                          const uint8_t *end, char *dst, size_t cap)
{
    const uint8_t *r, *tok, *start = NULL, *hit;
    size_t rn, tl, n = 0;
    sip_tok_t t;

    if (skip >= len)
        return;
    r = line + skip;
    rn = len - skip;
    sip_tok_init(&t, r, rn, ':');
    for (tok = sip_tok_next(&t, &tl); tok && tl > 0; tok = sip_tok_next(&t, &tl)) {
        const uint8_t *colon = tok + tl; /* the ':' (or the line end: no match) */
        size_t at = (size_t)(colon - pay);

        if (colon >= end || at < 3)
            continue;
        /* ipfixprobe takes the rest as rn - tl, right for the first token
         * only: later tokens give a rest that runs past the line. */
        if (sip_uc_eq(colon - 3, "SIP\x1a", 4)) {
            start = colon - 3;
            n = rn - tl + 3;
            break;
        }
        if (sip_uc_eq(colon - 3, "IPS\x1a", 4) && at >= 4) {
            start = colon - 4;
            n = rn - tl + 4;
            break;
        }
    }
    if (!start)
        return;
    if (n > (size_t)(end - start))
        n = (size_t)(end - start);
    if ((hit = memchr(start, '>', n)) != NULL || (hit = memchr(start, ';', n)) != NULL)
        n = (size_t)(hit - start);
    else
        while (n > 0 && !sip_alpha(start[n - 1]))
            n--;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, start, n);
    dst[n] = 0;
}

/* Append a Via value, ';'-separated, while there is room for the ';'. */
static void sip_add_via(sip_record_t *r, const uint8_t *line, size_t len, size_t skip)
{
    size_t have = strlen(r->via);

    if (have == 0) {
        sip_field_value(line, len, skip, r->via, sizeof(r->via));
        return;
    }
    if (have + 1 >= sizeof(r->via))
        return;
    r->via[have++] = ';';
    sip_field_value(line, len, skip, r->via + have, sizeof(r->via) - have);
}

/*
 * C atoi() over [p, end): white space, a sign, digits.  strtol saturates at
 * the 64-bit limits and ipfixprobe keeps the low 16 bits of the result.
 */
static uint16_t sip_atoi(const uint8_t *p, const uint8_t *end)
{
    uint64_t v = 0;
    bool neg = false, sat = false;

    while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
        p++;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (sat || v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
            sat = true;
        else
            v = v * 10 + d;
    }
    if (sat)
        v = neg ? UINT64_C(0x8000000000000000) : UINT64_C(0x7fffffffffffffff);
    else if (neg)
        v = (uint64_t)0 - v;
    return (uint16_t)v;
}

/* The header lines ipfixprobe looks at, by their first bytes (see the top). */
static void sip_header(sip_record_t *r, const uint8_t *line, size_t len, const uint8_t *pay,
                       const uint8_t *end)
{
    uint8_t h[4];

    /* Bytes past a short line are its LF (or the payload end): no name
     * pattern has an LF, so padding with one keeps the match exact. */
    for (size_t i = 0; i < sizeof(h); i++)
        h[i] = i < len ? line[i] : '\n';

    if (sip_uc_eq(h, "FROM", 4))
        sip_field_uri(line, len, 5, pay, end, r->calling_party, sizeof(r->calling_party));
    else if (sip_uc_eq(h, "F\x1a", 2))
        sip_field_uri(line, len, 2, pay, end, r->calling_party, sizeof(r->calling_party));
    else if (sip_uc_eq(h, "TO\x1a", 3))
        sip_field_uri(line, len, 3, pay, end, r->called_party, sizeof(r->called_party));
    else if (sip_uc_eq(h, "T\x1a", 2))
        sip_field_uri(line, len, 2, pay, end, r->called_party, sizeof(r->called_party));
    else if (sip_uc_eq(h, "VIA\x1a", 4))
        sip_add_via(r, line, len, 4);
    else if (sip_uc_eq(h, "V\x1a", 2))
        sip_add_via(r, line, len, 2);
    else if (sip_uc_eq(h, "CALL", 4))
        sip_field_value(line, len, 8, r->call_id, sizeof(r->call_id));
    else if (sip_uc_eq(h, "I\x1a", 2))
        sip_field_value(line, len, 2, r->call_id, sizeof(r->call_id));
    else if (sip_uc_eq(h, "USER", 4))
        sip_field_value(line, len, 11, r->user_agent, sizeof(r->user_agent));
    else if (sip_uc_eq(h, "CSEQ", 4))
        sip_field_value(line, len, 5, r->cseq, sizeof(r->cseq));
}

/* Fill r (msg_type already set) from a SIP message of n >= 64 bytes. */
static void sip_parse(sip_record_t *r, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n, *line, *word;
    size_t len, wl;
    sip_tok_t lines, words;

    sip_tok_init(&lines, p, n, '\n');
    line = sip_tok_next(&lines, &len);
    sip_tok_init(&words, line, len, ' ');
    (void)sip_tok_next(&words, &wl); /* method or SIP-Version */
    word = sip_tok_next(&words, &wl);
    if (r->msg_type <= SIP_SUBSCRIBE) {
        if (word)
            sip_field_value(word, wl, 0, r->request_uri, sizeof(r->request_uri));
    } else {
        /* atoi() reads on past the word, as ipfixprobe's does. */
        r->status_code = word ? sip_atoi(word, end) : SIP_STATUS_NONE;
    }
    while ((line = sip_tok_next(&lines, &len)) != NULL && len > 1)
        sip_header(r, line, len, p, end);
}

static int sip_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    sip_state_t *s = state;
    const fk_packet_t *pkt = hp->pkt;
    uint16_t type = sip_msg_type(pkt->payload, pkt->payload_len);

    (void)ctx;
    (void)flow;
    if (type == SIP_INVALID)
        return FP_HOOK_OK;
    sip_record_t *r =
        fp_plugin_record(hp, s, sip_fields, sizeof(sip_fields) / sizeof(sip_fields[0]));
    if (!r)
        return FP_HOOK_OK;
    r->msg_type = type;
    sip_parse(r, pkt->payload, pkt->payload_len);
    s->has = 1;
    return FP_HOOK_OK;
}

static int sip_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;

    (void)ctx;
    (void)flow;
    (void)state;
    /* A new SIP message starts a new record (ipfixprobe: FLUSH_WITH_REINSERT). */
    return sip_msg_type(pkt->payload, pkt->payload_len) != SIP_INVALID ? FP_HOOK_FLUSH_REINSERT
                                                                       : FP_HOOK_OK;
}

static unsigned sip_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const sip_state_t *)state)->has ? 1 : 0;
}

static const void *sip_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return ((const sip_state_t *)state)->body;
}

const fp_plugin_t fp_plugin_sip = {
    .abi = FP_PLUGIN_ABI,
    .name = "sip",
    .summary = "SIP message type, status code, CSeq, From/To URIs, Call-ID, User-Agent, "
               "Request-URI, Via (one record per message)",
    .fields = sip_fields,
    .nfields = sizeof(sip_fields) / sizeof(sip_fields[0]),
    .record_size = sizeof(sip_record_t),
    .state_size = sizeof(sip_state_t),
    .body_size = sizeof(sip_record_t),
    .post_create = sip_post_create,
    .pre_update = sip_pre_update,
    .records = sip_records,
    .record = sip_record,
};
