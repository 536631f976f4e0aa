#!/bin/sh
# Runs inside the test VM: the kernel's iommufd selftest against /dev/iommu,
# which is the kernel's own (kernel) or ioasidd's (ioasidd, started here
# with --test-ops and its node named iommu). TAP output to OUT.
#   guest-selftest.sh kernel|ioasidd SELFTEST BUILD OUT [SELFTEST ARGS...]
set -u
mode=$1 selftest=$2 build=$3 out=$4
shift 4
. "$(dirname "$0")/../vm/lib.sh"
# The hugepage variants need hugetlbfs pages (2 MiB each).
echo 128 > /proc/sys/vm/nr_hugepages
uname -r > "$out.kernel"
if [ "$mode" = ioasidd ]; then
    "$build/daemon/ioasidd" -f --log-level warning --iommufd-node iommu --test-ops \
        --control-socket '' > "$out.daemon.log" 2>&1 &
    daemon=$!
    wait_node /dev/iommu || exit 1
fi
"$selftest" "$@" > "$out" 2>&1
echo "selftest-exit $?" >> "$out"
if [ "$mode" = ioasidd ]; then
    kill -TERM $daemon
    wait $daemon
    echo "daemon-exit $?" >> "$out"
fi
exit 0
