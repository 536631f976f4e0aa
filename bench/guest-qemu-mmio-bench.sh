#!/bin/sh
# Inside the VM: ioasidd on its demo topology, then qemu_mmio_bench.py with
# QEMU 10 (its path in RESULTS/qemu10.path) on its built-in edu and on
# ioasidd's emulated edu through ioasid-run.
#   guest-qemu-mmio-bench.sh BUILD RESULTS ITERS DMAS
build=$1 results=$2 iters=$3 dmas=$4
here=$(dirname "$0")
. "$here/../tests/vm/lib.sh"
qemu=$(cat "$results/qemu10.path")
share=$(dirname "$(dirname "$qemu")")/share/qemu
machine="-machine pc -accel tcg -m 256 -nodefaults -L $share"
"$build/daemon/ioasidd" -f --log-level warning &
daemon=$!
wait_node /dev/vfio/device0 || exit 1
python3 "$here/qemu_mmio_bench.py" "$iters" "$dmas" --log-dir "$results" \
    --builtin "$qemu $machine -device edu,addr=4" \
    --ioasidd "$build/client/ioasid-run $qemu $machine -object iommufd,id=i0,fd=3 -device vfio-pci,fd=4,iommufd=i0,addr=4" \
    --open 3=/dev/ioasid --open 4=/dev/vfio/device0 > "$results/qemu-mmio.txt" 2>&1
rc=$?
kill -TERM $daemon
wait $daemon
exit $rc
