/*
 * spsc.h - a bounded single-producer single-consumer ring of fixed-size
 * entries, the hand-off between a worker (producer) and the output thread
 * (consumer).  Lock-free: each side owns one index and only reads the other's
 * (C11 acquire/release).  Entries are copied in and out, so the producer can
 * reuse its memory at once.
 */
#ifndef FK_SPSC_H
#define FK_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fk_spsc_st {
    /* The two indices live on their own cache lines: the producer writes
     * `head`, the consumer writes `tail`, and neither should invalidate the
     * other's line on every entry. */
    _Alignas(64) _Atomic uint64_t head; /* next entry the producer writes */
    _Alignas(64) _Atomic uint64_t tail; /* next entry the consumer reads */
    _Alignas(64) size_t cap;            /* entries, a power of two */
    size_t esize;                       /* bytes per entry */
    uint8_t *data;                      /* cap * esize bytes */
    _Atomic int closed;                 /* producer finished: no more entries */
} fk_spsc_t;

/* Allocate a ring of at least `entries` (rounded up to a power of two) entries of
 * `esize` bytes.  Returns NULL on ENOMEM or a zero size. Free with fk_spsc_free(). */
fk_spsc_t *fk_spsc_new(size_t entries, size_t esize);
void fk_spsc_free(fk_spsc_t *r);

/* Producer: a pointer to the next free entry to fill, or NULL when full. */
void *fk_spsc_reserve(fk_spsc_t *r);
/* Producer: publish the entry returned by the last fk_spsc_reserve(). */
void fk_spsc_commit(fk_spsc_t *r);
/* Producer: no more entries will come. */
void fk_spsc_close(fk_spsc_t *r);

/* Consumer: the oldest entry, or NULL when empty.  Valid until fk_spsc_release(). */
void *fk_spsc_peek(fk_spsc_t *r);
/* Consumer: done with the entry returned by fk_spsc_peek(). */
void fk_spsc_release(fk_spsc_t *r);
/* Consumer: true once the producer closed the ring and it is empty. */
bool fk_spsc_drained(fk_spsc_t *r);

#endif /* FK_SPSC_H */
