#!/bin/sh
# Inside the A/B VM: both edus on vfio-pci; daemon A, then daemon B, serve
# forward-bench ROUNDS times each (the benchmark binary is B's), each daemon
# with its own extra options.
#   guest-forward-ab.sh BUILD_A BUILD_B RESULTS ROUNDS ITERS 'ARGS_A' 'ARGS_B'
a=$1 b=$2 results=$3 rounds=$4 iters=$5 args_a=$6 args_b=$7
echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
set -- $(grep -l 0x11e8 /sys/bus/pci/devices/*/device)
[ $# -ge 2 ] || { echo "guest: two edu devices are needed"; exit 1; }
second=$(basename "$(readlink "$(dirname "$2")/iommu_group")")
echo '{"groups": []}' > /run/host-only.json
. "$(dirname "$0")/../tests/vm/lib.sh"
r=1
while [ $r -le "$rounds" ]; do
    for side in A B; do
        if [ $side = A ]; then build=$a args=$args_a; else build=$b args=$args_b; fi
        # shellcheck disable=SC2086 # the options are words
        "$build/daemon/ioasidd" -f --log-level warning --topology /run/host-only.json $args \
            --stats-file "$results/stats-$side-$r.json" &
        daemon=$!
        wait_node /dev/vfio/device0 || exit 1
        "$b/bench/forward-bench" /dev/ioasid /dev/vfio/device0 "/dev/vfio/$second" "$iters" \
            > "$results/bench-$side-$r.txt" || exit 1
        kill -TERM $daemon
        wait $daemon
        wait_until 100 sh -c '! test -e /dev/vfio/device0'
    done
    r=$((r + 1))
done
