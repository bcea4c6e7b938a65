#!/usr/bin/env bash
# bench/collector_transport.sh - flowcollector's records/s per core by transport (a file, or Kafka
# through librdkafka to a mock cluster), by format (json, bin) and with 1 or 2 workers.
#
# Workload: tests/tools/loadgen, 4 IPFIX exporters x 2 template sets, messages of 20 records,
# paced at --rate data messages/s (default 20000: 400k records/s, below what one worker
# decodes, so that CPU time is spent on records, not on drops; 0 = full speed, for the wall-clock
# throughput of 1 vs 2 workers: then the kernel drops what the collector cannot take, counted),
# --messages per exporter.
# The collector listens on netflow://127.0.0.1:P?count=1&workers=W&blocking=true with /metrics on
# (the default setup); Kafka goes to tests/tools/kafkamock (librdkafka's mock cluster, 1 broker,
# 4 partitions) in a process of its own, so the collector's CPU time is the producer's alone (the
# mock's own CPU time is reported beside it). records/s per core = records written / the
# collector's user+sys CPU seconds (/usr/bin/time, all threads, start-up and the final flush
# included). Each case runs --runs times; the best run is kept and the spread is reported:
# other processes on the machine add noise to CPU time too (cache, frequency), less than to wall
# time. Numbers are reported, never judged.
#
# nfacctd (pmacct, issue 9) side by side on the same workload: cases nfacctd-print (print plugin,
# JSON lines appended to a file) and nfacctd-kafka (kafka plugin, JSON, to the same mock broker,
# a topic of its own per run). nfacctd is asked for one record per flow: aggregate on the 5-tuple
# + timestamp_start/timestamp_end (loadgen's records are all distinct), nfacctd_time_new, a 1 s
# refresh, a cache large enough for a refresh interval, a 256 MB core->plugin pipe. Its CPU is the
# whole process tree's (core, plugin, and the purge children the plugin forks every refresh and
# reaps: utime+stime+cutime+cstime of each live process in /proc, read once everything was
# delivered, before SIGTERM; start-up included, shutdown not). Delivered = lines in the file, or
# messages on the topic (kcat -C -e); "dropped" for nfacctd = records sent - records delivered.
# "Everything delivered" = two empty cache purges in a row after loadgen finished. nfacctd's
# core hands records to the plugin in plugin_buffer_size chunks and sends a chunk only when it
# is full, so up to one chunk (64 KB: about 100 records) can stay in the core at the end.
#
# usage: bench/collector_transport.sh [--messages N] [--rate MSGS_PER_S] [--runs K]
#                                     [--cases "file-json file-bin kafka-json kafka-bin ..."]
#   cases: {file,kafka}-{json,bin}[-w1|-w2]  (default workers: 2), nfacctd-{print,kafka}
set -euo pipefail

MESSAGES=12500 # per exporter: 4 x 12500 x 20 = 1M records a run
RATE=20000
RUNS=3
CASES="file-json-w1 file-json-w2 file-bin-w2 kafka-json-w1 kafka-json-w2 kafka-bin-w2 nfacctd-print nfacctd-kafka"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while (($#)); do
    case "$1" in
    --messages) MESSAGES=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --cases) CASES=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "collector_transport.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
B=${BUILD:-build}
for t in flowcollector loadgen kafkamock; do
    [[ -x $B/$t ]] || { echo "building $t"; make -C "$B" -j2 "$t" >/dev/null; }
done
[[ -x /usr/bin/time ]] || { echo "collector_transport.sh: /usr/bin/time missing (package 'time')" >&2; exit 1; }
command -v curl >/dev/null || { echo "collector_transport.sh: curl missing" >&2; exit 1; }
if [[ $CASES == *nfacctd* ]]; then
    command -v nfacctd >/dev/null || { echo "collector_transport.sh: nfacctd missing (package 'pmacct')" >&2; exit 1; }
    [[ $CASES != *nfacctd-kafka* ]] || command -v kcat >/dev/null ||
        { echo "collector_transport.sh: kcat missing (package 'kcat')" >&2; exit 1; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flowkit-transport.XXXXXX")
MOCK_PID=""
cleanup() {
    exec 3>&- 2>/dev/null || true
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

metric() { curl -s --max-time 2 "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime of a process, clock ticks
HZ=$(getconf CLK_TCK)

# the mock cluster, once for all Kafka cases
mkfifo "$TMP/mockctl"
"$B/kafkamock" 1 4 bench <"$TMP/mockctl" >"$TMP/mock.out" 2>&1 &
MOCK_PID=$!
exec 3>"$TMP/mockctl"
for _ in $(seq 50); do grep -q bootstrap "$TMP/mock.out" && break; sleep 0.1; done
BOOT=$(sed -n 's/^bootstrap: //p' "$TMP/mock.out")

# Start loadgen sending to port $1, held until the caller writes to fd 4
# (the fifo it reads); its pid in LG.
start_loadgen() {
    rm -f "$TMP/go"
    mkfifo "$TMP/go"
    local pace=()
    [[ $RATE != 0 ]] && pace=(-R "$RATE")
    "$B/loadgen" -p "$1" -e 4 -r 20 -n "$MESSAGES" "${pace[@]}" -w <"$TMP/go" >"$TMP/gen" 2>&1 &
    LG=$!
    exec 4>"$TMP/go"
}

# one_run CASE -> prints "records cpu_s wall_s dropped mock_cpu_s" (runs in a subshell; errors
# are handled here, not by set -e, so that a failure prints a line instead of hanging the reader)
one_run() {
    set +e
    local case=$1 transport format workers p hp="" c
    IFS=- read -r transport format workers <<<"$case"
    workers=${workers#w}
    workers=${workers:-2}
    p=$((30000 + RANDOM % 25000))
    local args=(-listen "netflow://127.0.0.1:$p?count=1&workers=$workers&blocking=true" -addr 127.0.0.1:0
        -format "$format")
    if [[ $transport == kafka ]]; then
        args+=(-transport kafka -transport.kafka.brokers "$BOOT" -transport.kafka.topic bench
            -transport.kafka.flushfreq 100ms -transport.kafka.queue.max 2000000)
    else
        args+=(-transport.file "$TMP/out.$format")
        [[ $format == bin ]] && args+=(-transport.file.sep '')
    fi
    rm -f "$TMP/out.$format"
    : >"$TMP/time"
    /usr/bin/time -f '%e %U %S' -o "$TMP/time" "$B/flowcollector" "${args[@]}" >/dev/null 2>"$TMP/c.err" &
    c=$!
    for _ in $(seq 200); do
        hp=$(sed -n 's/.*HTTP on port \([0-9]*\).*/\1/p' "$TMP/c.err")
        [[ -n $hp ]] && break
        sleep 0.05
    done
    [[ -n $hp ]] || { echo "0 0 0 no-http 0"; kill "$c" 2>/dev/null; return; }
    local lg
    start_loadgen "$p"
    lg=$LG
    for _ in $(seq 20); do
        sleep 0.1
        [[ $(metric "$hp" flowkit_collector_templates) == 8 ]] && break
        echo again >&4
    done
    local m0 t0 t1 last=-1 now
    m0=$(ticks "$MOCK_PID")
    t0=$(date +%s.%N)
    echo go >&4
    exec 4>&-
    wait $lg
    for _ in $(seq 600); do # drained: records stop moving and nothing is queued in the transport
        now=$(metric "$hp" flowkit_collector_records_total)
        [[ $now == "$last" && $(metric "$hp" "flowkit_collector_transport_queued{transport=\"$transport\"}") == 0 ]] && break
        last=$now
        sleep 0.1
    done
    t1=$(date +%s.%N)
    kill -TERM "$(pgrep -P $c flowcollector || echo $c)" 2>/dev/null
    wait $c
    local recs drops user sys
    recs=$(sed -n 's/.* datagrams, \([0-9]*\) records written.*/\1/p' "$TMP/c.err")
    drops=$(sed -n 's/.*dropped \([0-9]*\) (queue full) + \([0-9]*\) (kernel).*/\1+\2/p' "$TMP/c.err")
    read -r _ user sys <"$TMP/time" || { echo "0 0 0 no-time 0"; return; }
    echo "$recs $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') \
$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a - 0.1 }') $drops \
$(awk -v a="$m0" -v b="$(ticks "$MOCK_PID")" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
}

# tree_ticks PID -> utime+stime+cutime+cstime summed over PID and its live descendants: nfacctd
# forks a process per plugin, and each plugin forks a purge child every refresh (reaped by it, so
# counted in its cutime/cstime).
tree_ticks() {
    local p t=0 q
    for p in "$@"; do
        [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat")))
        for q in $(pgrep -P "$p"); do t=$((t + $(tree_ticks "$q"))); done
    done
    echo "$t"
}

# nf_run CASE -> same line as one_run, for nfacctd (wall = go to the end of the load generator)
nf_run() {
    set +e
    local plugin=${1#nfacctd-} p n topic="" nf conf="$TMP/nfacctd.conf"
    p=$((30000 + RANDOM % 25000))
    rm -f "$TMP/nf.json" "$TMP/nf.log"
    {
        echo "daemonize: false"
        echo "nfacctd_ip: 127.0.0.1"
        echo "nfacctd_port: $p"
        echo "nfacctd_time_new: true"
        echo "nfacctd_pipe_size: 33554432" # SO_RCVBUF, capped by net.core.rmem_max
        echo "logfile: $TMP/nf.log"
        echo "plugins: $plugin[b]"
        echo "aggregate[b]: src_host, dst_host, src_port, dst_port, proto, timestamp_start, timestamp_end"
        echo "plugin_pipe_size[b]: 268435456"
        echo "plugin_buffer_size[b]: 65536"
        if [[ $plugin == print ]]; then
            echo "print_output[b]: json"
            echo "print_output_file[b]: $TMP/nf.json"
            echo "print_output_file_append[b]: true"
            echo "print_refresh_time[b]: 1"
            echo "print_cache_entries[b]: 65537" # x depth 10: 650k entries, > 1 s of records
        else
            topic="nf$RANDOM$RANDOM"
            echo "kafka_output[b]: json"
            echo "kafka_broker_host[b]: ${BOOT%:*}"
            echo "kafka_broker_port[b]: ${BOOT##*:}"
            echo "kafka_topic[b]: $topic"
            echo "kafka_refresh_time[b]: 1"
            echo "kafka_cache_entries[b]: 65537"
        fi
    } >"$conf"
    # a session of its own: on SIGTERM nfacctd signals its whole process group, which would
    # otherwise include this script
    setsid nfacctd -f "$conf" >"$TMP/nf.out" 2>&1 &
    nf=$!
    for _ in $(seq 100); do grep -q "waiting for NetFlow" "$TMP/nf.log" 2>/dev/null && break; sleep 0.05; done
    grep -q "waiting for NetFlow" "$TMP/nf.log" 2>/dev/null || { echo "0 0 0 no-start 0"; kill "$nf"; return; }
    local lg
    start_loadgen "$p"
    lg=$LG
    sleep 0.5 # no template counter to watch: resend the templates twice, then go
    echo again >&4
    sleep 0.2
    echo again >&4
    sleep 0.2
    local m0 t0 t1 n0 empty='Purging cache - END.*QN: 0/0'
    m0=$(ticks "$MOCK_PID")
    t0=$(date +%s.%N)
    echo go >&4
    exec 4>&-
    wait $lg
    t1=$(date +%s.%N)
    n0=$(grep -c "$empty" "$TMP/nf.log")
    for _ in $(seq 1200); do
        (($(grep -c "$empty" "$TMP/nf.log") >= n0 + 2)) && break
        sleep 0.1
    done
    local cpu sent recs
    cpu=$(awk -v t="$(tree_ticks "$nf")" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
    local mock
    mock=$(awk -v a="$m0" -v b="$(ticks "$MOCK_PID")" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
    # nfacctd's core does not exit on SIGTERM once its plugin has gone: ask,
    # then make sure (the CPU was read above), and never let set -e end us here.
    kill -INT "$nf" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$nf" 2>/dev/null || break; sleep 0.1; done
    pkill -KILL -P "$nf" 2>/dev/null || true
    kill -KILL "$nf" 2>/dev/null || true
    wait "$nf" 2>/dev/null || true
    if [[ $plugin == print ]]; then
        recs=$(wc -l <"$TMP/nf.json" 2>/dev/null || echo 0)
    else
        recs=$(timeout 120 kcat -C -q -b "$BOOT" -t "$topic" -o beginning -e 2>>"$TMP/kcat.err" | wc -l)
    fi
    sent=$(sed -n 's/.* \([0-9]*\) records sent.*/\1/p' "$TMP/gen")
    echo "$recs $cpu $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') lost:$((sent - recs)) $mock"
}

printf '| case | records | CPU s (best) | records/s per core (best) | spread over %d runs | records/s wall | dropped q+kernel | mock broker CPU s |\n' "$RUNS"
printf '|---|---:|---:|---:|---|---:|---|---:|\n'
for case in $CASES; do
    best=0 line="" rates=() bdrops="" bmock="" bwall=0
    for _ in $(seq "$RUNS"); do
        if [[ $case == nfacctd-* ]]; then
            read -r recs cpu wall drops mock < <(nf_run "$case")
        else
            read -r recs cpu wall drops mock < <(one_run "$case")
        fi
        rate=$(awk -v r="$recs" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }')
        rates+=("$rate")
        if ((rate > best)); then
            best=$rate
            line="| $case | $recs | $cpu | $(printf "%'d" "$rate") |"
            bdrops=$drops bmock=$mock
            bwall=$(awk -v r="$recs" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? r / w : 0) }')
        fi
    done
    lo=$(printf '%s\n' "${rates[@]}" | sort -n | head -1)
    printf '%s %s–%s | %s | %s | %s |\n' "$line" "$(printf "%'d" "$lo")" "$(printf "%'d" "$best")" \
        "$(printf "%'d" "$bwall")" "$bdrops" "$bmock"
done
echo quit >&3
