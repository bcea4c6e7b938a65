#!/usr/bin/env bash
# flowprobe's IPFIX, decoded by a real peer: for every conformance capture and
# the generated sample, tshark reads flowprobe's IPFIX file (RFC 5655) with no
# malformed packets or warnings, and the values it decodes (addresses, ports,
# protocol, packets and bytes both ways, start/end times, TCP flags both ways,
# end reason) equal flowprobe's own JSON for the same capture.  The same over
# UDP on loopback, captured by dumpcap, with a small MTU so flows span many
# datagrams.
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
tools=${FK_TOOLS:-tests/tools}
shared=${FLOWKIT_SHARED:-../shared}
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0

"$gen" -n 20000 -f 1500 -s 11 "$tmp/sample.pcap" 2>/dev/null
caps=("$tmp/sample.pcap")
[ -d "$shared/conformance/ipfixprobe/inputs" ] && caps+=("$shared"/conformance/ipfixprobe/inputs/*.pcap)

for cap in "${caps[@]}"; do
    name=$(basename "$cap" .pcap)
    "$probe" -i "pcap;file=$cap" -o "json;file=$tmp/$name.json" -o "ipfix;file=$tmp/$name.ipfix" 2>"$tmp/err" ||
        { echo "FAIL $name: flowprobe: $(cat "$tmp/err")"; fail=$((fail + 1)); continue; }
    if [ ! -s "$tmp/$name.json" ]; then
        pass=$((pass + 1)); continue   # no IP flows (arp.pcap): nothing to compare
    fi
    tshark -r "$tmp/$name.ipfix" -T pdml >"$tmp/$name.pdml" 2>"$tmp/terr"
    if out=$(python3 "$tools/ipfix_compare.py" "$tmp/$name.json" "$tmp/$name.pdml"); then
        pass=$((pass + 1))
    else
        echo "FAIL $name: $out"; fail=$((fail + 1))
    fi
done

# UDP on loopback, captured: every datagram is one message within the MTU.
port=$((20000 + RANDOM % 20000))
dumpcap -q -i lo -f "udp port $port" -w "$tmp/udp.pcapng" 2>"$tmp/dc.err" &
dc=$!
for _ in $(seq 50); do grep -q "File:" "$tmp/dc.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
"$probe" -i "pcap;file=$tmp/sample.pcap" -o "json;file=$tmp/u.json" \
    -o "ipfix;u;h=127.0.0.1;p=$port;m=512" 2>"$tmp/err" || { echo "FAIL udp: $(cat "$tmp/err")"; fail=$((fail + 1)); }
sleep 1
kill -INT $dc; wait $dc 2>/dev/null
tshark -r "$tmp/udp.pcapng" -d "udp.port==$port,cflow" -T pdml >"$tmp/udp.pdml" 2>/dev/null
if out=$(python3 "$tools/ipfix_compare.py" "$tmp/u.json" "$tmp/udp.pdml"); then
    pass=$((pass + 1))
else
    echo "FAIL udp: $out"; fail=$((fail + 1))
fi
big=$(tshark -r "$tmp/udp.pcapng" -T fields -e udp.length 2>/dev/null | awk '$1 - 8 > 512' | wc -l)
[ "$big" -eq 0 ] && pass=$((pass + 1)) || { echo "FAIL udp: $big datagrams exceed m=512"; fail=$((fail + 1)); }

echo "ipfix/tshark: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
