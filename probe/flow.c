/*
 * flow.c - the basic field table.
 *
 * Names are UniRec's (ipfixprobe README, "basic" table); JSON names follow
 * GoFlow2 where GoFlow2 has the field (src_addr, bytes, time_flow_start_ns ...).
 * IPFIX elements are from ipfixprobe-elements.csv.  Addresses are declared with
 * their IPv4 element; the IPFIX encoder picks the IPv6 one (27/28) by version.
 * The order is ipfixprobe's basic IPFIX template (ipfixprobe-templates.csv),
 * which the IPFIX output follows; JSON and text print in this order too, CSV
 * sorts as UniRec does.  ingressInterface (10) carries the ipfix output's
 * dir= value, as in ipfixprobe; packet counts go out in 8 bytes.
 */
#include "flow.h"

#define P_IANA 0
#define P_REV  29305 /* RFC 5103 reverse information elements */

const fk_field_t fp_basic_fields[] = {
    FK_U8(fp_flow_t, end_reason, "FLOW_END_REASON", "flow_end_reason", P_IANA, 136, FK_F_NOCSV),
    FK_U64(fp_flow_t, bytes, "BYTES", "bytes", P_IANA, 1, 0),
    FK_U64(fp_flow_t, bytes_rev, "BYTES_REV", "bytes_rev", P_REV, 1, 0),
    FK_U32(fp_flow_t, packets, "PACKETS", "packets", P_IANA, 2, FK_F_ILEN8),
    FK_U32(fp_flow_t, packets_rev, "PACKETS_REV", "packets_rev", P_REV, 2, FK_F_ILEN8),
    FK_TIME(fp_flow_t, time_first, "TIME_FIRST", "time_flow_start_ns", P_IANA, 154, 0),
    FK_TIME(fp_flow_t, time_last, "TIME_LAST", "time_flow_end_ns", P_IANA, 155, 0),
    FK_U8(fp_flow_t, ip_version, "IP_VERSION", "ip_version", P_IANA, 60, FK_F_NOCSV),
    FK_U8(fp_flow_t, proto, "PROTOCOL", "proto", P_IANA, 4, 0),
    FK_U8(fp_flow_t, tcp_flags, "TCP_FLAGS", "tcp_flags", P_IANA, 6, 0),
    FK_U8(fp_flow_t, tcp_flags_rev, "TCP_FLAGS_REV", "tcp_flags_rev", P_REV, 6, 0),
    FK_U16(fp_flow_t, src_port, "SRC_PORT", "src_port", P_IANA, 7, 0),
    FK_U16(fp_flow_t, dst_port, "DST_PORT", "dst_port", P_IANA, 11, 0),
    FK_U8(fp_flow_t, dir_bit_field, "DIR_BIT_FIELD", "dir_bit_field", P_IANA, 10, FK_F_ILEN4),
    FK_IP(fp_flow_t, src_ip, "SRC_IP", "src_addr", P_IANA, 8, 0),
    FK_IP(fp_flow_t, dst_ip, "DST_IP", "dst_addr", P_IANA, 12, 0),
    FK_MAC(fp_flow_t, src_mac, "SRC_MAC", "src_mac", P_IANA, 56, 0),
    FK_MAC(fp_flow_t, dst_mac, "DST_MAC", "dst_mac", P_IANA, 80, 0),
    FK_U64(fp_flow_t, link_bit_field, "LINK_BIT_FIELD", "link_bit_field", P_IANA, 0, 0),
};

const size_t fp_basic_nfields = sizeof(fp_basic_fields) / sizeof(fp_basic_fields[0]);
