/*
 * frag.c - the fragmentation cache.
 *
 * A direct-mapped table: a new first fragment overwrites whatever shared its
 * slot.  That bounds memory and work per packet; a collision only costs the
 * ports of a few fragments, which then count as misses.
 */
#include "frag.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/core/hash.h"

typedef struct frag_entry_st {
    uint8_t src[16];
    uint8_t dst[16];
    uint64_t ts_ns; /* capture time of the first fragment; 0 = empty */
    uint32_t id;
    uint16_t sport;
    uint16_t dport;
    uint8_t proto;
} frag_entry_t;

struct fp_frag_st {
    frag_entry_t *tab;
    uint32_t size;
    uint64_t timeout_ns;
    uint64_t hits;
    uint64_t misses;
};

fp_frag_t *fp_frag_new(uint32_t size, uint32_t timeout_s)
{
    fp_frag_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->size = size ? size : 1;
    f->tab = calloc(f->size, sizeof(*f->tab));
    if (!f->tab) {
        free(f);
        return NULL;
    }
    f->timeout_ns = (uint64_t)timeout_s * 1000000000ULL;
    return f;
}

void fp_frag_free(fp_frag_t *f)
{
    if (!f)
        return;
    free(f->tab);
    free(f);
}

static uint32_t slot_of(const fp_frag_t *f, const fk_packet_t *pkt)
{
    uint64_t h = fk_hash64(pkt->src_ip, 16, pkt->ip_id);
    h = fk_hash64(pkt->dst_ip, 16, h ^ pkt->ip_proto);
    return (uint32_t)(h % f->size);
}

int fp_frag_process(fp_frag_t *f, fk_packet_t *pkt)
{
    frag_entry_t *e;

    if (!pkt->is_fragment)
        return 0;
    e = &f->tab[slot_of(f, pkt)];
    if (pkt->frag_off == 0) {
        memcpy(e->src, pkt->src_ip, 16);
        memcpy(e->dst, pkt->dst_ip, 16);
        e->id = pkt->ip_id;
        e->proto = pkt->ip_proto;
        e->sport = pkt->src_port;
        e->dport = pkt->dst_port;
        e->ts_ns = pkt->ts_ns ? pkt->ts_ns : 1;
        return 0;
    }
    if (e->ts_ns && e->id == pkt->ip_id && e->proto == pkt->ip_proto &&
        memcmp(e->src, pkt->src_ip, 16) == 0 && memcmp(e->dst, pkt->dst_ip, 16) == 0 &&
        pkt->ts_ns >= e->ts_ns && pkt->ts_ns - e->ts_ns <= f->timeout_ns) {
        pkt->src_port = e->sport;
        pkt->dst_port = e->dport;
        f->hits++;
        return 1;
    }
    f->misses++;
    return 0;
}

void fp_frag_stats(const fp_frag_t *f, uint64_t *hits, uint64_t *misses)
{
    *hits = f ? f->hits : 0;
    *misses = f ? f->misses : 0;
}
