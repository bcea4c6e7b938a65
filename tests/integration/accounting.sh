#!/usr/bin/env bash
# Every packet read is accounted (DESIGN.md invariant 2): on every capture,
# the packets and bytes summed over the exported flows (CSV rows) equal what
# flowprobe reports as parsed, and parsed + not parsed equals packets read.
# Captures: the project's generated sample (always) and every conformance
# capture (when ../shared is present), with several cache geometries so that
# evictions and timeouts are exercised too.
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
shared=${FLOWKIT_SHARED:-../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$gen" -n 20000 -f 2000 -s 7 "$tmp/sample.pcap" 2>/dev/null || { echo "genpcap failed"; exit 1; }
caps=("$tmp/sample.pcap")
if [ -d "$shared/conformance/ipfixprobe/inputs" ]; then
    caps+=("$shared"/conformance/ipfixprobe/inputs/*.pcap)
else
    echo "note: $shared absent, checking the generated capture only"
fi

pass=0 fail=0
check() { # capture storage-args...
    local cap=$1; shift
    "$probe" -i "pcap;file=$cap" "$@" -o "csv;file=$tmp/out.csv" 2>"$tmp/err"
    local summary; summary=$(grep -E '^flowprobe: .* packets \(' "$tmp/err" | tail -1)
    if [ -z "$summary" ] || grep -q 'accounting mismatch' "$tmp/err"; then
        echo "FAIL $(basename "$cap") $*: $(cat "$tmp/err")"; fail=$((fail + 1)); return
    fi
    read -r frames parsed pbytes notp <<<"$(sed -E 's/.*: ([0-9]+) packets \([0-9]+ bytes\), ([0-9]+) parsed \(([0-9]+) IP bytes\), ([0-9]+) not parsed.*/\1 \2 \3 \4/' <<<"$summary")"
    # Sum PACKETS+PACKETS_REV and BYTES+BYTES_REV by column name from the header.
    read -r fpk fby <<<"$(awk -F, 'NR==1 { for (i = 1; i <= NF; i++) { split($i, a, " "); col[a[2]] = i } next }
        { p += $col["PACKETS"] + $col["PACKETS_REV"]; b += $col["BYTES"] + $col["BYTES_REV"] }
        END { printf "%d %d\n", p, b }' "$tmp/out.csv")"
    if [ "$fpk" = "$parsed" ] && [ "$fby" = "$pbytes" ] && [ $((parsed + notp)) = "$frames" ]; then
        pass=$((pass + 1))
    else
        echo "FAIL $(basename "$cap") $*: read $frames, parsed $parsed/$pbytes B, not parsed $notp;" \
             "flows carry $fpk packets/$fby B"
        fail=$((fail + 1))
    fi
}

for cap in "${caps[@]}"; do
    check "$cap"
    check "$cap" -s 'cache;s=4;l=2'          # tiny cache: evictions
    check "$cap" -s 'cache;a=1;i=1;S'        # short timeouts, uniflows
done
echo "accounting: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
