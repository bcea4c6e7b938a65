#!/usr/bin/env bash
# flowprobe's command line and outputs from the outside: help, errors that say
# what to do, the three text outputs agreeing with each other, BPF filters,
# -c, pcapng input, and damaged or garbage files handled without a crash.
set -u
probe=${FLOWPROBE:-build/flowprobe}
gen=${GENPCAP:-build/genpcap}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# expect_ok DESC CMD...: exit 0
expect_ok() { local d=$1; shift; if "$@" >"$tmp/o" 2>"$tmp/e"; then ok; else bad "$d (exit $?): $(head -3 "$tmp/e")"; fi; }
# expect_err DESC PATTERN CMD...: non-zero exit and stderr matching PATTERN
expect_err() {
    local d=$1 pat=$2; shift 2
    if "$@" >"$tmp/o" 2>"$tmp/e"; then bad "$d: exited 0"; return; fi
    if grep -Eq -- "$pat" "$tmp/e"; then ok; else bad "$d: stderr lacks /$pat/: $(head -3 "$tmp/e")"; fi
}

"$gen" -n 5000 -f 400 -s 3 "$tmp/s.pcap" 2>/dev/null || { echo "genpcap failed"; exit 1; }
cap="pcap;file=$tmp/s.pcap"

# --- help and version
expect_ok "-V" "$probe" -V
grep -q '^flowprobe (flowkit) [0-9]' "$tmp/o" && ok || bad "-V output: $(cat "$tmp/o")"
for h in "" input storage output process pcap cache csv json text; do
    expect_ok "-h $h" "$probe" -h $h
done
expect_ok "--help=output" "$probe" --help=output
grep -q 'file=PATH' "$tmp/o" && ok || bad "--help=output lacks file=PATH"
expect_err "-h bogus" "no help for 'bogus'" "$probe" -h bogus

# --- errors say what to do
expect_err "no input" "use -i 'pcap;file=" "$probe"
expect_err "unknown input" "no such input plugin.*-h input" "$probe" -i 'nosuch;x=1'
expect_err "unknown output" "no such output plugin" "$probe" -i "$cap" -o nosuch
expect_err "unknown plugin" "no such processing plugin" "$probe" -i "$cap" -p nosuch
expect_err "unknown cache key" "unknown option 'zz'.*expected one of" "$probe" -i "$cap" -s 'cache;zz=1'
expect_err "bad number" "expected a number in \[4, 30\]" "$probe" -i "$cap" -s 'cache;s=2'
expect_err "unknown storage" "no such storage plugin" "$probe" -i "$cap" -s 'hash'
expect_err "missing file" "cannot read" "$probe" -i "pcap;file=$tmp/none.pcap"
expect_err "pcap without file" "no file or interface given" "$probe" -i 'pcap'
expect_err "bad filter" "bad filter" "$probe" -i "$cap;filter=tcp port banana"
expect_err "p= names a disabled plugin" "not enabled; add -p http" "$probe" -i "$cap" -o 'csv;p=http'
expect_err "stray argument" "unexpected argument" "$probe" -i "$cap" stray
expect_err "unknown long option" "unknown option" "$probe" --bogus
expect_err "unwritable output" "cannot write" "$probe" -i "$cap" -o "csv;file=$tmp/no/such/dir.csv"
printf 'this is not a capture file at all, just text\n' >"$tmp/garbage.pcap"
expect_err "garbage file" "cannot read" "$probe" -i "pcap;file=$tmp/garbage.pcap"

# --- configuration errors exit with status 2 and say what is wrong
expect_status2() { # DESC PATTERN CMD...
    local d=$1 pat=$2; shift 2
    "$@" >"$tmp/o" 2>"$tmp/e"; local rc=$?
    if [ $rc -ne 2 ]; then bad "$d: exit $rc, want 2"; return; fi
    if grep -Eq -- "$pat" "$tmp/e"; then ok; else bad "$d: stderr lacks /$pat/: $(head -3 "$tmp/e")"; fi
}
expect_status2 "ipfix port" "-o ipfix: option 'p'.*\[1, 65535\].*99999" "$probe" -i "$cap" -o 'ipfix;p=99999'
expect_status2 "ipfix unknown key" "unknown option 'zz'" "$probe" -i "$cap" -o 'ipfix;zz=1'
expect_status2 "ipfix mtu < record" "mtu=100 is smaller than a message with one record" \
    "$probe" -i "$cap" -o 'ipfix;m=100'
expect_status2 "ipfix udp+lz4" "not supported with udp" "$probe" -i "$cap" -o 'ipfix;u;c'
expect_status2 "cache key" "unknown option" "$probe" -i "$cap" -s 'cache;zz'
expect_status2 "-Q 0" "option '-Q'" "$probe" -Q 0 -i "$cap"
expect_status2 "-b too big" "option '-b'.*\[1, 1024\]" "$probe" -b 5000 -i "$cap"
expect_status2 "-B too small" "option '-B'" "$probe" -B 10 -i "$cap"
expect_status2 "--pin garbage" "--pin x: expected a comma-separated list" "$probe" --pin x -i "$cap"
expect_status2 "-t not a dir" "-t .*not a writable directory" "$probe" -t "$tmp/nodir" -i "$cap"
expect_status2 "raw without ifc" "raw: no interface given" "$probe" -i 'raw'
expect_status2 "raw unknown ifc" "raw: no interface 'nosuch0'" "$probe" -i 'raw;ifc=nosuch0'
expect_status2 "raw blocks not pow2" "blocks=3 must be a power of two" "$probe" -i 'raw;ifc=lo;blocks=3'
expect_status2 "pcap file and ifc" "either file= or ifc=" "$probe" -i "$cap;ifc=lo"
expect_status2 "pcap snaplen" "snaplen" "$probe" -i 'pcap;ifc=lo;snaplen=10'
expect_ok "-h raw" "$probe" -h raw
grep -q 'f, fanout\[=ID\]' "$tmp/o" && ok || bad "-h raw lacks the optional fanout id: $(cat "$tmp/o")"

# --- --config: long options from a file, then the command line's
printf '# comment\n\ninput %s\nstorage cache;a=60\noutput csv;file=%s\n' "$cap" "$tmp/cfg.csv" >"$tmp/ok.conf"
expect_ok "--config" "$probe" --config "$tmp/ok.conf" -o "json;file=$tmp/cfg.json"
[ -s "$tmp/cfg.csv" ] && [ -s "$tmp/cfg.json" ] && ok || bad "--config: outputs from the file and the command line"
printf 'input %s\nbogus 1\n' "$cap" >"$tmp/bad.conf"
expect_status2 "--config unknown option" "bad.conf:2: unknown option 'bogus'" "$probe" --config "$tmp/bad.conf"
printf 'input\n' >"$tmp/bad2.conf"
expect_status2 "--config missing value" "bad2.conf:1: option 'input' needs a value" "$probe" --config="$tmp/bad2.conf"
expect_status2 "--config missing file" "--config .*No such file" "$probe" --config "$tmp/none.conf"

# --- -d: into the background, pid file, flows written, pid file removed at the end
expect_ok "-d" "$probe" -d -P "$tmp/d.pid" -i "$cap" -o "csv;file=$tmp/d.csv"
for _ in $(seq 100); do [ -s "$tmp/d.csv" ] && [ ! -e "$tmp/d.pid" ] && break; sleep 0.05; done
"$probe" -i "$cap" -o "csv;file=$tmp/nd.csv" 2>/dev/null
cmp -s "$tmp/d.csv" "$tmp/nd.csv" && ok || bad "-d: other flows than in the foreground"
[ ! -e "$tmp/d.pid" ] && ok || bad "-d: pid file left behind"

expect_ok "-h ipfix" "$probe" -h ipfix
grep -q 'lz4-compression' "$tmp/o" && ok || bad "-h ipfix lacks lz4-compression"

# --- outputs agree: same flows in csv, json and text
expect_ok "csv" "$probe" -i "$cap" -o "csv;file=$tmp/f.csv"
expect_ok "json" "$probe" -i "$cap" -o "json;file=$tmp/f.json"
expect_ok "text" "$probe" -i "$cap" -o "text;file=$tmp/f.txt"
nflows=$(($(wc -l <"$tmp/f.csv") - 1))
[ "$nflows" -gt 100 ] && ok || bad "only $nflows flows from the sample"
[ "$(wc -l <"$tmp/f.json")" -eq "$nflows" ] && ok || bad "json has $(wc -l <"$tmp/f.json") lines, csv $nflows flows"
[ "$(($(wc -l <"$tmp/f.txt") - 1))" -eq "$nflows" ] && ok || bad "text line count"
csvsum=$(awk -F, 'NR>1 { p += $10 + $11; b += $3 + $4 } END { print p, b }' "$tmp/f.csv")
jsonsum=$(python3 -c '
import json, sys
p = b = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    for k in ("src_addr", "dst_addr", "src_port", "dst_port", "proto", "time_flow_start_ns",
              "time_flow_end_ns", "src_mac", "dst_mac", "tcp_flags", "bytes_rev", "packets_rev"):
        assert k in o, k
    p += o["packets"] + o["packets_rev"]; b += o["bytes"] + o["bytes_rev"]
print(p, b)' "$tmp/f.json") && ok || bad "json is not valid JSON lines with GoFlow2 names"
[ "$csvsum" = "$jsonsum" ] && ok || bad "csv totals '$csvsum' != json totals '$jsonsum'"
# Every plugin column agrees between csv and json with all plugins on (csv
# then compiles row shapes for more than 8 plugins: a shape printing another
# plugin's columns, or a record's columns as empty, shows here).
allp=$("$probe" -h process 2>&1 | awk '/^Processing plugin: /{print "-p " $3}' | tr '\n' ' ')
[ "$(echo "$allp" | wc -w)" -ge 40 ] && ok || bad "-h process lists $(($(echo "$allp" | wc -w) / 2)) plugins"
# shellcheck disable=SC2086 # one word per option
expect_ok "all plugins, csv and json at once" "$probe" -i "$cap" $allp \
    -o "csv;file=$tmp/all.csv" -o "json;file=$tmp/all.json"
python3 - "$tmp/all.csv" "$tmp/all.json" >"$tmp/cmp" 2>&1 <<'PY' && ok || bad "csv and json disagree with all plugins: $(head -5 "$tmp/cmp")"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
objs = [json.loads(l) for l in open(sys.argv[2])]
head = [h.split(" ", 1) for h in rows[0]]
# Names two plugins share (dns and passivedns: DNS_ID, DNS_NAME, DNS_RR_TTL)
# are two csv columns but one json key: not comparable.
dup = {n for t, n in head if sum(1 for _, m in head if m == n) > 1}
# json: one object per flow, a plugin with several records as a list of
# objects under its name; csv: one row per record index (row r: record r).
i = 1
checked = filled = 0
for o in objs:
    lists = [v for v in o.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
    n = max([len(v) for v in lists] or [1])
    for r in range(n):
        row = rows[i]
        i += 1
        recs = [l[r] for l in lists if r < len(l)] + ([o] if r == 0 else [])
        for (typ, name), v in zip(head, row):
            k = name.lower()
            src = [x for x in recs if k in x]
            if not src or name in dup or typ in ("time", "time*", "ipaddr", "macaddr", "bytes"):
                continue  # basic columns have GoFlow2 names in json; times differ in form
            j = src[0][k]
            if typ.endswith("*"):
                got = [] if v == "[]" else v[1:-1].split("|")
                want = [str(x) for x in j]
            elif typ in ("float", "double"):
                got, want = float(v), float(j)
            else:
                got, want = v, str(j)
            assert got == want, "row %d %s: csv %r json %r" % (i - 1, name, v, j)
            checked += 1
            filled += got not in ("", [], "0", 0.0)
assert i == len(rows), "%d csv rows, %d matched to json" % (len(rows) - 1, i - 1)
assert checked > 1000 and filled > 100, (checked, filled)
PY
expect_ok "text;m" "$probe" -i "$cap" -o 'text;m'
grep -q 'SRC_MAC' "$tmp/o" && bad "text;m still shows MACs" || ok
head -1 "$tmp/f.txt" | grep -q 'SRC_IP' && ok || bad "text header"

# --- stdout default, multiple outputs
expect_ok "-b 1 -B 200 (file input unaffected)" "$probe" -b 1 -B 200 -i "$cap" -o "csv;file=$tmp/b1.csv"
cmp -s "$tmp/b1.csv" "$tmp/f.csv" && ok || bad "-b 1 changes the flows"
expect_ok "two inputs, two workers" "$probe" -i "$cap" -i "$cap" -o "csv;file=$tmp/two.csv" --pin 0,0,0
[ "$(($(wc -l <"$tmp/two.csv") - 1))" -eq $((2 * nflows)) ] && ok || bad "two inputs: $(wc -l <"$tmp/two.csv") lines"
[ "$(grep -c ': 5000 packets' "$tmp/e")" = 2 ] && ok || bad "two inputs: summaries $(cat "$tmp/e")"
# The smallest output queues: the worker lends at most one or two records at
# a time and waits for room (the output thread must not nap meanwhile).
for q in 1 2; do
    expect_ok "-Q $q" timeout 60 "$probe" -Q $q -p http -p dns -p tls -i "$cap" -o "csv;file=$tmp/q$q.csv"
    grep -q 'backpressure' "$tmp/e" && ok || bad "-Q $q: no backpressure reported: $(cat "$tmp/e")"
done
expect_ok "-Q default, plugins" "$probe" -p http -p dns -p tls -i "$cap" -o "csv;file=$tmp/qd.csv"
cmp -s "$tmp/q1.csv" "$tmp/qd.csv" && cmp -s "$tmp/q2.csv" "$tmp/qd.csv" && ok || bad "-Q 1/2 change the flows"
grep -q 'worker used [0-9.]* s of CPU ([0-9]* packets/s)' "$tmp/e" && ok || bad "no worker CPU in the summary: $(cat "$tmp/e")"
expect_ok "two outputs" "$probe" -i "$cap" -o "csv;file=$tmp/a.csv" -o "json;file=$tmp/a.json"
cmp -s "$tmp/a.csv" "$tmp/f.csv" && ok || bad "second run differs (not deterministic?)"

# --- BPF filter and -c
expect_ok "filter udp" "$probe" -i "$cap;filter=udp" -o csv
awk -F, 'NR>1 && $15 != 17 { bad = 1 } END { exit bad }' "$tmp/o" && ok || bad "filter=udp let other protocols through"
grep -q 'filtered out' "$tmp/e" && ok || bad "summary does not count filtered packets"
expect_ok "-c 100" "$probe" -c 100 -i "$cap" -o csv
grep -q ': 100 packets' "$tmp/e" && ok || bad "-c 100: $(cat "$tmp/e")"
awk -F, 'NR>1 { p += $10 + $11 } END { exit !(p <= 100) }' "$tmp/o" && ok || bad "-c 100 exported more packets"

# --- pcapng and nanosecond pcap read as the same flows
if command -v editcap >/dev/null; then
    editcap -F pcapng "$tmp/s.pcap" "$tmp/s.pcapng" && \
        expect_ok "pcapng" "$probe" -i "pcap;file=$tmp/s.pcapng" -o csv && \
        { cmp -s "$tmp/o" "$tmp/f.csv" && ok || bad "pcapng gives other flows than pcap"; }
    editcap -F nsecpcap "$tmp/s.pcap" "$tmp/s.ns.pcap" && \
        expect_ok "nsec pcap" "$probe" -i "pcap;file=$tmp/s.ns.pcap" -o csv && \
        { cmp -s "$tmp/o" "$tmp/f.csv" && ok || bad "nanosecond pcap gives other flows"; }
    expect_ok "stdin" sh -c "cat '$tmp/s.pcap' | '$probe' -i 'pcap;file=-' -o csv"
    cmp -s "$tmp/o" "$tmp/f.csv" && ok || bad "stdin gives other flows"
else
    echo "note: editcap missing, pcapng check skipped"
fi

# --- a file cut in the middle of a record: warn, keep what was read, exit 0
size=$(stat -c %s "$tmp/s.pcap")
head -c $((size / 2 + 7)) "$tmp/s.pcap" >"$tmp/cut.pcap"
expect_ok "truncated file" "$probe" -i "pcap;file=$tmp/cut.pcap" -o csv
grep -q 'truncated' "$tmp/e" && ok || bad "truncated file not reported: $(cat "$tmp/e")"
grep -q 'damaged records' "$tmp/e" && ok || bad "summary does not count the damaged record"
# a record header that claims 1 GB
python3 - "$tmp/s.pcap" "$tmp/bogus.pcap" <<'PY'
import sys, struct
d = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<I', d, 24 + 8, 1 << 30)
open(sys.argv[2], 'wb').write(d)
PY
expect_ok "bogus record length" "$probe" -i "pcap;file=$tmp/bogus.pcap" -o csv
grep -q 'damaged' "$tmp/e" && ok || bad "bogus record length not reported"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
