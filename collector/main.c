/*
 * main.c - flowcollector: NetFlow v5/v9, IPFIX and sFlow v5 to GoFlow2's
 * flow records, with GoFlow2's command line (goflow2-spec.md section 1).
 *
 * Flags follow Go's flag package: "-name value", "-name=value", "--name=value";
 * booleans may omit the value.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/core/log.h"
#include "../lib/core/opts.h"
#include "mapping.h"
#include "pipeline.h"

#ifndef FK_VERSION
#define FK_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2
#define EXIT_RUN   1

static volatile sig_atomic_t g_stop, g_reopen;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_reopen = 1;
    else
        g_stop = 1;
}

typedef enum { F_STR, F_BOOL, F_UINT, F_DUR, F_LATER } ftype_t;

typedef struct flag_st {
    const char *name;
    ftype_t type;
    const char *def;
    const char *help;
    char *val; /* set value (strdup), or NULL */
} flag_t;

/* GoFlow2's flags; F_LATER ones belong to features not built yet and are refused if given. */
static flag_t g_flags[] = {
    {"listen", F_STR, "sflow://:6343,netflow://:2055", "listen addresses (sflow://, netflow://, nfl://, flow://, pcap:///path), comma-separated; ?count=N&workers=N&blocking=bool&queue_size=N", NULL},
    {"produce", F_STR, "sample", "producer: sample (flow records) or raw (decoded datagrams)", NULL},
    {"format", F_STR, "json", "format: json, text or bin (length-delimited protobuf, flow.proto)", NULL},
    {"transport", F_STR, "file", "transport: file", NULL},
    {"transport.file", F_STR, "", "file to write to (empty: stdout); SIGHUP reopens it", NULL},
    {"transport.file.sep", F_STR, "\\n", "separator after each message (escapes \\n \\t \\\\; empty for bin streams)", NULL},
    {"templates.ttl", F_DUR, "0", "drop templates unused for this long (0: never)", NULL},
    {"templates.sweep-interval", F_DUR, "1m", "how often expired templates are dropped", NULL},
    {"loglevel", F_STR, "info", "log level: debug, info, warn, error", NULL},
    {"logfmt", F_STR, "normal", "log format: normal or json", NULL},
    {"err.cnt", F_UINT, "10", "decode errors logged per interval before muting", NULL},
    {"err.int", F_DUR, "10s", "decode error muting interval", NULL},
    {"sampling.override", F_STR, "", "flowkit: ADDR=RATE[,ADDR=RATE] sampling rate for exporters that announce none", NULL},
    {"sflow.decap", F_BOOL, "false", "flowkit: decode sFlow samples inside VXLAN, GRE, Geneve and IP-in-IP to the inner flow", NULL},
    {"v", F_BOOL, "false", "print the version and exit", NULL},
    {"addr", F_LATER, ":8080", "HTTP server for metrics and templates (not in this build)", NULL},
    {"mapping", F_STR, "", "mapping file (YAML): custom fields, columns, renames, renderers, Kafka key", NULL},
    {"templates.path", F_LATER, "/templates", "HTTP path of the template dump (not in this build)", NULL},
    {"templates.ttl.extend-on-access", F_LATER, "false", "(not in this build)", NULL},
    {"templates.json.path", F_LATER, "", "template persistence file (not in this build)", NULL},
    {"templates.json.interval", F_LATER, "10s", "(not in this build)", NULL},
};
#define NFLAGS (sizeof(g_flags) / sizeof(g_flags[0]))

static flag_t *flag_find(const char *name)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (strcmp(g_flags[i].name, name) == 0)
            return &g_flags[i];
    return NULL;
}

static const char *flag_get(const char *name)
{
    flag_t *f = flag_find(name);
    return f->val ? f->val : f->def;
}

static void usage(FILE *o)
{
    fprintf(o, "Usage: flowcollector [flags]\n"
               "Receive NetFlow v5/v9, IPFIX and sFlow v5; write GoFlow2's flow records.\n\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        fprintf(o, "  -%s", g_flags[i].name);
        if (g_flags[i].type != F_BOOL)
            fprintf(o, " %s", g_flags[i].type == F_DUR ? "duration" : g_flags[i].type == F_UINT ? "uint" : "string");
        fprintf(o, "\n        %s", g_flags[i].help);
        if (g_flags[i].def[0])
            fprintf(o, " (default %s)", g_flags[i].def);
        fprintf(o, "\n");
    }
    fprintf(o, "\nExamples:\n"
               "  flowcollector                                   # sFlow on :6343, NetFlow/IPFIX on :2055, JSON to stdout\n"
               "  flowcollector -listen 'netflow://:2055?count=2' -format bin -transport.file flows.bin\n"
               "  flowcollector -listen pcap:///tmp/export.pcap   # decode a capture of export datagrams, then exit\n");
}

/* Go durations: "300ms", "10s", "1m30s", "2h", plain "0". */
static int parse_duration(const char *s, uint64_t *ns)
{
    uint64_t total = 0;
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        uint64_t unit;
        if (end == s || v < 0)
            return -1;
        s = end;
        if (strncmp(s, "ns", 2) == 0)
            unit = 1, s += 2;
        else if (strncmp(s, "us", 2) == 0 || strncmp(s, "µs", 3) == 0)
            unit = 1000, s += s[0] == 'u' ? 2 : 3;
        else if (strncmp(s, "ms", 2) == 0)
            unit = 1000000, s += 2;
        else if (*s == 's')
            unit = 1000000000ULL, s++;
        else if (*s == 'm')
            unit = 60000000000ULL, s++;
        else if (*s == 'h')
            unit = 3600000000000ULL, s++;
        else
            return -1;
        total += (uint64_t)(v * (double)unit);
    }
    *ns = total;
    return 0;
}

/* "\n", "\t", "\\" escapes, so the separator can be given on a command line. */
static char *unescape(const char *s, size_t *len)
{
    char *o = malloc(strlen(s) + 1);
    size_t n = 0;
    if (!o)
        return NULL;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            o[n++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s == '0' ? '\0' : *s;
        } else {
            o[n++] = *s;
        }
    }
    *len = n;
    return o;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (a[0] != '-') {
            fk_err("unexpected argument '%s' (flags look like -listen netflow://:2055; see -h)", a);
            return -1;
        }
        a += a[1] == '-' ? 2 : 1;
        char name[128];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof(name)) {
            fk_err("flag '%s' is too long", argv[i]);
            return -1;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        flag_t *f = flag_find(name);
        if (!f) {
            fk_err("flag provided but not defined: -%s (see -h)", name);
            return -1;
        }
        const char *v;
        if (eq)
            v = eq + 1;
        else if (f->type == F_BOOL)
            v = "true";
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            fk_err("flag needs an argument: -%s", name);
            return -1;
        }
        if (f->type == F_LATER) {
            fk_err("-%s is not available in this build of flowcollector yet", name);
            return -1;
        }
        free(f->val);
        f->val = strdup(v);
    }
    return 0;
}

static int parse_overrides(const char *s, fc_config_t *cfg)
{
    char *copy = strdup(s), *save = NULL;
    for (char *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(it, '=');
        uint64_t rate;
        fk_err_t e;
        fc_addr_t a = {0};
        if (!eq || cfg->noverrides == 64)
            goto bad;
        *eq = '\0';
        if (inet_pton(AF_INET, it, a.a) == 1)
            a.len = 4;
        else if (inet_pton(AF_INET6, it, a.a) == 1)
            a.len = 16;
        else
            goto bad;
        if (fk_opts_uint("rate", eq + 1, 1, UINT32_MAX, &rate, &e) < 0)
            goto bad;
        cfg->overrides[cfg->noverrides].addr = a;
        cfg->overrides[cfg->noverrides++].rate = rate;
    }
    free(copy);
    return 0;
bad:
    free(copy);
    fk_err("-sampling.override '%s': expected ADDR=RATE[,ADDR=RATE...] (e.g. 192.0.2.1=1000)", s);
    return -1;
}

static fc_config_t cfg;
static fc_mapping_t *g_mapping;

/* Everything main allocates, released on every exit path (usage errors too). */
static void cleanup(void)
{
    fc_mapping_use(NULL);
    cfg.fmt = NULL;
    fc_mapping_free(g_mapping);
    g_mapping = NULL;
    fc_listen_free(cfg.listen, cfg.nlisten);
    cfg.listen = NULL;
    cfg.nlisten = 0;
    free(cfg.sep);
    cfg.sep = NULL;
    for (size_t i = 0; i < NFLAGS; i++) {
        free(g_flags[i].val);
        g_flags[i].val = NULL;
    }
}

int main(int argc, char **argv)
{
    fk_err_t e;
    fc_pstats_t st;
    int lvl;

    atexit(cleanup);
    fk_log_init(argv[0], FK_LOG_INFO);
    if (parse_args(argc, argv) < 0)
        return EXIT_USAGE;
    if (strcmp(flag_get("v"), "false") != 0 && strcmp(flag_get("v"), "0") != 0) {
        printf("flowcollector (flowkit) %s\n", FK_VERSION);
        return 0;
    }
    if ((lvl = fk_log_level_parse(flag_get("loglevel"))) < 0) {
        fk_err("-loglevel %s: expected debug, info, warn or error", flag_get("loglevel"));
        return EXIT_USAGE;
    }
    fk_log_set_level((enum fk_log_level)lvl);
    if (strcmp(flag_get("logfmt"), "normal") != 0 && strcmp(flag_get("logfmt"), "json") != 0) {
        fk_err("-logfmt %s: expected normal or json", flag_get("logfmt"));
        return EXIT_USAGE;
    }
    fk_log_set_json(strcmp(flag_get("logfmt"), "json") == 0);
    const char *p = flag_get("produce");
    if (strcmp(p, "sample") == 0)
        cfg.produce = FC_PRODUCE_SAMPLE;
    else if (strcmp(p, "raw") == 0)
        cfg.produce = FC_PRODUCE_RAW;
    else {
        fk_err("-produce %s: expected sample or raw", p);
        return EXIT_USAGE;
    }
    const char *fm = flag_get("format");
    if (strcmp(fm, "json") == 0)
        cfg.format = FC_FMT_JSON;
    else if (strcmp(fm, "text") == 0)
        cfg.format = FC_FMT_TEXT;
    else if (strcmp(fm, "bin") == 0)
        cfg.format = FC_FMT_BIN;
    else {
        fk_err("-format %s: expected json, text or bin", fm);
        return EXIT_USAGE;
    }
    if (cfg.produce == FC_PRODUCE_RAW && cfg.format != FC_FMT_JSON) {
        fk_err("-produce raw writes JSON only; use -format json");
        return EXIT_USAGE;
    }
    if (strcmp(flag_get("transport"), "file") != 0) {
        fk_err("-transport %s: this build has the file transport only (kafka comes later)",
               flag_get("transport"));
        return EXIT_USAGE;
    }
    cfg.file = flag_get("transport.file");
    cfg.sep = unescape(flag_get("transport.file.sep"), &cfg.seplen);
    if (parse_duration(flag_get("templates.ttl"), &cfg.ttl_ns) < 0 ||
        parse_duration(flag_get("templates.sweep-interval"), &cfg.sweep_ns) < 0 ||
        parse_duration(flag_get("err.int"), &cfg.err_int_ns) < 0) {
        fk_err("a duration flag is malformed: use Go durations such as 10s, 1m, 1h30m");
        return EXIT_USAGE;
    }
    if (cfg.sweep_ns == 0)
        cfg.sweep_ns = 60000000000ULL;
    uint64_t cnt;
    if (fk_opts_uint("-err.cnt", flag_get("err.cnt"), 0, 1000000, &cnt, &e) < 0) {
        fk_err("%s", e.msg);
        return EXIT_USAGE;
    }
    cfg.err_cnt = (unsigned)cnt;
    cfg.sflow_decap = strcmp(flag_get("sflow.decap"), "false") != 0 &&
                      strcmp(flag_get("sflow.decap"), "0") != 0;
    if (flag_get("sampling.override")[0] && parse_overrides(flag_get("sampling.override"), &cfg) < 0)
        return EXIT_USAGE;
    if (fc_listen_parse(flag_get("listen"), &cfg.listen, &cfg.nlisten, &e) < 0) {
        fk_err("%s", e.msg);
        return EXIT_USAGE;
    }
    if (flag_get("mapping")[0]) {
        /* -mapping: refused whole at start when anything in it is wrong */
        g_mapping = fc_mapping_load(flag_get("mapping"), &e);
        if (!g_mapping) {
            fk_err("-mapping: %s", e.msg);
            return EXIT_USAGE;
        }
        fc_mapping_use(g_mapping); /* before the decoding threads start */
        cfg.fmt = fc_mapping_format(g_mapping);
        if (cfg.produce == FC_PRODUCE_RAW)
            fk_warn("-mapping: -produce raw writes datagrams, not records: the mapping is unused");
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = fc_pipeline_run(&cfg, &g_stop, &g_reopen, &st, &e);
    if (rc < 0)
        fk_err("%s", e.msg);
    fprintf(stderr,
            "flowcollector: %llu datagrams, %llu records written; dropped %llu (queue full) + "
            "%llu (kernel); unknown protocol %llu; netflow/ipfix: %llu datagrams, %llu templates, "
            "%llu truncated, %llu invalid, %llu bad version, %llu without template, %llu lost by "
            "sequence; sflow: %llu datagrams, %llu truncated, %llu invalid, %llu unsupported, "
            "%llu lost by sequence\n",
            (unsigned long long)st.received, (unsigned long long)st.records,
            (unsigned long long)st.dropped, (unsigned long long)st.kernel_drops,
            (unsigned long long)st.unknown, (unsigned long long)st.nf.datagrams,
            (unsigned long long)st.nf.templates, (unsigned long long)st.nf.truncated,
            (unsigned long long)st.nf.invalid, (unsigned long long)st.nf.bad_version,
            (unsigned long long)st.nf.no_template, (unsigned long long)st.nf.seq_lost,
            (unsigned long long)st.sf.datagrams, (unsigned long long)st.sf.truncated,
            (unsigned long long)st.sf.invalid, (unsigned long long)st.sf.bad_version,
            (unsigned long long)st.sf.seq_lost);
    if (fc_mapping_skipped(g_mapping))
        fk_warn("-mapping: %llu mapped values skipped (length unusable for the destination, or "
                "bits past the captured packet)",
                (unsigned long long)fc_mapping_skipped(g_mapping));
    if (rc < 0)
        return EXIT_RUN;
    return st.write_errors ? EXIT_RUN : 0;
}
