#!/bin/sh
# Inside the benchmark VM: two edu devices bound to vfio-pci, the first
# forwarded by ioasidd, the second opened by bar-bench itself; both BARs
# mapped. Medians to RESULTS/bar.txt.
#   guest-bar-bench.sh BUILD RESULTS ITERS
build=$1 results=$2 iters=$3
echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
set -- $(grep -l 0x11e8 /sys/bus/pci/devices/*/device)
[ $# -ge 2 ] || { echo "guest: two edu devices are needed"; exit 1; }
second=$(dirname "$2")
group=$(basename "$(readlink "$second/iommu_group")")
echo '{"groups": []}' > /run/host-only.json
"$build/daemon/ioasidd" -f --log-level warning --topology /run/host-only.json &
daemon=$!
. "$(dirname "$0")/../tests/vm/lib.sh"
wait_until 100 test -c /dev/vfio/device1
"$build/client/ioasid-run" "$build/bench/bar-bench" /dev/ioasid /dev/vfio/device0 \
    "/dev/vfio/$group" "$(basename "$second")" "$iters" > "$results/bar.txt"
rc=$?
kill -TERM $daemon
wait $daemon
exit $rc
