#!/usr/bin/env bash
# flowcollector against real exporters and a real decoder:
#  - softflowd (NetFlow v5, v9, IPFIX) and pmacct's pmacctd (nfprobe v5, v9,
#    IPFIX; sfprobe sFlow v5) export captures to loopback; dumpcap records the
#    datagrams; flowcollector decodes the capture (pcap:// replay) and its
#    JSON equals tshark's decoding of the same datagrams field by field
#    (addresses, ports, proto, bytes, packets, times, flags, tos, interfaces,
#    sampling rate where the protocol carries it);
#  - the live UDP path (2 SO_REUSEPORT sockets, 2 workers) gives the same
#    records as the replay;
#  - flowprobe's IPFIX, received live, gives the standard fields of
#    flowprobe's own JSON.
set -u
coll=${FLOWCOLLECTOR:-build/flowcollector}
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
tools=${FK_TOOLS:-tests/tools}
shared=${FLOWKIT_SHARED:-../shared}
for t in tshark dumpcap softflowd pmacctd; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

"$gen" -n 6000 -f 400 -s 21 "$tmp/sample.pcap" 2>/dev/null
caps=("$tmp/sample.pcap")
# (not vlan.pcap: for it softflowd's v9 header counts 2 records where the
# datagram holds more; tshark stops at the count, flowcollector, like GoFlow2,
# reads every flowset, so the two would differ by the exporter's bug.)
for c in http dns mixed tls; do
    [ -f "$shared/conformance/ipfixprobe/inputs/$c.pcap" ] && caps+=("$shared/conformance/ipfixprobe/inputs/$c.pcap")
done

port() { echo $((20000 + RANDOM % 30000)); }
wait_bound() { # port: until a UDP socket listens on it (the collector is up)
    for _ in $(seq 100); do ss -Huln "sport = :$1" | grep -q . && return 0; sleep 0.05; done
    return 1
}
capture_start() { # file port
    dumpcap -q -i lo -f "udp port $2" -w "$1" 2>"$1.err" &
    dc=$!
    for _ in $(seq 50); do grep -q "File:" "$1.err" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
}
capture_stop() { sleep 0.5; kill -INT $dc; wait $dc 2>/dev/null; }
compare() { # name capture port [--sflow]
    local name=$1 cap=$2 p=$3 mode=${4:-}
    "$coll" -listen "pcap://$cap" >"$tmp/$name.json" 2>"$tmp/$name.cerr" ||
        { bad "$name: flowcollector: $(tail -2 "$tmp/$name.cerr")"; return; }
    local d=cflow
    [ -n "$mode" ] && d=sflow
    tshark -r "$cap" -d "udp.port==$p,$d" -T pdml >"$tmp/$name.pdml" 2>/dev/null
    if out=$(python3 "$tools/collector_compare.py" "$tmp/$name.json" "$tmp/$name.pdml" $mode); then
        ok
    else
        bad "$name: $out"
    fi
}

# --- softflowd: v5, v9, IPFIX; the v9 run is also received live
for v in 5 9 10; do
    p=$(port)
    capture_start "$tmp/sf$v.pcapng" $p
    if [ $v = 9 ]; then
        "$coll" -listen "netflow://127.0.0.1:$p?count=2&workers=2" >"$tmp/live.json" 2>"$tmp/live.err" &
        live=$!
        wait_bound $p
    fi
    for c in "${caps[@]}"; do
        # -6: IPv6 flows too (v9 and IPFIX carry them); never -c with -r (softflowd blocks)
        timeout 30 softflowd -r "$c" -n 127.0.0.1:$p -v $v -d -6 >/dev/null 2>&1
    done
    capture_stop
    if [ $v = 9 ]; then
        sleep 0.5
        kill -TERM $live; wait $live 2>/dev/null
    fi
    compare "softflowd-v$v" "$tmp/sf$v.pcapng" $p
    if [ $v = 9 ]; then
        strip() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l); o.pop("time_received_ns"); print(json.dumps(o, sort_keys=True))' "$1" | sort; }
        if cmp -s <(strip "$tmp/live.json") <(strip "$tmp/softflowd-v9.json") && [ -s "$tmp/live.json" ]; then ok; else
            bad "live UDP (count=2, workers=2) gave $(wc -l <"$tmp/live.json") records, replay $(wc -l <"$tmp/softflowd-v9.json"); they differ"
        fi
    fi
done

# --- pmacctd: nfprobe v5/v9/IPFIX, sfprobe sFlow (one capture each)
pm() { # name plugin-lines...
    local name=$1; shift
    local p=$(port)
    {
        echo "daemonize: false"
        echo "pcap_savefile: $shared/conformance/ipfixprobe/inputs/http.pcap"
        for l in "$@"; do echo "${l//PORT/$p}"; done
    } >"$tmp/$name.conf"
    [ -f "$shared/conformance/ipfixprobe/inputs/http.pcap" ] ||
        sed -i "s|pcap_savefile: .*|pcap_savefile: $tmp/sample.pcap|" "$tmp/$name.conf"
    capture_start "$tmp/$name.pcapng" $p
    timeout 60 pmacctd -f "$tmp/$name.conf" >"$tmp/$name.log" 2>&1
    capture_stop
    compare "$name" "$tmp/$name.pcapng" $p ${SFLOW:-}
}
for v in 5 9 10; do
    pm "pmacct-nfprobe-v$v" "plugins: nfprobe[np]" "nfprobe_receiver[np]: 127.0.0.1:PORT" "nfprobe_version[np]: $v"
done
SFLOW=--sflow pm "pmacct-sfprobe" "plugins: sfprobe[sf]" "sfprobe_receiver[sf]: 127.0.0.1:PORT" \
    "sfprobe_agentip[sf]: 192.0.2.10" "sfprobe_agentsubid[sf]: 7" "sfprobe_ifindex[sf]: 5" "sampling_rate: 1"

# --- flowprobe's IPFIX, live, standard fields equal flowprobe's JSON
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" >"$tmp/fp.json" 2>"$tmp/fp.err" &
cpid=$!
wait_bound $p
"$probe" -f 5000 -i "pcap;file=$tmp/sample.pcap" -o "json;file=$tmp/probe.json" -o "ipfix;u;h=127.0.0.1;p=$p" 2>/dev/null
sleep 1
kill -TERM $cpid; wait $cpid 2>/dev/null
if out=$(python3 - "$tmp/probe.json" "$tmp/fp.json" <<'PY'
import json, sys
from collections import Counter
P = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPv6-ICMP": 58}
probe = [json.loads(l) for l in open(sys.argv[1])]
coll = [json.loads(l) for l in open(sys.argv[2])]
def mac(v): return v if isinstance(v, str) else ""
def p_key(o):
    return (o["src_addr"], o["dst_addr"], o["src_port"], o["dst_port"], o["proto"], o["bytes"],
            o["packets"], o["time_flow_start_ns"], o["time_flow_end_ns"], o["tcp_flags"],
            o["src_mac"], o["dst_mac"], "IPv4" if o["ip_version"] == 4 else "IPv6")
def c_key(o):
    return (o["src_addr"], o["dst_addr"], o["src_port"], o["dst_port"], P.get(o["proto"], o["proto"]),
            o["bytes"], o["packets"], o["time_flow_start_ns"], o["time_flow_end_ns"], o["tcp_flags"],
            o["src_mac"], o["dst_mac"], o["etype"])
a, b = Counter(map(p_key, probe)), Counter(map(c_key, coll))
print("%d probe flows, %d collector records, %d differ" % (len(probe), len(coll), sum((a - b).values())))
if a != b:
    for t in list((a - b).elements())[:2]: print("  probe only:", t)
    for t in list((b - a).elements())[:2]: print("  collector only:", t)
sys.exit(0 if a == b and probe else 1)
PY
); then ok; else bad "flowprobe IPFIX -> flowcollector: $out ($(tail -1 "$tmp/fp.err"))"; fi

echo "collector/peers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
