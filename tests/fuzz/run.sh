#!/bin/bash
# Builds the libFuzzer targets with clang, ASan and UBSan, and runs them.
#   run.sh [SECONDS]   (default 60)
# Prints "fuzz: N runs, no crash" or the crash, and exits non-zero on one.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
build=$repo/build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" "$repo" -Dfuzz=true -Dtests=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$build" > "$build/ninja.log" 2>&1 || { cat "$build/ninja.log"; exit 1; }
# The time is shared by the targets: /dev/ioasid's commands, an emulated
# device's, a forwarded device's.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
summary=()
# Inputs that once crashed a target (tests/fuzz/regressions/TARGET) are read
# as a second corpus: each runs first, and new finds go to the first.
for target in dispatch device forward; do
    corpus=$build/corpus-$target
    mkdir -p "$corpus"
    regressions=()
    [ -d "$repo/tests/fuzz/regressions/$target" ] && regressions=("$repo/tests/fuzz/regressions/$target")
    log=$build/fuzz-$target.log
    if "$build/tests/fuzz/fuzz-$target" -max_total_time="$((secs / 3))" -print_final_stats=1 \
            -artifact_prefix="$build/$target-" "$corpus" "${regressions[@]}" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        summary+=("$target ${runs:-?} runs")
    else
        tail -60 "$log"
        echo "fuzz: fuzz-$target crashed; reproducer in $build/$target-crash-*"
        exit 1
    fi
done
echo "fuzz: ${summary[*]} in ${secs}s, no crash"
