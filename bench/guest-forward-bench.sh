#!/bin/sh
# Inside the benchmark VM: two edu devices bound to vfio-pci, the first
# forwarded by ioasidd, the second's group opened by the benchmark itself.
# Medians to RESULTS/forward.txt.
#   guest-forward-bench.sh BUILD RESULTS ITERS ['DAEMON_ARGS']
build=$1 results=$2 iters=$3 args=${4:-}
echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
set -- $(grep -l 0x11e8 /sys/bus/pci/devices/*/device)
[ $# -ge 2 ] || { echo "guest: two edu devices are needed"; exit 1; }
second=$(basename "$(readlink "$(dirname "$2")/iommu_group")")
# Only the first edu gets a node: its group is the only host group ioasidd opens.
echo '{"groups": []}' > /run/host-only.json
# shellcheck disable=SC2086 # the options are words
"$build/daemon/ioasidd" -f --log-level warning --topology /run/host-only.json $args \
    --stats-file "$results/forward-stats.json" &
daemon=$!
. "$(dirname "$0")/../tests/vm/lib.sh"
wait_until 100 test -c /dev/vfio/device1
"$build/bench/forward-bench" /dev/ioasid /dev/vfio/device0 "/dev/vfio/$second" "$iters" \
    > "$results/forward.txt"
rc=$?
kill -TERM $daemon
wait $daemon
exit $rc
