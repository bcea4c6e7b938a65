#!/usr/bin/env python3
"""Compare flowprobe's JSON flows with tshark's decoding of the same flows as IPFIX.

usage: ipfix_compare.py FLOWS.json TSHARK.pdml [--min-records N]

Reads tshark's PDML (tshark -T pdml), takes every decoded data record
("Flow N"), and checks that the multiset of records equals the JSON flows on
the common fields: addresses, ports, protocol, packets and bytes both ways,
start/end times (ns), TCP flags both ways, flow end reason.  Also fails on any
malformed-packet or warning/error expert item.  Prints one summary line.
"""
import json
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from collections import Counter


def tshark_time_ns(s):
    # "Oct 28, 2016 17:01:54.088536000 UTC"
    s = s.replace(" UTC", "")
    date, frac = s.rsplit(".", 1)
    dt = datetime.strptime(date, "%b %d, %Y %H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9])


def records(pdml):
    problems = []
    out = []
    for ev, el in ET.iterparse(pdml):
        name = el.get("name", "")
        if name == "_ws.malformed":
            problems.append("malformed: " + el.get("showname", ""))
        if name == "_ws.expert":
            sev = [c for c in el.iter("field") if c.get("name") == "_ws.expert.severity"]
            for s in sev:
                # PI_WARN 0x00600000, PI_ERROR 0x00800000 (epan/proto.h)
                if s.get("show") in ("6291456", "8388608"):
                    problems.append("expert: " + el.get("showname", ""))
        if el.tag == "field" and name == "" and (el.get("show") or "").startswith("Flow "):
            r = {}
            for f in el.iter("field"):
                n = f.get("name")
                v = f.get("show")
                rev = "(Reverse Type" in (f.get("showname") or "")
                key = {
                    "cflow.srcaddr": "src_addr", "cflow.srcaddrv6": "src_addr",
                    "cflow.dstaddr": "dst_addr", "cflow.dstaddrv6": "dst_addr",
                    "cflow.srcport": "src_port", "cflow.dstport": "dst_port",
                    "cflow.protocol": "proto", "cflow.octets": "bytes",
                    "cflow.packets": "packets", "cflow.tcpflags": "tcp_flags",
                    "cflow.abstimestart": "time_flow_start_ns",
                    "cflow.abstimeend": "time_flow_end_ns",
                    "cflow.flow_end_reason": "flow_end_reason",
                }.get(n)
                if not key:
                    continue
                if key.startswith("time_"):
                    v = tshark_time_ns(v)
                elif key in ("src_addr", "dst_addr"):
                    pass
                else:
                    v = int(v, 0)
                if rev:
                    key += "_rev"
                if key in r:
                    continue  # nested duplicates (tcpflags children) are skipped
                r[key] = v
            out.append(r)
            el.clear()
    return out, problems


KEYS = ["src_addr", "dst_addr", "src_port", "dst_port", "proto", "bytes", "bytes_rev",
        "packets", "packets_rev", "tcp_flags", "tcp_flags_rev", "time_flow_start_ns",
        "time_flow_end_ns", "flow_end_reason"]


def main():
    js, pdml = sys.argv[1], sys.argv[2]
    need = 0
    if "--min-records" in sys.argv:
        need = int(sys.argv[sys.argv.index("--min-records") + 1])
    flows = [json.loads(l) for l in open(js) if l.strip()]
    recs, problems = records(pdml)
    a = Counter(tuple(f.get(k) for k in KEYS) for f in flows)
    b = Counter(tuple(r.get(k) for k in KEYS) for r in recs)
    ok = a == b and not problems and len(recs) >= need
    print("ipfix vs json: %d flows, %d tshark records, %d only in json, %d only in tshark, "
          "%d problems -> %s" % (len(flows), len(recs), sum((a - b).values()),
                                 sum((b - a).values()), len(problems), "OK" if ok else "FAIL"))
    if not ok:
        for t in list((a - b).elements())[:3]:
            print("  json only:  ", dict(zip(KEYS, t)))
        for t in list((b - a).elements())[:3]:
            print("  tshark only:", dict(zip(KEYS, t)))
        for p in problems[:5]:
            print("  ", p)
    sys.exit(0 if ok else 1)


main()
