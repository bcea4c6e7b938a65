#!/usr/bin/env bash
# bench/run.sh - packets/s per core of flowkit's flowprobe next to softflowd and nfpcapd.
#
# Builds bench/genpcap, generates build/bench/bench.pcap once (the file is
# deterministic: same options, same bytes), then runs every tool on that same
# file several times, pinned to CPU 0, and keeps each tool's best run (least
# CPU time). Prints a markdown table. Numbers are reported, never judged: the
# exit status only says whether the benchmark itself could run.
#
# Network: softflowd must export somewhere, so it sends NetFlow to a UDP port on
# 127.0.0.1 that nobody listens on. Nothing else touches the network.
#
# usage: bench/run.sh [--packets N] [--flows F] [--runs K] [--seed S]
set -euo pipefail

PACKETS=5000000
FLOWS=""   # default: PACKETS / 20, i.e. 250000 for the default file
RUNS=3
SEED=1
TOOL_TIMEOUT=3600 # seconds; a hung tool must not hang the benchmark

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

while (($#)); do
    case "$1" in
    --packets) PACKETS=${2:?--packets needs a number}; shift 2 ;;
    --flows) FLOWS=${2:?--flows needs a number}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --seed) SEED=${2:?--seed needs a number}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for v in PACKETS RUNS SEED ${FLOWS:+FLOWS}; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a number, got '${!v}'" >&2; exit 2; }
done
((RUNS >= 1)) || { echo "run.sh: --runs must be at least 1" >&2; exit 2; }
FLOWS=${FLOWS:-$((PACKETS / 20))}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=build/bench
GEN=$OUT/genpcap
PCAP=$OUT/bench.pcap
META=$OUT/bench.pcap.meta # generator options + summary of the current bench.pcap
mkdir -p "$OUT"

# ---------------------------------------------------------------- prerequisites
if [[ ! -x /usr/bin/time ]]; then
    echo "run.sh: /usr/bin/time is missing: install the Debian package 'time' (scripts/deps.sh)" >&2
    exit 1
fi
for t in cc taskset timeout; do
    command -v "$t" >/dev/null || { echo "run.sh: '$t' not found" >&2; exit 1; }
done

# ---------------------------------------------------------------- workload
if [[ ! -x $GEN || bench/genpcap.c -nt $GEN ]]; then
    echo "building $GEN"
    cc -std=c11 -O2 -Wall -Wextra -Werror -o "$GEN" bench/genpcap.c
fi

want="packets=$PACKETS flows=$FLOWS seed=$SEED genpcap=$(cksum <bench/genpcap.c | cut -d' ' -f1)"
if [[ ! -s $PCAP || ! -s $META || $(head -n 1 "$META") != "$want" ]]; then
    echo "generating $PCAP ($PACKETS packets, $FLOWS flows, seed $SEED)"
    # write under a temporary name: an interrupted run must not leave a short file behind
    "$GEN" -n "$PACKETS" -f "$FLOWS" -s "$SEED" "$PCAP.tmp" 2>"$META.tmp"
    cat "$META.tmp"
    mv "$PCAP.tmp" "$PCAP"
    { echo "$want"; cat "$META.tmp"; } >"$META"
    rm -f "$META.tmp"
else
    echo "reusing $PCAP"
fi
summary=$(grep '^genpcap: packets=' "$META" || true)
NPKT=$(sed -n 's/.* packets=\([0-9]*\).*/\1/p' <<<"$summary")
NFLOWS_GEN=$(sed -n 's/.* flows=\([0-9]*\).*/\1/p' <<<"$summary")
if [[ -z $NPKT ]] && command -v capinfos >/dev/null; then
    NPKT=$(capinfos -c -M -T -r "$PCAP" | awk '{print $NF}')
fi
[[ -n $NPKT && $NPKT -gt 0 ]] || { echo "run.sh: cannot tell the packet count of $PCAP" >&2; exit 1; }
PCAP_BYTES=$(stat -c %s "$PCAP")

# Reading the file once puts it in the page cache, so no tool pays for the disk.
cat "$PCAP" >/dev/null

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flowkit-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------- measuring
declare -A WALL CPU RSS_KB STATUS FLOWS_OUT

# Median-free "best of K": the least CPU time is the run least disturbed by the machine.
# run_tool NAME PREP CMD... - runs CMD $RUNS times pinned to CPU 0 under /usr/bin/time,
# calling the shell function PREP (untimed) before each run; keeps the best run's
# wall/CPU/peak RSS in WALL/CPU/RSS_KB[NAME] and its output in $TMP/NAME.{out,err}.
run_tool() {
    local name=$1 prep=$2 i rc wall user sys rss cpu
    shift 2
    for ((i = 1; i <= RUNS; i++)); do
        "$prep"
        rc=0
        timeout "$TOOL_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" \
            taskset -c 0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
        if ((rc != 0)); then
            STATUS[$name]="failed (exit $rc)"
            echo "  $name run $i/$RUNS failed (exit $rc); end of its output:"
            tail -n 5 "$TMP/$name.err" "$TMP/$name.out" | sed 's/^/    /'
            return 0
        fi
        read -r wall user sys rss < <(tail -n 1 "$TMP/time")
        cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
        printf '  %-10s run %d/%d: wall %6.2f s  cpu %6.2f s  peak RSS %7.1f MiB\n' \
            "$name" "$i" "$RUNS" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
        if [[ -z ${CPU[$name]:-} ]] || awk -v a="$cpu" -v b="${CPU[$name]}" 'BEGIN { exit !(a < b) }'; then
            WALL[$name]=$wall CPU[$name]=$cpu RSS_KB[$name]=$rss
        fi
    done
    STATUS[$name]=ok
}

no_prep() { :; }

# A UDP port on 127.0.0.1 with no listener: exports go nowhere, but go through the stack.
pick_sink_port() {
    local p
    for p in 9995 19995 29995 39995; do
        if ! ss -Huln "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
    echo 9995
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, kernel $(uname -r)"
echo "workload: $PCAP, $NPKT packets, $PCAP_BYTES bytes; best of $RUNS runs per tool, pinned to CPU 0"

# flowkit: the exporter under test; it is optional while it is being written.
FLOWPROBE=${FLOWPROBE:-build/flowprobe} # overridable, e.g. to compare two builds
if [[ -x $FLOWPROBE ]]; then
    echo "flowkit (flowprobe):"
    run_tool flowkit no_prep "$FLOWPROBE" -i "pcap;file=$PCAP" -o "csv;file=/dev/null"
    if [[ ${STATUS[flowkit]} == ok ]]; then
        # one extra, untimed run to count the records it exports
        if timeout "$TOOL_TIMEOUT" "$FLOWPROBE" -i "pcap;file=$PCAP" -o "csv;file=$TMP/flows.csv" \
            >/dev/null 2>&1 && [[ -s $TMP/flows.csv ]]; then
            n=$(wc -l <"$TMP/flows.csv")
            # a header line holds only names and separators; data rows hold addresses
            if head -n 1 "$TMP/flows.csv" | grep -Eq '^[A-Za-z_][A-Za-z0-9_ ,;|	-]*$'; then
                n=$((n - 1))
            fi
            FLOWS_OUT[flowkit]=$n
        fi
    fi
else
    echo "flowkit: $FLOWPROBE is not built yet (it is being written); skipping it"
    STATUS[flowkit]="not built"
fi

# softflowd: with -r it stays in the foreground, reads to EOF, flushes every flow and exits.
# -c must not be given: with a control socket and -r, 1.1.0 blocks in accept().
# Timeouts match flowkit's defaults (30 s inactive, 300 s active); -m is large so the
# table never force-expires flows. IPFIX (-v 10) so IPv6 flows are tracked too.
if command -v softflowd >/dev/null; then
    SINK=$(pick_sink_port)
    echo "softflowd (NetFlow to 127.0.0.1:$SINK, nobody listening):"
    run_tool softflowd no_prep softflowd -r "$PCAP" -n "127.0.0.1:$SINK" -v 10 -d -m 4194304 \
        -t maxlife=300 -t general=30 -t tcp=30 -t tcp.rst=30 -t tcp.fin=30 -t udp=30 -t icmp=30
    if [[ ${STATUS[softflowd]} == ok ]]; then
        FLOWS_OUT[softflowd]=$(cat "$TMP/softflowd.out" "$TMP/softflowd.err" |
            sed -n 's/^Flows exported: \([0-9]*\).*/\1/p' | tail -n 1)
    fi
else
    echo "softflowd: not installed (scripts/deps.sh); skipping it"
    STATUS[softflowd]="not installed"
fi

# nfpcapd (nfdump): reads the file, writes nfcapd files into a fresh directory each run.
nfpcapd_prep() {
    rm -rf "$TMP/nfcapd"
    mkdir -p "$TMP/nfcapd"
}
if command -v nfpcapd >/dev/null; then
    echo "nfpcapd:"
    run_tool nfpcapd nfpcapd_prep nfpcapd -r "$PCAP" -w "$TMP/nfcapd" -e 300,30
    if [[ ${STATUS[nfpcapd]} == ok ]] && command -v nfdump >/dev/null; then
        FLOWS_OUT[nfpcapd]=$(nfdump -R "$TMP/nfcapd" -I 2>/dev/null | awk '/^Flows:/ { print $2 }')
    fi
else
    echo "nfpcapd: not installed (scripts/deps.sh); skipping it"
    STATUS[nfpcapd]="not installed"
fi

# ---------------------------------------------------------------- report
pps() { awk -v p="$NPKT" -v c="$1" 'BEGIN { if (c > 0) printf "%.0f", p / c; else print "n/a" }'; }

sf_ver=$(softflowd -h 2>&1 | sed -n 's/.*softflowd version \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1 || true)
nf_ver=$(nfpcapd -V 2>&1 | sed -n 's/.*Version: *\([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1 || true)
declare -A LABEL=([flowkit]="flowkit flowprobe" [softflowd]="softflowd ${sf_ver}"
    [nfpcapd]="nfpcapd ${nf_ver}")
declare -A PPS
for t in flowkit softflowd nfpcapd; do
    if [[ ${STATUS[$t]} == ok ]]; then
        PPS[$t]=$(pps "${CPU[$t]}")
    fi
done

echo
echo "### flowkit benchmark: $NPKT packets, ${NFLOWS_GEN:-$FLOWS} generated biflows, best of $RUNS, CPU 0"
echo
echo "| tool | wall s | CPU s (user+sys) | packets/s per core | peak RSS MiB | flow records | RSS bytes per record | flowkit / tool |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for t in flowkit softflowd nfpcapd; do
    if [[ ${STATUS[$t]} != ok ]]; then
        echo "| ${LABEL[$t]} | ${STATUS[$t]} | | | | | | |"
        continue
    fi
    recs=${FLOWS_OUT[$t]:-}
    per=$(awk -v k="${RSS_KB[$t]}" -v n="${recs:-0}" 'BEGIN { if (n > 0) printf "%.0f", k * 1024 / n; else print "n/a" }')
    ratio=n/a
    if [[ -n ${PPS[flowkit]:-} && ${PPS[flowkit]} != n/a && ${PPS[$t]} != n/a ]]; then
        ratio=$(awk -v a="${PPS[flowkit]}" -v b="${PPS[$t]}" 'BEGIN { printf "%.2f", a / b }')
    fi
    printf '| %s | %.2f | %.2f | %s | %.1f | %s | %s | %s |\n' "${LABEL[$t]}" "${WALL[$t]}" \
        "${CPU[$t]}" "${PPS[$t]}" "$(awk -v k="${RSS_KB[$t]}" 'BEGIN { print k / 1024 }')" \
        "${recs:-n/a}" "$per" "$ratio"
done
echo
echo "packets/s per core = $NPKT packets / CPU seconds (user+sys; every thread is on CPU 0)."
for t in flowkit softflowd nfpcapd; do
    if [[ ${STATUS[$t]} == ok ]] && awk -v c="${CPU[$t]}" 'BEGIN { exit !(c < 1) }'; then
        echo "note: CPU times are counted in 10 ms ticks; under a second they are coarse (try --packets 20000000)."
        break
    fi
done
echo "flow records: flowkit = CSV lines, softflowd = biflows exported, nfpcapd = uniflows stored (about twice the biflows)."
echo "softflowd reading a file expires flows only at EOF, so its RSS holds every flow of the file."
if [[ ${STATUS[flowkit]} == ok ]]; then
    nf=${FLOWS_OUT[flowkit]:-}
    basis="flows flowprobe exported"
    if [[ -z $nf || $nf -le 0 ]]; then
        nf=${NFLOWS_GEN:-$FLOWS}
        basis="biflows generated (flowprobe's own count was not available)"
    fi
    awk -v k="${RSS_KB[flowkit]}" -v n="$nf" -v b="$basis" \
        'BEGIN { printf "flowkit peak memory per flow: %.0f bytes (peak RSS %.1f MiB / %d %s)\n", k * 1024 / n, k / 1024, n, b }'
else
    echo "flowkit peak memory per flow: n/a (flowkit ${STATUS[flowkit]})"
fi
