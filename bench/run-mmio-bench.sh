#!/bin/bash
# MMIO to ioasidd's emulated edu through libioasid-preload.so against a bare
# CUSE round trip, in one VM run on Debian's 6.1 (issue 18).
#   run-mmio-bench.sh [BUILD_DIR] [ITERATIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
iters=${2:-5000}
out=$build/bench-results-mmio
rm -rf "$out" && mkdir -p "$out"
"$repo/tests/vm/run-in-vm.sh" --kernel "${IOASID_BENCH_KERNEL:-deb61}" --share "$out" -- \
    "$repo/bench/guest-mmio-bench.sh" "$build" "$out" "$iters"
cat "$out/mmio-bench.txt"
