/*
 * test_plugin_smtp.c - the smtp plugin, driven through the real packet parser
 * and flow cache: a whole session (command and reply bit fields, counts,
 * domain, first sender and recipient), the end-of-data rule, every reply code
 * of the table, the SPAM search and its quirk, and hostile input (no CRLF,
 * non-numeric codes, over-long verbs, 60 kB lines, NUL bytes, a ':' past the
 * CR, every truncation of a command and of a reply, other ports).
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
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#define SEC  1000000000ULL
#define MAXF 16

#include "tests/common/plugintest.h"

static fp_cache_t *start(void)
{
    return pt_start("smtp", collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

/*
 * A raw IPv4/TCP frame between 10.0.0.1:cport (client) and 10.0.0.2:sport
 * (server), client -> server when `fwd`, carrying `pay`; only `trunc` bytes of
 * the frame are captured when trunc is not 0.
 */
static uint16_t g_cport = 40000, g_sport = 25;

static void put_tr(fp_cache_t *c, int fwd, const void *pay, size_t n, size_t trunc, uint64_t t)
{
    assert_true(
        pt_put4(c, fwd, g_cport, g_sport, 6, FK_TCP_ACK | 0x08 /* ACK PSH */, pay, n, trunc, 0, t));
}

static uint64_t g_t;

/* Client -> server (a command) and server -> client (a reply), in time order. */
static void cmd(fp_cache_t *c, const char *s)
{
    put_tr(c, 1, s, strlen(s), 0, 1 * SEC + g_t++);
}

static void rpl(fp_cache_t *c, const char *s)
{
    put_tr(c, 0, s, strlen(s), 0, 1 * SEC + g_t++);
}

/* Run one packet (cmd or rpl) through a fresh cache; returns records on the flow. */
static unsigned one(int fwd, const void *pay, size_t n, size_t trunc)
{
    fp_cache_t *c = start();
    put_tr(c, fwd, pay, n, trunc, 1 * SEC);
    finish(c);
    assert_int_equal(g_nout, 1);
    return g_nrec[0];
}

#define ONE(fwd, lit) one((fwd), (lit), sizeof(lit) - 1, 0)

static void test_smtp_session(void **state)
{
    (void)state;
    fp_cache_t *c = start();

    put_tr(c, 1, NULL, 0, 0, 1 * SEC); /* SYN-like empty segment: no record yet */
    rpl(c, "220-mx.example.org ESMTP\r\n220 no spam here\r\n");
    cmd(c, "EHLO client.example\r\n");
    rpl(c, "250-mx.example.org\r\n250 PIPELINING\r\n");
    cmd(c, "HELO other.example\r\n"); /* domain: the first one stays */
    rpl(c, "250 ok\r\n");
    cmd(c, "AUTH LOGIN\r\n"); /* an extension: no bit */
    rpl(c, "334 VXNlcm5hbWU6\r\n");
    cmd(c, "dXNlcg==\r\n"); /* not upper case: UNKNOWN */
    rpl(c, "235 ok\r\n");
    cmd(c, "MAIL FROM: <alice@a.example> SIZE=10\r\n");
    rpl(c, "250 ok\r\n");
    cmd(c, "RCPT TO:<bob@b.example>\r\n");
    rpl(c, "250 ok\r\n");
    cmd(c, "RCPT TO:<carol@c.example>\r\n");
    rpl(c, "550 no such user\r\n");
    cmd(c, "DATA\r\n");
    rpl(c, "354 go ahead\r\n");
    cmd(c, "Subject: QUIT\r\nHELO x\r\n\r\nbody\r\n"); /* content, not commands */
    cmd(c, ".\r\n");
    rpl(c, "250 queued\r\n");
    cmd(c, "MAIL FROM:<second@a.example>\r\n"); /* first sender stays */
    rpl(c, "451 try later\r\n");
    cmd(c, "RSET\r\n");
    cmd(c, "VRFY bob\r\n");
    rpl(c, "252 maybe\r\n");
    cmd(c, "EXPN list\r\n");
    rpl(c, "502 no\r\n");
    cmd(c, "HELP\r\n");
    rpl(c, "214 help\r\n");
    cmd(c, "NOOP\r\n");
    cmd(c, "QUIT\r\n");
    rpl(c, "221 bye\r\n");
    finish(c);

    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(g_flow[0].src_port, 40000);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0x8000 | 0x07ff);
    assert_int_equal(u64(0, "SMTP_MAIL_CMD_COUNT"), 2);
    assert_int_equal(u64(0, "SMTP_RCPT_CMD_COUNT"), 2);
    /* 220 250 334(unknown) 235(unknown) 550 354 451 252 502 214 221;
     * "no spam here" sets the SPAM bit. */
    assert_int_equal(u64(0, "SMTP_STAT_CODE_FLAGS"), 0x80000000u | 0x40000000u | 0x4 | 0x10 |
                                                         0x40000 | 0x80 | 0x400 | 0x40 | 0x8000 |
                                                         0x2 | 0x8);
    assert_int_equal(u64(0, "SMTP_2XX_STAT_CODE_COUNT"), 10);
    assert_int_equal(u64(0, "SMTP_3XX_STAT_CODE_COUNT"), 2);
    assert_int_equal(u64(0, "SMTP_4XX_STAT_CODE_COUNT"), 1);
    assert_int_equal(u64(0, "SMTP_5XX_STAT_CODE_COUNT"), 2);
    assert_string_equal(csv(0, "SMTP_DOMAIN"), "\"client.example\"");
    /* Everything after the first ':' up to the CR, leading space included. */
    assert_string_equal(csv(0, "SMTP_FIRST_SENDER"), "\" <alice@a.example> SIZE=10\"");
    assert_string_equal(csv(0, "SMTP_FIRST_RECIPIENT"), "\"<bob@b.example>\"");
}

/* As in the reference: "\r\n.\r\n" sharing a segment with content does not
 * end the data phase, so nothing after it is a command. */
static void test_smtp_data_not_ended(void **state)
{
    (void)state;
    fp_cache_t *c = start();

    cmd(c, "DATA\r\n");
    cmd(c, "hello\r\n.\r\n");
    cmd(c, "QUIT\r\n");
    cmd(c, ".\r\n"); /* this one ends it */
    cmd(c, "NOOP\r\n");
    cmd(c, ".\r\n"); /* outside DATA: the verb "." is UNKNOWN */
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0x0010 | 0x0200 | 0x8000);
}

/* Every reply code of the readme's table has its bit; others are UNKNOWN. */
static void test_smtp_reply_codes(void **state)
{
    (void)state;
    static const unsigned codes[] = {211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452,
                                     455, 500, 501, 502, 503, 504, 550, 551, 552, 553, 554, 555};
    char line[32];

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        fp_cache_t *c = start();
        snprintf(line, sizeof(line), "%u-text\r\n", codes[i]);
        rpl(c, line);
        finish(c);
        assert_int_equal(g_nrec[0], 1);
        assert_int_equal(u64(0, "SMTP_STAT_CODE_FLAGS"), 1u << i);
        assert_int_equal(u64(0, "SMTP_2XX_STAT_CODE_COUNT") + u64(0, "SMTP_3XX_STAT_CODE_COUNT") +
                             u64(0, "SMTP_4XX_STAT_CODE_COUNT") +
                             u64(0, "SMTP_5XX_STAT_CODE_COUNT"),
                         1);
        assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0);
    }

    fp_cache_t *c = start();
    rpl(c, "299 odd\r\n");
    rpl(c, "399 odd\r\n");
    rpl(c, "499 odd\r\n");
    rpl(c, "599 odd\r\n");
    finish(c);
    assert_int_equal(u64(0, "SMTP_STAT_CODE_FLAGS"), 0x80000000u);
    assert_int_equal(u64(0, "SMTP_2XX_STAT_CODE_COUNT"), 1);
    assert_int_equal(u64(0, "SMTP_3XX_STAT_CODE_COUNT"), 1);
    assert_int_equal(u64(0, "SMTP_4XX_STAT_CODE_COUNT"), 1);
    assert_int_equal(u64(0, "SMTP_5XX_STAT_CODE_COUNT"), 1);
}

/* A reply starting with 0, 1 or 6-9 does not parse, yet leaves its flag
 * (ipfixprobe sets it first): here it shows once a later reply parses. */
static void test_smtp_reply_unparsed_flags(void **state)
{
    (void)state;
    fp_cache_t *c = start();

    rpl(c, "199 spam\r\n");
    finish(c);
    assert_int_equal(g_nrec[0], 0);

    c = start();
    rpl(c, "199 spam\r\n");
    rpl(c, "220 ok\r\n");
    finish(c);
    assert_int_equal(g_nrec[0], 1);
    assert_int_equal(u64(0, "SMTP_STAT_CODE_FLAGS"), 0x80000000u | 0x40000000u | 0x4);
    assert_int_equal(u64(0, "SMTP_2XX_STAT_CODE_COUNT"), 1);
}

static uint64_t spam_flags(const void *pay, size_t n)
{
    assert_int_equal(one(0, pay, n, 0), 1);
    return u64(0, "SMTP_STAT_CODE_FLAGS") & 0x40000000u;
}

#define SPAM_FLAGS(lit) spam_flags((lit), sizeof(lit) - 1)

static void test_smtp_spam(void **state)
{
    (void)state;
    assert_int_equal(SPAM_FLAGS("550 rejected as SPAM\r\n"), 0x40000000u);
    assert_int_equal(SPAM_FLAGS("550 looks like sPaM\r\n"), 0x40000000u);
    assert_int_equal(SPAM_FLAGS("550 SPA\r\n"), 0);
    /* ipfixprobe's search does not retry the byte that broke a partial match. */
    assert_int_equal(SPAM_FLAGS("550 SSPAM\r\n"), 0);
    assert_int_equal(SPAM_FLAGS("550 SPSPAM\r\n"), 0);
    assert_int_equal(SPAM_FLAGS("550 xSPAM\r\n"), 0x40000000u);
    /* It stops at a NUL byte. */
    assert_int_equal(SPAM_FLAGS("550 x\0SPAM\r\n"), 0);
}

/* Replies that are not numeric or too short: no record. */
static void test_smtp_bad_replies(void **state)
{
    (void)state;
    static const char *bad[] = {
        "ABC hello\r\n", "2x0 ok\r\n",  "22 ok\r\n", "220\r\n", "220x ok\r\n",
        "2200 ok\r\n",   " 220 ok\r\n", "220",       "",        "-20 ok\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(one(0, bad[i], strlen(bad[i]), 0), 0);
    /* Five bytes is enough: the CRLF is not needed. */
    assert_int_equal(ONE(0, "220 x"), 1);
    assert_int_equal(ONE(0, "220 "), 0);
}

static void test_smtp_command_forms(void **state)
{
    (void)state;

    /* No CR anywhere: not a command. */
    assert_int_equal(ONE(1, "EHLO client"), 0);
    assert_int_equal(ONE(1, "QUIT\n"), 0);

    /* No space: the verb ends at the CR; HELO then has no domain. */
    assert_int_equal(ONE(1, "HELO\r\n"), 1);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0x0002);
    assert_string_equal(csv(0, "SMTP_DOMAIN"), "\"\"");

    /* The verb runs to the first space of the whole segment. */
    assert_int_equal(ONE(1, "QUIT\r\nNOOP x\r\n"), 1);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0x8000);

    /* Case matters: "quit" is no known verb and not upper case. */
    assert_int_equal(ONE(1, "quit\r\n"), 1);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0x8000);

    /* 31 bytes of verb parse, 32 do not. */
    char v[64];
    memset(v, 'A', sizeof(v));
    memcpy(v + 31, "\r\n", 2);
    assert_int_equal(one(1, v, 33, 0), 1);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0);
    memset(v, 'A', sizeof(v));
    memcpy(v + 32, "\r\n", 2);
    assert_int_equal(one(1, v, 34, 0), 0);

    /* A NUL inside the verb ends it. */
    assert_int_equal(ONE(1, "QUIT\0junk more\r\n"), 1);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0x0400);

    /* MAIL / RCPT without ':' count but store nothing; an empty value lets a
     * later command fill the field. */
    fp_cache_t *c = start();
    cmd(c, "MAIL FROM <a@b>\r\n");
    cmd(c, "MAIL FROM:\r\n");
    cmd(c, "MAIL FROM:<c@d>\r\n");
    cmd(c, "RCPT\r\n");
    cmd(c, "RCPT TO:<e@f>\r\n");
    finish(c);
    assert_int_equal(u64(0, "SMTP_MAIL_CMD_COUNT"), 3);
    assert_int_equal(u64(0, "SMTP_RCPT_CMD_COUNT"), 2);
    assert_string_equal(csv(0, "SMTP_FIRST_SENDER"), "\"<c@d>\"");
    assert_string_equal(csv(0, "SMTP_FIRST_RECIPIENT"), "\"<e@f>\"");

    /* The first ':' lies past the CR: ipfixprobe takes 254 bytes from it;
     * we take what the payload holds (here up to its end). */
    assert_int_equal(ONE(1, "RCPT TO <x>\r\nNEXT:tail"), 1);
    assert_string_equal(csv(0, "SMTP_FIRST_RECIPIENT"), "\"tail\"");
    assert_int_equal(u64(0, "SMTP_RCPT_CMD_COUNT"), 1);
}

/* Long lines: values are cut at 254 bytes, over-long verbs rejected. */
static void test_smtp_long_lines(void **state)
{
    (void)state;
    static char big[60000];
    size_t n = sizeof(big);

    /* 60 kB without CR. */
    memset(big, 'a', n);
    assert_int_equal(one(1, big, n, 0), 0);

    /* EHLO with a 60 kB domain. */
    memcpy(big, "EHLO ", 5);
    memcpy(big + n - 2, "\r\n", 2);
    assert_int_equal(one(1, big, n, 0), 1);
    assert_int_equal(strlen(csv(0, "SMTP_DOMAIN")), 254 + 2);
    assert_int_equal(u64(0, "SMTP_COMMAND_FLAGS"), 0x0001);

    /* MAIL with a 60 kB path. */
    memcpy(big, "MAIL FROM:", 10);
    assert_int_equal(one(1, big, n, 0), 1);
    assert_int_equal(strlen(csv(0, "SMTP_FIRST_SENDER")), 254 + 2);

    /* A 60 kB reply with SPAM at its very end. */
    memset(big, 'x', n);
    memcpy(big, "554 ", 4);
    memcpy(big + n - 4, "SPAM", 4);
    assert_int_equal(one(0, big, n, 0), 1);
    assert_int_equal(u64(0, "SMTP_STAT_CODE_FLAGS"), 0x40000000u | 0x400000);
}

/* A command and a reply captured up to every length: only whole enough
 * prefixes parse, and nothing reads past the capture (ASan). */
static void test_smtp_truncation(void **state)
{
    (void)state;
    static const char mail[] = "MAIL FROM: <a@b>\r\n"; /* CR at 16 */
    static const char reply[] = "250 OK\r\n";

    for (size_t k = 0; k <= sizeof(mail) - 1; k++) {
        unsigned r = one(1, mail, sizeof(mail) - 1, 40 + k);
        assert_int_equal(r, k >= 17);
        if (r) {
            assert_int_equal(u64(0, "SMTP_MAIL_CMD_COUNT"), 1);
            assert_string_equal(csv(0, "SMTP_FIRST_SENDER"), "\" <a@b>\"");
        }
    }
    for (size_t k = 0; k <= sizeof(reply) - 1; k++) {
        unsigned r = one(0, reply, sizeof(reply) - 1, 40 + k);
        assert_int_equal(r, k >= 5);
        if (r)
            assert_int_equal(u64(0, "SMTP_2XX_STAT_CODE_COUNT"), 1);
    }
}

/* Only port 25 is SMTP; between two ports 25 a packet is a reply. */
static void test_smtp_ports(void **state)
{
    (void)state;
    g_sport = 587;
    assert_int_equal(ONE(1, "EHLO x\r\n"), 0);
    assert_int_equal(ONE(0, "220 x\r\n"), 0);
    g_sport = 25;
    g_cport = 25;
    assert_int_equal(ONE(1, "220 x\r\n"), 1);
    assert_int_equal(u64(0, "SMTP_2XX_STAT_CODE_COUNT"), 1);
    assert_int_equal(ONE(1, "EHLO x\r\n"), 0);
    g_cport = 40000;
    /* Server -> client (source port 25) is read as a reply even if it looks
     * like a command. */
    assert_int_equal(ONE(0, "EHLO x\r\n"), 0);
}

/*
 * A flow in a record an earlier SMTP session filled (the record freed last
 * is the next one taken; that session ended inside DATA) gives what a fresh
 * cache gives: no record off port 25, and a reply's or a command's record
 * without the session's counts, flags and strings.
 */
static void test_smtp_reused_record(void **state)
{
    char fresh[3][4 * MAXREC];
    (void)state;

    for (int dirty = 0; dirty < 2; dirty++) {
        for (int kind = 0; kind < 3; kind++) {
            fp_cache_t *c = start();
            g_cport = 40000;
            if (dirty) {
                rpl(c, "220 mx SPAM\r\n");
                cmd(c, "EHLO client.example\r\n");
                cmd(c, "MAIL FROM:<alice@a.example>\r\n");
                cmd(c, "RCPT TO:<bob@b.example>\r\n");
                rpl(c, "550 no\r\n");
                cmd(c, "DATA\r\n");
                fp_cache_flush(c);
                assert_int_equal(g_nout, 1);
                assert_int_equal(g_nrec[0], 1);
                assert_int_equal(u64(0, "SMTP_MAIL_CMD_COUNT"), 1);
                g_nout = 0;
            }
            g_cport = 40001; /* another flow */
            if (kind == 0) {
                g_sport = 80;
                cmd(c, "MAIL FROM:<x@y>\r\n");
                g_sport = 25;
            } else if (kind == 1) {
                rpl(c, "250 ok\r\n");
            } else {
                cmd(c, "MAIL FROM:<x@y>\r\n");
            }
            g_cport = 40000;
            finish(c);
            pt_same_as_fresh(dirty, fresh[kind], 0, kind ? 1 : 0);
        }
    }
    assert_string_equal(fresh[1], "0|0|0|16|1|0|0|0|\"\"|\"\"|\"\"|");
    assert_string_equal(fresh[2], "4|1|0|0|0|0|0|0|\"\"|\"<x@y>\"|\"\"|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smtp_session),       cmocka_unit_test(test_smtp_data_not_ended),
        cmocka_unit_test(test_smtp_reply_codes),   cmocka_unit_test(test_smtp_reply_unparsed_flags),
        cmocka_unit_test(test_smtp_spam),          cmocka_unit_test(test_smtp_bad_replies),
        cmocka_unit_test(test_smtp_command_forms), cmocka_unit_test(test_smtp_long_lines),
        cmocka_unit_test(test_smtp_truncation),    cmocka_unit_test(test_smtp_ports),
        cmocka_unit_test(test_smtp_reused_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
