/*
 * kafka.h - GoFlow2's Kafka transport (-transport kafka, goflow2-spec.md 1)
 * through librdkafka: one message per record, keyed by the formatter.key
 * hash, partitioned round-robin or (with -transport.kafka.hashing) by
 * sarama's hash partitioner so consumers see GoFlow2's partitions.
 *
 * GoFlow2's flags map onto librdkafka's properties:
 *   .brokers / .srv      bootstrap.servers (SRV records resolved at start)
 *   .tls (+ .client .key .ca .insecure)  security.protocol ssl, ssl.certificate/
 *                        key/ca.location, enable.ssl.certificate.verification
 *   .sasl                sasl.mechanisms PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512,
 *                        credentials from KAFKA_SASL_USER / KAFKA_SASL_PASS
 *   .compression         compression.codec (none gzip snappy lz4 zstd)
 *   .maxmsgbytes         message.max.bytes
 *   .flushbytes          batch.size (capped at message.max.bytes, as librdkafka wants)
 *   .flushfreq           linger.ms (sarama's Flush.Frequency: how long a batch may wait)
 *   .version             broker.version.fallback (librdkafka asks the broker first)
 *   .log.err             log every delivery error (else one summary per 10 s)
 * and flowkit adds what a C producer needs said out loud:
 *   .queue.max           messages held locally while brokers are slow or away
 *                        (queue.buffering.max.messages); beyond it records are
 *                        dropped and counted (queue_full), never blocked on
 *   .timeout             message.timeout.ms: a message not acknowledged by then
 *                        is a counted delivery failure
 *   .flush.timeout       how long SIGTERM waits for queued messages; what is
 *                        still queued then is purged and counted as failed
 *   .mock N              librdkafka's mock cluster (test.mock.num.brokers) of N
 *                        brokers in the process, on real TCP ports, for tests
 *                        and benchmarks; .mock.partitions sets the topic's
 *                        partition count
 *
 * Delivery accounting: every record handed over ends as delivered (the
 * broker acknowledged it), failed (delivery report with an error, timeout,
 * or purged at exit) or queue_full; until then it is queued.
 */
#ifndef FC_KAFKA_H
#define FC_KAFKA_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"

typedef struct fc_kafka_cfg_st {
    const char *brokers; /* "host:port,host:port" */
    const char *srv;     /* SRV record name ("" = use brokers) */
    const char *topic;
    bool tls;
    const char *tls_client, *tls_key, *tls_ca; /* "" = not set */
    bool tls_insecure;
    const char *sasl;        /* none, plain, scram-sha256, scram-sha512 */
    bool hashing;            /* sarama hash partitioner on the key; else round-robin */
    const char *compression; /* "" = librdkafka's default (none) */
    uint64_t maxmsgbytes;
    uint64_t flushbytes;
    uint64_t flushfreq_ns;
    const char *version; /* "2.8.0" */
    bool log_err;
    uint64_t queue_max;        /* local queue bound, messages */
    uint64_t timeout_ns;       /* delivery timeout */
    uint64_t flush_timeout_ns; /* at close */
    unsigned mock_brokers;     /* > 0: in-process mock cluster */
    unsigned mock_partitions;
    unsigned err_cnt; /* -err.cnt / -err.int: log muting of per-message errors */
    uint64_t err_int_ns;
} fc_kafka_cfg_t;

/* GoFlow2's and flowkit's defaults (brokers 127.0.0.1:9092,[::1]:9092, topic
 * flow-messages, ...). */
void fc_kafka_cfg_defaults(fc_kafka_cfg_t *c);

/*
 * Create the producer.  Configuration problems (bad codec, SASL without
 * credentials, unreadable certificate, ...) return NULL with a message; an
 * unreachable broker does not (messages queue, see above).
 */
fc_transport_t *fc_transport_kafka_new(const fc_kafka_cfg_t *c, fk_err_t *e);

/* The mock cluster's bootstrap servers ("127.0.0.1:PORT,..."), or NULL when
 * not a mock.  Valid until the transport is closed. */
const char *fc_transport_kafka_bootstraps(const fc_transport_t *t);

/* Partitions of the topic as last seen in metadata (0: not known yet). */
int fc_transport_kafka_partitions(const fc_transport_t *t);

#endif /* FC_KAFKA_H */
