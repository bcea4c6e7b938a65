#!/usr/bin/env bash
# flowcollector under load on loopback: 4 IPFIX exporters (tests/tools/loadgen,
# one socket each), each with 2 template sets (IPv4 256, IPv6 257), blasting
# data messages of 20 records at full speed into
# netflow://?count=2&workers=2.  Every record is either decoded or counted
# as dropped:
#     records sent = records written + 20 x (datagrams dropped: queue full + kernel)
# and the exporters' IPFIX sequence numbers agree: the records missing by
# sequence are exactly those of the dropped datagrams.  Templates are checked
# learned (8, through /metrics) before the blast, so every drop is a data
# message.  Run twice: with a 256-datagram queue (queue-full drops certain)
# and with GoFlow2's default queue (drops only if the kernel's socket buffers
# overflow).  The written protobuf stream holds exactly the records counted.
set -u
coll=${FLOWCOLLECTOR:-build/flowcollector}
loadgen=${LOADGEN:-build/loadgen}
for t in python3 curl; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$loadgen" ] || { echo "SKIP: $loadgen not built"; exit 77; }
tmp=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
R=20
MSGS=${FK_LOAD_MESSAGES:-6000} # per exporter

metric() { curl -s "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'; }

run() { # name listen-options
    local name=$1 opts=$2 p hp c
    p=$((20000 + RANDOM % 30000))
    "$coll" -listen "netflow://127.0.0.1:$p?count=2&workers=2$opts" -addr 127.0.0.1:0 -format bin \
        -transport.file.sep '' -transport.file "$tmp/$name.bin" 2>"$tmp/$name.err" &
    c=$!
    for _ in $(seq 100); do
        hp=$(sed -n 's/.*HTTP on port \([0-9]*\).*/\1/p' "$tmp/$name.err")
        [ -n "$hp" ] && ss -Huln "sport = :$p" | grep -q . && break
        sleep 0.05
    done
    rm -f "$tmp/go"
    mkfifo "$tmp/go"
    "$loadgen" -p "$p" -e 4 -r $R -n "$MSGS" -w <"$tmp/go" >"$tmp/$name.gen" &
    local lg=$!
    exec 3>"$tmp/go"
    local learned=0
    for _ in $(seq 20); do
        sleep 0.1
        learned=$(metric "$hp" flowkit_collector_templates)
        [ "$learned" = 8 ] && break
        echo again >&3 # a template message was lost: resend before the blast
    done
    [ "$learned" = 8 ] && ok || bad "$name: $learned of 8 templates learned before the blast"
    echo go >&3
    exec 3>&-
    wait $lg
    # drained: the receive counter stops moving
    local last=-1 now
    for _ in $(seq 100); do
        now=$(metric "$hp" flowkit_collector_datagrams_total)
        [ "$now" = "$last" ] && break
        last=$now
        sleep 0.2
    done
    kill -TERM $c; wait $c
    local sent recs qd kd lost written
    sent=$(sed -n 's/.*data messages, \([0-9]*\) records sent/\1/p' "$tmp/$name.gen")
    local sum; sum=$(grep '^flowcollector: [0-9]* datagrams' "$tmp/$name.err")
    recs=$(sed -n 's/.* datagrams, \([0-9]*\) records written.*/\1/p' <<<"$sum")
    qd=$(sed -n 's/.*dropped \([0-9]*\) (queue full).*/\1/p' <<<"$sum")
    kd=$(sed -n 's/.* + \([0-9]*\) (kernel).*/\1/p' <<<"$sum")
    lost=$(sed -n 's/.* \([0-9]*\) lost by sequence; sflow.*/\1/p' <<<"$sum")
    written=$(python3 - "$tmp/$name.bin" <<'PY'
import sys
d = open(sys.argv[1], "rb").read(); i = n = 0
while i < len(d):
    l = s = 0
    while True:
        b = d[i]; i += 1; l |= (b & 0x7f) << s; s += 7
        if b < 0x80: break
    i += l; n += 1
print(n if i == len(d) else -1)
PY
)
    echo "$name: sent $sent records; written $recs; dropped $qd (queue full) + $kd (kernel) datagrams; lost by sequence $lost"
    [ -n "$sent" ] && [ "$sent" -gt 0 ] || { bad "$name: loadgen sent nothing: $(cat "$tmp/$name.gen")"; return; }
    [ "$sent" = "$((recs + R * (qd + kd)))" ] && ok ||
        bad "$name: $sent sent != $recs written + $R x ($qd + $kd) dropped"
    [ "$lost" = "$((R * (qd + kd)))" ] && ok || bad "$name: $lost lost by sequence, want $((R * (qd + kd)))"
    [ "$written" = "$recs" ] && ok || bad "$name: the file holds $written records, the summary says $recs"
    grep -q ' 0 without template' <<<"$sum" && ok || bad "$name: data without template: $sum"
    if [ "$name" = small ]; then
        [ "$qd" -gt 0 ] && ok || bad "small: a 256-datagram queue dropped nothing at full speed"
    fi
}

run small "&queue_size=256"
run default ""

echo "collector/load: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
