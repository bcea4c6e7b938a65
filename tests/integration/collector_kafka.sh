#!/usr/bin/env bash
# flowcollector's Kafka transport against librdkafka's mock cluster, read back
# by a real consumer (kcat):
#  A  JSON, -transport.kafka.hashing with key fields src_addr,dst_port, the
#     in-process mock (-transport.kafka.mock 3, 6 partitions): every record
#     arrives once, equal to what the file transport writes for the same
#     export; each message's key is FNV-1 of Go's %v text of the key fields
#     and its partition sarama's hash partitioner of that key, both computed
#     here in Python from the record itself;
#  B  bin (length-delimited protobuf), zstd-compressed batches, no hashing:
#     round-robin over the partitions, no key, every message one
#     varint-prefixed FlowMessage whose fields match the JSON records;
#  C  a broker of an external mock cluster (tests/tools/kafkamock) fails
#     mid-run and stays down until the collector has stopped: nothing
#     acknowledged is lost (what kcat reads = what the collector counted
#     delivered), what was not is counted failed (librdkafka keeps records
#     for a partition whose leader is down queued; the stop purges them), and
#     delivered + failed = records;
#  D  SIGTERM right after the export, with GoFlow2's 5 s flush frequency: the
#     queued records are flushed before exit;
#  E  brokers unreachable with -transport.kafka.queue.max 20: the queue holds
#     20, the overflow is counted and reported, the 20 are counted failed at
#     exit; nothing unaccounted;
#  F  configuration: SASL (the mock has no SASL handshake: the client is
#     shown to attempt it with the right mechanism), TLS file errors.
set -u
coll=${FLOWCOLLECTOR:-build/flowcollector}
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
mock=${KAFKAMOCK:-build/kafkamock}
for t in kcat python3 curl; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$mock" ] || { echo "SKIP: $mock not built"; exit 77; }
tmp=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

port() { echo $((20000 + RANDOM % 30000)); }
wait_udp() { for _ in $(seq 100); do ss -Huln "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }
http_port() { # stderr-file: the port the collector's HTTP server logged
    for _ in $(seq 100); do
        local p; p=$(sed -n 's/.*HTTP on port \([0-9]*\).*/\1/p' "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.05
    done
    return 1
}
metric() { # http-port name{labels}: the sample's value (0 when absent)
    curl -s "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}
wait_metric() { # http-port series value: until the series reaches value (10 s)
    for _ in $(seq 200); do
        [ "$(metric "$1" "$2")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
export_to() { # udp-port: flowprobe's IPFIX export of the sample capture
    "$probe" -i "pcap;file=$tmp/s.pcap" -o "ipfix;u;h=127.0.0.1;p=$1" 2>/dev/null
}
consume() { # bootstrap topic out: every message, binary-safe: "partition,keylen,len:" key payload
    timeout 30 kcat -C -b "$1" -t "$2" -e -q -f '%p,%K,%S:%k%s' >"$3" 2>"$3.err"
}

"$gen" -n 4000 -f 300 -s 4 "$tmp/s.pcap" 2>/dev/null
n=$("$probe" -i "pcap;file=$tmp/s.pcap" -o csv 2>/dev/null | tail -n +2 | wc -l)
[ "$n" -gt 100 ] || { echo "FAIL: the sample capture has only $n flows"; exit 1; }

# The file transport's records for the same export: the reference.
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" -addr "" -transport.file "$tmp/ref.json" 2>"$tmp/ref.err" &
c=$!
wait_udp $p
export_to $p
sleep 0.5
kill -TERM $c; wait $c
[ "$(wc -l <"$tmp/ref.json")" = "$n" ] && ok || bad "reference: $(wc -l <"$tmp/ref.json") records, want $n"

# --- A: JSON, hashing on src_addr,dst_port, in-process mock of 3 brokers
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" -addr 127.0.0.1:0 -transport kafka \
    -transport.kafka.mock 3 -transport.kafka.mock.partitions 6 -transport.kafka.flushfreq 20ms \
    -transport.kafka.hashing -transport.kafka.key src_addr,dst_port 2>"$tmp/a.err" &
c=$!
wait_udp $p
hp=$(http_port "$tmp/a.err")
bs=$(sed -n 's/.*bootstrap servers: //p' "$tmp/a.err")
[ -n "$bs" ] && [ -n "$hp" ] && ok || bad "A: no bootstrap servers / HTTP port logged: $(head -3 "$tmp/a.err")"
export_to $p
wait_metric "$hp" 'flowkit_collector_transport_messages_total{result="delivered",transport="kafka"}' "$n" &&
    ok || bad "A: delivered $(metric "$hp" 'flowkit_collector_transport_messages_total{result="delivered",transport="kafka"}'), want $n"
consume "$bs" flow-messages "$tmp/a.out"
kill -TERM $c; wait $c; rc=$?
[ $rc -eq 0 ] && ok || bad "A: collector exit $rc"
grep -q "transport kafka: $n records, $n delivered, 0 failed, 0 dropped" "$tmp/a.err" && ok ||
    bad "A: summary: $(grep 'transport kafka' "$tmp/a.err")"
if out=$(python3 - "$tmp/a.out" "$tmp/ref.json" 6 <<'PY'
import ipaddress, json, math, sys
data = open(sys.argv[1], "rb").read()
ref = [json.loads(l) for l in open(sys.argv[2])]
nparts = int(sys.argv[3])
msgs, i = [], 0
while i < len(data):
    j = data.index(b":", i)
    part, klen, vlen = (int(x) for x in data[i:j].split(b","))
    i = j + 1
    key = data[i:i + max(klen, 0)]; i += max(klen, 0)
    val = data[i:i + vlen]; i += vlen
    msgs.append((part, key if klen >= 0 else None, val))
def gov(v):  # Go's %v of a FlowMessage field as stored
    if isinstance(v, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in v) + "]"
    return str(v)
def fnv1(b):
    h = 0x811c9dc5
    for x in b:
        h = (h * 0x01000193) & 0xffffffff; h ^= x
    return h
def fnv1a(b):
    h = 0x811c9dc5
    for x in b:
        h ^= x; h = (h * 0x01000193) & 0xffffffff
    return h
def sarama(key, n):  # int32(h) % n truncated toward zero, negated when negative
    h = fnv1a(key); h = h - (1 << 32) if h >= 1 << 31 else h
    return abs(int(math.fmod(h, n)))
errs, used = [], set()
recs = []
for part, key, val in msgs:
    r = json.loads(val)
    recs.append(r)
    addr = ipaddress.ip_address(r["src_addr"]).packed if r["src_addr"] else b""
    want = fnv1((gov(addr) + gov(r["dst_port"])).encode()).to_bytes(4, "big")
    if key != want:
        errs.append("key %r, want %r for %s:%s" % (key, want, r["src_addr"], r["dst_port"]))
    if part != sarama(want, nparts):
        errs.append("partition %d, want %d" % (part, sarama(want, nparts)))
    used.add(part)
strip = lambda r: json.dumps({k: v for k, v in r.items() if k != "time_received_ns"}, sort_keys=True)
got, exp = sorted(map(strip, recs)), sorted(map(strip, ref))
if got != exp:
    errs.append("records differ from the file transport's (%d vs %d)" % (len(got), len(exp)))
if len(used) < 3:
    errs.append("only partitions %s used" % sorted(used))
print("%d messages, partitions %s; %s" % (len(msgs), sorted(used), "; ".join(errs[:5]) or "ok"))
sys.exit(1 if errs else 0)
PY
); then ok; else bad "A: $out"; fi

# --- B: bin, round-robin, no key
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" -addr 127.0.0.1:0 -format bin -transport kafka \
    -transport.kafka.mock 1 -transport.kafka.mock.partitions 4 -transport.kafka.flushfreq 20ms \
    -transport.kafka.compression zstd 2>"$tmp/b.err" &
c=$!
wait_udp $p
hp=$(http_port "$tmp/b.err")
bs=$(sed -n 's/.*bootstrap servers: //p' "$tmp/b.err")
export_to $p
wait_metric "$hp" 'flowkit_collector_transport_messages_total{result="delivered",transport="kafka"}' "$n" &&
    ok || bad "B: not all delivered"
consume "$bs" flow-messages "$tmp/b.out"
kill -TERM $c; wait $c
if out=$(python3 - "$tmp/b.out" "$tmp/ref.json" 4 <<'PY'
import ipaddress, json, sys
data = open(sys.argv[1], "rb").read()
ref = [json.loads(l) for l in open(sys.argv[2])]
nparts = int(sys.argv[3])
def varint(b, i):
    v = s = 0
    while True:
        x = b[i]; i += 1; v |= (x & 0x7f) << s; s += 7
        if x < 0x80: return v, i
def fields(m):  # proto3 wire format: the scalar and bytes fields we compare
    f, i = {}, 0
    while i < len(m):
        tag, i = varint(m, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0: v, i = varint(m, i)
        elif wt == 2:
            l, i = varint(m, i); v = m[i:i + l]; i += l
        elif wt == 1: v = m[i:i + 8]; i += 8
        elif wt == 5: v = m[i:i + 4]; i += 4
        else: raise ValueError("wire type %d" % wt)
        f.setdefault(num, v)
    return f
counts, errs, got = [0] * nparts, [], []
i = 0
while i < len(data):
    j = data.index(b":", i)
    part, klen, vlen = (int(x) for x in data[i:j].split(b","))
    i = j + 1 + max(klen, 0)
    val = data[i:i + vlen]; i += vlen
    if klen != -1:
        errs.append("a key (%d bytes) without hashing or key fields" % klen)
    counts[part] += 1
    l, k = varint(val, 0)
    if k + l != len(val):
        errs.append("varint length %d + %d != message %d" % (k, l, len(val)))
        continue
    f = fields(val[k:])
    got.append((ipaddress.ip_address(f.get(6, b"")).exploded if 6 in f else "",
                f.get(21, 0), f.get(22, 0), f.get(9, 0), f.get(10, 0), f.get(20, 0)))
exp = [(ipaddress.ip_address(r["src_addr"]).exploded if r["src_addr"] else "", r["src_port"],
        r["dst_port"], r["bytes"], r["packets"], {"TCP": 6, "UDP": 17, "ICMP": 1}.get(r["proto"], -1))
       for r in ref]
if sorted(got) != sorted(exp):
    errs.append("protobuf fields differ from the JSON records")
if max(counts) - min(counts) > 1:
    errs.append("not round-robin: %s" % counts)
print("%d messages per partition %s; %s" % (sum(counts), counts, "; ".join(errs[:5]) or "ok"))
sys.exit(1 if errs else 0)
PY
); then ok; else bad "B: $out"; fi

# --- C, D: an external mock cluster (2 brokers, 4 partitions; broker 1 leads 0 and 2)
mkfifo "$tmp/ctl"
"$mock" 2 4 flows,flows2 <"$tmp/ctl" >"$tmp/mock.out" 2>&1 &
exec 3>"$tmp/ctl"
for _ in $(seq 50); do grep -q bootstrap "$tmp/mock.out" && break; sleep 0.1; done
bs=$(sed -n 's/^bootstrap: //p' "$tmp/mock.out")
ctl() { echo "$1" >&3; sleep 0.3; }
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" -addr 127.0.0.1:0 -transport kafka -transport.kafka.brokers "$bs" \
    -transport.kafka.topic flows -transport.kafka.flushfreq 10ms -transport.kafka.flush.timeout 1s \
    2>"$tmp/c.err" &
c=$!
wait_udp $p
hp=$(http_port "$tmp/c.err")
delivered='flowkit_collector_transport_messages_total{result="delivered",transport="kafka"}'
export_to $p
wait_metric "$hp" "$delivered" "$n" && ok || bad "C: first export not delivered: $(metric "$hp" "$delivered")"
ctl "down 1"
export_to $p
# round-robin: half of the second export goes to broker 2's partitions (1, 3)
wait_metric "$hp" "$delivered" "$((n + n / 2))" && ok || bad "C: broker 2's share not delivered: $(metric "$hp" "$delivered")"
sleep 0.3
kill -TERM $c; wait $c
ctl "up 1"
sum=$(grep 'transport kafka:' "$tmp/c.err")
d=$(sed -n 's/.* \([0-9]*\) delivered.*/\1/p' <<<"$sum")
f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$sum")
consume "$bs" flows "$tmp/c.out"
inkafka=$(grep -c '' < <(python3 -c '
import sys
d = open(sys.argv[1], "rb").read(); i = 0
while i < len(d):
    j = d.index(b":", i); p, k, l = (int(x) for x in d[i:j].split(b",")); i = j + 1 + max(k, 0) + l; print(p)' "$tmp/c.out"))
echo "C: $n + $n records; delivered $d, failed $f; kcat reads $inkafka"
[ "$((d + f))" = "$((2 * n))" ] && ok || bad "C: delivered $d + failed $f != $((2 * n))"
[ "${f:-0}" -gt 0 ] && ok || bad "C: no failure counted while broker 1 was down"
[ "$inkafka" = "$d" ] && ok || bad "C: kcat reads $inkafka messages, the collector counted $d delivered"
grep -q 'failed delivery' "$tmp/c.err" && ok || bad "C: delivery failures not reported"

# D: SIGTERM flushes what is queued (default 5 s flush frequency: nothing sent before the stop)
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" -addr "" -transport kafka -transport.kafka.brokers "$bs" \
    -transport.kafka.topic flows2 -format bin 2>"$tmp/d.err" &
c=$!
wait_udp $p
export_to $p
sleep 0.3
kill -TERM $c; wait $c; rc=$?
consume "$bs" flows2 "$tmp/d.out"
cnt=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read(); i = n = 0
while i < len(d):
    j = d.index(b":", i); p, k, l = (int(x) for x in d[i:j].split(b",")); i = j + 1 + max(k, 0) + l; n += 1
print(n)' "$tmp/d.out")
[ $rc -eq 0 ] && [ "$cnt" = "$n" ] && ok || bad "D: after SIGTERM kcat reads $cnt of $n (exit $rc): $(grep 'transport kafka' "$tmp/d.err")"
# F (needs a broker to talk to): SASL is negotiated with the configured
# mechanism; the mock has no SASL handshake, so the attempt is what shows.
p=$(port)
KAFKA_SASL_USER=u KAFKA_SASL_PASS=p "$coll" -listen "netflow://127.0.0.1:$p" -addr "" -transport kafka \
    -transport.kafka.brokers "$bs" -transport.kafka.sasl scram-sha512 -transport.kafka.log.err \
    -transport.kafka.flush.timeout 1s 2>"$tmp/f.err" &
c=$!
sleep 1.5
kill -TERM $c; wait $c
grep -q 'sasl_plaintext://.*SCRAM-SHA-512' "$tmp/f.err" && ok || bad "F: no SASL SCRAM-SHA-512 attempt: $(head -2 "$tmp/f.err")"
echo quit >&3
exec 3>&-

# --- E: brokers unreachable, bounded queue
p=$(port)
"$coll" -listen "netflow://127.0.0.1:$p" -addr "" -transport kafka -transport.kafka.brokers 127.0.0.1:9 \
    -transport.kafka.queue.max 20 -transport.kafka.flush.timeout 1s 2>"$tmp/e.err" &
c=$!
wait_udp $p
export_to $p
sleep 0.5
kill -TERM $c; wait $c
grep -q "transport kafka: $n records, 0 delivered, 20 failed, $((n - 20)) dropped (queue full), 0 unaccounted" "$tmp/e.err" &&
    ok || bad "E: $(grep 'transport kafka' "$tmp/e.err")"
grep -q 'dropped (local queue full)' "$tmp/e.err" && ok || bad "E: queue overflow not reported"

# --- F: TLS configuration errors
"$coll" -addr "" -transport kafka -transport.kafka.tls -transport.kafka.tls.ca "$tmp/missing.pem" \
    -listen "pcap://$tmp/none.pcap" >/dev/null 2>"$tmp/f2.err"
rc=$?
[ $rc -eq 2 ] && grep -q 'ssl.ca.location\|missing.pem' "$tmp/f2.err" && ok || bad "F: missing CA: exit $rc: $(head -2 "$tmp/f2.err")"
"$coll" -addr "" -transport kafka -transport.kafka.tls.ca x.pem -listen "pcap://$tmp/none.pcap" >/dev/null 2>"$tmp/f3.err"
rc=$?
[ $rc -eq 2 ] && ok || bad "F: tls.ca without tls: exit $rc"

echo "collector/kafka: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
