/*
 * buf.h - an append-only text buffer for the CSV, JSON and text writers.
 *
 * Writers format straight into the buffer (no printf on the hot path) and the
 * buffer goes to its FILE in large blocks.  With no FILE the buffer grows, which
 * is what unit tests and in-memory formatting use.
 */
#ifndef FK_BUF_H
#define FK_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fk_buf_st {
    char *data; /* heap block of `cap` bytes; data[0..len) is pending output */
    size_t len;
    size_t cap;
    FILE *f;    /* destination; NULL = grow in memory instead of flushing */
    int error;  /* first errno seen while writing, 0 if none */
} fk_buf_t;

/* Allocate `cap` bytes (at least 4 KiB) for output to `f` (may be NULL). 0 or -1. */
int fk_buf_init(fk_buf_t *b, FILE *f, size_t cap);

/* Write pending bytes to the FILE (no-op in memory mode); 0 or -1 (b->error set). */
int fk_buf_flush(fk_buf_t *b);

/* Free the block (does not flush or close the FILE). */
void fk_buf_free(fk_buf_t *b);

/* Make room for `n` more bytes; returns a pointer to write them, or NULL. */
char *fk_buf_reserve(fk_buf_t *b, size_t n);

void fk_buf_put(fk_buf_t *b, const void *s, size_t n);
void fk_buf_puts(fk_buf_t *b, const char *s);
void fk_buf_putc(fk_buf_t *b, char c);
void fk_buf_printf(fk_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal integers. */
void fk_buf_u64(fk_buf_t *b, uint64_t v);
void fk_buf_i64(fk_buf_t *b, int64_t v);

/* Lower-case hex of `n` bytes, no separators. */
void fk_buf_hex(fk_buf_t *b, const uint8_t *p, size_t n);

/* "aa:bb:cc:dd:ee:ff" */
void fk_buf_mac(fk_buf_t *b, const uint8_t mac[6]);

/*
 * An address stored as 16 bytes: IPv4 in IPv4-mapped form (::ffff:a.b.c.d,
 * RFC 4291 2.5.5.2) prints dotted, anything else as compressed IPv6 (RFC 5952).
 */
void fk_buf_ip(fk_buf_t *b, const uint8_t addr[16]);

/* Nanoseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuu" (UTC, microseconds). */
void fk_buf_time_us(fk_buf_t *b, uint64_t ns);

/* A JSON string literal with quotes; control and non-ASCII bytes are \u-escaped. */
void fk_buf_json_str(fk_buf_t *b, const char *s, size_t n);

#endif /* FK_BUF_H */
