#!/usr/bin/env bash
# run.sh FUZZER CORPUS_DIR SECONDS
#
# Run a libFuzzer binary for SECONDS on a scratch copy of its seed corpus (the
# fuzzer adds inputs to the corpus it is given; the checked-in seeds must stay
# as they are), print how many inputs it executed, and fail on any crash, leak
# or timeout.  Crash inputs are kept (path printed) in
# $FK_FUZZ_ARTIFACTS, else $FK_BUILD/fuzz-artifacts, else ./fuzz-artifacts.
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 FUZZER CORPUS_DIR SECONDS" >&2
    exit 2
fi
fuzzer=$1
corpus=$2
seconds=$3
name=$(basename "$fuzzer")

if [ ! -x "$fuzzer" ]; then
    echo "$name: not an executable: $fuzzer" >&2
    exit 2
fi
case $seconds in
'' | *[!0-9]*)
    echo "$name: SECONDS must be a whole number, got '$seconds'" >&2
    exit 2
    ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/fk-fuzz-$name.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/artifacts"
if [ -d "$corpus" ]; then
    cp -R "$corpus"/. "$work/corpus/"
else
    echo "$name: no seed corpus at $corpus, starting empty" >&2
fi
seeds=$(find "$work/corpus" -type f | wc -l)

start=$SECONDS
"$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
rc=$?
elapsed=$((SECONDS - start))

execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/log" | tail -n 1)
if [ -z "$execs" ]; then # killed before the final stats: use the last status line
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$work/log" | tail -n 1)
fi
echo "$name: ${execs:-0} executions in ${elapsed}s (limit ${seconds}s) from $seeds seeds" \
    "($(find "$work/corpus" -type f | wc -l) inputs in the corpus now)"

crashes=$(find "$work/artifacts" -type f | sort)
if [ "$rc" -eq 0 ] && [ -z "$crashes" ]; then
    exit 0
fi

# Keep the evidence outside the scratch directory before it is removed.
keep=${FK_FUZZ_ARTIFACTS:-${FK_BUILD:+$FK_BUILD/fuzz-artifacts}}
keep=${keep:-$PWD/fuzz-artifacts}/$name
mkdir -p "$keep"
echo "$name: FAILED (exit $rc); fuzzer output from the first error:" >&2
first=$(grep -n -m 1 -E 'ERROR|invariant failed|runtime error|Deadly signal' "$work/log" |
    cut -d: -f1)
if [ -n "$first" ]; then
    tail -n "+$first" "$work/log" | head -n 60 >&2
else
    tail -n 40 "$work/log" >&2
fi
for f in $crashes; do
    cp "$f" "$keep/"
    echo "$name: crash input kept at $keep/$(basename "$f")" >&2
    echo "$name: reproduce with: $fuzzer $keep/$(basename "$f")" >&2
done
[ "$rc" -ne 0 ] || rc=1
exit "$rc"
