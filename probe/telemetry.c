/*
 * telemetry.c - see telemetry.h.
 */
#include "telemetry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../lib/packet/packet.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prometheus label value escaping: backslash, double quote and newline. */
static void label(fk_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fk_buf_putc(b, '\\'), fk_buf_putc(b, *s);
        else if (*s == '\n')
            fk_buf_puts(b, "\\n");
        else
            fk_buf_putc(b, *s);
    }
}

typedef enum { COUNTER, GAUGE } kind_t;

static void meta(fk_buf_t *b, const char *name, kind_t k, const char *help)
{
    fk_buf_printf(b, "# HELP flowprobe_%s %s\n# TYPE flowprobe_%s %s\n", name, help, name,
                  k == COUNTER ? "counter" : "gauge");
}

static void sample_w(fk_buf_t *b, const char *name, size_t i, const char *lbl, uint64_t v)
{
    fk_buf_printf(b, "flowprobe_%s{input=\"%zu\",source=\"", name, i);
    label(b, lbl);
    fk_buf_puts(b, "\"} ");
    fk_buf_u64(b, v);
    fk_buf_putc(b, '\n');
}

/* One metric with a sample per worker, read from its snapshot by `off`. */
typedef struct wmetric_st {
    const char *name;
    kind_t kind;
    const char *help;
    enum { SRC_PARSE, SRC_CACHE, SRC_INPUT } src;
    size_t off;
} wmetric_t;

#define PM(n, k, h, m)                                    \
    {                                                     \
        n, k, h, SRC_PARSE, offsetof(fp_parse_stats_t, m) \
    }
#define CM(n, k, h, m)                                    \
    {                                                     \
        n, k, h, SRC_CACHE, offsetof(fp_cache_stats_t, m) \
    }
#define IM(n, k, h, m)                                    \
    {                                                     \
        n, k, h, SRC_INPUT, offsetof(fp_input_stats_t, m) \
    }

static const wmetric_t g_wmetrics[] = {
    PM("input_packets_total", COUNTER, "Frames read from the input.", frames),
    PM("input_bytes_total", COUNTER, "Bytes on the wire of the frames read.", frame_bytes),
    PM("input_parsed_packets_total", COUNTER, "Frames with a flow key.", parsed),
    PM("input_parsed_bytes_total", COUNTER, "IP-layer bytes of the frames with a flow key.",
       parsed_bytes),
    PM("input_not_parsed_packets_total", COUNTER, "Frames without a flow key.", not_parsed),
    IM("input_kernel_received_total", COUNTER, "Frames the kernel handed to the capture.",
       received),
    IM("input_kernel_drops_total", COUNTER,
       "Frames the kernel dropped because the capture buffer was full.", drops),
    IM("input_interface_drops_total", COUNTER, "Frames the interface or driver dropped.", if_drops),
    IM("input_filtered_total", COUNTER, "Frames rejected by the user-space BPF filter.", filtered),
    IM("input_damaged_records_total", COUNTER, "Capture records that could not be read.", damaged),
    CM("cache_hits_total", COUNTER, "Packets that found their flow in the cache.", hits),
    CM("cache_misses_total", COUNTER, "Packets that created a flow.", created),
    CM("cache_flows", GAUGE, "Flows in the cache now.", flows),
    CM("cache_flows_peak", GAUGE, "Most flows in the cache at once.", peak_flows),
    CM("cache_exported_flows_total", COUNTER, "Flows handed to the output thread.", exported),
    CM("cache_exported_packets_total", COUNTER, "Packets of the exported flows.", exported_packets),
    CM("cache_exported_bytes_total", COUNTER, "Bytes of the exported flows.", exported_bytes),
    CM("cache_evictions_total", COUNTER,
       "Flows ended early because their cache row was full (ipfixprobe's 'no resources').",
       end_no_res),
    CM("cache_fragment_hits_total", COUNTER, "Later fragments matched to their first fragment.",
       frag_hits),
    CM("cache_fragment_misses_total", COUNTER, "Later fragments whose first fragment was not seen.",
       frag_misses),
    CM("cache_plugin_bodies", GAUGE,
       "Plugin records kept out of the flow slots (bodies), held by flows or free records now.",
       bodies),
    CM("cache_plugin_body_misses_total", COUNTER,
       "Plugin bodies asked for when none was left; 0 unless a plugin loses track of them.",
       body_misses),
};

static uint64_t wvalue(const wmetric_t *m, const fp_worker_snap_t *s)
{
    const void *base = m->src == SRC_PARSE   ? (const void *)&s->parse
                       : m->src == SRC_CACHE ? (const void *)&s->cache
                                             : (const void *)&s->input;
    uint64_t v;
    memcpy(&v, (const uint8_t *)base + m->off, sizeof(v));
    return v;
}

static const struct {
    const char *reason;
    size_t off;
} g_ends[] = {
    {"inactive", offsetof(fp_cache_stats_t, end_inactive)},
    {"active", offsetof(fp_cache_stats_t, end_active)},
    {"tcp", offsetof(fp_cache_stats_t, end_tcp)},
    {"forced", offsetof(fp_cache_stats_t, end_plugin)},
    {"no_resources", offsetof(fp_cache_stats_t, end_no_res)},
    {"end_of_input", offsetof(fp_cache_stats_t, end_input)},
};

void fp_telemetry_prom(fk_buf_t *b, const fp_telemetry_t *t)
{
    fp_worker_snap_t snaps[t->nworkers ? t->nworkers : 1];
    fp_exporter_stats_t xs;

    for (size_t i = 0; i < t->nworkers; i++)
        fp_worker_snapshot(&t->workers[i], &snaps[i]);
    fp_exporter_snapshot(t->exporter, &xs);

    meta(b, "uptime_seconds", GAUGE, "Seconds since flowprobe started.");
    fk_buf_printf(b, "flowprobe_uptime_seconds %.3f\n", mono() - t->started);
    meta(b, "input_running", GAUGE, "1 while the input is being read.");
    for (size_t i = 0; i < t->nworkers; i++)
        sample_w(b, "input_running", i, t->workers[i].label, snaps[i].running);
    for (size_t m = 0; m < sizeof(g_wmetrics) / sizeof(g_wmetrics[0]); m++) {
        meta(b, g_wmetrics[m].name, g_wmetrics[m].kind, g_wmetrics[m].help);
        for (size_t i = 0; i < t->nworkers; i++)
            sample_w(b, g_wmetrics[m].name, i, t->workers[i].label,
                     wvalue(&g_wmetrics[m], &snaps[i]));
    }
    meta(b, "input_parse_errors_total", COUNTER,
         "Frames whose parsing stopped early, by layer and reason.");
    for (size_t i = 0; i < t->nworkers; i++)
        for (int l = 1; l < FK_LAYER_COUNT_; l++)
            for (int r = 1; r < FK_PERR_COUNT_; r++) {
                uint64_t v = snaps[i].parse.reason[l][r];
                if (!v)
                    continue;
                fk_buf_printf(b, "flowprobe_input_parse_errors_total{input=\"%zu\",source=\"", i);
                label(b, t->workers[i].label);
                fk_buf_printf(b, "\",layer=\"%s\",reason=\"%s\"} ", fk_layer_name(l),
                              fk_perr_name(r));
                fk_buf_u64(b, v);
                fk_buf_putc(b, '\n');
            }
    meta(b, "cache_flows_ended_total", COUNTER, "Flows ended, by reason.");
    for (size_t i = 0; i < t->nworkers; i++)
        for (size_t k = 0; k < sizeof(g_ends) / sizeof(g_ends[0]); k++) {
            uint64_t v;
            memcpy(&v, (const uint8_t *)&snaps[i].cache + g_ends[k].off, sizeof(v));
            fk_buf_printf(b, "flowprobe_cache_flows_ended_total{input=\"%zu\",source=\"", i);
            label(b, t->workers[i].label);
            fk_buf_printf(b, "\",reason=\"%s\"} ", g_ends[k].reason);
            fk_buf_u64(b, v);
            fk_buf_putc(b, '\n');
        }
    meta(b, "worker_cpu_seconds_total", COUNTER, "CPU seconds used by the input's worker thread.");
    for (size_t i = 0; i < t->nworkers; i++) {
        fk_buf_printf(b, "flowprobe_worker_cpu_seconds_total{input=\"%zu\",source=\"", i);
        label(b, t->workers[i].label);
        fk_buf_printf(b, "\"} %.6f\n", snaps[i].cpu_s);
    }

    meta(b, "output_flows_total", COUNTER, "Flows written by the output thread.");
    fk_buf_printf(b, "flowprobe_output_flows_total %llu\n", (unsigned long long)xs.flows);
    meta(b, "output_queue_full_total", COUNTER,
         "Times a worker found its queue to the output thread full and waited.");
    fk_buf_printf(b, "flowprobe_output_queue_full_total %llu\n", (unsigned long long)xs.full_waits);
    meta(b, "output_cpu_seconds_total", COUNTER, "CPU seconds used by the output thread.");
    fk_buf_printf(b, "flowprobe_output_cpu_seconds_total %.6f\n", xs.cpu_s);
    meta(b, "output_errors_total", COUNTER, "Failed writes, per output.");
    for (size_t i = 0; i < t->nouts; i++) {
        fk_buf_printf(b, "flowprobe_output_errors_total{output=\"%zu\",sink=\"", i);
        label(b, t->outs[i].arg);
        fk_buf_puts(b, "\"} ");
        fk_buf_u64(b, __atomic_load_n(&t->outs[i].errors, __ATOMIC_RELAXED));
        fk_buf_putc(b, '\n');
    }
}

void fp_telemetry_text(fk_buf_t *b, const fp_telemetry_t *t)
{
    fp_exporter_stats_t xs;

    fk_buf_printf(b, "flowprobe telemetry after %.1f s\n", mono() - t->started);
    for (size_t i = 0; i < t->nworkers; i++) {
        fp_worker_snap_t s;
        fp_worker_snapshot(&t->workers[i], &s);
        fk_buf_printf(b, "input %zu (%s)%s\n", i, t->workers[i].label,
                      s.running ? "" : " [finished]");
        fk_buf_printf(b, "  packets %llu  bytes %llu  parsed %llu  not parsed %llu\n",
                      (unsigned long long)s.parse.frames, (unsigned long long)s.parse.frame_bytes,
                      (unsigned long long)s.parse.parsed, (unsigned long long)s.parse.not_parsed);
        if (s.input.received || s.input.drops || s.input.if_drops)
            fk_buf_printf(b, "  kernel: received %llu  dropped %llu  interface dropped %llu\n",
                          (unsigned long long)s.input.received, (unsigned long long)s.input.drops,
                          (unsigned long long)s.input.if_drops);
        if (s.input.filtered || s.input.damaged)
            fk_buf_printf(b, "  filtered %llu  damaged records %llu\n",
                          (unsigned long long)s.input.filtered,
                          (unsigned long long)s.input.damaged);
        for (int l = 1; l < FK_LAYER_COUNT_; l++)
            for (int r = 1; r < FK_PERR_COUNT_; r++)
                if (s.parse.reason[l][r])
                    fk_buf_printf(b, "  parse %s %s: %llu\n", fk_layer_name(l), fk_perr_name(r),
                                  (unsigned long long)s.parse.reason[l][r]);
        fk_buf_printf(b,
                      "  cache: hits %llu  misses %llu  flows %llu (peak %llu)  evictions %llu\n",
                      (unsigned long long)s.cache.hits, (unsigned long long)s.cache.created,
                      (unsigned long long)s.cache.flows, (unsigned long long)s.cache.peak_flows,
                      (unsigned long long)s.cache.end_no_res);
        fk_buf_printf(b,
                      "  ended: inactive %llu  active %llu  tcp %llu  forced %llu  "
                      "end of input %llu\n",
                      (unsigned long long)s.cache.end_inactive,
                      (unsigned long long)s.cache.end_active, (unsigned long long)s.cache.end_tcp,
                      (unsigned long long)s.cache.end_plugin,
                      (unsigned long long)s.cache.end_input);
        fk_buf_printf(b, "  exported %llu flows (%llu packets, %llu bytes)  cpu %.3f s\n",
                      (unsigned long long)s.cache.exported,
                      (unsigned long long)s.cache.exported_packets,
                      (unsigned long long)s.cache.exported_bytes, s.cpu_s);
    }
    fp_exporter_snapshot(t->exporter, &xs);
    fk_buf_printf(b, "output: %llu flows written  queue full %llu times  cpu %.3f s\n",
                  (unsigned long long)xs.flows, (unsigned long long)xs.full_waits, xs.cpu_s);
    for (size_t i = 0; i < t->nouts; i++)
        fk_buf_printf(b, "  %s: %llu errors\n", t->outs[i].arg,
                      (unsigned long long)__atomic_load_n(&t->outs[i].errors, __ATOMIC_RELAXED));
}

static int write_atomic(const char *dir, const char *name, const fk_buf_t *b, fk_err_t *e)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return fk_errf(e, "-t: cannot write '%s': %s", tmp, strerror(errno));
    size_t w = fwrite(b->data, 1, b->len, f);
    if (fclose(f) != 0 || w != b->len) {
        remove(tmp);
        return fk_errf(e, "-t: cannot write '%s': %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0)
        return fk_errf(e, "-t: cannot replace '%s': %s", path, strerror(errno));
    return 0;
}

int fp_telemetry_write_dir(const char *dir, const fp_telemetry_t *t, fk_err_t *e)
{
    fk_buf_t b;
    int rc;

    if (fk_buf_init(&b, NULL, 16384) < 0)
        return fk_errf(e, "-t: out of memory");
    fp_telemetry_text(&b, t);
    rc = write_atomic(dir, "stats", &b, e);
    if (rc == 0) {
        b.len = 0;
        fp_telemetry_prom(&b, t);
        rc = write_atomic(dir, "metrics", &b, e);
    }
    fk_buf_free(&b);
    return rc;
}
