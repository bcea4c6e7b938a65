/*
 * kafka.c - the Kafka transport on librdkafka (see kafka.h for the flags).
 *
 * Shape: the workers call send() with a batch; each record becomes one
 * produce (RD_KAFKA_MSG_F_COPY: the batch buffer is reused at once) through
 * rd_kafka_produce_batch with the partitioner below.  A poller thread serves
 * librdkafka's callbacks (delivery reports, errors, logs) every 100 ms.  On
 * close the poller stops, rd_kafka_flush waits up to .flush.timeout, and
 * whatever is left is purged, so its delivery reports count it as failed
 * before the handle goes.
 */
#include "kafka.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../format/key.h"

#define SUMMARY_NS (10ULL * 1000000000ULL) /* failure summaries without .log.err */

typedef struct kafka_tp_st {
    fc_transport_t base;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_mock_cluster_t *mock; /* owned by rk when test.mock.num.brokers is set */
    char *bootstraps;              /* the mock's, for the caller */
    bool hashing;
    bool log_err;
    unsigned err_cnt;
    uint64_t err_int_ns;
    uint64_t flush_timeout_ns;
    atomic_uint_fast64_t rr; /* round-robin position */
    atomic_int partitions;   /* partition count seen by the partitioner */
    /* counters */
    atomic_uint_fast64_t messages, bytes, delivered, failed, queue_full;
    /* poller */
    pthread_t poller;
    atomic_int stop;
    bool poller_running;
    /* error reporting */
    pthread_mutex_t log_mu;
    char last_err[256];
    uint64_t window_start, window_count, muted;
    uint64_t failed_reported, full_reported; /* counts at the last summary */
    uint64_t next_summary;
} kafka_tp_t;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void fc_kafka_cfg_defaults(fc_kafka_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->brokers = "127.0.0.1:9092,[::1]:9092";
    c->srv = "";
    c->topic = "flow-messages";
    c->tls_client = c->tls_key = c->tls_ca = "";
    c->sasl = "none";
    c->compression = "";
    c->maxmsgbytes = 1000000;
    c->flushbytes = 100u << 20; /* sarama.MaxRequestSize */
    c->flushfreq_ns = 5000000000ULL;
    c->version = "2.8.0";
    c->queue_max = 100000;                  /* librdkafka's default */
    c->timeout_ns = 300ULL * 1000000000ULL; /* librdkafka's default message.timeout.ms */
    c->flush_timeout_ns = 10ULL * 1000000000ULL;
    c->mock_partitions = 4;
    c->err_cnt = 10;
    c->err_int_ns = 10ULL * 1000000000ULL;
}

/* ---------------------------------------------------------------- callbacks */

/* A per-message error: logged with -transport.kafka.log.err (muted beyond
 * -err.cnt per -err.int), always remembered for the periodic summary. */
static void note_error(kafka_tp_t *k, const char *what, const char *msg)
{
    pthread_mutex_lock(&k->log_mu);
    snprintf(k->last_err, sizeof(k->last_err), "%s: %s", what, msg);
    bool show = false;
    if (k->log_err) {
        uint64_t t = mono_ns();
        if (t - k->window_start >= k->err_int_ns) {
            if (k->muted)
                fk_warn("kafka: %llu more delivery errors were muted (-err.cnt %u per -err.int)",
                        (unsigned long long)k->muted, k->err_cnt);
            k->window_start = t;
            k->window_count = 0;
            k->muted = 0;
        }
        if (k->window_count < k->err_cnt) {
            k->window_count++;
            show = true;
        } else {
            k->muted++;
        }
    }
    pthread_mutex_unlock(&k->log_mu);
    if (show)
        fk_warn("kafka: %s: %s", what, msg);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_tp_t *k = opaque;
    (void)rk;
    if (m->err) {
        atomic_fetch_add(&k->failed, 1);
        note_error(k, "delivery failed", rd_kafka_err2str(m->err));
    } else {
        atomic_fetch_add(&k->delivered, 1);
    }
}

/* Client-level errors (all brokers down, authentication, ...): the messages
 * keep waiting (until .timeout), so these are warnings; fatal ones say so. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_tp_t *k = opaque;
    char fatal[256];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        fk_err("kafka: fatal error: %s", fatal);
        return;
    }
    pthread_mutex_lock(&k->log_mu);
    snprintf(k->last_err, sizeof(k->last_err), "%s", reason);
    pthread_mutex_unlock(&k->log_mu);
    if (k->log_err || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
        fk_warn("kafka: %s", reason);
    else
        fk_debug("kafka: %s", reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    kafka_tp_t *k = rd_kafka_opaque(rk);
    /* syslog levels: librdkafka reports every refused connection at 3, which
     * on_error already summarises; keep them for -loglevel debug unless
     * .log.err asks for them. */
    if (level <= 4 && k && k->log_err)
        fk_warn("kafka: %s: %s", fac, buf);
    else
        fk_debug("kafka: %s: %s", fac, buf);
}

/*
 * Partitioner.  GoFlow2 (transport/kafka/kafka.go) uses sarama's round-robin
 * partitioner, or its hash partitioner with .hashing; fc_key_partition is the
 * latter, bit for bit.
 */
static int32_t partition(const rd_kafka_topic_t *rkt, const void *key, size_t keylen, int32_t cnt,
                         void *rkt_opaque, void *msg_opaque)
{
    kafka_tp_t *k = rkt_opaque;
    (void)rkt;
    (void)msg_opaque;
    /* called for every record: no shared write unless something changed */
    if (atomic_load_explicit(&k->partitions, memory_order_relaxed) != cnt)
        atomic_store_explicit(&k->partitions, cnt, memory_order_relaxed);
    if (cnt <= 0)
        return RD_KAFKA_PARTITION_UA;
    if (k->hashing)
        return fc_key_partition(key, keylen, cnt);
    return (int32_t)(atomic_fetch_add_explicit(&k->rr, 1, memory_order_relaxed) % (uint64_t)cnt);
}

static void *poll_main(void *arg)
{
    kafka_tp_t *k = arg;
    while (!atomic_load(&k->stop))
        rd_kafka_poll(k->rk, 100);
    return NULL;
}

/* ---------------------------------------------------------------- transport */

static int kafka_send(fc_transport_t *t, const uint8_t *data, size_t len, const fc_tmsg_t *m,
                      size_t n)
{
    kafka_tp_t *k = (kafka_tp_t *)t;
    int rc = 0;

    (void)len;
    if (!n)
        return 0;
    /* One array per batch (a batch is hundreds of records): librdkafka copies
     * the payloads (RD_KAFKA_MSG_F_COPY), the array is ours again at once. */
    rd_kafka_message_t *v = calloc(n, sizeof(*v));
    if (!v) {
        atomic_fetch_add(&k->messages, n);
        atomic_fetch_add(&k->failed, n);
        note_error(k, "produce", "out of memory");
        return -1;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].payload = (void *)(data + m[i].off);
        v[i].len = m[i].len;
        v[i].key = m[i].keylen ? (void *)m[i].key : NULL;
        v[i].key_len = m[i].keylen;
        bytes += m[i].len;
    }
    atomic_fetch_add(&k->messages, n);
    atomic_fetch_add(&k->bytes, bytes);
    int ok = rd_kafka_produce_batch(k->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, v, (int)n);
    if ((size_t)ok != n) {
        /* Refused ones get no delivery report: count them here. */
        uint64_t full = 0, other = 0;
        rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;
        for (size_t i = 0; i < n; i++) {
            if (!v[i].err)
                continue;
            if (v[i].err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                full++;
            } else {
                other++;
                if (!first)
                    first = v[i].err;
            }
        }
        if (full)
            atomic_fetch_add(&k->queue_full, full);
        if (other) {
            atomic_fetch_add(&k->failed, other);
            note_error(k, "produce refused", rd_kafka_err2str(first));
        }
        rc = -1;
    }
    free(v);
    return rc;
}

static void kafka_stats(fc_transport_t *t, fc_tstats_t *st)
{
    kafka_tp_t *k = (kafka_tp_t *)t;
    memset(st, 0, sizeof(*st));
    st->messages = atomic_load(&k->messages);
    st->bytes = atomic_load(&k->bytes);
    st->delivered = atomic_load(&k->delivered);
    st->failed = atomic_load(&k->failed);
    st->queue_full = atomic_load(&k->queue_full);
    uint64_t done = st->delivered + st->failed + st->queue_full;
    st->queued = st->messages > done ? st->messages - done : 0;
}

/* Without .log.err, failures are never silent either: one line per 10 s. */
static void kafka_tick(fc_transport_t *t, uint64_t now)
{
    kafka_tp_t *k = (kafka_tp_t *)t;
    if (now < k->next_summary)
        return;
    k->next_summary = now + SUMMARY_NS;
    uint64_t failed = atomic_load(&k->failed), full = atomic_load(&k->queue_full);
    if (failed == k->failed_reported && full == k->full_reported)
        return;
    char last[256];
    pthread_mutex_lock(&k->log_mu);
    snprintf(last, sizeof(last), "%s", k->last_err[0] ? k->last_err : "-");
    pthread_mutex_unlock(&k->log_mu);
    fk_warn("kafka: %llu records failed delivery and %llu were dropped (local queue full) "
            "in the last 10s; %d in the queue now; last error: %s",
            (unsigned long long)(failed - k->failed_reported),
            (unsigned long long)(full - k->full_reported), rd_kafka_outq_len(k->rk), last);
    k->failed_reported = failed;
    k->full_reported = full;
}

static void kafka_destroy(kafka_tp_t *k)
{
    if (k->poller_running) {
        atomic_store(&k->stop, 1);
        pthread_join(k->poller, NULL);
    }
    if (k->rkt)
        rd_kafka_topic_destroy(k->rkt);
    if (k->rk)
        rd_kafka_destroy(k->rk);
    pthread_mutex_destroy(&k->log_mu);
    free(k->bootstraps);
    free(k);
}

static void kafka_close(fc_transport_t *t, fc_tstats_t *final)
{
    kafka_tp_t *k = (kafka_tp_t *)t;
    if (k->poller_running) {
        atomic_store(&k->stop, 1);
        pthread_join(k->poller, NULL);
        k->poller_running = false;
    }
    /* SIGTERM: queued messages go out first (rd_kafka_flush also serves the
     * delivery reports); what cannot go out in time is purged and counted. */
    int timeout_ms = (int)(k->flush_timeout_ns / 1000000ULL);
    rd_kafka_resp_err_t err = rd_kafka_flush(k->rk, timeout_ms);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        int left = rd_kafka_outq_len(k->rk);
        fk_warn("kafka: %d messages still queued after %d ms; purging them (counted as failed)",
                left, timeout_ms);
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        /* purged messages get their (failed) delivery reports from poll */
        for (int i = 0; i < 50 && rd_kafka_outq_len(k->rk) > 0; i++)
            rd_kafka_poll(k->rk, 100);
    }
    rd_kafka_poll(k->rk, 0);
    kafka_tick(t, UINT64_MAX); /* last summary of failures, if any */
    if (final)
        kafka_stats(t, final);
    kafka_destroy(k);
}

static const fc_transport_ops_t kafka_ops = {
    .name = "kafka",
    .messages = true, /* one Kafka message per record, as GoFlow2 */
    .send = kafka_send,
    .reopen = NULL,
    .tick = kafka_tick,
    .stats = kafka_stats,
    .close = kafka_close,
};

/* ---------------------------------------------------------------- setup */

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, fk_err_t *e)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        return fk_errf(e, "kafka: %s=%s: %s", name, value, err);
    return 0;
}

static int setu(rd_kafka_conf_t *conf, const char *name, uint64_t v, fk_err_t *e)
{
    char s[24];
    snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
    return set(conf, name, s, e);
}

/* -transport.kafka.srv: the SRV record's targets as "host:port,..." (RFC 2782). */
static char *resolve_srv(const char *name, fk_err_t *e)
{
    unsigned char ans[8192];
    ns_msg msg;
    int len = res_query(name, ns_c_in, ns_t_srv, ans, sizeof(ans));
    if (len < 0 || ns_initparse(ans, len, &msg) < 0) {
        fk_errf(e, "-transport.kafka.srv %s: no SRV record (%s)", name, hstrerror(h_errno));
        return NULL;
    }
    size_t cap = 1024, used = 0;
    char *out = calloc(1, cap);
    if (!out) {
        fk_errf(e, "out of memory");
        return NULL;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        ns_rr rr;
        char target[NS_MAXDNAME];
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_srv ||
            ns_rr_rdlen(rr) < 7)
            continue;
        const unsigned char *rd = ns_rr_rdata(rr);
        unsigned port = (unsigned)rd[4] << 8 | rd[5];
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof(target)) < 0)
            continue;
        size_t need = strlen(target) + 8;
        if (used + need + 1 > cap) {
            char *n2 = realloc(out, cap * 2 + need);
            if (!n2)
                break;
            out = n2;
            cap = cap * 2 + need;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s%s:%u", used ? "," : "", target, port);
    }
    if (!used) {
        free(out);
        fk_errf(e, "-transport.kafka.srv %s: the SRV answer holds no usable target", name);
        return NULL;
    }
    return out;
}

/* sarama.ParseKafkaVersion accepts "X.Y.Z" (and "0.X.Y.Z"). */
static bool version_ok(const char *v)
{
    int parts = 0;
    const char *p = v;
    while (*p) {
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        parts++;
        if (*p == '.')
            p++;
        else if (*p)
            return false;
    }
    return parts == 3 || parts == 4;
}

fc_transport_t *fc_transport_kafka_new(const fc_kafka_cfg_t *c, fk_err_t *e)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
    kafka_tp_t *k = calloc(1, sizeof(*k));
    char *srv = NULL;

    if (k)
        pthread_mutex_init(&k->log_mu, NULL);
    if (!conf || !tconf || !k) {
        fk_errf(e, "out of memory");
        goto fail;
    }
    k->base.ops = &kafka_ops;
    k->hashing = c->hashing;
    k->log_err = c->log_err;
    k->err_cnt = c->err_cnt;
    k->err_int_ns = c->err_int_ns;
    k->flush_timeout_ns = c->flush_timeout_ns;

    if (!c->topic || !c->topic[0]) {
        fk_errf(e, "-transport.kafka.topic: empty");
        goto fail;
    }
    if (!version_ok(c->version)) {
        fk_errf(e, "-transport.kafka.version %s: invalid version (expected X.Y.Z, e.g. 2.8.0)",
                c->version);
        goto fail;
    }
    if (c->mock_brokers) {
        if (setu(conf, "test.mock.num.brokers", c->mock_brokers, e) < 0)
            goto fail;
    } else if (c->srv && c->srv[0]) {
        if (!(srv = resolve_srv(c->srv, e)) || set(conf, "bootstrap.servers", srv, e) < 0)
            goto fail;
    } else if (set(conf, "bootstrap.servers", c->brokers, e) < 0) {
        goto fail;
    }
    /* GoFlow2's .version only tells sarama which protocol to speak; librdkafka
     * asks the broker (ApiVersionRequest) and uses this only as a fallback. */
    if (set(conf, "broker.version.fallback", c->version, e) < 0)
        goto fail;
    uint64_t maxmsg = c->maxmsgbytes;
    if (setu(conf, "message.max.bytes", maxmsg, e) < 0)
        goto fail;
    if (setu(conf, "batch.size", c->flushbytes < maxmsg ? c->flushbytes : maxmsg, e) < 0)
        goto fail;
    /* librdkafka hands key-less messages to a "sticky" partition for a while
     * instead of asking the partitioner; GoFlow2 (sarama) is round-robin per
     * message: no stickiness, so partition() sees every message. */
    if (set(conf, "sticky.partitioning.linger.ms", "0", e) < 0)
        goto fail;
    uint64_t linger = c->flushfreq_ns / 1000000ULL;
    if (setu(conf, "linger.ms", linger > 900000 ? 900000 : linger, e) < 0)
        goto fail;
    if (c->compression && c->compression[0]) {
        static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
        const char *codec = NULL;
        for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
            if (strcasecmp(c->compression, codecs[i]) == 0)
                codec = codecs[i];
        if (!codec) {
            /* GoFlow2's message, and the choices */
            fk_errf(e,
                    "-transport.kafka.compression %s: compression codec does not exist "
                    "(none, gzip, snappy, lz4, zstd)",
                    c->compression);
            goto fail;
        }
        if (set(conf, "compression.codec", codec, e) < 0)
            goto fail;
    }
    if (c->queue_max == 0 || c->queue_max > 2147483647ULL) {
        fk_errf(e, "-transport.kafka.queue.max %llu: expected 1..2147483647 messages",
                (unsigned long long)c->queue_max);
        goto fail;
    }
    if (setu(conf, "queue.buffering.max.messages", c->queue_max, e) < 0 ||
        setu(conf, "queue.buffering.max.kbytes", 2097151, e) < 0)
        goto fail;
    uint64_t tmo = c->timeout_ns / 1000000ULL;
    if (setu(conf, "message.timeout.ms", tmo ? (tmo > 2147483647 ? 2147483647 : tmo) : 1, e) < 0)
        goto fail;

    /* TLS and SASL (goflow2-spec.md 1; GoFlow2 reads credentials from the environment) */
    bool sasl = c->sasl && c->sasl[0] && strcasecmp(c->sasl, "none") != 0;
    if (sasl) {
        const char *mech = strcasecmp(c->sasl, "plain") == 0          ? "PLAIN"
                           : strcasecmp(c->sasl, "scram-sha256") == 0 ? "SCRAM-SHA-256"
                           : strcasecmp(c->sasl, "scram-sha512") == 0 ? "SCRAM-SHA-512"
                                                                      : NULL;
        if (!mech) {
            fk_errf(e,
                    "-transport.kafka.sasl %s: SASL algorithm does not exist (none, plain, "
                    "scram-sha256, scram-sha512)",
                    c->sasl);
            goto fail;
        }
        const char *user = getenv("KAFKA_SASL_USER"), *pass = getenv("KAFKA_SASL_PASS");
        if ((!user || !*user) && (!pass || !*pass)) {
            fk_errf(e,
                    "-transport.kafka.sasl %s: Kafka SASL config from environment was "
                    "unsuccessful. KAFKA_SASL_USER and KAFKA_SASL_PASS need to be set.",
                    c->sasl);
            goto fail;
        }
        if (set(conf, "sasl.mechanisms", mech, e) < 0 ||
            set(conf, "sasl.username", user ? user : "", e) < 0 ||
            set(conf, "sasl.password", pass ? pass : "", e) < 0)
            goto fail;
    }
    const char *proto =
        c->tls ? (sasl ? "sasl_ssl" : "ssl") : (sasl ? "sasl_plaintext" : "plaintext");
    if (set(conf, "security.protocol", proto, e) < 0)
        goto fail;
    if (c->tls) {
        if (c->tls_ca && c->tls_ca[0] && set(conf, "ssl.ca.location", c->tls_ca, e) < 0)
            goto fail;
        /* GoFlow2 uses the client pair only when both are given */
        if (c->tls_client && c->tls_client[0] && c->tls_key && c->tls_key[0] &&
            (set(conf, "ssl.certificate.location", c->tls_client, e) < 0 ||
             set(conf, "ssl.key.location", c->tls_key, e) < 0))
            goto fail;
        if (c->tls_insecure && (set(conf, "enable.ssl.certificate.verification", "false", e) < 0 ||
                                set(conf, "ssl.endpoint.identification.algorithm", "none", e) < 0))
            goto fail;
    } else if ((c->tls_client && c->tls_client[0]) || (c->tls_ca && c->tls_ca[0]) ||
               (c->tls_key && c->tls_key[0]) || c->tls_insecure) {
        fk_errf(e, "-transport.kafka.tls.* given without -transport.kafka.tls");
        goto fail;
    }

    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_topic_conf_set_partitioner_cb(tconf, partition);
    rd_kafka_topic_conf_set_opaque(tconf, k);

    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!k->rk) {
        fk_errf(e, "kafka: %s", err);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    if (c->mock_brokers) {
        k->mock = rd_kafka_handle_mock_cluster(k->rk);
        if (!k->mock) {
            fk_errf(e, "kafka: this librdkafka has no mock cluster");
            goto fail;
        }
        rd_kafka_resp_err_t me = rd_kafka_mock_topic_create(
            k->mock, c->topic, (int)(c->mock_partitions ? c->mock_partitions : 1), 1);
        if (me) {
            fk_errf(e, "kafka mock: cannot create topic %s: %s", c->topic, rd_kafka_err2str(me));
            goto fail;
        }
        k->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(k->mock));
    }
    k->rkt = rd_kafka_topic_new(k->rk, c->topic, tconf);
    if (!k->rkt) {
        fk_errf(e, "kafka: topic %s: %s", c->topic, rd_kafka_err2str(rd_kafka_last_error()));
        tconf = NULL;
        goto fail;
    }
    tconf = NULL;
    k->next_summary = mono_ns() + SUMMARY_NS;
    int perr = pthread_create(&k->poller, NULL, poll_main, k);
    if (perr) {
        fk_errf(e, "kafka: cannot start the poller thread: %s", strerror(perr));
        goto fail;
    }
    k->poller_running = true;
    free(srv);
    return &k->base;

fail:
    free(srv);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (tconf)
        rd_kafka_topic_conf_destroy(tconf);
    if (k)
        kafka_destroy(k);
    return NULL;
}

const char *fc_transport_kafka_bootstraps(const fc_transport_t *t)
{
    if (!t || t->ops != &kafka_ops)
        return NULL;
    return ((const kafka_tp_t *)t)->bootstraps;
}

int fc_transport_kafka_partitions(const fc_transport_t *t)
{
    if (!t || t->ops != &kafka_ops)
        return 0;
    return atomic_load(&((kafka_tp_t *)t)->partitions);
}
