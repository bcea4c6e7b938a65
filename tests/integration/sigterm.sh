#!/usr/bin/env bash
# SIGTERM (and SIGINT) in the middle of a run lose no flow: the capture is fed
# through a pipe slowly, the probe is stopped half-way, and then every packet
# it reports as parsed must be in an exported flow (packets and bytes summed
# over the CSV rows), it must exit 0, and the pid file must be gone.  Also:
# SIGHUP in the middle of a run reopens the output file (the rotated file and
# the new one together hold every flow, each with its header line).
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

"$gen" -n 60000 -f 3000 -s 5 "$tmp/cap.pcap" 2>/dev/null || { echo "genpcap failed"; exit 1; }
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Write the capture to stdout in 64 KiB pieces, 20 ms apart (about 1.5 s in all).
slowcat() {
    python3 -c 'import sys, time
data = open(sys.argv[1], "rb").read()
out = sys.stdout.buffer
try:
    for i in range(0, len(data), 65536):
        out.write(data[i:i + 65536]); out.flush(); time.sleep(0.02)
except BrokenPipeError:
    pass' "$1"
}

# Sum PACKETS(+_REV) and BYTES(+_REV) over the CSV files given.
sums() {
    awk -F, 'FNR==1 { for (i = 1; i <= NF; i++) { split($i, a, " "); col[a[2]] = i } next }
        /^[a-z]+[0-9]* [A-Z_]+,/ { next }
        { p += $col["PACKETS"] + $col["PACKETS_REV"]; b += $col["BYTES"] + $col["BYTES_REV"] }
        END { printf "%d %d\n", p, b }' "$@"
}

for sig in TERM INT; do
    rm -f "$tmp/out.csv" "$tmp/pid"
    slowcat "$tmp/cap.pcap" | "$probe" -i 'pcap;file=-' -o "csv;file=$tmp/out.csv" \
        -P "$tmp/pid" 2>"$tmp/err" &
    for _ in $(seq 100); do [ -s "$tmp/pid" ] && break; sleep 0.02; done
    sleep 0.6
    kill "-$sig" "$(cat "$tmp/pid")"
    wait %% 2>/dev/null
    rc=$?
    [ "$rc" = 0 ] && ok || bad "SIG$sig: exit status $rc: $(cat "$tmp/err")"
    [ -e "$tmp/pid" ] && bad "SIG$sig: pid file left behind" || ok
    summary=$(grep -E '^flowprobe: .* packets \(' "$tmp/err" | tail -1)
    read -r frames parsed pbytes <<<"$(sed -E 's/.*: ([0-9]+) packets \([0-9]+ bytes\), ([0-9]+) parsed \(([0-9]+) IP bytes\).*/\1 \2 \3/' <<<"$summary")"
    if [ -z "${frames:-}" ] || [ "$frames" -le 0 ] || [ "$frames" -ge 60000 ]; then
        bad "SIG$sig: the signal did not land mid-run (read ${frames:-?} of 60000 packets)"
        continue
    fi
    read -r fpk fby <<<"$(sums "$tmp/out.csv")"
    if [ "$fpk" = "$parsed" ] && [ "$fby" = "$pbytes" ]; then
        ok
    else
        bad "SIG$sig after $frames packets: parsed $parsed/$pbytes B, flows carry $fpk/$fby B"
    fi
    grep -q 'accounting mismatch' "$tmp/err" && bad "SIG$sig: $(cat "$tmp/err")" || ok
done

# SIGHUP: rotate the output file mid-run.
rm -f "$tmp/pid" "$tmp/hup.csv" "$tmp/hup.csv.1"
slowcat "$tmp/cap.pcap" | "$probe" -i 'pcap;file=-' -s 'cache;i=1;a=1' \
    -o "csv;file=$tmp/hup.csv" -P "$tmp/pid" 2>"$tmp/err" &
for _ in $(seq 100); do [ -s "$tmp/pid" ] && break; sleep 0.02; done
sleep 0.7
mv "$tmp/hup.csv" "$tmp/hup.csv.1"
kill -HUP "$(cat "$tmp/pid")"
wait %% 2>/dev/null
rc=$?
[ "$rc" = 0 ] && ok || bad "SIGHUP run: exit status $rc: $(cat "$tmp/err")"
if [ -s "$tmp/hup.csv" ] && [ -s "$tmp/hup.csv.1" ]; then
    ok
    head -1 "$tmp/hup.csv" | grep -q '^ipaddr DST_IP' && ok || bad "SIGHUP: new file has no header"
    read -r fpk _ <<<"$(sums "$tmp/hup.csv.1" "$tmp/hup.csv")"
    parsed=$(sed -nE 's/.* ([0-9]+) parsed \(.*/\1/p' "$tmp/err")
    [ "$fpk" = "$parsed" ] && ok || bad "SIGHUP: files hold $fpk packets, $parsed parsed"
else
    bad "SIGHUP: expected flows in both the rotated and the new file"
fi

echo "sigterm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
