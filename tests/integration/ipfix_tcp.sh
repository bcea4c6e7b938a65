#!/usr/bin/env bash
# IPFIX over TCP (flowprobe's default transport) and LZ4-compressed TCP, to a
# plain TCP sink on loopback:
#  - the byte stream decodes in tshark (as an IPFIX stream and from a packet
#    capture of the connection) with the same values as flowprobe's JSON;
#  - flowkit's own reader decodes the LZ4 stream (ipfixprobe's framing) to the
#    same records, and tshark agrees with JSON on the decompressed messages;
#  - the sink is stopped and restarted mid-run: the probe reconnects, the new
#    connection starts with templates, everything on it decodes, and no flow
#    is lost beyond what the probe itself reports as dropped.
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
dump=${IPFIXDUMP:-build/ipfixdump}
tools=${FK_TOOLS:-tests/tools}
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

"$gen" -n 20000 -f 1500 -s 5 "$tmp/s.pcap" 2>/dev/null
cap="pcap;file=$tmp/s.pcap"
"$probe" -i "$cap" -o "json;file=$tmp/s.json" 2>/dev/null
nflows=$(wc -l <"$tmp/s.json")

start_sink() { # prefix [port] -> sets sink_pid, sink_port
    rm -f "$tmp/port"
    python3 "$tools/tcpsink.py" "$1" "$tmp/port" "${2:-0}" &
    sink_pid=$!
    for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
    sink_port=$(cat "$tmp/port")
}
stop_sink() { kill "$sink_pid"; wait "$sink_pid" 2>/dev/null; }

# --- plain TCP, with a packet capture of the connection
start_sink "$tmp/plain"
dumpcap -q -i lo -f "tcp port $sink_port" -w "$tmp/tcp.pcapng" 2>"$tmp/dc.err" &
dc=$!
for _ in $(seq 50); do grep -q "File:" "$tmp/dc.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
"$probe" -i "$cap" -o "ipfix;h=127.0.0.1;p=$sink_port" 2>"$tmp/err" && ok || bad "tcp export: $(cat "$tmp/err")"
sleep 0.5
stop_sink
kill -INT $dc; wait $dc 2>/dev/null
"$dump" "$tmp/plain.0" >"$tmp/d.out" 2>&1 && grep -q "records=$nflows lz4=0 errors=0 withdrawals=1" "$tmp/d.out" && ok ||
    bad "plain stream: $(tail -2 "$tmp/d.out") (want $nflows records and the closing template withdrawal)"
tshark -r "$tmp/plain.0" -T pdml >"$tmp/plain.pdml" 2>/dev/null
out=$(python3 "$tools/ipfix_compare.py" "$tmp/s.json" "$tmp/plain.pdml") && ok || bad "tshark on the TCP stream: $out"
tshark -r "$tmp/tcp.pcapng" -d "tcp.port==$sink_port,cflow" -T pdml >"$tmp/tcp.pdml" 2>/dev/null
out=$(python3 "$tools/ipfix_compare.py" "$tmp/s.json" "$tmp/tcp.pdml") && ok || bad "tshark on the TCP capture: $out"

# --- LZ4-compressed TCP: flowkit's reader, then tshark on what it decompressed
start_sink "$tmp/lz"
"$probe" -i "$cap" -o "ipfix;c;h=127.0.0.1;p=$sink_port" 2>"$tmp/err" && ok || bad "lz4 export: $(cat "$tmp/err")"
sleep 0.3
stop_sink
[ "$(head -c 4 "$tmp/lz.0" | od -An -tx1 | tr -d ' ')" = 4c5a3463 ] && ok || bad "lz4 stream does not start with LZ4c"
"$dump" -w "$tmp/lz.ipfix" "$tmp/lz.0" >"$tmp/d.out" 2>&1 && grep -q "records=$nflows lz4=1 errors=0" "$tmp/d.out" && ok ||
    bad "lz4 stream: $(tail -2 "$tmp/d.out")"
[ "$(stat -c %s "$tmp/lz.0")" -lt "$(stat -c %s "$tmp/plain.0")" ] && ok || bad "lz4 stream is not smaller than the plain one"
"$dump" -r "$tmp/plain.0" | grep '^tmpl' | sort >"$tmp/r1"
"$dump" -r "$tmp/lz.ipfix" | grep '^tmpl' | sort >"$tmp/r2"
cmp -s "$tmp/r1" "$tmp/r2" && ok || bad "lz4 and plain streams carry different records"
tshark -r "$tmp/lz.ipfix" -T pdml >"$tmp/lz.pdml" 2>/dev/null
out=$(python3 "$tools/ipfix_compare.py" "$tmp/s.json" "$tmp/lz.pdml") && ok || bad "tshark on decompressed lz4: $out"

# --- the collector goes away and comes back mid-run
for mode in plain c; do
    start_sink "$tmp/r$mode"
    port=$sink_port
    opt="h=127.0.0.1;p=$port"
    [ $mode = c ] && opt="c;$opt"
    "$probe" -f 400 -i "$cap" -o "ipfix;$opt" 2>"$tmp/rerr" &
    pp=$!
    sleep 1.2
    stop_sink
    sleep 1.5
    start_sink "$tmp/r${mode}2" "$port"
    wait $pp; rc=$?
    sleep 0.3
    stop_sink
    [ $rc -eq 0 ] && ok || bad "$mode: probe exited $rc across the restart: $(cat "$tmp/rerr")"
    grep -q "lost 127.0.0.1:$port" "$tmp/rerr" && ok || bad "$mode: the probe did not notice the sink going away"
    # The new connection: first message is a template message, and all of it decodes.
    "$dump" -w "$tmp/re.ipfix" "$tmp/r${mode}2.0" >"$tmp/d2" 2>&1 && ok || bad "$mode: after reconnect: $(tail -3 "$tmp/d2")"
    first_set=$(od -An -tu1 -j 16 -N 2 "$tmp/re.ipfix" | awk '{print $1 * 256 + $2}')
    [ "$first_set" = 2 ] && ok || bad "$mode: first set after reconnect is $first_set, not a template set"
    r1=$("$dump" "$tmp/r$mode.0" 2>/dev/null | sed -E 's/.*records=([0-9]+).*/\1/')
    r2=$(sed -E -n 's/.*records=([0-9]+).*/\1/p' "$tmp/d2")
    dropped=$(sed -E -n 's/.* ([0-9]+) dropped.*/\1/p' "$tmp/rerr"); dropped=${dropped:-0}
    # What reached the sink plus what the probe says it dropped covers every
    # flow, less at most the records of messages in flight when the sink died.
    lost=$((nflows - r1 - r2 - dropped))
    if [ "$r2" -gt 0 ] && [ "$lost" -ge 0 ] && [ "$lost" -le 60 ]; then ok; else
        bad "$mode: $nflows flows, sink got $r1 + $r2, probe dropped $dropped: $lost unaccounted"; fi
done

echo "ipfix/tcp: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
