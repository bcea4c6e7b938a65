/*
 * test_metrics.c - flowcollector's Prometheus text (collector/metrics.c):
 * GoFlow2's family names and labels (goflow2-spec.md section 6), labels
 * sorted by name as client_golang writes them, label values escaped, the
 * exporter cap, and the template and transport families.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/metrics.h"
#include "collector/pipeline.h"

static char *render(fc_metrics_t *m)
{
    fk_buf_t b;
    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    fc_metrics_write(m, &b);
    fk_buf_putc(&b, '\0');
    return b.data;
}

static void has(const char *text, const char *line)
{
    if (!strstr(text, line))
        fail_msg("missing: %s", line);
}

static void test_goflow2_families(void **state)
{
    fc_metrics_t *m = fc_metrics_new();
    fc_addr_t src = {4, {192, 0, 2, 1}}, agent = {4, {10, 0, 0, 9}};
    (void)state;
    int l = fc_metrics_listener(m, "netflow", "127.0.0.1", 2055);
    int ls = fc_metrics_listener(m, "sflow", "::", 6343);
    fc_dstats_t ds = {0};
    ds.records = 30;
    ds.templates = 2;
    ds.option_records = 1;
    ds.no_template = 1;
    ds.seq_lost = 5;
    fc_mdgram_t d = {.lidx = l,
                     .src = &src,
                     .bytes = 1400,
                     .decode_ns = 2000000,
                     .name = "netflow",
                     .kind = FC_MD_NETFLOW,
                     .version = 10,
                     .ds = &ds,
                     .error = true,
                     .delay_sum = 3.5,
                     .delay_n = 30};
    fc_metrics_datagram(m, &d);
    fc_metrics_datagram(m, &d);
    fc_dstats_t d5 = {0};
    fc_mdgram_t v5 = {.lidx = l,
                      .src = &src,
                      .bytes = 24 + 48 * 7,
                      .name = "netflow",
                      .kind = FC_MD_NETFLOW,
                      .version = 5,
                      .ds = &d5,
                      .v5_count = 7};
    fc_metrics_datagram(m, &v5);
    fc_sflow_stats_t ss = {0};
    ss.flow_samples = 3;
    ss.counter_samples = 1;
    fc_mdgram_t sf = {.lidx = ls,
                      .src = &src,
                      .bytes = 500,
                      .name = "sflow",
                      .kind = FC_MD_SFLOW,
                      .ss = &ss,
                      .agent = &agent};
    fc_metrics_datagram(m, &sf);
    fc_metrics_dropped(m, l, &src, 1000);
    char *t = render(m);
    /* labels in name order, as client_golang sorts them */
    has(t, "# TYPE goflow2_flow_traffic_bytes_total counter\n");
    has(t, "goflow2_flow_traffic_bytes_total{local_ip=\"127.0.0.1\",local_port=\"2055\","
           "remote_ip=\"192.0.2.1\",type=\"netflow\"} 3160\n");
    has(t, "goflow2_flow_traffic_packets_total{local_ip=\"127.0.0.1\",local_port=\"2055\","
           "remote_ip=\"192.0.2.1\",type=\"netflow\"} 3\n");
    has(t, "goflow2_flow_traffic_size_bytes_count{local_ip=\"127.0.0.1\",local_port=\"2055\","
           "remote_ip=\"192.0.2.1\",type=\"netflow\"} 3\n");
    has(t, "goflow2_flow_dropped_packets_total{local_ip=\"127.0.0.1\",local_port=\"2055\","
           "remote_ip=\"192.0.2.1\"} 1\n");
    has(t, "goflow2_flow_dropped_bytes_total{local_ip=\"127.0.0.1\",local_port=\"2055\","
           "remote_ip=\"192.0.2.1\"} 1000\n");
    has(t, "goflow2_flow_decoder_error_total{name=\"netflow\",router=\"192.0.2.1\"} 2\n");
    has(t, "goflow2_flow_decoding_time_seconds_count{name=\"netflow\"} 3\n");
    has(t, "goflow2_flow_process_nf_total{router=\"192.0.2.1\",version=\"10\"} 2\n");
    has(t, "goflow2_flow_process_nf_total{router=\"192.0.2.1\",version=\"5\"} 1\n");
    has(t, "goflow2_flow_process_nf_errors_total{error=\"template_not_found\",router=\"192.0.2.1\"}"
           " 2\n");
    /* GoFlow2 quirk 12: the v5 flowset counter adds the record count */
    has(t, "goflow2_flow_process_nf_flowset_total{router=\"192.0.2.1\",type=\"DataFlowSet\","
           "version=\"5\"} 7\n");
    has(t,
        "goflow2_flow_process_nf_flowset_records_total{router=\"192.0.2.1\",type=\"DataFlowSet\","
        "version=\"10\"} 60\n");
    has(t, "goflow2_flow_process_nf_flowset_records_total{router=\"192.0.2.1\","
           "type=\"OptionsDataFlowSet\",version=\"10\"} 2\n");
    has(t, "goflow2_flow_process_nf_delay_seconds_sum{router=\"192.0.2.1\",version=\"10\"} 7\n");
    has(t, "goflow2_flow_process_nf_delay_seconds_count{router=\"192.0.2.1\",version=\"10\"} 60\n");
    has(t,
        "goflow2_flow_process_sf_total{agent=\"10.0.0.9\",router=\"192.0.2.1\",version=\"5\"} 1\n");
    has(t, "goflow2_flow_process_sf_samples_total{agent=\"10.0.0.9\",router=\"192.0.2.1\","
           "type=\"FlowSample\",version=\"5\"} 3\n");
    has(t, "flowkit_collector_sequence_lost_total{router=\"192.0.2.1\",version=\"10\"} 10\n");
    has(t, "goflow2_flow_traffic_bytes_total{local_ip=\"::\",local_port=\"6343\",remote_ip=\"192.0."
           "2.1\","
           "type=\"sflow\"} 500\n");
    has(t, "# TYPE process_cpu_seconds_total counter\n");
    free(t);
    fc_metrics_free(m);
}

static void test_pstats_and_ready(void **state)
{
    fc_metrics_t *m = fc_metrics_new();
    fc_pstats_t st;
    (void)state;
    memset(&st, 0, sizeof(st));
    st.received = 12;
    st.dropped = 3;
    st.kernel_drops = 4;
    st.records = 99;
    st.nf.truncated = 1;
    fc_metrics_set_pstats(m, &st);
    assert_false(fc_metrics_ready(m));
    fc_metrics_set_ready(m, true);
    assert_true(fc_metrics_ready(m));
    char *t = render(m);
    has(t, "flowkit_collector_datagrams_total 12\n");
    has(t, "flowkit_collector_dropped_datagrams_total{reason=\"queue_full\"} 3\n");
    has(t, "flowkit_collector_dropped_datagrams_total{reason=\"kernel\"} 4\n");
    has(t, "flowkit_collector_records_total 99\n");
    has(t, "flowkit_collector_decode_errors_total{class=\"truncated\",protocol=\"netflow\"} 1\n");
    free(t);
    fc_metrics_free(m);
}

static void test_escaping_and_cap(void **state)
{
    fc_metrics_t *m = fc_metrics_new();
    (void)state;
    /* a listener type with characters the text format must escape */
    int l = fc_metrics_listener(m, "a\"b\\c\nd", "127.0.0.1", 1);
    fc_addr_t src = {4, {1, 2, 3, 4}};
    fc_mdgram_t d = {.lidx = l, .src = &src, .bytes = 1, .name = "x", .kind = FC_MD_NONE};
    fc_metrics_datagram(m, &d);
    /* spoofed sources beyond the cap share one series */
    for (uint32_t i = 0; i < FC_METRICS_MAX_EXPORTERS + 50; i++) {
        fc_addr_t a = {4, {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}};
        fc_mdgram_t x = {.lidx = l, .src = &a, .bytes = 10, .name = "x", .kind = FC_MD_NONE};
        fc_metrics_datagram(m, &x);
    }
    char *t = render(m);
    has(t, "type=\"a\\\"b\\\\c\\nd\"");
    has(t, "remote_ip=\"overflow\"");
    size_t series = 0;
    for (const char *p = t; (p = strstr(p, "\ngoflow2_flow_traffic_packets_total{")); p++)
        series++;
    assert_int_equal(series, FC_METRICS_MAX_EXPORTERS + 1); /* the cap, plus "overflow" */
    free(t);
    fc_metrics_free(m);
}

static void test_transport_family(void **state)
{
    fk_buf_t b;
    fc_tstats_t st = {10, 1000, 7, 2, 1, 0, 0};
    (void)state;
    assert_int_equal(fk_buf_init(&b, NULL, 0), 0);
    fc_metrics_write_transport("kafka", &st, &b);
    fk_buf_putc(&b, '\0');
    has(b.data,
        "flowkit_collector_transport_messages_total{result=\"delivered\",transport=\"kafka\"} 7\n");
    has(b.data,
        "flowkit_collector_transport_messages_total{result=\"failed\",transport=\"kafka\"} 2\n");
    has(b.data, "flowkit_collector_transport_messages_total{result=\"queue_full\",transport="
                "\"kafka\"} 1\n");
    fk_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goflow2_families),
        cmocka_unit_test(test_pstats_and_ready),
        cmocka_unit_test(test_escaping_and_cap),
        cmocka_unit_test(test_transport_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
