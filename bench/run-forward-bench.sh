#!/bin/bash
# The VFIO forwarding benchmark (issue 4), in one VM on Debian's 6.1 kernel
# with two QEMU edu devices: IOAS_MAP+UNMAP of 2 MiB through ioasidd
# forwarding one, against VFIO_IOMMU_MAP_DMA+UNMAP_DMA on the other's
# container opened directly, in alternating blocks; prints the ratio of the
# medians, and the same ratio less what any two ioctls through ioasidd cost
# (the CUSE round trips), measured in the same run.
# IOASID_BENCH_ARGS: options for the daemon (say "--busy-poll-us 200").
#   run-forward-bench.sh [BUILD_DIR] [ITERATIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
iters=${2:-500}
out=$build/bench-results
mkdir -p "$out"
"$repo/tests/vm/run-in-vm.sh" --kernel "${IOASID_BENCH_KERNEL:-deb61}" --iommu --edu --edu \
    --share "$out" -- "$repo/bench/guest-forward-bench.sh" "$build" "$out" "$iters" "${IOASID_BENCH_ARGS:-}" >/dev/null
cat "$out/forward.txt"
awk '$1 == "direct" { d = $2 } $1 == "ioasidd" { f = $2 } $1 == "floor" { r = $2 }
     END { printf "bench: forwarding / direct = %.2f (medians %.1f us vs %.1f us per MAP+UNMAP of 2 MiB)\n",
           f / d, f, d
           printf "bench: two ioctls through ioasidd that do no work: %.1f us; forwarding less that floor / direct = %.2f\n",
           r, (f - r) / d }' "$out/forward.txt"
