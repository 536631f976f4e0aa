#!/bin/sh
# Inside the VM: ioasidd on its demo topology and the baseline node side by
# side, then mmio-bench under ioasid-run.
build=$1 out=$2 iters=$3
"$build/daemon/ioasidd" -f --log-level warning &
d=$!
"$build/bench/cuse-baseline" ioasid-bench 2>/dev/null &
b=$!
i=0
while { [ ! -c /dev/vfio/device0 ] || [ ! -c /dev/ioasid-bench ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$build/client/ioasid-run" "$build/bench/mmio-bench" "$iters" > "$out/mmio-bench.txt" 2>&1
rc=$?
kill -TERM $d $b
wait $d
exit $rc
