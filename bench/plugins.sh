#!/usr/bin/env bash
# bench/plugins.sh - what processing plugins cost: flowprobe's packets/s per
# core on the benchmark capture without plugins and with plugin sets, side by
# side in one script, each the best (least CPU) of K runs, the sets run in turn
# (round by round, so a slow spell of a shared host falls on all). Two measures:
# the whole process (worker, output thread, start-up) pinned to one CPU, and
# the worker thread alone with the output thread on a CPU of its own
# (--pin 0,1), which is the packet path's rate per core.  Prints a markdown
# table with each set's throughput as a ratio of the no-plugin run, and the
# spread of the K whole-process runs (worst / best - 1: how noisy the
# machine was), and the median of the rounds' own ratios ("paired", with a
# 95 % interval from six rounds on: --runs 15 or more to decide). Numbers
# are reported, never judged.
#
# With --instructions, each set runs once under valgrind's callgrind instead
# and the table gives instructions executed (deterministic: for hosts too
# noisy to time; it overstates OpenSSL's digests, which the CPU accelerates).
#
# --output ipfix writes IPFIX (an RFC 5655 file, to /dev/null) instead of
# the default csv: ipfixprobe's production output instead of its test format.
#
# --shuffle-tls generates the capture with genpcap -x: every TLS client
# sends its extensions in a new order per hello, as Chrome does (JA3 then
# differs per connection, JA4 does not).
#
# usage: bench/plugins.sh [--packets N] [--runs K] [--instructions] [--output csv|ipfix]
#                         [--shuffle-tls]
set -euo pipefail

PACKETS=5000000
RUNS=3
INSTR=0
OUTPUT=csv
SHUFFLE=""
while (($#)); do
    case "$1" in
    --packets) PACKETS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --instructions) INSTR=1; RUNS=1; shift ;;
    --output) OUTPUT=${2:?}; shift 2 ;;
    --shuffle-tls) SHUFFLE=-x; shift ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "plugins.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
case $OUTPUT in
csv) OUT='csv;file=/dev/null' ;;
ipfix) OUT='ipfix;file=/dev/null' ;;
*) echo "plugins.sh: --output is csv or ipfix" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PROBE=${FLOWPROBE:-build/flowprobe}
GEN=${GENPCAP:-build/genpcap}
[[ -x $PROBE && -x $GEN ]] || { echo "plugins.sh: build first (make)" >&2; exit 1; }
PCAP=build/bench/plugins-$PACKETS${SHUFFLE}.pcap
mkdir -p build/bench
# a capture older than the generator's source is made again
if [[ ! -s $PCAP || bench/genpcap.c -nt $PCAP ]]; then
    echo "generating $PCAP"
    "$GEN" -n "$PACKETS" -f $((PACKETS / 20)) -s 1 $SHUFFLE "$PCAP.tmp" 2>/dev/null
    mv "$PCAP.tmp" "$PCAP"
fi
cat "$PCAP" >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# name|plugins
SETS=(
    "none|"
    "http,dns,tls|-p http -p dns -p tls"
    "tls,quic,pstats|-p tls -p quic -p pstats"
    "basicplus,idpcontent,flow_hash|-p basicplus -p idpcontent -p flow_hash"
    "all 27|-p http -p rtsp -p smtp -p sip -p ssdp -p dnssd -p dns -p passivedns -p netbios -p mqtt -p ntp -p idpcontent -p basicplus -p icmp -p vlan -p mpls -p flow_hash -p tls -p quic -p wg -p ovpn -p ssadetector -p pstats -p phists -p bstats -p nettisa -p osquery"
)

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
if ((INSTR)); then echo "workload: $PCAP ($PACKETS packets); callgrind instruction counts, output $OUTPUT to /dev/null"; else echo "workload: $PCAP ($PACKETS packets); best of $RUNS runs, pinned to CPU 0, output $OUTPUT to /dev/null"; fi
declare -A CPU RSS WORST WCPU FAILED RCPU RWCPU
# Rounds over the sets (none, set 1, set 2, ..., then again), not each set's
# runs back to back: a shared host's slow spells last seconds, and would
# otherwise fall on one set's runs and not on another's.
for ((i = 1; i <= RUNS; i++)); do
    for entry in "${SETS[@]}"; do
        name=${entry%%|*}
        [[ -z ${FAILED[$name]:-} ]] || continue
        read -ra args <<<"${entry#*|}"
        if ((INSTR)); then
            command -v valgrind >/dev/null || { echo "plugins.sh: --instructions needs valgrind" >&2; exit 1; }
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PROBE" -i "pcap;file=$PCAP" \
                "${args[@]}" -o "$OUT" >/dev/null 2>"$TMP/err" ||
                { echo "  $name failed:"; tail -3 "$TMP/err"; FAILED[$name]=1; continue; }
            # "Collected : N" instructions (in M), in place of CPU seconds.
            cpu=$(awk '/Collected :/ { printf "%.1f", $NF / 1e6 }' "$TMP/err")
            printf '  %-32s %s M instructions\n' "$name" "$cpu"
            CPU[$name]=$cpu RSS[$name]=0 WORST[$name]=$cpu
            continue
        fi
        /usr/bin/time -f '%U %S %M' -o "$TMP/time" taskset -c 0 "$PROBE" -i "pcap;file=$PCAP" \
            "${args[@]}" -o "$OUT" >/dev/null 2>"$TMP/err" ||
            { echo "  $name failed:"; tail -3 "$TMP/err"; FAILED[$name]=1; continue; }
        read -r u s m <"$TMP/time"
        cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        # Then the worker on CPU 0 and the output thread on CPU 1 (--pin), as
        # a deployment runs them: the worker thread's own CPU time, from
        # flowprobe's summary line.
        wcpu=""
        if (($(nproc) > 1)); then
            "$PROBE" --pin 0,1 -i "pcap;file=$PCAP" "${args[@]}" -o "$OUT" \
                >/dev/null 2>"$TMP/werr" &&
                wcpu=$(sed -n 's/.*worker used \([0-9.]*\) s of CPU.*/\1/p' "$TMP/werr" | head -1)
        fi
        if [[ -n $wcpu ]] && { [[ -z ${WCPU[$name]:-} ]] ||
            awk -v a="$wcpu" -v b="${WCPU[$name]}" 'BEGIN { exit !(a < b) }'; }; then
            WCPU[$name]=$wcpu
        fi
        RCPU[$name]+=" $cpu" RWCPU[$name]+=" ${wcpu:-0}"
        printf '  %-32s run %d: cpu %6.2f s  worker %6s s  peak RSS %7.1f MiB\n' "$name" "$i" \
            "$cpu" "${wcpu:-n/a}" "$(awk -v k="$m" 'BEGIN { print k / 1024 }')"
        if [[ -z ${CPU[$name]:-} ]] || awk -v a="$cpu" -v b="${CPU[$name]}" 'BEGIN { exit !(a < b) }'; then
            CPU[$name]=$cpu RSS[$name]=$m
        fi
        if [[ -z ${WORST[$name]:-} ]] || awk -v a="$cpu" -v b="${WORST[$name]}" 'BEGIN { exit !(a > b) }'; then
            WORST[$name]=$cpu
        fi
    done
done
base=${CPU[none]:-} wbase=${WCPU[none]:-}

echo
if ((INSTR)); then
    echo "| plugins | instructions | per packet | vs no plugins |"
    echo "|---|---:|---:|---:|"
    for entry in "${SETS[@]}"; do
        name=${entry%%|*}
        [[ -n ${CPU[$name]:-} ]] || { echo "| $name | failed | | |"; continue; }
        awk -v n="$name" -v c="${CPU[$name]}" -v p="$PACKETS" -v b="$base" 'BEGIN {
            printf "| %s | %.1f M | %.0f | %.2f |\n", n, c, c * 1e6 / p, b / c }'
    done
    exit 0
fi
# The median over rounds of (no-plugin CPU / this set's CPU) in the same
# round: each ratio's two runs are seconds apart, so it is less at the mercy
# of which set happened to catch the host's fastest spell than the ratio of
# the bests.  Rounds where a run did not report are left out.  From six
# rounds on, the median comes with a distribution-free 95 % interval: the
# k-th smallest and k-th largest ratio, k the largest rank with
# P(Binomial(n, 1/2) < k) <= 0.025 (the sign test's interval for a median;
# it needs no assumption about how the host's noise is distributed).  An
# aim is met when the interval's low end is above it, missed when the high
# end is below, and not decided by the run otherwise.
paired() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        na = split(a, x, " "); split(b, y, " "); n = 0
        for (i = 1; i <= na; i++) if (x[i] > 0 && y[i] > 0) r[++n] = x[i] / y[i]
        if (!n) { printf "n/a"; exit }
        for (i = 2; i <= n; i++) { v = r[i]; for (j = i - 1; j >= 1 && r[j] > v; j--) r[j + 1] = r[j]; r[j + 1] = v }
        printf "%.2f", (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
        p = 0.5 ^ n; c = p; k = 0
        for (j = 0; c <= 0.025 && j < n; ) { k = j + 1; j++; p = p * (n - j + 1) / j; c += p }
        if (k >= 1) printf " (%.2f-%.2f)", r[k], r[n - k + 1] }'
}
# "CPU s": the whole process (worker, output thread and start-up) on one
# CPU; "worker": the input thread alone, i.e. the packet path's rate per
# core when the output thread has a CPU of its own.  "vs no plugins" is the
# ratio of the bests, "paired" the median of the rounds' ratios.
echo "| plugins | CPU s | packets/s per core | vs no plugins | paired | worker CPU s | worker packets/s | vs no plugins | paired | peak RSS MiB | run spread |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for entry in "${SETS[@]}"; do
    name=${entry%%|*}
    [[ -n ${CPU[$name]:-} ]] || { echo "| $name | failed | | | | | | | | | |"; continue; }
    pc=$(paired "${RCPU[none]:-}" "${RCPU[$name]}")
    pw=$(paired "${RWCPU[none]:-}" "${RWCPU[$name]}")
    awk -v n="$name" -v c="${CPU[$name]}" -v p="$PACKETS" -v b="$base" -v r="${RSS[$name]}" \
        -v w="${WORST[$name]}" -v wc="${WCPU[$name]:-0}" -v wb="${wbase:-0}" -v pc="$pc" -v pw="$pw" 'BEGIN {
        printf "| %s | %.2f | %.2f M | %.2f | %s | %.2f | %.2f M | %.2f | %s | %.0f | %.0f %% |\n",
        n, c, p / c / 1e6, b / c, pc, wc, (wc > 0 ? p / wc / 1e6 : 0), (wc > 0 ? wb / wc : 0), pw,
        r / 1024, 100 * (w / c - 1) }'
done
