/*
 * sflow.h - sFlow version 5 datagrams (sflow.org sflow_version_5.txt) to
 * flowcollector's common record, and to GoFlow2's "-produce raw" JSON.
 *
 * Only flow samples (standard and expanded) produce records, one per sample,
 * as GoFlow2 does; counter samples are counted (and shown by the raw JSON).
 * Sampled packet headers go through lib/packet's fk_packet_parse, the parser
 * flowprobe uses, so a header decodes the same whichever program reads it.
 *
 * The decoder holds no state: sequence tracking per (agent, sub-agent) is the
 * caller's, from the fc_sflow_hdr_t it can ask for.  It allocates nothing and
 * never reads outside dg->data[0 .. dg->len).
 */
#ifndef FC_SFLOW_H
#define FC_SFLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/core/buf.h"
#include "../../lib/core/log.h"
#include "../record.h"

/* GoFlow2's anti-DoS limits (decoders/sflow/sflow.go), the same numbers here. */
#define FC_SFLOW_MAX_SAMPLES 1000 /* samples decoded per datagram */
#define FC_SFLOW_MAX_RECORDS 1000 /* records decoded per sample */
#define FC_SFLOW_MAX_LIST    1000 /* AS-path segments, ASes per segment, communities */

/*
 * Counters (STYLE rule 2).  The decoder only adds to them: zero the struct
 * once, keep one per thread and sum when read.
 *
 * Where a problem is counted:
 *   truncated    the datagram ends before something it announces: a cut
 *                header, a sample whose length runs past the end, fewer
 *                samples than the header counts.  (UDP delivers whole
 *                datagrams, so on a socket this means a short receive buffer
 *                or a broken sender; it cannot be told from a cut capture.)
 *   invalid      a length or count contradicts the structure around it, which
 *                is itself complete: a sample shorter than its fixed fields,
 *                a record running past its sample, a header length bigger
 *                than its record, an AS-path count past its record, an
 *                unknown address type inside a record.
 *   unsupported  a datagram this decoder does not read: version != 5, or an
 *                agent address type other than 0 (unknown), 1 (IPv4), 2 (IPv6).
 *   capped       a DoS limit above was hit: decoding stopped at the limit
 *                (the first 1000 samples still decode; a sample with more
 *                than 1000 records, or a gateway record with a list over
 *                1000, produces no flow).
 * A truncated or unsupported datagram header stops that datagram.  A sample
 * is skipped by its own length when it is broken or unknown, so the samples
 * after it still decode.  A flow sample produces its record only when all of
 * its records decoded (records of unknown formats are skipped by length and
 * do not count against it); an invalid or capped record drops the sample.
 */
typedef struct fc_sflow_stats_st {
    uint64_t datagrams;       /* datagrams given to the decoder */
    uint64_t samples;         /* samples framed (any type, length within the datagram) */
    uint64_t flow_samples;    /* flow samples (1) and expanded flow samples (3) decoded */
    uint64_t counter_samples; /* counter samples (2) and expanded counter samples (4) */
    uint64_t flows;           /* records emitted (one per good flow sample) */
    uint64_t unknown_samples; /* sample types skipped by length (enterprise != 0, 5, ...) */
    uint64_t unknown_records; /* flow/counter record formats skipped by length */
    uint64_t truncated;       /* see above */
    uint64_t invalid;         /* see above */
    uint64_t unsupported;     /* see above */
    uint64_t capped;          /* see above */
    uint64_t header_unparsed; /* raw header records of a protocol not parsed (not 1, 11, 12) */
    uint64_t header_partial;  /* raw headers fk_packet_parse stopped in (truncated/invalid) */
} fc_sflow_stats_t;

/*
 * The datagram header, for the caller's per-(agent, sub-agent) sequence
 * tracking.  Valid only when `valid` is true, i.e. the header decoded.
 */
typedef struct fc_sflow_hdr_st {
    bool valid;
    uint32_t version;    /* 5 */
    uint32_t agent_type; /* 0 unknown, 1 IPv4, 2 IPv6 */
    fc_addr_t agent;     /* len 0, 4 or 16 as agent_type says */
    uint32_t sub_agent_id;
    uint32_t sequence_num;  /* datagram sequence number, per (agent, sub-agent) */
    uint32_t uptime_ms;     /* agent uptime when the datagram was sent */
    uint32_t samples_count; /* as announced (may exceed what was decoded) */
} fc_sflow_hdr_t;

/* Options; a zeroed struct (or NULL) is GoFlow2's behaviour. */
typedef struct fc_sflow_opts_st {
    /*
     * Decode tunnels in sampled headers down to the inner packet: GRE (IP
     * protocol 47, version 0, carrying IPv4, IPv6 or Ethernet 0x6558), IP in
     * IP (4, 41), VXLAN (UDP 4789) and Geneve (UDP 6081).  The inner packet's
     * addresses, ports, protocol and IP fields replace the outer ones (the
     * common record has nowhere to keep the outer ones); the layer stack shows
     * both (VXLAN as FC_L_CUSTOM: LayerStack has no VXLAN value).  Without
     * it, GRE and IP-in-IP inner layers still appear in the layer stack (as
     * in GoFlow2) but the fields stay the outer packet's; VXLAN and Geneve
     * are not looked into (GoFlow2 does only when configured by port).
     */
    bool decap;
    /*
     * sFlow interface values carry a 2-bit format in the compact flow sample
     * (0 ifIndex, 1 packet discarded, 2 multiple interfaces).  GoFlow2 copies
     * the 32-bit value as it is; with this set, in_if/out_if keep only an
     * ifIndex (format 0; 0x3fffffff, "not known", becomes 0), 0 otherwise,
     * and a discarded packet sets forwarding_status to 128 (dropped, reason
     * unknown: RFC 7270 forwardingStatus).  Expanded samples carry the format
     * in its own word and are handled the same way.
     */
    bool if_index_only;
} fc_sflow_opts_t;

/*
 * Decode one sFlow v5 datagram and hand one record per flow sample to
 * emit(arg, flow); `flow` is only valid during the call.  A non-zero return
 * from emit stops decoding (the datagram counts as understood).
 *
 * Each record: type FC_SFLOW_5; time_received_ns and both flow times =
 * dg->received_ns; sampler_address = agent address; sequence_num = datagram
 * sequence number; sampling_rate, in_if, out_if from the sample; packets 1;
 * bytes = frame length of the raw header record, or the length of a sampled
 * IPv4/IPv6 record; everything the raw header holds (fk_packet_parse) and the
 * extended switch, router and gateway records.  Records apply in order, so a
 * later one overrides what an earlier one set, as in GoFlow2.
 *
 * `st` and `e` may be NULL.  Returns 0 when the datagram was understood
 * (unknown sample types and record formats are skipped by design), -1 when
 * something was rejected or skipped for a problem (counted in st; the first
 * problem is described in e).
 */
int fc_sflow_decode(const fc_dgram_t *dg, fc_emit_fn emit, void *arg, fc_sflow_stats_t *st,
                    fk_err_t *e);

/*
 * The same with options (NULL = defaults) and the datagram header written to
 * `hdr` (may be NULL) as soon as it decoded, so the caller can track sequence
 * numbers per (agent, sub-agent) even when a later sample is broken.
 */
int fc_sflow_decode_ex(const fc_dgram_t *dg, const fc_sflow_opts_t *opts, fc_emit_fn emit,
                       void *arg, fc_sflow_stats_t *st, fc_sflow_hdr_t *hdr, fk_err_t *e);

/*
 * Append the decoded datagram to `out` as one JSON object (no newline) in the
 * shape of GoFlow2's "-produce raw -format json": {"type":"sflow","message":
 * {version, ip-version, agent-ip, sub-agent-id, sequence-number, uptime,
 * samples-count, samples: [...]}, "src": "[ip]:port", "time_received": RFC
 * 3339 UTC}.  Samples and records use GoFlow2's key names and order; byte
 * strings (header-data, unknown record data) are base64 as Go encodes []byte.
 * flowkit additions: a sample or record that could not be decoded carries
 * "error": "truncated" | "invalid" | "capped" instead of (or after) its data.
 *
 * Returns 0, or -1 when the datagram header cannot be decoded (nothing is
 * appended; e says why) or `out` failed to grow (out->error).
 */
int fc_sflow_raw_json(const fc_dgram_t *dg, fk_buf_t *out, fk_err_t *e);

#endif /* FC_SFLOW_H */
