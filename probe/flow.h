/*
 * flow.h - the biflow record every stage of flowprobe shares.
 *
 * SRC is the endpoint that sent the flow's first packet (ipfixprobe's rule);
 * the `_rev` counters are the DST -> SRC direction.  Plugin state lives in
 * slabs right after the record in the flow cache (see plugin.h).
 */
#ifndef FP_FLOW_H
#define FP_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/core/field.h"

/* IPFIX flowEndReason values (RFC 7011 / IANA IE 136). */
enum fp_end_reason {
    FP_END_INACTIVE = 1, /* idle timeout */
    FP_END_ACTIVE = 2,   /* active timeout */
    FP_END_EOF = 3,      /* end of flow detected (TCP FIN/RST) */
    FP_END_FORCED = 4,   /* forced: end of input, shutdown, or a plugin asked */
    FP_END_NO_RES = 5,   /* lack of resources: evicted from a full cache row */
};

typedef struct fp_flow_st {
    uint8_t src_ip[16]; /* IPv4 stored IPv4-mapped */
    uint8_t dst_ip[16];
    uint64_t time_first;     /* ns since the epoch, first packet (either direction) */
    uint64_t time_last;      /* ns since the epoch, last packet (either direction) */
    uint64_t bytes;          /* IP-layer bytes SRC -> DST (IP header included) */
    uint64_t bytes_rev;      /* IP-layer bytes DST -> SRC */
    uint64_t link_bit_field; /* exporter link identification (UniRec LINK_BIT_FIELD) */
    uint64_t hash;           /* flow-key hash, direction independent unless split */
    uint32_t packets;
    uint32_t packets_rev;
    uint8_t src_mac[6]; /* from the first packet */
    uint8_t dst_mac[6];
    uint16_t src_port; /* TCP/UDP/SCTP ports; 0 for other protocols */
    uint16_t dst_port;
    uint16_t vlan_id;      /* part of the key only when a plugin asks (vlan) */
    uint8_t proto;         /* IP protocol number */
    uint8_t ip_version;    /* 4 or 6 */
    uint8_t tcp_flags;     /* OR of the flags seen SRC -> DST */
    uint8_t tcp_flags_rev; /* OR of the flags seen DST -> SRC */
    uint8_t dir_bit_field; /* UniRec DIR_BIT_FIELD: input direction bits */
    uint8_t end_reason;    /* enum fp_end_reason, set when the flow is exported */
    uint64_t hooks_done;   /* cache-private: bit i set = plugin i's update hooks
                              answered FP_HOOK_DONE for this flow (plugin.h);
                              zeroed with the flow, never exported */
} fp_flow_t;

/* The basic fields every output prints (flow.c says in which order and why). */
extern const fk_field_t fp_basic_fields[];
extern const size_t fp_basic_nfields;

#endif /* FP_FLOW_H */
