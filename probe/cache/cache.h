/*
 * cache.h - the biflow cache (ipfixprobe's "cache" storage plugin, -s).
 *
 * A set-associative table: 2^s slots in rows of 2^l.  A packet's flow key
 * hashes to one row (the hash is direction independent, so both directions of
 * a biflow meet in the same row and one lookup finds either).  A hit moves the
 * flow to the front of its row; a new flow takes an empty slot, or, when the
 * row is full, the row's last flow is exported ("lack of resources") and the
 * new one goes in the middle of the row, as ipfixprobe's NHT cache does.
 *
 * Time is packet time: active/inactive timeouts compare the packet's whole
 * seconds with the flow's, as ipfixprobe does, so a pcap run is deterministic.
 * Idle flows are found by an incremental scan (half a row per packet) and
 * when their next packet arrives; fp_cache_expire() scans everything, for
 * inputs that go quiet.
 *
 * The cache is single-threaded; each worker owns one.
 */
#ifndef FP_CACHE_H
#define FP_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/core/log.h"
#include "../../lib/core/opts.h"
#include "../../lib/packet/packet.h"
#include "../flow.h"
#include "../plugin.h"

typedef struct fp_cache_cfg_st {
    unsigned size_exp;       /* log2 of the slot count (ipfixprobe s=, default 17) */
    unsigned line_exp;       /* log2 of slots per row (l=, default 4) */
    uint32_t active_s;       /* active timeout, seconds (a=, default 300) */
    uint32_t inactive_s;     /* inactive timeout, seconds (i=, default 30) */
    bool split;              /* S: split biflows into uniflows */
    bool frag_enable;        /* fe=: fragmentation cache on (default) */
    uint32_t frag_size;      /* fs=: fragmentation cache entries (default 10007) */
    uint32_t frag_timeout_s; /* ft=: fragment timeout, seconds (default 3) */
    uint32_t lend;           /* records the export callback may hold at once (see
                                fp_export_fn); 0: it holds none */
} fp_cache_cfg_t;

/* The -s keys, for parsing and -h storage. */
extern const fk_optspec_t fp_cache_options[];

/* ipfixprobe's defaults. */
void fp_cache_cfg_default(fp_cache_cfg_t *cfg);

/* Apply a parsed "-s cache;..." string to cfg.  0, or -1 with a message. */
int fp_cache_cfg_apply(fp_cache_cfg_t *cfg, const fk_opts_t *o, fk_err_t *e);

typedef struct fp_cache_stats_st {
    uint64_t packets;          /* packets put into the cache */
    uint64_t bytes;            /* their IP-layer bytes */
    uint64_t hits;             /* packets that found their flow */
    uint64_t created;          /* flows created */
    uint64_t end_inactive;     /* flows ended by the inactive timeout */
    uint64_t end_active;       /* ... by the active timeout */
    uint64_t end_tcp;          /* ... by a SYN after FIN/RST in that direction */
    uint64_t end_plugin;       /* ... because a plugin asked */
    uint64_t end_no_res;       /* ... evicted from a full row */
    uint64_t end_input;        /* ... at end of input or shutdown */
    uint64_t exported;         /* flows handed to the exporter */
    uint64_t exported_packets; /* their packets (both directions) */
    uint64_t exported_bytes;   /* their bytes (both directions) */
    uint64_t flows;            /* flows in the cache now */
    uint64_t peak_flows;       /* most flows in the cache at once */
    uint64_t frag_hits;        /* later fragments given their first fragment's ports */
    uint64_t frag_misses;      /* later fragments whose first fragment was not seen */
    uint64_t bodies;           /* plugin bodies (plugin.h) held by flows or free records now */
    uint64_t body_misses;      /* bodies asked for when a pool had none left: 0, unless a
                                  plugin loses track of its bodies (a bug) */
} fp_cache_stats_t;

/*
 * Called once per exported flow.  With cfg.lend = 0 the flow is valid only
 * during the call, and the callback returns NULL.  With cfg.lend = N the
 * record is lent: the cache leaves it alone until the callback hands it back
 * as its return value, in this call or a later one (any record lent before,
 * or NULL), so the exporter need not copy kilobytes of plugin state per flow.
 * The callback may hold at most N records at once; the cache's pool has N
 * records more than slots for them.  Lent records stay valid until
 * fp_cache_free.
 */
typedef const fp_flow_t *(*fp_export_fn)(void *arg, fp_flow_t *flow);

typedef struct fp_cache_st fp_cache_t;

/*
 * Optional, for a lending cache (cfg.lend): the record the next export_fn
 * call will hand back, when the exporter knows it already (NULL otherwise).
 * The cache asks after each export and prefetches that record, which the
 * next new flow after the next export takes.  A hint only: any pointer,
 * even a wrong one, is safe (it is never dereferenced).  Ignored when not
 * lending.
 */
typedef const fp_flow_t *(*fp_export_peek_fn)(void *arg);
void fp_cache_set_peek(fp_cache_t *c, fp_export_peek_fn peek);

/*
 * Create a cache.  `plugins` (may be NULL when n == 0) must outlive the cache.
 * Returns NULL with a message in `e` on bad geometry or no memory.
 */
fp_cache_t *fp_cache_new(const fp_cache_cfg_t *cfg, fp_plugin_inst_t *plugins, size_t nplugins,
                         fp_export_fn export_fn, void *export_arg, fk_err_t *e);

/* Free the cache; flows still cached are dropped (call fp_cache_flush first). */
void fp_cache_free(fp_cache_t *c);

/*
 * Account one packet.  The packet must have a flow key (fk_packet_has_key);
 * the cache may fill in fragment ports.  May export flows (timeouts, plugin
 * flushes, evictions) before returning.
 */
void fp_cache_put(fp_cache_t *c, fk_packet_t *pkt);

/*
 * Account `n` packets in order, as n calls of fp_cache_put would, but with
 * the flow rows and records prefetched ahead: the fast path for batches.
 */
void fp_cache_put_batch(fp_cache_t *c, fk_packet_t *pkts, size_t n);

/* Export flows idle for the inactive timeout at time `now_ns` (packet or wall clock). */
void fp_cache_expire(fp_cache_t *c, uint64_t now_ns);

/* Export every cached flow with end reason "forced" (end of input, shutdown). */
void fp_cache_flush(fp_cache_t *c);

/* Counters so far. */
void fp_cache_get_stats(const fp_cache_t *c, fp_cache_stats_t *out);

/*
 * From now on, fill each record with `byte` before its first use, as if an
 * earlier flow had left garbage there (records used before hold their last
 * flow's leftovers anyway): tests use it to show that a plugin with a
 * partial state_zero (plugin.h) never reads state it did not initialise.
 * Unoptimised and sanitizer builds poison every new cache with 0xa5.
 */
void fp_cache_poison(fp_cache_t *c, uint8_t byte);

/*
 * Bytes of memory per slot (record with slabs, index, free-list entry), for
 * reports.  Plugin bodies (plugin.h, body_size) come on top: one for each
 * flow a plugin found to be its own, for as long as its record lives.
 */
size_t fp_cache_slot_bytes(const fp_cache_t *c);

#endif /* FP_CACHE_H */
