/*
 * cache.c - the biflow cache.
 *
 * Layout: two parallel slot arrays (tag + last-seen second, record index)
 * scanned per row, and a pool of flow records (flow + plugin slabs).  Slots
 * move within their row on a hit; records never move: each slot carries the
 * index of the record it owns, so a row always owns the same records and no
 * free list is needed.  A lookup touches one 64-byte line of tags for the
 * default 16-slot row and one record per candidate.
 */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/core/hash.h"
#include "frag.h"

#define NS 1000000000ULL

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
        return fk_errf(e, "cache: line size 2^%u is larger than the cache 2^%u; lower l= or raise s=",
                       cfg->line_exp, cfg->size_exp);
    return 0;
}

/* What a row scan reads: 8 bytes per slot, so 8 slots share a cache line. */
typedef struct fp_slot_st {
    uint32_t tag;    /* upper hash bits | 1; 0 = empty */
    uint32_t last_s; /* whole second (epoch) of the flow's last packet */
} fp_slot_t;

struct fp_cache_st {
    fp_cache_cfg_t cfg;
    uint32_t nslots;
    uint32_t line;     /* slots per row */
    uint32_t row_mask; /* rows - 1 */
    uint32_t new_idx;  /* where a new flow goes in a full row */
    fp_slot_t *slot;   /* per slot: tag and last-seen second, scanned together */
    uint32_t *idx;     /* per slot: index of the record it owns */
    uint8_t *pool;     /* nslots records of slot_size bytes */
    size_t slot_size;
    fp_plugin_inst_t *plugins;
    size_t nplugins;
    bool key_vlan;
    fp_export_fn export_fn;
    void *export_arg;
    uint32_t sweep_idx; /* next slot the incremental expiry scan looks at */
    fp_frag_t *frag;
    fp_cache_stats_t st;
};

static inline fp_flow_t *rec(const fp_cache_t *c, uint32_t slot)
{
    return (fp_flow_t *)(c->pool + (size_t)c->idx[slot] * c->slot_size);
}

static inline int64_t secs(uint64_t ns)
{
    return (int64_t)(ns / NS);
}

fp_cache_t *fp_cache_new(const fp_cache_cfg_t *cfg, fp_plugin_inst_t *plugins, size_t nplugins,
                         fp_export_fn export_fn, void *export_arg, fk_err_t *e)
{
    fp_cache_t *c;
    size_t off;

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
    c->slot_size = off;

    c->slot = calloc(c->nslots, sizeof(*c->slot));
    c->idx = malloc(c->nslots * sizeof(*c->idx));
    c->pool = calloc(c->nslots, c->slot_size);
    if (cfg->frag_enable)
        c->frag = fp_frag_new(cfg->frag_size, cfg->frag_timeout_s);
    if (!c->slot || !c->idx || !c->pool || (cfg->frag_enable && !c->frag)) {
        fk_errf(e, "cache: cannot allocate %u slots of %zu bytes; lower s=", c->nslots,
                c->slot_size);
        fp_cache_free(c);
        return NULL;
    }
    for (uint32_t i = 0; i < c->nslots; i++)
        c->idx[i] = i;
    return c;
}

void fp_cache_free(fp_cache_t *c)
{
    if (!c)
        return;
    free(c->slot);
    free(c->idx);
    free(c->pool);
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

/* Hand a flow to the exporter and free its slot. */
static void export_slot(fp_cache_t *c, uint32_t slot, uint8_t reason)
{
    fp_flow_t *f = rec(c, slot);

    f->end_reason = reason;
    for (size_t i = 0; i < c->nplugins; i++)
        if (c->plugins[i].p->pre_export)
            c->plugins[i].p->pre_export(c->plugins[i].ctx, f, fp_plugin_state(&c->plugins[i], f));
    c->st.exported++;
    c->st.exported_packets += (uint64_t)f->packets + f->packets_rev;
    c->st.exported_bytes += f->bytes + f->bytes_rev;
    c->export_fn(c->export_arg, f);
    c->slot[slot].tag = 0;
    c->st.flows--;
}

/* ipfixprobe: an idle TCP flow that saw FIN or RST ended normally. */
static uint8_t idle_reason(const fp_flow_t *f)
{
    return ((f->tcp_flags | f->tcp_flags_rev) & (FK_TCP_FIN | FK_TCP_RST)) ? FP_END_EOF
                                                                          : FP_END_INACTIVE;
}

static int run_hooks(fp_cache_t *c, fp_flow_t *f, const fp_hookpkt_t *hp, int which)
{
    int ret = FP_HOOK_OK;

    for (size_t i = 0; i < c->nplugins; i++) {
        const fp_plugin_t *p = c->plugins[i].p;
        void *st = fp_plugin_state(&c->plugins[i], f);
        int r = FP_HOOK_OK;
        switch (which) {
        case 0:
            if (p->post_create)
                r = p->post_create(c->plugins[i].ctx, f, st, hp);
            break;
        case 1:
            if (p->pre_update)
                r = p->pre_update(c->plugins[i].ctx, f, st, hp);
            break;
        default:
            if (p->post_update)
                r = p->post_update(c->plugins[i].ctx, f, st, hp);
            break;
        }
        if (r > ret)
            ret = r;
    }
    return ret;
}

/* Start a flow in an empty slot from its first packet. */
static void create_in(fp_cache_t *c, uint32_t slot, uint32_t tag, uint64_t hash,
                      const fk_packet_t *pkt)
{
    fp_flow_t *f = rec(c, slot);
    fp_hookpkt_t hp = {pkt, 0};

    for (size_t i = 0; i < c->nplugins; i++)
        if (c->plugins[i].p->pre_create)
            c->plugins[i].p->pre_create(c->plugins[i].ctx, pkt);

    memset(f, 0, c->slot_size);
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

    c->slot[slot].tag = tag;
    c->slot[slot].last_s = (uint32_t)secs(pkt->ts_ns);
    c->st.created++;
    if (++c->st.flows > c->st.peak_flows)
        c->st.peak_flows = c->st.flows;

    if (c->nplugins && run_hooks(c, f, &hp, 0) != FP_HOOK_OK) {
        c->st.end_plugin++;
        export_slot(c, slot, FP_END_FORCED);
    }
}

/*
 * FP_HOOK_FLUSH_REINSERT from pre_update, as ipfixprobe's flush() with
 * FLOW_FLUSH_WITH_REINSERT: export the flow as it stands (the packet is not
 * in it, so it ends at the previous packet's time), then reuse the record in
 * the same slot for the next one.  The new record keeps the old key and
 * orientation (SRC stays SRC whoever sent the packet), starts at the old
 * record's last packet time (ipfixprobe's FlowRecord::reuse() sets
 * time_first = time_last), counts the packet in its own direction, gets
 * zeroed plugin slabs, and post_create sees the packet with that direction
 * (hp->rev may be 1 here, unlike for a flow created from its first packet).
 * The wg reference output depends on all of this: the records of one tunnel
 * touch end to start, and SRC stays the side that sent the first packet.
 */
static void reinsert_in(fp_cache_t *c, uint32_t slot, const fp_hookpkt_t *hp)
{
    fp_flow_t *f = rec(c, slot);
    const fk_packet_t *pkt = hp->pkt;
    uint32_t tag = c->slot[slot].tag;
    fp_flow_t old = *f;

    c->st.end_plugin++;
    export_slot(c, slot, FP_END_FORCED);

    memset(f, 0, c->slot_size);
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

    c->slot[slot].tag = tag;
    c->slot[slot].last_s = (uint32_t)secs(pkt->ts_ns);
    c->st.created++;
    if (++c->st.flows > c->st.peak_flows)
        c->st.peak_flows = c->st.flows;

    if (c->nplugins && run_hooks(c, f, hp, 0) != FP_HOOK_OK) {
        c->st.end_plugin++;
        export_slot(c, slot, FP_END_FORCED);
    }
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
    /* The next window's expiring flows will be read (reason, export copy):
     * fetch their records now, while a few packets are processed. */
    int64_t limit = now_s - (int64_t)c->cfg.inactive_s;
    for (uint32_t i = c->sweep_idx; i < c->sweep_idx + n && i < c->nslots; i++)
        if (c->slot[i].tag && (int64_t)c->slot[i].last_s <= limit)
            __builtin_prefetch(rec(c, i));
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

    fp_hookpkt_t hp = {pkt, rev};
    int hr = c->nplugins ? run_hooks(c, f, &hp, 1) : FP_HOOK_OK;
    if (hr == FP_HOOK_FLUSH_REINSERT) {
        reinsert_in(c, slot, &hp);
        return;
    }
    if (hr != FP_HOOK_OK) {
        /* The packet is not in the flow yet: it starts the next one. */
        c->st.end_plugin++;
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

    if (c->nplugins && run_hooks(c, f, &hp, 2) != FP_HOOK_OK) {
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
}

size_t fp_cache_slot_bytes(const fp_cache_t *c)
{
    return c->slot_size + sizeof(*c->slot) + sizeof(*c->idx);
}
