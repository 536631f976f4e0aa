#!/bin/bash
# The VM benchmark of the /dev/ioasid issue, in one VM run on the reference
# kernel (which has CUSE and the real /dev/iommu): ioasidd vs the minimal
# CUSE node (a)/(b) vs the kernel, and ioasidd's round trips per ioctl.
#   run-vm-bench.sh [BUILD_DIR] [ITERATIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
iters=${2:-2000}
out=$build/bench-results
rm -rf "$out" && mkdir -p "$out"
"$repo/tests/vm/run-in-vm.sh" --kernel "${IOASID_BENCH_KERNEL:-ref}" --share "$out" -- \
    env IOASIDD_ARGS="${IOASIDD_ARGS:-}" "$repo/bench/guest-bench.sh" "$build" "$out" "$iters"
cat "$out/bench.txt"
python3 - "$out/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["ioasid"]
for name in ("IOAS_MAP", "IOAS_UNMAP"):
    c = s[name]
    print(f"bench: ioasidd {name}: {c['round_trips'] / c['calls']:.2f} round trips per ioctl "
          f"over {c['calls']} calls, mean {c['mean_us']:.1f} us inside the daemon")
PY
