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
#include <time.h>

#include "../lib/core/log.h"
#include "../lib/core/opts.h"
#include "mapping.h"
#include "decode/persist.h"
#include "decode/registry.h"
#include "http.h"
#include "metrics.h"
#include "pipeline.h"
#include "transport/kafka.h"

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

/* GoFlow2's flags (and flowkit's, said so in their help); F_LATER ones belong
 * to features not built yet and are refused if given. */
/* clang-format off: one flag per line reads best */
static flag_t g_flags[] = {
    {"listen", F_STR, "sflow://:6343,netflow://:2055",
     "listen addresses (sflow://, netflow://, nfl://, flow://, pcap:///path; flowkit: "
     "ipfix+tcp://, netflow+tcp://), comma-separated; "
     "?count=N&workers=N&blocking=bool&queue_size=N (workers = count and no queue_size: each "
     "receiver decodes what it reads, no queue)",
     NULL},
    {"produce", F_STR, "sample", "producer: sample (flow records) or raw (decoded datagrams)",
     NULL},
    {"format", F_STR, "json", "format: json, text or bin (length-delimited protobuf, flow.proto)",
     NULL},
    {"transport", F_STR, "file", "transport: file or kafka", NULL},
    {"transport.file", F_STR, "", "file to write to (empty: stdout); SIGHUP reopens it", NULL},
    {"transport.file.sep", F_STR, "\\n",
     "separator after each message (escapes \\n \\t \\\\; empty for bin streams)", NULL},
    {"transport.kafka.brokers", F_STR, "127.0.0.1:9092,[::1]:9092",
     "Kafka brokers list separated by commas", NULL},
    {"transport.kafka.srv", F_STR, "",
     "SRV record containing a list of Kafka brokers (or use brokers)", NULL},
    {"transport.kafka.topic", F_STR, "flow-messages", "Kafka topic to produce to", NULL},
    {"transport.kafka.tls", F_BOOL, "false", "Use TLS to connect to Kafka", NULL},
    {"transport.kafka.tls.client", F_STR, "", "Kafka client certificate", NULL},
    {"transport.kafka.tls.key", F_STR, "", "Kafka client key", NULL},
    {"transport.kafka.tls.ca", F_STR, "", "Kafka certificate authority", NULL},
    {"transport.kafka.tls.insecure", F_BOOL, "false", "Skips TLS verification", NULL},
    {"transport.kafka.sasl", F_STR, "none",
     "Use SASL to connect to Kafka: none, plain, scram-sha256, scram-sha512 (credentials from "
     "KAFKA_SASL_USER and KAFKA_SASL_PASS)",
     NULL},
    {"transport.kafka.maxmsgbytes", F_UINT, "1000000", "Kafka max message bytes", NULL},
    {"transport.kafka.flushbytes", F_UINT, "104857600",
     "Kafka flush bytes (batch size; at most maxmsgbytes)", NULL},
    {"transport.kafka.flushfreq", F_DUR, "5s", "Kafka flush frequency (how long a batch may wait)",
     NULL},
    {"transport.kafka.hashing", F_BOOL, "false",
     "Enable partition hashing (sarama's hash partitioner on the message key)", NULL},
    {"transport.kafka.version", F_STR, "2.8.0", "Kafka version", NULL},
    {"transport.kafka.compression", F_STR, "",
     "Kafka default compression: none, gzip, snappy, lz4, zstd", NULL},
    {"transport.kafka.log.err", F_BOOL, "false",
     "Log Kafka errors (each delivery error; else a summary every 10s)", NULL},
    {"transport.kafka.key", F_STR, "",
     "flowkit: message key fields, comma-separated (formatter.key; default with hashing: "
     "sampler_address)",
     NULL},
    {"transport.kafka.queue.max", F_UINT, "100000",
     "flowkit: records held while brokers are slow or away; more are dropped and counted", NULL},
    {"transport.kafka.timeout", F_DUR, "5m",
     "flowkit: a record not acknowledged by then is a counted delivery failure", NULL},
    {"transport.kafka.flush.timeout", F_DUR, "10s",
     "flowkit: how long a stop waits for queued records (the rest are counted as failed)", NULL},
    {"transport.kafka.mock", F_UINT, "0",
     "flowkit: produce to librdkafka's mock cluster of N brokers (tests, benchmarks); its "
     "bootstrap servers are logged",
     NULL},
    {"transport.kafka.mock.partitions", F_UINT, "4",
     "flowkit: partitions of the mock cluster's topic", NULL},
    {"addr", F_STR, ":8080",
     "HTTP server address for /metrics, /__health and the templates (empty disables)", NULL},
    {"templates.path", F_STR, "/templates", "HTTP path of the template dump", NULL},
    {"templates.ttl", F_DUR, "0", "drop templates not refreshed for this long (0: never)", NULL},
    {"templates.sweep-interval", F_DUR, "1m", "how often expired templates are dropped", NULL},
    {"templates.ttl.extend-on-access", F_BOOL, "false",
     "a data set using a template restarts its TTL", NULL},
    {"templates.json.path", F_STR, "",
     "file the templates persist to, loaded at start (empty disables)", NULL},
    {"templates.json.interval", F_DUR, "10s",
     "how long a template change waits before the file is written (0: at once)", NULL},
    {"loglevel", F_STR, "info", "log level: debug, info, warn, error", NULL},
    {"logfmt", F_STR, "normal", "log format: normal or json", NULL},
    {"err.cnt", F_UINT, "10", "decode errors logged per interval before muting", NULL},
    {"err.int", F_DUR, "10s", "decode error muting interval", NULL},
    {"sampling.override", F_STR, "",
     "flowkit: ADDR=RATE[,ADDR=RATE] sampling rate for exporters that announce none", NULL},
    {"sflow.decap", F_BOOL, "false",
     "flowkit: decode sFlow samples inside VXLAN, GRE, Geneve and IP-in-IP to the inner flow",
     NULL},
    {"v", F_BOOL, "false", "print the version and exit", NULL},
    {"mapping", F_STR, "",
     "mapping file (YAML): custom fields, columns, renames, renderers, Kafka key", NULL},
};
/* clang-format on */
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

/* Go's strconv.ParseBool, which flag.BoolVar uses: 1 t T TRUE true True, 0 f F FALSE false False.
 */
static int flag_bool(const char *name, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    const char *v = flag_get(name);
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    fk_err("invalid boolean value \"%s\" for flag -%s (true or false)", v, name);
    return -1;
}

static void usage(FILE *o)
{
    fprintf(o, "Usage: flowcollector [flags]\n"
               "Receive NetFlow v5/v9, IPFIX and sFlow v5; write GoFlow2's flow records.\n\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        fprintf(o, "  -%s", g_flags[i].name);
        if (g_flags[i].type != F_BOOL)
            fprintf(o, " %s",
                    g_flags[i].type == F_DUR    ? "duration"
                    : g_flags[i].type == F_UINT ? "uint"
                                                : "string");
        fprintf(o, "\n        %s", g_flags[i].help);
        if (g_flags[i].def[0])
            fprintf(o, " (default %s)", g_flags[i].def);
        fprintf(o, "\n");
    }
    fprintf(
        o,
        "\nExamples:\n"
        "  flowcollector                                   # sFlow on :6343, NetFlow/IPFIX on "
        ":2055, JSON to stdout\n"
        "  flowcollector -listen 'netflow://:2055?count=2' -format bin -transport.file flows.bin\n"
        "  flowcollector -listen pcap:///tmp/export.pcap   # decode a capture of export datagrams, "
        "then exit\n");
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
static fc_key_t g_key;
static pthread_mutex_t g_state_mu = PTHREAD_MUTEX_INITIALIZER;

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
    fc_state_free(cfg.state);
    cfg.state = NULL;
    fc_metrics_free(cfg.metrics);
    cfg.metrics = NULL;
    for (size_t i = 0; i < NFLAGS; i++) {
        free(g_flags[i].val);
        g_flags[i].val = NULL;
    }
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool flag_given(const char *name)
{
    return flag_find(name)->val != NULL;
}

/* -transport kafka: GoFlow2's flags and flowkit's into fc_kafka_cfg_t. */
static fc_transport_t *open_kafka(fk_err_t *e)
{
    fc_kafka_cfg_t kc;
    uint64_t v;

    fc_kafka_cfg_defaults(&kc);
    kc.brokers = flag_get("transport.kafka.brokers");
    kc.srv = flag_get("transport.kafka.srv");
    kc.topic = flag_get("transport.kafka.topic");
    kc.tls_client = flag_get("transport.kafka.tls.client");
    kc.tls_key = flag_get("transport.kafka.tls.key");
    kc.tls_ca = flag_get("transport.kafka.tls.ca");
    kc.sasl = flag_get("transport.kafka.sasl");
    kc.version = flag_get("transport.kafka.version");
    kc.compression = flag_get("transport.kafka.compression");
    if (flag_bool("transport.kafka.tls", &kc.tls) < 0 ||
        flag_bool("transport.kafka.tls.insecure", &kc.tls_insecure) < 0 ||
        flag_bool("transport.kafka.hashing", &kc.hashing) < 0 ||
        flag_bool("transport.kafka.log.err", &kc.log_err) < 0) {
        fk_errf(e, "bad boolean flag");
        return NULL;
    }
    const struct {
        const char *flag;
        uint64_t min, max;
        uint64_t *dst;
    } nums[] = {
        {"transport.kafka.maxmsgbytes", 1000, 1000000000, &kc.maxmsgbytes},
        {"transport.kafka.flushbytes", 1, UINT64_MAX, &kc.flushbytes},
        {"transport.kafka.queue.max", 1, 2147483647, &kc.queue_max},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (fk_opts_uint(nums[i].flag, flag_get(nums[i].flag), nums[i].min, nums[i].max,
                         nums[i].dst, e) < 0)
            return NULL;
    if (fk_opts_uint("-transport.kafka.mock", flag_get("transport.kafka.mock"), 0, 64, &v, e) < 0)
        return NULL;
    kc.mock_brokers = (unsigned)v;
    if (fk_opts_uint("-transport.kafka.mock.partitions",
                     flag_get("transport.kafka.mock.partitions"), 1, 10000, &v, e) < 0)
        return NULL;
    kc.mock_partitions = (unsigned)v;
    if (parse_duration(flag_get("transport.kafka.flushfreq"), &kc.flushfreq_ns) < 0 ||
        parse_duration(flag_get("transport.kafka.timeout"), &kc.timeout_ns) < 0 ||
        parse_duration(flag_get("transport.kafka.flush.timeout"), &kc.flush_timeout_ns) < 0) {
        fk_errf(e, "a -transport.kafka duration is malformed: use Go durations such as 5s, 1m");
        return NULL;
    }
    kc.err_cnt = cfg.err_cnt;
    kc.err_int_ns = cfg.err_int_ns;
    fc_transport_t *t = fc_transport_kafka_new(&kc, e);
    if (t && kc.mock_brokers)
        fk_info("kafka: mock cluster of %u brokers, topic %s with %u partitions, bootstrap "
                "servers: %s",
                kc.mock_brokers, kc.topic, kc.mock_partitions, fc_transport_kafka_bootstraps(t));
    return t;
}

/* -templates.json.path at start: what a previous run persisted, so data sets
 * decode before their exporter resends the templates. */
static void load_templates(const char *path)
{
    fk_err_t e;
    long n = fc_persist_load(cfg.state, path, wall_ns(), &e);
    if (n > 0)
        fk_info("templates: %ld loaded from %s", n, path);
    if (n >= 0)
        return;
    /* A damaged file is kept aside (it is overwritten otherwise) and the
     * collector starts empty: exporters resend their templates. */
    char bad[4096];
    snprintf(bad, sizeof(bad), "%s.bad", path);
    fk_err("templates: not loaded: %s; file moved to %s", e.msg, bad);
    if (rename(path, bad) < 0)
        fk_err("templates: cannot move %s aside", path);
}

int main(int argc, char **argv)
{
    fk_err_t e;
    fc_pstats_t st;
    fc_tstats_t ts;
    fc_http_t *http = NULL;
    bool b;
    int lvl;

    atexit(cleanup);
    fk_log_init(argv[0], FK_LOG_INFO);
    if (parse_args(argc, argv) < 0)
        return EXIT_USAGE;
    if (flag_bool("v", &b) < 0)
        return EXIT_USAGE;
    if (b) {
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
    const char *tp = flag_get("transport");
    bool kafka = strcmp(tp, "kafka") == 0;
    if (!kafka && strcmp(tp, "file") != 0) {
        fk_err("-transport %s: expected file or kafka", tp);
        return EXIT_USAGE;
    }
    /* Kafka messages are one record each, without separator (GoFlow2's Send). */
    cfg.sep = unescape(kafka ? "" : flag_get("transport.file.sep"), &cfg.seplen);
    if (parse_duration(flag_get("templates.ttl"), &cfg.ttl_ns) < 0 ||
        parse_duration(flag_get("templates.sweep-interval"), &cfg.sweep_ns) < 0 ||
        parse_duration(flag_get("templates.json.interval"), &cfg.persist_ns) < 0 ||
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
    if (flag_bool("sflow.decap", &cfg.sflow_decap) < 0)
        return EXIT_USAGE;
    if (flag_get("sampling.override")[0] &&
        parse_overrides(flag_get("sampling.override"), &cfg) < 0)
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
    /* Extra values (IPFIX elements beyond FlowMessage) print only in JSON and
     * text; protobuf has no place for them, so they are not collected. */
    fc_extras_use(cfg.format != FC_FMT_BIN || g_mapping);
    /* The message key (GoFlow2's formatter.key, until a mapping file sets it). */
    bool hashing;
    if (flag_bool("transport.kafka.hashing", &hashing) < 0)
        return EXIT_USAGE;
    const char *keys = flag_get("transport.kafka.key");
    char mkeys[1024] = "";
    if (!keys[0] && g_mapping && kafka) {
        /* formatter.key of the mapping file: its columns by name. */
        const fc_mapkey_t *mk;
        size_t nk = fc_mapping_keys(g_mapping, &mk), len = 0;
        for (size_t i = 0; i < nk; i++) {
            if (mk[i].col < 0) {
                fk_err("-mapping: formatter.key '%s' is a custom field; the Kafka key can use "
                       "flow.proto's fields only in this build",
                       mk[i].name);
                return EXIT_USAGE;
            }
            int w = snprintf(mkeys + len, sizeof(mkeys) - len, "%s%s", i ? "," : "", mk[i].name);
            if (w < 0 || (size_t)w >= sizeof(mkeys) - len) {
                fk_err("-mapping: formatter.key is too long");
                return EXIT_USAGE;
            }
            len += (size_t)w;
        }
        if (nk)
            keys = mkeys;
    }
    if (!keys[0] && hashing)
        keys = "sampler_address"; /* GoFlow2 has no default key: the exporter's address */
    if (keys[0]) {
        if (fc_key_parse(&g_key, keys, &e) < 0) {
            fk_err("-transport.kafka.key: %s", e.msg);
            return EXIT_USAGE;
        }
        cfg.key = &g_key;
    }

    /* Decoder state, shared by the pipeline, /templates and persistence. */
    bool extend;
    if (flag_bool("templates.ttl.extend-on-access", &extend) < 0)
        return EXIT_USAGE;
    if (!(cfg.state = fc_state_new(cfg.ttl_ns))) {
        fk_err("out of memory");
        return EXIT_RUN;
    }
    fc_state_set_extend_on_access(cfg.state, extend);
    cfg.state_mu = &g_state_mu;
    cfg.persist_path = flag_get("templates.json.path");
    if (cfg.persist_path[0])
        load_templates(cfg.persist_path);

    const char *addr = flag_get("addr");
    if (addr[0] && !(cfg.metrics = fc_metrics_new())) {
        fk_err("out of memory");
        return EXIT_RUN;
    }

    /* The transport opens before anything is received: a bad configuration
     * fails here, with nothing lost. */
    cfg.transport = kafka ? open_kafka(&e) : fc_transport_file_new(flag_get("transport.file"), &e);
    if (!cfg.transport) {
        fk_err("%s", e.msg);
        return kafka ? EXIT_USAGE : EXIT_RUN;
    }

    if (addr[0]) {
        fc_http_cfg_t hc = {
            addr, flag_get("templates.path"), cfg.metrics, cfg.state, cfg.state_mu, cfg.transport};
        http = fc_http_start(&hc, &e);
        if (!http && flag_given("addr")) {
            fk_err("%s", e.msg);
            fc_transport_close(cfg.transport, NULL);
            return EXIT_RUN;
        }
        /* The default :8080 may be taken (another collector, a test run in
         * parallel): then say so and collect without the endpoints. */
        if (!http)
            fk_warn("%s; running without the HTTP endpoints", e.msg);
        else
            fk_info("HTTP on port %d (/metrics, /__health, %s)", fc_http_port(http),
                    flag_get("templates.path"));
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
    /* Queued records go out before exit (Kafka: up to -transport.kafka.flush.timeout). */
    const char *tname = cfg.transport->ops->name;
    fc_transport_close(cfg.transport, &ts);
    cfg.transport = NULL;
    fc_http_stop(http);
    /* the transport first: the datagram summary stays the last line (scripts read it) */
    fprintf(stderr,
            "flowcollector: transport %s: %llu records, %llu delivered, %llu failed, %llu dropped "
            "(queue full), %llu unaccounted; tcp: %llu sessions, %llu stream errors\n",
            tname, (unsigned long long)ts.messages, (unsigned long long)ts.delivered,
            (unsigned long long)ts.failed, (unsigned long long)ts.queue_full,
            (unsigned long long)ts.queued, (unsigned long long)st.tcp_sessions,
            (unsigned long long)st.tcp_errors);
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
    /* A file that could not be written is an error; Kafka delivery failures
     * are reported above and in the metrics, as GoFlow2 reports them. */
    return !kafka && ts.failed ? EXIT_RUN : 0;
}
