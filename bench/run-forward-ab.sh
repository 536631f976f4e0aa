#!/bin/bash
# A/B of two ioasidd builds on the forwarding benchmark, in one VM (Debian's
# 6.1, two QEMU edu devices): the daemons take turns, ROUNDS times, each
# serving forward-bench for ITERATIONS pairs. Under TCG the direct VFIO
# calls drift from block to block, so besides forward-bench's medians each
# block reports the daemon's own median time for IOAS_MAP and IOAS_UNMAP
# (its stats file), and the summary compares MAP less UNMAP: what the daemon
# adds to a MAP beyond the VFIO call pair's common cost. It also compares
# the pair as a ratio to the direct pair of the same blocks, and the floor
# (two no-op ioctls: no VFIO work, so it drifts far less than the pairs).
# IOASID_AB_ARGS_A and IOASID_AB_ARGS_B give either daemon options of its
# own (the same build twice then compares options).
#   run-forward-ab.sh BUILD_A BUILD_B [ROUNDS] [ITERATIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: run-forward-ab.sh BUILD_A BUILD_B [ROUNDS] [ITERATIONS]" >&2; exit 2; }
a=$(cd "$1" && pwd) b=$(cd "$2" && pwd)
rounds=${3:-4} iters=${4:-150}
out=$b/bench-results/ab
rm -rf "$out" && mkdir -p "$out"
"$repo/tests/vm/run-in-vm.sh" --kernel deb61 --iommu --edu --edu --share "$out" -- \
    "$repo/bench/guest-forward-ab.sh" "$a" "$b" "$out" "$rounds" "$iters" \
    "${IOASID_AB_ARGS_A:-}" "${IOASID_AB_ARGS_B:-}" >/dev/null
python3 - "$out" "$rounds" <<'PYEOF'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
gap, pair, floor = ({"A": [], "B": []} for _ in range(3))
for r in range(1, rounds + 1):
    for side in ("A", "B"):
        med = {k: float(v) for k, v in (l.split() for l in open(f"{out}/bench-{side}-{r}.txt"))}
        st = json.load(open(f"{out}/stats-{side}-{r}.json"))["ioasid"]
        m, u = st["IOAS_MAP"]["p50_us"], st["IOAS_UNMAP"]["p50_us"]
        gap[side].append(m - u)
        pair[side].append(med["ioasidd"] / med["direct"])
        floor[side].append(med["floor"])
        print(f"round {r} {side}: forwarding/direct {pair[side][-1]:.2f}"
              f" (medians {med['ioasidd']:.0f} / {med['direct']:.0f} / {med['floor']:.0f} us); in the daemon,"
              f" medians MAP {m:.0f} us, UNMAP {u:.0f} us")
mean = lambda v: sum(v) / len(v)
for name, series, fmt in (("median MAP less median UNMAP in the daemon", gap, "{:.0f} us"),
                          ("forwarding / direct", pair, "{:.2f}"),
                          ("median floor (two no-op ioctls)", floor, "{:.0f} us")):
    a, b = mean(series["A"]), mean(series["B"])
    print(f"ab: {name}, mean of {rounds} rounds: A " + fmt.format(a) + ", B " + fmt.format(b)
          + " (B - A = " + ("+" if b >= a else "") + fmt.format(b - a) + ")")
PYEOF
