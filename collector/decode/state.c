/*
 * state.c - per-exporter decoder state: templates, sampling rates, sequence
 * numbers.  Small chained hash tables; entries are allocated when an exporter
 * announces something (a template, a rate, a new domain), never per record.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/core/hash.h"
#include "decode.h"

#define NBUCKETS 4096

typedef struct tentry_st {
    struct tentry_st *next;
    fc_xkey_t k;
    uint16_t id;
    uint64_t used_ns;     /* expiry reference: last (re)announcement, or last
                           * lookup too with extend-on-access */
    uint64_t added_ns;    /* first announcement (metrics) */
    uint64_t updated_ns;  /* last announcement (metrics) */
    uint64_t accessed_ns; /* last lookup by a data set (metrics), 0 never */
    uint64_t updates;     /* announcements, first one included (metrics) */
    fk_ipfix_tmpl_t *t;   /* sized to its fields */
    fc_nfplan_t *plan;    /* compiled for decoding (NULL: options, no memory) */
} tentry_t;

typedef struct xentry_st {
    struct xentry_st *next;
    fc_xkey_t k; /* port unused: rates and sequences are per address */
    uint64_t rate;
    uint64_t init_ms;
    uint64_t used_ns; /* last datagram from this exporter/domain */
    bool have_seq;
    uint32_t next_seq;
} xentry_t;

typedef struct oentry_st {
    struct oentry_st *next;
    fc_addr_t addr;
    uint64_t rate;
} oentry_t;

struct fc_state_st {
    tentry_t *t[NBUCKETS];
    xentry_t *x[NBUCKETS];
    oentry_t *overrides;
    size_t ntemplates;
    uint64_t ttl_ns;
    bool extend_on_access; /* -templates.ttl.extend-on-access */
    uint64_t generation;   /* bumped by every template change (persistence) */
};

static void tentry_free(tentry_t *e);

fc_state_t *fc_state_new(uint64_t ttl_ns)
{
    fc_state_t *s = calloc(1, sizeof(*s));
    if (s)
        s->ttl_ns = ttl_ns;
    return s;
}

void fc_state_free(fc_state_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        for (tentry_t *e = s->t[i], *n; e; e = n) {
            n = e->next;
            tentry_free(e);
        }
        for (xentry_t *e = s->x[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    }
    for (oentry_t *o = s->overrides, *n; o; o = n) {
        n = o->next;
        free(o);
    }
    free(s);
}

static void tentry_free(tentry_t *e)
{
    fc_nf_plan_free(e->plan);
    free(e->t);
    free(e);
}

static bool addr_eq(const fc_addr_t *a, const fc_addr_t *b)
{
    return a->len == b->len && memcmp(a->a, b->a, a->len) == 0;
}

static bool key_eq(const fc_xkey_t *a, const fc_xkey_t *b, bool port)
{
    return addr_eq(&a->addr, &b->addr) && (!port || a->port == b->port) &&
           a->version == b->version && a->domain == b->domain;
}

static size_t bucket(const fc_xkey_t *k, uint16_t id, bool port)
{
    uint64_t h = fk_hash64(k->addr.a, k->addr.len, k->version);
    h = fk_mix64(h ^ ((uint64_t)k->domain << 16) ^ id ^ (port ? (uint64_t)k->port << 48 : 0));
    return (size_t)(h % NBUCKETS);
}

const fk_ipfix_tmpl_t *fc_state_template(fc_state_t *s, const fc_xkey_t *k, uint16_t id,
                                         uint64_t now_ns)
{
    const fc_nfplan_t *plan;
    return fc_state_template_plan(s, k, id, now_ns, &plan);
}

const fk_ipfix_tmpl_t *fc_state_template_plan(fc_state_t *s, const fc_xkey_t *k, uint16_t id,
                                              uint64_t now_ns, const fc_nfplan_t **plan)
{
    *plan = NULL;
    for (tentry_t *e = s->t[bucket(k, id, true)]; e; e = e->next)
        if (e->id == id && key_eq(&e->k, k, true)) {
            /* GoFlow2 expires on the last update unless
             * -templates.ttl.extend-on-access (goflow2-spec.md 5). */
            if (s->extend_on_access)
                e->used_ns = now_ns;
            e->accessed_ns = now_ns;
            *plan = e->plan;
            return e->t;
        }
    return NULL;
}

int fc_state_put_template(fc_state_t *s, const fc_xkey_t *k, const fk_ipfix_tmpl_t *t,
                          uint64_t now_ns)
{
    size_t b = bucket(k, t->id, true);
    tentry_t **pp = &s->t[b];

    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->id == t->id && key_eq(&(*pp)->k, k, true))
            break;
    if (t->nfields == 0) { /* withdrawal */
        if (*pp) {
            tentry_t *e = *pp;
            *pp = e->next;
            tentry_free(e);
            s->ntemplates--;
            s->generation++;
        }
        return 0;
    }
    size_t sz = offsetof(fk_ipfix_tmpl_t, f) + (size_t)t->nfields * sizeof(t->f[0]);
    if (*pp && (*pp)->t->nfields == t->nfields && memcmp((*pp)->t, t, sz) == 0) {
        /* The same template again (exporters resend them every few
         * seconds): keep the copy and its plan. */
        s->generation++;
        (*pp)->used_ns = now_ns;
        (*pp)->updated_ns = now_ns;
        (*pp)->updates++;
        return 0;
    }
    fk_ipfix_tmpl_t *copy = malloc(sz);
    if (!copy)
        return -1;
    memcpy(copy, t, sz);
    /* no plan (no memory): the decoders take the general path */
    fc_nfplan_t *plan =
        k->version == 9 || k->version == 10 ? fc_nf_plan_new(copy, k->version) : NULL;
    s->generation++;
    if (*pp) {
        free((*pp)->t);
        fc_nf_plan_free((*pp)->plan);
        (*pp)->t = copy;
        (*pp)->plan = plan;
        (*pp)->used_ns = now_ns;
        (*pp)->updated_ns = now_ns;
        (*pp)->updates++;
        return 0;
    }
    tentry_t *e = calloc(1, sizeof(*e));
    if (!e) {
        free(copy);
        fc_nf_plan_free(plan);
        return -1;
    }
    e->k = *k;
    e->id = t->id;
    e->t = copy;
    e->plan = plan;
    e->used_ns = now_ns;
    e->added_ns = e->updated_ns = now_ns;
    e->updates = 1;
    e->next = s->t[b];
    s->t[b] = e;
    s->ntemplates++;
    return 0;
}

/* Exporter entries (rates, sequences) unused this long are dropped: spoofed
 * sources must not grow memory without bound; real exporters resend options. */
#define XENTRY_IDLE_NS (3600ULL * 1000000000ULL)

size_t fc_state_expire(fc_state_t *s, uint64_t now_ns)
{
    size_t n = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        for (xentry_t **pp = &s->x[i]; *pp;) {
            xentry_t *e = *pp;
            if (e->used_ns && now_ns > e->used_ns && now_ns - e->used_ns > XENTRY_IDLE_NS) {
                *pp = e->next;
                free(e);
            } else {
                pp = &e->next;
            }
        }
    }
    if (!s->ttl_ns)
        return 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        for (tentry_t **pp = &s->t[i]; *pp;) {
            tentry_t *e = *pp;
            if (now_ns > e->used_ns && now_ns - e->used_ns > s->ttl_ns) {
                *pp = e->next;
                tentry_free(e);
                s->ntemplates--;
                s->generation++;
                n++;
            } else {
                pp = &e->next;
            }
        }
    }
    return n;
}

size_t fc_state_templates(const fc_state_t *s)
{
    return s->ntemplates;
}

void fc_state_set_extend_on_access(fc_state_t *s, bool on)
{
    s->extend_on_access = on;
}

uint64_t fc_state_generation(const fc_state_t *s)
{
    return s->generation;
}

size_t fc_state_foreach_template(const fc_state_t *s, fc_tmpl_fn fn, void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (const tentry_t *e = s->t[i]; e; e = e->next) {
            fc_tmpl_info_t ti = {&e->k,         e->id,          e->t,      e->added_ns,
                                 e->updated_ns, e->accessed_ns, e->updates};
            fn(arg, &ti);
            n++;
        }
    return n;
}

size_t fc_state_drop_session(fc_state_t *s, const fc_addr_t *addr, uint16_t port)
{
    size_t n = 0;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (tentry_t **pp = &s->t[i]; *pp;) {
            tentry_t *e = *pp;
            if (e->k.port == port && addr_eq(&e->k.addr, addr)) {
                *pp = e->next;
                tentry_free(e);
                s->ntemplates--;
                n++;
            } else {
                pp = &e->next;
            }
        }
    if (n)
        s->generation++;
    return n;
}

/* The per-(address, version, domain) entry, created on demand (NULL: no memory). */
static xentry_t *xget(fc_state_t *s, const fc_xkey_t *k)
{
    size_t b = bucket(k, 0, false);
    for (xentry_t *e = s->x[b]; e; e = e->next)
        if (key_eq(&e->k, k, false))
            return e;
    xentry_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->k = *k;
    e->k.port = 0;
    e->next = s->x[b];
    s->x[b] = e;
    return e;
}

uint64_t fc_state_sampling(fc_state_t *s, const fc_xkey_t *k)
{
    size_t b = bucket(k, 0, false);
    for (xentry_t *e = s->x[b]; e; e = e->next)
        if (key_eq(&e->k, k, false) && e->rate)
            return e->rate;
    for (oentry_t *o = s->overrides; o; o = o->next)
        if (addr_eq(&o->addr, &k->addr))
            return o->rate;
    return 0;
}

uint64_t fc_state_init_ms(fc_state_t *s, const fc_xkey_t *k)
{
    size_t b = bucket(k, 0, false);
    for (xentry_t *e = s->x[b]; e; e = e->next)
        if (key_eq(&e->k, k, false))
            return e->init_ms;
    return 0;
}

void fc_state_set_init_ms(fc_state_t *s, const fc_xkey_t *k, uint64_t ms)
{
    xentry_t *e = xget(s, k);
    if (e)
        e->init_ms = ms;
}

void fc_state_set_sampling(fc_state_t *s, const fc_xkey_t *k, uint64_t rate)
{
    xentry_t *e = xget(s, k);
    if (e)
        e->rate = rate;
}

void fc_state_set_override(fc_state_t *s, const fc_addr_t *addr, uint64_t rate)
{
    oentry_t *o = calloc(1, sizeof(*o));
    if (!o)
        return;
    o->addr = *addr;
    o->rate = rate;
    o->next = s->overrides;
    s->overrides = o;
}

void fc_state_sequence(fc_state_t *s, const fc_xkey_t *k, uint32_t seq, uint32_t count,
                       fc_dstats_t *st)
{
    xentry_t *e = xget(s, k);
    if (!e)
        return;
    if (e->have_seq && seq != e->next_seq) {
        uint32_t gap = seq - e->next_seq; /* modulo 2^32, as the counters wrap */
        if (gap < 0x80000000u)
            st->seq_lost += gap;
        else
            st->seq_reset++;
    }
    e->have_seq = true;
    e->next_seq = seq + count;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e->used_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
