#!/bin/bash
# Builds the libFuzzer target with clang, ASan and UBSan, and runs it.
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
corpus=$build/corpus
mkdir -p "$corpus"
log=$build/fuzz.log
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if "$build/tests/fuzz/fuzz-dispatch" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$build/" "$corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: ${runs:-?} runs in ${secs}s, no crash (corpus $(ls "$corpus" | wc -l) inputs)"
else
    tail -60 "$log"
    echo "fuzz: crash; reproducer in $build/crash-*"
    exit 1
fi
