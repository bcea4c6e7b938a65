#!/usr/bin/env bash
# IPFIX over TCP (RFC 7011 10.4) into flowcollector's ipfix+tcp:// listener,
# with flowprobe as the real peer (its IPFIX output uses TCP by default):
#  - plain and LZ4-compressed (-o 'ipfix;c') streams give exactly the records
#    the UDP path gives for the same export;
#  - two exporters at once on one listener;
#  - a hostile client (garbage, a NetFlow v9 datagram, a cut message) is
#    closed and counted while the others go on;
#  - the templates of a connection end with it (RFC 7011 8): none are held
#    once the exporters are gone;
#  - listener options are refused (TCP takes none).
set -u
coll=${FLOWCOLLECTOR:-build/flowcollector}
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
for t in python3 curl; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
port() { echo $((20000 + RANDOM % 30000)); }
wait_tcp() { for _ in $(seq 100); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }
wait_udp() { for _ in $(seq 100); do ss -Huln "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }
http_port() {
    for _ in $(seq 100); do
        local p; p=$(sed -n 's/.*HTTP on port \([0-9]*\).*/\1/p' "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.05
    done
    return 1
}
metric() { curl -s "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'; }
same() { # a.json b.json: the same records (time_received_ns aside)
    python3 - "$1" "$2" <<'PY'
import json, sys
strip = lambda l: json.dumps({k: v for k, v in json.loads(l).items() if k != "time_received_ns"}, sort_keys=True)
a = sorted(map(strip, open(sys.argv[1]))); b = sorted(map(strip, open(sys.argv[2])))
print("%d vs %d records" % (len(a), len(b)))
sys.exit(0 if a == b and a else 1)
PY
}

"$gen" -n 4000 -f 300 -s 11 "$tmp/s.pcap" 2>/dev/null
n=$("$probe" -i "pcap;file=$tmp/s.pcap" -o csv 2>/dev/null | tail -n +2 | wc -l)

# the UDP reference
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" -addr "" -transport.file "$tmp/udp.json" 2>/dev/null &
c=$!
wait_udp $p
"$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;u;h=127.0.0.1;p=$p" 2>/dev/null
sleep 0.5
kill -TERM $c; wait $c

p=$(port)
"$coll" -listen "ipfix+tcp://127.0.0.1:$p" -addr 127.0.0.1:0 -transport.file "$tmp/tcp.json" 2>"$tmp/c.err" &
c=$!
wait_tcp $p
hp=$(http_port "$tmp/c.err")
# plain
"$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;h=127.0.0.1;p=$p" 2>"$tmp/p1.err"
for _ in $(seq 100); do [ "$(metric "$hp" flowkit_collector_records_total)" = "$n" ] && break; sleep 0.05; done
[ "$(metric "$hp" flowkit_collector_records_total)" = "$n" ] && ok || bad "plain: $(metric "$hp" flowkit_collector_records_total) records, want $n"
# LZ4 and a second exporter at the same time, plus a hostile client
python3 - "$p" <<'PY' &
import socket, sys, time
p = int(sys.argv[1])
for payload in [b"GET / HTTP/1.0\r\n\r\n",
                bytes.fromhex("0009000100000001000000010000000100000000"),
                bytes.fromhex("000a00640000000000000000000000010002")]:  # cut inside a message
    s = socket.create_connection(("127.0.0.1", p)); s.sendall(payload); time.sleep(0.2); s.close()
PY
hostile=$!
"$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;c;h=127.0.0.1;p=$p" 2>"$tmp/p2.err" &
p2=$!
"$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;h=127.0.0.1;p=$p;I=7" 2>"$tmp/p3.err"
wait $p2
wait $hostile
for _ in $(seq 100); do [ "$(metric "$hp" flowkit_collector_records_total)" = "$((3 * n))" ] && break; sleep 0.05; done
sleep 0.5
curl -s "127.0.0.1:$hp/metrics" >"$tmp/m"
held=$(awk '$1 == "flowkit_collector_templates" { print $2 }' "$tmp/m")
sessions=$(awk '$1 == "flowkit_collector_tcp_sessions_total" { print $2 }' "$tmp/m")
errors=$(awk '$1 == "flowkit_collector_tcp_stream_errors_total" { print $2 }' "$tmp/m")
kill -TERM $c; wait $c; rc=$?
[ $rc -eq 0 ] && ok || bad "collector exit $rc"
[ "$(wc -l <"$tmp/tcp.json")" = "$((3 * n))" ] && ok || bad "$(wc -l <"$tmp/tcp.json") records over TCP, want $((3 * n))"
head -n "$n" "$tmp/tcp.json" >"$tmp/tcp1.json"
out=$(same "$tmp/udp.json" "$tmp/tcp1.json") && ok || bad "plain TCP records differ from UDP's: $out"
python3 - "$tmp/tcp.json" "$tmp/udp.json" <<'PY' && ok || bad "LZ4 / second exporter records differ"
import json, sys
from collections import Counter
key = lambda r: (r["src_addr"], r["dst_addr"], r["src_port"], r["dst_port"], r["bytes"], r["packets"], r["proto"])
tcp = [json.loads(l) for l in open(sys.argv[1])]; udp = [json.loads(l) for l in open(sys.argv[2])]
# every flow three times: plain, LZ4 (domain 1), and the exporter with -I 7 (domain 7)
want = Counter(key(r) for r in udp for _ in range(3))
dom = Counter(r["observation_domain_id"] for r in tcp)
sys.exit(0 if Counter(map(key, tcp)) == want and dom[7] == len(udp) and dom[1] == 2 * len(udp) else 1)
PY
[ "$sessions" = 6 ] && ok || bad "tcp sessions $sessions, want 6 (3 exporters, 3 hostile)"
[ "$errors" = 3 ] && ok || bad "tcp stream errors $errors, want 3"
[ "$held" = 0 ] && ok || bad "$held templates held after every connection closed, want 0"
grep -q 'not an IPFIX message' "$tmp/c.err" && grep -q 'NetFlow v9 on TCP' "$tmp/c.err" &&
    grep -q 'inside a message' "$tmp/c.err" && ok || bad "hostile clients not reported: $(grep ipfix+tcp "$tmp/c.err" | head -3)"

"$coll" -listen "ipfix+tcp://:4739?count=2" -addr "" 2>"$tmp/o.err"
[ $? -eq 2 ] && grep -q 'TCP listeners take no options' "$tmp/o.err" && ok || bad "options on a TCP listener accepted"

echo "collector/tcp: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
