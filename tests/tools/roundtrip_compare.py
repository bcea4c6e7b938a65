#!/usr/bin/env python3
"""Compare `flowprobe -o json` with flowcollector's JSON of the same flows sent
as IPFIX (`flowprobe -o ipfix`): DESIGN.md invariant 1, field by field.

usage: roundtrip_compare.py PROBE.json COLLECTOR.json [--min-records N]

Rows.  flowprobe prints one JSON object per flow; a plugin with several
records for a flow (passivedns answers, netbios names) puts them in an array
under its name.  Its IPFIX output sends one data record per row: row 0 has the
basic fields, every single-record plugin's fields and record 0 of each
multi-record plugin; row r > 0 has the basic fields and record r of the
plugins that have one (probe/output/ipfix.c).  The basic fields are the keys
up to "link_bit_field", the last of flowprobe's basic table.

What is compared, for each row against one collector record (multisets, so
the order of records does not matter, and every record must be matched):
  * every flowprobe field, under its own name, with its own value: the
    collector's extra values (keys after GoFlow2's columns, which end with
    "ipv6_routing_header_seg_left") must be exactly the row's fields that
    GoFlow2 has no column for, with equal values; no "unknown_elements";
  * fields GoFlow2's FlowMessage carries are compared with its columns.  Where
    the collector follows GoFlow2's semantics rather than flowprobe's names,
    the mapping is explicit and lossless:
      proto            number        <-> GoFlow2's protocol name ("TCP")
      ip_version       4 / 6         <-> etype "IPv4" / "IPv6"
      dir_bit_field    (IE 10)       <-> in_if (ingressInterface)
      icmp_type_code   type*256+code <-> icmp_type, icmp_code
      vlan_id          (IE 58)       <-> vlan_id and src_vlan (GoFlow2 sets both)
      ip_ttl           (IE 192)      <-> ip_ttl
    and GoFlow2's column must also hold what GoFlow2 derives from the two
    elements it reads only in part (the element itself is an extra value too,
    compared exactly above):
      ip_flg (fragmentFlags 197)       -> ip_flags = ip_flg >> 5
      mpls_top_label_stack_section (70) -> mpls_label = [section >> 4]
    The columns above hold GoFlow2's zero value when the row has no such
    field (a record never gains a value flowprobe did not send);
  * bytes, packets, addresses, ports, MACs, tcp_flags, the flow start and end
    (ns) have the same names and meaning on both sides: compared exactly;
  * GoFlow2's per-record metadata is not a flowprobe field and is not compared
    (type must be "IPFIX"): time_received_ns, sequence_num, sampler_address,
    sampling_rate, observation_domain_id.  Every other GoFlow2 column must hold
    its zero value.
Two documented differences of semantics:
  * link_bit_field has no IPFIX element in flowprobe's table (IE 0, as in
    ipfixprobe): not sent, so not compared (counted in the summary);
  * time arrays (pstats ppi_pkt_times, bstats *_brst_time_*) travel as
    dateTimeMilliseconds, as ipfixprobe sends them: flowprobe's nanoseconds
    are compared truncated to the millisecond.
Prints one summary line; exit 1 on any difference.
"""
import json
import sys
from collections import Counter

LAST_BASIC = "link_bit_field"
LAST_GOFLOW2 = "ipv6_routing_header_seg_left"
NOT_SENT = {"link_bit_field"}
MS_TIMES = {"ppi_pkt_times", "sbi_brst_time_start", "sbi_brst_time_stop",
            "dbi_brst_time_start", "dbi_brst_time_stop"}
# GoFlow2's names of IP protocol numbers (its ProtoRenderer, IANA keywords).
PROTO = {"HOPOPT": 0, "ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "IPv6": 41, "GRE": 47,
         "ESP": 50, "AH": 51, "IPv6-ICMP": 58, "OSPFIGP": 89, "PIM": 103, "VRRP": 112,
         "SCTP": 132}
# Collector columns filled from flowprobe fields, and GoFlow2's zero values.
DERIVED = {"vlan_id": 0, "src_vlan": 0, "ip_ttl": 0, "ip_flags": 0, "icmp_type": 0,
           "icmp_code": 0, "mpls_label": []}
METADATA = {"type", "time_received_ns", "sequence_num", "sampler_address", "sampling_rate",
            "observation_domain_id"}
# flowprobe field -> collector column of the same meaning (checked exactly).
SAME = {"bytes", "packets", "time_flow_start_ns", "time_flow_end_ns", "tcp_flags", "src_port",
        "dst_port", "src_addr", "dst_addr", "src_mac", "dst_mac"}


def pairs(o):
    return o  # object_pairs_hook: keep duplicates and order


def canon(v):
    return json.dumps(v, sort_keys=True)


def rows_of(flow):
    keys = [k for k, _ in flow]
    if LAST_BASIC not in keys:
        raise ValueError("flowprobe record without %s: %s" % (LAST_BASIC, keys[:5]))
    nb = keys.index(LAST_BASIC) + 1
    basic = flow[:nb]
    flat, multi = [], []
    for k, v in flow[nb:]:
        if isinstance(v, list) and v and isinstance(v[0], list):  # records (pairs lists)
            multi.append(v)
        else:
            flat.append((k, v))
    n = max([1] + [len(m) for m in multi])
    rows = []
    for r in range(n):
        row = list(basic) + (flat if r == 0 else [])
        for m in multi:
            if r < len(m):
                row += m[r]
        rows.append(row)
    return rows


class Skip:
    not_sent = 0
    ms = 0


def expected(row):
    """The collector record a flowprobe row must give: (columns, extras)."""
    cols = dict(DERIVED)
    extras = []
    for k, v in row:
        if k in NOT_SENT:
            Skip.not_sent += 1
            continue
        if k in SAME:
            cols[k] = v
        elif k == "proto":
            cols["proto"] = v
        elif k == "ip_version":
            cols["etype"] = {4: "IPv4", 6: "IPv6"}.get(v, v)
        elif k == "dir_bit_field":
            cols["in_if"] = v
        elif k == "icmp_type_code":
            cols["icmp_type"], cols["icmp_code"] = v >> 8, v & 0xff
        elif k == "vlan_id":
            cols["vlan_id"] = cols["src_vlan"] = v
        elif k == "ip_ttl":
            cols["ip_ttl"] = v
        else:
            if k == "ip_flg":
                cols["ip_flags"] = v >> 5
            elif k == "mpls_top_label_stack_section":
                cols["mpls_label"] = [int(v, 16) >> 4] if len(v) == 6 else []
            if k in MS_TIMES:
                Skip.ms += 1
                v = [t // 1000000 * 1000000 for t in v]
            extras.append((k, v))
    return cols, extras


ZERO = (0, "", [], "0.0.0.0/0", "::/0")


def actual(rec, want_cols):
    keys = [k for k, _ in rec]
    if LAST_GOFLOW2 not in keys:
        raise ValueError("collector record without %s" % LAST_GOFLOW2)
    ng = keys.index(LAST_GOFLOW2) + 1
    d = dict(rec[:ng])
    problems = []
    if d.get("type") != "IPFIX":
        problems.append("type %r" % d.get("type"))
    cols = {}
    for k in want_cols:
        v = d.get(k)
        if k == "proto" and isinstance(v, str):
            if v not in PROTO:
                problems.append("protocol name %r not in the test's table" % v)
            v = PROTO.get(v, v)
        cols[k] = v
    for k, v in d.items():
        if k not in want_cols and k not in METADATA and v not in ZERO:
            problems.append("column %s=%r without a flowprobe field" % (k, v))
    extras = list(rec[ng:])
    if any(k == "unknown_elements" for k, _ in extras):
        problems.append("unknown_elements %s" % [v for k, v in extras if k == "unknown_elements"])
    return cols, extras, problems


def main(argv):
    args = argv[1:]
    min_records = 1
    if "--min-records" in args:
        i = args.index("--min-records")
        min_records = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    probe = [json.loads(l, object_pairs_hook=pairs) for l in open(args[0]) if l.strip()]
    coll = [json.loads(l, object_pairs_hook=pairs) for l in open(args[1]) if l.strip()]
    want = Counter()
    colset = set(DERIVED) | {"proto", "etype", "in_if"} | SAME
    for flow in probe:
        for row in rows_of(flow):
            cols, extras = expected(row)
            want[(canon(sorted(cols.items())), canon(sorted(extras, key=canon)))] += 1
    got = Counter()
    problems = []
    for rec in coll:
        cols, extras, p = actual(rec, colset)
        problems += p
        got[(canon(sorted(cols.items())), canon(sorted(extras, key=canon)))] += 1
    nrows = sum(want.values())
    missing, extra = want - got, got - want
    ok = not missing and not extra and not problems and nrows >= min_records
    print("%d flowprobe flows, %d rows, %d collector records, %d rows unmatched, %d records "
          "unmatched, %d problems; not sent: %d link_bit_field values; ms-precision time arrays: %d"
          % (len(probe), nrows, len(coll), sum(missing.values()), sum(extra.values()),
             len(problems), Skip.not_sent, Skip.ms))
    if not ok:
        for p in problems[:3]:
            print("  problem:", p)
        for (c, e) in list(missing.elements())[:2]:
            print("  flowprobe only:", c, e)
        for (c, e) in list(extra.elements())[:2]:
            print("  collector only:", c, e)
        if nrows < min_records:
            print("  fewer than %d rows" % min_records)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
