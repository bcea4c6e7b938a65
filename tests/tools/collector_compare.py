#!/usr/bin/env python3
"""Compare flowcollector's JSON records with tshark's decoding of the same
export datagrams (NetFlow v5, v9, IPFIX or sFlow).

usage: collector_compare.py COLLECTOR.json TSHARK.pdml [--sflow]

Fields compared per record: source/destination address and port, protocol,
bytes, packets, TCP flags, ToS, input/output interface, and the flow start
and end times (ns, computed from tshark's fields the way GoFlow2 defines
them: v5/v9 from the header's uptime and UNIX time, IPFIX from absolute
times or systemInitTime + sysUpTime).  sFlow: addresses, ports, protocol,
sampling rate, frame length (bytes), interfaces.  Records are compared as
multisets.  Prints one summary line; exit 1 on any difference.
"""
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone

PROTO = {"HOPOPT": 0, "ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "IPv6-ICMP": 58, "GRE": 47,
         "ESP": 50, "AH": 51, "SCTP": 132, "IPv6": 41, "OSPFIGP": 89, "PIM": 103, "VRRP": 112}


def abs_ns(s):
    s = s.replace(" UTC", "")
    date, frac = s.rsplit(".", 1)
    dt = datetime.strptime(date, "%b %d, %Y %H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9])


def secs_ns(s):
    whole, _, frac = s.partition(".")
    return int(whole) * 10**9 + int((frac or "0").ljust(9, "0")[:9])


def tshark_records(pdml, sflow):
    out = []
    hdr = {}
    init_ms = None
    for _, pkt in ET.iterparse(pdml):
        if pkt.tag != "packet":
            continue
        for f in pkt.iter("field"):
            n = f.get("name")
            if n in ("cflow.sysuptime",):
                hdr["uptime_ms"] = secs_ns(f.get("show")) // 10**6
            elif n == "cflow.unix_secs":
                hdr["secs"] = int(f.get("show"))
            elif n == "cflow.unix_nsecs":
                hdr["nsecs"] = int(f.get("show"))
            elif n == "cflow.version":
                hdr["version"] = int(f.get("show"))
            elif n == "cflow.exporttime":
                hdr["secs"] = int(f.get("show"))
            elif n == "cflow.sys_init_time":
                init_ms = abs_ns(f.get("show")) // 10**6
            elif n == "cflow.samplerate":
                hdr["rate"] = int(f.get("show"))
        groups = []
        for f in pkt.iter("field"):
            show = f.get("show") or ""
            if not sflow and f.get("name") == "" and (show.startswith("pdu ") or show.startswith("Flow ")):
                groups.append(f)
            if sflow and f.get("name") == "sflow_5.flow_sample" or \
               (sflow and f.get("name") == "" and show.startswith("Flow sample")):
                groups.append(f)
        for g in groups:
            r = {}
            for f in g.iter("field"):
                n, v = f.get("name"), f.get("show")
                if n in ("cflow.srcaddr", "cflow.srcaddrv6", "ip.src", "ipv6.src"):
                    r.setdefault("src_addr", v)
                elif n in ("cflow.dstaddr", "cflow.dstaddrv6", "ip.dst", "ipv6.dst"):
                    r.setdefault("dst_addr", v)
                elif n in ("cflow.srcport", "tcp.srcport", "udp.srcport"):
                    r.setdefault("src_port", int(v))
                elif n in ("cflow.dstport", "tcp.dstport", "udp.dstport"):
                    r.setdefault("dst_port", int(v))
                elif n in ("cflow.protocol", "ip.proto"):
                    r.setdefault("proto", int(v))
                elif n == "ipv6.nxt":
                    r.setdefault("proto", int(v))
                elif n == "cflow.octets" and "(Reverse" not in (f.get("showname") or ""):
                    r.setdefault("bytes", int(v))
                elif n == "cflow.packets" and "(Reverse" not in (f.get("showname") or ""):
                    r.setdefault("packets", int(v))
                elif n == "cflow.tcpflags" and "(Reverse" not in (f.get("showname") or ""):
                    r.setdefault("tcp_flags", int(v, 16))
                elif n == "cflow.tos":
                    r.setdefault("ip_tos", int(v, 16))
                elif n in ("cflow.inputint", "sflow_245.input_interface", "sflow.flow_sample.input_interface_value"):
                    r.setdefault("in_if", int(v))
                elif n in ("cflow.outputint", "sflow_245.output_interface", "sflow.flow_sample.output_interface_value"):
                    r.setdefault("out_if", int(v))
                elif n == "cflow.abstimestart":
                    r["time_flow_start_ns"] = abs_ns(v)
                elif n == "cflow.abstimeend":
                    r["time_flow_end_ns"] = abs_ns(v)
                elif n == "cflow.timestart":
                    r["_rs"] = secs_ns(v) // 10**6
                elif n == "cflow.timeend":
                    r["_re"] = secs_ns(v) // 10**6
                elif n in ("sflow_5.sampling_rate", "sflow_245.sampling_rate"):
                    r["sampling_rate"] = int(v)
                elif n in ("sflow_245.header.frame_length", "sflow_245.frame_length"):
                    r.setdefault("bytes", int(v))
            if not sflow:
                v = hdr.get("version")
                for key, rel in (("time_flow_start_ns", "_rs"), ("time_flow_end_ns", "_re")):
                    if rel not in r:
                        continue
                    if v in (5, 9):
                        base = hdr.get("secs", 0) * 10**9 + hdr.get("nsecs", 0)
                        ago = (hdr.get("uptime_ms", 0) - r[rel]) % 2**32
                        r[key] = base - ago * 10**6
                    elif init_ms is not None:
                        r[key] = (init_ms + r[rel]) * 10**6
                    r.pop(rel)
                if v == 5:
                    r["sampling_rate"] = hdr.get("rate", 0)
            if "src_addr" in r or "dst_addr" in r:
                out.append(r)  # options records (sampling, system init time) are no flows
        pkt.clear()
    return out


def main():
    sflow = "--sflow" in sys.argv
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    ts = tshark_records(sys.argv[2], sflow)
    keys = sorted({k for r in ts for k in r})
    for r in ts:
        for k in list(r):
            if r[k] is None:
                del r[k]
    def norm(r):
        t = []
        for k in keys:
            v = r.get(k)
            if k == "proto" and isinstance(v, str):
                v = PROTO.get(v, v)
            if k in ("src_addr", "dst_addr") and v == "":
                v = None
            t.append(v)
        return tuple(t)
    a = Counter(norm(r) for r in recs)
    # A field the exporter's template lacks is 0 in GoFlow2's record.
    b = Counter(tuple(r.get(k, 0 if k not in ("src_addr", "dst_addr") else None) for k in keys)
                for r in ts)
    ok = a == b and len(ts) > 0
    print("collector vs tshark: %d records, %d tshark records, fields %s, %d only in collector, "
          "%d only in tshark -> %s" % (len(recs), len(ts), ",".join(keys),
                                       sum((a - b).values()), sum((b - a).values()),
                                       "OK" if ok else "FAIL"))
    if not ok:
        for t in list((a - b).elements())[:3]:
            print("  collector only:", dict(zip(keys, t)))
        for t in list((b - a).elements())[:3]:
            print("  tshark only:   ", dict(zip(keys, t)))
    sys.exit(0 if ok else 1)


main()
