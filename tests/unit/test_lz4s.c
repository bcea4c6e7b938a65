/*
 * test_lz4s.c - lib/ipfix/lz4s: ipfixprobe's LZ4-over-TCP framing.
 *
 * Three groups: hand-built byte vectors for the framing facts (research file
 * docs/research/ipfixprobe-ipfix-facts.md section 2), round trips through the
 * writer and reader (every chunking, ring wrap, restarts, plus a replica of
 * ipfixcol2's decoder reading our writer's output), and hostile streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4.h>

#include "lib/ipfix/lz4s.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

static uint32_t rnd_range(uint32_t lo, uint32_t hi)
{
    return lo + rnd() % (hi - lo + 1);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A growable byte string for building streams by hand. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} bytes_t;

static void b_put(bytes_t *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void b_u8(bytes_t *b, uint8_t v)
{
    b_put(b, &v, 1);
}

static void b_be16(bytes_t *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    b_put(b, x, 2);
}

static void b_be32(bytes_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    b_put(b, x, 4);
}

static void b_start(bytes_t *b, uint32_t buffer_size)
{
    b_be32(b, FK_LZ4S_MAGIC);
    b_be32(b, buffer_size);
}

/*
 * A literal-only LZ4 block (LZ4 block format: one final sequence, token high
 * nibble = literal length, 15 meaning "add the following bytes, 255 = more").
 */
static void lz4_literals(bytes_t *b, const uint8_t *lit, size_t n)
{
    if (n < 15) {
        b_u8(b, (uint8_t)(n << 4));
    } else {
        size_t rest = n - 15;
        b_u8(b, 0xF0);
        for (; rest >= 255; rest -= 255)
            b_u8(b, 255);
        b_u8(b, (uint8_t)rest);
    }
    b_put(b, lit, n);
}

/* A block header plus a literal-only block for msg. */
static void b_literal_block(bytes_t *b, const uint8_t *msg, size_t n)
{
    bytes_t blk = {0};
    lz4_literals(&blk, msg, n);
    b_be16(b, (uint16_t)n);
    b_be16(b, (uint16_t)blk.n);
    b_put(b, blk.p, blk.n);
    free(blk.p);
}

/* A list of messages, stored back to back. */
typedef struct {
    bytes_t data;
    size_t *off, *len;
    size_t n, cap;
} msgs_t;

static void m_add(msgs_t *m, const uint8_t *p, size_t n)
{
    if (m->n == m->cap) {
        m->cap = m->cap * 2 + 16;
        m->off = realloc(m->off, m->cap * sizeof(*m->off));
        m->len = realloc(m->len, m->cap * sizeof(*m->len));
        assert_non_null(m->off);
        assert_non_null(m->len);
    }
    m->off[m->n] = m->data.n;
    m->len[m->n] = n;
    m->n++;
    b_put(&m->data, p, n);
}

static const uint8_t *m_at(const msgs_t *m, size_t i)
{
    return m->data.p + m->off[i];
}

static void m_free(msgs_t *m)
{
    free(m->data.p);
    free(m->off);
    free(m->len);
    memset(m, 0, sizeof(*m));
}

static void assert_msgs_equal(const msgs_t *got, const msgs_t *want)
{
    assert_int_equal(got->n, want->n);
    for (size_t i = 0; i < want->n; i++) {
        assert_int_equal(got->len[i], want->len[i]);
        assert_memory_equal(m_at(got, i), m_at(want, i), want->len[i]);
    }
}

/*
 * Feed s[0..n) to r in chunks of `chunk` bytes (0 = one chunk), draining after
 * each, into `out` (a copy of each message).  Each chunk is a separate heap
 * copy of exactly its bytes, so ASan catches a read past a chunk.  Returns 0,
 * or -1 with *e set (messages before the error are in `out`).
 */
static int decode_chunks(fk_lz4s_reader_t *r, const uint8_t *s, size_t n, size_t chunk, msgs_t *out,
                         fk_err_t *e)
{
    size_t at = 0;

    if (chunk == 0)
        chunk = n ? n : 1;
    do {
        size_t k = n - at < chunk ? n - at : chunk;
        uint8_t *c = malloc(k ? k : 1);
        const uint8_t *msg;
        size_t len;
        int rc;

        assert_non_null(c);
        if (k)
            memcpy(c, s + at, k);
        assert_int_equal(fk_lz4s_feed(r, c, k), 0);
        while ((rc = fk_lz4s_next(r, &msg, &len, e)) == 1) {
            m_add(out, msg, len);
            assert_true(fk_lz4s_reader_pending(r) <= 65535);
        }
        free(c);
        if (rc < 0)
            return -1;
        assert_int_equal(rc, 0);
        assert_true(fk_lz4s_reader_pending(r) <= 65535);
        at += k;
    } while (at < n);
    return 0;
}

/* Decode a whole stream with a fresh reader; assert success and the messages. */
static void expect_stream(const uint8_t *s, size_t n, size_t chunk, uint32_t flags,
                          const msgs_t *want)
{
    fk_err_t e = {{0}};
    fk_lz4s_reader_t *r = fk_lz4s_reader_new(flags, &e);
    msgs_t got = {0};

    assert_non_null(r);
    if (decode_chunks(r, s, n, chunk, &got, &e) != 0)
        fail_msg("chunk %zu: unexpected error: %s", chunk, e.msg);
    assert_int_equal(fk_lz4s_eof(r, &e), 0);
    assert_msgs_equal(&got, want);
    m_free(&got);
    fk_lz4s_reader_free(r);
}

/* Decode a whole stream; assert it fails and that the message contains `needle`. */
static void expect_error(const uint8_t *s, size_t n, size_t chunk, uint32_t flags,
                         const char *needle, size_t want_msgs)
{
    fk_err_t e = {{0}}, again = {{0}};
    fk_lz4s_reader_t *r = fk_lz4s_reader_new(flags, &e);
    msgs_t got = {0};
    const uint8_t *msg;
    size_t len;

    assert_non_null(r);
    assert_int_equal(decode_chunks(r, s, n, chunk, &got, &e), -1);
    if (!strstr(e.msg, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", e.msg, needle);
    assert_int_equal(got.n, want_msgs);
    /* Sticky: more input does not help, the same reason comes back. */
    assert_int_equal(fk_lz4s_feed(r, s, n), 0);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, &again), -1);
    assert_string_equal(again.msg, e.msg);
    assert_int_equal(fk_lz4s_eof(r, &again), -1);
    assert_string_equal(again.msg, e.msg);
    m_free(&got);
    fk_lz4s_reader_free(r);
}

/* An IPFIX-looking message: 16-byte header, a set header, records that vary
 * a little (compressible like real exports) or random bytes. */
static void gen_msg(uint8_t *p, size_t n, int kind, uint32_t seq)
{
    switch (kind) {
    case 0: /* random: incompressible */
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rnd();
        break;
    case 1: /* all one byte value */
        memset(p, (int)(seq & 0xff), n);
        break;
    default: { /* IPFIX-like */
        static const uint8_t rec[] = {10, 0, 0, 1, 192, 168, 1, 7,  0x01, 0xbb, 0xc3, 0x50,
                                      6,  0, 0, 0, 0,   0,   0, 42, 0,    0,    5,    220};
        for (size_t i = 0; i < n; i++)
            p[i] = rec[i % sizeof(rec)];
        for (size_t i = 16; i + 4 <= n; i += 48) {
            uint32_t v = rnd();
            memcpy(p + i, &v, 4); /* a counter that changes per record */
        }
        break;
    }
    }
    if (n >= 16) {
        p[0] = 0x00;
        p[1] = 0x0A;
        p[2] = (uint8_t)(n >> 8);
        p[3] = (uint8_t)n;
        p[8] = (uint8_t)(seq >> 24);
        p[9] = (uint8_t)(seq >> 16);
        p[10] = (uint8_t)(seq >> 8);
        p[11] = (uint8_t)seq;
    }
}

/*
 * A replica of ipfixcol2's Lz4Decoder::decompress() [C2L]: a ring of exactly
 * bufferSize bytes, start header read once, position back to 0 when the block
 * does not fit, LZ4_decompress_safe_continue.  Used on our writer's output
 * only, to show that a collector built that way decodes it (with the guard
 * ipfixcol2 lacks: it writes ulen bytes into the ring without comparing ulen
 * to the ring size).
 */
static void ipfixcol2_decode(const uint8_t *s, size_t n, const msgs_t *want)
{
    LZ4_streamDecode_t *sd = LZ4_createStreamDecode();
    uint32_t size;
    uint8_t *ring;
    size_t at = 8, pos = 0, i = 0;

    assert_non_null(sd);
    assert_true(n >= 8);
    size = be32(s + 4);
    ring = calloc(1, size);
    assert_non_null(ring);
    LZ4_setStreamDecode(sd, NULL, 0);
    while (at < n) {
        uint16_t ulen = be16(s + at), clen = be16(s + at + 2);
        int res;

        at += 4;
        assert_true(ulen <= size);
        if (size - pos < ulen)
            pos = 0;
        res =
            LZ4_decompress_safe_continue(sd, (const char *)s + at, (char *)ring + pos, clen, ulen);
        assert_int_equal(res, ulen);
        assert_true(i < want->n);
        assert_int_equal(ulen, want->len[i]);
        assert_memory_equal(ring + pos, m_at(want, i), ulen);
        i++;
        pos += ulen;
        at += clen;
    }
    assert_int_equal(at, n);
    assert_int_equal(i, want->n);
    free(ring);
    LZ4_freeStreamDecode(sd);
}

/* Write every message of `m` with w, appending to out; assert success. */
static void write_all(fk_lz4s_writer_t *w, const msgs_t *m, fk_lz4s_out_t *out)
{
    fk_err_t e = {{0}};
    for (size_t i = 0; i < m->n; i++)
        if (fk_lz4s_write(w, m_at(m, i), m->len[i], out, &e) != 0)
            fail_msg("message %zu: %s", i, e.msg);
}

/* ---- 1. framing facts ---------------------------------------------------- */

/* Start header: magic "LZ4c", then bufferSize = ring + LZ4_COMPRESSBOUND(mtu) + 16. */
static void test_start_header_bytes(void **state)
{
    static const struct {
        uint32_t mtu, buffer_size, ring, announced;
    } cases[] = {
        /* Research file, worked example: 4374 + (1458 + 1458/255 + 16) + 16 = 5869 = 0x16ED. */
        {1458, 0, 4374, 5869},
        {1458, 4374, 4374, 5869},
        {1458, 10000, 10000, 10000 + 1495},
        {100, 0, 300, 300 + (100 + 0 + 16) + 16},
        {17, 0, 51, 51 + (17 + 0 + 16) + 16},
        {9000, 65536, 65536, 65536 + (9000 + 35 + 16) + 16},
        {FK_LZ4S_MAX_MTU, 0, 3 * FK_LZ4S_MAX_MTU, 3 * FK_LZ4S_MAX_MTU + 65535 + 16},
    };
    uint8_t msg[196];
    (void)state;

    gen_msg(msg, sizeof(msg), 2, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fk_err_t e = {{0}};
        fk_lz4s_writer_t *w = fk_lz4s_writer_new(cases[i].mtu, cases[i].buffer_size, &e);
        fk_lz4s_out_t out;
        uint32_t a = cases[i].announced;
        uint8_t want[8] = {0x4C, 0x5A, 0x34, 0x63};

        for (int k = 0; k < 4; k++)
            want[4 + k] = (uint8_t)(a >> (24 - 8 * k)); /* bufferSize, big-endian */

        assert_non_null(w);
        assert_int_equal(fk_lz4s_writer_ring_size(w), cases[i].ring);
        assert_int_equal(fk_lz4s_writer_buffer_size(w), a);
        fk_lz4s_out_init(&out);
        /* 196 bytes, or mtu when smaller: messages above mtu are refused. */
        size_t n = cases[i].mtu < sizeof(msg) ? cases[i].mtu : sizeof(msg);
        assert_int_equal(fk_lz4s_write(w, msg, n, &out, &e), 0);
        assert_int_equal(be16(out.data + 8), n);
        assert_true(out.len > 12);
        assert_memory_equal(out.data, want, 8);
        fk_lz4s_out_free(&out);
        fk_lz4s_writer_free(w);
    }

    /* The worked example's bytes, literally. */
    {
        fk_err_t e = {{0}};
        fk_lz4s_writer_t *w = fk_lz4s_writer_new(1458, 0, &e);
        fk_lz4s_out_t out = {0};
        static const uint8_t ex[] = {0x4C, 0x5A, 0x34, 0x63, 0x00, 0x00, 0x16, 0xED, 0x00, 0xC4};
        assert_non_null(w);
        assert_int_equal(fk_lz4s_write(w, msg, 196, &out, &e), 0);
        assert_memory_equal(out.data, ex, sizeof(ex));
        fk_lz4s_out_free(&out);
        fk_lz4s_writer_free(w);
    }
}

/*
 * Block header: u16 uncompressed size, then u16 compressed size; the first
 * block is a plain LZ4 block (LZ4_decompress_safe), later ones refer to
 * earlier blocks (LZ4_decompress_safe_usingDict with the previous message).
 */
static void test_block_header_order(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(1458, 0, &e);
    fk_lz4s_out_t out = {0};
    uint8_t m1[196], m2[196], dec[196];
    size_t c1, c2, at;
    (void)state;

    assert_non_null(w);
    gen_msg(m1, sizeof(m1), 2, 1);
    memcpy(m2, m1, sizeof(m2));
    m2[11] = 2; /* next sequence number: nearly the same message */

    assert_int_equal(fk_lz4s_write(w, m1, sizeof(m1), &out, &e), 0);
    assert_int_equal(out.data[8], 0x00); /* 196 = 0x00C4, uncompressed size first */
    assert_int_equal(out.data[9], 0xC4);
    c1 = be16(out.data + 10);
    assert_int_equal(out.len, 8 + 4 + c1);
    assert_true(c1 < sizeof(m1)); /* the IPFIX-like pattern compresses */
    assert_int_equal(
        LZ4_decompress_safe((const char *)out.data + 12, (char *)dec, (int)c1, sizeof(dec)),
        sizeof(m1));
    assert_memory_equal(dec, m1, sizeof(m1));

    /* Second block: no start header, just 4 bytes + block, and it needs block 1. */
    at = out.len;
    assert_int_equal(fk_lz4s_write(w, m2, sizeof(m2), &out, &e), 0);
    assert_int_equal(be16(out.data + at), sizeof(m2));
    c2 = be16(out.data + at + 2);
    assert_int_equal(out.len, at + 4 + c2);
    assert_true(c2 < 40); /* almost all of it is a match into block 1 */
    assert_true(LZ4_decompress_safe((const char *)out.data + at + 4, (char *)dec, (int)c2,
                                    sizeof(dec)) < 0);
    assert_int_equal(LZ4_decompress_safe_usingDict((const char *)out.data + at + 4, (char *)dec,
                                                   (int)c2, sizeof(dec), (const char *)m1,
                                                   sizeof(m1)),
                     sizeof(m2));
    assert_memory_equal(dec, m2, sizeof(m2));

    fk_lz4s_out_free(&out);
    fk_lz4s_writer_free(w);
}

/* After fk_lz4s_reset the next block has a start header and no history. */
static void test_writer_reset(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(1458, 0, &e);
    fk_lz4s_out_t out = {0};
    uint8_t m[300], dec[300];
    size_t at, c;
    (void)state;

    assert_non_null(w);
    gen_msg(m, sizeof(m), 2, 7);
    assert_int_equal(fk_lz4s_write(w, m, sizeof(m), &out, &e), 0);
    assert_int_equal(fk_lz4s_write(w, m, sizeof(m), &out, &e), 0);
    at = out.len;
    fk_lz4s_reset(w);
    assert_int_equal(fk_lz4s_write(w, m, sizeof(m), &out, &e), 0);
    assert_int_equal(be32(out.data + at), FK_LZ4S_MAGIC);
    assert_int_equal(be32(out.data + at + 4), 5869);
    assert_int_equal(be16(out.data + at + 8), sizeof(m));
    c = be16(out.data + at + 10);
    assert_int_equal(out.len, at + 12 + c);
    /* Standalone: decodes with no dictionary, though the same bytes preceded it. */
    assert_int_equal(
        LZ4_decompress_safe((const char *)out.data + at + 12, (char *)dec, (int)c, sizeof(dec)),
        sizeof(m));
    assert_memory_equal(dec, m, sizeof(m));

    /* fk_lz4s_out_consume drops what was sent and keeps the rest in order. */
    {
        size_t before = out.len;
        uint8_t tail[12];
        memcpy(tail, out.data + at, 12);
        fk_lz4s_out_consume(&out, at);
        assert_int_equal(out.len, before - at);
        assert_memory_equal(out.data, tail, 12);
        fk_lz4s_out_consume(&out, SIZE_MAX);
        assert_int_equal(out.len, 0);
    }
    fk_lz4s_out_free(&out);
    assert_null(out.data);
    fk_lz4s_writer_free(w);
}

static void test_writer_rejects(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w;
    fk_lz4s_out_t out = {0};
    uint8_t m[1500] = {0};
    (void)state;

    assert_null(fk_lz4s_writer_new(16, 0, &e));
    assert_non_null(strstr(e.msg, "mtu 16 out of range"));
    assert_null(fk_lz4s_writer_new(0, 0, &e));
    assert_null(fk_lz4s_writer_new(FK_LZ4S_MAX_MTU + 1, 0, &e));
    assert_non_null(strstr(e.msg, "65265"));
    assert_null(fk_lz4s_writer_new(65535, 0, &e));
    assert_null(fk_lz4s_writer_new(1458, UINT32_MAX, &e));
    assert_non_null(strstr(e.msg, "above the 67108864-byte limit"));
    /* The announced size may be exactly the readers' limit, not one more. */
    w = fk_lz4s_writer_new(1458, FK_LZ4S_MAX_BUFFER - 1495, &e);
    assert_non_null(w);
    assert_int_equal(fk_lz4s_writer_buffer_size(w), FK_LZ4S_MAX_BUFFER);
    fk_lz4s_writer_free(w);
    assert_null(fk_lz4s_writer_new(1458, FK_LZ4S_MAX_BUFFER - 1494, &e));
    fk_lz4s_writer_free(NULL);

    w = fk_lz4s_writer_new(1458, 0, &e);
    assert_non_null(w);
    assert_int_equal(fk_lz4s_write(w, m, 0, &out, &e), -1);
    assert_non_null(strstr(e.msg, "empty message"));
    assert_int_equal(fk_lz4s_write(w, m, 1459, &out, &e), -1);
    assert_non_null(strstr(e.msg, "1459 bytes exceeds the mtu 1458"));
    assert_int_equal(fk_lz4s_write(w, m, 70000, &out, &e), -1);
    assert_int_equal(out.len, 0); /* nothing appended on error... */
    /* ...and no state changed: the next block still gets the start header. */
    assert_int_equal(fk_lz4s_write(w, m, 1458, &out, &e), 0);
    assert_int_equal(be32(out.data), FK_LZ4S_MAGIC);
    {
        size_t len = out.len;
        assert_int_equal(fk_lz4s_write(w, m, 1459, &out, &e), -1);
        assert_int_equal(out.len, len);
    }
    fk_lz4s_out_free(&out);
    fk_lz4s_writer_free(w);
}

/*
 * A stream built by hand, not by our writer: literal-only blocks (short token,
 * 15 + extension byte 0, 300 = 15 + 255 + 30) and one block with a match that
 * copies block 1 out of the history.
 */
static void build_hand_stream(bytes_t *s, msgs_t *want)
{
    uint8_t m1[10], m2[40], m4[15], m5[300], m3[20];
    bytes_t blk = {0};

    for (size_t i = 0; i < sizeof(m1); i++)
        m1[i] = (uint8_t)('0' + i);
    for (size_t i = 0; i < sizeof(m2); i++)
        m2[i] = (uint8_t)('A' + i % 26);
    for (size_t i = 0; i < sizeof(m4); i++)
        m4[i] = (uint8_t)(0xF0 + i);
    for (size_t i = 0; i < sizeof(m5); i++)
        m5[i] = (uint8_t)(i * 7);
    /* m3 = "abcd" + m1 + "wxyz12" */
    memcpy(m3, "abcd", 4);
    memcpy(m3 + 4, m1, 10);
    memcpy(m3 + 14, "wxyz12", 6);

    b_start(s, 5869);
    b_literal_block(s, m1, sizeof(m1));
    b_literal_block(s, m2, sizeof(m2));
    /* Block 3: token 0x46 = 4 literals, match length 6 + 4 = 10; "abcd";
     * offset 54 little-endian = back over 4 + 40 + 10 bytes to m1[0]; then the
     * last sequence, 6 literals (LZ4 wants >= 5 at the end). */
    b_u8(&blk, 0x46);
    b_put(&blk, "abcd", 4);
    b_u8(&blk, 54);
    b_u8(&blk, 0);
    b_u8(&blk, 0x60);
    b_put(&blk, "wxyz12", 6);
    b_be16(s, sizeof(m3));
    b_be16(s, (uint16_t)blk.n);
    b_put(s, blk.p, blk.n);
    free(blk.p);
    b_literal_block(s, m4, sizeof(m4));
    b_literal_block(s, m5, sizeof(m5));

    m_add(want, m1, sizeof(m1));
    m_add(want, m2, sizeof(m2));
    m_add(want, m3, sizeof(m3));
    m_add(want, m4, sizeof(m4));
    m_add(want, m5, sizeof(m5));
}

static void test_reader_hand_vectors(void **state)
{
    bytes_t s = {0};
    msgs_t want = {0};
    uint8_t dec[64];
    (void)state;

    build_hand_stream(&s, &want);
    /* The layout we meant: header, then block 1 = 00 0A 00 0B A0 '0'... */
    static const uint8_t head[] = {0x4C, 0x5A, 0x34, 0x63, 0x00, 0x00, 0x16, 0xED,
                                   0x00, 0x0A, 0x00, 0x0B, 0xA0, '0',  '1'};
    assert_memory_equal(s.p, head, sizeof(head));
    /* A literal-only block is a plain LZ4 block. */
    assert_int_equal(LZ4_decompress_safe((const char *)s.p + 12, (char *)dec, 11, sizeof(dec)), 10);
    assert_memory_equal(dec, m_at(&want, 0), 10);
    /* Block 2 header: 40 bytes, 1 + 1 + 40 compressed (0xF0, extension 25). */
    assert_int_equal(be16(s.p + 23), 40);
    assert_int_equal(be16(s.p + 25), 42);
    assert_int_equal(s.p[27], 0xF0);
    assert_int_equal(s.p[28], 25);

    for (size_t chunk = 0; chunk <= 9; chunk++)
        expect_stream(s.p, s.n, chunk, 0, &want);

    /* The reader's counters. */
    {
        fk_err_t e = {{0}};
        fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
        msgs_t got = {0};
        fk_lz4s_stats_t st;
        assert_int_equal(fk_lz4s_reader_buffer_size(r), 0);
        assert_int_equal(decode_chunks(r, s.p, s.n, 0, &got, &e), 0);
        fk_lz4s_reader_stats(r, &st);
        assert_int_equal(st.bytes_in, s.n);
        assert_int_equal(st.blocks, 5);
        assert_int_equal(st.bytes_out, 10 + 40 + 20 + 15 + 300);
        assert_int_equal(st.restarts, 0);
        assert_int_equal(fk_lz4s_reader_buffer_size(r), 5869);
        fk_lz4s_reader_reset(r);
        fk_lz4s_reader_stats(r, &st);
        assert_int_equal(st.bytes_in, 0);
        assert_int_equal(fk_lz4s_reader_buffer_size(r), 0);
        m_free(&got);
        fk_lz4s_reader_free(r);
    }
    m_free(&want);
    free(s.p);
}

/* ---- 2. round trips ------------------------------------------------------ */

/* Messages of 16..mtu bytes in all content kinds, some repeated verbatim. */
static void gen_msgs(msgs_t *m, size_t count, uint32_t mtu)
{
    uint8_t *buf = malloc(mtu);
    assert_non_null(buf);
    for (size_t i = 0; i < count; i++) {
        uint32_t len = rnd_range(16, mtu);
        if (i % 100 == 7)
            len = mtu; /* full-size blocks, which force the ring back to 0 */
        if (i % 100 == 8)
            len = 16;
        if (i > 0 && rnd() % 8 == 0) { /* an earlier message again */
            size_t j = rnd() % m->n;
            memcpy(buf, m_at(m, j), m->len[j]);
            len = (uint32_t)m->len[j];
        } else {
            gen_msg(buf, len, (int)(rnd() % 4), (uint32_t)i);
        }
        m_add(m, buf, len);
    }
    free(buf);
}

static void roundtrip(uint32_t mtu, uint32_t buffer_size, size_t count, const size_t *chunks,
                      size_t nchunks, double min_wraps)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(mtu, buffer_size, &e);
    fk_lz4s_out_t out = {0};
    msgs_t m = {0};
    size_t total = 0;

    assert_non_null(w);
    gen_msgs(&m, count, mtu);
    write_all(w, &m, &out);
    for (size_t i = 0; i < m.n; i++)
        total += m.len[i];
    /* The ring wrapped this many times (at least). */
    if ((double)total / fk_lz4s_writer_ring_size(w) < min_wraps)
        fail_msg("only %zu bytes through a %u-byte ring", total, fk_lz4s_writer_ring_size(w));
    for (size_t i = 0; i < nchunks; i++)
        expect_stream(out.data, out.len, chunks[i], 0, &m);
    ipfixcol2_decode(out.data, out.len, &m);
    m_free(&m);
    fk_lz4s_out_free(&out);
    fk_lz4s_writer_free(w);
}

static void test_roundtrip_default_mtu(void **state)
{
    static const size_t chunks[] = {1, 7, 4096, 0};
    (void)state;
    /* ~2.2 MB through a 4374-byte ring: hundreds of wraps; and a ring larger
     * than LZ4's 64 KiB window. */
    roundtrip(1458, 0, 3000, chunks, 4, 100);
    roundtrip(1458, 200000, 3000, chunks, 4, 10);
}

static void test_roundtrip_small_and_large_mtu(void **state)
{
    static const size_t chunks[] = {1, 13, 4096, 65536, 0};
    (void)state;
    roundtrip(17, 0, 2000, chunks, 5, 100); /* ring of 51 bytes, 2..3 blocks */
    roundtrip(100, 0, 2000, chunks, 5, 100);
    /* Largest mtu: 65264-byte random blocks still fit the u16 compressed size. */
    roundtrip(FK_LZ4S_MAX_MTU, 0, 60, chunks + 1, 4, 5);
}

/* Every split of a stream into two chunks decodes the same. */
static void test_every_split(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(200, 0, &e);
    fk_lz4s_out_t out = {0};
    bytes_t hand = {0};
    msgs_t want = {0}, more = {0};
    (void)state;

    assert_non_null(w);
    build_hand_stream(&hand, &want);
    /* The writer's stream too, more blocks than the 600-byte ring holds. */
    gen_msgs(&more, 12, 200);
    write_all(w, &more, &out);

    const struct {
        const uint8_t *p;
        size_t n;
        const msgs_t *m;
    } streams[] = {{hand.p, hand.n, &want}, {out.data, out.len, &more}};
    for (size_t k = 0; k < 2; k++) {
        for (size_t split = 0; split <= streams[k].n; split++) {
            fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
            msgs_t got = {0};
            assert_int_equal(decode_chunks(r, streams[k].p, split, 0, &got, &e), 0);
            assert_int_equal(
                decode_chunks(r, streams[k].p + split, streams[k].n - split, 0, &got, &e), 0);
            assert_int_equal(fk_lz4s_eof(r, &e), 0);
            assert_msgs_equal(&got, streams[k].m);
            m_free(&got);
            fk_lz4s_reader_free(r);
        }
    }
    m_free(&want);
    m_free(&more);
    free(hand.p);
    fk_lz4s_out_free(&out);
    fk_lz4s_writer_free(w);
}

/*
 * New connection: the writer resets (start header again).  A reader reset
 * between the two streams decodes both; a default reader fed both as one
 * stream fails like ipfixcol2 and says why; FK_LZ4S_ACCEPT_RESTART decodes it.
 */
static void test_restart(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(1458, 0, &e);
    fk_lz4s_out_t a = {0}, b = {0};
    msgs_t m1 = {0}, m2 = {0}, all = {0};
    (void)state;

    assert_non_null(w);
    gen_msgs(&m1, 60, 1458);
    gen_msgs(&m2, 60, 1458);
    write_all(w, &m1, &a);
    fk_lz4s_reset(w);
    write_all(w, &m2, &b);
    assert_int_equal(be32(b.data), FK_LZ4S_MAGIC);

    for (size_t i = 0; i < m1.n; i++)
        m_add(&all, m_at(&m1, i), m1.len[i]);
    for (size_t i = 0; i < m2.n; i++)
        m_add(&all, m_at(&m2, i), m2.len[i]);

    /* Reader reset between connections, mid-way through a block too. */
    {
        fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
        msgs_t got = {0};
        assert_int_equal(decode_chunks(r, a.data, a.len - 3, 7, &got, &e), 0);
        assert_int_equal(fk_lz4s_eof(r, &e), -1); /* connection cut inside a block */
        fk_lz4s_reader_reset(r);
        assert_int_equal(fk_lz4s_reader_pending(r), 0);
        m_free(&got);
        assert_int_equal(decode_chunks(r, a.data, a.len, 7, &got, &e), 0);
        fk_lz4s_reader_reset(r);
        assert_int_equal(decode_chunks(r, b.data, b.len, 7, &got, &e), 0);
        assert_msgs_equal(&got, &all);
        m_free(&got);
        fk_lz4s_reader_free(r);
    }

    /* One connection carrying both: the default reader reads "LZ4c" as the
     * sizes 0x4C5A / 0x3463 [C2L]; 19546 > bufferSize 5869 stops it there. */
    {
        bytes_t cat = {0};
        b_put(&cat, a.data, a.len);
        b_put(&cat, b.data, b.len);
        expect_error(cat.p, cat.n, 7, 0,
                     "uncompressed size 19546 larger than the 5869-byte bufferSize of the start "
                     "header; the header is the \"LZ4c\" magic",
                     m1.n);
        expect_error(cat.p, cat.n, 0, 0, "FK_LZ4S_ACCEPT_RESTART", m1.n);
        /* The flag makes it one stream of 120 messages, also split byte by byte. */
        expect_stream(cat.p, cat.n, 1, FK_LZ4S_ACCEPT_RESTART, &all);
        expect_stream(cat.p, cat.n, 0, FK_LZ4S_ACCEPT_RESTART, &all);
        {
            fk_lz4s_reader_t *r = fk_lz4s_reader_new(FK_LZ4S_ACCEPT_RESTART, &e);
            msgs_t got = {0};
            fk_lz4s_stats_t st;
            assert_int_equal(decode_chunks(r, cat.p, cat.n, 4096, &got, &e), 0);
            fk_lz4s_reader_stats(r, &st);
            assert_int_equal(st.restarts, 1);
            assert_int_equal(st.blocks, 120);
            assert_int_equal(st.bytes_in, cat.n);
            m_free(&got);
            fk_lz4s_reader_free(r);
        }
        free(cat.p);
    }

    /* With a ring above 19546 bytes the bogus header passes the size checks,
     * 13411 bytes are taken as a block, and decoding fails: still explained. */
    {
        fk_lz4s_writer_t *big = fk_lz4s_writer_new(1458, 100000, &e);
        fk_lz4s_out_t c = {0}, d = {0};
        bytes_t cat = {0};
        msgs_t want = {0};
        assert_non_null(big);
        write_all(big, &m1, &c);
        fk_lz4s_reset(big);
        for (size_t i = 0; i < m1.n; i++)
            m_add(&want, m_at(&m1, i), m1.len[i]);
        /* Enough after the restart for a 13411-byte "block" to be complete. */
        while (d.len <= 8 + 13411) {
            write_all(big, &m2, &d);
            for (size_t i = 0; i < m2.n; i++)
                m_add(&want, m_at(&m2, i), m2.len[i]);
        }
        b_put(&cat, c.data, c.len);
        b_put(&cat, d.data, d.len);
        expect_error(cat.p, cat.n, 0, 0, "the header is the \"LZ4c\" magic", m1.n);
        expect_stream(cat.p, cat.n, 0, FK_LZ4S_ACCEPT_RESTART, &want);
        m_free(&want);
        free(cat.p);
        fk_lz4s_out_free(&c);
        fk_lz4s_out_free(&d);
        fk_lz4s_writer_free(big);
    }

    m_free(&m1);
    m_free(&m2);
    m_free(&all);
    fk_lz4s_out_free(&a);
    fk_lz4s_out_free(&b);
    fk_lz4s_writer_free(w);
}

/* ---- 3. hostile input ---------------------------------------------------- */

static void test_hostile_start_header(void **state)
{
    static const uint8_t lit[5] = {'h', 'e', 'l', 'l', 'o'};
    bytes_t s = {0};
    msgs_t one = {0};
    (void)state;

    m_add(&one, lit, 5);

    /* "LZ4C": one bit off. */
    b_be32(&s, 0x4C5A3443);
    b_be32(&s, 5869);
    b_literal_block(&s, lit, 5);
    expect_error(s.p, s.n, 0, 0,
                 "lz4 start header (stream offset 0): magic 0x4C5A3443, expected 0x4C5A3463", 0);
    expect_error(s.p, s.n, 1, 0, "magic 0x4C5A3443", 0);
    s.n = 0;

    /* Plain IPFIX sent to an LZ4 reader. */
    {
        static const uint8_t ipfix[16] = {0x00, 0x0A, 0x00, 0x10};
        expect_error(ipfix, sizeof(ipfix), 0, 0, "magic 0x000A0010", 0);
    }

    /* bufferSize 0, 4 GiB - 1, just above the limit; the limit itself is fine. */
    b_start(&s, 0);
    b_literal_block(&s, lit, 5);
    expect_error(s.p, s.n, 0, 0, "lz4 start header (stream offset 0): bufferSize 0", 0);
    s.n = 0;
    b_start(&s, UINT32_MAX);
    b_literal_block(&s, lit, 5);
    expect_error(s.p, s.n, 3, 0, "bufferSize 4294967295 above the 67108864-byte limit", 0);
    s.n = 0;
    b_start(&s, FK_LZ4S_MAX_BUFFER + 1);
    b_literal_block(&s, lit, 5);
    expect_error(s.p, s.n, 0, 0, "bufferSize 67108865 above", 0);
    s.n = 0;
    b_start(&s, FK_LZ4S_MAX_BUFFER);
    b_literal_block(&s, lit, 5);
    expect_stream(s.p, s.n, 0, 0, &one);
    s.n = 0;

    /* A restart header (FK_LZ4S_ACCEPT_RESTART) is validated like the first. */
    b_start(&s, 5869);
    b_literal_block(&s, lit, 5);
    b_start(&s, 0);
    b_literal_block(&s, lit, 5);
    expect_error(s.p, s.n, 0, FK_LZ4S_ACCEPT_RESTART,
                 "lz4 start header (stream offset 18): bufferSize 0", 1);
    expect_error(s.p, s.n, 1, FK_LZ4S_ACCEPT_RESTART,
                 "lz4 start header (stream offset 18): bufferSize 0", 1);
    s.n = 0;

    /* Truncated start header: not an error until the connection ends. */
    {
        fk_err_t e = {{0}};
        fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
        const uint8_t *msg;
        size_t len;
        b_start(&s, 5869);
        assert_int_equal(fk_lz4s_feed(r, s.p, 5), 0);
        assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), 0);
        assert_int_equal(fk_lz4s_reader_pending(r), 5);
        assert_int_equal(fk_lz4s_eof(r, &e), -1);
        assert_non_null(strstr(e.msg, "lz4 stream truncated: connection ended in the start "
                                      "header of block 1 (stream offset 0): 5 of 8 bytes"));
        /* The rest arrives after all: nothing was lost. */
        b_literal_block(&s, lit, 5);
        assert_int_equal(fk_lz4s_feed(r, s.p + 5, s.n - 5), 0);
        assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), 1);
        assert_int_equal(len, 5);
        assert_memory_equal(msg, lit, 5);
        assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), 0);
        assert_int_equal(fk_lz4s_eof(r, &e), 0);
        fk_lz4s_reader_free(r);
    }
    m_free(&one);
    free(s.p);
}

static void test_hostile_block_header(void **state)
{
    uint8_t lit[101];
    bytes_t s = {0};
    msgs_t one = {0};
    (void)state;

    memset(lit, 'x', sizeof(lit));

    b_start(&s, 5869);
    b_be16(&s, 0);
    b_be16(&s, 5);
    b_put(&s, "\x50hello", 6);
    expect_error(s.p, s.n, 0, 0,
                 "block 1 (stream offset 8): uncompressed size 0 (uncompressed 0, compressed 5)",
                 0);
    s.n = 0;

    b_start(&s, 5869);
    b_be16(&s, 5);
    b_be16(&s, 0);
    expect_error(s.p, s.n, 0, 0, "block 1 (stream offset 8): compressed size 0", 0);
    s.n = 0;

    /* LZ4_COMPRESSBOUND(10) = 10 + 0 + 16 = 26. */
    b_start(&s, 5869);
    b_literal_block(&s, lit, 20);
    b_be16(&s, 10);
    b_be16(&s, 27);
    b_put(&s, lit, 27);
    expect_error(s.p, s.n, 0, 0,
                 "block 2 (stream offset 34): compressed size 27 above LZ4_COMPRESSBOUND(10) = 26",
                 1);
    expect_error(s.p, s.n, 1, 0, "compressed size 27 above", 1);
    s.n = 0;

    /* Larger than the announced ring; equal to it is fine. */
    b_start(&s, 100);
    b_literal_block(&s, lit, 101);
    expect_error(s.p, s.n, 0, 0,
                 "block 1 (stream offset 8): uncompressed size 101 larger than the 100-byte "
                 "bufferSize",
                 0);
    s.n = 0;
    b_start(&s, 100);
    b_literal_block(&s, lit, 100);
    m_add(&one, lit, 100);
    expect_stream(s.p, s.n, 0, 0, &one);

    m_free(&one);
    free(s.p);
}

static void test_hostile_block_body(void **state)
{
    uint8_t lit[1400];
    bytes_t s = {0}, blk = {0};
    size_t off;
    char want[128];
    (void)state;

    for (size_t i = 0; i < sizeof(lit); i++)
        lit[i] = (uint8_t)(i * 13 + 1);

    /* Block 12 decodes to one byte less than its header announces. */
    b_start(&s, 5869);
    for (size_t i = 0; i < 11; i++)
        b_literal_block(&s, lit, 10 + i);
    off = s.n;
    lz4_literals(&blk, lit, 1399);
    b_be16(&s, 1400);
    b_be16(&s, (uint16_t)blk.n);
    b_put(&s, blk.p, blk.n);
    snprintf(want, sizeof(want),
             "block 12 (stream offset %zu): announced 1400 bytes, LZ4 produced 1399", off);
    expect_error(s.p, s.n, 0, 0, want, 11);
    expect_error(s.p, s.n, 1, 0, want, 11);
    {
        fk_err_t e = {{0}};
        fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
        msgs_t got = {0};
        assert_int_equal(decode_chunks(r, s.p, s.n, 0, &got, &e), -1);
        assert_string_equal(e.msg, want); /* exactly, nothing appended */
        m_free(&got);
        fk_lz4s_reader_free(r);
    }
    s.n = 0;
    blk.n = 0;

    /* More than announced: 20 literals (22 bytes: token 0xF0, extension 5) under a
     * 10-byte header (22 <= bound 26). */
    b_start(&s, 5869);
    lz4_literals(&blk, lit, 20);
    b_be16(&s, 10);
    b_be16(&s, (uint16_t)blk.n);
    b_put(&s, blk.p, blk.n);
    expect_error(s.p, s.n, 0, 0,
                 "block 1 (stream offset 8): corrupt LZ4 data: 22 compressed bytes do not decode "
                 "into at most the announced 10 bytes",
                 0);
    s.n = 0;
    blk.n = 0;

    /* A match reaching before the first byte of the stream. */
    b_start(&s, 5869);
    b_be16(&s, 20);
    b_be16(&s, 14);
    b_put(&s,
          "\x46"
          "abcd",
          5);
    b_u8(&s, 5); /* offset 5 at output position 4 */
    b_u8(&s, 0);
    b_put(&s,
          "\x60"
          "wxyz12",
          7);
    expect_error(s.p, s.n, 0, 0, "corrupt LZ4 data", 0);
    /* Offset 0 is invalid per the LZ4 block format, yet liblz4 1.9.4's safe
     * decoder accepts it (a copy of the output onto itself, in bounds).  We
     * rely on liblz4 for memory safety, not for strictness: either outcome is
     * fine, as long as it is one of the two. */
    s.p[8 + 4 + 5] = 0;
    {
        fk_err_t e = {{0}};
        fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
        msgs_t got = {0};
        if (decode_chunks(r, s.p, s.n, 0, &got, &e) == 0) {
            assert_int_equal(got.n, 1);
            assert_int_equal(got.len[0], 20);
            assert_memory_equal(m_at(&got, 0), "abcd", 4);
        } else {
            assert_non_null(strstr(e.msg, "corrupt LZ4 data"));
        }
        m_free(&got);
        fk_lz4s_reader_free(r);
    }
    s.n = 0;

    /* A literal run that claims more bytes than the block has. */
    b_start(&s, 5869);
    b_be16(&s, 10);
    b_be16(&s, 10);
    b_u8(&s, 0xA0);
    b_put(&s, lit, 9);
    expect_error(s.p, s.n, 0, 0, "corrupt LZ4 data", 0);

    free(blk.p);
    free(s.p);
}

/*
 * The vector that makes an ipfixcol2-style ring ([C2L]: ring of exactly
 * bufferSize, back to 0 when a block does not fit) run liblz4's memcpy on
 * overlapping ranges: bufferSize 200, block 1 = 120 literals, block 2 = 100
 * bytes that do not fit after it, so ipfixcol2 decodes them at 0 over block 1,
 * and a match at offset 70 that reaches back into the bytes being overwritten.
 * Our reader keeps the history contiguous, so the match is an ordinary copy of
 * bytes 55..124 of the stream: 65 'A's and the 5 'B's just written.
 */
static void test_hostile_ring_overlap(void **state)
{
    uint8_t a[120], want2[100];
    bytes_t s = {0}, blk = {0};
    msgs_t want = {0};
    (void)state;

    memset(a, 'A', sizeof(a));
    b_start(&s, 200);
    b_literal_block(&s, a, sizeof(a));
    b_u8(&blk, 0x5F); /* 5 literals, match length 15 + ... */
    b_put(&blk, "BBBBB", 5);
    b_u8(&blk, 70); /* offset 70 */
    b_u8(&blk, 0);
    b_u8(&blk, 51); /* ... + 51 + 4 = 70 */
    b_u8(&blk, 0xF0);
    b_u8(&blk, 10); /* 25 final literals */
    b_put(&blk, "CCCCCCCCCCCCCCCCCCCCCCCCC", 25);
    b_be16(&s, 100);
    b_be16(&s, (uint16_t)blk.n);
    b_put(&s, blk.p, blk.n);
    assert_int_equal(s.n, 174);

    memset(want2, 'B', 5);
    memset(want2 + 5, 'A', 65);
    memset(want2 + 70, 'B', 5);
    memset(want2 + 75, 'C', 25);
    m_add(&want, a, sizeof(a));
    m_add(&want, want2, sizeof(want2));
    expect_stream(s.p, s.n, 0, 0, &want);
    expect_stream(s.p, s.n, 1, 0, &want);

    m_free(&want);
    free(blk.p);
    free(s.p);
}

/* Flip bytes all over a valid stream: every outcome is a message, "more" or an
 * error, never a crash (ASan/UBSan builds check the "never"). */
static void test_hostile_corruption(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(300, 0, &e);
    fk_lz4s_out_t out = {0};
    msgs_t m = {0};
    size_t errors = 0, runs = 0;
    static const uint8_t how[][2] = {{0x01, 0}, {0x80, 0}, {0xFF, 0}, {0, 1}, {0, 2}};
    (void)state;

    assert_non_null(w);
    gen_msgs(&m, 25, 300);
    write_all(w, &m, &out);
    for (size_t pos = 0; pos < out.len; pos++) {
        for (size_t k = 0; k < sizeof(how) / sizeof(how[0]); k++) {
            fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
            uint8_t *c = malloc(out.len);
            msgs_t got = {0};
            assert_non_null(c);
            memcpy(c, out.data, out.len);
            if (how[k][1] == 0)
                c[pos] ^= how[k][0];
            else
                c[pos] = how[k][1] == 1 ? 0x00 : 0xFF;
            if (decode_chunks(r, c, out.len, (pos % 3) * 5, &got, &e) != 0) {
                errors++;
                assert_true(e.msg[0] != '\0');
            } else {
                (void)fk_lz4s_eof(r, &e);
            }
            runs++;
            m_free(&got);
            free(c);
            fk_lz4s_reader_free(r);
        }
    }
    print_message("corruption: %zu of %zu damaged streams rejected\n", errors, runs);
    assert_int_equal(runs, out.len * 5);
    assert_true(errors > 0);
    m_free(&m);
    fk_lz4s_out_free(&out);
    fk_lz4s_writer_free(w);
}

/* End of connection: between blocks is clean, anywhere else is truncation. */
static void test_eof(void **state)
{
    bytes_t s = {0};
    const uint8_t *msg;
    size_t len;
    static const uint8_t lit[10] = "0123456789";
    fk_err_t e = {{0}};
    fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
    (void)state;

    assert_int_equal(fk_lz4s_eof(r, &e), 0); /* nothing received at all */
    b_start(&s, 5869);
    b_literal_block(&s, lit, 10); /* 4 + 11 bytes at offset 8 */

    static const struct {
        size_t upto;
        const char *msg; /* NULL: clean */
    } cuts[] = {
        {8, NULL},
        {10, "block header of block 1 (stream offset 8): 2 of 4 bytes"},
        {12, "block body of block 1 (stream offset 12): 0 of 11 bytes"},
        {17, "block body of block 1 (stream offset 12): 5 of 11 bytes"},
        {23, NULL},
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        fk_lz4s_reader_reset(r);
        assert_int_equal(fk_lz4s_feed(r, s.p, cuts[i].upto), 0);
        while (fk_lz4s_next(r, &msg, &len, &e) == 1)
            ;
        e.msg[0] = '\0';
        if (!cuts[i].msg) {
            assert_int_equal(fk_lz4s_eof(r, &e), 0);
        } else {
            assert_int_equal(fk_lz4s_eof(r, &e), -1);
            if (!strstr(e.msg, cuts[i].msg))
                fail_msg("cut %zu: \"%s\"", cuts[i].upto, e.msg);
        }
    }

    /* FK_LZ4S_ACCEPT_RESTART: cut right after a mid-stream "LZ4c". */
    fk_lz4s_reader_free(r);
    r = fk_lz4s_reader_new(FK_LZ4S_ACCEPT_RESTART, &e);
    b_be32(&s, FK_LZ4S_MAGIC);
    assert_int_equal(fk_lz4s_feed(r, s.p, s.n), 0);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), 1);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), 0);
    assert_int_equal(fk_lz4s_eof(r, &e), -1);
    assert_non_null(strstr(e.msg, "restart header of block 2 (stream offset 27): 0 of 4 bytes"));

    fk_lz4s_reader_free(r);
    free(s.p);
}

static void test_reader_api(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_reader_t *r;
    bytes_t s = {0};
    const uint8_t *msg;
    size_t len;
    static const uint8_t lit[5] = "hello";
    (void)state;

    assert_null(fk_lz4s_reader_new(2, &e));
    assert_non_null(strstr(e.msg, "unknown reader flags 0x2"));
    fk_lz4s_reader_free(NULL);

    r = fk_lz4s_reader_new(0, &e);
    assert_non_null(r);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), 0); /* nothing fed */
    b_start(&s, 5869);
    b_literal_block(&s, lit, 5);
    b_literal_block(&s, lit, 5);
    /* Feeding again before the chunk is consumed is refused. */
    assert_int_equal(fk_lz4s_feed(r, s.p, s.n), 0);
    assert_int_equal(fk_lz4s_feed(r, s.p, s.n), -1);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, NULL), 1);
    assert_int_equal(fk_lz4s_feed(r, s.p, s.n), -1);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, NULL), 1);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, NULL), 0);
    assert_int_equal(fk_lz4s_feed(r, s.p, 0), 0);
    assert_int_equal(fk_lz4s_feed(r, NULL, 0), 0);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, NULL), 0);
    /* An error with e == NULL, then the message on request. */
    assert_int_equal(fk_lz4s_feed(r, (const uint8_t *)"\0\0\0\0", 4), 0);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, NULL), -1);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), -1);
    assert_non_null(strstr(e.msg, "block 3 (stream offset 28): uncompressed size 0"));
    /* Reset makes it usable again. */
    fk_lz4s_reader_reset(r);
    assert_int_equal(fk_lz4s_feed(r, s.p, s.n), 0);
    assert_int_equal(fk_lz4s_next(r, &msg, &len, &e), 1);
    fk_lz4s_reader_free(r);
    free(s.p);
}

/* The reader copies only what a chunk boundary splits, never a whole chunk. */
static void test_pending_bounded(void **state)
{
    fk_err_t e = {{0}};
    fk_lz4s_writer_t *w = fk_lz4s_writer_new(FK_LZ4S_MAX_MTU, 0, &e);
    fk_lz4s_out_t out = {0};
    fk_lz4s_reader_t *r = fk_lz4s_reader_new(0, &e);
    uint8_t *big = malloc(FK_LZ4S_MAX_MTU);
    const uint8_t *msg;
    size_t len, most = 0, n = 0;
    (void)state;

    assert_non_null(w);
    assert_non_null(r);
    assert_non_null(big);
    for (int i = 0; i < 6; i++) {
        gen_msg(big, FK_LZ4S_MAX_MTU, 0, (uint32_t)i); /* random: no compression */
        assert_int_equal(fk_lz4s_write(w, big, FK_LZ4S_MAX_MTU, &out, &e), 0);
    }
    /* One chunk: zero copies. */
    assert_int_equal(fk_lz4s_feed(r, out.data, out.len), 0);
    while (fk_lz4s_next(r, &msg, &len, &e) == 1) {
        assert_int_equal(fk_lz4s_reader_pending(r), 0);
        assert_int_equal(len, FK_LZ4S_MAX_MTU);
        n++;
    }
    assert_int_equal(n, 6);
    /* Byte by byte: at most one block (less one byte) is ever held. */
    fk_lz4s_reader_reset(r);
    n = 0;
    for (size_t i = 0; i < out.len; i++) {
        assert_int_equal(fk_lz4s_feed(r, out.data + i, 1), 0);
        while (fk_lz4s_next(r, &msg, &len, &e) == 1)
            n++;
        if (fk_lz4s_reader_pending(r) > most)
            most = fk_lz4s_reader_pending(r);
    }
    assert_int_equal(n, 6);
    assert_true(most >= 65000 && most < 65535);

    free(big);
    fk_lz4s_reader_free(r);
    fk_lz4s_out_free(&out);
    fk_lz4s_writer_free(w);
}

/* ---- detection ----------------------------------------------------------- */

static fk_lz4s_kind_t detect_exact(const void *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1); /* exact size: ASan catches a read past n */
    fk_lz4s_kind_t k;
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    k = fk_lz4s_detect(c, n);
    free(c);
    return k;
}

static void test_detect(void **state)
{
    static const struct {
        const char *p;
        size_t n;
        fk_lz4s_kind_t want;
    } cases[] = {
        {"", 0, FK_LZ4S_KIND_MORE},
        {"\x16", 1, FK_LZ4S_KIND_TLS},
        {"\x16\x03\x01\x02\x00", 5, FK_LZ4S_KIND_TLS},
        {"\x00", 1, FK_LZ4S_KIND_MORE},
        {"\x00\x0A", 2, FK_LZ4S_KIND_IPFIX},
        {"\x00\x0A\x05\xDC", 4, FK_LZ4S_KIND_IPFIX},
        {"\x00\x09", 2, FK_LZ4S_KIND_UNKNOWN}, /* NetFlow v9 */
        {"\x00\x05\x00\x01", 4, FK_LZ4S_KIND_UNKNOWN},
        {"L", 1, FK_LZ4S_KIND_MORE},
        {"LZ", 2, FK_LZ4S_KIND_MORE},
        {"LZ4", 3, FK_LZ4S_KIND_MORE},
        {"LZ4c", 4, FK_LZ4S_KIND_LZ4},
        {"LZ4c\x00\x00\x16\xED", 8, FK_LZ4S_KIND_LZ4},
        {"LZ4C", 4, FK_LZ4S_KIND_UNKNOWN},
        {"LX", 2, FK_LZ4S_KIND_UNKNOWN},
        {"\x05", 1, FK_LZ4S_KIND_UNKNOWN},
        {"GET /", 5, FK_LZ4S_KIND_UNKNOWN},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (detect_exact(cases[i].p, cases[i].n) != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, detect_exact(cases[i].p, cases[i].n),
                     cases[i].want);
    assert_int_equal(fk_lz4s_detect(NULL, 0), FK_LZ4S_KIND_MORE);

    /* Our writer's stream is detected as LZ4. */
    {
        fk_err_t e = {{0}};
        fk_lz4s_writer_t *w = fk_lz4s_writer_new(1458, 0, &e);
        fk_lz4s_out_t out = {0};
        uint8_t m[64] = {0};
        assert_int_equal(fk_lz4s_write(w, m, sizeof(m), &out, &e), 0);
        assert_int_equal(fk_lz4s_detect(out.data, out.len), FK_LZ4S_KIND_LZ4);
        fk_lz4s_out_free(&out);
        fk_lz4s_writer_free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_header_bytes),
        cmocka_unit_test(test_block_header_order),
        cmocka_unit_test(test_writer_reset),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_reader_hand_vectors),
        cmocka_unit_test(test_roundtrip_default_mtu),
        cmocka_unit_test(test_roundtrip_small_and_large_mtu),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_hostile_start_header),
        cmocka_unit_test(test_hostile_block_header),
        cmocka_unit_test(test_hostile_block_body),
        cmocka_unit_test(test_hostile_ring_overlap),
        cmocka_unit_test(test_hostile_corruption),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_reader_api),
        cmocka_unit_test(test_pending_bounded),
        cmocka_unit_test(test_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
