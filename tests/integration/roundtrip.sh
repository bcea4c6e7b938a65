#!/usr/bin/env bash
# DESIGN.md invariant 1, end to end: flowprobe's IPFIX, decoded by
# flowcollector with no mapping file, gives the flow fields of flowprobe's own
# JSON for the same capture, by flowprobe's names (enterprise and reverse
# elements, strings, basicLists), field by field (tests/tools/roundtrip_compare.py
# says what is compared and the two documented differences of semantics).
#
# Plugin sets, each run once with -o json and -o 'ipfix;file=...' together:
#   - none, on every conformance capture;
#   - each plugin alone on its reference capture (cases.txt);
#   - one big combination (every plugin flowprobe has), on every capture.
# flowcollector reads UDP datagrams (or a capture of them), not IPFIX files:
# tests/tools/ipfix2pcap.py wraps each message of the file into a UDP
# datagram and flowcollector replays that capture (-listen pcap://).
# Then the big combination once more live: flowprobe sends over UDP on
# loopback to `flowcollector -listen netflow://`.  (flowcollector has no TCP
# listener: GoFlow2 has none either.)
set -u
coll=${FLOWCOLLECTOR:-build/flowcollector}
probe=${FLOWPROBE:-build/flowprobe}
tools=${FK_TOOLS:-tests/tools}
shared=${FLOWKIT_SHARED:-../shared}
inputs=$shared/conformance/ipfixprobe/inputs
[ -d "$inputs" ] || { echo "SKIP: $inputs not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Every plugin flowprobe has, from its own help (-h process).
all=$("$probe" -h process 2>&1 | awk '/^Processing plugin: /{print $3}')
[ -n "$all" ] || { echo "FAIL: no plugin list from $probe -h process"; exit 1; }
big=()
for p in $all; do big+=(-p "$p"); done

# run NAME CAPTURE PLUGIN-ARGS...: probe -> IPFIX file -> pcap -> collector -> compare
run() {
    local name=$1 cap=$2; shift 2
    local d=$tmp/$name
    # m=8900: messages fit the 9000-byte datagrams flowcollector (as GoFlow2)
    # receives; every record fits one (one larger than the MTU would be
    # dropped by flowprobe, counted, and this comparison would fail).
    if ! "$probe" -i "pcap;file=$cap" "$@" -o "json;file=$d.json" \
        -o "ipfix;file=$d.ipfix;m=8900" 2>"$d.perr"; then
        bad "$name: flowprobe: $(tail -2 "$d.perr")"; return
    fi
    if ! python3 "$tools/ipfix2pcap.py" "$d.ipfix" "$d.pcap" >/dev/null 2>"$d.terr"; then
        bad "$name: ipfix2pcap: $(cat "$d.terr")"; return
    fi
    if ! "$coll" -listen "pcap://$d.pcap" >"$d.coll.json" 2>"$d.cerr"; then
        bad "$name: flowcollector: $(tail -2 "$d.cerr")"; return
    fi
    if [ ! -s "$d.json" ]; then
        # no IP flow in the capture (arp.pcap): nothing may come out either
        [ ! -s "$d.coll.json" ] && ok || bad "$name: collector records from a capture without flows"
        return
    fi
    local out
    if out=$(python3 "$tools/roundtrip_compare.py" "$d.json" "$d.coll.json"); then
        ok
    else
        bad "$name: $out"
    fi
}

for cap in "$inputs"/*.pcap; do
    run "none-$(basename "$cap" .pcap)" "$cap"
done
while read -r plugin capture; do
    [ -n "$plugin" ] || continue
    [ "$plugin" = basic ] && continue # the "none" runs above
    run "$plugin-${capture%.pcap}" "$inputs/$capture" -p "$plugin"
done <"$shared/conformance/ipfixprobe/cases.txt"
for cap in "$inputs"/*.pcap; do
    run "all-$(basename "$cap" .pcap)" "$cap" "${big[@]}"
done

# The extras must have been exercised, not just matched empty: the big
# combination on mixed.pcap carries enterprise strings, reverse counters and
# basicLists through the collector.
if grep -q '"ppi_pkt_lengths":\[[0-9]' "$tmp/all-mixed.coll.json" 2>/dev/null &&
    grep -q '"bytes_rev":' "$tmp/all-mixed.coll.json" &&
    grep -q '"http_request_host":"' "$tmp/all-http.coll.json" 2>/dev/null; then
    ok
else
    bad "collector JSON lacks basicList, reverse or string extras"
fi

# The comparison can fail: altered copies of a matching pair must be refused
# (a changed extra value, a missing extra, a changed column, an unknown
# element, an extra record).
mutate() { # python statements over the list of records `r`, using has(key)
    if ! python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
def has(k): return next(o for o in r if o.get(k))
exec(sys.argv[2])
for o in r: print(json.dumps(o))' "$tmp/all-http.coll.json" "$1" >"$tmp/mut.json" 2>"$tmp/mut.err"; then
        bad "mutation $1 did not apply: $(tail -1 "$tmp/mut.err")"
    elif python3 "$tools/roundtrip_compare.py" "$tmp/all-http.json" "$tmp/mut.json" >/dev/null; then
        bad "comparison accepted a mutation: $1"
    else
        ok
    fi
}
mutate 'has("http_request_host")["http_request_host"] += "x"'
mutate 'del has("ppi_pkt_lengths")["ppi_pkt_lengths"]'
mutate 'has("ppi_pkt_times")["ppi_pkt_times"][0] += 1000000'
mutate 'has("nts_mean")["nts_mean"] += 0.5'
mutate 'has("dst_port")["dst_port"] += 1'
mutate 'r[0]["unknown_elements"] = [{"pen": 1, "id": 2, "hex": "00"}]'
mutate 'r.append(dict(r[0]))'

# Live over UDP on loopback, paced (-f) so the socket buffer never overflows;
# m=8900: flowcollector reads datagrams of up to 9000 bytes, as GoFlow2.
port=$((20000 + RANDOM % 30000))
"$coll" -listen "netflow://127.0.0.1:$port?blocking=true" >"$tmp/live.json" 2>"$tmp/live.err" &
cpid=$!
for _ in $(seq 100); do ss -Huln "sport = :$port" | grep -q . && break; sleep 0.05; done
"$probe" -f 3000 -i "pcap;file=$inputs/mixed.pcap" "${big[@]}" -o "json;file=$tmp/live.probe.json" \
    -o "ipfix;u;h=127.0.0.1;p=$port;m=8900" 2>"$tmp/live.perr" || bad "live: flowprobe: $(tail -1 "$tmp/live.perr")"
want=$(python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    o = json.loads(l)
    n += max([1] + [len(v) for v in o.values() if isinstance(v, list) and v and isinstance(v[0], dict)])
print(n)' "$tmp/live.probe.json")
for _ in $(seq 100); do [ "$(wc -l <"$tmp/live.json")" -ge "$want" ] && break; sleep 0.05; done
kill -TERM $cpid; wait $cpid 2>/dev/null
if out=$(python3 "$tools/roundtrip_compare.py" "$tmp/live.probe.json" "$tmp/live.json" --min-records 10); then
    ok
else
    bad "live UDP: $out ($(tail -1 "$tmp/live.err"))"
fi

echo "roundtrip: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
