#!/bin/bash
# Builds the libFuzzer targets with clang, ASan and UBSan, and runs them:
# /dev/ioasid's commands, an emulated device's, a forwarded device's.
#
#   run.sh           the fixed pass (tests/run-all.sh, CI): per target, the
#                    inputs of tests/fuzz/regressions/TARGET, then each seed of
#                    $seeds for $runs runs from an empty corpus. No clock is
#                    involved (-reload=0: libFuzzer rereads its corpus every
#                    second otherwise) and no address moves (setarch -R: the
#                    comparisons libFuzzer learns from include pointers), so
#                    one commit always gets one answer.
#   run.sh SECONDS   open-ended fuzzing for developers (before a stop): a
#                    random seed, the time shared by the targets, the corpus
#                    kept in build-fuzz/corpus-TARGET. A find is kept with
#                    its fix in tests/fuzz/regressions/TARGET/.
#
# Prints "fuzz: ... no crash" last, or the crash and how to keep its input,
# and exits non-zero on one.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seeds=(1 2)
runs=40000
build=$repo/build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" "$repo" -Dfuzz=true -Dtests=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$build" > "$build/ninja.log" 2>&1 || { cat "$build/ninja.log"; exit 1; }
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

crashed() {  # target, log
    tail -60 "$2"
    local input
    input=$(ls -t "$build/$1"-crash-* "$build/$1"-leak-* "$build/$1"-timeout-* 2>/dev/null | head -1)
    echo "fuzz: fuzz-$1 failed on $input"
    echo "fuzz: keep it with its fix: cp '$input' tests/fuzz/regressions/$1/"
    exit 1
}

# One libFuzzer run: its arguments, then the corpora (the first takes new
# finds; the regression inputs, read as a second corpus, run first).
fuzz() {  # target, log, libFuzzer options and corpora...
    local target=$1 log=$2
    shift 2
    local regressions=()
    [ -d "$repo/tests/fuzz/regressions/$target" ] && regressions=("$repo/tests/fuzz/regressions/$target")
    ${fixed_address:+setarch "$(uname -m)" -R} "$build/tests/fuzz/fuzz-$target" -print_final_stats=1 -artifact_prefix="$build/$target-" \
        "$@" "${regressions[@]}" > "$log" 2>&1 || crashed "$target" "$log"
    sed -n 's/^stat::number_of_executed_units: *//p' "$log"
}

summary=()
fixed_address=
if [ $# = 0 ]; then
    fixed_address=1
    for target in dispatch device forward; do
        total=0
        for seed in "${seeds[@]}"; do
            corpus=$(mktemp -d "$build/corpus-fixed.XXXXXX")
            n=$(fuzz "$target" "$build/fuzz-$target-seed$seed.log" -seed="$seed" -runs="$runs" \
                -reload=0 "$corpus")
            rm -rf "$corpus"
            total=$((total + n))
        done
        summary+=("$target $total runs")
    done
    echo "fuzz: ${summary[*]} (seeds ${seeds[*]}, $runs runs each, after the regression inputs), no crash"
else
    secs=$1
    for target in dispatch device forward; do
        mkdir -p "$build/corpus-$target"
        n=$(fuzz "$target" "$build/fuzz-$target.log" -max_total_time="$((secs / 3))" \
            "$build/corpus-$target")
        summary+=("$target $n runs")
    done
    echo "fuzz: ${summary[*]} in ${secs}s, no crash"
fi
