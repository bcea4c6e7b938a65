/*
 * nfv5.c - NetFlow v5 (Cisco's fixed format).
 *
 * Header, 24 bytes:  version(2)=5 count(2) sys_uptime(4, ms) unix_secs(4)
 *                    unix_nsecs(4) flow_sequence(4) engine_type(1)
 *                    engine_id(1) sampling_interval(2: mode 2 bits, 14 bits)
 * Record, 48 bytes:  srcaddr dstaddr nexthop (4 each) input(2) output(2)
 *                    dPkts(4) dOctets(4) first(4) last(4) srcport(2)
 *                    dstport(2) pad1 tcp_flags prot tos src_as(2) dst_as(2)
 *                    src_mask dst_mask pad2(2)
 */
#include <string.h>

#include "../../lib/core/cursor.h"
#include "decode.h"

#define V5_HDR 24
#define V5_REC 48

int fc_nfv5_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_state_t *s, fc_dstats_t *st,
                   fk_err_t *e)
{
    const uint8_t *p = dg->data;
    uint16_t count;
    uint32_t uptime, secs, nsecs, seq;

    st->datagrams++;
    if (dg->len < V5_HDR) {
        st->truncated++;
        return fk_errf(e, "netflow v5: %zu bytes, shorter than the 24-byte header", dg->len);
    }
    if (fk_load_be16(p) != 5) {
        st->bad_version++;
        return fk_errf(e, "netflow v5: version %u", fk_load_be16(p));
    }
    count = fk_load_be16(p + 2);
    uptime = fk_load_be32(p + 4);
    secs = fk_load_be32(p + 8);
    nsecs = fk_load_be32(p + 12);
    seq = fk_load_be32(p + 16);
    uint64_t rate = fk_load_be16(p + 22) & 0x3fff;
    if (count > 30 || (size_t)V5_HDR + (size_t)count * V5_REC > dg->len) {
        /* The format allows at most 30 records; the bytes must hold them. */
        if ((size_t)V5_HDR + (size_t)count * V5_REC > dg->len)
            st->truncated++;
        else
            st->invalid++;
        return fk_errf(e, "netflow v5: %u records announced, %zu bytes present", count, dg->len);
    }
    fc_xkey_t k = {dg->src, 0, 5, (uint32_t)p[20] << 8 | p[21]};
    fc_state_sequence(s, &k, seq, count, st);
    if (!rate)
        rate = fc_state_sampling(s, &k);

    uint64_t base = (uint64_t)secs * 1000000000ULL + nsecs;
    for (uint16_t i = 0; i < count; i++) {
        const uint8_t *r = p + V5_HDR + (size_t)i * V5_REC;
        fc_flow_t f;
        memset(&f, 0, sizeof(f));
        f.type = FC_NETFLOW_V5;
        f.time_received_ns = dg->received_ns;
        f.sequence_num = seq;
        f.sampling_rate = rate;
        f.sampler_address = dg->src;
        f.src_addr.len = f.dst_addr.len = 4;
        memcpy(f.src_addr.a, r, 4);
        memcpy(f.dst_addr.a, r + 4, 4);
        f.next_hop.len = 4;
        memcpy(f.next_hop.a, r + 8, 4);
        f.in_if = fk_load_be16(r + 12);
        f.out_if = fk_load_be16(r + 14);
        f.packets = fk_load_be32(r + 16);
        f.bytes = fk_load_be32(r + 20);
        /* uint32 differences, as the uptime counter wraps (GoFlow2 does the same). */
        f.time_flow_start_ns =
            base - (uint64_t)(uint32_t)(uptime - fk_load_be32(r + 24)) * 1000000ULL;
        f.time_flow_end_ns =
            base - (uint64_t)(uint32_t)(uptime - fk_load_be32(r + 28)) * 1000000ULL;
        f.src_port = fk_load_be16(r + 32);
        f.dst_port = fk_load_be16(r + 34);
        f.tcp_flags = r[37];
        f.proto = r[38];
        f.ip_tos = r[39];
        f.src_as = fk_load_be16(r + 40);
        f.dst_as = fk_load_be16(r + 42);
        f.src_net = r[44];
        f.dst_net = r[45];
        f.etype = 0x0800;
        st->records++;
        if (emit(arg, &f))
            break;
    }
    return 0;
}
