/*
 * exporter.c - the output thread.
 */
#include "exporter.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/core/spsc.h"

/*
 * What the outputs will read of a queued flow, fetched while earlier flows
 * are written.  A flow was written by a worker long before (on another CPU,
 * or on this one before the worker's packets went through its caches), and a
 * row reads the flow record, each plugin's slab and lines all over each
 * record -- every string field starts on a line of its own, and an array of
 * packet sizes or times spans several -- one dependent miss after another.
 * Two looks ahead: PF_FAR flows on, the flow record and the slabs; PF_NEAR
 * on, with the slabs in cache, each plugin's record 0 (through the plugin)
 * and the lines its fields lie on.
 */
#define PF_FAR   8
#define PF_NEAR  4
#define PF_LINES 24 /* record lines fetched per plugin at most */

typedef struct pf_plugin_st {
    const fp_plugin_inst_t *pi;
    size_t nline;
    uint32_t line[PF_LINES]; /* offsets in the record to fetch */
} pf_plugin_t;

struct fp_exporter_st {
    pf_plugin_t *pf; /* the plugins whose records outputs read */
    size_t npf;
    fp_outinst_t *outs;
    size_t nouts;
    fk_spsc_t **rings;
    size_t nrings;
    uint64_t fps;
    pthread_t thread;
    int started;
    _Atomic uint64_t full_waits;
    _Atomic uint64_t flows;
    _Atomic int reopen; /* SIGHUP seen: reopen output files */
    double cpu_s;
    pthread_mutex_t lock; /* guards cpu_pub */
    double cpu_pub;       /* cpu_s as last published for telemetry */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static double thread_cpu(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Each plugin's fetch plan: where each field starts, and for arrays the
 * following lines they may fill (strings: the first two at most).
 */
static int pf_plan(fp_exporter_t *x, const fp_plugin_inst_t *plugins, size_t n)
{
    x->pf = n ? calloc(n, sizeof(*x->pf)) : NULL;
    if (n && !x->pf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const fp_plugin_t *p = plugins[i].p;
        pf_plugin_t *q = &x->pf[x->npf];
        if (!p->records || !p->record || !p->nfields)
            continue;
        q->pi = &plugins[i];
        for (size_t k = 0; k < p->nfields && q->nline < PF_LINES; k++) {
            const fk_field_t *f = &p->fields[k];
            fk_ftype_t t = (fk_ftype_t)f->type;
            /* a string's second line too: user agents, URLs and names often
             * run past their first (and the writer reads 16 bytes a step) */
            size_t size = fk_ftype_is_array(t) ? (size_t)f->cap * fk_ftype_esize(t)
                          : t == FK_T_STR      ? (f->cap < 128 ? (size_t)f->cap : 128)
                                               : 1;
            for (size_t at = 0; at < size && at < 4 * 64 && q->nline < PF_LINES; at += 64)
                q->line[q->nline++] = (uint32_t)(f->off + at);
        }
        x->npf++;
    }
    return 0;
}

static void pf_far(const fp_exporter_t *x, const fp_flow_t *flow)
{
    __builtin_prefetch(flow);
    __builtin_prefetch((const uint8_t *)flow + 64);
    for (size_t i = 0; i < x->npf; i++)
        __builtin_prefetch(fp_plugin_state(x->pf[i].pi, flow));
}

static void pf_near(const fp_exporter_t *x, const fp_flow_t *flow)
{
    for (size_t i = 0; i < x->npf; i++) {
        const pf_plugin_t *q = &x->pf[i];
        const fp_plugin_inst_t *pi = q->pi;
        const void *st = fp_plugin_state(pi, flow);
        if (pi->p->records(pi->ctx, flow, st) == 0)
            continue;
        const uint8_t *r = pi->p->record(pi->ctx, flow, st, 0);
        for (size_t k = 0; r && k < q->nline; k++)
            __builtin_prefetch(r + q->line[k]);
    }
}

static void write_flow(fp_exporter_t *x, const fp_flow_t *flow)
{
    atomic_fetch_add_explicit(&x->flows, 1, memory_order_relaxed);
    for (size_t i = 0; i < x->nouts; i++) {
        fp_outinst_t *o = &x->outs[i];
        if (o->ops->write(o->ctx, flow) < 0 &&
            __atomic_fetch_add(&o->errors, 1, __ATOMIC_RELAXED) == 0)
            fk_err("output '%s': write failed; further errors are counted", o->arg);
    }
}

static void tick_all(fp_exporter_t *x, uint64_t now)
{
    if (atomic_exchange(&x->reopen, 0)) {
        for (size_t i = 0; i < x->nouts; i++) {
            fk_err_t e;
            if (x->outs[i].ops->reopen && x->outs[i].ops->reopen(x->outs[i].ctx, &e) < 0) {
                fk_err("%s", e.msg);
                __atomic_fetch_add(&x->outs[i].errors, 1, __ATOMIC_RELAXED);
            }
        }
    }
    for (size_t i = 0; i < x->nouts; i++)
        if (x->outs[i].ops->tick)
            x->outs[i].ops->tick(x->outs[i].ctx, now);
    double cpu = thread_cpu();
    pthread_mutex_lock(&x->lock);
    x->cpu_pub = cpu;
    pthread_mutex_unlock(&x->lock);
}

/*
 * How long the output thread sleeps when it finds every queue empty.  Each
 * wake-up costs a context switch and, where the thread shares a CPU with a
 * worker, a cold start: the worker's packets and flows have pushed the
 * field tables, row plans and buffers out of cache, and the thread's own
 * rows push out the worker's.  So the nap adapts to keep a batch of about
 * NAP_BATCH flows per wake-up: doubled while fewer than half a batch came,
 * halved when more than a batch came, within [NAP_MIN, NAP_MAX] -- and
 * never so long that a queue could fill: a batch is at most an eighth of
 * the smallest queue (-Q).  A flow waits NAP_MAX at most; the worker never
 * waits for it.
 */
#define NAP_MIN   100000L  /* ns */
#define NAP_MAX   4000000L /* ns */
#define NAP_BATCH 256

static long next_nap(long nap, size_t got, size_t batch)
{
    if (got < batch / 2 && nap < NAP_MAX)
        return nap * 2 > NAP_MAX ? NAP_MAX : nap * 2;
    if (got > batch && nap > NAP_MIN)
        return nap / 2 < NAP_MIN ? NAP_MIN : nap / 2;
    return nap;
}

static void *run(void *arg)
{
    fp_exporter_t *x = arg;
    uint64_t last_tick = mono_ns();
    long nap_ns = NAP_MIN;
    size_t got = 0, batch = NAP_BATCH;
    uint64_t seen_waits = 0;
    /* -f: a token bucket refilled at fps tokens per second, at most one second's worth. */
    double tokens = (double)x->fps, t_prev = (double)last_tick / 1e9;

    for (size_t r = 0; r < x->nrings; r++)
        if (fk_spsc_capacity(x->rings[r]) / 8 < batch)
            batch = fk_spsc_capacity(x->rings[r]) / 8;
    for (;;) {
        size_t idle = 0, drained = 0;
        for (size_t r = 0; r < x->nrings; r++) {
            /* Up to 256 flows per ring per round, so no worker starves another. */
            for (int k = 0; k < 256; k++) {
                const fp_flow_t *const *e = fk_spsc_peek(x->rings[r]);
                if (!e)
                    break;
                const fp_flow_t *f = *e;
                const fp_flow_t *const *a;
                if (x->npf) {
                    if ((a = fk_spsc_peek_ahead(x->rings[r], PF_FAR)) != NULL)
                        pf_far(x, *a);
                    if ((a = fk_spsc_peek_ahead(x->rings[r], PF_NEAR)) != NULL)
                        pf_near(x, *a);
                }
                if (x->fps) {
                    while (tokens < 1.0) {
                        double t = (double)mono_ns() / 1e9;
                        tokens += (t - t_prev) * (double)x->fps;
                        if (tokens > (double)x->fps)
                            tokens = (double)x->fps;
                        t_prev = t;
                        if (tokens < 1.0)
                            nap(200000);
                    }
                    tokens -= 1.0;
                }
                write_flow(x, f);
                fk_spsc_release(x->rings[r]);
                got++;
            }
            if (fk_spsc_peek(x->rings[r]) == NULL) {
                idle++;
                if (fk_spsc_drained(x->rings[r]))
                    drained++;
            }
        }
        uint64_t now = mono_ns();
        if (now - last_tick >= 100000000ULL) {
            tick_all(x, now);
            last_tick = now;
        }
        if (drained == x->nrings)
            break;
        if (idle == x->nrings) {
            /* A worker found its ring full since the last look: it is waiting
             * for room, not idle, so a nap would stall it (a small -Q).
             * Give it the CPU and look again. */
            uint64_t waits = atomic_load_explicit(&x->full_waits, memory_order_relaxed);
            if (waits != seen_waits) {
                seen_waits = waits;
                nap_ns = NAP_MIN;
                got = 0;
                sched_yield();
                continue;
            }
            nap_ns = next_nap(nap_ns, got, batch);
            got = 0;
            nap(nap_ns);
        }
    }
    x->cpu_s = thread_cpu();
    pthread_mutex_lock(&x->lock);
    x->cpu_pub = x->cpu_s;
    pthread_mutex_unlock(&x->lock);
    return NULL;
}

fp_exporter_t *fp_exporter_new(fp_outinst_t *outs, size_t nouts, size_t nworkers, size_t queue,
                               uint64_t fps, const fp_plugin_inst_t *plugins, size_t nplugins,
                               fk_err_t *e)
{
    fp_exporter_t *x = calloc(1, sizeof(*x));

    if (!x || nworkers == 0) {
        free(x);
        fk_errf(e, "exporter: out of memory");
        return NULL;
    }
    pthread_mutex_init(&x->lock, NULL);
    x->outs = outs;
    x->nouts = nouts;
    x->fps = fps;
    x->nrings = nworkers;
    x->rings = calloc(nworkers, sizeof(*x->rings));
    for (size_t i = 0; x->rings && i < nworkers; i++) {
        x->rings[i] = fk_spsc_new(queue, sizeof(fp_flow_t *));
        if (!x->rings[i]) {
            fk_errf(e, "exporter: cannot allocate a queue of %zu flows; lower -Q", queue);
            fp_exporter_free(x);
            return NULL;
        }
    }
    if (!x->rings || pf_plan(x, plugins, nplugins) < 0) {
        fk_errf(e, "exporter: out of memory");
        fp_exporter_free(x);
        return NULL;
    }
    int err = pthread_create(&x->thread, NULL, run, x);
    if (err) {
        fk_errf(e, "exporter: cannot start the output thread: %s", strerror(err));
        fp_exporter_free(x);
        return NULL;
    }
    x->started = 1;
    return x;
}

const fp_flow_t *fp_exporter_put(fp_exporter_t *x, unsigned w, const fp_flow_t *flow)
{
    fk_spsc_t *r = x->rings[w];
    void *slot;
    unsigned spins = 0;

    while ((slot = fk_spsc_reserve(r)) == NULL) {
        if (spins++ == 0)
            atomic_fetch_add_explicit(&x->full_waits, 1, memory_order_relaxed);
        if (spins < 64)
            sched_yield();
        else
            nap(50000);
    }
    const fp_flow_t *back;
    memcpy(&back, slot, sizeof(back)); /* NULL in a buffer never used */
    memcpy(slot, &flow, sizeof(flow));
    fk_spsc_commit(r);
    return back;
}

const fp_flow_t *fp_exporter_peek(const fp_exporter_t *x, unsigned w)
{
    const void *slot = fk_spsc_next(x->rings[w]);
    const fp_flow_t *back = NULL;

    if (slot)
        memcpy(&back, slot, sizeof(back));
    return back;
}

size_t fp_exporter_ring_entries(size_t queue)
{
    return fk_spsc_entries(queue);
}

void fp_exporter_done(fp_exporter_t *x, unsigned w)
{
    fk_spsc_close(x->rings[w]);
}

void fp_exporter_join(fp_exporter_t *x, fp_exporter_stats_t *st)
{
    if (x->started) {
        for (size_t i = 0; i < x->nrings; i++)
            fk_spsc_close(x->rings[i]);
        pthread_join(x->thread, NULL);
        x->started = 0;
    }
    if (st) {
        st->flows = atomic_load(&x->flows);
        st->full_waits = atomic_load(&x->full_waits);
        st->cpu_s = x->cpu_s;
    }
}

void fp_exporter_pin(fp_exporter_t *x, int cpu)
{
    if (cpu < 0 || !x->started)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int err = pthread_setaffinity_np(x->thread, sizeof(set), &set);
    if (err)
        fk_warn("--pin: cannot pin the output thread to CPU %d: %s", cpu, strerror(err));
}

void fp_exporter_reopen(fp_exporter_t *x)
{
    atomic_store(&x->reopen, 1);
}

void fp_exporter_snapshot(fp_exporter_t *x, fp_exporter_stats_t *st)
{
    st->flows = atomic_load_explicit(&x->flows, memory_order_relaxed);
    st->full_waits = atomic_load_explicit(&x->full_waits, memory_order_relaxed);
    pthread_mutex_lock(&x->lock);
    st->cpu_s = x->cpu_pub;
    pthread_mutex_unlock(&x->lock);
}

void fp_exporter_free(fp_exporter_t *x)
{
    if (!x)
        return;
    if (x->started)
        fp_exporter_join(x, NULL);
    for (size_t i = 0; x->rings && i < x->nrings; i++)
        fk_spsc_free(x->rings[i]);
    free(x->rings);
    free(x->pf);
    pthread_mutex_destroy(&x->lock);
    free(x);
}
