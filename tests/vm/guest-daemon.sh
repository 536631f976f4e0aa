#!/bin/sh
# Inside the test VM: ioasidd on its default node, then a demo or a shell.
#   guest-daemon.sh BUILD demo|shell [ioasidd options]
build=$1 mode=$2
shift 2
. "$(dirname "$0")/lib.sh"
"$build/daemon/ioasidd" -f "$@" &
pid=$!
# The node, unless the daemon gives up first.
node_or_gone() { [ -c /dev/ioasid ] || ! kill -0 $pid 2>/dev/null; }
wait_until 100 node_or_gone
if [ ! -c /dev/ioasid ]; then wait $pid; exit 1; fi
wait_until 50 test -c /dev/vfio/device0
echo "--- $(uname -sr): ioasidd (pid $pid) serves:"
ls -l /dev/ioasid /dev/vfio/device*
if [ "$mode" = shell ]; then
    echo "--- a shell in the VM; try: $build/tests/iommufd-client --random 20 /dev/ioasid"
    echo "---   or: $build/tests/vfio-client /dev/ioasid /dev/vfio/device0"
    echo "--- 'exit' stops ioasidd and the VM"
    /bin/sh -i
else
    echo "--- a program written for /dev/iommu, run against /dev/ioasid:"
    "$build/tests/iommufd-client" --random 0 /dev/ioasid | grep -E '^(main\.alloc|map\.(fixed|alloc2m|overlap)|unmap\.(exact|all)|vfio\.get):'
    echo "--- a VMM-like client: bind the emulated edu, attach, map, DMA, MSI:"
    "$build/tests/vfio-client" /dev/ioasid /dev/vfio/device0 | grep -E '^(bind|attach|info|map|irq\.msi|dma\.[a-z-]+):'
fi
kill -TERM $pid
wait $pid
