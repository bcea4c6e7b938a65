/*
 * main.c - flowprobe: packets -> biflows -> outputs, with ipfixprobe's
 * command line.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/core/log.h"
#include "../lib/core/opts.h"
#include "cache/cache.h"
#include "exporter.h"
#include "flow.h"
#include "input/input.h"
#include "output/output.h"
#include "plugin.h"
#include "worker.h"

#ifndef FK_VERSION
#define FK_VERSION "0.1.0"
#endif

#define MAX_ARGS 64

/* Exit statuses: 2 for anything wrong in the command line, 1 for run-time failures. */
#define EXIT_USAGE 2
#define EXIT_RUN   1

/* ipfixprobe's default -Q: flows queued between a worker and the output thread. */
#define DEFAULT_OQUEUE 16384

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

    fp_plugin_inst_t plugins[FP_MAX_PLUGINS];
    size_t nplugins;
    fp_outinst_t outs[MAX_ARGS];
    size_t nouts;
    fp_exporter_t *exporter;
    unsigned worker; /* index of the input running now */
} probe_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: flowprobe [options] -i INPUT [-s STORAGE] [-p PLUGIN]... [-o OUTPUT]...\n"
            "Make biflow records from packets and export them (ipfixprobe's command line).\n"
            "\n"
            "  -i, --input=ARGS      Activate an input plugin (-h input); repeatable\n"
            "  -s, --storage=ARGS    Configure the flow cache (-h storage)\n"
            "  -o, --output=ARGS     Activate an output plugin (-h output); default 'text'\n"
            "  -p, --process=ARGS    Activate a processing plugin (-h process); repeatable\n"
            "  -c, --count=SIZE      Quit after SIZE packets on each input\n"
            "  -Q, --oqueue=SIZE     Flows queued between each input and the output thread\n"
            "                        (default 16384)\n"
            "  -f, --fps=NUM         Export at most NUM flows per second (default: no limit)\n"
            "  -P, --pid=FILE        Write the process id to FILE\n"
            "  -h, --help[=PLUGIN]   Print this help, or help for input, storage, output,\n"
            "                        process or one plugin by name\n"
            "  -V, --version         Show the version and exit\n"
            "\n"
            "ARGS are 'NAME;key=value;flag;...', e.g. -i 'pcap;file=capture.pcap;filter=tcp'.\n"
            "\n"
            "Examples:\n"
            "  flowprobe -i 'pcap;file=capture.pcap' -o text\n"
            "  flowprobe -i 'pcap;file=capture.pcap' -s 'cache;a=60;i=10' -o 'csv;file=flows.csv'\n"
            "  flowprobe -i 'pcap;file=capture.pcap' -o json\n"
            "\n"
            "At the end a summary line goes to stderr; when stderr is a terminal a progress\n"
            "line shows how far a long capture has been read.\n");
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
            help_opts(f, "Input", fp_inputs[i]->name, fp_inputs[i]->summary,
                      fp_inputs[i]->options);
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
            help_opts(f, "Input", fp_inputs[i]->name, fp_inputs[i]->summary,
                      fp_inputs[i]->options);
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
static void export_flow(void *arg, fp_flow_t *flow)
{
    probe_t *pr = arg;
    fp_exporter_put(pr->exporter, pr->worker, flow);
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
                int w = snprintf(out + len, n - len, "%s%s %s %llu", len ? ", " : "",
                                 fk_layer_name(l), fk_perr_name(r),
                                 (unsigned long long)st->reason[l][r]);
                if (w > 0)
                    len += (size_t)w;
            }
}

/* Open input `arg` and its flow cache into *w (validates the options). 0 / -1. */
static int open_input(probe_t *pr, const char *arg, const fp_cache_cfg_t *ccfg, fp_worker_t *w)
{
    fk_opts_t o;
    fk_err_t e;

    memset(w, 0, sizeof(*w));
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
    if (w->in->open(&w->in_ctx, &o, &e) < 0) {
        report_plugin_err("-i", o.name, &e);
        fk_opts_free(&o);
        w->in = NULL;
        return -1;
    }
    fk_opts_free(&o);
    w->cache = fp_cache_new(ccfg, pr->plugins, pr->nplugins, export_flow, pr, &e);
    if (!w->cache) {
        fk_err("%s", e.msg);
        w->in->close(w->in_ctx);
        w->in = NULL;
        return -1;
    }
    w->label = arg;
    w->max_packets = pr->count;
    w->progress = isatty(STDERR_FILENO);
    w->stop = &g_stop;
    return 0;
}

static void close_input(fp_worker_t *w)
{
    fp_cache_free(w->cache);
    w->cache = NULL;
    if (w->in)
        w->in->close(w->in_ctx);
    w->in = NULL;
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
    fprintf(stderr,
            "flowprobe: %s: %llu packets (%llu bytes), %llu parsed (%llu IP bytes), "
            "%llu not parsed%s%s%s, %llu flows exported (%llu packets, %llu bytes)",
            w->label, (unsigned long long)w->st.frames, (unsigned long long)w->st.frame_bytes,
            (unsigned long long)w->st.parsed, (unsigned long long)w->st.parsed_bytes,
            (unsigned long long)w->st.not_parsed, why[0] ? " (" : "", why, why[0] ? ")" : "",
            (unsigned long long)cs.exported, (unsigned long long)cs.exported_packets,
            (unsigned long long)cs.exported_bytes);
    if (is.filtered)
        fprintf(stderr, ", %llu filtered out", (unsigned long long)is.filtered);
    if (is.damaged)
        fprintf(stderr, ", %llu damaged records", (unsigned long long)is.damaged);
    fprintf(stderr, "\n");
    if (cs.exported_packets != w->st.parsed || cs.exported_bytes != w->st.parsed_bytes)
        fk_err("accounting mismatch: parsed %llu packets / %llu bytes, exported %llu / %llu",
               (unsigned long long)w->st.parsed, (unsigned long long)w->st.parsed_bytes,
               (unsigned long long)cs.exported_packets, (unsigned long long)cs.exported_bytes);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},   {"storage", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},  {"process", required_argument, NULL, 'p'},
        {"count", required_argument, NULL, 'c'},   {"pid", required_argument, NULL, 'P'},
        {"help", optional_argument, NULL, 'h'},    {"version", no_argument, NULL, 'V'},
        {"iqueue", required_argument, NULL, 'q'},  {"iqueueblock", required_argument, NULL, 'b'},
        {"oqueue", required_argument, NULL, 'Q'},  {"pbuf", required_argument, NULL, 'B'},
        {"fps", required_argument, NULL, 'f'},     {"telemetry", required_argument, NULL, 't'},
        {"daemon", no_argument, NULL, 'd'},        {NULL, 0, NULL, 0},
    };
    probe_t pr;
    fp_cache_cfg_t ccfg;
    int c, rc = 0;

    memset(&pr, 0, sizeof(pr));
    fk_log_init(argv[0], FK_LOG_WARN);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:s:o:p:c:P:h::Vq:b:Q:B:f:t:d", longopts, NULL)) != -1) {
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
            if (!what && optind < argc && argv[optind][0] != '-')
                what = argv[optind++];
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
        case 'b':
        case 'B':
        case 't':
        case 'd':
            fk_err("option -%c is not available in this build of flowprobe (it belongs to the "
                   "multi-threaded and live-capture runtime, which is not built yet)",
                   c);
            return EXIT_USAGE;
        case ':':
            fk_err("option -%c needs an argument (see flowprobe -h)", optopt);
            return EXIT_USAGE;
        default:
            if (optopt)
                fk_err("unknown option -%c (see flowprobe -h)", optopt);
            else
                fk_err("unknown option '%s' (see flowprobe -h)", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fk_err("unexpected argument '%s'; plugin arguments go after -i/-s/-o/-p (see -h)",
               argv[optind]);
        return EXIT_USAGE;
    }
    if (pr.ninputs == 0) {
        fk_err("no input; use -i 'pcap;file=capture.pcap' (see -h input)");
        return EXIT_USAGE;
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
    if (!workers) {
        fk_err("out of memory");
        close_all(&pr);
        return EXIT_RUN;
    }
    for (size_t i = 0; i < pr.ninputs; i++) {
        if (open_input(&pr, pr.inputs[i], &ccfg, &workers[i]) < 0) {
            for (size_t j = 0; j < i; j++)
                close_input(&workers[j]);
            free(workers);
            close_all(&pr);
            return EXIT_USAGE;
        }
    }

    fp_schema_t schema = {fp_basic_fields, fp_basic_nfields, pr.plugins, pr.nplugins};
    if (setup_outputs(&pr, &schema) < 0) {
        for (size_t i = 0; i < pr.ninputs; i++)
            close_input(&workers[i]);
        free(workers);
        close_all(&pr);
        return EXIT_USAGE;
    }
    {
        fk_err_t e;
        size_t record_size = fp_plugins_layout(pr.plugins, pr.nplugins);
        pr.exporter = fp_exporter_new(pr.outs, pr.nouts, pr.ninputs, record_size,
                                      pr.oqueue ? pr.oqueue : DEFAULT_OQUEUE, pr.fps, &e);
        if (!pr.exporter) {
            fk_err("%s", e.msg);
            for (size_t i = 0; i < pr.ninputs; i++)
                close_input(&workers[i]);
            free(workers);
            close_all(&pr);
            return EXIT_RUN;
        }
    }
    if (pr.pidfile) {
        FILE *pf = fopen(pr.pidfile, "w");
        if (!pf || fprintf(pf, "%ld\n", (long)getpid()) < 0 || fclose(pf) != 0) {
            fk_err("-P %s: cannot write pid file: %s", pr.pidfile, strerror(errno));
            fp_exporter_free(pr.exporter);
            for (size_t i = 0; i < pr.ninputs; i++)
                close_input(&workers[i]);
            free(workers);
            close_all(&pr);
            return EXIT_RUN;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* Each input has its own cache, as each of ipfixprobe's input threads does. */
    for (size_t i = 0; i < pr.ninputs; i++) {
        pr.worker = (unsigned)i;
        if (!g_stop && run_input(&workers[i]) < 0)
            rc = EXIT_RUN;
        close_input(&workers[i]);
        fp_exporter_done(pr.exporter, (unsigned)i);
    }
    fp_exporter_stats_t xs;
    fp_exporter_join(pr.exporter, &xs);
    fp_exporter_free(pr.exporter);
    if (xs.flows)
        fprintf(stderr, "flowprobe: output: %llu flows written using %.3f s of CPU (%.0f flows/s)%s\n",
                (unsigned long long)xs.flows, xs.cpu_s, xs.cpu_s > 0 ? (double)xs.flows / xs.cpu_s : 0.0,
                xs.full_waits ? " (backpressure: the output queue was full at times)" : "");
    free(workers);

    for (size_t i = 0; i < pr.nouts; i++)
        if (pr.outs[i].errors)
            rc = EXIT_RUN;
    if (close_all(&pr) < 0)
        rc = EXIT_RUN;
    if (pr.pidfile)
        unlink(pr.pidfile);
    return rc;

too_many:
    fk_err("too many -%c options (at most %d)", c, c == 'p' ? FP_MAX_PLUGINS : MAX_ARGS);
    return EXIT_USAGE;
}
