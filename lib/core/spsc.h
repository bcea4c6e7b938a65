/*
 * spsc.h - a bounded single-producer single-consumer queue of fixed-size
 * entries, the hand-off between a worker (producer) and the output thread
 * (consumer).  Lock-free: each side owns its indices and only reads the
 * other's (C11 acquire/release).  The producer fills an entry in place and
 * publishes it; the consumer reads it in place and releases it.
 *
 * Entries are buffers that travel, not ring positions: a released buffer
 * goes back to the producer, which reuses the one released last first.  A
 * plain ring writes its positions in turn, so with flow records of a few
 * kilobytes (plugin state) and ipfixprobe's 16536 entries every write lands
 * on memory untouched for 16536 records -- tens of megabytes, never in
 * cache.  Reusing buffers last-in first-out keeps the memory in use as
 * small as the queue's actual depth, however large its capacity.
 */
#ifndef FK_SPSC_H
#define FK_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fk_spsc_st {
    /* Each index lives on its own cache line: the side that writes it
     * should not invalidate the other side's line on every entry. */
    _Alignas(64) _Atomic uint64_t head;  /* entries published (producer) */
    _Alignas(64) _Atomic uint64_t tail;  /* entries released (consumer) */
    _Alignas(64) _Atomic uint64_t fhead; /* buffers given back (consumer) */
    _Alignas(64) uint64_t ftail;         /* buffers taken back (producer's own) */
    uint32_t *stack;                     /* producer's free buffers, last released on top */
    size_t nstack;
    uint32_t fresh;             /* buffers [fresh, cap) never used yet (taken in order) */
    uint32_t cur;               /* the buffer the last fk_spsc_reserve() handed out */
    bool reserved;              /* ... and not committed yet */
    _Alignas(64) uint32_t ccur; /* the buffer the last fk_spsc_peek() handed out */
    _Alignas(64) size_t cap;    /* entries, a power of two */
    size_t esize;               /* bytes per entry */
    uint8_t *data;              /* cap * esize bytes of buffers */
    void *map;                  /* the mapping that holds data, if mapped */
    size_t map_len;
    uint32_t *full;     /* published buffers, in order (head/tail) */
    uint32_t *freeq;    /* released buffers, in order (fhead/ftail) */
    _Atomic int closed; /* producer finished: no more entries */
} fk_spsc_t;

/* Allocate a queue of at least `entries` (rounded up to a power of two, at
 * most 2^31) entries of `esize` bytes.  Every buffer reads as zeros until it
 * is first written; a buffer handed out again holds what was last written
 * to it.  Returns NULL on ENOMEM or a zero size.  Free with fk_spsc_free(). */
fk_spsc_t *fk_spsc_new(size_t entries, size_t esize);
/* The entries fk_spsc_new(entries, ...) makes room for. */
size_t fk_spsc_entries(size_t entries);
void fk_spsc_free(fk_spsc_t *r);

/* Producer: an entry to fill, or NULL when full.  Until fk_spsc_commit(),
 * another call returns the same entry. */
void *fk_spsc_reserve(fk_spsc_t *r);
/* Producer: publish the entry returned by the last fk_spsc_reserve(). */
void fk_spsc_commit(fk_spsc_t *r);
/* Producer: the entry the next fk_spsc_reserve() hands out, when that is
 * known without a look at the consumer's side (NULL otherwise) -- to look at
 * only (e.g. what the producer last wrote there). */
const void *fk_spsc_next(const fk_spsc_t *r);
/* Producer: no more entries will come. */
void fk_spsc_close(fk_spsc_t *r);

/* Consumer: the oldest entry, or NULL when empty.  Valid until fk_spsc_release(). */
void *fk_spsc_peek(fk_spsc_t *r);
/* Consumer: the entry `ahead` places after the oldest (0: the oldest), or
 * NULL when fewer are published -- to look at only (e.g. to prefetch what
 * it points to): it is handed out by fk_spsc_peek() in its turn. */
const void *fk_spsc_peek_ahead(const fk_spsc_t *r, size_t ahead);
/* Consumer: done with the entry returned by fk_spsc_peek(). */
void fk_spsc_release(fk_spsc_t *r);
/* Either side: how many entries the queue holds at most. */
size_t fk_spsc_capacity(const fk_spsc_t *r);

/* Consumer: true once the producer closed the queue and it is empty. */
bool fk_spsc_drained(fk_spsc_t *r);

#endif /* FK_SPSC_H */
