/*
 * cache.c - the biflow cache.
 *
 * Layout: two parallel slot arrays (tag + last-seen second, record index)
 * scanned per row, and a pool of flow records (flow + plugin slabs).  Slots
 * move within their row on a hit; records never move: each busy slot
 * carries the index of its record.  A new flow takes the record freed last
 * (a stack of free records), so the records in use stay few and warm in the
 * CPU caches -- a few tens of thousands of kilobyte-sized records instead of
 * the whole pool spread over every row -- and the pool pages that are never
 * needed are never touched.  A lookup touches one 64-byte line of tags for
 * the default 16-slot row and one record per candidate.
 */
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../lib/core/copy.h"
#include "../../lib/core/hash.h"
#include "frag.h"

#define NS 1000000000ULL

/*
 * Unoptimised and sanitizer builds (the Debug/ASan build, the fuzzers) fill
 * new caches with garbage: see fp_cache_poison.
 */
#if !defined(__OPTIMIZE__) || defined(__SANITIZE_ADDRESS__)
#define FP_CACHE_POISON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FP_CACHE_POISON 1
#endif
#endif

const fk_optspec_t fp_cache_options[] = {
    {"s", "size", "EXPONENT", "Cache size exponent to the power of two (default 17)"},
    {"l", "line", "EXPONENT", "Cache line size exponent to the power of two (default 4)"},
    {"a", "active", "TIME", "Active timeout in seconds (default 300)"},
    {"i", "inactive", "TIME", "Inactive timeout in seconds (default 30)"},
    {"S", "split", NULL, "Split biflows into uniflows"},
    {"fe", "frag-enable", "true|false", "Enable/disable the fragmentation cache (default true)"},
    {"fs", "frag-size", "SIZE", "Size of the fragmentation cache, at least 1 (default 10007)"},
    {"ft", "frag-timeout", "TIME", "Timeout of fragments in seconds (default 3)"},
    {NULL, NULL, NULL, NULL},
};

void fp_cache_cfg_default(fp_cache_cfg_t *cfg)
{
    cfg->size_exp = 17;
    cfg->line_exp = 4;
    cfg->active_s = 300;
    cfg->inactive_s = 30;
    cfg->split = false;
    cfg->frag_enable = true;
    cfg->frag_size = 10007;
    cfg->frag_timeout_s = 3;
    cfg->lend = 0;
}

int fp_cache_cfg_apply(fp_cache_cfg_t *cfg, const fk_opts_t *o, fk_err_t *e)
{
    for (size_t i = 0; i < o->n; i++) {
        int k = fk_opts_lookup(o, i, fp_cache_options, "cache", e);
        const char *key = o->kv[i].key, *v = o->kv[i].value;
        uint64_t n;
        bool b;

        if (k < 0)
            return -1;
        switch (k) {
        case 0:
            if (fk_opts_uint(key, v, 4, 30, &n, e) < 0)
                return -1;
            cfg->size_exp = (unsigned)n;
            break;
        case 1:
            if (fk_opts_uint(key, v, 0, 10, &n, e) < 0)
                return -1;
            cfg->line_exp = (unsigned)n;
            break;
        case 2:
            if (fk_opts_uint(key, v, 1, 86400 * 365, &n, e) < 0)
                return -1;
            cfg->active_s = (uint32_t)n;
            break;
        case 3:
            if (fk_opts_uint(key, v, 1, 86400 * 365, &n, e) < 0)
                return -1;
            cfg->inactive_s = (uint32_t)n;
            break;
        case 4:
            cfg->split = true;
            break;
        case 5:
            if (fk_opts_bool(key, v, &b, e) < 0)
                return -1;
            cfg->frag_enable = b;
            break;
        case 6:
            if (fk_opts_uint(key, v, 1, 1u << 26, &n, e) < 0)
                return -1;
            cfg->frag_size = (uint32_t)n;
            break;
        case 7:
            if (fk_opts_uint(key, v, 0, 3600, &n, e) < 0)
                return -1;
            cfg->frag_timeout_s = (uint32_t)n;
            break;
        }
    }
    if (cfg->line_exp > cfg->size_exp)
        return fk_errf(e,
                       "cache: line size 2^%u is larger than the cache 2^%u; lower l= or raise s=",
                       cfg->line_exp, cfg->size_exp);
    return 0;
}

/* One plugin hook to call, resolved once: only plugins that have the hook. */
typedef struct fp_hook_st {
    int (*fn)(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp);
    void *ctx;
    size_t off;             /* the plugin's slab offset in a flow slot */
    uint64_t bit;           /* the plugin's bit in fp_flow_t.hooks_done (0 past 64 plugins) */
    fp_body_pool_t *bodies; /* the plugin's body pool (body_size), else NULL */
} fp_hook_t;

enum { HOOK_POST_CREATE, HOOK_PRE_UPDATE, HOOK_POST_UPDATE, HOOK_COUNT };

/* A byte range of a flow slot zeroed when a flow is created. */
typedef struct fp_zero_st {
    size_t off, len;
} fp_zero_t;

/*
 * A plugin's bodies (fp_plugin_t.body_size): one for each record at most, so
 * the pool holds nrec and taking one through the cache never fails.  The
 * memory is reserved, not touched: bodies are handed out from its start
 * (the pages a run touches are those of the most bodies it held at once),
 * and a freed body is reused first.  Freed bodies are kept on a stack of
 * their own, not linked through the bodies: giving one back touches no
 * line of it.  The stack holds pointers: no index to divide out per body.
 */
struct fp_body_pool_st {
    uint8_t *mem; /* cap bodies of size bytes */
    void *map;    /* the mapping that holds them (map_alloc) */
    size_t map_len;
    size_t size; /* body_size in whole cache lines: a lent body shares none with a live one */
    uint32_t cap, used; /* bodies [used, cap) were never handed out */
    uint8_t **free;     /* bodies given back, the last on top */
    uint32_t nfree;
    uint64_t misses; /* takes that found none left (fp_cache_stats_t.body_misses) */
    int poison;      /* < 0: off; else the byte a body holds at its first use */
};

/* A body slab of a flow slot: where its pointer is, and the pool it is from. */
typedef struct fp_body_slab_st {
    size_t off; /* the plugin's slab offset: its first word is the body's pointer */
    fp_body_pool_t *pool;
} fp_body_slab_t;

/* What a row scan reads: 8 bytes per slot, so 8 slots share a cache line. */
typedef struct fp_slot_st {
    uint32_t tag;    /* upper hash bits | 1; 0 = empty */
    uint32_t last_s; /* whole second (epoch) of the flow's last packet */
} fp_slot_t;

struct fp_cache_st {
    fp_cache_cfg_t cfg;
    uint32_t nslots;
    uint32_t line;      /* slots per row */
    uint32_t row_mask;  /* rows - 1 */
    uint32_t new_idx;   /* where a new flow goes in a full row */
    fp_slot_t *slot;    /* per slot: tag and last-seen second, scanned together */
    uint32_t *idx;      /* per busy slot: index of the record it owns */
    uint32_t *free_rec; /* records no slot owns and none lent; the last freed on top */
    uint32_t nfree;
    uint32_t nrec;  /* records in the pool: nslots + cfg.lend */
    uint32_t fresh; /* records [fresh, nrec) were never used (taken in order) */
    int poison;     /* < 0: off; else the byte a record holds at its first use */
    uint8_t *pool;  /* nrec records of slot_size bytes */
    void *pool_map; /* the mapping that holds the pool (pool_alloc) */
    size_t pool_map_len;
    size_t slot_size;
    fp_plugin_inst_t *plugins;
    size_t nplugins;
    /* Per hook, the plugins that have it, in plugin order: the packet path
     * makes no call (and no test) for a plugin without the hook. */
    fp_hook_t *hooks[HOOK_COUNT];
    size_t nhooks[HOOK_COUNT];
    size_t *pre_create; /* indices of plugins with pre_create */
    size_t npre_create;
    size_t *pre_export; /* ... with pre_export */
    size_t npre_export;
    fp_zero_t *zero; /* what create zeroes: the flow and each slab's
                        state_zero bytes, adjacent ranges merged */
    size_t nzero;
    size_t *hot; /* slab offsets an updated flow reads: prefetched; those of
                    FP_PLUGIN_PAYLOAD_HOOKS plugins last */
    size_t nhot;
    size_t nhot_bare;               /* hot[0, nhot_bare): what a packet without payload reads */
    uint64_t bare_skip;             /* hooks_done bits of FP_PLUGIN_PAYLOAD_HOOKS plugins */
    uint64_t hook_bits[HOOK_COUNT]; /* every bit on that hook's list; ~0 when a
                                       plugin past the 64th has it (never all done) */
    fp_body_pool_t *pools;          /* per plugin; .size 0 for those without bodies */
    fp_body_slab_t *bodies;         /* the plugins with bodies: what freeing a record gives back */
    size_t nbodies;
    bool key_vlan;
    fp_export_fn export_fn;
    fp_export_peek_fn peek_fn;
    void *export_arg;
    uint32_t sweep_idx; /* next slot the incremental expiry scan looks at */
    fp_frag_t *frag;
    fp_cache_stats_t st;
};

#define POOL_ALIGN ((size_t)2 << 20) /* a transparent huge page on x86-64 and arm64 */

/*
 * The record pool: zeroed anonymous memory, 2 MiB aligned and marked for
 * transparent huge pages where the kernel offers them (madvise mode).  With
 * plugins a record is kilobytes (300 MB for the default 2^17 slots), so
 * with 4 kB pages nearly every packet's lookup costs a TLB miss and every
 * first touch a page fault; huge pages make both rare.
 */
static uint8_t *map_alloc(size_t bytes, void **map, size_t *map_len)
{
    size_t len = bytes + POOL_ALIGN;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *a;

    if (m == MAP_FAILED)
        return NULL;
    *map = m;
    *map_len = len;
    a = (uint8_t *)(((uintptr_t)m + POOL_ALIGN - 1) & ~(uintptr_t)(POOL_ALIGN - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(a, bytes, MADV_HUGEPAGE); /* advice: fine if refused */
#endif
    return a;
}

static int pool_alloc(fp_cache_t *c, size_t bytes)
{
    c->pool = map_alloc(bytes, &c->pool_map, &c->pool_map_len);
    return c->pool ? 0 : -1;
}

/* An empty pool for bodies of body_size bytes (no memory yet). */
static void body_pool_init(fp_body_pool_t *bp, size_t body_size)
{
    bp->size = (body_size + 63) & ~(size_t)63;
    bp->poison = -1;
}

/* Room for cap bodies of bp->size bytes (body_pool_init). */
static int body_pool_alloc(fp_body_pool_t *bp, uint32_t cap)
{
    if (!cap || bp->size > SIZE_MAX / cap - POOL_ALIGN ||
        !(bp->mem = map_alloc(bp->size * cap, &bp->map, &bp->map_len)) ||
        !(bp->free = malloc((size_t)cap * sizeof(*bp->free))))
        return -1;
    bp->cap = cap;
    return 0;
}

static void body_pool_release(fp_body_pool_t *bp)
{
    if (bp->map)
        munmap(bp->map, bp->map_len);
    free(bp->free);
}

/* Every body pool: cap bodies each (the records), sizes from plan_hooks. */
static int bodies_alloc(fp_cache_t *c, uint32_t cap)
{
    for (size_t i = 0; i < c->nplugins; i++)
        if (c->pools[i].size && body_pool_alloc(&c->pools[i], cap) < 0)
            return -1;
    return 0;
}

fp_body_pool_t *fp_body_pool_new(size_t body_size, uint32_t cap)
{
    fp_body_pool_t *bp = calloc(1, sizeof(*bp));

    if (!bp)
        return NULL;
    body_pool_init(bp, body_size);
    if (!body_size || body_pool_alloc(bp, cap) < 0) {
        fp_body_pool_free(bp);
        return NULL;
    }
    return bp;
}

void fp_body_pool_free(fp_body_pool_t *bp)
{
    if (!bp)
        return;
    body_pool_release(bp);
    free(bp);
}

void *fp_body_take(fp_body_pool_t *bp)
{
    void *b;

    if (!bp)
        return NULL;
    if (bp->nfree)
        return bp->free[--bp->nfree];
    if (bp->used == bp->cap) {
        bp->misses++;
        return NULL;
    }
    b = bp->mem + (size_t)bp->used++ * bp->size;
    if (bp->poison >= 0)
        memset(b, bp->poison, bp->size);
    return b;
}

/* Give back a body this pool handed out (the cache's own: not checked). */
static inline void body_push(fp_body_pool_t *bp, void *body)
{
    bp->free[bp->nfree++] = body;
}

void fp_body_give(fp_body_pool_t *bp, void *body)
{
    size_t at = (size_t)((uint8_t *)body - bp->mem);

    /* Only a body of this pool, handed out and not given back (the stack
     * has room for every body): anything else is a caller's bug, ignored. */
    if ((uint8_t *)body >= bp->mem && at % bp->size == 0 && at / bp->size < bp->used &&
        bp->nfree < bp->used)
        body_push(bp, body);
}

/*
 * A free record is taken again: the bodies its last flow took go back to
 * their pools.  Done here rather than when the record comes back from the
 * output thread, because the new flow's zeroing writes the same line next:
 * one miss for both, where freeing at return costs a miss of its own.
 */
static inline void give_bodies(const fp_cache_t *c, const fp_flow_t *f)
{
    for (size_t k = 0; k < c->nbodies; k++) {
        void *b;
        memcpy(&b, (const uint8_t *)f + c->bodies[k].off, sizeof(b));
        fp_body_pool_t *bp = c->bodies[k].pool;
        /* a pointer into the bodies handed out (a range check, no division:
         * the slab is the plugin's, but the pointer only the cache writes) */
        if (b && (uint8_t *)b >= bp->mem && (uint8_t *)b < bp->mem + (size_t)bp->used * bp->size)
            body_push(bp, b);
    }
}

static inline fp_flow_t *rec(const fp_cache_t *c, uint32_t slot)
{
    return (fp_flow_t *)(c->pool + (size_t)c->idx[slot] * c->slot_size);
}

static inline int64_t secs(uint64_t ns)
{
    return (int64_t)(ns / NS);
}

/* Add [off, off + len) to the zeroing plan, merged with the previous range when they touch. */
static void plan_zero(fp_cache_t *c, size_t off, size_t len)
{
    if (len == 0)
        return;
    if (c->nzero && c->zero[c->nzero - 1].off + c->zero[c->nzero - 1].len == off) {
        c->zero[c->nzero - 1].len += len;
        return;
    }
    c->zero[c->nzero].off = off;
    c->zero[c->nzero].len = len;
    c->nzero++;
}

/* Resolve, once, which plugin has which hook and what a new flow zeroes.
 * 0; -1 out of memory; -2 a plugin's body pointer would not be zeroed. */
static int plan_hooks(fp_cache_t *c)
{
    size_t n = c->nplugins, m = n ? n : 1;

    for (int h = 0; h < HOOK_COUNT; h++)
        if (!(c->hooks[h] = calloc(m, sizeof(*c->hooks[h]))))
            return -1;
    c->pre_create = calloc(m, sizeof(*c->pre_create));
    c->pre_export = calloc(m, sizeof(*c->pre_export));
    c->zero = calloc(n + 1, sizeof(*c->zero));
    c->hot = calloc(m, sizeof(*c->hot));
    c->pools = calloc(m, sizeof(*c->pools));
    c->bodies = calloc(m, sizeof(*c->bodies));
    if (!c->pre_create || !c->pre_export || !c->zero || !c->hot || !c->pools || !c->bodies)
        return -1;

    plan_zero(c, 0, sizeof(fp_flow_t));
    for (size_t i = 0; i < n; i++) {
        const fp_plugin_t *p = c->plugins[i].p;
        size_t off = c->plugins[i].state_off;
        int (*fns[HOOK_COUNT])(void *, fp_flow_t *, void *, const fp_hookpkt_t *) = {
            p->post_create, p->pre_update, p->post_update};

        fp_body_pool_t *bp = NULL;

        body_pool_init(&c->pools[i], p->body_size); /* size 0: no bodies */
        if (p->body_size) {
            /* The pointer must be zeroed with every new flow. */
            if (p->state_size < sizeof(void *) || (p->state_zero && p->state_zero < sizeof(void *)))
                return -2;
            bp = &c->pools[i];
            c->bodies[c->nbodies++] = (fp_body_slab_t){off, bp};
        }
        for (int h = 0; h < HOOK_COUNT; h++)
            if (fns[h])
                c->hooks[h][c->nhooks[h]++] =
                    (fp_hook_t){fns[h], c->plugins[i].ctx, off, i < 64 ? 1ULL << i : 0, bp};
        if (p->pre_create)
            c->pre_create[c->npre_create++] = i;
        if (p->pre_export)
            c->pre_export[c->npre_export++] = i;
        if (p->state_zero)
            plan_zero(c, off, p->state_zero < p->state_size ? p->state_zero : p->state_size);
        else
            plan_zero(c, off, p->state_size);
        for (int h = HOOK_PRE_UPDATE; h < HOOK_COUNT; h++)
            if (fns[h])
                c->hook_bits[h] |= i < 64 ? 1ULL << i : ~0ULL;
        if ((p->flags & FP_PLUGIN_PAYLOAD_HOOKS) && i < 64)
            c->bare_skip |= 1ULL << i;
    }
    /* Hot slabs: those every packet may read first, then the payload-only ones;
     * a line once (small slabs share lines: bodies keep slabs small), and
     * not the record's first two, which the lookup fetches anyway. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const fp_plugin_t *p = c->plugins[i].p;
            size_t off = c->plugins[i].state_off, k;
            bool bare = (p->flags & FP_PLUGIN_PAYLOAD_HOOKS) && i < 64;
            if (!p->state_size || !(p->pre_update || p->post_update) || bare != (pass == 1) ||
                off / 64 < 2)
                continue;
            for (k = 0; k < c->nhot && c->hot[k] / 64 != off / 64; k++)
                ;
            if (k == c->nhot)
                c->hot[c->nhot++] = off & ~(size_t)63;
        }
        if (pass == 0)
            c->nhot_bare = c->nhot;
    }
    return 0;
}

fp_cache_t *fp_cache_new(const fp_cache_cfg_t *cfg, fp_plugin_inst_t *plugins, size_t nplugins,
                         fp_export_fn export_fn, void *export_arg, fk_err_t *e)
{
    fp_cache_t *c;
    size_t off;
    int rc;

    if (cfg->size_exp > 30 || cfg->line_exp > cfg->size_exp) {
        fk_errf(e, "cache: bad geometry s=%u l=%u", cfg->size_exp, cfg->line_exp);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        fk_errf(e, "cache: out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    c->nslots = 1u << cfg->size_exp;
    c->line = 1u << cfg->line_exp;
    c->row_mask = (c->nslots >> cfg->line_exp) - 1;
    c->new_idx = c->line / 2;
    c->plugins = plugins;
    c->nplugins = nplugins;
    c->export_fn = export_fn;
    c->export_arg = export_arg;

    /* Each plugin slab starts 8-byte aligned after the flow record. */
    off = fp_plugins_layout(plugins, nplugins);
    for (size_t i = 0; i < nplugins; i++)
        if (plugins[i].p->flags & FP_PLUGIN_KEY_VLAN)
            c->key_vlan = true;
    /* Whole cache lines per record: a lent record (being read by the output
     * thread) shares no line with a live one (being written here). */
    c->slot_size = (off + 63) & ~(size_t)63;
    c->nrec = c->nslots + cfg->lend;

    if ((rc = plan_hooks(c)) < 0) {
        if (rc == -2)
            fk_errf(e, "cache: a plugin keeps a body but its slab does not start with the "
                       "body's pointer, zeroed (plugin.h, body_size): a bug in the plugin");
        else
            fk_errf(e, "cache: out of memory");
        fp_cache_free(c);
        return NULL;
    }

    c->slot = calloc(c->nslots, sizeof(*c->slot));
    c->idx = calloc(c->nslots, sizeof(*c->idx));
    c->free_rec = c->nrec >= c->nslots ? malloc((size_t)c->nrec * sizeof(*c->free_rec)) : NULL;
    if (c->nrec < c->nslots || c->slot_size > SIZE_MAX / c->nrec - POOL_ALIGN ||
        pool_alloc(c, (size_t)c->nrec * c->slot_size) < 0 || bodies_alloc(c, c->nrec) < 0)
        c->pool = NULL;
    if (cfg->frag_enable)
        c->frag = fp_frag_new(cfg->frag_size, cfg->frag_timeout_s);
    if (!c->slot || !c->idx || !c->free_rec || !c->pool || (cfg->frag_enable && !c->frag)) {
        fk_errf(e,
                "cache: cannot allocate %u slots and %u records of %zu bytes (%u may be "
                "with the output thread); lower s= or -Q",
                c->nslots, c->nrec, c->slot_size, cfg->lend);
        fp_cache_free(c);
        return NULL;
    }
    /* Record 0 on top: the pool is used from its start. */
    for (uint32_t i = 0; i < c->nrec; i++)
        c->free_rec[i] = c->nrec - 1 - i;
    c->nfree = c->nrec;
    c->poison = -1;
#ifdef FP_CACHE_POISON
    /* Slabs start as garbage, so a plugin that reads state it did not
     * initialise shows in the sanitizer build's tests and fuzzers. */
    fp_cache_poison(c, 0xa5);
#endif
    return c;
}

void fp_cache_free(fp_cache_t *c)
{
    if (!c)
        return;
    for (int h = 0; h < HOOK_COUNT; h++)
        free(c->hooks[h]);
    free(c->pre_create);
    free(c->pre_export);
    free(c->zero);
    free(c->hot);
    for (size_t i = 0; c->pools && i < c->nplugins; i++)
        body_pool_release(&c->pools[i]);
    free(c->pools);
    free(c->bodies);
    free(c->slot);
    free(c->idx);
    free(c->free_rec);
    if (c->pool_map)
        munmap(c->pool_map, c->pool_map_len);
    fp_frag_free(c->frag);
    free(c);
}

/* One endpoint's share of the key hash. */
static inline uint64_t ep_hash(const uint8_t ip[16], uint16_t port)
{
    uint64_t a, b;
    memcpy(&a, ip, 8);
    memcpy(&b, ip + 8, 8);
    return fk_mix64(a ^ fk_mix64(b ^ ((uint64_t)port << 1 | 1)));
}

/*
 * The key hash.  Endpoint hashes are added, so A->B and B->A hash alike and
 * meet in one row; in split mode the source is weighted so they do not.
 */
static inline uint64_t key_hash(const fp_cache_t *c, const fk_packet_t *pkt)
{
    uint64_t s = ep_hash(pkt->src_ip, pkt->src_port);
    uint64_t d = ep_hash(pkt->dst_ip, pkt->dst_port);
    uint64_t extra = (uint64_t)pkt->ip_proto << 8 | pkt->ip_version;

    if (c->key_vlan && pkt->vlan_count)
        extra |= (uint64_t)pkt->vlan_id[0] << 16;
    if (c->cfg.split)
        s *= 0x9e3779b97f4a7c15ULL;
    return fk_mix64((s + d) ^ extra);
}

/* 0 = no match, 1 = same direction as the flow's SRC, 2 = reverse. */
static inline int key_match(const fp_cache_t *c, const fp_flow_t *f, const fk_packet_t *pkt)
{
    if (f->proto != pkt->ip_proto || f->ip_version != pkt->ip_version)
        return 0;
    if (c->key_vlan && f->vlan_id != (pkt->vlan_count ? pkt->vlan_id[0] : 0))
        return 0;
    if (f->src_port == pkt->src_port && f->dst_port == pkt->dst_port &&
        memcmp(f->src_ip, pkt->src_ip, 16) == 0 && memcmp(f->dst_ip, pkt->dst_ip, 16) == 0)
        return 1;
    if (!c->cfg.split && f->src_port == pkt->dst_port && f->dst_port == pkt->src_port &&
        memcmp(f->src_ip, pkt->dst_ip, 16) == 0 && memcmp(f->dst_ip, pkt->src_ip, 16) == 0)
        return 2;
    return 0;
}

#define SLOT_PF_MAX 256 /* bytes of a record fetched ahead for the next new flow */

/* A free record the next new flow may take: its lines are read (the body
 * pointers) and written (the zeroing) then; fetch them now. */
static inline void prefetch_record(const fp_cache_t *c, const uint8_t *r)
{
    for (size_t k = 0; k < c->slot_size && k < SLOT_PF_MAX; k += 64)
        __builtin_prefetch(r + k, 1);
}

void fp_cache_set_peek(fp_cache_t *c, fp_export_peek_fn peek)
{
    c->peek_fn = c->cfg.lend ? peek : NULL;
}

/* Hand a flow to the exporter and free its slot. */
static void export_slot(fp_cache_t *c, uint32_t slot, uint8_t reason)
{
    fp_flow_t *f = rec(c, slot);

    f->end_reason = reason;
    for (size_t k = 0; k < c->npre_export; k++) {
        const fp_plugin_inst_t *pi = &c->plugins[c->pre_export[k]];
        pi->p->pre_export(pi->ctx, f, fp_plugin_state(pi, f));
    }
    c->st.exported++;
    c->st.exported_packets += (uint64_t)f->packets + f->packets_rev;
    c->st.exported_bytes += f->bytes + f->bytes_rev;
    const fp_flow_t *back = c->export_fn(c->export_arg, f);
    c->slot[slot].tag = 0;
    if (!c->cfg.lend) {
        c->free_rec[c->nfree++] = c->idx[slot];
    } else if (back) {
        /* A record lent earlier (maybe this one) came back. */
        size_t at = (size_t)((const uint8_t *)back - c->pool);
        if ((const uint8_t *)back >= c->pool && at % c->slot_size == 0 &&
            at / c->slot_size < c->nrec)
            c->free_rec[c->nfree++] = (uint32_t)(at / c->slot_size);
    }
    /* The record the next export hands back goes on top of the free stack
     * then, and the next new flow takes it (flushes re-create at once): a
     * record the output thread finished with long ago, its lines out of
     * cache.  Fetched now, it has a whole export's time to arrive -- the
     * record just handed back has none. */
    if (c->peek_fn) {
        const fp_flow_t *next = c->peek_fn(c->export_arg);
        if (next)
            prefetch_record(c, (const uint8_t *)next);
    }
    c->st.flows--;
}

/* ipfixprobe: an idle TCP flow that saw FIN or RST ended normally. */
static uint8_t idle_reason(const fp_flow_t *f)
{
    return ((f->tcp_flags | f->tcp_flags_rev) & (FK_TCP_FIN | FK_TCP_RST)) ? FP_END_EOF
                                                                           : FP_END_INACTIVE;
}

/*
 * Call hook `which` of every plugin that has it; the strongest request wins
 * (FP_HOOK_OK < FLUSH < FLUSH_REINSERT).  An update hook answering
 * FP_HOOK_DONE is not called again for this flow (post_create's answer
 * counts as OK: its flow may still be updated).
 */
static inline __attribute__((always_inline)) int run_hooks(fp_cache_t *c, fp_flow_t *f,
                                                           fp_hookpkt_t *hp, int which)
{
    const fp_hook_t *h = c->hooks[which];
    uint64_t done = 0;
    int ret = FP_HOOK_OK;

    if (which != HOOK_POST_CREATE) {
        done = f->hooks_done | (hp->pkt->payload_len ? 0 : c->bare_skip);
        if ((done & c->hook_bits[which]) == c->hook_bits[which])
            return FP_HOOK_OK; /* nobody left to call for this packet */
    }

    for (size_t i = 0, n = c->nhooks[which]; i < n; i++) {
        if (done & h[i].bit)
            continue;
        hp->bodies = h[i].bodies;
        int r = h[i].fn(h[i].ctx, f, (uint8_t *)f + h[i].off, hp);
        if (r == FP_HOOK_DONE) {
            if (which != HOOK_POST_CREATE)
                f->hooks_done |= h[i].bit;
            continue;
        }
        if (r > ret)
            ret = r;
    }
    return ret;
}

/* pre_create of every plugin that has it. */
static inline void run_pre_create(fp_cache_t *c, const fk_packet_t *pkt)
{
    for (size_t k = 0; k < c->npre_create; k++) {
        const fp_plugin_inst_t *pi = &c->plugins[c->pre_create[k]];
        pi->p->pre_create(pi->ctx, pkt);
    }
}

/* A new flow's slot: the flow record and each slab's state_zero bytes zeroed
 * (a slab's flags are a few bytes: stored in place, no memset call). */
static inline void zero_slot(const fp_cache_t *c, fp_flow_t *f)
{
    for (size_t i = 0; i < c->nzero; i++)
        fk_zero_short((uint8_t *)f + c->zero[i].off, c->zero[i].len);
}

/*
 * The record for a new flow: the one freed last.  A record never used
 * before comes straight from the pool's zero pages (or as poison, see
 * fp_cache_poison); records used before hold their last flow's leftovers.
 */
static inline uint32_t take_record(fp_cache_t *c)
{
    uint32_t r = c->free_rec[--c->nfree];

    if (r >= c->fresh) {
        c->fresh = r + 1;
        if (c->poison >= 0)
            memset(c->pool + (size_t)r * c->slot_size, c->poison, c->slot_size);
    } else if (c->nbodies) {
        give_bodies(c, (const fp_flow_t *)(c->pool + (size_t)r * c->slot_size));
    }
    /* The record the next new flow takes, unless an export comes first. */
    if (c->nfree)
        prefetch_record(c, c->pool + (size_t)c->free_rec[c->nfree - 1] * c->slot_size);
    return r;
}

/* A flow (new or re-created) in `slot` from its first packet: the slot
 * marked busy, counted, and post_create run (a plugin may end it at once). */
static void flow_started(fp_cache_t *c, uint32_t slot, uint32_t tag, fp_flow_t *f, fp_hookpkt_t *hp)
{
    c->slot[slot].tag = tag;
    c->slot[slot].last_s = (uint32_t)secs(hp->pkt->ts_ns);
    c->st.created++;
    if (++c->st.flows > c->st.peak_flows)
        c->st.peak_flows = c->st.flows;

    if (c->nhooks[HOOK_POST_CREATE] && run_hooks(c, f, hp, HOOK_POST_CREATE) != FP_HOOK_OK) {
        c->st.end_plugin++;
        export_slot(c, slot, FP_END_FORCED);
    }
}

/* Start a flow in an empty slot from its first packet. */
static void create_in(fp_cache_t *c, uint32_t slot, uint32_t tag, uint64_t hash,
                      const fk_packet_t *pkt)
{
    fp_flow_t *f;
    fp_hookpkt_t hp = {pkt, 0, NULL};

    /* An empty slot: there is a free record for it (busy slots own the rest). */
    c->idx[slot] = take_record(c);
    f = rec(c, slot);

    run_pre_create(c, pkt);
    zero_slot(c, f);
    memcpy(f->src_ip, pkt->src_ip, 16);
    memcpy(f->dst_ip, pkt->dst_ip, 16);
    memcpy(f->src_mac, pkt->src_mac, 6);
    memcpy(f->dst_mac, pkt->dst_mac, 6);
    f->src_port = pkt->src_port;
    f->dst_port = pkt->dst_port;
    f->proto = pkt->ip_proto;
    f->ip_version = pkt->ip_version;
    if (c->key_vlan && pkt->vlan_count)
        f->vlan_id = pkt->vlan_id[0];
    f->hash = hash;
    f->time_first = f->time_last = pkt->ts_ns;
    f->packets = 1;
    f->bytes = pkt->ip_len;
    f->tcp_flags = pkt->tcp_flags;

    flow_started(c, slot, tag, f, &hp);
}

/*
 * FP_HOOK_FLUSH_REINSERT from pre_update, as ipfixprobe's cache does it: the
 * old record is exported as it is, and the flow goes on in the same slot
 * with the same key and direction (SRC stays the endpoint that opened it,
 * MACs too), counters restarted from this packet in its own direction, and
 * TIME_FIRST set to the old record's TIME_LAST -- so consecutive records
 * touch at the old record's last packet (the rtsp and wg references show
 * both).  Then post_create runs for every plugin, with the packet's
 * direction relative to the kept key.
 */
static void reinsert_in(fp_cache_t *c, uint32_t slot, fp_hookpkt_t *hp)
{
    fp_flow_t *f = rec(c, slot);
    const fk_packet_t *pkt = hp->pkt;
    uint32_t tag = c->slot[slot].tag;
    fp_flow_t old;

    old = *f; /* the key goes on; the record may be lent out by the export */
    export_slot(c, slot, FP_END_FORCED);
    /* Not lending, the record just freed is on top of the stack: the flow
     * goes on in it. */
    c->idx[slot] = take_record(c);
    f = rec(c, slot);
    run_pre_create(c, pkt);
    zero_slot(c, f);
    memcpy(f->src_ip, old.src_ip, 16);
    memcpy(f->dst_ip, old.dst_ip, 16);
    memcpy(f->src_mac, old.src_mac, 6);
    memcpy(f->dst_mac, old.dst_mac, 6);
    f->src_port = old.src_port;
    f->dst_port = old.dst_port;
    f->proto = old.proto;
    f->ip_version = old.ip_version;
    f->vlan_id = old.vlan_id;
    f->hash = old.hash;
    f->time_first = old.time_last;
    f->time_last = pkt->ts_ns;
    if (hp->rev) {
        f->packets_rev = 1;
        f->bytes_rev = pkt->ip_len;
        f->tcp_flags_rev = pkt->tcp_flags;
    } else {
        f->packets = 1;
        f->bytes = pkt->ip_len;
        f->tcp_flags = pkt->tcp_flags;
    }

    flow_started(c, slot, tag, f, hp);
}

/* Move slot `from` to `to` (to < from) within a row, shifting the ones between down. */
static inline void move_up(fp_cache_t *c, uint32_t to, uint32_t from)
{
    fp_slot_t t = c->slot[from];
    uint32_t x = c->idx[from];
    memmove(&c->slot[to + 1], &c->slot[to], (from - to) * sizeof(*c->slot));
    memmove(&c->idx[to + 1], &c->idx[to], (from - to) * sizeof(*c->idx));
    c->slot[to] = t;
    c->idx[to] = x;
}

/* Export the flows of slots [from, from + n) idle for the inactive timeout. */
static void sweep(fp_cache_t *c, uint32_t from, uint32_t n, int64_t now_s)
{
    int64_t limit = now_s - (int64_t)c->cfg.inactive_s;

    for (uint32_t i = from; i < from + n; i++) {
        if (c->slot[i].tag && (int64_t)c->slot[i].last_s <= limit) {
            fp_flow_t *f = rec(c, i);
            c->st.end_inactive++;
            export_slot(c, i, idle_reason(f));
        }
    }
}

void fp_cache_expire(fp_cache_t *c, uint64_t now_ns)
{
    sweep(c, 0, c->nslots, secs(now_ns));
}

/*
 * After each packet, look at the next half-row of slots for idle flows, as
 * ipfixprobe does: the whole table is visited every nslots/(line/2) packets,
 * at a cost of a few sequential loads per packet.  (A flow that goes idle is
 * also caught when its next packet arrives.)  Matching ipfixprobe here
 * matters for captures whose time jumps: a flow is expired by the scan only
 * when the scan reaches it, so a capture that goes back in time can continue
 * flows that a full sweep would have ended.
 */
static inline void sweep_step(fp_cache_t *c, int64_t now_s)
{
    uint32_t n = c->new_idx ? c->new_idx : 1;

    sweep(c, c->sweep_idx, n, now_s);
    c->sweep_idx = (c->sweep_idx + n) & (c->nslots - 1);
    /* The next window's expiring flows will be read (their end reason, the
     * slabs pre_export hooks look at): fetch those lines now, while a few
     * packets are processed. */
    int64_t limit = now_s - (int64_t)c->cfg.inactive_s;
    /* And the slot line the scan reaches eight windows on: each window is a
     * new line of the slot array, and the packets' own misses keep the
     * hardware's streamer from seeing the scan as a stream. */
    __builtin_prefetch(&c->slot[(c->sweep_idx + 8 * n) & (c->nslots - 1)]);
    for (uint32_t i = c->sweep_idx; i < c->sweep_idx + n && i < c->nslots; i++) {
        if (c->slot[i].tag && (int64_t)c->slot[i].last_s <= limit) {
            const uint8_t *r = (const uint8_t *)rec(c, i);
            __builtin_prefetch(r);
            for (size_t k = 0; k < c->npre_export; k++)
                __builtin_prefetch(r + c->plugins[c->pre_export[k]].state_off);
        }
    }
}

static void put_one(fp_cache_t *c, fk_packet_t *pkt, int64_t now, uint64_t h)
{
    uint32_t base, tag, slot = 0;
    int dir = 0;

    c->st.packets++;
    c->st.bytes += pkt->ip_len;

    base = (uint32_t)(h & c->row_mask) << c->cfg.line_exp;
    tag = (uint32_t)(h >> 32) | 1;

    for (uint32_t i = 0; i < c->line; i++) {
        if (c->slot[base + i].tag == tag && (dir = key_match(c, rec(c, base + i), pkt)) != 0) {
            slot = base + i;
            break;
        }
    }

    if (!dir) {
        /* New flow: first empty slot, else evict the row's last flow. */
        for (uint32_t i = 0; i < c->line; i++) {
            if (c->slot[base + i].tag == 0) {
                create_in(c, base + i, tag, h, pkt);
                return;
            }
        }
        c->st.end_no_res++;
        export_slot(c, base + c->line - 1, FP_END_NO_RES);
        move_up(c, base + c->new_idx, base + c->line - 1);
        create_in(c, base + c->new_idx, tag, h, pkt);
        return;
    }

    c->st.hits++;
    if (slot != base) {
        move_up(c, base, slot);
        slot = base;
    }
    fp_flow_t *f = rec(c, slot);
    uint8_t rev = dir == 2;
    uint8_t seen = rev ? f->tcp_flags_rev : f->tcp_flags;

    /* A SYN in a direction that already closed (FIN or RST) starts a new
     * connection on the same 5-tuple: end the old flow. */
    if ((pkt->tcp_flags & FK_TCP_SYN) && (seen & (FK_TCP_FIN | FK_TCP_RST))) {
        c->st.end_tcp++;
        export_slot(c, slot, FP_END_EOF);
        create_in(c, slot, tag, h, pkt);
        return;
    }
    if (now - secs(f->time_last) >= (int64_t)c->cfg.inactive_s) {
        c->st.end_inactive++;
        export_slot(c, slot, idle_reason(f));
        create_in(c, slot, tag, h, pkt);
        return;
    }
    if (now - secs(f->time_first) >= (int64_t)c->cfg.active_s) {
        c->st.end_active++;
        export_slot(c, slot, FP_END_ACTIVE);
        create_in(c, slot, tag, h, pkt);
        return;
    }

    fp_hookpkt_t hp = {pkt, rev, NULL};
    int hr = c->nhooks[HOOK_PRE_UPDATE] ? run_hooks(c, f, &hp, HOOK_PRE_UPDATE) : FP_HOOK_OK;
    if (hr != FP_HOOK_OK) {
        /* The packet is not in the flow yet: it starts the next one. */
        c->st.end_plugin++;
        if (hr == FP_HOOK_FLUSH_REINSERT) {
            reinsert_in(c, slot, &hp);
            return;
        }
        export_slot(c, slot, FP_END_FORCED);
        create_in(c, slot, tag, h, pkt);
        return;
    }

    if (rev) {
        f->packets_rev++;
        f->bytes_rev += pkt->ip_len;
        f->tcp_flags_rev |= pkt->tcp_flags;
    } else {
        f->packets++;
        f->bytes += pkt->ip_len;
        f->tcp_flags |= pkt->tcp_flags;
    }
    f->time_last = pkt->ts_ns;
    c->slot[slot].last_s = (uint32_t)now;

    if (c->nhooks[HOOK_POST_UPDATE] && run_hooks(c, f, &hp, HOOK_POST_UPDATE) != FP_HOOK_OK) {
        c->st.end_plugin++;
        export_slot(c, slot, FP_END_FORCED);
    }
}

/* Fragment ports, then the key hash: everything a lookup needs. */
static inline uint64_t prepare(fp_cache_t *c, fk_packet_t *pkt)
{
    if (c->frag && pkt->is_fragment)
        fp_frag_process(c->frag, pkt);
    return key_hash(c, pkt);
}

void fp_cache_put(fp_cache_t *c, fk_packet_t *pkt)
{
    int64_t now = secs(pkt->ts_ns);

    put_one(c, pkt, now, prepare(c, pkt));
    sweep_step(c, now);
}

#define PF_BATCH 64

void fp_cache_put_batch(fp_cache_t *c, fk_packet_t *pkts, size_t n)
{
    uint64_t h[PF_BATCH];

    while (n > PF_BATCH) {
        fp_cache_put_batch(c, pkts, PF_BATCH);
        pkts += PF_BATCH;
        n -= PF_BATCH;
    }
    /* Stage 1: hashes, and the rows they land in. */
    for (size_t i = 0; i < n; i++) {
        h[i] = prepare(c, &pkts[i]);
        uint32_t base = (uint32_t)(h[i] & c->row_mask) << c->cfg.line_exp;
        __builtin_prefetch(&c->slot[base]);
        __builtin_prefetch(&c->idx[base]);
    }
    /* Stage 2: the record a tag match points at (a hint only: earlier packets
     * of the batch may still move slots; stage 3 looks again). */
    for (size_t i = 0; i < n; i++) {
        uint32_t base = (uint32_t)(h[i] & c->row_mask) << c->cfg.line_exp;
        uint32_t tag = (uint32_t)(h[i] >> 32) | 1;
        for (uint32_t j = 0; j < c->line; j++) {
            if (c->slot[base + j].tag == tag) {
                const uint8_t *r = (const uint8_t *)rec(c, base + j);
                __builtin_prefetch(r);
                __builtin_prefetch(r + 64);
                /* The slab flags each plugin's update hook reads first. */
                for (size_t k = 0, nk = pkts[i].payload_len ? c->nhot : c->nhot_bare; k < nk; k++)
                    __builtin_prefetch(r + c->hot[k]);
                break;
            }
        }
    }
    /* Stage 3: the real work, in packet order. */
    for (size_t i = 0; i < n; i++) {
        int64_t now = secs(pkts[i].ts_ns);
        put_one(c, &pkts[i], now, h[i]);
        sweep_step(c, now);
    }
}

void fp_cache_flush(fp_cache_t *c)
{
    for (uint32_t i = 0; i < c->nslots; i++) {
        if (c->slot[i].tag) {
            c->st.end_input++;
            export_slot(c, i, FP_END_FORCED);
        }
    }
}

void fp_cache_get_stats(const fp_cache_t *c, fp_cache_stats_t *out)
{
    *out = c->st;
    fp_frag_stats(c->frag, &out->frag_hits, &out->frag_misses);
    for (size_t i = 0; i < c->nplugins; i++) {
        out->bodies += c->pools[i].used - c->pools[i].nfree;
        out->body_misses += c->pools[i].misses;
    }
}

void fp_cache_poison(fp_cache_t *c, uint8_t byte)
{
    c->poison = byte;
    for (size_t i = 0; i < c->nplugins; i++)
        c->pools[i].poison = byte;
}

size_t fp_cache_slot_bytes(const fp_cache_t *c)
{
    /* The records that may be lent are shared out over the slots. */
    return (size_t)((double)c->nrec / c->nslots * (double)(c->slot_size + sizeof(*c->free_rec))) +
           sizeof(*c->slot) + sizeof(*c->idx);
}
