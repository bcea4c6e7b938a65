/*
 * lz4s.h - ipfixprobe's LZ4 stream framing for IPFIX over TCP.
 *
 * ipfixprobe 5.x (`-o "ipfix;c"`) compresses its TCP byte stream with raw LZ4
 * blocks in a small framing of its own, and ipfixcol2's TCP input reads it.
 * Facts and sources: docs/research/ipfixprobe-ipfix-facts.md section 2
 * ([P5c] ipfix.cpp CompressBuffer, [C2L] ipfixcol2 Lz4Decoder.cpp,
 * [C2F] DecoderFactory.cpp).  All fields are big-endian:
 *
 *  Stream start header: once, before the first block of a connection.
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  magic = 0x4C5A3463 ("LZ4c")                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |      bufferSize = uncompressed ring + compressed buffer       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *  Block header: before every block; one block = one IPFIX message.
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |      uncompressed size        |        compressed size        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  raw LZ4 block (compressed size bytes; no frame, no checksum)  ...
 *
 * Blocks are compressed with LZ4's streaming API, so a block may refer back to
 * the bytes of earlier blocks (up to 64 KiB).  There is no end marker: a stream
 * ends when the TCP connection does.
 *
 * Threading: a writer or reader is used by one thread at a time; distinct
 * objects are independent.  Link with liblz4 (pkg-config liblz4).
 */
#ifndef FK_LZ4S_H
#define FK_LZ4S_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/log.h"

/* "LZ4c", the first four bytes of a compressed stream [P5c], [C2F]. */
#define FK_LZ4S_MAGIC UINT32_C(0x4C5A3463)

#define FK_LZ4S_START_HDR_LEN 8u /* magic + bufferSize */
#define FK_LZ4S_BLOCK_HDR_LEN 4u /* u16 uncompressed size + u16 compressed size */

/* ipfixprobe's C_ADD_SIZE: slack added to LZ4_COMPRESSBOUND(mtu) [P5c]. */
#define FK_LZ4S_C_ADD_SIZE 16u

/*
 * Largest bufferSize either side accepts (64 MiB).  ipfixprobe's default is
 * 5869 bytes for mtu 1458; anything near this limit is a corrupt header.
 */
#define FK_LZ4S_MAX_BUFFER (UINT32_C(64) << 20)

/*
 * Largest mtu a writer accepts: the biggest n with LZ4_COMPRESSBOUND(n) <= 65535,
 * so that every block's compressed size fits the u16 header field even when the
 * message does not compress at all (65264 + 65264/255 + 16 == 65535).
 */
#define FK_LZ4S_MAX_MTU 65264u

/* ---- output buffer ------------------------------------------------------- */

/* A growable byte buffer the writer appends to.  data[0..len) is the pending
 * stream; data is NULL until the first append.  Zero-initialise, or use
 * fk_lz4s_out_init().  The struct owns data. */
typedef struct fk_lz4s_out_st {
    uint8_t *data; /* heap block of `cap` bytes, or NULL when cap == 0 */
    size_t len;    /* bytes pending; len <= cap */
    size_t cap;
} fk_lz4s_out_t;

/* Make `o` empty without allocating. */
void fk_lz4s_out_init(fk_lz4s_out_t *o);

/* Free o->data and make `o` empty again; `o` may be reused afterwards. */
void fk_lz4s_out_free(fk_lz4s_out_t *o);

/* Drop the first n bytes (those a partial send() got out), keeping the rest in
 * order.  n > o->len empties the buffer.  Never allocates. */
void fk_lz4s_out_consume(fk_lz4s_out_t *o, size_t n);

/* ---- writer (flowprobe's IPFIX-over-TCP exporter) ------------------------ */

typedef struct fk_lz4s_writer_st fk_lz4s_writer_t;

/*
 * Create a writer for messages of at most `mtu` bytes, as ipfixprobe's `m=` and
 * `s=` options size theirs [P5c]: the uncompressed ring keeps
 * max(buffer_size, 3 * mtu) bytes of history and the start header announces
 * bufferSize = ring + LZ4_COMPRESSBOUND(mtu) + 16.  The part beyond the ring
 * is at least mtu + 16 bytes, which is the margin lz4.h requires between a
 * decoder ring (ipfixcol2 allocates exactly bufferSize [C2L]) and the encoder's
 * ring when the two are not synchronised: "larger than encoding buffer, by a
 * minimum of maxBlockSize".  That is why a message larger than `mtu` is refused
 * by fk_lz4s_write() even though the ring could hold it.
 *
 * mtu must be in 17..FK_LZ4S_MAX_MTU (ipfixprobe: "should be at least" the
 * 16-byte IPFIX header, i.e. > 16), and the announced bufferSize must not exceed
 * FK_LZ4S_MAX_BUFFER.  Returns the writer (free with fk_lz4s_writer_free), or
 * NULL with the reason in *e (bad arguments, out of memory).  The first block
 * written after creation carries the start header.
 */
fk_lz4s_writer_t *fk_lz4s_writer_new(uint32_t mtu, uint32_t buffer_size, fk_err_t *e);

/* Free a writer and its buffers; NULL is a no-op. */
void fk_lz4s_writer_free(fk_lz4s_writer_t *w);

/*
 * Compress one IPFIX message (1..mtu bytes) as one block, against the earlier
 * blocks of this stream, and append it to `out`: the 8-byte start header first
 * if this is the first block since creation or fk_lz4s_reset(), then the 4-byte
 * block header and the raw LZ4 block.  `msg` is copied into the writer's ring
 * and not referenced afterwards.
 *
 * Returns 0, or -1 with *e set and `out` unchanged: empty or oversized message,
 * out of memory, or an LZ4 failure.  After an LZ4 failure the compression state
 * is unusable, so the writer refuses further blocks until fk_lz4s_reset() (the
 * caller was going to reconnect anyway: the stream is broken).
 */
int fk_lz4s_write(fk_lz4s_writer_t *w, const uint8_t *msg, size_t len, fk_lz4s_out_t *out,
                  fk_err_t *e);

/*
 * Start a new stream, for a new TCP connection: the next block gets a start
 * header again, is compressed without any history (LZ4_resetStream_fast) and
 * goes to ring offset 0, as ipfixprobe's compress() does after a reset [P5c].
 * Clears a previous LZ4 failure.  Bytes already in an output buffer are the
 * caller's business (they belong to the old connection).
 */
void fk_lz4s_reset(fk_lz4s_writer_t *w);

/* The bufferSize the start header announces (ring + compressed buffer size). */
uint32_t fk_lz4s_writer_buffer_size(const fk_lz4s_writer_t *w);

/* The uncompressed ring size, max(buffer_size, 3 * mtu). */
uint32_t fk_lz4s_writer_ring_size(const fk_lz4s_writer_t *w);

/* ---- reader (flowcollector's TCP input) ---------------------------------- */

typedef struct fk_lz4s_reader_st fk_lz4s_reader_t;

/*
 * Reader flags.
 *
 * By default the reader does what ipfixcol2 does [C2L]: it reads the start
 * header once per connection, so a second "LZ4c" header in mid-stream (which
 * ipfixprobe emits after a buffer realloc, facts "Open questions" 5) is taken
 * for a block header (uncompressed 0x4C5A, compressed 0x3463) and fails to
 * decode; the error message then names the likely cause.
 *
 * FK_LZ4S_ACCEPT_RESTART: instead treat a block header equal to the magic as a
 * new start header (new bufferSize, empty history).  The price: a genuine
 * block of 19546 bytes compressed to exactly 13411 bytes is misread.
 */
#define FK_LZ4S_ACCEPT_RESTART 0x1u

/* Counters since the last reset; one reader belongs to one connection. */
typedef struct fk_lz4s_stats_st {
    uint64_t bytes_in;  /* stream bytes consumed (headers and blocks) */
    uint64_t blocks;    /* blocks decoded */
    uint64_t bytes_out; /* decompressed bytes returned */
    uint64_t restarts;  /* start headers accepted after the first (FK_LZ4S_ACCEPT_RESTART) */
} fk_lz4s_stats_t;

/*
 * Create a reader with `flags` (0 or FK_LZ4S_ACCEPT_RESTART).  Memory is fixed
 * at about 260 KiB whatever the stream announces (see lz4s.c for why the
 * announced ring is validated but not allocated).  Returns the reader (free with
 * fk_lz4s_reader_free), or NULL with *e set (unknown flag, out of memory).
 */
fk_lz4s_reader_t *fk_lz4s_reader_new(uint32_t flags, fk_err_t *e);

/* Free a reader; NULL is a no-op. */
void fk_lz4s_reader_free(fk_lz4s_reader_t *r);

/*
 * Hand the reader the next chunk of the TCP byte stream; chunks may split
 * headers and blocks anywhere.  The reader borrows data[0..len): it must stay
 * valid and unchanged until fk_lz4s_next() returns 0 or -1.  Only the tail of a
 * chunk that ends inside a header or block is copied (at most one block,
 * 65535 bytes), so memory never grows with the chunk size.
 *
 * Returns 0, or -1 if the previous chunk is not consumed yet (a caller bug: keep
 * calling fk_lz4s_next() until it returns 0) -- nothing is taken then.
 */
int fk_lz4s_feed(fk_lz4s_reader_t *r, const uint8_t *data, size_t len);

/*
 * Decode the next IPFIX message from the fed bytes.
 *
 * Returns 1 with *msg and *len set to one whole decompressed message (one block);
 * the bytes belong to the reader and stay valid until the next fk_lz4s_next(),
 * fk_lz4s_reader_reset() or fk_lz4s_reader_free().  Returns 0 when the fed
 * bytes are used up (feed more).  Returns -1 with *e set when the stream is
 * invalid: bad magic, bufferSize 0 or above FK_LZ4S_MAX_BUFFER, a zero size, a
 * compressed size above LZ4_COMPRESSBOUND(uncompressed), an uncompressed size
 * above the announced bufferSize, corrupt LZ4 data, or a decoded length other
 * than the announced one (messages name the block number and stream offset,
 * e.g. "block 12 (stream offset 5012): announced 1400 bytes, LZ4 produced
 * 1399").  After -1 the reader keeps returning -1 with the same message until
 * fk_lz4s_reader_reset(): nothing after a bad block can be trusted.  e may be
 * NULL.
 */
int fk_lz4s_next(fk_lz4s_reader_t *r, const uint8_t **msg, size_t *len, fk_err_t *e);

/*
 * The peer closed the connection: 0 if the stream ended between blocks (or
 * before any byte), -1 with *e set if it was truncated inside the start header,
 * a block header or a block body (ipfixcol2: "Incomplete compressed message
 * received").  Truncation is reported here and only here; fk_lz4s_next() just
 * returns 0 for it.  Also -1 (with the stored message) if the reader failed.
 * Call after fk_lz4s_next() has returned 0.
 */
int fk_lz4s_eof(const fk_lz4s_reader_t *r, fk_err_t *e);

/* Forget everything (new connection): expect a start header, clear the error,
 * the pending bytes, any unconsumed chunk and the counters.  Keeps the flags. */
void fk_lz4s_reader_reset(fk_lz4s_reader_t *r);

/* Bytes copied from fed chunks and waiting for the rest of their header or
 * block; never more than 65535. */
size_t fk_lz4s_reader_pending(const fk_lz4s_reader_t *r);

/* bufferSize from the start header, or 0 before it has been read. */
uint32_t fk_lz4s_reader_buffer_size(const fk_lz4s_reader_t *r);

/* Counters since creation or the last reset. */
void fk_lz4s_reader_stats(const fk_lz4s_reader_t *r, fk_lz4s_stats_t *st);

/* ---- detection ----------------------------------------------------------- */

typedef enum fk_lz4s_kind {
    FK_LZ4S_KIND_MORE = 0, /* too few bytes to decide; peek again */
    FK_LZ4S_KIND_LZ4,      /* u32 0x4C5A3463: this framing */
    FK_LZ4S_KIND_IPFIX,    /* u16 10: an uncompressed IPFIX message header */
    FK_LZ4S_KIND_TLS,      /* first byte 22: a TLS handshake record */
    FK_LZ4S_KIND_UNKNOWN,  /* none of these */
} fk_lz4s_kind_t;

/*
 * Classify the first bytes of a TCP connection the way ipfixcol2's
 * DecoderFactory does on a 4-byte MSG_PEEK [C2F], in its order: byte 0 == 22
 * is TLS, else u16 == 10 is IPFIX, else u32 == "LZ4c" is LZ4, else unknown.
 * Reads at most 4 bytes of p[0..n); returns FK_LZ4S_KIND_MORE when n is too
 * short for the answer to be final.
 */
fk_lz4s_kind_t fk_lz4s_detect(const uint8_t *p, size_t n);

#endif /* FK_LZ4S_H */
