#!/bin/bash
# A/B of two ioasidd builds on the forwarding benchmark, in one VM (Debian's
# 6.1, two QEMU edu devices): the daemons take turns, ROUNDS times, each
# serving forward-bench for ITERATIONS pairs. Under TCG the direct VFIO
# calls drift from block to block, so besides forward-bench's medians each
# block reports the daemon's own median time for IOAS_MAP and IOAS_UNMAP
# (its stats file), and the summary compares MAP less UNMAP: what the daemon
# adds to a MAP beyond the VFIO call pair's common cost.
#   run-forward-ab.sh BUILD_A BUILD_B [ROUNDS] [ITERATIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: run-forward-ab.sh BUILD_A BUILD_B [ROUNDS] [ITERATIONS]" >&2; exit 2; }
a=$(cd "$1" && pwd) b=$(cd "$2" && pwd)
rounds=${3:-4} iters=${4:-150}
out=$b/bench-results/ab
rm -rf "$out" && mkdir -p "$out"
"$repo/tests/vm/run-in-vm.sh" --kernel deb61 --iommu --edu --edu --share "$out" -- \
    "$repo/bench/guest-forward-ab.sh" "$a" "$b" "$out" "$rounds" "$iters" >/dev/null
python3 - "$out" "$rounds" <<'PYEOF'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
gap = {"A": [], "B": []}
for r in range(1, rounds + 1):
    for side in ("A", "B"):
        med = dict(l.split() for l in open(f"{out}/bench-{side}-{r}.txt"))
        st = json.load(open(f"{out}/stats-{side}-{r}.json"))["ioasid"]
        m, u = st["IOAS_MAP"]["p50_us"], st["IOAS_UNMAP"]["p50_us"]
        gap[side].append(m - u)
        print(f"round {r} {side}: forwarding/direct {float(med['ioasidd']) / float(med['direct']):.2f}"
              f" (medians {med['ioasidd']} / {med['direct']} us); in the daemon, medians MAP {m:.0f} us,"
              f" UNMAP {u:.0f} us")
ma, mb = (sum(v) / len(v) for v in (gap["A"], gap["B"]))
print(f"ab: median MAP less median UNMAP in the daemon, mean of {rounds} rounds: A {ma:.0f} us, B {mb:.0f} us"
      f" (B - A = {mb - ma:+.0f} us)")
PYEOF
