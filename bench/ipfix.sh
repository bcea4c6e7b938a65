#!/usr/bin/env bash
# bench/ipfix.sh - IPFIX export rate of flowprobe, next to softflowd's IPFIX
# export, on the same generated capture with many short flows.
#
# For each configuration: wall and CPU seconds of the whole run (read, cache,
# export) and exported records per second of wall time; for flowprobe also the
# records/s of the export alone (records / CPU time of its output thread,
# which encodes and sends), as flowprobe reports it.  All traffic stays on
# 127.0.0.1.  Numbers are reported, never judged.
#
# usage: bench/ipfix.sh [--packets N] [--flows F] [--runs K]
set -euo pipefail
PACKETS=2000000
FLOWS=300000
RUNS=3
while (($#)); do
    case "$1" in
    --packets) PACKETS=$2; shift 2 ;;
    --flows) FLOWS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
FLOWPROBE=${FLOWPROBE:-build/flowprobe}
[[ -x $FLOWPROBE ]] || { echo "ipfix.sh: build flowprobe first (make)" >&2; exit 1; }
mkdir -p build/bench
[[ -x build/bench/genpcap && ! bench/genpcap.c -nt build/bench/genpcap ]] ||
    cc -std=c11 -O2 -o build/bench/genpcap bench/genpcap.c
PCAP=build/bench/ipfix-$PACKETS-$FLOWS.pcap
# a capture older than the generator's source is made again
[[ -s $PCAP && ! bench/genpcap.c -nt $PCAP ]] || build/bench/genpcap -n "$PACKETS" -f "$FLOWS" -s 3 "$PCAP" 2>/dev/null
cat "$PCAP" >/dev/null
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
PORT=$((30000 + RANDOM % 20000))

# best NAME CMD... : least-CPU run of RUNS; sets W (wall), C (cpu)
best() {
    local name=$1; shift
    W="" C=""
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %U %S' -o "$TMP/t" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
        read -r w u s <"$TMP/t"
        c=$(echo "$u + $s" | bc)
        if [[ -z $C ]] || (($(echo "$c < $C" | bc))); then W=$w C=$c; fi
    done
}

python3 bench/udpsink.py "$PORT" >"$TMP/sink.out" &
SINK=$!
sleep 0.5

NREC=$("$FLOWPROBE" -i "pcap;file=$PCAP" -o csv 2>/dev/null | tail -n +2 | wc -l)
echo "workload: $PCAP, $PACKETS packets, $NREC flow records; best of $RUNS"
echo
echo "| configuration | wall s | CPU s | records/s (wall) | records/s of export alone |"
echo "|---|---:|---:|---:|---:|"
best base "$FLOWPROBE" -i "pcap;file=$PCAP" -o 'csv;file=/dev/null'
BW=$W BC=$C
BA=$(sed -n 's/.*flows written using .* (\([0-9]*\) flows\/s).*/\1/p' "$TMP/base.err")
printf '| flowprobe -> csv /dev/null (for scale) | %s | %s | %.0f | %s |\n' "$BW" "$BC" "$(echo "$NREC / $BW" | bc -l)" "$BA"
for cfg in "file:ipfix;file=$TMP/out.ipfix" "udp:ipfix;u;h=127.0.0.1;p=$PORT" ; do
    name=${cfg%%:*} arg=${cfg#*:}
    best "$name" "$FLOWPROBE" -i "pcap;file=$PCAP" -o "$arg"
    # flowprobe reports its output thread's own CPU time: the export alone.
    alone=$(sed -n 's/.*flows written using .* (\([0-9]*\) flows\/s).*/\1/p' "$TMP/$name.err")
    printf '| flowprobe -> ipfix %s | %s | %s | %.0f | %.0f |\n' "$name" "$W" "$C" \
        "$(echo "$NREC / $W" | bc -l)" "$alone"
done
if command -v softflowd >/dev/null; then
    best softflowd softflowd -r "$PCAP" -n "127.0.0.1:$PORT" -v 10 -d -m 4194304 -t maxlife=300 \
        -t general=30
    SREC=$(sed -n 's/.*Flows exported: *\([0-9]*\).*/\1/p' "$TMP/softflowd.out" "$TMP/softflowd.err" | head -1)
    SREC=${SREC:-$NREC}
    printf '| softflowd -v 10 -> udp (%s records) | %s | %s | %.0f | |\n' "$SREC" "$W" "$C" \
        "$(echo "$SREC / $W" | bc -l)"
fi
kill -TERM $SINK; wait $SINK 2>/dev/null || true
echo
echo "udp sink received: $(cat "$TMP/sink.out") (datagrams bytes; a slow Python sink may drop)"
