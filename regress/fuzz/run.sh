#!/bin/sh
# regress/fuzz/run.sh: runs libFuzzer harnesses for a while each, TAP output.
#
#   regress/fuzz/run.sh FUZZDIR SECONDS KEEPDIR NAME...
#
# Runs FUZZDIR/fuzz_NAME for SECONDS (wall clock) per harness, starting from
# the committed seeds in regress/fuzz/corpus/NAME (every seed is run first,
# so each one is also a regression test), with regress/fuzz/NAME.dict as a
# dictionary when there is one.  With KEEPDIR empty, the corpus is
# a temporary copy, removed at the end (the committed one is never written);
# otherwise new inputs accumulate in KEEPDIR/NAME between runs.  A crash,
# leak, sanitizer report, timeout or out-of-memory fails the harness; the
# input is saved under FUZZDIR/artifacts/NAME/ and the end of the log shown.
# Exit status: 0 when every harness passed.
set -u

cd "$(dirname "$0")/../.." || exit 2
fuzzdir=$1
secs=$2
keep=$3
shift 3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/corral-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "1..$#"
n=0
passed=0
failed=0
start=$(date +%s)
for name in "$@"; do
    n=$((n + 1))
    bin=$fuzzdir/fuzz_$name
    seeds=regress/fuzz/corpus/$name
    art=$fuzzdir/artifacts/$name
    mkdir -p "$art"
    if [ -z "$keep" ]; then
        corpus=$tmp/$name
        mkdir -p "$corpus"
        [ -d "$seeds" ] && cp -R "$seeds/." "$corpus/"
        dirs=$corpus
    else
        corpus=$keep/$name
        mkdir -p "$corpus"
        dirs="$corpus $seeds"
    fi
    log=$tmp/$name.log
    dict=
    [ -f "regress/fuzz/$name.dict" ] && dict=-dict=regress/fuzz/$name.dict
    # shellcheck disable=SC2086  # dirs is a list, dict empty or one word
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/" \
        -print_final_stats=1 $dict $dirs >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    nseeds=$(find "$seeds" -type f 2>/dev/null | wc -l)
    if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
        passed=$((passed + 1))
        echo "ok $n - fuzz_$name: ${runs} runs in ${secs} s from $nseeds seeds"
    else
        failed=$((failed + 1))
        echo "not ok $n - fuzz_$name: exit status $rc (artifacts in $art)"
        tail -n 40 "$log" | sed 's/^/#   /'
    fi
done
end=$(date +%s)
echo "# fuzz: $passed passed, $failed failed ($((end - start)) s)"
[ "$failed" -eq 0 ]
