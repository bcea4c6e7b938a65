#!/usr/bin/env bash
# Reproduce ipfixprobe's own functional tests byte for byte
# (../shared/conformance/ipfixprobe, see its README): for every line
# "<plugin> <capture>" of cases.txt run flowprobe and compare the sorted CSV
# with the sorted reference.  A case whose plugin is not compiled into
# flowprobe is reported as skipped, never as passed.  Exit 77 (skipped) when
# the shared folder is absent.
set -u
probe=${FLOWPROBE:-build/flowprobe}
shared=${FLOWKIT_SHARED:-../shared}
conf=$shared/conformance/ipfixprobe
if [ ! -f "$conf/cases.txt" ]; then
    echo "SKIP: $conf/cases.txt not found (set FLOWKIT_SHARED)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0 fail=0 skip=0 failed="" skipped=""
while read -r plugin pcap; do
    [ -n "${plugin:-}" ] || continue
    if [ "$plugin" = basic ]; then
        args=(-i "pcap;file=$conf/inputs/$pcap" -o csv)
    else
        if ! "$probe" -h "$plugin" >/dev/null 2>&1; then
            skip=$((skip + 1)); skipped="$skipped $plugin"
            continue
        fi
        args=(-i "pcap;file=$conf/inputs/$pcap" -p "$plugin" -o "csv;p=$plugin")
    fi
    if ! timeout 60 "$probe" "${args[@]}" >"$tmp/out" 2>"$tmp/err"; then
        echo "FAIL $plugin: flowprobe exited non-zero:"; sed 's/^/    /' "$tmp/err"
        fail=$((fail + 1)); failed="$failed $plugin"
        continue
    fi
    if LC_ALL=C sort "$tmp/out" | cmp -s - <(LC_ALL=C sort "$conf/outputs/$plugin"); then
        pass=$((pass + 1))
    else
        echo "FAIL $plugin ($pcap): output differs from outputs/$plugin:"
        diff <(LC_ALL=C sort "$conf/outputs/$plugin") <(LC_ALL=C sort "$tmp/out") | head -20 | sed 's/^/    /'
        fail=$((fail + 1)); failed="$failed $plugin"
    fi
done <"$conf/cases.txt"

echo "ipfixprobe conformance: $pass of $((pass + fail + skip)) cases match byte for byte," \
     "$fail differ, $skip skipped (plugin not built:${skipped:- none})"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
