#!/bin/bash
# MMIO to a forwarded device with its BAR mapped (issue 18), in one VM on
# Debian's 6.1 kernel with two QEMU edu devices: loads through the BAR of
# the edu ioasidd forwards, mapped through libioasid-preload.so, against
# loads through the BAR of the other edu opened directly on the legacy API,
# in alternating blocks; and the 4-byte pread the map replaces.
#   run-bar-bench.sh [BUILD_DIR] [ITERATIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
iters=${2:-20000}
out=$build/bench-results-bar
rm -rf "$out" && mkdir -p "$out"
"$repo/tests/vm/run-in-vm.sh" --kernel "${IOASID_BENCH_KERNEL:-deb61}" --iommu --edu --edu \
    --share "$out" -- "$repo/bench/guest-bar-bench.sh" "$build" "$out" "$iters" > "$out/vm.log"
cat "$out/bar.txt"
awk '{ v[$1] = $2 }
     END { printf "bench: mapped BAR load, forwarded / direct = %.2f (medians %.2f us vs %.2f us; target <= 1.1)\n",
           v["mapped-forwarded"] / v["mapped-direct"], v["mapped-forwarded"], v["mapped-direct"]
           printf "bench: the pread the map replaces: %.2f us, %.0fx a mapped load\n",
           v["pread-forwarded"], v["pread-forwarded"] / v["mapped-forwarded"] }' "$out/bar.txt"
