#!/usr/bin/env bash
# bench/collector.sh - records/s per core of flowkit's flowcollector next to nfdump's nfcapd and
# pmacct's nfacctd, all receiving the same replayed NetFlow v9 / IPFIX stream on 127.0.0.1.
#
# Builds build/bench/blaster, makes (once) captures of softflowd's NetFlow v9 and IPFIX export
# datagrams under build/bench/, then for each receiver: starts it pinned to CPU 0, replays the
# capture LOOPS times at full speed (or --rate datagrams/s) from CPU 1, waits until the receiver's
# socket is drained, stops it and reports records decoded per CPU second (user+sys, all threads
# and child processes), wall time, and datagrams sent, received and dropped. Prints a markdown
# table and flowkit's ratios to its peers. Numbers are reported, never judged: the exit status
# only says whether the benchmark itself could run. All traffic stays on 127.0.0.1.
# With --runs K, each receiver runs K times and the run with the most records/s per core is kept.
# The receivers "rjson" and "rbin" are flowcollector reading the same capture through
# -listen pcap:// (LOOPS/10 passes, at least 1, in one run; no sockets, no queues): the cost of
# decoding and formatting alone, in CPU nanoseconds per record.
#
# usage: bench/collector.sh [--loops N] [--runs K] [--port P] [--rate DGRAMS_PER_S]
#                           [--versions "9 10"]
#                           [--receivers "json json1 bin bin1 rjson rbin nfcapd nfacctd"]
set -euo pipefail

LOOPS=40           # passes over each capture per receiver (21k datagrams, 600k records a pass)
RUNS=1             # runs per receiver; the best is kept
PORT=""            # default: a free random port
RATE=""            # default: as fast as the blaster goes
VERSIONS="9 10"    # NetFlow v9 and IPFIX
RECEIVERS="json json1 bin bin1 rjson rbin nfcapd nfacctd" # flowcollector -format json, the same
                                          # with count=1&workers=1 (the receiver decodes inline),
                                          # -format bin, the same inline; the pcap:// replays to json
                                          # and bin; nfdump's nfcapd; pmacct's nfacctd
STOP_TIMEOUT=60    # seconds a receiver gets to exit after it is told to stop

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while (($#)); do
    case "$1" in
    --loops) LOOPS=${2:?--loops needs a number}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --port) PORT=${2:?--port needs a number}; shift 2 ;;
    --rate) RATE=${2:?--rate needs a number}; shift 2 ;;
    --versions) VERSIONS=${2:?--versions needs a list}; shift 2 ;;
    --receivers) RECEIVERS=${2:?--receivers needs a list}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "collector.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for v in LOOPS RUNS ${PORT:+PORT} ${RATE:+RATE}; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "collector.sh: $v must be a number, got '${!v}'" >&2; exit 2; }
done
((LOOPS >= 1)) || { echo "collector.sh: --loops must be at least 1" >&2; exit 2; }
((RUNS >= 1)) || { echo "collector.sh: --runs must be at least 1" >&2; exit 2; }
for v in $VERSIONS; do
    [[ $v == 9 || $v == 10 ]] || { echo "collector.sh: --versions takes 9 and/or 10" >&2; exit 2; }
done
for r in $RECEIVERS; do
    [[ " json json1 bin bin1 rjson rbin nfcapd nfacctd " == *" $r "* ]] ||
        { echo "collector.sh: --receivers takes json, json1, bin, bin1, rjson, rbin, nfcapd, nfacctd" >&2; exit 2; }
done
want() { [[ " $RECEIVERS " == *" $1 "* ]]; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=build/bench
mkdir -p "$OUT"
BLASTER=$OUT/blaster
COLLECTOR=${FLOWCOLLECTOR:-build/flowcollector}

# ---------------------------------------------------------------- prerequisites
for t in cc pkg-config taskset timeout awk; do
    command -v "$t" >/dev/null || { echo "collector.sh: '$t' not found" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "collector.sh: /usr/bin/time missing: install the Debian package 'time'" >&2; exit 1; }
pkg-config --exists libpcap || { echo "collector.sh: libpcap headers missing: install 'libpcap-dev'" >&2; exit 1; }
if (($(nproc) < 2)); then
    echo "collector.sh: needs 2 CPUs (receiver on CPU 0, blaster on CPU 1)" >&2
    exit 1
fi

if [[ ! -x $BLASTER || bench/blaster.c -nt $BLASTER ]]; then
    echo "building $BLASTER"
    # shellcheck disable=SC2046
    cc -std=c11 -O2 -Wall -Wextra -Werror $(pkg-config --cflags libpcap) -o "$BLASTER" \
        bench/blaster.c $(pkg-config --libs libpcap)
fi
if [[ ! -x $COLLECTOR ]]; then
    echo "building flowcollector (cmake -S . -B build && make -C build -j2)"
    cmake -S . -B build >/dev/null && make -C build -j2 >/dev/null
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flowkit-collector.XXXXXX")
# kill_tree PID: PID and its descendants (children first), SIGKILL
kill_tree() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null || true); do kill_tree "$c"; done
    kill -KILL "$1" 2>/dev/null || true
}
# on exit: whatever this shell still has running in the background (a receiver under
# /usr/bin/time, dumpcap), with its children
cleanup() {
    local p
    for p in $(jobs -p); do kill_tree "$p"; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# ---------------------------------------------------------------- sockets (/proc/net/udp)
port_hex() { printf '%04X' "$1"; }
# udp_sockets PORT: the /proc/net/udp{,6} lines of sockets bound to local port PORT
udp_sockets() {
    awk -v p=":$(port_hex "$1")" 'FNR > 1 && substr($2, length($2) - 4) == p' /proc/net/udp /proc/net/udp6
}
port_free() { [[ -z $(udp_sockets "$1") ]]; }
# rx_queue PORT: bytes waiting in the receive queues of the port's sockets
rx_queue() {
    local s=0 q
    for q in $(udp_sockets "$1" | awk '{ split($5, q, ":"); print q[2] }'); do
        s=$((s + 16#$q))
    done
    echo "$s"
}
# kernel_drops PORT: datagrams the kernel dropped on the port's sockets (receive buffer full)
kernel_drops() { udp_sockets "$1" | awk '{ s += $NF } END { print s + 0 }'; }

pick_port() {
    local p
    for _ in $(seq 50); do
        p=$((30000 + RANDOM % 25000))
        port_free "$p" && port_free $((p + 1)) && { echo "$p"; return; }
    done
    echo "collector.sh: no free UDP port found" >&2
    exit 1
}
if [[ -z $PORT ]]; then
    PORT=$(pick_port)
elif ! port_free "$PORT"; then
    echo "collector.sh: UDP port $PORT is in use" >&2
    exit 1
fi

# ---------------------------------------------------------------- workload
# softflowd (-r) reads a generated packet capture and exports every flow to 127.0.0.1:CPORT, where
# nothing listens; dumpcap records those datagrams on lo. Done once per version; the .meta file
# says with what, so a change of generator or softflowd makes a new capture.
SRC_N=2000000 SRC_F=300000 SRC_S=3 # the same packets as bench/ipfix.sh uses
SRC=$OUT/ipfix-$SRC_N-$SRC_F.pcap
SRC_TMP=""

source_pcap() {
    [[ -s $SRC && ! bench/genpcap.c -nt $SRC ]] && return # older than the generator: made again
    if [[ -z $SRC_TMP ]]; then
        local gen=$OUT/genpcap
        if [[ ! -x $gen || bench/genpcap.c -nt $gen ]]; then
            cc -std=c11 -O2 -Wall -Wextra -Werror -o "$gen" bench/genpcap.c
        fi
        SRC_TMP=$TMP/src.pcap
        echo "generating $SRC_N packets in $SRC_F flows (genpcap -s $SRC_S)"
        "$gen" -n "$SRC_N" -f "$SRC_F" -s "$SRC_S" "$SRC_TMP" 2>/dev/null
    fi
    SRC=$SRC_TMP
}

# make_capture V: sets CAP to build/bench/export-vV.pcapng, making it if needed
make_capture() {
    local v=$1 name
    name=$([[ $v == 9 ]] && echo v9 || echo ipfix)
    CAP=$OUT/export-$name.pcapng
    local meta=$CAP.meta sfv want
    sfv=$(softflowd -h 2>&1 | sed -n 's/.*softflowd version \([^ .]*\.[^ .]*\.[^ .]*\).*/\1/p' | head -n 1 || true)
    want="softflowd=${sfv:-none} -v $v genpcap -n $SRC_N -f $SRC_F -s $SRC_S genpcap.c=$(cksum <bench/genpcap.c | cut -d' ' -f1)"
    if [[ -s $CAP && -s $meta && $(head -n 1 "$meta") == "$want" ]]; then
        return
    fi
    for t in softflowd dumpcap; do
        command -v "$t" >/dev/null || { echo "collector.sh: '$t' is needed to make $CAP (Debian: softflowd, tshark)" >&2; exit 1; }
    done
    source_pcap
    local cport=$((PORT + 1)) tries
    port_free "$cport" || { echo "collector.sh: capture port $cport is in use" >&2; exit 1; }
    for tries in 1 2 3; do
        echo "capturing softflowd's NetFlow v$v export of $SRC (try $tries)"
        rm -f "$TMP/cap.pcapng"
        dumpcap -q -i lo -f "udp and dst host 127.0.0.1 and dst port $cport" -B 256 \
            -w "$TMP/cap.pcapng" 2>"$TMP/dumpcap.err" &
        local dpid=$!
        for _ in $(seq 100); do
            grep -q '^Capturing on' "$TMP/dumpcap.err" && break
            kill -0 "$dpid" 2>/dev/null || break
            sleep 0.1
        done
        sleep 0.5
        # Timeouts as bench/run.sh; -m large so the cache never force-expires. No -c: with -r,
        # softflowd 1.1.0 would block in accept() on its control socket.
        timeout 300 softflowd -r "$SRC" -n "127.0.0.1:$cport" -v "$v" -d -m 4194304 \
            -p "$TMP/softflowd.pid" -t maxlife=300 -t general=30 -t tcp=30 -t tcp.rst=30 \
            -t tcp.fin=30 -t udp=30 -t icmp=30 >"$TMP/softflowd.out" 2>&1 || true
        sleep 0.5
        kill -INT "$dpid" 2>/dev/null || true
        wait "$dpid" || true
        local exported got
        exported=$(sed -n 's/^Flows exported: .* in \([0-9]*\) packets.*/\1/p' "$TMP/softflowd.out")
        got=$("$BLASTER" -l -q "$TMP/cap.pcapng" 2>/dev/null | sed -n 's/^capture datagrams=\([0-9]*\).*/\1/p' || true)
        if [[ -n $exported && $exported == "$got" ]]; then
            mv "$TMP/cap.pcapng" "$CAP"
            chmod 644 "$CAP"
            { echo "$want"; grep '^Flows exported' "$TMP/softflowd.out"; } >"$meta"
            return
        fi
        echo "  softflowd sent ${exported:-?} datagrams, dumpcap kept ${got:-?}; again"
        tail -n 3 "$TMP/softflowd.out" "$TMP/dumpcap.err" | sed 's/^/    /'
    done
    echo "collector.sh: could not capture a complete export stream" >&2
    exit 1
}

# ---------------------------------------------------------------- one receiver
declare -A R_TOOL R_FMT R_REC R_WALL R_CPU R_RSS R_SENT R_RECV R_DROP R_NOTE R_RATE R_EXP R_BLAST
ORDER=()

# wait_socket PORT PID: until something listens on PORT (or PID died)
wait_socket() {
    for _ in $(seq 200); do
        [[ -n $(udp_sockets "$1") ]] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
# wait_drained PORT: until the port's receive queues stay empty (at most 30 s)
wait_drained() {
    local zero=0
    for _ in $(seq 300); do
        if (($(rx_queue "$1") == 0)); then
            ((++zero >= 3)) && return 0
        else
            zero=0
        fi
        sleep 0.1
    done
}

# CPU time from /proc, besides /usr/bin/time: /usr/bin/time only counts the children a receiver
# waited for, and nfacctd's core can exit before its plugin has finished (the plugin then runs on,
# orphaned). So every process of the receiver's tree is sampled while it runs; TICKS keeps each
# one's last user+sys clock ticks, and the larger of the two totals is reported.
CLK_TCK=$(getconf CLK_TCK)
declare -A TICKS
# sample_tree PID: samples PID, its descendants and every process sampled before that still
# runs; sets ALL_TICKS (the sum of the last samples of all processes seen) and LIVE (those
# seen that still run, zombies excepted)
sample_tree() {
    local p s c
    local -a todo f
    local -A seen=()
    todo=("$1" "${!TICKS[@]}")
    LIVE=()
    while ((${#todo[@]})); do
        p=${todo[0]}
        todo=("${todo[@]:1}")
        [[ -n ${seen[$p]:-} ]] && continue
        seen[$p]=1
        s=""
        [[ -r /proc/$p/stat ]] && { s=$(<"/proc/$p/stat") || s=""; } 2>/dev/null
        [[ -n $s ]] || continue
        s=${s##*) } # after "pid (comm) ": state is field 3, utime 14, stime 15
        read -ra f <<<"$s"
        ((${#f[@]} > 12)) || continue
        TICKS[$p]=$((f[11] + f[12]))
        [[ ${f[0]} == Z ]] || LIVE+=("$p")
        for c in $(pgrep -P "$p" 2>/dev/null || true); do todo+=("$c"); done
    done
    ALL_TICKS=0
    for p in "${!TICKS[@]}"; do ALL_TICKS=$((ALL_TICKS + TICKS[$p])); done
}
# wait_idle PID: until PID's process tree stops using CPU (at most 60 s): the receiver has
# decoded and written what it queued inside (flowcollector's queue, nfacctd's plugin pipe).
# Sets IDLE_AT to when it went quiet (to 0.3 s).
wait_idle() {
    local a ta quiet=0
    sample_tree "$1"
    a=$ALL_TICKS
    ta=$EPOCHREALTIME
    IDLE_AT=$ta
    for _ in $(seq 200); do
        sleep 0.3
        sample_tree "$1"
        if ((ALL_TICKS - a <= 1)); then
            ((quiet++ == 0)) && IDLE_AT=$ta
            ((quiet >= 2)) && return 0
        else
            quiet=0
        fi
        a=$ALL_TICKS
        ta=$EPOCHREALTIME
    done
    IDLE_AT=$EPOCHREALTIME
}
# all_children_done PID: PID has no child that is not a zombie
all_children_done() {
    local c st
    for c in $(pgrep -P "$1" 2>/dev/null || true); do
        st=$(awk '{ print $3 }' "/proc/$c/stat" 2>/dev/null || true)
        [[ -z $st || $st == Z ]] || return 1
    done
    return 0
}

# run_receiver KEY TOOL FORMAT STOPSIG CMD...: runs CMD pinned to CPU 0 under /usr/bin/time, blasts
# $CAP at it from CPU 1, stops it with STOPSIG; leaves its output in $TMP/KEY.{out,err,time,blast}
# and sets KDROPS (kernel drops on its socket), SENT, SENT_REC; returns 1 if it did not run.
# STOPSIG INT (nfacctd) repeats the signal once the receiver's children are done: nfacctd's core
# forwards the first to its plugin and, with SIGCHLD blocked, may wait for another.
run_receiver() {
    local key=$1 tool=$2 fmt=$3 sig=$4
    shift 4
    R_TOOL[$key]=$tool R_FMT[$key]=$fmt R_NOTE[$key]=""
    TICKS=()
    /usr/bin/time -f '%e %U %S %M' -o "$TMP/$key.time" taskset -c 0 "$@" \
        >"$TMP/$key.out" 2>"$TMP/$key.err" &
    local tp=$! rp
    if ! wait_socket "$PORT" "$tp"; then
        R_NOTE[$key]="did not start: $(tail -n 1 "$TMP/$key.err")"
        kill_tree "$tp"
        wait "$tp" 2>/dev/null || true
        return 1
    fi
    rp=$(pgrep -P "$tp" | head -n 1 || true)
    [[ -n $rp ]] || rp=$tp
    sleep 0.5 # let multi-process receivers (nfacctd's plugin) settle
    local t0=$EPOCHREALTIME
    taskset -c 1 "$BLASTER" -q -p "$PORT" -n "$LOOPS" ${RATE:+-r "$RATE"} "$CAP" >"$TMP/$key.blast"
    wait_drained "$PORT"
    KDROPS=$(kernel_drops "$PORT")
    wait_idle "$rp"
    local t_stop=$EPOCHREALTIME n=0 last=0
    kill "-$sig" "$rp" 2>/dev/null || true
    # until the receiver and every process it started have ended
    while ((n < STOP_TIMEOUT * 10)); do
        sample_tree "$rp"
        if ! kill -0 "$tp" 2>/dev/null; then
            ((${#LIVE[@]} == 0)) && break
        elif [[ $sig == INT ]] && ((n - last >= 5)) && all_children_done "$rp"; then
            kill -INT "$rp" 2>/dev/null || true
            last=$n
        fi
        sleep 0.1
        n=$((n + 1))
    done
    if kill -0 "$tp" 2>/dev/null || ((${#LIVE[@]} > 0)); then
        R_NOTE[$key]="did not exit within ${STOP_TIMEOUT}s of SIG$sig; killed. "
        kill_tree "$tp"
        for p in "${LIVE[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    fi
    wait "$tp" 2>/dev/null || true
    local t_exit=$EPOCHREALTIME
    SENT=$(sed -n 's/^sent datagrams=\([0-9]*\).*/\1/p' "$TMP/$key.blast")
    SENT_REC=$(sed -n 's/^sent .* records=\([0-9]*\).*/\1/p' "$TMP/$key.blast")
    local wall user sys rss
    # shellcheck disable=SC2034 # wall: the receiver's whole life, idle start and stop included
    read -r wall user sys rss < <(tail -n 1 "$TMP/$key.time")
    # wall: from the start of the blast until the receiver went idle, plus its time to stop
    # (nfacctd writes its cache then); not the idle time the script waited in between
    R_WALL[$key]=$(awk -v a="$t0" -v b="$IDLE_AT" -v s="$t_stop" -v e="$t_exit" \
        'BEGIN { printf "%.2f", (b - a) + (e - s) }')
    R_RSS[$key]=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
    R_BLAST[$key]=$(awk '/^sent / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["seconds"] > 0) printf "%.0f datagrams/s", v["datagrams"] / v["seconds"] }' "$TMP/$key.blast")
    local cpu_time cpu_proc
    cpu_time=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    cpu_proc=$(awk -v t="$ALL_TICKS" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')
    R_CPU[$key]=$cpu_time
    if awk -v a="$cpu_proc" -v b="$cpu_time" 'BEGIN { exit !(a > b + 0.05) }'; then
        R_CPU[$key]=$cpu_proc
        R_NOTE[$key]+="CPU from /proc samples ($cpu_proc s; /usr/bin/time saw $cpu_time s: not all its processes were reaped by it); "
    fi
    R_SENT[$key]=$SENT
    return 0
}

# set_result KEY RECORDS RECEIVED: fills in the rest of the row
set_result() {
    local key=$1 rec=$2 recv=$3
    R_REC[$key]=$rec R_RECV[$key]=$recv
    # flow records in the datagrams received, if they are a fair sample of those sent
    R_EXP[$key]=$(awk -v r="$SENT_REC" -v a="$recv" -v s="$SENT" 'BEGIN { printf "%.0f", (s > 0 ? r * a / s : 0) }')
    R_DROP[$key]=$((R_SENT[$key] - recv))
    R_RATE[$key]=$(awk -v r="$rec" -v c="${R_CPU[$key]}" 'BEGIN { if (c > 0) printf "%.0f", r / c; else print "-" }')
}

run_flowkit() { # KEY FORMAT LISTEN-QUERY
    local key=$1 fmt=$2 q=$3 label
    local args=(-format "$fmt" -transport.file /dev/null)
    [[ $fmt == bin ]] && args+=(-transport.file.sep '')
    label="flowcollector${q:+ ?$q}"
    run_receiver "$key" "$label" "$fmt" TERM "$COLLECTOR" -listen "netflow://127.0.0.1:$PORT${q:+?$q}" "${args[@]}" || return 0
    local line recv rec qfull kern seqlost
    line=$(grep '^flowcollector: [0-9]* datagrams' "$TMP/$key.err" | tail -n 1 || true)
    if [[ -z $line ]]; then
        R_NOTE[$key]+=" no summary line on stderr"
        return 0
    fi
    recv=$(sed -n 's/^flowcollector: \([0-9]*\) datagrams.*/\1/p' <<<"$line")
    rec=$(sed -n 's/.* datagrams, \([0-9]*\) records written.*/\1/p' <<<"$line")
    qfull=$(sed -n 's/.*dropped \([0-9]*\) (queue full).*/\1/p' <<<"$line")
    kern=$(sed -n 's/.* + \([0-9]*\) (kernel).*/\1/p' <<<"$line")
    seqlost=$(sed -n 's/.*netflow\/ipfix: \([^;]*\).*/\1/p' <<<"$line" | sed -n 's/.* \([0-9]*\) lost by sequence.*/\1/p')
    # datagrams that reached a decoder: read from the socket minus those the full queue dropped
    set_result "$key" "$rec" $((recv - qfull))
    R_NOTE[$key]+="says: $recv read, $qfull dropped (queue full), $kern (kernel), ${seqlost:-?} lost by sequence; /proc/net/udp: $KDROPS kernel drops"
    if ((recv + KDROPS != SENT)); then
        R_NOTE[$key]+="; read + kernel drops = $((recv + KDROPS)) != $SENT sent"
    fi
}

# run_replay KEY FORMAT: flowcollector decodes $CAP from a file (pcap://, max(LOOPS/10, 1) passes in
# one run), pinned to CPU 0; CPU time as for the others, no sockets and no blaster
run_replay() {
    local key=$1 fmt=$2 passes=$((LOOPS / 10)) listen="" i
    ((passes >= 1)) || passes=1
    for ((i = 0; i < passes; i++)); do listen+="${listen:+,}pcap://$CAP"; done
    local args=(-format "$fmt" -transport.file /dev/null)
    [[ $fmt == bin ]] && args+=(-transport.file.sep '')
    R_TOOL[$key]="flowcollector pcap:// replay ($passes passes)" R_FMT[$key]=$fmt R_NOTE[$key]=""
    local t0=$EPOCHREALTIME
    if ! /usr/bin/time -f '%e %U %S %M' -o "$TMP/$key.time" taskset -c 0 "$COLLECTOR" \
        -listen "$listen" "${args[@]}" >"$TMP/$key.out" 2>"$TMP/$key.err"; then
        R_NOTE[$key]="failed: $(tail -n 1 "$TMP/$key.err")"
        return 0
    fi
    local wall user sys rss line rec
    read -r wall user sys rss < <(tail -n 1 "$TMP/$key.time")
    R_WALL[$key]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    R_RSS[$key]=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
    R_CPU[$key]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    line=$(grep '^flowcollector: [0-9]* datagrams' "$TMP/$key.err" | tail -n 1 || true)
    rec=$(sed -n 's/.* datagrams, \([0-9]*\) records written.*/\1/p' <<<"$line")
    SENT=$((CAP_DG * passes)) SENT_REC=$((CAP_REC * passes))
    R_SENT[$key]=$SENT R_BLAST[$key]="file"
    set_result "$key" "${rec:-0}" "$SENT"
    R_NOTE[$key]=$(awk -v r="${rec:-0}" -v c="${R_CPU[$key]}" \
        'BEGIN { if (r > 0) printf "%.0f ns of CPU per record", c * 1e9 / r }')
}

run_nfcapd() { # KEY
    local key=$1 dir=$TMP/nfcapd-$1
    mkdir -p "$dir"
    # nfdump's own binary format (not JSON); -B asks the same 8 MiB socket buffer as flowcollector
    run_receiver "$key" nfcapd "nfdump file" TERM nfcapd -w "$dir" -b 127.0.0.1 -p "$PORT" -B 8388608 || return 0
    local rec
    rec=$(sed -n "s/^Ident: .* Flows: \([0-9]*\),.*/\1/p" "$TMP/$key.out" "$TMP/$key.err" | tail -n 1)
    if [[ -z $rec ]] && command -v nfdump >/dev/null; then
        rec=$(nfdump -R "$dir" -I 2>/dev/null | sed -n 's/^Flows: \([0-9]*\)/\1/p' | head -n 1)
    fi
    set_result "$key" "${rec:-0}" $((SENT - KDROPS))
    local seq
    seq=$(sed -n "s/.*Sequence Errors: \([0-9]*\).*/\1/p" "$TMP/$key.out" "$TMP/$key.err" | tail -n 1)
    R_NOTE[$key]+="received = sent - /proc/net/udp drops (they hold ~${R_EXP[$key]} records); it counted ${seq:-?} sequence errors"
    rm -rf "$dir"
}

run_nfacctd() { # KEY
    local key=$1 conf=$TMP/$1.conf json=$TMP/$1.json
    # One JSON object per flow record: the print plugin aggregates records with equal primitives
    # until it purges, so besides the 5-tuple the key holds timestamp_start and the export
    # sequence number (which the blaster keeps increasing over the loops); no two records of the
    # stream share that key, so every record received is written (checked: 600000 lines a pass).
    # The file is counted, then deleted. The cache purges when full and at the stop (SIGINT: the
    # core process blocks SIGTERM). Socket buffer as flowcollector's; a larger core->plugin pipe
    # than the 4 MB default, as the documentation advises for heavy loads.
    cat >"$conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $PORT
nfacctd_pipe_size: 8388608
plugin_pipe_size: 67108864
plugin_buffer_size: 65536
plugins: print
aggregate: src_host, dst_host, src_port, dst_port, proto, timestamp_start, export_proto_seqno
print_output: json
print_output_file: $json
print_output_file_append: true
print_refresh_time: 60
print_cache_entries: 65537
EOF
    run_receiver "$key" nfacctd "json (file)" INT nfacctd -f "$conf" || return 0
    local rec=0 missing
    [[ -f $json ]] && rec=$(wc -l <"$json")
    set_result "$key" "$rec" $((SENT - KDROPS))
    missing=$(grep -ci 'missing data detected' "$TMP/$key.err" || true)
    R_NOTE[$key]+="received = sent - /proc/net/udp drops (they hold ~${R_EXP[$key]} records); records = JSON lines written"
    if ((missing == 0)); then
        return 0
    fi
    R_NOTE[$key]+="; $missing 'Missing data detected' (core->plugin pipe full: records lost inside nfacctd)"
    # Second row, same run: the records in the datagrams nfacctd received, all of which its core
    # process decoded, whether or not the print plugin got them through the pipe (upper bound).
    local rx=$key-rx
    R_TOOL[$rx]="nfacctd (records received)" R_FMT[$rx]="-" R_NOTE[$rx]=""
    R_WALL[$rx]=${R_WALL[$key]} R_CPU[$rx]=${R_CPU[$key]} R_RSS[$rx]=${R_RSS[$key]}
    R_SENT[$rx]=${R_SENT[$key]} R_BLAST[$rx]=${R_BLAST[$key]}
    set_result "$rx" "${R_EXP[$key]}" $((SENT - KDROPS))
    rm -f "$json"
}

# copy_row SRC DST: one result row to another key
copy_row() {
    local a
    for a in R_TOOL R_FMT R_REC R_WALL R_CPU R_RSS R_SENT R_RECV R_DROP R_NOTE R_RATE R_EXP R_BLAST; do
        eval "${a}[\$2]=\${${a}[\$1]-}"
    done
}
# best KEY FUNC ARGS...: runs FUNC KEY.i ARGS... RUNS times, prints each run, keeps the run with
# the most records/s per core (the least disturbed) as KEY (and KEY-rx, for nfacctd)
best() {
    local key=$1 fn=$2 i k b="" r br=-1
    shift 2
    for ((i = 1; i <= RUNS; i++)); do
        k=$key.$i
        "$fn" "$k" "$@"
        printf '  %s (%s) run %d/%d: %s records/s per core; sent %s at %s; %s\n' "${R_TOOL[$k]}" \
            "${R_FMT[$k]}" "$i" "$RUNS" "${R_RATE[$k]:--}" "${R_SENT[$k]:-?}" "${R_BLAST[$k]:-?}" \
            "$(tr -s ' ' <<<"${R_NOTE[$k]}")"
        r=${R_RATE[$k]:-}
        if [[ $r =~ ^[0-9]+$ ]] && ((r > br)); then b=$k br=$r; fi
    done
    [[ -n $b ]] || b=$key.1
    copy_row "$b" "$key"
    ORDER+=("$key")
    if [[ -n ${R_TOOL[$b-rx]:-} ]]; then
        copy_row "$b-rx" "$key-rx"
        ORDER+=("$key-rx")
    fi
}

# ---------------------------------------------------------------- run
echo "receivers on CPU 0, blaster on CPU 1; UDP port $PORT on 127.0.0.1; $LOOPS loops per run${RATE:+ at $RATE datagrams/s}; best of $RUNS"
for v in $VERSIONS; do
    make_capture "$v"
    name=$([[ $v == 9 ]] && echo "NetFlow v9" || echo "IPFIX")
    info=$("$BLASTER" -l -q "$CAP")
    CAP_DG=$(sed -n 's/.*datagrams=\([0-9]*\).*/\1/p' <<<"$info")
    CAP_REC=$(sed -n 's/.*records=\([0-9]*\).*/\1/p' <<<"$info")
    echo
    echo "== $name: $CAP, $CAP_DG datagrams and $CAP_REC flow records a pass"
    if want json; then best "v$v-fk-json" run_flowkit json ""; fi
    if want json1; then best "v$v-fk-json1" run_flowkit json "count=1&workers=1"; fi
    if want bin; then best "v$v-fk-bin" run_flowkit bin ""; fi
    if want bin1; then best "v$v-fk-bin1" run_flowkit bin "count=1&workers=1"; fi
    if want rjson; then best "v$v-fk-rjson" run_replay json; fi
    if want rbin; then best "v$v-fk-rbin" run_replay bin; fi
    if want nfcapd; then
        if command -v nfcapd >/dev/null; then best "v$v-nfcapd" run_nfcapd; else echo "  nfcapd not installed (Debian: nfdump); skipped"; fi
    fi
    if want nfacctd; then
        if command -v nfacctd >/dev/null; then best "v$v-nfacctd" run_nfacctd; else echo "  nfacctd not installed (Debian: pmacct); skipped"; fi
    fi
done

# ---------------------------------------------------------------- report
echo
echo "| stream | tool | format | records | wall s | CPU s | records/s per core | peak RSS MiB | datagrams sent | received | dropped |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for k in "${ORDER[@]}"; do
    stream=$([[ $k == v9-* ]] && echo "v9" || echo "IPFIX")
    if [[ -z ${R_REC[$k]:-} ]]; then
        echo "| $stream | ${R_TOOL[$k]} | ${R_FMT[$k]} | - | - | - | - | - | ${R_SENT[$k]:--} | - | - |"
        continue
    fi
    pct=$(awk -v d="${R_DROP[$k]}" -v s="${R_SENT[$k]}" 'BEGIN { if (s > 0) printf "%.1f", 100 * d / s; else print 0 }')
    echo "| $stream | ${R_TOOL[$k]} | ${R_FMT[$k]} | ${R_REC[$k]} | ${R_WALL[$k]} | ${R_CPU[$k]} | ${R_RATE[$k]} | ${R_RSS[$k]} | ${R_SENT[$k]} | ${R_RECV[$k]} | ${R_DROP[$k]} ($pct %) |"
done
echo
cat <<'EOF'
records/s per core = records / the receiver's user+sys CPU seconds (all its threads and processes).
records: flowcollector: records written (its exit summary); nfcapd: flows stored (its exit
summary); nfacctd: JSON lines its print plugin wrote, and on the "records received" row the flow
records in the datagrams it received (all decoded by its core process; those lost in its
core->plugin pipe never reach JSON), the same run's CPU time. received: datagrams read, as the
receiver says (flowcollector) or sent - the socket's drops in /proc/net/udp (nfcapd, nfacctd).
dropped = sent - received: the kernel's receive-buffer drops (the receiver on CPU 0 is slower than
the blaster on CPU 1), plus flowcollector's queue-full drops. wall: from the start of the blast
until the receiver went idle (to 0.3 s), i.e. had decoded and written all it received, plus the
time it took to exit when told to stop. pcap:// replay rows: the capture read from its file
(sent = datagrams in it, nothing dropped), wall = the run.
EOF
echo
ratio() { # A B
    [[ -n ${R_RATE[$1]:-} && -n ${R_RATE[$2]:-} && ${R_RATE[$2]} != - && ${R_RATE[$2]} != 0 && ${R_RATE[$1]} != - ]] || { echo "-"; return; }
    awk -v a="${R_RATE[$1]}" -v b="${R_RATE[$2]}" 'BEGIN { printf "%.2fx", a / b }'
}
echo "flowkit's records/s per core relative to each peer:"
for v in $VERSIONS; do
    stream=$([[ $v == 9 ]] && echo "v9" || echo "IPFIX")
    echo "- $stream: json vs nfcapd $(ratio "v$v-fk-json" "v$v-nfcapd"), json vs nfacctd $(ratio "v$v-fk-json" "v$v-nfacctd");" \
        "json vs nfacctd's records received $(ratio "v$v-fk-json" "v$v-nfacctd-rx");" \
        "bin vs nfcapd $(ratio "v$v-fk-bin" "v$v-nfcapd"), bin vs nfacctd $(ratio "v$v-fk-bin" "v$v-nfacctd");" \
        "inline (count=1&workers=1) vs default (2 workers): json $(ratio "v$v-fk-json1" "v$v-fk-json"), bin $(ratio "v$v-fk-bin1" "v$v-fk-bin");" \
        "replay: json vs nfcapd $(ratio "v$v-fk-rjson" "v$v-nfcapd"), bin vs nfcapd $(ratio "v$v-fk-rbin" "v$v-nfcapd")"
done
