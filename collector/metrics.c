/*
 * metrics.c - see metrics.h.  Families and labels follow GoFlow2 (metrics/ *.go
 * at HEAD, goflow2-spec.md section 6); where flowkit cannot count exactly what
 * GoFlow2 counts, the difference is said next to the family.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../lib/core/hash.h"
#include "pipeline.h"

#define NBUCKETS   1024
#define MAX_LISTEN 64
#define MAX_NAMES  8 /* decoder names (listener types) */

/* Flowset types of goflow2_flow_process_nf_flowset*_total. */
enum { FS_TEMPLATE, FS_OPTIONS_TEMPLATE, FS_OPTIONS_DATA, FS_DATA, FS_N };
static const char *const fs_names[FS_N] = {"TemplateFlowSet", "OptionsTemplateFlowSet",
                                           "OptionsDataFlowSet", "DataFlowSet"};
/* sFlow sample types flowkit tells apart (see the family's comment). */
enum { SF_FLOW, SF_COUNTER, SF_UNKNOWN, SF_N };
static const char *const sf_names[SF_N] = {"FlowSample", "CounterSample", "unknown"};
static const char *const nf_versions[3] = {"5", "9", "10"};

/* A (listener, exporter) pair: traffic and drop counters. */
typedef struct tent_st {
    struct tent_st *next, *all;
    int lidx;
    fc_addr_t src;
    uint64_t bytes, packets, drop_packets, drop_bytes;
} tent_t;

/* An exporter ("router"): decoder and NetFlow counters. */
typedef struct rent_st {
    struct rent_st *next, *all;
    fc_addr_t src;
    uint64_t dec_errors[MAX_NAMES];
    uint64_t nf[3];         /* datagrams per version 5, 9, 10 */
    uint64_t tnf;           /* datagrams with a data set of unknown template */
    uint64_t sets[3][FS_N]; /* flowsets per version and type */
    uint64_t set_records[3][FS_N];
    double delay_sum[3];
    uint64_t delay_n[3];
    uint64_t seq_lost[3]; /* flowkit: records/datagrams missing by sequence */
} rent_t;

/* An sFlow (router, agent) pair. */
typedef struct sent_st {
    struct sent_st *next, *all;
    fc_addr_t src, agent;
    uint64_t datagrams;
    uint64_t samples[SF_N];
} sent_t;

typedef struct lab_st {
    char type[32];
    char local_ip[64];
    char local_port[8];
} lab_t;

struct fc_metrics_st {
    pthread_mutex_t mu;
    tent_t *t[NBUCKETS], *t_all;
    rent_t *r[NBUCKETS], *r_all;
    sent_t *s[NBUCKETS], *s_all;
    size_t nt, nr, ns;
    lab_t lab[MAX_LISTEN];
    int nlab;
    const char *names[MAX_NAMES];
    int nnames;
    double dec_time_sum[MAX_NAMES];
    uint64_t dec_time_n[MAX_NAMES];
    fc_pstats_t pst;
    bool ready;
    uint64_t start_ns;
};

static const fc_addr_t overflow_addr = {0, {0}}; /* len 0 prints as "overflow" */

fc_metrics_t *fc_metrics_new(void)
{
    fc_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return m;
}

void fc_metrics_free(fc_metrics_t *m)
{
    if (!m)
        return;
    for (tent_t *e = m->t_all, *n; e; e = n) {
        n = e->all;
        free(e);
    }
    for (rent_t *e = m->r_all, *n; e; e = n) {
        n = e->all;
        free(e);
    }
    for (sent_t *e = m->s_all, *n; e; e = n) {
        n = e->all;
        free(e);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int fc_metrics_listener(fc_metrics_t *m, const char *type, const char *local_ip,
                        unsigned local_port)
{
    int i;
    pthread_mutex_lock(&m->mu);
    if (m->nlab == MAX_LISTEN) {
        pthread_mutex_unlock(&m->mu);
        return -1;
    }
    i = m->nlab++;
    snprintf(m->lab[i].type, sizeof(m->lab[i].type), "%s", type);
    snprintf(m->lab[i].local_ip, sizeof(m->lab[i].local_ip), "%s", local_ip);
    snprintf(m->lab[i].local_port, sizeof(m->lab[i].local_port), "%u", local_port);
    pthread_mutex_unlock(&m->mu);
    return i;
}

static bool addr_eq(const fc_addr_t *a, const fc_addr_t *b)
{
    return a->len == b->len && memcmp(a->a, b->a, a->len) == 0;
}

static size_t hbucket(const fc_addr_t *a, uint64_t extra)
{
    return (size_t)(fk_mix64(fk_hash64(a->a, a->len, a->len) ^ extra) % NBUCKETS);
}

/* Lookups create entries; past the cap every new exporter shares the overflow entry. */
static tent_t *tget(fc_metrics_t *m, int lidx, const fc_addr_t *src)
{
    if (m->nt >= FC_METRICS_MAX_EXPORTERS)
        src = &overflow_addr;
    size_t b = hbucket(src, (uint64_t)(lidx + 1));
    for (tent_t *e = m->t[b]; e; e = e->next)
        if (e->lidx == lidx && addr_eq(&e->src, src))
            return e;
    tent_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->lidx = lidx;
    e->src = *src;
    e->next = m->t[b];
    m->t[b] = e;
    e->all = m->t_all;
    m->t_all = e;
    m->nt++;
    return e;
}

static rent_t *rget(fc_metrics_t *m, const fc_addr_t *src)
{
    if (m->nr >= FC_METRICS_MAX_EXPORTERS)
        src = &overflow_addr;
    size_t b = hbucket(src, 0);
    for (rent_t *e = m->r[b]; e; e = e->next)
        if (addr_eq(&e->src, src))
            return e;
    rent_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->src = *src;
    e->next = m->r[b];
    m->r[b] = e;
    e->all = m->r_all;
    m->r_all = e;
    m->nr++;
    return e;
}

static sent_t *sget(fc_metrics_t *m, const fc_addr_t *src, const fc_addr_t *agent)
{
    if (m->ns >= FC_METRICS_MAX_EXPORTERS) {
        src = &overflow_addr;
        agent = &overflow_addr;
    }
    size_t b = hbucket(src, fk_hash64(agent->a, agent->len, 7));
    for (sent_t *e = m->s[b]; e; e = e->next)
        if (addr_eq(&e->src, src) && addr_eq(&e->agent, agent))
            return e;
    sent_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->src = *src;
    e->agent = *agent;
    e->next = m->s[b];
    m->s[b] = e;
    e->all = m->s_all;
    m->s_all = e;
    m->ns++;
    return e;
}

static int name_index(fc_metrics_t *m, const char *name)
{
    for (int i = 0; i < m->nnames; i++)
        if (m->names[i] == name || strcmp(m->names[i], name) == 0)
            return i;
    if (m->nnames == MAX_NAMES)
        return MAX_NAMES - 1;
    m->names[m->nnames] = name; /* listener type strings live as long as the pipeline */
    return m->nnames++;
}

static int vidx(uint8_t v)
{
    return v == 5 ? 0 : v == 9 ? 1 : 2;
}

void fc_metrics_datagram(fc_metrics_t *m, const fc_mdgram_t *d)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    int ni = name_index(m, d->name ? d->name : "flow");
    m->dec_time_sum[ni] += (double)d->decode_ns / 1e9;
    m->dec_time_n[ni]++;
    tent_t *t = tget(m, d->lidx, d->src);
    if (t) {
        t->bytes += d->bytes;
        t->packets++;
    }
    rent_t *r = rget(m, d->src);
    if (r && d->error)
        r->dec_errors[ni]++;
    if (r && d->kind == FC_MD_NETFLOW && d->ds) {
        int v = vidx(d->version);
        const fc_dstats_t *ds = d->ds;
        r->nf[v]++;
        if (ds->no_template)
            r->tnf++;
        r->seq_lost[v] += ds->seq_lost;
        if (d->version == 5) {
            /* GoFlow2 quirk 12: v5 adds the record count to the flowset total */
            r->sets[v][FS_DATA] += d->v5_count;
        } else {
            /* flowkit's decoders count records, not sets: the records are exact,
             * the set counts below are those of sets that produced records. */
            r->set_records[v][FS_TEMPLATE] += ds->templates;
            r->set_records[v][FS_OPTIONS_DATA] += ds->option_records;
            r->set_records[v][FS_DATA] += ds->records;
            r->sets[v][FS_TEMPLATE] += ds->templates ? 1 : 0;
            r->sets[v][FS_OPTIONS_DATA] += ds->option_records ? 1 : 0;
            r->sets[v][FS_DATA] += ds->records ? 1 : 0;
            r->delay_sum[v] += d->delay_sum;
            r->delay_n[v] += d->delay_n;
        }
    }
    if (d->kind == FC_MD_SFLOW && d->ss && d->agent) {
        sent_t *s = sget(m, d->src, d->agent);
        if (s) {
            s->datagrams++;
            s->samples[SF_FLOW] += d->ss->flow_samples;
            s->samples[SF_COUNTER] += d->ss->counter_samples;
            s->samples[SF_UNKNOWN] += d->ss->unknown_samples;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void fc_metrics_dropped(fc_metrics_t *m, int lidx, const fc_addr_t *src, size_t bytes)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    tent_t *t = tget(m, lidx, src);
    if (t) {
        t->drop_packets++;
        t->drop_bytes += bytes;
    }
    pthread_mutex_unlock(&m->mu);
}

void fc_metrics_set_pstats(fc_metrics_t *m, const fc_pstats_t *st)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->pst = *st;
    pthread_mutex_unlock(&m->mu);
}

void fc_metrics_set_ready(fc_metrics_t *m, bool ready)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->ready = ready;
    pthread_mutex_unlock(&m->mu);
}

bool fc_metrics_ready(fc_metrics_t *m)
{
    bool r;
    pthread_mutex_lock(&m->mu);
    r = m->ready;
    pthread_mutex_unlock(&m->mu);
    return r;
}

/* ---------------------------------------------------------------- rendering */

static void family(fk_buf_t *b, const char *name, const char *type, const char *help)
{
    fk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void lval(fk_buf_t *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fk_buf_putc(b, '\\'), fk_buf_putc(b, *v);
        else if (*v == '\n')
            fk_buf_puts(b, "\\n");
        else
            fk_buf_putc(b, *v);
    }
}

/* Go's netip text of an address, unmapped (len 0 = the overflow entry). */
static void addr_text(const fc_addr_t *a, char *out, size_t cap)
{
    if (a->len == 4)
        inet_ntop(AF_INET, a->a, out, (socklen_t)cap);
    else if (a->len == 16)
        inet_ntop(AF_INET6, a->a, out, (socklen_t)cap);
    else
        snprintf(out, cap, "overflow");
}

/*
 * A series: name{k1="v1",...} followed by a space.  `kv` is an array of
 * label names and values ending with NULL (or NULL for none); labels are
 * written sorted by name, as client_golang writes them.
 */
static void series(fk_buf_t *b, const char *name, const char *const *kv)
{
    const char *k[16];
    const char *val[16];
    int n = 0;
    for (; kv && kv[0] && n < 16; kv += 2, n++) {
        k[n] = kv[0];
        val[n] = kv[1];
    }
    for (int i = 1; i < n; i++) /* insertion sort by label name */
        for (int j = i; j > 0 && strcmp(k[j - 1], k[j]) > 0; j--) {
            const char *t = k[j];
            k[j] = k[j - 1];
            k[j - 1] = t;
            t = val[j];
            val[j] = val[j - 1];
            val[j - 1] = t;
        }
    fk_buf_puts(b, name);
    if (n) {
        fk_buf_putc(b, '{');
        for (int i = 0; i < n; i++) {
            if (i)
                fk_buf_putc(b, ',');
            fk_buf_printf(b, "%s=\"", k[i]);
            lval(b, val[i]);
            fk_buf_putc(b, '"');
        }
        fk_buf_putc(b, '}');
    }
    fk_buf_putc(b, ' ');
}

/* A sample with a floating-point value (sums, seconds). */
static void sample(fk_buf_t *b, const char *name, const char *const *kv, double v)
{
    series(b, name, kv);
    /* whole numbers (timestamps, sizes) exactly, the rest with full precision */
    if (v == (double)(int64_t)v && v < 9007199254740992.0 && v > -9007199254740992.0)
        fk_buf_i64(b, (int64_t)v);
    else
        fk_buf_printf(b, "%.17g", v);
    fk_buf_putc(b, '\n');
}

/* A sample with an integer value (counters, gauges of counts), exact to 2^64. */
static void counter_u(fk_buf_t *b, const char *name, const char *const *kv, uint64_t v)
{
    series(b, name, kv);
    fk_buf_u64(b, v);
    fk_buf_putc(b, '\n');
}

static const lab_t no_lab = {"", "", ""};

static void write_receiver(fc_metrics_t *m, fk_buf_t *b)
{
    char ip[INET6_ADDRSTRLEN];
    static const struct {
        const char *name, *help;
        int what; /* 0 bytes, 1 packets, 2 size summary, 3 dropped packets, 4 dropped bytes */
    } fams[] = {
        {"goflow2_flow_traffic_bytes_total", "Bytes received by the application.", 0},
        {"goflow2_flow_traffic_packets_total", "Packets received by the application.", 1},
        {"goflow2_flow_traffic_size_bytes", "Summary of packet size.", 2},
        {"goflow2_flow_dropped_packets_total", "Packets dropped by the receiver (queue full).", 3},
        {"goflow2_flow_dropped_bytes_total", "Bytes dropped by the receiver (queue full).", 4},
    };
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
        family(b, fams[f].name, fams[f].what == 2 ? "summary" : "counter", fams[f].help);
        for (const tent_t *e = m->t_all; e; e = e->all) {
            const lab_t *l = e->lidx >= 0 && e->lidx < m->nlab ? &m->lab[e->lidx] : &no_lab;
            addr_text(&e->src, ip, sizeof(ip));
            if (fams[f].what >= 3) {
                if (!e->drop_packets)
                    continue;
                const char *kv[] = {"remote_ip",   ip,  "local_ip", l->local_ip, "local_port",
                                    l->local_port, NULL};
                counter_u(b, fams[f].name, kv, fams[f].what == 3 ? e->drop_packets : e->drop_bytes);
                continue;
            }
            if (!e->packets)
                continue;
            const char *kv[] = {"remote_ip",   ip,     "local_ip", l->local_ip, "local_port",
                                l->local_port, "type", l->type,    NULL};
            if (fams[f].what == 2) {
                char nb[96];
                snprintf(nb, sizeof(nb), "%s_sum", fams[f].name);
                counter_u(b, nb, kv, e->bytes);
                snprintf(nb, sizeof(nb), "%s_count", fams[f].name);
                counter_u(b, nb, kv, e->packets);
            } else {
                counter_u(b, fams[f].name, kv, fams[f].what == 0 ? e->bytes : e->packets);
            }
        }
    }
}

static void write_decoder(fc_metrics_t *m, fk_buf_t *b)
{
    char ip[INET6_ADDRSTRLEN];
    family(b, "goflow2_flow_decoder_error_total", "counter", "Decoder processed error count.");
    for (const rent_t *e = m->r_all; e; e = e->all) {
        addr_text(&e->src, ip, sizeof(ip));
        for (int i = 0; i < m->nnames; i++)
            if (e->dec_errors[i]) {
                const char *kv[] = {"router", ip, "name", m->names[i], NULL};
                counter_u(b, "goflow2_flow_decoder_error_total", kv, e->dec_errors[i]);
            }
    }
    family(b, "goflow2_flow_decoding_time_seconds", "summary", "Decoding time summary.");
    for (int i = 0; i < m->nnames; i++) {
        const char *kv[] = {"name", m->names[i], NULL};
        sample(b, "goflow2_flow_decoding_time_seconds_sum", kv, m->dec_time_sum[i]);
        counter_u(b, "goflow2_flow_decoding_time_seconds_count", kv, m->dec_time_n[i]);
    }
}

static void write_netflow(fc_metrics_t *m, fk_buf_t *b)
{
    char ip[INET6_ADDRSTRLEN];
    family(b, "goflow2_flow_process_nf_total", "counter", "NetFlows processed.");
    for (const rent_t *e = m->r_all; e; e = e->all) {
        addr_text(&e->src, ip, sizeof(ip));
        for (int v = 0; v < 3; v++)
            if (e->nf[v]) {
                const char *kv[] = {"router", ip, "version", nf_versions[v], NULL};
                counter_u(b, "goflow2_flow_process_nf_total", kv, e->nf[v]);
            }
    }
    family(b, "goflow2_flow_process_nf_errors_total", "counter", "NetFlows processed errors.");
    for (const rent_t *e = m->r_all; e; e = e->all)
        if (e->tnf) {
            addr_text(&e->src, ip, sizeof(ip));
            const char *kv[] = {"router", ip, "error", "template_not_found", NULL};
            counter_u(b, "goflow2_flow_process_nf_errors_total", kv, e->tnf);
        }
    for (int which = 0; which < 2; which++) {
        const char *name = which ? "goflow2_flow_process_nf_flowset_records_total"
                                 : "goflow2_flow_process_nf_flowset_total";
        family(b, name, "counter",
               which ? "NetFlows FlowSets sum of records." : "NetFlows FlowSets sum.");
        for (const rent_t *e = m->r_all; e; e = e->all) {
            addr_text(&e->src, ip, sizeof(ip));
            for (int v = 0; v < 3; v++)
                for (int t = 0; t < FS_N; t++) {
                    uint64_t x = which ? e->set_records[v][t] : e->sets[v][t];
                    if (!x)
                        continue;
                    const char *kv[] = {"router", ip,          "version", nf_versions[v],
                                        "type",   fs_names[t], NULL};
                    counter_u(b, name, kv, x);
                }
        }
    }
    family(b, "goflow2_flow_process_nf_delay_seconds", "summary",
           "NetFlows time difference between time of flow and processing.");
    for (const rent_t *e = m->r_all; e; e = e->all) {
        addr_text(&e->src, ip, sizeof(ip));
        for (int v = 1; v < 3; v++)
            if (e->delay_n[v]) {
                const char *kv[] = {"router", ip, "version", nf_versions[v], NULL};
                sample(b, "goflow2_flow_process_nf_delay_seconds_sum", kv, e->delay_sum[v]);
                counter_u(b, "goflow2_flow_process_nf_delay_seconds_count", kv, e->delay_n[v]);
            }
    }
    family(b, "flowkit_collector_sequence_lost_total", "counter",
           "NetFlow/IPFIX records (v5, IPFIX) or datagrams (v9) missing by sequence numbers.");
    for (const rent_t *e = m->r_all; e; e = e->all) {
        addr_text(&e->src, ip, sizeof(ip));
        for (int v = 0; v < 3; v++)
            if (e->seq_lost[v]) {
                const char *kv[] = {"router", ip, "version", nf_versions[v], NULL};
                counter_u(b, "flowkit_collector_sequence_lost_total", kv, e->seq_lost[v]);
            }
    }
}

static void write_sflow(fc_metrics_t *m, fk_buf_t *b)
{
    char ip[INET6_ADDRSTRLEN], ag[INET6_ADDRSTRLEN];
    family(b, "goflow2_flow_process_sf_total", "counter", "sFlows processed.");
    for (const sent_t *e = m->s_all; e; e = e->all) {
        addr_text(&e->src, ip, sizeof(ip));
        if (e->agent.len)
            addr_text(&e->agent, ag, sizeof(ag));
        else
            snprintf(ag, sizeof(ag), "unk");
        const char *kv[] = {"router", ip, "agent", ag, "version", "5", NULL};
        counter_u(b, "goflow2_flow_process_sf_total", kv, e->datagrams);
    }
    /* flowkit's sFlow decoder counts flow samples (1 and expanded 3) together,
     * and counter samples (2 and expanded 4) together: they are reported
     * under GoFlow2's FlowSample and CounterSample types. */
    family(b, "goflow2_flow_process_sf_samples_total", "counter", "SFlows samples sum.");
    for (const sent_t *e = m->s_all; e; e = e->all) {
        addr_text(&e->src, ip, sizeof(ip));
        if (e->agent.len)
            addr_text(&e->agent, ag, sizeof(ag));
        else
            snprintf(ag, sizeof(ag), "unk");
        for (int t = 0; t < SF_N; t++)
            if (e->samples[t]) {
                const char *kv[] = {"router", ip,     "agent",     ag,  "version",
                                    "5",      "type", sf_names[t], NULL};
                counter_u(b, "goflow2_flow_process_sf_samples_total", kv, e->samples[t]);
            }
    }
}

static void write_pstats(const fc_pstats_t *p, fk_buf_t *b)
{
    family(b, "flowkit_collector_datagrams_total", "counter",
           "Datagrams (and TCP messages) received.");
    counter_u(b, "flowkit_collector_datagrams_total", NULL, p->received);
    family(b, "flowkit_collector_dropped_datagrams_total", "counter",
           "Datagrams lost before decoding: queue full (non-blocking listeners) or dropped by the "
           "kernel (socket buffer full).");
    {
        const char *q[] = {"reason", "queue_full", NULL};
        const char *k[] = {"reason", "kernel", NULL};
        counter_u(b, "flowkit_collector_dropped_datagrams_total", q, p->dropped);
        counter_u(b, "flowkit_collector_dropped_datagrams_total", k, p->kernel_drops);
    }
    family(b, "flowkit_collector_unknown_datagrams_total", "counter",
           "Datagrams of no known protocol.");
    counter_u(b, "flowkit_collector_unknown_datagrams_total", NULL, p->unknown);
    family(b, "flowkit_collector_records_total", "counter", "Flow records produced.");
    counter_u(b, "flowkit_collector_records_total", NULL, p->records);
    family(
        b, "flowkit_collector_decode_errors_total", "counter",
        "Decoding problems by protocol and class (truncated, invalid, unsupported, no_template).");
    const struct {
        const char *proto;
        const fc_dstats_t *d;
    } pr[] = {{"netflow", &p->nf}, {"sflow", &p->sf}};
    for (int i = 0; i < 2; i++) {
        const char *c[][2] = {
            {"truncated", NULL}, {"invalid", NULL}, {"unsupported", NULL}, {"no_template", NULL}};
        uint64_t v[] = {pr[i].d->truncated, pr[i].d->invalid, pr[i].d->bad_version,
                        pr[i].d->no_template};
        for (int j = 0; j < 4; j++) {
            if (i == 1 && j == 3)
                continue;
            const char *kv[] = {"protocol", pr[i].proto, "class", c[j][0], NULL};
            counter_u(b, "flowkit_collector_decode_errors_total", kv, v[j]);
        }
    }
    family(b, "flowkit_collector_sequence_lost_sum_total", "counter",
           "Units missing by sequence numbers, all exporters (NetFlow/IPFIX, sFlow datagrams).");
    {
        const char *n[] = {"protocol", "netflow", NULL};
        const char *s[] = {"protocol", "sflow", NULL};
        counter_u(b, "flowkit_collector_sequence_lost_sum_total", n, p->nf.seq_lost);
        counter_u(b, "flowkit_collector_sequence_lost_sum_total", s, p->sf.seq_lost);
    }
    family(b, "flowkit_collector_templates_learned_total", "counter",
           "(Options) template records read.");
    counter_u(b, "flowkit_collector_templates_learned_total", NULL, p->nf.templates);
    family(b, "flowkit_collector_tcp_sessions_total", "counter",
           "IPFIX-over-TCP connections accepted.");
    counter_u(b, "flowkit_collector_tcp_sessions_total", NULL, p->tcp_sessions);
    family(b, "flowkit_collector_tcp_stream_errors_total", "counter",
           "TCP streams closed because their framing was broken.");
    counter_u(b, "flowkit_collector_tcp_stream_errors_total", NULL, p->tcp_errors);
    family(b, "flowkit_collector_template_snapshots_total", "counter",
           "Template persistence writes (-templates.json.path) by result.");
    {
        const char *ok[] = {"result", "ok", NULL};
        const char *err[] = {"result", "error", NULL};
        counter_u(b, "flowkit_collector_template_snapshots_total", ok, p->persist_writes);
        counter_u(b, "flowkit_collector_template_snapshots_total", err, p->persist_errors);
    }
}

/* process_* as client_golang's process collector exports them (Linux /proc). */
static void write_process(fc_metrics_t *m, fk_buf_t *b)
{
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/stat", "r");
    unsigned long utime = 0, stime = 0, vsize = 0;
    long rss = 0;
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')'); /* comm may hold spaces */
        if (p && sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                        "%*d %*u %lu %ld",
                        &utime, &stime, &vsize, &rss) == 4) {
            family(b, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.");
            sample(b, "process_cpu_seconds_total", NULL, (double)(utime + stime) / (double)tck);
            family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
            sample(b, "process_resident_memory_bytes", NULL, (double)rss * (double)page);
            family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
            sample(b, "process_virtual_memory_bytes", NULL, (double)vsize);
        }
        fclose(f);
    }
    size_t fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *de; (de = readdir(d));)
            if (de->d_name[0] != '.')
                fds++;
        closedir(d);
        family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        sample(b, "process_open_fds", NULL, (double)(fds ? fds - 1 : 0));
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        sample(b, "process_max_fds", NULL, (double)rl.rlim_cur);
    }
    family(b, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
    sample(b, "process_start_time_seconds", NULL, (double)m->start_ns / 1e9);
}

void fc_metrics_write(fc_metrics_t *m, fk_buf_t *b)
{
    pthread_mutex_lock(&m->mu);
    write_receiver(m, b);
    write_decoder(m, b);
    write_netflow(m, b);
    write_sflow(m, b);
    write_pstats(&m->pst, b);
    pthread_mutex_unlock(&m->mu);
    write_process(m, b);
}

/* ---------------------------------------------------------------- templates */

typedef struct tpl_ctx_st {
    fk_buf_t *b;
    int what; /* 0 count, 1 added, 2 updated, 3 accessed */
    const char *name;
} tpl_ctx_t;

static void tpl_one(void *arg, const fc_tmpl_info_t *ti)
{
    tpl_ctx_t *c = arg;
    char ip[INET6_ADDRSTRLEN], ver[4], dom[12], id[8];
    addr_text(&ti->k->addr, ip, sizeof(ip));
    snprintf(ver, sizeof(ver), "%u", ti->k->version);
    snprintf(dom, sizeof(dom), "%u", (unsigned)ti->k->domain);
    snprintf(id, sizeof(id), "%u", ti->id);
    /* GoFlow2 labels the router by address only (goflow2-spec.md 6) */
    const char *kv[] = {"router",
                        ip,
                        "version",
                        ver,
                        "obs_domain_id",
                        dom,
                        "template_id",
                        id,
                        "type",
                        ti->t->options ? "options_template" : "template",
                        NULL};
    switch (c->what) {
    case 0:
        counter_u(c->b, c->name, kv, ti->updates);
        break;
    case 1:
        sample(c->b, c->name, kv, (double)(ti->added_ns / 1000000000ULL));
        break;
    case 2:
        sample(c->b, c->name, kv, (double)(ti->updated_ns / 1000000000ULL));
        break;
    default:
        if (ti->accessed_ns)
            sample(c->b, c->name, kv, (double)(ti->accessed_ns / 1000000000ULL));
    }
}

void fc_metrics_write_templates(const fc_state_t *s, fk_buf_t *b)
{
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"goflow2_flow_process_nf_templates_total", "counter", "NetFlows Template count."},
        {"goflow2_flow_process_nf_template_added_timestamp_seconds", "gauge",
         "Unix time a template was added."},
        {"goflow2_flow_process_nf_template_updated_timestamp_seconds", "gauge",
         "Unix time a template was last updated."},
        {"goflow2_flow_process_nf_template_accessed_timestamp_seconds", "gauge",
         "Unix time a template was last used by a data set."},
    };
    for (int i = 0; i < 4; i++) {
        tpl_ctx_t c = {b, i, fams[i].name};
        family(b, fams[i].name, fams[i].type, fams[i].help);
        fc_state_foreach_template(s, tpl_one, &c);
    }
    family(b, "flowkit_collector_templates", "gauge", "Templates held.");
    sample(b, "flowkit_collector_templates", NULL, (double)fc_state_templates(s));
}

void fc_metrics_write_transport(const char *name, const fc_tstats_t *st, fk_buf_t *b)
{
    family(b, "flowkit_collector_transport_messages_total", "counter",
           "Records handed to the transport by result: delivered (written, or acknowledged by "
           "Kafka), failed (write error, delivery error or timeout, unsent at exit), queue_full "
           "(refused: local queue at its bound).");
    const char *d[] = {"transport", name, "result", "delivered", NULL};
    const char *f[] = {"transport", name, "result", "failed", NULL};
    const char *q[] = {"transport", name, "result", "queue_full", NULL};
    counter_u(b, "flowkit_collector_transport_messages_total", d, st->delivered);
    counter_u(b, "flowkit_collector_transport_messages_total", f, st->failed);
    counter_u(b, "flowkit_collector_transport_messages_total", q, st->queue_full);
    const char *t[] = {"transport", name, NULL};
    family(b, "flowkit_collector_transport_queued", "gauge",
           "Records handed over and not yet delivered or failed.");
    sample(b, "flowkit_collector_transport_queued", t, (double)st->queued);
    family(b, "flowkit_collector_transport_bytes_total", "counter",
           "Bytes of records handed to the transport.");
    counter_u(b, "flowkit_collector_transport_bytes_total", t, st->bytes);
    family(b, "flowkit_collector_transport_received_total", "counter",
           "Records handed to the transport.");
    counter_u(b, "flowkit_collector_transport_received_total", t, st->messages);
}
