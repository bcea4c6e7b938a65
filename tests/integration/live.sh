#!/usr/bin/env bash
# Live capture end to end: two network namespaces joined by a veth pair;
# tcpreplay sends a capture into one end, and on the other end flowprobe
# captures it three ways at once:
#   - raw input, two instances in one PACKET_FANOUT group (two workers);
#   - pcap input (libpcap live);
#   - raw input, one instance, with SIGUSR1 telemetry and the metrics endpoint.
# The exported flows must equal those of reading the same capture from the file
# (same keys, packets, bytes in both directions; times differ).  Captures: the
# project's generated sample (VLAN-tagged frames included, so the tag the
# kernel strips must be put back) and conformance captures when ../shared is
# present.  Needs root (namespaces, packet sockets), ip and tcpreplay; skips
# (77) without them.
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
shared=${FLOWKIT_SHARED:-../shared}

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v tcpreplay >/dev/null; then
    echo "SKIP: needs root, ip (iproute2) and tcpreplay"
    exit 77
fi
tmp=$(mktemp -d)
A=fkA$$ B=fkB$$
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$A" 2>/dev/null
    ip netns del "$B" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! ip netns add "$A" 2>/dev/null || ! ip netns add "$B"; then
    echo "SKIP: cannot create network namespaces here"
    exit 77
fi
ip link add vA netns "$A" type veth peer name vB netns "$B" || { echo "SKIP: no veth"; exit 77; }
for ns in "$A" "$B"; do
    # No IPv6 autoconfiguration chatter: only the replayed frames cross the link.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
done
ip -n "$A" link set vA mtu 9000 up
ip -n "$B" link set vB mtu 9000 up
ip -n "$B" link set lo up
inB() { ip netns exec "$B" "$@"; }
# `ip netns exec` may run the command as its child: signal flowprobe by its -P file.
sig() { kill "-$1" "$(cat "$tmp/$2.pid")"; }

"$gen" -n 4000 -f 400 -s 11 "$tmp/sample.pcap" 2>/dev/null || { echo "genpcap failed"; exit 1; }
caps=("$tmp/sample.pcap")
conf=$shared/conformance/ipfixprobe/inputs
if [ -d "$conf" ]; then
    caps+=("$conf/http.pcap" "$conf/mixed.pcap" "$conf/dns.pcap")
else
    echo "note: $shared absent, replaying the generated capture only"
fi

# Long timeouts: a replay compresses the capture's time, so timeouts must not
# split flows in one run and not the other.
cache='cache;a=100000;i=100000'
# The vlan plugin makes the 802.1Q id part of the flow key and the output, so
# a tag the kernel stripped and we failed to put back shows as a difference.
plugins=(-p vlan)
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Flow multiset: key + packets/bytes both ways, one line per flow, sorted.
flows() {
    python3 - "$1" <<'EOF'
import json, sys
rows = []
for line in open(sys.argv[1]):
    f = json.loads(line)
    rows.append("%s %s %s %s %s %s %s %s %s vlan %s" % (f["src_addr"], f["dst_addr"],
                f["src_port"], f["dst_port"], f["proto"], f["packets"], f["bytes"],
                f["packets_rev"], f["bytes_rev"], f.get("vlan_id", "-")))
print("\n".join(sorted(rows)))
EOF
}

wait_pid() { # pidfile
    for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
    return 1
}

for cap in "${caps[@]}"; do
    name=$(basename "$cap" .pcap)
    rm -f "$tmp"/*.pid
    inB "$probe" -i 'raw;ifc=vB;f;b=64;p=32' -i 'raw;ifc=vB;f;b=64;p=32' -s "$cache" "${plugins[@]}" \
        -o "json;file=$tmp/raw.json" -P "$tmp/raw.pid" 2>"$tmp/raw.err" &
    rawpid=$!
    inB "$probe" -i 'pcap;ifc=vB' -s "$cache" "${plugins[@]}" -o "json;file=$tmp/pcap.json" \
        -P "$tmp/pcap.pid" 2>"$tmp/pcap.err" &
    pcappid=$!
    inB "$probe" -i 'raw;ifc=vB' -s "$cache" "${plugins[@]}" -o "json;file=$tmp/one.json" -P "$tmp/one.pid" \
        --metrics 127.0.0.1:0 -t "$tmp" 2>"$tmp/one.err" &
    onepid=$!
    pids=("$rawpid" "$pcappid" "$onepid")
    if ! wait_pid "$tmp/raw.pid" || ! wait_pid "$tmp/pcap.pid" || ! wait_pid "$tmp/one.pid"; then
        bad "$name: a capture did not start: $(cat "$tmp"/*.err)"
        continue
    fi
    if ! ip netns exec "$A" tcpreplay -q --pps=20000 -i vA "$cap" >"$tmp/replay.log" 2>&1; then
        bad "$name: tcpreplay failed: $(cat "$tmp/replay.log")"
    fi
    sleep 0.5
    sig USR1 one
    # The metrics endpoint answers a scrape while the probe runs.
    port=$(sed -n 's/^flowprobe: metrics on port \([0-9]*\).*/\1/p' "$tmp/one.err")
    if inB python3 -c 'import sys, urllib.request
r = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5)
body = r.read().decode()
assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
assert "# TYPE flowprobe_input_packets_total counter" in body, body[:300]
assert "flowprobe_cache_flows{" in body, body[:300]' "$port" 2>"$tmp/scrape.err"; then ok; else
        bad "$name: metrics scrape on port '$port' failed: $(cat "$tmp/scrape.err")"
    fi
    sleep 0.3
    sig TERM raw
    sig TERM pcap
    sig TERM one
    for p in "$rawpid" "$pcappid" "$onepid"; do
        wait "$p" || bad "$name: flowprobe (pid $p) exited $?"
    done
    pids=()

    "$probe" -i "pcap;file=$cap" -s "$cache" "${plugins[@]}" -o "json;file=$tmp/file.json" 2>"$tmp/file.err"
    flows "$tmp/file.json" >"$tmp/file.flows"
    for run in raw pcap one; do
        flows "$tmp/$run.json" >"$tmp/$run.flows"
        if cmp -s "$tmp/file.flows" "$tmp/$run.flows"; then
            ok
        else
            bad "$name: $run capture differs from the file ($(wc -l <"$tmp/file.flows") flows" \
                "in the file, $(wc -l <"$tmp/$run.flows") live):"
            diff "$tmp/file.flows" "$tmp/$run.flows" | head -10
            cat "$tmp/$run.err"
        fi
    done
    # Both fanout members got work, and no frame was dropped by the kernel.
    n=$(grep -c 'raw;ifc=vB;f.*kernel: [0-9]* received, 0 dropped' "$tmp/raw.err")
    [ "$n" = 2 ] && ok || bad "$name: expected two raw summaries without drops: $(cat "$tmp/raw.err")"
    if [ "$name" = sample ]; then
        grep -E 'raw;ifc=vB;f.*: [0-9]+ packets' "$tmp/raw.err" | grep -q ': 0 packets' &&
            bad "$name: one fanout member saw no packets: $(cat "$tmp/raw.err")" || ok
    fi
    # SIGUSR1 printed the counters; -t kept files up to date.
    grep -q '^input 0 (raw;ifc=vB)' "$tmp/one.err" && grep -q 'cache: hits' "$tmp/one.err" && ok ||
        bad "$name: SIGUSR1 printed no telemetry: $(cat "$tmp/one.err")"
    grep -q '^flowprobe_input_packets_total{input="0",source="raw;ifc=vB"} [1-9]' "$tmp/metrics" &&
        grep -q '^input 0' "$tmp/stats" && ok || bad "$name: -t files missing or empty"
done

echo "live: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
