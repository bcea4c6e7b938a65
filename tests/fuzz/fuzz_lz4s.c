/*
 * fuzz_lz4s.c - libFuzzer target for lib/ipfix/lz4s (ipfixprobe's LZ4 framing).
 *
 * The first input byte c selects the mode and its options; the rest is the
 * payload.
 *
 *  c & 1 == 0: raw stream.  The payload goes to a reader in two chunks split
 *    at offset c (clamped to the payload), and to a second reader one byte at
 *    a time; c & 2 sets FK_LZ4S_ACCEPT_RESTART on both.  Both must return the
 *    same messages and end the same way (same error text): chunking must not
 *    matter.  Every message must respect the announced sizes.
 *
 *  c & 1 == 1: round trip.  Payload bytes 0..4 choose mtu, ring size, rounds
 *    and feed chunk size; the rest is cut into messages (u16 length prefix)
 *    that a writer compresses, `rounds` (1..61) times over (which wraps the
 *    writer's ring and the reader's decode buffer).
 *    (c >> 1) & 3 picks what happens between rounds: nothing; writer and reader
 *    reset (new connection); writer reset only, read with
 *    FK_LZ4S_ACCEPT_RESTART.  The reader must return every message
 *    byte-identical, and so must a replica of ipfixcol2's decoder (ring of
 *    exactly bufferSize, [C2L]) on every single-connection stream.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>

#include "lib/ipfix/lz4s.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_lz4s: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* ---- raw mode ------------------------------------------------------------ */

/* What a reader produced: a hash of the messages, and how it ended. */
typedef struct {
    uint64_t hash;  /* FNV-1a over each message's length and bytes, in order */
    uint64_t count; /* messages */
    int end;        /* 0 clean, -1 error from next(), -2 truncated at eof */
    fk_err_t e;
} outcome_t;

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

/* Feed one chunk and drain.  With `copy`, the chunk is an exact-size heap copy
 * so ASan sees a read past it; without, p is fed as it is (cheap for the
 * byte-by-byte reader, whose p lies inside an exact copy of the whole input). */
static int feed_drain(fk_lz4s_reader_t *r, const uint8_t *p, size_t n, bool copy, outcome_t *o)
{
    uint8_t *c = copy ? malloc(n ? n : 1) : (uint8_t *)(uintptr_t)p;
    const uint8_t *msg;
    size_t len;
    int rc;

    CHECK(c != NULL);
    if (copy && n)
        memcpy(c, p, n);
    CHECK(fk_lz4s_feed(r, c, n) == 0);
    while ((rc = fk_lz4s_next(r, &msg, &len, &o->e)) == 1) {
        uint8_t lenb[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        CHECK(len >= 1 && len <= 65535);
        CHECK(len <= fk_lz4s_reader_buffer_size(r));
        o->hash = fnv(o->hash, lenb, 2);
        o->hash = fnv(o->hash, msg, len);
        o->count++;
        CHECK(fk_lz4s_reader_pending(r) <= 65535);
    }
    if (copy)
        free(c);
    CHECK(rc == 0 || rc == -1);
    CHECK(fk_lz4s_reader_pending(r) <= 65535);
    if (rc < 0) {
        CHECK(o->e.msg[0] != '\0');
        CHECK(memchr(o->e.msg, '\0', sizeof(o->e.msg)) != NULL);
        /* An unconsumed chunk is dropped: feeding works, the error stays. */
        CHECK(fk_lz4s_feed(r, p, n) == 0);
        CHECK(fk_lz4s_next(r, &msg, &len, NULL) == -1);
        o->end = -1;
        return -1;
    }
    return 0;
}

static void finish(fk_lz4s_reader_t *r, outcome_t *o)
{
    fk_lz4s_stats_t st;

    fk_lz4s_reader_stats(r, &st);
    CHECK(st.blocks == o->count);
    if (o->end == 0 && fk_lz4s_eof(r, &o->e) != 0) {
        CHECK(strstr(o->e.msg, "truncated") != NULL);
        o->end = -2;
    }
}

static void raw_mode(uint8_t c, const uint8_t *p, size_t n)
{
    uint32_t flags = (c & 2) ? FK_LZ4S_ACCEPT_RESTART : 0;
    size_t split = c < n ? c : n;
    fk_lz4s_reader_t *a = fk_lz4s_reader_new(flags, NULL);
    fk_lz4s_reader_t *b = fk_lz4s_reader_new(flags, NULL);
    outcome_t oa = {.hash = 0xcbf29ce484222325u}, ob = {.hash = 0xcbf29ce484222325u};

    CHECK(a && b);
    if (feed_drain(a, p, split, true, &oa) == 0)
        feed_drain(a, p + split, n - split, true, &oa);
    finish(a, &oa);
    {
        uint8_t *whole = malloc(n ? n : 1);
        CHECK(whole != NULL);
        if (n)
            memcpy(whole, p, n);
        for (size_t i = 0; i < n; i++)
            if (feed_drain(b, whole + i, 1, false, &ob) != 0)
                break;
        free(whole);
    }
    finish(b, &ob);

    CHECK(oa.count == ob.count);
    CHECK(oa.hash == ob.hash);
    CHECK(oa.end == ob.end);
    if (oa.end != 0)
        CHECK(strcmp(oa.e.msg, ob.e.msg) == 0);

    /* After a reset the same bytes give the same result again. */
    fk_lz4s_reader_reset(a);
    {
        outcome_t oc = {.hash = 0xcbf29ce484222325u};
        feed_drain(a, p, n, true, &oc);
        finish(a, &oc);
        CHECK(oc.count == oa.count && oc.hash == oa.hash && oc.end == oa.end);
    }
    fk_lz4s_reader_free(a);
    fk_lz4s_reader_free(b);
    (void)fk_lz4s_detect(p, n);
}

/* ---- round-trip mode ----------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t len;
} span_t;

/* Decode `s` (one or more connections' worth, per the reader's flags) in
 * chunks and compare with the expected sequence starting at want[*next]. */
static void check_decode(fk_lz4s_reader_t *r, const fk_lz4s_out_t *s, size_t chunk,
                         const span_t *want, size_t nwant, size_t *next)
{
    fk_err_t e = {{0}};
    size_t at = 0;

    /* Exact-size copies per chunk when chunks are big; one copy of the whole
     * stream for small ones (a malloc per byte costs more than it finds). */
    bool per_chunk = chunk >= 64;
    uint8_t *whole = per_chunk ? NULL : malloc(s->len ? s->len : 1);

    CHECK(per_chunk || whole != NULL);
    if (whole && s->len)
        memcpy(whole, s->data, s->len);
    while (at < s->len) {
        size_t k = s->len - at < chunk ? s->len - at : chunk;
        uint8_t *c = per_chunk ? malloc(k) : whole + at;
        const uint8_t *msg;
        size_t len;
        int rc;

        CHECK(c != NULL);
        if (per_chunk)
            memcpy(c, s->data + at, k);
        CHECK(fk_lz4s_feed(r, c, k) == 0);
        while ((rc = fk_lz4s_next(r, &msg, &len, &e)) == 1) {
            CHECK(*next < nwant);
            CHECK(len == want[*next].len);
            CHECK(memcmp(msg, want[*next].p, len) == 0);
            ++*next;
        }
        if (rc != 0)
            fprintf(stderr, "fuzz_lz4s: reader failed on writer output: %s\n", e.msg);
        CHECK(rc == 0);
        if (per_chunk)
            free(c);
        at += k;
    }
    free(whole);
    CHECK(fk_lz4s_eof(r, &e) == 0);
}

/* ipfixcol2's Lz4Decoder [C2L] on one connection's stream, plus the ulen <=
 * ring check it lacks.  Valid (writer-made) streams only. */
static void ipfixcol2_replica(const fk_lz4s_out_t *s, const span_t *want, size_t nwant)
{
    LZ4_streamDecode_t *sd = LZ4_createStreamDecode();
    uint8_t *ring;
    uint32_t size;
    size_t at = 8, pos = 0, i = 0;

    CHECK(sd != NULL && s->len >= 8);
    size = (uint32_t)s->data[4] << 24 | (uint32_t)s->data[5] << 16 | (uint32_t)s->data[6] << 8 |
           s->data[7];
    ring = calloc(1, size);
    CHECK(ring != NULL);
    while (at < s->len) {
        uint16_t ulen = (uint16_t)(s->data[at] << 8 | s->data[at + 1]);
        uint16_t clen = (uint16_t)(s->data[at + 2] << 8 | s->data[at + 3]);
        at += 4;
        CHECK(ulen <= size && at + clen <= s->len);
        if (size - pos < ulen)
            pos = 0;
        CHECK(LZ4_decompress_safe_continue(sd, (const char *)s->data + at, (char *)ring + pos, clen,
                                           ulen) == ulen);
        CHECK(i < nwant && want[i].len == ulen && memcmp(ring + pos, want[i].p, ulen) == 0);
        i++;
        pos += ulen;
        at += clen;
    }
    CHECK(i == nwant);
    free(ring);
    LZ4_freeStreamDecode(sd);
}

static void roundtrip_mode(uint8_t c, const uint8_t *p, size_t n)
{
    enum { MAXMSG = 2048 };
    static span_t msgs[MAXMSG];
    static span_t seq[61 * MAXMSG]; /* the messages in the order written */
    fk_lz4s_writer_t *w;
    fk_lz4s_reader_t *r;
    fk_lz4s_out_t out = {0};
    fk_err_t e = {{0}};
    uint32_t mtu, buffer_size, rounds, reset_mode;
    size_t chunk, nmsg = 0, nseq = 0, at = 5, next = 0, conn_first = 0;

    if (n < 5)
        return;
    mtu = (uint32_t)(p[0] << 8 | p[1]);
    mtu = (c & 8) ? 17 + mtu % (FK_LZ4S_MAX_MTU - 16) : 17 + mtu % 2048;
    buffer_size = (uint32_t)p[2] << (p[3] % 10);
    /* Up to 61 rounds: with a 4 KiB input that passes the reader's 192 KiB
     * decode buffer, so its 64 KiB history move is exercised too. */
    rounds = 1 + (uint32_t)(p[3] >> 4) * 4;
    chunk = 1 + (size_t)p[4] * 17;
    reset_mode = (c >> 1) & 3;

    /* Messages: u16 length (1..mtu), then that many bytes (fewer at the end). */
    while (at + 2 < n && nmsg < MAXMSG) {
        size_t len = 1 + (size_t)(p[at] << 8 | p[at + 1]) % mtu;
        at += 2;
        if (len > n - at)
            len = n - at;
        /* A genuine 19546-byte block whose compressed size is exactly 13411
         * has the header bytes "LZ4c", which FK_LZ4S_ACCEPT_RESTART reads as a
         * restart by design (lz4s.h); keep mode 2 clear of that ambiguity. */
        if (reset_mode == 2 && len == 0x4C5A)
            len--;
        msgs[nmsg].p = p + at;
        msgs[nmsg].len = len;
        nmsg++;
        at += len;
    }
    if (nmsg == 0)
        return;
    /* Keep an input cheap: small feed chunks (one feed and one allocation per
     * chunk) get few rounds, big ones enough to pass 192 KiB. */
    {
        size_t total = 0, budget = chunk < 256 ? 24u << 10 : 288u << 10;
        for (size_t i = 0; i < nmsg; i++)
            total += msgs[i].len;
        if ((size_t)rounds * total > budget)
            rounds = total >= budget ? 1 : (uint32_t)(budget / total);
    }

    w = fk_lz4s_writer_new(mtu, buffer_size, &e);
    CHECK(w != NULL); /* mtu <= 65264 and ring <= 511 << 9: always valid */
    CHECK(fk_lz4s_writer_ring_size(w) >= 3 * mtu);
    r = fk_lz4s_reader_new(reset_mode == 2 ? FK_LZ4S_ACCEPT_RESTART : 0, &e);
    CHECK(r != NULL);

    for (uint32_t round = 0; round < rounds; round++) {
        if (round > 0 && (reset_mode == 1 || reset_mode == 2))
            fk_lz4s_reset(w);
        for (size_t i = 0; i < nmsg; i++) {
            size_t before = out.len;
            CHECK(fk_lz4s_write(w, msgs[i].p, msgs[i].len, &out, &e) == 0);
            CHECK(out.len > before + 4);
            seq[nseq++] = msgs[i];
        }
        /* Too big (or empty): refused, nothing appended, stream unharmed. */
        {
            size_t before = out.len;
            CHECK(fk_lz4s_write(w, p, mtu + 1 <= n ? mtu + 1 : 0, &out, &e) == -1);
            CHECK(out.len == before);
        }
        if (reset_mode == 1) {
            /* A new connection per round: decode this one, and with ipfixcol2's ring. */
            CHECK(out.len >= 8 && out.data[0] == 0x4C && out.data[3] == 0x63);
            ipfixcol2_replica(&out, seq + conn_first, nseq - conn_first);
            fk_lz4s_reader_reset(r);
            check_decode(r, &out, chunk, seq, nseq, &next);
            CHECK(next == nseq);
            conn_first = nseq;
            out.len = 0;
        }
    }
    if (reset_mode != 1) {
        if (reset_mode != 2)
            ipfixcol2_replica(&out, seq, nseq);
        check_decode(r, &out, chunk, seq, nseq, &next);
        CHECK(next == nseq);
    }

    fk_lz4s_out_free(&out);
    fk_lz4s_reader_free(r);
    fk_lz4s_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        roundtrip_mode(data[0], data + 1, size - 1);
    else
        raw_mode(data[0], data + 1, size - 1);
    return 0;
}
