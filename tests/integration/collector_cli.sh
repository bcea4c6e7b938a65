#!/usr/bin/env bash
# flowcollector's command line and outputs from the outside: help, version,
# errors (exit 2), -produce raw, the three formats agreeing, the file
# transport with SIGHUP reopen, and hostile datagrams mixed into a valid
# stream: each counted, none stopping the next.
set -u
coll=${FLOWCOLLECTOR:-build/flowcollector}
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
status() { # want desc pattern cmd...
    local want=$1 d=$2 pat=$3; shift 3
    "$@" >"$tmp/o" 2>"$tmp/e"; local rc=$?
    [ $rc -eq "$want" ] || { bad "$d: exit $rc, want $want: $(head -2 "$tmp/e")"; return; }
    [ -z "$pat" ] || grep -Eq -- "$pat" "$tmp/e" "$tmp/o" && ok || bad "$d: output lacks /$pat/"
}

status 0 "-h" "-listen" "$coll" -h
status 0 "-v" "" "$coll" -v
grep -q '^flowcollector (flowkit)' "$tmp/o" && ok || bad "-v output"
status 2 "unknown flag" "flag provided but not defined: -bogus" "$coll" -bogus
status 2 "bad scheme" "unknown scheme 'udp'" "$coll" -listen udp://:2055
status 2 "bad port" "port must be a number" "$coll" -listen netflow://:x
status 2 "bad option" "unknown option 'threads'" "$coll" -listen 'netflow://:2055?threads=2'
status 2 "bad format" "-format xml" "$coll" -format xml
status 2 "bad duration" "duration" "$coll" -templates.ttl 5y
status 2 "missing mapping" "-mapping: /nonexistent.yaml: No such file" "$coll" -mapping /nonexistent.yaml
status 2 "bad transport" "-transport nats: expected file or kafka" "$coll" -transport nats
status 2 "kafka codec" "compression codec does not exist" "$coll" -transport kafka -transport.kafka.compression brotli
status 2 "kafka sasl" "KAFKA_SASL_USER and KAFKA_SASL_PASS need to be set" env -u KAFKA_SASL_USER -u KAFKA_SASL_PASS "$coll" -transport kafka -transport.kafka.sasl plain
status 2 "kafka version" "invalid version" "$coll" -transport kafka -transport.kafka.version 2.x
status 2 "kafka key" "key field bogus does not exist" "$coll" -transport kafka -transport.kafka.key src_addr,bogus
status 2 "bad bool" "invalid boolean value" "$coll" -transport.kafka.hashing=maybe
status 1 "bad -addr" "-addr 256.0.0.1:1" "$coll" -addr 256.0.0.1:1 -listen pcap:///nonexistent.pcap
status 1 "missing pcap" "No such file" "$coll" -listen pcap:///nonexistent.pcap

# A capture of IPFIX datagrams: flowprobe exports to a UDP port dumpcap watches.
"$gen" -n 4000 -f 300 -s 4 "$tmp/s.pcap" 2>/dev/null
port=$((20000 + RANDOM % 30000))
dumpcap -q -i lo -f "udp port $port" -w "$tmp/x.pcapng" 2>"$tmp/dc.err" &
dc=$!
for _ in $(seq 50); do grep -q "File:" "$tmp/dc.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
"$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;u;h=127.0.0.1;p=$port;m=600" 2>/dev/null
sleep 0.5
kill -INT $dc; wait $dc 2>/dev/null
nflows=$("$probe" -i "pcap;file=$tmp/s.pcap" -o csv 2>/dev/null | tail -n +2 | wc -l)

status 0 "json" "" "$coll" -listen "pcap://$tmp/x.pcapng" -transport.file "$tmp/j.json"
[ "$(wc -l <"$tmp/j.json")" = "$nflows" ] && ok || bad "json: $(wc -l <"$tmp/j.json") records, $nflows flows"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/j.json" && ok || bad "json is not JSON lines"
status 0 "text" "" "$coll" -listen "pcap://$tmp/x.pcapng" -format text -transport.file "$tmp/t.txt"
[ "$(grep -c 'type=IPFIX ' "$tmp/t.txt")" = "$nflows" ] && ok || bad "text records"
status 0 "bin" "" "$coll" -listen "pcap://$tmp/x.pcapng" -format bin -transport.file.sep '' -transport.file "$tmp/b.bin"
n=$(python3 - "$tmp/b.bin" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read(); i = n = 0
while i < len(d):
    l = s = 0
    while True:
        b = d[i]; i += 1; l |= (b & 0x7f) << s; s += 7
        if b < 0x80: break
    i += l; n += 1
print(n if i == len(d) else -1)
PY
)
[ "$n" = "$nflows" ] && ok || bad "bin: $n length-delimited messages, $nflows flows"
status 0 "raw" "" "$coll" -listen "pcap://$tmp/x.pcapng" -produce raw
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l); assert o["type"] == "ipfix" and "flowsets" in o["message"], o' "$tmp/o" && ok || bad "raw JSON"

# Hostile datagrams between the valid ones: garbage, truncated headers,
# lengths past the end, an unknown version; every valid record still comes out.
python3 - "$tmp/x.pcapng" "$tmp/mix.pcap" <<'PY'
import struct, subprocess, sys
raw = subprocess.run(["tshark", "-r", sys.argv[1], "-T", "fields", "-e", "udp.payload"],
                     capture_output=True, text=True).stdout.split()
good = [bytes.fromhex(h.replace(":", "")) for h in raw if h]
bad = [b"", b"\x00", b"\x00\x0a", b"\x00\x0a\xff\xff" + b"\x00" * 12, b"\x00\x09\x00\x01" + b"\x00" * 8,
       b"\x00\x05\x00\x1e" + b"\x00" * 20, b"\x00\x00\x00\x05" + b"\x00" * 20, b"\x00\x07" * 20,
       good[0][:30] if good else b"", b"\x00\x0a\x00\x20" + b"\x00" * 12 + b"\x01\x00\x00\x10" + b"\x00" * 12]
out = open(sys.argv[2], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
def pkt(payload, t):
    udp = struct.pack(">HHHH", 4000, 4739, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127,0,0,2]), bytes([127,0,0,1])) + udp
    out.write(struct.pack("<IIII", t, 0, len(ip), len(ip)) + ip)
t = 1000
for i, g in enumerate(good):
    pkt(bad[i % len(bad)], t); pkt(g, t + 1); t += 2
PY
status 0 "hostile mix" "" "$coll" -listen "pcap://$tmp/mix.pcap" -transport.file "$tmp/mix.json" -err.cnt 3
[ "$(wc -l <"$tmp/mix.json")" = "$nflows" ] && ok || bad "hostile mix: $(wc -l <"$tmp/mix.json") records, want $nflows"
grep -Eq 'truncated|invalid|could not identify' "$tmp/e" && ok || bad "hostile datagrams not reported"
grep -q 'muted' "$tmp/e" && ok || bad "-err.cnt 3 did not mute the rest"
summary=$(tail -1 "$tmp/e")
echo "$summary" | grep -Eq 'unknown protocol [1-9]' && ok || bad "unknown protocol not counted: $summary"

# File transport: SIGHUP reopens the file (log rotation).
p2=$((20000 + RANDOM % 30000))
"$coll" -listen "netflow://127.0.0.1:$p2" -transport.file "$tmp/rot.json" 2>"$tmp/rot.err" &
cp=$!
for _ in $(seq 100); do ss -Huln "sport = :$p2" | grep -q . && break; sleep 0.05; done
"$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;u;h=127.0.0.1;p=$p2" 2>/dev/null
# Time for the first batch to be decoded (slow under the sanitizers, with
# other tests running), so it lands in the file that is moved away ...
sleep 1
mv "$tmp/rot.json" "$tmp/rot.1"
kill -HUP $cp
# ... and the second one only once the collector has reopened: the file is
# there again (the collector looks at the signal every 100 ms).
for _ in $(seq 100); do [ -e "$tmp/rot.json" ] && break; sleep 0.05; done
"$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;u;h=127.0.0.1;p=$p2" 2>/dev/null
sleep 1
kill -TERM $cp; wait $cp; rc=$?
[ $rc -eq 0 ] && ok || bad "collector exit $rc on SIGTERM"
[ -s "$tmp/rot.json" ] && [ -s "$tmp/rot.1" ] && ok || bad "SIGHUP did not reopen the file"

echo "collector/cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
