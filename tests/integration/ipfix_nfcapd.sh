#!/usr/bin/env bash
# nfdump's nfcapd receives flowprobe's IPFIX over UDP: nfdump shows the same
# number of flows and the same packet and byte totals (both directions) as
# flowprobe's CSV of the same capture.
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || { echo "SKIP: nfdump not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0

"$gen" -n 20000 -f 1500 -s 9 "$tmp/s.pcap" 2>/dev/null
"$probe" -i "pcap;file=$tmp/s.pcap" -o "csv;file=$tmp/s.csv" 2>/dev/null
want=$(awk -F, 'NR>1 { n++; p += $10 + $11; b += $3 + $4 } END { print n, p, b }' "$tmp/s.csv")

port=$((20000 + RANDOM % 20000))
mkdir -p "$tmp/nf"
nfcapd -w "$tmp/nf" -b 127.0.0.1 -p $port -t 3600 >"$tmp/nfcapd.log" 2>&1 &
nf=$!
sleep 1
# -f keeps the datagrams within what a default UDP receive buffer absorbs:
# its bucket starts with one second's worth, and 5000 flows/s let all 1.5k
# flows go out at once -- nfcapd lost some when the machine was busy.  500
# is a burst of about twenty datagrams, then three seconds of pacing.
"$probe" -f 500 -i "pcap;file=$tmp/s.pcap" -o "ipfix;u;h=127.0.0.1;p=$port" 2>"$tmp/err" ||
    { echo "FAIL: flowprobe: $(cat "$tmp/err")"; fail=$((fail + 1)); }
sleep 1
kill -TERM $nf; wait $nf 2>/dev/null
file=$(ls "$tmp"/nf/nfcapd.* 2>/dev/null | grep -v current | head -1)
if [ -z "$file" ]; then
    echo "FAIL: nfcapd wrote no file: $(tail -5 "$tmp/nfcapd.log")"; fail=$((fail + 1))
else
    got=$(nfdump -r "$file" -q -o 'fmt:%ipkt %opkt %ibyt %obyt' -N 2>/dev/null |
          awk '{ n++; p += $1 + $2; b += $3 + $4 } END { print n, p, b }')
    if [ "$got" = "$want" ]; then pass=$((pass + 1)); else
        echo "FAIL: nfdump flows/packets/bytes '$got', flowprobe CSV '$want'"; fail=$((fail + 1)); fi
fi
echo "ipfix/nfcapd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
