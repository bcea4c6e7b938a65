/*
 * kafkamock.c - librdkafka's mock Kafka cluster as a process of its own, for
 * the Kafka integration tests: unlike flowcollector's in-process
 * -transport.kafka.mock, it outlives the collector (so a test can read what
 * was delivered after the collector exited) and takes commands to fail
 * brokers mid-run.
 *
 *   kafkamock BROKERS PARTITIONS TOPIC[,TOPIC...]
 *
 * Creates the cluster and the topics, makes broker (p % BROKERS) + 1 the
 * leader of partition p of each, prints "bootstrap: HOST:PORT,..." and one
 * "leader: TOPIC PARTITION BROKER" line per partition on stdout, then reads
 * commands on stdin, one per line, answering "ok" or "error: ...":
 *   down B     broker B stops answering (rd_kafka_mock_broker_set_down)
 *   up B       broker B is back
 *   quit       (or end of input) destroy the cluster and exit
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    char err[512], line[256];

    if (argc != 4) {
        fprintf(stderr, "usage: kafkamock BROKERS PARTITIONS TOPIC\n");
        return 2;
    }
    int nb = atoi(argv[1]), np = atoi(argv[2]);
    if (nb < 1 || nb > 16 || np < 1 || np > 1000) {
        fprintf(stderr, "kafkamock: 1..16 brokers, 1..1000 partitions\n");
        return 2;
    }
    /* The cluster needs a client instance to live in; a producer that never
     * produces will do. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafkamock: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafkamock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nb);
    if (!mc) {
        fprintf(stderr, "kafkamock: cannot create the mock cluster\n");
        return 1;
    }
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    printf("bootstrap: %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    for (char *save = NULL, *t = strtok_r(argv[3], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        e = rd_kafka_mock_topic_create(mc, t, np, 1);
        if (e) {
            fprintf(stderr, "kafkamock: topic %s: %s\n", t, rd_kafka_err2str(e));
            return 1;
        }
        for (int p = 0; p < np; p++) {
            int b = p % nb + 1;
            rd_kafka_mock_partition_set_leader(mc, t, p, b);
            printf("leader: %s %d %d\n", t, p, b);
        }
    }
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        int b;
        if (sscanf(line, "down %d", &b) == 1)
            e = rd_kafka_mock_broker_set_down(mc, b);
        else if (sscanf(line, "up %d", &b) == 1)
            e = rd_kafka_mock_broker_set_up(mc, b);
        else if (strncmp(line, "quit", 4) == 0)
            break;
        else {
            printf("error: unknown command\n");
            fflush(stdout);
            continue;
        }
        if (e)
            printf("error: %s\n", rd_kafka_err2str(e));
        else
            printf("ok\n");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
