/*
 * spsc.c - bounded single-producer single-consumer queue of travelling buffers (spsc.h).
 */
#include "spsc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Rings of whole flow records with plugin state are tens of megabytes: such
 * a ring gets transparent huge pages where the kernel offers them (madvise
 * mode), so filling it the first time costs a few dozen page faults instead
 * of tens of thousands, and its entries fewer TLB misses.  Buffers start
 * zeroed (spsc.h); a large ring is mapped, so its zero pages cost nothing
 * until a buffer is first used.
 */
#define SPSC_HUGE ((size_t)2 << 20)

static void *ring_alloc(fk_spsc_t *r, size_t bytes)
{
    if (bytes < SPSC_HUGE)
        return calloc(1, bytes);
    size_t len = bytes + SPSC_HUGE;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    r->map = m;
    r->map_len = len;
    uint8_t *p = (uint8_t *)(((uintptr_t)m + SPSC_HUGE - 1) & ~(uintptr_t)(SPSC_HUGE - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice: fine if refused */
#endif
    return p;
}

size_t fk_spsc_entries(size_t entries)
{
    size_t cap = 1;

    while (cap < entries && cap < ((size_t)1 << 31))
        cap <<= 1;
    return cap;
}

fk_spsc_t *fk_spsc_new(size_t entries, size_t esize)
{
    fk_spsc_t *r;
    size_t cap = fk_spsc_entries(entries);

    if (entries == 0 || esize == 0 || entries > ((size_t)1 << 31))
        return NULL;
    if (cap > SIZE_MAX / esize)
        return NULL;
    r = aligned_alloc(64, (sizeof(*r) + 63) & ~(size_t)63);
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->fhead, 0);
    atomic_init(&r->closed, 0);
    r->cap = cap;
    r->esize = esize;
    r->data = ring_alloc(r, cap * esize);
    r->full = malloc(cap * sizeof(*r->full));
    r->freeq = malloc(cap * sizeof(*r->freeq));
    r->stack = malloc(cap * sizeof(*r->stack));
    if (!r->data || !r->full || !r->freeq || !r->stack) {
        fk_spsc_free(r);
        return NULL;
    }
    return r;
}

void fk_spsc_free(fk_spsc_t *r)
{
    if (!r)
        return;
    if (r->map)
        munmap(r->map, r->map_len);
    else
        free(r->data);
    free(r->full);
    free(r->freeq);
    free(r->stack);
    free(r);
}

void *fk_spsc_reserve(fk_spsc_t *r)
{
    if (!r->reserved) {
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

        if (head - tail >= r->cap)
            return NULL;
        if (r->nstack == 0) {
            /* Take back what the consumer released, oldest first, so the
             * one released last ends on top.  Its release of `tail` came
             * after its store of `fhead`, and we read `tail` with acquire:
             * every buffer counted free by head - tail is in sight. */
            uint64_t fhead = atomic_load_explicit(&r->fhead, memory_order_acquire);
            for (; r->ftail != fhead; r->ftail++)
                r->stack[r->nstack++] = r->freeq[r->ftail & (r->cap - 1)];
        }
        if (r->nstack)
            r->cur = r->stack[--r->nstack];
        else if (r->fresh < r->cap)
            r->cur = r->fresh++;
        else
            return NULL; /* cannot happen: cap buffers, fewer than cap in use */
        r->reserved = true;
    }
    return r->data + (size_t)r->cur * r->esize;
}

const void *fk_spsc_next(const fk_spsc_t *r)
{
    if (r->reserved)
        return r->data + (size_t)r->cur * r->esize;
    if (r->nstack)
        return r->data + (size_t)r->stack[r->nstack - 1] * r->esize;
    return NULL; /* a refill from the consumer's releases, or a fresh buffer */
}

void fk_spsc_commit(fk_spsc_t *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

    r->full[head & (r->cap - 1)] = r->cur;
    r->reserved = false;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

void fk_spsc_close(fk_spsc_t *r)
{
    atomic_store_explicit(&r->closed, 1, memory_order_release);
}

void *fk_spsc_peek(fk_spsc_t *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

    if (tail == head)
        return NULL;
    r->ccur = r->full[tail & (r->cap - 1)];
    return r->data + (size_t)r->ccur * r->esize;
}

const void *fk_spsc_peek_ahead(const fk_spsc_t *r, size_t ahead)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

    if (head - tail <= ahead)
        return NULL;
    return r->data + (size_t)r->full[(tail + ahead) & (r->cap - 1)] * r->esize;
}

void fk_spsc_release(fk_spsc_t *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t fhead = atomic_load_explicit(&r->fhead, memory_order_relaxed);

    /* The buffer first, then the entry count that lets the producer count on it. */
    r->freeq[fhead & (r->cap - 1)] = r->ccur;
    atomic_store_explicit(&r->fhead, fhead + 1, memory_order_release);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

bool fk_spsc_drained(fk_spsc_t *r)
{
    /* Read `closed` first: if it is set, every entry was committed before it. */
    int closed = atomic_load_explicit(&r->closed, memory_order_acquire);
    return closed && fk_spsc_peek(r) == NULL;
}

size_t fk_spsc_capacity(const fk_spsc_t *r)
{
    return r->cap;
}
