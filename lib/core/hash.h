/*
 * hash.h - fast non-cryptographic hashing for hash tables.
 *
 * The flow cache hashes a 40-byte key per packet, so this must be a handful of
 * multiplies, not a byte loop.  The mixer is the 64-bit finaliser of
 * MurmurHash3 (public domain) applied to 8-byte words; it is not meant to
 * resist deliberate collisions (the cache bounds each row, so a collision
 * attack costs evictions, never unbounded work).
 */
#ifndef FK_HASH_H
#define FK_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t fk_mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* Hash `len` bytes (any alignment) with `seed`. */
static inline uint64_t fk_hash64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = (const uint8_t *)data;
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ fk_mix64(w)) * 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = (h ^ fk_mix64(w)) * 0x9e3779b97f4a7c15ULL;
    }
    return fk_mix64(h);
}

#endif /* FK_HASH_H */
