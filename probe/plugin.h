/*
 * plugin.h - the processing-plugin interface (ipfixprobe's "process" plugins).
 *
 * A plugin is one const fp_plugin_t in probe/plugins/NAME.c, listed once in
 * probe/plugins/registry.c.  The flow cache calls its hooks with the packet
 * and the flow; the plugin keeps per-flow state in a slab of `state_size`
 * bytes placed next to the flow record (zeroed when the flow is created, or
 * only its first `state_zero` bytes: see there), so the packet path never
 * allocates.  What a plugin exports is described by its field table and read
 * from the record(s) it returns at export time.
 *
 * Hook return values (ipfixprobe's FLOW_FLUSH / FLOW_FLUSH_WITH_REINSERT):
 *   FP_HOOK_OK       carry on
 *   FP_HOOK_FLUSH    export the flow now (end reason "forced").  From
 *                    pre_update the current packet is not yet in the flow: it
 *                    then starts a new flow, so no packet is ever lost.
 *   FP_HOOK_FLUSH_REINSERT  export the flow now, then re-create it from the
 *                    current packet (pre_update only; e.g. a second HTTP
 *                    request on one connection starts a new record).  As in
 *                    ipfixprobe, the new flow keeps the old key and direction
 *                    (the packet may be counted as reverse), starts at the
 *                    old flow's TIME_LAST, and gets post_create with the
 *                    packet's direction.
 *   FP_HOOK_DONE     carry on, and this plugin's pre_update and post_update
 *                    are no-ops for the rest of this flow: the cache stops
 *                    calling them (and reading the plugin's slab for them)
 *                    until the flow is exported.  A flow re-created by a
 *                    flush, or a new flow in the slot, calls them again.
 *                    Only an optimisation: a plugin returns it only where
 *                    every later call would change nothing and return OK.
 *                    pre_export, records and record are still called.
 */
#ifndef FP_PLUGIN_H
#define FP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/core/field.h"
#include "../lib/core/opts.h"
#include "../lib/packet/packet.h"
#include "flow.h"

#define FP_PLUGIN_ABI  1
#define FP_MAX_PLUGINS 64 /* enabled plugin instances per probe */

enum {
    FP_HOOK_OK = 0,
    FP_HOOK_FLUSH = 1,
    FP_HOOK_FLUSH_REINSERT = 2,
    FP_HOOK_DONE = 3,
};

/* Plugin flags. */
#define FP_PLUGIN_KEY_VLAN 0x01 /* the VLAN id becomes part of the flow key */
/*
 * The plugin's pre_update and post_update have nothing to do with a packet
 * that carries no L4 payload (payload_len == 0): they neither change the
 * slab nor answer anything but FP_HOOK_OK for it.  The cache then does not
 * call them (nor prefetch the slab) for such packets -- on TCP nearly half
 * of all packets are bare ACKs.  post_create is always called.
 */
#define FP_PLUGIN_PAYLOAD_HOOKS 0x02

typedef struct fp_body_pool_st fp_body_pool_t; /* a cache's bodies of one plugin */

/*
 * The direction of the packet relative to the flow, set by the cache before
 * every hook: 0 = SRC -> DST (same as the flow's first packet), 1 = reverse.
 */
typedef struct fp_hookpkt_st {
    const fk_packet_t *pkt;
    uint8_t rev;
    /* Where this plugin's bodies come from (fp_plugin_body): set by the cache
     * for each call of a plugin with body_size; NULL for other plugins and
     * for callers without a cache. */
    fp_body_pool_t *bodies;
} fp_hookpkt_t;

typedef struct fp_plugin_st {
    uint32_t abi;                /* FP_PLUGIN_ABI */
    const char *name;            /* the -p NAME */
    const char *summary;         /* one line for -h process */
    const fk_optspec_t *options; /* accepted keys; NULL = none */
    const fk_field_t *fields;    /* exported fields, IPFIX template order */
    size_t nfields;
    size_t record_size; /* sizeof the record struct `fields` refer to */
    size_t state_size;  /* per-flow slab bytes (0 = none) */
    uint32_t flags;     /* FP_PLUGIN_* */

    /* Parse options; *ctx is the plugin's private context (may stay NULL). 0 / -1. */
    int (*init)(void **ctx, const fk_opts_t *opts, fk_err_t *e);
    /* Release ctx. */
    void (*fini)(void *ctx);
    /* Flow lifecycle hooks; each may be NULL.  pre_create sees a packet about
     * to start a flow (informational: it cannot veto). */
    void (*pre_create)(void *ctx, const fk_packet_t *pkt);
    int (*post_create)(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp);
    int (*pre_update)(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp);
    int (*post_update)(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp);
    void (*pre_export)(void *ctx, fp_flow_t *flow, void *state);
    /*
     * Records this flow carries for output: 0 when the plugin attached nothing
     * (outputs filtering on this plugin skip the flow), usually 1, more for
     * plugins that emit one record per item (one per DNS answer ...).
     */
    unsigned (*records)(void *ctx, const fp_flow_t *flow, const void *state);
    /* Record i (< records()) as a pointer to a struct read through `fields`. */
    const void *(*record)(void *ctx, const fp_flow_t *flow, const void *state, unsigned i);
    /*
     * Bytes at the start of the slab the cache zeroes when it creates a flow
     * (0 = all of state_size).  Zeroing a whole 1-2 kB slab per new flow,
     * for every plugin, costs more than most plugins' work on a flow that is
     * not theirs.  A plugin that sets this keeps its flags in those bytes and
     * initialises the rest itself before it first reads any of it (the rest
     * holds an earlier flow's leftovers).  Its records() must then decide
     * from those bytes and the flow alone, and record() may be called only
     * when records() said so.  record() must find the record from the
     * state pointer it is given, not from a pointer stored in the state
     * (but the body's: see body_size).
     */
    size_t state_zero; /* (takes one of the four reserved slots: same ABI) */
    /*
     * Bytes of a body: state a flow gets only once the plugin finds the flow
     * is its own (0 = none).  A record of a kilobyte carried in every flow
     * slot makes every slot that much larger, and the cache's working set
     * with it, though most flows are not the plugin's (a DNS flow is not
     * HTTP's); a body comes from a pool of the cache's instead, when the
     * plugin first asks for it (fp_plugin_body), and goes back to the pool
     * when the cache takes the flow's record for a new flow -- after the
     * export, once the output thread is done with it.  The slab (state_size
     * bytes) then starts with the body's pointer (a `void *` the plugin does not write),
     * within state_zero (or state_zero 0), so a new flow has none.  This
     * pointer is the one that record() may follow: the cache keeps the body
     * as long as the record.
     */
    size_t body_size;  /* (a second reserved slot) */
    void *reserved[2]; /* room to extend the ABI */
} fp_plugin_t;

/* An enabled plugin: descriptor, context and where its slab sits in a flow slot. */
typedef struct fp_plugin_inst_st {
    const fp_plugin_t *p;
    void *ctx;
    size_t state_off;  /* byte offset of the slab from the start of the flow slot */
    void *zero_record; /* record_size zero bytes, printed when a flow has no record */
} fp_plugin_inst_t;

/* The plugins compiled in, NULL-terminated (probe/plugins/registry.c). */
extern const fp_plugin_t *const fp_plugins[];

/* Find a compiled-in plugin by name, or NULL. */
const fp_plugin_t *fp_plugin_find(const char *name);

/*
 * Lay the enabled plugins' slabs out after the flow record: sets each
 * state_off (8-byte aligned) and returns the bytes of one flow record with
 * all slabs.  Outputs read exported flows in this layout (the cache lends
 * its records to the output thread, cache.h).
 */
size_t fp_plugins_layout(fp_plugin_inst_t *plugins, size_t n);

/*
 * Take a body from a pool (uninitialised: the plugin initialises it), or
 * NULL when `pool` is NULL or has none left.  Through a cache neither
 * happens: its pools hold a body for every record (probe/cache/cache.c).
 */
void *fp_body_take(fp_body_pool_t *pool);

/*
 * Pools outside a cache, for tests that call hooks themselves: `cap` bodies
 * of `body_size` bytes (NULL: no memory).  fp_body_give returns a body that
 * fp_body_take handed out, as the cache does when it reuses a record.
 */
fp_body_pool_t *fp_body_pool_new(size_t body_size, uint32_t cap);
void fp_body_pool_free(fp_body_pool_t *pool);
void fp_body_give(fp_body_pool_t *pool, void *body);

/*
 * The flow's body for the plugin whose hook got `hp` and `state`: the one
 * it has, or a new one (uninitialised, so the plugin can tell a new one
 * from *state being NULL before the call).  NULL only without a pool: the
 * plugin then keeps no record for the flow.
 */
static inline void *fp_plugin_body(const fp_hookpkt_t *hp, void *state)
{
    void **b = (void **)state;

    if (!*b)
        *b = fp_body_take(hp->bodies);
    return *b;
}

/*
 * The flow's body as a record of `fields`: the first call takes it and
 * clears it (fk_record_clear: it reads as the empty record), later calls
 * return it as it is.  NULL only without a pool, as fp_plugin_body.
 */
static inline void *fp_plugin_record(const fp_hookpkt_t *hp, void *state, const fk_field_t *fields,
                                     size_t nfields)
{
    void **b = (void **)state;

    if (!*b && fp_plugin_body(hp, state))
        fk_record_clear(fields, nfields, *b);
    return *b;
}

/* Plugin state of `inst` inside a flow slot. */
static inline void *fp_plugin_state(const fp_plugin_inst_t *inst, const fp_flow_t *flow)
{
    return (uint8_t *)(uintptr_t)flow + inst->state_off;
}

#endif /* FP_PLUGIN_H */
