/*
 * main.c - flowprobe: packets -> biflows -> outputs, with ipfixprobe's
 * command line.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/core/httpd.h"
#include "../lib/core/log.h"
#include "../lib/core/opts.h"
#include "cache/cache.h"
#include "exporter.h"
#include "flow.h"
#include "input/input.h"
#include "output/output.h"
#include "plugin.h"
#include "telemetry.h"
#include "worker.h"

#ifndef FK_VERSION
#define FK_VERSION "0.1.0"
#endif

#define MAX_ARGS 64

/* Exit statuses: 2 for anything wrong in the command line, 1 for run-time failures. */
#define EXIT_USAGE 2
#define EXIT_RUN   1

/* ipfixprobe's default -Q: flows queued between a worker and the output thread. */
#define DEFAULT_OQUEUE 16536

#define MAX_CONFIG_ARGS 256
#define MAX_PIN         (MAX_ARGS + 1)

typedef struct probe_st {
    const char *inputs[MAX_ARGS];
    size_t ninputs;
    const char *outputs[MAX_ARGS];
    size_t noutputs;
    const char *procs[FP_MAX_PLUGINS];
    size_t nprocs;
    const char *storage;
    uint64_t count;
    const char *pidfile;
    uint64_t oqueue;
    uint64_t fps;
    fp_input_cfg_t icfg;   /* -B, -q, -b */
    const char *telemetry; /* -t DIR */
    const char *metrics;   /* --metrics ADDR */
    bool daemon;           /* -d */
    int pin[MAX_PIN];      /* --pin: CPU of worker i; the one after the last worker: output */
    size_t npin;

    fp_plugin_inst_t plugins[FP_MAX_PLUGINS];
    size_t nplugins;
    fp_outinst_t outs[MAX_ARGS];
    size_t nouts;
    fp_exporter_t *exporter;
} probe_t;

static volatile sig_atomic_t g_stop, g_hup, g_usr1;
static fp_exporter_t *g_exporter; /* where every worker's cache sends finished flows */

static void on_signal(int sig)
{
    static const char msg[] = "flowprobe: second signal: exiting without exporting the cache\n";

    switch (sig) {
    case SIGHUP:
        g_hup = 1;
        break;
    case SIGUSR1:
        g_usr1 = 1;
        break;
    default:
        /* The first SIGINT/SIGTERM stops the inputs and exports every flow;
         * an operator who insists gets out at once. */
        if (g_stop) {
            if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
            }
            _exit(EXIT_RUN);
        }
        g_stop = 1;
        break;
    }
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: flowprobe [options] -i INPUT [-s STORAGE] [-p PLUGIN]... [-o OUTPUT]...\n"
        "Make biflow records from packets and export them (ipfixprobe's command line).\n"
        "\n"
        "  -i, --input=ARGS      Activate an input plugin (-h input); repeatable\n"
        "  -s, --storage=ARGS    Configure the flow cache (-h storage)\n"
        "  -o, --output=ARGS     Activate an output plugin (-h output); default 'text'\n"
        "  -p, --process=ARGS    Activate a processing plugin (-h process); repeatable\n"
        "  -c, --count=SIZE      Quit after SIZE packets on each input\n"
        "  -q, --iqueue=SIZE     Live inputs: kernel buffer in blocks of -b frames (default 64)\n"
        "  -b, --iqueueblock=SIZE  Frames a worker takes from its input per step (default 32)\n"
        "  -B, --pbuf=SIZE       Bytes kept of each live frame (default 1600)\n"
        "  -Q, --oqueue=SIZE     Flows queued between each input and the output thread\n"
        "                        (default 16536)\n"
        "  -f, --fps=NUM         Export at most NUM flows per second (default: no limit)\n"
        "  -P, --pid=FILE        Write the process id to FILE\n"
        "  -t, --telemetry=DIR   Keep DIR/stats (text) and DIR/metrics (Prometheus) up to date\n"
        "      --metrics=ADDR    Serve Prometheus metrics on http://ADDR/metrics (e.g. :9101)\n"
        "      --pin=CPU,...     Pin worker i to the i-th CPU; one more CPU pins the output\n"
        "                        thread\n"
        "  -d, --daemon          Run in the background (use file or network outputs)\n"
        "      --config=FILE     Read options from FILE: one 'long-option value' per line\n"
        "  -h, --help[=PLUGIN]   Print this help, or help for input, storage, output,\n"
        "                        process or one plugin by name\n"
        "  -V, --version         Show the version and exit\n"
        "\n"
        "ARGS are 'NAME;key=value;flag;...', e.g. -i 'pcap;file=capture.pcap;filter=tcp'.\n"
        "Each -i gets its own worker thread and flow cache.\n"
        "\n"
        "Examples:\n"
        "  flowprobe -i 'pcap;file=capture.pcap' -o text\n"
        "  flowprobe -i 'pcap;file=capture.pcap' -s 'cache;a=60;i=10' -o 'csv;file=flows.csv'\n"
        "  flowprobe -i 'raw;ifc=eth0;f' -i 'raw;ifc=eth0;f' -o 'ipfix;h=collector;p=4739'\n"
        "  flowprobe -i 'pcap;ifc=eth0;filter=tcp' -o json --metrics :9101\n"
        "\n"
        "Signals: SIGINT/SIGTERM stop the inputs, export every cached flow and exit;\n"
        "SIGHUP reopens output files; SIGUSR1 prints the counters on stderr.\n"
        "At the end a summary line per input goes to stderr; when stderr is a terminal a\n"
        "progress line shows how far a long capture has been read.\n");
}

static void help_opts(FILE *f, const char *kind, const char *name, const char *summary,
                      const fk_optspec_t *spec)
{
    fprintf(f, "%s plugin: %s\n  %s\n", kind, name, summary);
    if (spec && spec[0].lname) {
        fprintf(f, "  Parameters:\n");
        fk_opts_help(f, spec);
    } else {
        fprintf(f, "  Parameters: none\n");
    }
    fprintf(f, "\n");
}

static void help_plugin(FILE *f, const fp_plugin_t *p)
{
    help_opts(f, "Processing", p->name, p->summary, p->options);
    fprintf(f, "  Fields:\n");
    for (size_t i = 0; i < p->nfields; i++)
        fprintf(f, "    %-32s %-8s json %s\n", p->fields[i].name,
                fk_ftype_unirec((fk_ftype_t)p->fields[i].type), p->fields[i].json);
    fprintf(f, "\n");
}

/* -h [what]: 0 when `what` was understood. */
static int help(const char *what)
{
    FILE *f = stdout;
    int found = 0;

    if (!what) {
        usage(f);
        return 0;
    }
    if (strcmp(what, "input") == 0) {
        for (size_t i = 0; fp_inputs[i]; i++)
            help_opts(f, "Input", fp_inputs[i]->name, fp_inputs[i]->summary, fp_inputs[i]->options);
        return 0;
    }
    if (strcmp(what, "storage") == 0) {
        help_opts(f, "Storage", "cache", "Biflow cache (set-associative, packet-time timeouts)",
                  fp_cache_options);
        return 0;
    }
    if (strcmp(what, "output") == 0) {
        for (size_t i = 0; fp_outputs[i]; i++)
            help_opts(f, "Output", fp_outputs[i]->name, fp_outputs[i]->summary,
                      fp_outputs[i]->options);
        return 0;
    }
    if (strcmp(what, "process") == 0) {
        fprintf(f, "Processing plugins add application fields to flows (-p NAME).\n");
        fprintf(f, "The basic fields every flow carries:\n");
        for (size_t i = 0; i < fp_basic_nfields; i++)
            fprintf(f, "    %-32s %-8s json %s\n", fp_basic_fields[i].name,
                    fk_ftype_unirec((fk_ftype_t)fp_basic_fields[i].type), fp_basic_fields[i].json);
        fprintf(f, "\n");
        if (!fp_plugins[0])
            fprintf(f, "No processing plugins are compiled into this build.\n");
        for (size_t i = 0; fp_plugins[i]; i++)
            help_plugin(f, fp_plugins[i]);
        return 0;
    }
    for (size_t i = 0; fp_inputs[i]; i++)
        if (strcmp(what, fp_inputs[i]->name) == 0) {
            help_opts(f, "Input", fp_inputs[i]->name, fp_inputs[i]->summary, fp_inputs[i]->options);
            found = 1;
        }
    for (size_t i = 0; fp_outputs[i]; i++)
        if (strcmp(what, fp_outputs[i]->name) == 0) {
            help_opts(f, "Output", fp_outputs[i]->name, fp_outputs[i]->summary,
                      fp_outputs[i]->options);
            found = 1;
        }
    if (strcmp(what, "cache") == 0) {
        help_opts(f, "Storage", "cache", "Biflow cache (set-associative, packet-time timeouts)",
                  fp_cache_options);
        found = 1;
    }
    const fp_plugin_t *p = fp_plugin_find(what);
    if (p) {
        help_plugin(f, p);
        found = 1;
    }
    if (!found) {
        fk_err("no help for '%s': expected input, storage, output, process or a plugin name", what);
        return -1;
    }
    return 0;
}

/* Close outputs and plugins; -1 when an output lost data on the way. */
static int close_all(probe_t *pr)
{
    int rc = 0;

    for (size_t i = 0; i < pr->nouts; i++) {
        fk_err_t e;
        if (pr->outs[i].ctx && pr->outs[i].ops->close(pr->outs[i].ctx, &e) < 0) {
            fk_err("%s", e.msg);
            rc = -1;
        }
        pr->outs[i].ctx = NULL;
    }
    for (size_t i = 0; i < pr->nplugins; i++) {
        if (pr->plugins[i].p->fini)
            pr->plugins[i].p->fini(pr->plugins[i].ctx);
        free(pr->plugins[i].zero_record);
    }
    return rc;
}

/* The cache's export callback: into this worker's queue to the output thread. */
static const fp_flow_t *export_flow(void *arg, fp_flow_t *flow)
{
    const fp_worker_t *w = arg;
    return fp_exporter_put(g_exporter, w->index, flow);
}

/* The cache's peek callback: the record this worker's queue hands back next. */
static const fp_flow_t *peek_flow(void *arg)
{
    const fp_worker_t *w = arg;
    return fp_exporter_peek(g_exporter, w->index);
}

/* "-o ipfix: option 'p': ..." -- name the plugin unless the message already does. */
static void report_plugin_err(const char *opt, const char *name, const fk_err_t *e)
{
    size_t n = strlen(name);
    if (strncmp(e->msg, name, n) == 0 && e->msg[n] == ':')
        fk_err("%s %s", opt, e->msg);
    else
        fk_err("%s %s: %s", opt, name, e->msg);
}

static int setup_plugins(probe_t *pr)
{
    for (size_t i = 0; i < pr->nprocs; i++) {
        fk_opts_t o;
        fk_err_t e;
        const fp_plugin_t *p;
        fp_plugin_inst_t *pi = &pr->plugins[pr->nplugins];

        if (fk_opts_parse(pr->procs[i], &o, &e) < 0) {
            fk_err("-p: %s", e.msg);
            return -1;
        }
        p = fp_plugin_find(o.name);
        if (!p) {
            fk_err("-p %s: no such processing plugin (see -h process for the list)", o.name);
            fk_opts_free(&o);
            return -1;
        }
        if (p->abi != FP_PLUGIN_ABI) {
            fk_err("-p %s: plugin ABI %u, expected %u", o.name, p->abi, FP_PLUGIN_ABI);
            fk_opts_free(&o);
            return -1;
        }
        for (size_t j = 0; j < pr->nplugins; j++)
            if (pr->plugins[j].p == p) {
                fk_err("-p %s: given twice", o.name);
                fk_opts_free(&o);
                return -1;
            }
        pi->p = p;
        pi->zero_record = calloc(1, p->record_size ? p->record_size : 1);
        if (!pi->zero_record || (p->init && p->init(&pi->ctx, &o, &e) < 0)) {
            fk_err("-p %s: %s", o.name, pi->zero_record ? e.msg : "out of memory");
            free(pi->zero_record);
            fk_opts_free(&o);
            return -1;
        }
        pr->nplugins++;
        fk_opts_free(&o);
    }
    return 0;
}

static int setup_outputs(probe_t *pr, const fp_schema_t *schema)
{
    if (pr->noutputs == 0)
        pr->outputs[pr->noutputs++] = "text";
    for (size_t i = 0; i < pr->noutputs; i++) {
        fk_opts_t o;
        fk_err_t e;
        fp_outinst_t *oi = &pr->outs[pr->nouts];

        if (fk_opts_parse(pr->outputs[i], &o, &e) < 0) {
            fk_err("-o: %s", e.msg);
            return -1;
        }
        oi->ops = fp_output_find(o.name);
        if (!oi->ops) {
            fk_err("-o %s: no such output plugin (see -h output for the list)", o.name);
            fk_opts_free(&o);
            return -1;
        }
        oi->arg = pr->outputs[i];
        if (oi->ops->open(&oi->ctx, &o, schema, &e) < 0) {
            report_plugin_err("-o", o.name, &e);
            fk_opts_free(&o);
            return -1;
        }
        pr->nouts++;
        fk_opts_free(&o);
    }
    return 0;
}

/* "l3 unsupported 15, l2 truncated 1" */
static void reasons(char *out, size_t n, const fp_parse_stats_t *st)
{
    size_t len = 0;
    out[0] = '\0';
    for (int l = 1; l < FK_LAYER_COUNT_; l++)
        for (int r = 1; r < FK_PERR_COUNT_; r++)
            if (st->reason[l][r] && len < n) {
                int w =
                    snprintf(out + len, n - len, "%s%s %s %llu", len ? ", " : "", fk_layer_name(l),
                             fk_perr_name(r), (unsigned long long)st->reason[l][r]);
                if (w > 0)
                    len += (size_t)w;
            }
}

/* Open input `arg` and its flow cache into *w (validates the options). 0 / -1. */
static int open_input(probe_t *pr, const char *arg, const fp_cache_cfg_t *ccfg, fp_worker_t *w,
                      unsigned index)
{
    fk_opts_t o;
    fk_err_t e;

    memset(w, 0, sizeof(*w));
    w->index = index;
    pthread_mutex_init(&w->lock, NULL);
    if (fk_opts_parse(arg, &o, &e) < 0) {
        fk_err("-i: %s", e.msg);
        return -1;
    }
    w->in = fp_input_find(o.name);
    if (!w->in) {
        fk_err("-i %s: no such input plugin (see -h input for the list)", o.name);
        fk_opts_free(&o);
        return -1;
    }
    if (w->in->open(&w->in_ctx, &o, &pr->icfg, &e) < 0) {
        report_plugin_err("-i", o.name, &e);
        fk_opts_free(&o);
        w->in = NULL;
        return -1;
    }
    fk_opts_free(&o);
    w->cache = fp_cache_new(ccfg, pr->plugins, pr->nplugins, export_flow, w, &e);
    if (!w->cache) {
        fk_err("%s", e.msg);
        w->in->close(w->in_ctx);
        w->in = NULL;
        return -1;
    }
    fp_cache_set_peek(w->cache, peek_flow);
    w->label = arg;
    w->max_packets = pr->count;
    w->batch = pr->icfg.block;
    w->progress = pr->ninputs == 1 && isatty(STDERR_FILENO);
    w->stop = &g_stop;
    return 0;
}

/* Close the packet source; the cache stays (its lent records, below). */
static void close_source(fp_worker_t *w)
{
    if (w->in)
        w->in->close(w->in_ctx);
    w->in = NULL;
}

static void close_input(fp_worker_t *w)
{
    close_source(w);
    fp_cache_free(w->cache);
    w->cache = NULL;
}

/* Release what open_input set up that close_input leaves (after the thread ended). */
static void destroy_worker(fp_worker_t *w)
{
    close_input(w);
    pthread_mutex_destroy(&w->lock);
}

/* Run one opened input to its end and print its summary line. 0 / -1. */
static int run_input(fp_worker_t *w)
{
    fk_err_t e;
    int rc = 0;

    if (fp_worker_run(w, &e) < 0) {
        fk_err("%s", e.msg);
        rc = -1;
    }

    fp_cache_stats_t cs;
    fp_input_stats_t is = {0};
    char why[512];
    fp_cache_get_stats(w->cache, &cs);
    if (w->in->stats)
        w->in->stats(w->in_ctx, &is);
    reasons(why, sizeof(why), &w->st);
    /* The line is built whole and written with one call: several inputs end
     * at once, and stdio keeps one call's text together, not a line's. */
    fk_buf_t line;
    if (fk_buf_init(&line, NULL, 512) < 0) {
        fk_err("out of memory for the summary");
        return -1;
    }
    fk_buf_printf(&line,
                  "flowprobe: %s: %llu packets (%llu bytes), %llu parsed (%llu IP bytes), "
                  "%llu not parsed%s%s%s, %llu flows exported (%llu packets, %llu bytes)",
                  w->label, (unsigned long long)w->st.frames, (unsigned long long)w->st.frame_bytes,
                  (unsigned long long)w->st.parsed, (unsigned long long)w->st.parsed_bytes,
                  (unsigned long long)w->st.not_parsed, why[0] ? " (" : "", why, why[0] ? ")" : "",
                  (unsigned long long)cs.exported, (unsigned long long)cs.exported_packets,
                  (unsigned long long)cs.exported_bytes);
    if (is.received || is.drops || is.if_drops)
        fk_buf_printf(&line, ", kernel: %llu received, %llu dropped, %llu dropped by the interface",
                      (unsigned long long)is.received, (unsigned long long)is.drops,
                      (unsigned long long)is.if_drops);
    if (is.filtered)
        fk_buf_printf(&line, ", %llu filtered out", (unsigned long long)is.filtered);
    if (is.damaged)
        fk_buf_printf(&line, ", %llu damaged records", (unsigned long long)is.damaged);
    /* This thread's CPU time: the packet path's own cost per core (reading,
     * parsing, cache, plugins), apart from the output thread's. */
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0) {
        double s = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
        fk_buf_printf(&line, "; worker used %.3f s of CPU (%.0f packets/s)", s,
                      s > 0 ? (double)w->st.frames / s : 0.0);
    }
    fk_buf_putc(&line, '\n');
    fwrite(line.data, 1, line.len, stderr);
    fk_buf_free(&line);
    if (cs.exported_packets != w->st.parsed || cs.exported_bytes != w->st.parsed_bytes)
        fk_err("accounting mismatch: parsed %llu packets / %llu bytes, exported %llu / %llu",
               (unsigned long long)w->st.parsed, (unsigned long long)w->st.parsed_bytes,
               (unsigned long long)cs.exported_packets, (unsigned long long)cs.exported_bytes);
    return rc;
}

static const struct option g_longopts[] = {
    {"input", required_argument, NULL, 'i'},
    {"storage", required_argument, NULL, 's'},
    {"output", required_argument, NULL, 'o'},
    {"process", required_argument, NULL, 'p'},
    {"count", required_argument, NULL, 'c'},
    {"pid", required_argument, NULL, 'P'},
    {"help", optional_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"iqueue", required_argument, NULL, 'q'},
    {"iqueueblock", required_argument, NULL, 'b'},
    {"oqueue", required_argument, NULL, 'Q'},
    {"pbuf", required_argument, NULL, 'B'},
    {"fps", required_argument, NULL, 'f'},
    {"telemetry", required_argument, NULL, 't'},
    {"daemon", no_argument, NULL, 'd'},
    {"metrics", required_argument, NULL, 'M'},
    {"pin", required_argument, NULL, 'A'},
    {"config", required_argument, NULL, 'C'},
    {NULL, 0, NULL, 0},
};

/*
 * --config FILE: each line "long-option value" (or a bare flag such as
 * "daemon"); blank lines and lines starting with '#' are skipped.  The lines
 * become "--option=value" arguments placed before the command line's own, so
 * the command line adds to the file.  Returns the number of arguments added
 * to out[], or -1 after a message naming the file and line.
 */
static int load_config(const char *path, char **out, int max)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0, lineno = 0;

    if (!f) {
        fk_err("--config %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            fk_err("%s:%d: line longer than %zu characters", path, lineno, sizeof(line) - 2);
            goto fail;
        }
        while (len && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        char *k = line;
        while (isspace((unsigned char)*k))
            k++;
        if (!*k || *k == '#')
            continue;
        if (k[0] == '-' && k[1] == '-')
            k += 2;
        char *v = k;
        while (*v && !isspace((unsigned char)*v) && *v != '=')
            v++;
        if (*v)
            *v++ = '\0';
        while (isspace((unsigned char)*v) || *v == '=')
            v++;
        const struct option *o = NULL;
        for (size_t i = 0; g_longopts[i].name; i++)
            if (strcmp(g_longopts[i].name, k) == 0)
                o = &g_longopts[i];
        if (!o || o->val == 'C' || o->val == 'h' || o->val == 'V') {
            fk_err("%s:%d: unknown option '%s' (use the long names of flowprobe -h, e.g. "
                   "'input raw;ifc=eth0')",
                   path, lineno, k);
            goto fail;
        }
        if (o->has_arg == required_argument && !*v) {
            fk_err("%s:%d: option '%s' needs a value", path, lineno, k);
            goto fail;
        }
        if (o->has_arg == no_argument && *v) {
            fk_err("%s:%d: option '%s' takes no value", path, lineno, k);
            goto fail;
        }
        if (n == max) {
            fk_err("%s: more than %d options", path, max);
            goto fail;
        }
        size_t sz = strlen(k) + strlen(v) + 4;
        out[n] = malloc(sz);
        if (!out[n]) {
            fk_err("out of memory");
            goto fail;
        }
        snprintf(out[n], sz, *v ? "--%s=%s" : "--%s", k, v);
        n++;
    }
    fclose(f);
    return n;
fail:
    fclose(f);
    while (n)
        free(out[--n]);
    return -1;
}

/* "0,2,3" -> pin[]; 0 / -1 with a message. */
static int parse_pin(probe_t *pr, const char *arg)
{
    const char *p = arg;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);

    pr->npin = 0;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v >= CPU_SETSIZE || (ncpu > 0 && v >= ncpu)) {
            fk_err("--pin %s: expected a comma-separated list of CPU numbers below %ld", arg,
                   ncpu > 0 ? ncpu : (long)CPU_SETSIZE);
            return -1;
        }
        if (pr->npin == MAX_PIN) {
            fk_err("--pin %s: at most %d CPUs", arg, MAX_PIN);
            return -1;
        }
        pr->pin[pr->npin++] = (int)v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p) {
            fk_err("--pin %s: expected a comma-separated list of CPU numbers", arg);
            return -1;
        }
    }
    return 0;
}

static void pin_thread(pthread_t t, int cpu, const char *what)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int err = pthread_setaffinity_np(t, sizeof(set), &set);
    if (err)
        fk_warn("--pin: cannot pin %s to CPU %d: %s", what, cpu, strerror(err));
}

typedef struct wthread_st {
    fp_worker_t *w;
    pthread_t thread;
    atomic_int done;
    int rc;
} wthread_t;

static void *worker_main(void *arg)
{
    wthread_t *t = arg;

    t->rc = run_input(t->w);
    /* The cache's last flows are lent to the output thread (export_flow):
     * it is freed after fp_exporter_join. */
    close_source(t->w);
    fp_exporter_done(g_exporter, t->w->index);
    atomic_store(&t->done, 1);
    return NULL;
}

static int metrics_page(void *arg, const char *path, fk_buf_t *b, const char **ctype)
{
    const fp_telemetry_t *t = arg;

    if (strcmp(path, "/metrics") == 0) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        fp_telemetry_prom(b, t);
        return 200;
    }
    if (strcmp(path, "/") == 0) {
        fk_buf_puts(b, "flowprobe: Prometheus metrics at /metrics\n");
        return 200;
    }
    fk_buf_puts(b, "not found; try /metrics\n");
    return 404;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse a size option into *dst within [min, max]; 0 / -1 after a message. */
static int size_opt(const char *name, const char *arg, uint64_t min, uint64_t max, uint32_t *dst)
{
    fk_err_t e;
    uint64_t v;
    if (fk_opts_uint(name, arg, min, max, &v, &e) < 0) {
        fk_err("%s", e.msg);
        return -1;
    }
    *dst = (uint32_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    probe_t pr;
    fp_cache_cfg_t ccfg;
    int c, rc = 0;
    char *cfgargs[MAX_CONFIG_ARGS];
    int ncfg = 0;

    memset(&pr, 0, sizeof(pr));
    pr.icfg = (fp_input_cfg_t){FP_DEFAULT_PBUF, FP_DEFAULT_IQUEUE, FP_DEFAULT_IBLOCK};
    fk_log_init(argv[0], FK_LOG_WARN);

    /* --config FILE: its options go first, then the command line's. */
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        if (path) {
            ncfg = load_config(path, cfgargs, MAX_CONFIG_ARGS);
            if (ncfg < 0)
                return EXIT_USAGE;
            break;
        }
    }
    char **av = argv;
    int ac = argc;
    if (ncfg) {
        av = calloc((size_t)(argc + ncfg + 1), sizeof(*av));
        if (!av) {
            fk_err("out of memory");
            return EXIT_RUN;
        }
        av[0] = argv[0];
        memcpy(av + 1, cfgargs, (size_t)ncfg * sizeof(*av));
        memcpy(av + 1 + ncfg, argv + 1, (size_t)(argc - 1) * sizeof(*av));
        ac = argc + ncfg;
    }

    opterr = 0;
    while ((c = getopt_long(ac, av, ":i:s:o:p:c:P:h::Vq:b:Q:B:f:t:d", g_longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (pr.ninputs == MAX_ARGS)
                goto too_many;
            pr.inputs[pr.ninputs++] = optarg;
            break;
        case 'o':
            if (pr.noutputs == MAX_ARGS)
                goto too_many;
            pr.outputs[pr.noutputs++] = optarg;
            break;
        case 'p':
            if (pr.nprocs == FP_MAX_PLUGINS)
                goto too_many;
            pr.procs[pr.nprocs++] = optarg;
            break;
        case 's':
            pr.storage = optarg;
            break;
        case 'c': {
            fk_err_t e;
            if (fk_opts_uint("-c", optarg, 1, UINT64_MAX, &pr.count, &e) < 0) {
                fk_err("%s", e.msg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'P':
            pr.pidfile = optarg;
            break;
        case 'h': {
            /* ipfixprobe accepts "-h input" as well as "-hinput"/"--help=input". */
            const char *what = optarg;
            if (!what && optind < ac && av[optind][0] != '-')
                what = av[optind++];
            return help(what) < 0 ? EXIT_USAGE : 0;
        }
        case 'V':
            printf("flowprobe (flowkit) %s\n", FK_VERSION);
            return 0;
        case 'Q':
        case 'f': {
            fk_err_t e;
            uint64_t *dst = c == 'Q' ? &pr.oqueue : &pr.fps;
            if (fk_opts_uint(c == 'Q' ? "-Q" : "-f", optarg, 1, c == 'Q' ? (1u << 24) : UINT32_MAX,
                             dst, &e) < 0) {
                fk_err("%s", e.msg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'q':
            if (size_opt("-q", optarg, 1, 1u << 20, &pr.icfg.queue) < 0)
                return EXIT_USAGE;
            break;
        case 'b':
            if (size_opt("-b", optarg, 1, FP_MAX_IBLOCK, &pr.icfg.block) < 0)
                return EXIT_USAGE;
            break;
        case 'B':
            if (size_opt("-B", optarg, 64, 65535, &pr.icfg.pbuf) < 0)
                return EXIT_USAGE;
            break;
        case 't':
            pr.telemetry = optarg;
            break;
        case 'M':
            pr.metrics = optarg;
            break;
        case 'A':
            if (parse_pin(&pr, optarg) < 0)
                return EXIT_USAGE;
            break;
        case 'C':
            break; /* read above */
        case 'd':
            pr.daemon = true;
            break;
        case ':':
            if (optopt)
                fk_err("option -%c needs an argument (see flowprobe -h)", optopt);
            else
                fk_err("option '%s' needs an argument (see flowprobe -h)", av[optind - 1]);
            return EXIT_USAGE;
        default:
            if (optopt)
                fk_err("unknown option -%c (see flowprobe -h)", optopt);
            else
                fk_err("unknown option '%s' (see flowprobe -h)", av[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < ac) {
        fk_err("unexpected argument '%s'; plugin arguments go after -i/-s/-o/-p (see -h)",
               av[optind]);
        return EXIT_USAGE;
    }
    if (pr.ninputs == 0) {
        fk_err("no input; use -i 'pcap;file=capture.pcap' or -i 'raw;ifc=eth0' (see -h input)");
        return EXIT_USAGE;
    }
    if (pr.telemetry) {
        if (access(pr.telemetry, W_OK) != 0) {
            fk_err("-t %s: not a writable directory: %s", pr.telemetry, strerror(errno));
            return EXIT_USAGE;
        }
    }

    fp_cache_cfg_default(&ccfg);
    if (pr.storage) {
        fk_opts_t o;
        fk_err_t e;
        if (fk_opts_parse(pr.storage, &o, &e) < 0) {
            fk_err("-s: %s", e.msg);
            return EXIT_USAGE;
        }
        if (strcmp(o.name, "cache") != 0) {
            fk_err("-s %s: no such storage plugin; the one storage is 'cache' (see -h storage)",
                   o.name);
            fk_opts_free(&o);
            return EXIT_USAGE;
        }
        if (fp_cache_cfg_apply(&ccfg, &o, &e) < 0) {
            fk_err("-s: %s", e.msg);
            fk_opts_free(&o);
            return EXIT_USAGE;
        }
        fk_opts_free(&o);
    }

    if (setup_plugins(&pr) < 0) {
        close_all(&pr);
        return EXIT_USAGE;
    }
    /* Open every input before reading any, so a bad -i fails at once. */
    fp_worker_t *workers = calloc(pr.ninputs, sizeof(*workers));
    wthread_t *threads = calloc(pr.ninputs, sizeof(*threads));
    if (!workers || !threads) {
        fk_err("out of memory");
        free(workers);
        free(threads);
        close_all(&pr);
        return EXIT_RUN;
    }
    /* The exporter reads each flow from its worker's cache (export_flow):
     * as many records as its ring holds are lent at once. */
    ccfg.lend = (uint32_t)fp_exporter_ring_entries(pr.oqueue ? pr.oqueue : DEFAULT_OQUEUE);
    size_t opened = 0;
    for (; opened < pr.ninputs; opened++)
        if (open_input(&pr, pr.inputs[opened], &ccfg, &workers[opened], (unsigned)opened) < 0)
            break;
    fp_schema_t schema = {fp_basic_fields, fp_basic_nfields, pr.plugins, pr.nplugins};
    if (opened < pr.ninputs || setup_outputs(&pr, &schema) < 0) {
        for (size_t i = 0; i < opened; i++)
            destroy_worker(&workers[i]);
        free(workers);
        free(threads);
        close_all(&pr);
        return EXIT_USAGE;
    }

    /* Into the background before any thread exists: fork keeps only the caller. */
    if (pr.daemon && daemon(1, 0) < 0) {
        fk_err("-d: cannot daemonize: %s", strerror(errno));
        for (size_t i = 0; i < pr.ninputs; i++)
            destroy_worker(&workers[i]);
        free(workers);
        free(threads);
        close_all(&pr);
        return EXIT_RUN;
    }

    {
        fk_err_t e;
        pr.exporter =
            fp_exporter_new(pr.outs, pr.nouts, pr.ninputs, pr.oqueue ? pr.oqueue : DEFAULT_OQUEUE,
                            pr.fps, pr.plugins, pr.nplugins, &e);
        if (!pr.exporter) {
            fk_err("%s", e.msg);
            for (size_t i = 0; i < pr.ninputs; i++)
                destroy_worker(&workers[i]);
            free(workers);
            free(threads);
            close_all(&pr);
            return EXIT_RUN;
        }
        g_exporter = pr.exporter;
    }
    if (pr.pidfile) {
        FILE *pf = fopen(pr.pidfile, "w");
        if (!pf || fprintf(pf, "%ld\n", (long)getpid()) < 0 || fclose(pf) != 0) {
            fk_err("-P %s: cannot write pid file: %s", pr.pidfile, strerror(errno));
            for (size_t i = 0; i < pr.ninputs; i++)
                fp_exporter_done(pr.exporter, (unsigned)i);
            fp_exporter_free(pr.exporter);
            for (size_t i = 0; i < pr.ninputs; i++)
                destroy_worker(&workers[i]);
            free(workers);
            free(threads);
            close_all(&pr);
            return EXIT_RUN;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    fp_telemetry_t tel = {workers, pr.ninputs, pr.exporter, pr.outs, pr.nouts, mono_s()};
    fk_httpd_t *httpd = NULL;
    if (pr.metrics) {
        fk_err_t e;
        httpd = fk_httpd_start(pr.metrics, metrics_page, &tel, &e);
        if (!httpd)
            fk_err("--metrics: %s; running without the metrics endpoint", e.msg);
        else
            fprintf(stderr, "flowprobe: metrics on port %d (GET /metrics)\n", fk_httpd_port(httpd));
    }

    /* One thread per input, each with its own flow cache, as ipfixprobe's
     * input threads; the output thread runs already. */
    size_t started = 0;
    for (; started < pr.ninputs; started++) {
        threads[started].w = &workers[started];
        int err = pthread_create(&threads[started].thread, NULL, worker_main, &threads[started]);
        if (err) {
            fk_err("cannot start a worker thread: %s", strerror(err));
            g_stop = 1;
            rc = EXIT_RUN;
            break;
        }
        if (started < pr.npin)
            pin_thread(threads[started].thread, pr.pin[started], "a worker");
    }
    for (size_t i = started; i < pr.ninputs; i++) {
        close_input(&workers[i]);
        fp_exporter_done(pr.exporter, (unsigned)i);
        atomic_store(&threads[i].done, 1);
    }
    fp_exporter_pin(pr.exporter, pr.npin > pr.ninputs ? pr.pin[pr.ninputs] : -1);

    /* The main thread serves signals and telemetry until every worker is done. */
    double last_tel = 0;
    for (;;) {
        size_t running = 0;
        for (size_t i = 0; i < pr.ninputs; i++)
            running += !atomic_load(&threads[i].done);
        if (g_usr1) {
            fk_buf_t b;
            g_usr1 = 0;
            if (fk_buf_init(&b, stderr, 16384) == 0) {
                fp_telemetry_text(&b, &tel);
                fk_buf_flush(&b);
                fk_buf_free(&b);
            }
        }
        if (g_hup) {
            g_hup = 0;
            fp_exporter_reopen(pr.exporter);
        }
        if (pr.telemetry && (mono_s() - last_tel >= 1.0 || !running)) {
            fk_err_t e;
            if (fp_telemetry_write_dir(pr.telemetry, &tel, &e) < 0 && last_tel == 0)
                fk_err("%s", e.msg);
            last_tel = mono_s();
        }
        if (!running)
            break;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(threads[i].thread, NULL);
        if (threads[i].rc < 0)
            rc = EXIT_RUN;
    }
    fp_exporter_stats_t xs;
    fp_exporter_join(pr.exporter, &xs);
    fk_httpd_stop(httpd);
    fp_exporter_free(pr.exporter);
    g_exporter = NULL;
    if (xs.flows)
        fprintf(stderr,
                "flowprobe: output: %llu flows written using %.3f s of CPU (%.0f flows/s)%s\n",
                (unsigned long long)xs.flows, xs.cpu_s,
                xs.cpu_s > 0 ? (double)xs.flows / xs.cpu_s : 0.0,
                xs.full_waits ? " (backpressure: the output queue was full at times)" : "");
    for (size_t i = 0; i < pr.ninputs; i++)
        destroy_worker(&workers[i]);
    free(workers);
    free(threads);

    for (size_t i = 0; i < pr.nouts; i++)
        if (pr.outs[i].errors)
            rc = EXIT_RUN;
    if (close_all(&pr) < 0)
        rc = EXIT_RUN;
    if (pr.pidfile)
        unlink(pr.pidfile);
    while (ncfg)
        free(cfgargs[--ncfg]);
    if (av != argv)
        free(av);
    return rc;

too_many:
    fk_err("too many -%c options (at most %d)", c, c == 'p' ? FP_MAX_PLUGINS : MAX_ARGS);
    return EXIT_USAGE;
}
