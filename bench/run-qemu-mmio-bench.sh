#!/bin/bash
# MMIO and a 4 KiB DMA as QEMU 10 sees them (issue 18): its built-in edu
# against ioasidd's emulated edu through libioasid-preload.so, two QEMUs
# under qtest in one VM on Debian's 6.1, alternating blocks.
#   run-qemu-mmio-bench.sh [BUILD_DIR] [READS] [DMAS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
out=$build/bench-results-qemu-mmio
rm -rf "$out" && mkdir -p "$out"
"$repo/tests/vm/fetch-qemu10.sh" > "$out/qemu10.path"
"$repo/tests/vm/run-in-vm.sh" --kernel "${IOASID_BENCH_KERNEL:-deb61}" --share "$out" -- \
    "$repo/bench/guest-qemu-mmio-bench.sh" "$build" "$out" "${2:-2000}" "${3:-10}" > "$out/vm.log" 2>&1
cat "$out/qemu-mmio.txt"
