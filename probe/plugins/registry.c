/*
 * registry.c - the processing plugins compiled into flowprobe.
 *
 * Adding a plugin: write probe/plugins/NAME.c defining `const fp_plugin_t
 * fp_plugin_NAME`, and add one line to each list below.
 */
#include <string.h>

#include "../plugin.h"

extern const fp_plugin_t fp_plugin_vlan;
extern const fp_plugin_t fp_plugin_icmp;
extern const fp_plugin_t fp_plugin_mpls;
extern const fp_plugin_t fp_plugin_flow_hash;
extern const fp_plugin_t fp_plugin_basicplus;
extern const fp_plugin_t fp_plugin_idpcontent;
extern const fp_plugin_t fp_plugin_ntp;
extern const fp_plugin_t fp_plugin_mqtt;
extern const fp_plugin_t fp_plugin_http;
extern const fp_plugin_t fp_plugin_rtsp;
extern const fp_plugin_t fp_plugin_smtp;
extern const fp_plugin_t fp_plugin_sip;
extern const fp_plugin_t fp_plugin_ssdp;
extern const fp_plugin_t fp_plugin_dnssd;
extern const fp_plugin_t fp_plugin_dns;
extern const fp_plugin_t fp_plugin_passivedns;
extern const fp_plugin_t fp_plugin_netbios;
extern const fp_plugin_t fp_plugin_tls;
extern const fp_plugin_t fp_plugin_quic;
extern const fp_plugin_t fp_plugin_wg;
extern const fp_plugin_t fp_plugin_ovpn;
extern const fp_plugin_t fp_plugin_ssadetector;
extern const fp_plugin_t fp_plugin_pstats;
extern const fp_plugin_t fp_plugin_phists;
extern const fp_plugin_t fp_plugin_bstats;
extern const fp_plugin_t fp_plugin_nettisa;
extern const fp_plugin_t fp_plugin_osquery;
/* clang-format off */
const fp_plugin_t *const fp_plugins[] = {
    &fp_plugin_vlan,
    &fp_plugin_icmp,
    &fp_plugin_mpls,
    &fp_plugin_flow_hash,
    &fp_plugin_basicplus,
    &fp_plugin_idpcontent,
    &fp_plugin_ntp,
    &fp_plugin_mqtt,
    &fp_plugin_http,
    &fp_plugin_rtsp,
    &fp_plugin_smtp,
    &fp_plugin_sip,
    &fp_plugin_ssdp,
    &fp_plugin_dnssd,
    &fp_plugin_dns,
    &fp_plugin_passivedns,
    &fp_plugin_netbios,
    &fp_plugin_tls,
    &fp_plugin_quic,
    &fp_plugin_wg,
    &fp_plugin_ovpn,
    &fp_plugin_ssadetector,
    &fp_plugin_pstats,
    &fp_plugin_phists,
    &fp_plugin_bstats,
    &fp_plugin_nettisa,
    &fp_plugin_osquery,
    NULL,
};
/* clang-format on */

size_t fp_plugins_layout(fp_plugin_inst_t *plugins, size_t n)
{
    size_t off = (sizeof(fp_flow_t) + 7) & ~(size_t)7;

    for (size_t i = 0; i < n; i++) {
        plugins[i].state_off = off;
        off += (plugins[i].p->state_size + 7) & ~(size_t)7;
    }
    return off;
}

const fp_plugin_t *fp_plugin_find(const char *name)
{
    for (size_t i = 0; fp_plugins[i]; i++)
        if (strcmp(fp_plugins[i]->name, name) == 0)
            return fp_plugins[i];
    return NULL;
}
