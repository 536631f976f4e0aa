#!/bin/sh
# Inside the VM: ioasidd and the baseline node side by side, then vm-bench.
build=$1 out=$2 iters=$3
"$build/daemon/ioasidd" -f --log-level warning --stats-file "$out/stats.json" ${IOASIDD_ARGS:-} &
d=$!
"$build/bench/cuse-baseline" ioasid-bench 2>/dev/null &
b=$!
i=0
while { [ ! -c /dev/ioasid ] || [ ! -c /dev/ioasid-bench ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
uname -r > "$out/kernel.txt"
"$build/bench/vm-bench" "$iters" > "$out/bench.txt" 2>&1
rc=$?
kill -TERM $d $b
wait $d
exit $rc
