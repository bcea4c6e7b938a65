/*
 * vlan.c - the VLAN plugin (ipfixprobe "vlan").
 *
 * Makes the outermost VLAN id part of the flow key (FP_PLUGIN_KEY_VLAN, the
 * cache does the keying) and exports it as VLAN_ID; untagged flows carry the
 * record too, with 0, as in ipfixprobe's reference output.
 */
#include "../plugin.h"

typedef struct vlan_rec_st {
    uint16_t vlan_id; /* outermost 12-bit VID of the first packet, 0 = untagged */
} vlan_rec_t;

static const fk_field_t vlan_fields[] = {
    FK_U16(vlan_rec_t, vlan_id, "VLAN_ID", "vlan_id", 0, 58, 0),
};

static int vlan_post_create(void *ctx, fp_flow_t *flow, void *state, const fp_hookpkt_t *hp)
{
    vlan_rec_t *r = state;

    (void)ctx;
    (void)flow;
    r->vlan_id = hp->pkt->vlan_count ? hp->pkt->vlan_id[0] : 0;
    return FP_HOOK_OK;
}

static unsigned vlan_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    (void)state;
    return 1;
}

static const void *vlan_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    (void)ctx;
    (void)flow;
    (void)i;
    return state;
}

const fp_plugin_t fp_plugin_vlan = {
    .abi = FP_PLUGIN_ABI,
    .name = "vlan",
    .summary = "VLAN id of the flow (outermost tag), made part of the flow key",
    .options = NULL,
    .fields = vlan_fields,
    .nfields = sizeof(vlan_fields) / sizeof(vlan_fields[0]),
    .record_size = sizeof(vlan_rec_t),
    .state_size = sizeof(vlan_rec_t),
    .flags = FP_PLUGIN_KEY_VLAN,
    .post_create = vlan_post_create,
    .records = vlan_records,
    .record = vlan_record,
};
