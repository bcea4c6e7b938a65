/*
 * smtp.c - ipfixprobe's "smtp" plugin: SMTP commands and replies
 * (RFC 5321 sections 4.1 and 4.2) summed up per flow.
 *
 *   command = verb [SP parameters] CRLF          (RFC 5321 4.1.1)
 *   reply   = 3DIGIT ( "-" / SP ) text CRLF      (RFC 5321 4.2, "-" = more lines)
 *
 * Semantics follow ipfixprobe 5.7.0 (its conformance case on smtp.pcap):
 *   - only packets with source or destination port 25 are looked at: from
 *     port 25 a payload is a reply, to port 25 a command (a packet between
 *     two ports 25 is a reply);
 *   - a flow carries a record from the first packet that parses (an empty
 *     segment does not); later packets add to it, whether they parse or not;
 *   - one reply per packet: at least 5 bytes, three digits, then ' ' or '-'.
 *     Its code sets a bit of SMTP_STAT_CODE_FLAGS (the readme's table; any
 *     other code sets 0x80000000), the word SPAM anywhere in the segment
 *     sets 0x40000000, and the first digit counts it as 2xx .. 5xx (a first
 *     digit 0, 1 or 6 .. 9 sets the flags but does not count, and the packet
 *     does not parse);
 *   - one command per packet, and only when the segment holds a CR.  The
 *     verb runs to the first space of the whole segment (or to the first CR
 *     when there is no space) and must be shorter than 32 bytes; it is
 *     compared case-sensitively and ends at a NUL byte.  EHLO/HELO, MAIL,
 *     RCPT, DATA, RSET, VRFY, EXPN, HELP, NOOP and QUIT set their bits of
 *     SMTP_COMMAND_FLAGS; any other verb that is not all upper-case letters
 *     sets UNKNOWN (0x8000), so base64 AUTH exchanges show up there;
 *   - SMTP_DOMAIN is what follows "EHLO " / "HELO " up to the CR, from the
 *     first such command; SMTP_FIRST_SENDER / _RECIPIENT are what follows
 *     the first ':' after "MAIL " / "RCPT " up to the first CR (so
 *     " <a@b>" keeps its space), from the first such command whose value is
 *     not empty; each string holds at most 254 bytes;
 *   - after DATA, client segments are message content: they are skipped
 *     until one that is exactly ".\r\n" (so a final "\r\n.\r\n" that shares
 *     a segment with the content leaves the rest of the session unparsed,
 *     as in the reference, which has no QUIT bit).
 *   - the SPAM search is ipfixprobe's: after a partial match it does not
 *     look at the mismatching byte again ("SSPAM" does not match), and it
 *     stops at a NUL byte.
 *
 * Deliberate differences: RSET sets 0x0020 as the readme's table says
 * (ipfixprobe 5.7.0 forgot it; newer ipfixprobe sets it).  ipfixprobe parses
 * into one scratch record per plugin instance and hands it to the next flow
 * whose packet parses, so a failed parse of one flow can leak into another;
 * here state never leaves its flow.  When the first ':' after MAIL/RCPT lies
 * past the CR, ipfixprobe computes a negative length and copies 254 bytes
 * whatever the payload holds; we copy the same bytes but stop at the payload
 * end.  The end-of-data test reads no byte past the payload (ipfixprobe's
 * strcmp reads one).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../plugin.h"

#define SMTP_PORT     25
#define SMTP_STR_LEN  255 /* string buffers, NUL included */
#define SMTP_VERB_MAX 32  /* a verb of 32 bytes or more is no command */

/* SMTP_COMMAND_FLAGS bits (ipfixprobe readme). */
enum {
    SMTP_CMD_EHLO = 0x0001,
    SMTP_CMD_HELO = 0x0002,
    SMTP_CMD_MAIL = 0x0004,
    SMTP_CMD_RCPT = 0x0008,
    SMTP_CMD_DATA = 0x0010,
    SMTP_CMD_RSET = 0x0020,
    SMTP_CMD_VRFY = 0x0040,
    SMTP_CMD_EXPN = 0x0080,
    SMTP_CMD_HELP = 0x0100,
    SMTP_CMD_NOOP = 0x0200,
    SMTP_CMD_QUIT = 0x0400,
    SMTP_CMD_UNKNOWN = 0x8000,
};

#define SMTP_SC_SPAM    0x40000000u /* a reply contains "SPAM" */
#define SMTP_SC_UNKNOWN 0x80000000u /* a code not in the table */

typedef struct smtp_record_st {
    uint32_t command_flags; /* SMTP_CMD_* seen */
    uint32_t mail_cmd_count;
    uint32_t rcpt_cmd_count;
    uint32_t code_flags; /* bit per reply code seen, SPAM, UNKNOWN */
    uint32_t code_2xx;
    uint32_t code_3xx;
    uint32_t code_4xx;
    uint32_t code_5xx;
    char domain[SMTP_STR_LEN];
    char first_sender[SMTP_STR_LEN];
    char first_recipient[SMTP_STR_LEN];
} smtp_record_t;

/*
 * Zeroed when a flow is created.  The record is a body (plugin.h), taken
 * and cleared when the flow's first packet to or from port 25 comes
 * (smtp_rec); the flows that have none neither carry nor touch its 800
 * bytes.
 */
typedef struct smtp_state_st {
    void *body;            /* the smtp_record_t; NULL: none yet */
    uint8_t has;           /* a packet parsed: the record is attached */
    uint8_t data_transfer; /* after DATA: client segments are content */
} smtp_state_t;

static const fk_field_t smtp_fields[] = {
    FK_U32(smtp_record_t, command_flags, "SMTP_COMMAND_FLAGS", "smtp_command_flags", 8057, 810, 0),
    FK_U32(smtp_record_t, mail_cmd_count, "SMTP_MAIL_CMD_COUNT", "smtp_mail_cmd_count", 8057, 811,
           0),
    FK_U32(smtp_record_t, rcpt_cmd_count, "SMTP_RCPT_CMD_COUNT", "smtp_rcpt_cmd_count", 8057, 812,
           0),
    FK_U32(smtp_record_t, code_flags, "SMTP_STAT_CODE_FLAGS", "smtp_stat_code_flags", 8057, 815, 0),
    FK_U32(smtp_record_t, code_2xx, "SMTP_2XX_STAT_CODE_COUNT", "smtp_2xx_stat_code_count", 8057,
           816, 0),
    FK_U32(smtp_record_t, code_3xx, "SMTP_3XX_STAT_CODE_COUNT", "smtp_3xx_stat_code_count", 8057,
           817, 0),
    FK_U32(smtp_record_t, code_4xx, "SMTP_4XX_STAT_CODE_COUNT", "smtp_4xx_stat_code_count", 8057,
           818, 0),
    FK_U32(smtp_record_t, code_5xx, "SMTP_5XX_STAT_CODE_COUNT", "smtp_5xx_stat_code_count", 8057,
           819, 0),
    FK_STR(smtp_record_t, domain, "SMTP_DOMAIN", "smtp_domain", 8057, 820, 0),
    FK_STR(smtp_record_t, first_sender, "SMTP_FIRST_SENDER", "smtp_first_sender", 8057, 813, 0),
    FK_STR(smtp_record_t, first_recipient, "SMTP_FIRST_RECIPIENT", "smtp_first_recipient", 8057,
           814, 0),
};

/* Reply codes with a bit of their own in SMTP_STAT_CODE_FLAGS, bit i = codes[i]. */
static const uint16_t smtp_codes[] = {211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452,
                                      455, 500, 501, 502, 503, 504, 550, 551, 552, 553, 554, 555};

/* Commands with a bit of their own (HELO/EHLO, MAIL, RCPT and DATA do more). */
static const struct {
    char verb[5];
    uint16_t flag;
} smtp_verbs[] = {
    {"HELO", SMTP_CMD_HELO}, {"EHLO", SMTP_CMD_EHLO}, {"MAIL", SMTP_CMD_MAIL},
    {"RCPT", SMTP_CMD_RCPT}, {"DATA", SMTP_CMD_DATA}, {"RSET", SMTP_CMD_RSET},
    {"VRFY", SMTP_CMD_VRFY}, {"EXPN", SMTP_CMD_EXPN}, {"HELP", SMTP_CMD_HELP},
    {"NOOP", SMTP_CMD_NOOP}, {"QUIT", SMTP_CMD_QUIT},
};

/* ASCII classes (the C locale's, whatever the process locale is). */
static inline bool smtp_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static inline bool smtp_upper(uint8_t c)
{
    return c >= 'A' && c <= 'Z';
}

/* ipfixprobe's case-insensitive search for "SPAM" (see the top). */
static bool smtp_has_spam(const uint8_t *p, size_t n)
{
    static const char word[] = "spam";
    size_t j = 0;

    for (size_t i = 0; i < n && p[i]; i++) {
        uint8_t c = smtp_upper(p[i]) ? (uint8_t)(p[i] | 0x20) : p[i];
        if (c == (uint8_t)word[j]) {
            if (!word[++j])
                return true;
        } else {
            j = 0;
        }
    }
    return false;
}

/* A reply from the server (RFC 5321 4.2); true when it parses. */
static bool smtp_reply(smtp_record_t *r, const uint8_t *p, size_t n)
{
    unsigned code;
    uint32_t bit = SMTP_SC_UNKNOWN;

    if (n < 5 || (p[3] != ' ' && p[3] != '-'))
        return false;
    if (!smtp_digit(p[0]) || !smtp_digit(p[1]) || !smtp_digit(p[2]))
        return false;
    code = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 + (unsigned)(p[2] - '0');
    for (size_t i = 0; i < sizeof(smtp_codes) / sizeof(smtp_codes[0]); i++)
        if (smtp_codes[i] == code)
            bit = (uint32_t)1 << i;
    r->code_flags |= bit;
    if (smtp_has_spam(p, n))
        r->code_flags |= SMTP_SC_SPAM;
    switch (p[0]) {
    case '2':
        r->code_2xx++;
        return true;
    case '3':
        r->code_3xx++;
        return true;
    case '4':
        r->code_4xx++;
        return true;
    case '5':
        r->code_5xx++;
        return true;
    default:
        return false;
    }
}

/*
 * The value of MAIL / RCPT: after the first ':' past the verb's space, up to
 * the first CR.  `sp` is the space, `n` the segment length.
 */
static void smtp_path(char *dst, const uint8_t *p, size_t n, const uint8_t *sp)
{
    const uint8_t *colon, *cr;
    size_t len;

    colon = memchr(sp + 1, ':', n - (size_t)(sp + 1 - p));
    cr = memchr(sp, '\r', n - (size_t)(sp - p));
    if (!colon || !cr)
        return;
    colon++;
    if (colon <= cr)
        len = (size_t)(cr - colon);
    else
        len = n - (size_t)(colon - p); /* ':' past the CR: see the top */
    if (len > SMTP_STR_LEN - 1)
        len = SMTP_STR_LEN - 1;
    memcpy(dst, colon, len);
    dst[len] = 0;
}

/* A command from the client (RFC 5321 4.1); true when it parses. */
static bool smtp_command(smtp_state_t *s, smtp_record_t *r, const uint8_t *p, size_t n)
{
    const uint8_t *cr, *sp;
    char verb[SMTP_VERB_MAX];
    size_t len;
    uint16_t flag = 0;

    if (n == 0)
        return false;
    if (s->data_transfer) {
        if (n != 3 || memcmp(p, ".\r\n", 3) != 0)
            return false;
        s->data_transfer = 0;
        return true;
    }
    if ((cr = memchr(p, '\r', n)) == NULL)
        return false;
    sp = memchr(p, ' ', n);
    len = (size_t)((sp ? sp : cr) - p);
    if (len >= sizeof(verb))
        return false;
    memcpy(verb, p, len);
    verb[len] = 0; /* a NUL inside ends the verb, as in ipfixprobe */

    for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
        if (strcmp(verb, smtp_verbs[i].verb) == 0)
            flag = smtp_verbs[i].flag;

    if ((flag == SMTP_CMD_HELO || flag == SMTP_CMD_EHLO) && sp && !r->domain[0]) {
        const uint8_t *e = memchr(sp, '\r', n - (size_t)(sp - p));
        if (e) {
            len = (size_t)(e - (sp + 1));
            if (len > SMTP_STR_LEN - 1)
                len = SMTP_STR_LEN - 1;
            memcpy(r->domain, sp + 1, len);
            r->domain[len] = 0;
        }
    } else if (flag == SMTP_CMD_MAIL) {
        r->mail_cmd_count++;
        if (sp && !r->first_sender[0])
            smtp_path(r->first_sender, p, n, sp);
    } else if (flag == SMTP_CMD_RCPT) {
        r->rcpt_cmd_count++;
        if (sp && !r->first_recipient[0])
            smtp_path(r->first_recipient, p, n, sp);
    } else if (flag == SMTP_CMD_DATA) {
        s->data_transfer = 1;
    } else if (!flag) {
        /* An all-upper-case verb is an extension (AUTH, STARTTLS, ...). */
        for (size_t i = 0; verb[i]; i++)
            if (!smtp_upper((uint8_t)verb[i])) {
                flag = SMTP_CMD_UNKNOWN;
                break;
            }
    }
    r->command_flags |= flag;
    return true;
}

/*
 * The record, from the first packet of a flow that can touch it: taken and
 * made to read as empty.  A reply that does not parse may still set bits of
 * the record (see the top), so this comes before either parser, not when
 * the record is attached.  NULL without a body (fp_plugin_body).
 */
static smtp_record_t *smtp_rec(smtp_state_t *s, const fp_hookpkt_t *hp)
{
    return fp_plugin_record(hp, s, smtp_fields, sizeof(smtp_fields) / sizeof(smtp_fields[0]));
}

/* Parse one packet into the flow's state; true when it parses. */
static bool smtp_packet(smtp_state_t *s, const fp_hookpkt_t *hp)
{
    const fk_packet_t *pkt = hp->pkt;
    const uint8_t *p = pkt->payload;
    size_t n = p ? pkt->payload_len : 0;
    smtp_record_t *r;

    if (pkt->src_port != SMTP_PORT && pkt->dst_port != SMTP_PORT)
        return false;
    if (!(r = smtp_rec(s, hp)))
        return false;
    if (pkt->src_port == SMTP_PORT)
        return smtp_reply(r, p, n);
    return smtp_command(s, r, p, n);
}

static int smtp_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    smtp_state_t *s = state;

    (void)ctx;
    (void)flow;
    if (smtp_packet(s, hp))
        s->has = 1;
    return FP_HOOK_OK;
}

static int smtp_pre_update(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    smtp_state_t *s = state;

    (void)ctx;
    (void)flow;
    if (smtp_packet(s, hp))
        s->has = 1;
    return FP_HOOK_OK;
}

static unsigned smtp_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const smtp_state_t *)state)->has ? 1 : 0;
}

static const void *smtp_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return ((const smtp_state_t *)state)->body;
}

const fp_plugin_t fp_plugin_smtp = {
    .abi = FP_PLUGIN_ABI,
    .name = "smtp",
    .summary = "SMTP commands and reply codes seen (bit fields), MAIL/RCPT and 2xx-5xx counts, "
               "HELO domain, first sender and recipient",
    .fields = smtp_fields,
    .nfields = sizeof(smtp_fields) / sizeof(smtp_fields[0]),
    .record_size = sizeof(smtp_record_t),
    .state_size = sizeof(smtp_state_t),
    .body_size = sizeof(smtp_record_t),
    .post_create = smtp_post_create,
    .pre_update = smtp_pre_update,
    .records = smtp_records,
    .record = smtp_record,
};
