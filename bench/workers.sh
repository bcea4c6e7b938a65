#!/usr/bin/env bash
# bench/workers.sh - flowprobe with 1 and 2 worker threads, side by side.
#
#  file: the benchmark workload as two captures with disjoint flows (two
#        genpcap seeds): one worker reading both merged into one file, versus
#        two workers (-i twice), one per half. Wall-clock packets/s, since two
#        workers use two CPUs.
#  live: (root, ip, tcpreplay) a veth pair between two network namespaces;
#        tcpreplay --topspeed sends a capture into one end while flowprobe
#        captures on the other with one raw input, then with two raw inputs in
#        one fanout group. Reports packets captured per second of capture and
#        kernel drops. On a small machine the sender competes for the same
#        CPUs, so this measures the pair, not the probe alone.
#
# usage: bench/workers.sh [--packets N] [--runs K]
set -euo pipefail
PACKETS=4000000
RUNS=3
while (($#)); do
    case "$1" in
    --packets) PACKETS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "workers.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PROBE=$ROOT/${FLOWPROBE:-build/flowprobe}
GEN=${GENPCAP:-build/genpcap}
[[ -x $PROBE && -x $GEN ]] || { echo "workers.sh: build first (make)" >&2; exit 1; }
command -v mergecap >/dev/null || { echo "workers.sh: mergecap (wireshark-common) missing" >&2; exit 1; }
D=build/bench
mkdir -p "$D"
half=$((PACKETS / 2))
# captures older than the generator's source are made again
for s in 1 2; do
    [[ -s $D/half$s-$half.pcap && ! bench/genpcap.c -nt $D/half$s-$half.pcap ]] || "$GEN" -n "$half" -f $((half / 20)) -s $((s + 10)) "$D/half$s-$half.pcap" 2>/dev/null
done
[[ -s $D/both-$half.pcap && ! $D/half1-$half.pcap -nt $D/both-$half.pcap &&
    ! $D/half2-$half.pcap -nt $D/both-$half.pcap ]] || mergecap -F pcap -w "$D/both-$half.pcap" "$D/half1-$half.pcap" "$D/half2-$half.pcap"
cat "$D"/half?-"$half".pcap "$D/both-$half.pcap" >/dev/null
TMP=$(mktemp -d)
A=fkbA$$ B=fkbB$$
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
echo "file workload: 2 x $half packets (disjoint flows); best of $RUNS runs"
best() { # label cmd... -> prints best wall seconds
    local b="" i w
    for ((i = 1; i <= RUNS; i++)); do
        /usr/bin/time -f '%e' -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err" || { tail -3 "$TMP/err" >&2; return 1; }
        w=$(cat "$TMP/t")
        if [[ -z $b ]] || awk -v a="$w" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$w; fi
    done
    echo "$b"
}
w1=$(best "$PROBE" -i "pcap;file=$D/both-$half.pcap" -o 'csv;file=/dev/null')
w2=$(best "$PROBE" -i "pcap;file=$D/half1-$half.pcap" -i "pcap;file=$D/half2-$half.pcap" \
    --pin 0,1 -o 'csv;file=/dev/null')
echo
echo "| file input | wall s | packets/s | vs 1 worker |"
echo "|---|---:|---:|---:|"
awk -v w="$w1" -v p="$PACKETS" 'BEGIN { printf "| 1 worker, merged file | %.2f | %.2f M | 1.00 |\n", w, p / w / 1e6 }'
awk -v w="$w2" -v w1="$w1" -v p="$PACKETS" 'BEGIN { printf "| 2 workers, one half each | %.2f | %.2f M | %.2f |\n", w, p / w / 1e6, w1 / w }'

if [[ $(id -u) != 0 ]] || ! command -v tcpreplay >/dev/null || ! ip netns add "$A" 2>/dev/null; then
    echo
    echo "live: skipped (needs root, network namespaces and tcpreplay)"
    exit 0
fi
ip netns add "$B"
ip link add vA netns "$A" type veth peer name vB netns "$B"
for ns in "$A" "$B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$A" link set vA mtu 9000 up
ip -n "$B" link set vB mtu 9000 up
LIVE=$D/half1-$half.pcap
echo
echo "live workload: $LIVE replayed with tcpreplay --topspeed into a veth pair"
echo "| live input | replay s | captured | kernel drops | captured/s |"
echo "|---|---:|---:|---:|---:|"
for n in 1 2; do
    args=()
    for ((k = 0; k < n; k++)); do args+=(-i 'raw;ifc=vB;f;b=256;p=64'); done
    rm -f "$TMP/pid"
    ip netns exec "$B" "$PROBE" "${args[@]}" -o 'csv;file=/dev/null' -P "$TMP/pid" 2>"$TMP/live.err" &
    for _ in $(seq 100); do [[ -s $TMP/pid ]] && break; sleep 0.05; done
    start=$(date +%s.%N)
    ip netns exec "$A" tcpreplay -q --topspeed -i vA "$LIVE" >"$TMP/replay" 2>&1 || true
    end=$(date +%s.%N)
    sleep 0.5
    kill -TERM "$(cat "$TMP/pid")"
    wait || true
    cap=$(sed -nE 's/.*: ([0-9]+) packets \(.*/\1/p' "$TMP/live.err" | awk '{ s += $1 } END { print s + 0 }')
    drops=$(sed -nE 's/.*kernel: [0-9]+ received, ([0-9]+) dropped.*/\1/p' "$TMP/live.err" | awk '{ s += $1 } END { print s + 0 }')
    awk -v n="$n" -v s="$start" -v e="$end" -v c="$cap" -v d="$drops" \
        'BEGIN { printf "| %d raw worker%s | %.2f | %d | %d | %.2f M |\n", n, (n > 1 ? "s (fanout)" : ""), e - s, c, d, c / (e - s) / 1e6 }'
done
