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
extern const fp_plugin_t fp_plugin_tls;
extern const fp_plugin_t fp_plugin_quic;
const fp_plugin_t *const fp_plugins[] = {
    &fp_plugin_vlan,
    &fp_plugin_icmp,
    &fp_plugin_mpls,
    &fp_plugin_flow_hash,
    &fp_plugin_basicplus,
    &fp_plugin_idpcontent,
    &fp_plugin_ntp,
    &fp_plugin_mqtt,
    &fp_plugin_tls,
    &fp_plugin_quic,
    NULL,
};

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
