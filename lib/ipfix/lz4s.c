/*
 * lz4s.c - ipfixprobe's LZ4 stream framing for IPFIX over TCP (see lz4s.h).
 *
 * Writer: a copy of ipfixprobe's CompressBuffer::compress() logic [P5c] with one
 * block per message.  Reader: accepts what ipfixcol2's Lz4Decoder accepts [C2L],
 * with stricter checks and a different (safer) history buffer, explained at
 * struct fk_lz4s_reader_st.
 */
#include "lz4s.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>

#include "lib/core/cursor.h"

/* Largest block either header field can describe. */
#define FK_LZ4S_MAX_BLOCK 65535u

/* LZ4 match offsets are 16-bit: no block can refer further back than this. */
#define FK_LZ4S_HISTORY 65536u

/*
 * The reader's decode buffer: 64 KiB of kept history plus room for at least two
 * maximum blocks, so the 64 KiB memmove happens at most once per 64 KiB of
 * output and usually once per ~128 KiB.
 */
#define FK_LZ4S_DEC_SIZE (FK_LZ4S_HISTORY + 2u * 65536u)

_Static_assert(LZ4_COMPRESSBOUND(FK_LZ4S_MAX_MTU) == FK_LZ4S_MAX_BLOCK,
               "FK_LZ4S_MAX_MTU must be the largest input whose bound fits a u16");
_Static_assert(FK_LZ4S_DEC_SIZE - FK_LZ4S_HISTORY >= FK_LZ4S_MAX_BLOCK,
               "a maximum block must fit after the kept history");

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- output buffer ------------------------------------------------------- */

void fk_lz4s_out_init(fk_lz4s_out_t *o)
{
    o->data = NULL;
    o->len = 0;
    o->cap = 0;
}

void fk_lz4s_out_free(fk_lz4s_out_t *o)
{
    free(o->data);
    fk_lz4s_out_init(o);
}

void fk_lz4s_out_consume(fk_lz4s_out_t *o, size_t n)
{
    if (n >= o->len) {
        o->len = 0;
        return;
    }
    memmove(o->data, o->data + n, o->len - n);
    o->len -= n;
}

/* Make room for n more bytes after o->len; 0, or -1 (o unchanged). */
static int out_reserve(fk_lz4s_out_t *o, size_t n)
{
    size_t need, cap;
    uint8_t *p;

    if (__builtin_add_overflow(o->len, n, &need))
        return -1;
    if (need <= o->cap)
        return 0;
    cap = o->cap ? o->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(o->data, cap);
    if (!p)
        return -1;
    o->data = p;
    o->cap = cap;
    return 0;
}

/* ---- writer -------------------------------------------------------------- */

struct fk_lz4s_writer_st {
    uint32_t mtu;         /* largest message; 17..FK_LZ4S_MAX_MTU */
    uint32_t ring_size;   /* max(buffer_size, 3 * mtu) >= 3 * mtu */
    uint32_t buffer_size; /* announced: ring_size + LZ4_COMPRESSBOUND(mtu) + 16 */
    uint8_t *ring;        /* ring_size bytes: the uncompressed history LZ4 refers to */
    uint32_t pos;         /* where the last block ended; pos <= ring_size */
    LZ4_stream_t *lz;     /* compression state; history = blocks still in `ring` */
    bool need_start;      /* next block: start header, fresh LZ4 state, pos 0 */
    bool broken;          /* an LZ4 call failed: lz is unusable until reset */
};

fk_lz4s_writer_t *fk_lz4s_writer_new(uint32_t mtu, uint32_t buffer_size, fk_err_t *e)
{
    fk_lz4s_writer_t *w;
    uint64_t ring, announced;

    if (mtu <= 16 || mtu > FK_LZ4S_MAX_MTU) {
        fk_errf(e,
                "lz4 stream: mtu %u out of range: expected 17..%u (an IPFIX message is "
                "more than its 16-byte header and a block's compressed size must fit 16 bits)",
                mtu, FK_LZ4S_MAX_MTU);
        return NULL;
    }
    /* ipfixprobe: std::max(lz4-buffer-size, mtu * 3) and, for the compressed
     * side, LZ4_COMPRESSBOUND(mtu) + C_ADD_SIZE; the start header announces the
     * sum of the two [P5c].  64-bit so that no u32 input can overflow. */
    ring = buffer_size > 3 * (uint64_t)mtu ? buffer_size : 3 * (uint64_t)mtu;
    announced = ring + LZ4_COMPRESSBOUND(mtu) + FK_LZ4S_C_ADD_SIZE;
    if (announced > FK_LZ4S_MAX_BUFFER) {
        fk_errf(e,
                "lz4 stream: ring of %llu bytes would announce bufferSize %llu, above the "
                "%u-byte limit readers accept",
                (unsigned long long)ring, (unsigned long long)announced, FK_LZ4S_MAX_BUFFER);
        return NULL;
    }

    w = calloc(1, sizeof(*w));
    if (!w)
        goto oom;
    w->mtu = mtu;
    w->ring_size = (uint32_t)ring;
    w->buffer_size = (uint32_t)announced;
    w->ring = malloc(w->ring_size);
    w->lz = LZ4_createStream();
    if (!w->ring || !w->lz)
        goto oom;
    w->need_start = true;
    return w;

oom:
    fk_lz4s_writer_free(w);
    fk_errf(e, "lz4 stream: out of memory for a %llu-byte ring", (unsigned long long)ring);
    return NULL;
}

void fk_lz4s_writer_free(fk_lz4s_writer_t *w)
{
    if (!w)
        return;
    if (w->lz)
        LZ4_freeStream(w->lz);
    free(w->ring);
    free(w);
}

void fk_lz4s_reset(fk_lz4s_writer_t *w)
{
    w->need_start = true;
    w->broken = false;
}

uint32_t fk_lz4s_writer_buffer_size(const fk_lz4s_writer_t *w)
{
    return w->buffer_size;
}

uint32_t fk_lz4s_writer_ring_size(const fk_lz4s_writer_t *w)
{
    return w->ring_size;
}

int fk_lz4s_write(fk_lz4s_writer_t *w, const uint8_t *msg, size_t len, fk_lz4s_out_t *out,
                  fk_err_t *e)
{
    size_t hdr, bound;
    uint8_t *dst;
    int res;

    if (w->broken)
        return fk_errf(e, "lz4 stream: writer failed earlier; reset it (new connection)");
    if (len == 0)
        return fk_errf(e, "lz4 stream: empty message (a block of 0 bytes is invalid)");
    if (len > w->mtu)
        /* Also covers len > ring (ring >= 3 * mtu) and len > 65535. */
        return fk_errf(e,
                       "lz4 stream: message of %zu bytes exceeds the mtu %u the stream was "
                       "created for (the announced bufferSize only leaves decoders an "
                       "mtu-sized margin)",
                       len, w->mtu);

    hdr = (w->need_start ? FK_LZ4S_START_HDR_LEN : 0) + FK_LZ4S_BLOCK_HDR_LEN;
    bound = LZ4_COMPRESSBOUND(len); /* <= 65535 because len <= mtu <= FK_LZ4S_MAX_MTU */
    if (out_reserve(out, hdr + bound) != 0)
        return fk_errf(e, "lz4 stream: out of memory growing the output to %zu + %zu bytes",
                       out->len, hdr + bound);

    if (w->need_start) {
        /* ipfixprobe after a reset: LZ4_resetStream and "the buffer must start
         * at 0" [P5c].  The fast reset is enough for a stream made with
         * LZ4_createStream (lz4.h, LZ4_resetStream_fast). */
        LZ4_resetStream_fast(w->lz);
        w->pos = 0;
    }
    /* Blocks never wrap: one that does not fit at the end of the ring starts at
     * 0, so the blocks before it stay in place as LZ4's dictionary [P5c]
     * getWriteBuffer().  LZ4 itself trims its dictionary where the new block
     * overwrites it. */
    if (len > w->ring_size - w->pos)
        w->pos = 0;
    memcpy(w->ring + w->pos, msg, len);

    dst = out->data + out->len;
    /* Acceleration 0 = LZ4's default, as ipfixprobe passes it [P5c]. */
    res = LZ4_compress_fast_continue(w->lz, (const char *)(w->ring + w->pos), (char *)(dst + hdr),
                                     (int)len, (int)bound, 0);
    if (res <= 0 || (uint32_t)res > FK_LZ4S_MAX_BLOCK) {
        /* Cannot happen with dstCapacity = bound, but if it does the stream
         * state already counts this block: nothing valid can follow. */
        w->broken = true;
        return fk_errf(e, "lz4 stream: LZ4_compress_fast_continue returned %d for %zu bytes", res,
                       len);
    }

    if (w->need_start) {
        put_be32(dst, FK_LZ4S_MAGIC);
        put_be32(dst + 4, w->buffer_size);
        dst += FK_LZ4S_START_HDR_LEN;
    }
    put_be16(dst, (uint16_t)len); /* uncompressed size first [P5c], [C2L] */
    put_be16(dst + 2, (uint16_t)res);
    out->len += hdr + (size_t)res;
    w->pos += (uint32_t)len;
    w->need_start = false;
    return 0;
}

/* ---- reader -------------------------------------------------------------- */

enum rd_state {
    RD_START,   /* expecting the 8-byte start header */
    RD_HDR,     /* expecting a 4-byte block header */
    RD_RESTART, /* read "LZ4c" as a block header (FK_LZ4S_ACCEPT_RESTART): need bufferSize */
    RD_BODY,    /* expecting clen bytes of LZ4 block */
    RD_FAILED,  /* invalid stream: only reset helps */
};

/*
 * Why the history is not kept the way ipfixcol2 keeps it.
 *
 * ipfixcol2 [C2L] allocates a ring of exactly bufferSize bytes, restarts at 0
 * when a block does not fit at the end, and lets LZ4_decompress_safe_continue
 * track the previous segment as an "external dictionary".  That is correct for
 * streams that obey lz4.h's ring rule, but the external dictionary LZ4 records
 * is the whole previous segment, including the bytes the current block is
 * overwriting.  A hostile block that refers to them makes liblz4 (1.9.4) call
 * memcpy with overlapping ranges: 174 bytes are enough (bufferSize 200, a
 * 120-byte literal block, then a 100-byte block with a match at offset 70;
 * test_lz4s.c keeps that vector).  That is undefined behaviour on data an
 * attacker sends, and ASan aborts on it.
 *
 * lz4.h names the alternative: "save the last 64KB of decoded data into a safe
 * buffer ... then indicate where this data is saved using LZ4_setStreamDecode()".
 * Here blocks are decoded one after the other into `dec`; when the next block
 * does not fit, the last 64 KiB move to the front and become the dictionary.
 * LZ4 then only ever sees one contiguous prefix ending where the block goes,
 * never an external dictionary, so no decoded byte is both source and target.
 * Every stream that is valid for ipfixcol2's ring decodes to the same bytes
 * (64 KiB is the most any LZ4 match can reach back, and more than any
 * bufferSize-respecting encoder keeps), memory is fixed instead of
 * attacker-chosen (bufferSize up to 64 MiB), and the announced bufferSize is
 * still validated and enforced as the largest block.
 */
struct fk_lz4s_reader_st {
    uint32_t flags;                  /* FK_LZ4S_*, fixed at creation */
    enum rd_state state;             /* what the next bytes are */
    fk_cursor_t in;                  /* unconsumed part of the borrowed chunk; empty when none */
    size_t held;                     /* bytes of the current unit copied to hold[]; < unit size */
    uint32_t buffer_size;            /* from the start header; 0 before, else 1..MAX_BUFFER */
    uint16_t ulen, clen;             /* current block's header; valid in RD_BODY (both >= 1) */
    bool hdr_magic;                  /* the current block header's bytes were "LZ4c" */
    uint64_t unit_off;               /* stream offset of the header or body being read */
    uint64_t blk_off;                /* stream offset of the current block's header */
    LZ4_streamDecode_t *sd;          /* its prefix is always exactly dec[0..dpos) */
    uint8_t *dec;                    /* FK_LZ4S_DEC_SIZE bytes of decoded stream */
    size_t dpos;                     /* end of decoded data; dpos <= FK_LZ4S_DEC_SIZE */
    fk_lz4s_stats_t st;              /* counters since the last reset */
    fk_err_t err;                    /* why the reader failed; valid in RD_FAILED */
    uint8_t hold[FK_LZ4S_MAX_BLOCK]; /* a header or body split across chunks */
};

fk_lz4s_reader_t *fk_lz4s_reader_new(uint32_t flags, fk_err_t *e)
{
    fk_lz4s_reader_t *r;

    if (flags & ~FK_LZ4S_ACCEPT_RESTART) {
        fk_errf(e, "lz4 stream: unknown reader flags 0x%x", flags);
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (!r)
        goto oom;
    r->flags = flags;
    r->sd = LZ4_createStreamDecode();
    /* calloc: LZ4 never reads past the prefix, but zeroed bytes make any bug
     * deterministic instead of leaking old heap contents. */
    r->dec = calloc(1, FK_LZ4S_DEC_SIZE);
    if (!r->sd || !r->dec)
        goto oom;
    fk_lz4s_reader_reset(r);
    return r;

oom:
    fk_lz4s_reader_free(r);
    fk_errf(e, "lz4 stream: out of memory for a reader");
    return NULL;
}

void fk_lz4s_reader_free(fk_lz4s_reader_t *r)
{
    if (!r)
        return;
    if (r->sd)
        LZ4_freeStreamDecode(r->sd);
    free(r->dec);
    free(r);
}

/* What an empty cursor points at: fk_cur_make(NULL, 0) would compute NULL + 0,
 * which C leaves undefined (UBSan: "applying zero offset to null pointer"). */
static const uint8_t no_bytes[1];

/* Empty history: the next block is decoded at dec[0] without a dictionary. */
static void rd_new_stream(fk_lz4s_reader_t *r)
{
    LZ4_setStreamDecode(r->sd, NULL, 0);
    r->dpos = 0;
}

void fk_lz4s_reader_reset(fk_lz4s_reader_t *r)
{
    r->state = RD_START;
    r->in = fk_cur_make(no_bytes, 0);
    r->held = 0;
    r->buffer_size = 0;
    r->ulen = r->clen = 0;
    r->hdr_magic = false;
    r->unit_off = r->blk_off = 0;
    memset(&r->st, 0, sizeof(r->st));
    r->err.msg[0] = '\0';
    rd_new_stream(r);
}

int fk_lz4s_feed(fk_lz4s_reader_t *r, const uint8_t *data, size_t len)
{
    if (fk_cur_left(&r->in) != 0)
        return -1;
    r->in = fk_cur_make(len ? data : no_bytes, len);
    return 0;
}

size_t fk_lz4s_reader_pending(const fk_lz4s_reader_t *r)
{
    return r->held;
}

uint32_t fk_lz4s_reader_buffer_size(const fk_lz4s_reader_t *r)
{
    return r->buffer_size;
}

void fk_lz4s_reader_stats(const fk_lz4s_reader_t *r, fk_lz4s_stats_t *st)
{
    *st = r->st;
}

/* Enter RD_FAILED with a formatted reason, drop the chunk, copy the reason to
 * e; returns -1. */
__attribute__((format(printf, 3, 4))) static int rd_fail(fk_lz4s_reader_t *r, fk_err_t *e,
                                                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
    va_end(ap);
    r->state = RD_FAILED;
    r->in = fk_cur_make(no_bytes, 0);
    r->held = 0;
    if (e)
        *e = r->err;
    return -1;
}

/*
 * Get the next `need` bytes of the stream (1..FK_LZ4S_MAX_BLOCK) as one
 * contiguous span.  Straight from the chunk when it holds them all and nothing
 * is held; otherwise through hold[], which keeps a partial unit between chunks.
 * Returns true with *unit set (valid until the next take), false when the chunk
 * ran out first (truncated so far: feed more).
 */
static bool rd_take(fk_lz4s_reader_t *r, size_t need, const uint8_t **unit)
{
    size_t n;

    if (r->held == 0 && fk_cur_has(&r->in, need)) {
        *unit = r->in.p;
        fk_cur_skip(&r->in, need);
        r->st.bytes_in += need;
        return true;
    }
    n = need - r->held;
    if (n > fk_cur_left(&r->in))
        n = fk_cur_left(&r->in);
    fk_cur_copy(&r->in, r->hold + r->held, n); /* n <= left: cannot fail */
    r->held += n;
    r->st.bytes_in += n;
    if (r->held < need)
        return false;
    r->held = 0;
    *unit = r->hold;
    return true;
}

/* Size needed by the unit the current state is reading. */
static size_t rd_unit_len(const fk_lz4s_reader_t *r)
{
    switch (r->state) {
    case RD_START:
        return FK_LZ4S_START_HDR_LEN;
    case RD_HDR:
    case RD_RESTART:
        return 4;
    case RD_BODY:
        return r->clen;
    case RD_FAILED:
        break;
    }
    return 0;
}

/* Validate a bufferSize read from a start header (at stream offset `off`). */
static int rd_buffer_size(fk_lz4s_reader_t *r, uint32_t size, uint64_t off, fk_err_t *e)
{
    if (size == 0)
        return rd_fail(r, e, "lz4 start header (stream offset %llu): bufferSize 0",
                       (unsigned long long)off);
    if (size > FK_LZ4S_MAX_BUFFER)
        return rd_fail(r, e,
                       "lz4 start header (stream offset %llu): bufferSize %u above the "
                       "%u-byte limit",
                       (unsigned long long)off, size, FK_LZ4S_MAX_BUFFER);
    r->buffer_size = size;
    rd_new_stream(r);
    return 0;
}

/*
 * Appended to every error about a block whose header bytes are "LZ4c": by
 * default such a header is read as sizes (0x4C5A, 0x3463), as ipfixcol2 reads
 * it [C2L], and it is almost certainly an exporter restart instead.
 */
static const char *rd_hint(const fk_lz4s_reader_t *r)
{
    return r->hdr_magic ? "; the header is the \"LZ4c\" magic: the exporter restarted its "
                          "LZ4 stream mid-connection (ipfixprobe does after a buffer realloc), "
                          "which ipfixcol2 cannot decode either (reader flag "
                          "FK_LZ4S_ACCEPT_RESTART accepts it)"
                        : "";
}

/* Decode the block whose body is src[0..clen) and return it. */
static int rd_decode(fk_lz4s_reader_t *r, const uint8_t *src, const uint8_t **msg, size_t *len,
                     fk_err_t *e)
{
    uint64_t blk = r->st.blocks + 1;
    unsigned long long off = (unsigned long long)r->blk_off;
    uint8_t *dst;
    int got;

    if (FK_LZ4S_DEC_SIZE - r->dpos < r->ulen) {
        /* Keep the last 64 KiB as the prefix dictionary (see the struct). */
        size_t keep = r->dpos < FK_LZ4S_HISTORY ? r->dpos : FK_LZ4S_HISTORY;
        memmove(r->dec, r->dec + r->dpos - keep, keep);
        LZ4_setStreamDecode(r->sd, (const char *)r->dec, (int)keep);
        r->dpos = keep;
    }
    dst = r->dec + r->dpos;
    /* dstCapacity = the announced size: LZ4 stops with an error rather than
     * produce more, and reports fewer, which ipfixcol2 silently accepts ("this
     * shouldn't happen, but it is not error" [C2L]) and we do not. */
    got = LZ4_decompress_safe_continue(r->sd, (const char *)src, (char *)dst, r->clen, r->ulen);
    if (got < 0)
        return rd_fail(r, e,
                       "block %llu (stream offset %llu): corrupt LZ4 data: %u compressed bytes "
                       "do not decode into at most the announced %u bytes (LZ4 error %d)%s",
                       (unsigned long long)blk, off, r->clen, r->ulen, got, rd_hint(r));
    if ((uint32_t)got != r->ulen)
        return rd_fail(r, e,
                       "block %llu (stream offset %llu): announced %u bytes, LZ4 produced %d%s",
                       (unsigned long long)blk, off, r->ulen, got, rd_hint(r));
    r->dpos += r->ulen;
    r->st.blocks = blk;
    r->st.bytes_out += r->ulen;
    *msg = dst;
    *len = r->ulen;
    return 1;
}

int fk_lz4s_next(fk_lz4s_reader_t *r, const uint8_t **msg, size_t *len, fk_err_t *e)
{
    const uint8_t *unit;
    fk_cursor_t c;
    uint32_t magic, size;

    for (;;) {
        if (r->state == RD_FAILED) {
            if (e)
                *e = r->err;
            return -1;
        }
        if (r->held == 0)
            r->unit_off = r->st.bytes_in;
        if (!rd_take(r, rd_unit_len(r), &unit))
            return 0; /* the whole chunk is in hold[] now */
        c = fk_cur_make(unit, rd_unit_len(r));
        switch (r->state) {
        case RD_START:
            /* Read once per connection, like ipfixcol2 (it reads the start
             * header while its ring is empty, i.e. only at the first block, and
             * does not check the magic there [C2L]; we do). */
            fk_cur_be32(&c, &magic);
            fk_cur_be32(&c, &size);
            if (magic != FK_LZ4S_MAGIC)
                return rd_fail(r, e,
                               "lz4 start header (stream offset %llu): magic 0x%08X, expected "
                               "0x%08X \"LZ4c\"",
                               (unsigned long long)r->unit_off, magic, FK_LZ4S_MAGIC);
            if (rd_buffer_size(r, size, r->unit_off, e) != 0)
                return -1;
            r->state = RD_HDR;
            break;

        case RD_HDR: {
            uint64_t blk = r->st.blocks + 1;
            unsigned long long off = (unsigned long long)r->unit_off;
            uint32_t bound;

            r->blk_off = r->unit_off;
            r->hdr_magic = fk_load_be32(unit) == FK_LZ4S_MAGIC;
            if (r->hdr_magic && (r->flags & FK_LZ4S_ACCEPT_RESTART)) {
                r->state = RD_RESTART;
                break;
            }
            fk_cur_be16(&c, &r->ulen); /* uncompressed first [C2L] */
            fk_cur_be16(&c, &r->clen);
            bound = LZ4_COMPRESSBOUND((uint32_t)r->ulen);
            if (r->ulen == 0 || r->clen == 0)
                return rd_fail(r, e,
                               "block %llu (stream offset %llu): %s size 0 (uncompressed %u, "
                               "compressed %u)",
                               (unsigned long long)blk, off,
                               r->ulen == 0 ? "uncompressed" : "compressed", r->ulen, r->clen);
            /* Cannot be "LZ4c": neither half of the magic is 0. */
            if (r->clen > bound)
                return rd_fail(r, e,
                               "block %llu (stream offset %llu): compressed size %u above "
                               "LZ4_COMPRESSBOUND(%u) = %u%s",
                               (unsigned long long)blk, off, r->clen, r->ulen, bound, rd_hint(r));
            if (r->ulen > r->buffer_size)
                return rd_fail(r, e,
                               "block %llu (stream offset %llu): uncompressed size %u larger "
                               "than the %u-byte bufferSize of the start header%s",
                               (unsigned long long)blk, off, r->ulen, r->buffer_size, rd_hint(r));
            r->state = RD_BODY;
            break;
        }

        case RD_RESTART:
            fk_cur_be32(&c, &size);
            /* The start header began 4 bytes before this unit. */
            if (rd_buffer_size(r, size, r->blk_off, e) != 0)
                return -1;
            r->st.restarts++;
            r->state = RD_HDR;
            break;

        case RD_BODY:
            r->state = RD_HDR;
            return rd_decode(r, unit, msg, len, e);

        case RD_FAILED:
            break;
        }
    }
}

int fk_lz4s_eof(const fk_lz4s_reader_t *r, fk_err_t *e)
{
    static const char *what[] = {
        [RD_START] = "start header",
        [RD_HDR] = "block header",
        [RD_RESTART] = "restart header",
        [RD_BODY] = "block body",
    };
    size_t need;

    if (r->state == RD_FAILED) {
        if (e)
            *e = r->err;
        return -1;
    }
    /* Truncated: a unit was begun (bytes held or a block header read). */
    if (r->held == 0 && r->state != RD_BODY && r->state != RD_RESTART)
        return 0;
    need = rd_unit_len(r);
    return fk_errf(e,
                   "lz4 stream truncated: connection ended in the %s of block %llu (stream "
                   "offset %llu): %zu of %zu bytes received",
                   what[r->state], (unsigned long long)(r->st.blocks + 1),
                   (unsigned long long)r->unit_off, r->held, need);
}

/* ---- detection ----------------------------------------------------------- */

fk_lz4s_kind_t fk_lz4s_detect(const uint8_t *p, size_t n)
{
    static const uint8_t magic[4] = {0x4C, 0x5A, 0x34, 0x63};
    fk_cursor_t c;
    uint8_t b0;
    uint16_t u16;

    if (n == 0) /* before fk_cur_make: p may be NULL */
        return FK_LZ4S_KIND_MORE;
    c = fk_cur_make(p, n < 4 ? n : 4);
    /* ipfixcol2's order [C2F]: TLS, then IPFIX, then LZ4. */
    fk_cur_peek_u8(&c, 0, &b0);
    if (b0 == 22)
        return FK_LZ4S_KIND_TLS;
    if (!fk_cur_peek_be16(&c, 0, &u16))
        return b0 == 0x00 || b0 == magic[0] ? FK_LZ4S_KIND_MORE : FK_LZ4S_KIND_UNKNOWN;
    if (u16 == 10)
        return FK_LZ4S_KIND_IPFIX;
    if (memcmp(c.p, magic, fk_cur_left(&c)) != 0)
        return FK_LZ4S_KIND_UNKNOWN;
    return fk_cur_left(&c) == 4 ? FK_LZ4S_KIND_LZ4 : FK_LZ4S_KIND_MORE;
}
