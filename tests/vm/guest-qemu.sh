#!/bin/sh
# Runs inside the test VM: unmodified QEMU 10.0 (Debian's, from
# bookworm-backports) drives edus through qtest (qtest_edu.py): its own
# built-in edu first, whose transcript is the reference, then ioasidd's
# emulated edu through libioasid-preload.so (ioasid-run), given as fds the way libvirt
# gives them, with private and with memfd guest RAM. Debian 12's own QEMU
# 7.2 does the same through the group API (sysfsdev=).
# Transcripts go to RESULTS/qemu-*-TAG.txt.
#   guest-qemu.sh BUILD RESULTS TAG
# RESULTS/qemu10.path names QEMU's binary (qemu-lane.sh wrote it).
set -u
build=$1 results=$2 tag=$3
qemu=$(cat "$results/qemu10.path")
status=0
here=$(dirname "$0")
. "$here/lib.sh"

share=$(dirname "$(dirname "$qemu")")/share/qemu
machine="-machine pc -accel tcg -m 256 -nodefaults -L $share"
run=$build/client/ioasid-run
qtest() {  # NAME [qtest_edu.py options] -- QEMU arguments
    name=$1
    shift
    python3 "$here/qtest_edu.py" --log "$results/qemu-$name-$tag.log" "$@" \
        > "$results/qemu-$name-$tag.txt" 2>&1 || status=1
}

qtest builtin --unplug -- "$qemu" $machine -device edu,id=dev0,addr=4
q72=/usr/bin/qemu-system-x86_64
machine72="-machine pc -accel tcg -m 256 -nodefaults"
emulated_dir=/run/ioasidd/devices/fffe:00:00.0
# A second QEMU 7.2 asking for a device (sysfsdev DIR) while the run holds
# it or its group: it stops at realize, or is stopped after a minute.
second72() {  # WRAPPER DIR
    echo "timeout 60 $1 $q72 $machine72 -S -display none -device vfio-pci,sysfsdev=$2"
}
qtest q72-builtin --unplug -- "$q72" $machine72 -device edu,id=dev0,addr=4

"$build/daemon/ioasidd" -f --log-level info > "$results/qemu-daemon-$tag.log" 2>&1 &
daemon=$!
wait_node /dev/vfio/device0 || status=1
ctl=$build/client/ioasidctl
# After a QEMU run: how many /dev/ioasid contexts ioasidd still has.
contexts_after_exit() {
    echo "contexts-after-exit: $("$ctl" --json clients | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')"
}
# The library's own checks, before any VMM.
"$run" "$build/tests/preload-check" /dev/ioasid /dev/vfio/device0 \
    > "$results/preload-check-$tag.txt" 2>&1 || status=1
# mmap of a BAR through the VMM channel: the emulated edu's traps, the
# first memory-BAR device's is its memory.
for n in 0 1; do
    "$run" "$build/tests/mmap-check" /dev/ioasid /dev/vfio/device$n \
        > "$results/mmap-check-emulated$n-$tag.txt" 2>&1 || status=1
done
for ram in private memfd; do
    mem=
    [ $ram = memfd ] && mem="-object memory-backend-memfd,id=ram0,size=256M,share=on -machine memory-backend=ram0"
    qtest "emulated-$ram" --open 3=/dev/ioasid --open 4=/dev/vfio/device0 --unplug \
        --clients "$ctl --json clients" -- \
        "$run" "$qemu" $machine $mem -object iommufd,id=i0,fd=3 \
        -device vfio-pci,id=dev0,fd=4,iommufd=i0,addr=4
    contexts_after_exit >> "$results/qemu-emulated-$ram-$tag.txt"
done
# The group and container API with its errors, through the library, on
# ioasidd's emulated edu (the kernel's own is taken below).
"$run" "$build/tests/vfio-legacy" $emulated_dir > "$results/legacy-emulated-$tag.txt" 2>&1
# Debian 12's own QEMU 7.2 (the host's), which knows only the group API:
# the device by sysfsdev=, whose iommu_group link names the group; the
# library makes /dev/vfio/N and /dev/vfio/vfio ioasidd's.
# Each time a second QEMU 7.2 asks for the group the first holds.
for ram in private memfd; do
    mem=
    [ $ram = memfd ] && mem="-object memory-backend-memfd,id=ram0,size=256M,share=on -machine memory-backend=ram0"
    qtest "q72-emulated-$ram" --unplug --clients "$ctl --json clients" \
        --meanwhile "q72-same-group=$(second72 "$run" $emulated_dir)" -- \
        "$run" "$q72" $machine72 $mem -device vfio-pci,id=dev0,sysfsdev=$emulated_dir,addr=4
    contexts_after_exit >> "$results/qemu-q72-emulated-$ram-$tag.txt"
done
# Two groups in one VM: QEMU 7.2 sets the second to the container it has
# (the edu's group and a memory-BAR device's), so they share its mappings.
qtest "q72-two-groups" --unplug --clients "$ctl --json clients" -- \
    "$run" "$q72" $machine72 -device vfio-pci,id=dev0,sysfsdev=$emulated_dir,addr=4 \
    -device vfio-pci,id=dev1,sysfsdev=/run/ioasidd/devices/fffe:00:01.0,addr=5
contexts_after_exit >> "$results/qemu-q72-two-groups-$tag.txt"
kill -TERM $daemon
wait $daemon
echo "daemon-exit $?" >> "$results/qemu-daemon-$tag.log"

# QEMU's other way to name a device: sysfsdev=, a directory ioasidd
# publishes for each node, whose vfio-dev/vfioN/dev names the node QEMU
# opens itself (/dev/vfio/devices/vfioN, so the nodes take those names).
"$build/daemon/ioasidd" -f --log-level info --device-node-pattern 'vfio/devices/vfio%u' \
    > "$results/qemu-sysfsdev-daemon-$tag.log" 2>&1 &
daemon=$!
wait_node /dev/vfio/devices/vfio0 || status=1
dir=/run/ioasidd/devices/fffe:00:00.0
find "$dir" | sort > "$results/qemu-sysfsdev-dir-$tag.txt"
echo "dev $(cat "$dir"/vfio-dev/vfio0/dev)" >> "$results/qemu-sysfsdev-dir-$tag.txt"
set -- $(stat -c '%t %T' /dev/vfio/devices/vfio0)
printf 'node %d:%d\n' "0x$1" "0x$2" >> "$results/qemu-sysfsdev-dir-$tag.txt"
qtest "sysfsdev" --open 3=/dev/ioasid --unplug --clients "$ctl --json clients" -- \
    "$run" "$qemu" $machine -object iommufd,id=i0,fd=3 \
    -device vfio-pci,id=dev0,sysfsdev=$dir,iommufd=i0,addr=4
contexts_after_exit >> "$results/qemu-sysfsdev-$tag.txt"
kill -TERM $daemon
wait $daemon
echo "daemon-exit $?" >> "$results/qemu-sysfsdev-daemon-$tag.log"
[ -e "$dir" ] && echo "left-behind: $dir" >> "$results/qemu-sysfsdev-daemon-$tag.log"

# The guest lane: QEMU boots Debian's 6.1 kernel, whose guest-edu finds
# the edu in its PCI tree and drives it through its own vfio-pci, behind
# the guest's intel-iommu (Debian's kernel has no VFIO no-IOMMU mode):
# QEMU's built-in edu, then ioasidd's emulated one. Behind a vIOMMU, QEMU
# maps each of the guest's DMA mappings into the IOAS as the guest makes it.
boot() {  # NAME WRAPPER DEVICE-ARGS...: the guest's console, and its guest-edu lines
    name=$1 wrap=$2
    shift 2
    # The vIOMMU first, so that the devices are behind it; 39 address bits,
    # as ioasidd's IOVA ranges give (QEMU refuses a vIOMMU wider than that).
    # $vmm: another QEMU (7.2, with its own data files) instead of QEMU 10.
    timeout 900 $wrap ${vmm:-$qemu} -machine q35 -accel tcg -m 256 -nodefaults ${vmm:+-L /usr/share/qemu} \
        -L "$share" -L /usr/share/seabios -device intel-iommu,caching-mode=on,aw-bits=39 \
        -kernel "$(cat "$results/guest-kernel.path")" -initrd "$results/guest-initrd.gz" \
        -append "console=ttyS0 quiet panic=-1 intel_iommu=on" -serial stdio -display none \
        -no-reboot "$@" < /dev/null > "$results/boot-$name-$tag.console" 2>&1
    echo "qemu-exit $?" >> "$results/boot-$name-$tag.console"
    grep -E '^(pci|vfio|bar0|dma|irq|guest-|error|qemu-exit)' "$results/boot-$name-$tag.console" \
        | tr -d '\r' > "$results/boot-$name-$tag.txt"
}
# Two nested boots take minutes: on Debian's 6.1 only.
if [ -f "$results/guest-initrd.gz" ] && [ "$tag" = deb61 ]; then
    boot builtin "" -device edu,addr=4
    "$build/daemon/ioasidd" -f --log-level info > "$results/boot-daemon-$tag.log" 2>&1 &
    daemon=$!
    wait_node /dev/vfio/device0 || status=1
    boot emulated "$run" -object iommufd,id=i0,fd=3 \
        -device vfio-pci,id=dev0,fd=4,iommufd=i0,addr=4 3<> /dev/ioasid 4<> /dev/vfio/device0
    contexts_after_exit >> "$results/boot-emulated-$tag.txt"
    # Debian's QEMU 7.2 on the same edu, through the group API.
    vmm=$q72 boot q72-emulated "$run" -device vfio-pci,id=dev0,sysfsdev=$emulated_dir,addr=4
    contexts_after_exit >> "$results/boot-q72-emulated-$tag.txt"
    kill -TERM $daemon
    wait $daemon
    echo "daemon-exit $?" >> "$results/boot-daemon-$tag.log"
fi

# The VM's own real edu (the outer QEMU's), bound to vfio-pci and forwarded
# by ioasidd: the API forwarding takes by itself (the legacy container on
# 6.1; the kernel's iommufd and cdev on 6.12).
edu=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null | head -1)
if [ -n "$edu" ]; then
    edu=$(dirname "$edu")
    [ -e "$edu/driver" ] || echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
    # Where the kernel has iommufd and the VFIO cdev, the same QEMU and the
    # library's checks on the kernel's own files first: the reference.
    cdev=$(ls -d "$edu"/vfio-dev/vfio* 2>/dev/null | head -1)
    if [ -c /dev/iommu ] && [ -n "$cdev" ] && wait_node "/dev/vfio/devices/${cdev##*/}"; then
        node=/dev/vfio/devices/${cdev##*/}
        "$run" "$build/tests/preload-check" /dev/iommu "$node" \
            > "$results/preload-check-kernel-$tag.txt" 2>&1 || status=1
        "$run" "$build/tests/mmap-check" /dev/iommu "$node" \
            > "$results/mmap-check-kernel-$tag.txt" 2>&1 || status=1
        qtest "kernel-cdev" --open 3=/dev/iommu --open 4="$node" --unplug \
            --meanwhile "q72-group-of-cdev=$(second72 "" "$edu")" -- \
            "$qemu" $machine -object iommufd,id=i0,fd=3 \
            -device vfio-pci,id=dev0,fd=4,iommufd=i0,addr=4
    fi
    # The kernel's own group and container on the real edu: the reference.
    "$build/tests/vfio-legacy" "$edu" > "$results/legacy-kernel-$tag.txt" 2>&1
    # QEMU 7.2 on the kernel's own group, and a second one asking for it.
    qtest "q72-kernel" --unplug --meanwhile "q72-same-group=$(second72 "" "$edu")" -- \
        "$q72" $machine72 -device vfio-pci,id=dev0,sysfsdev=$edu,addr=4
    echo '{"groups": []}' > /run/host-only.json
    "$build/daemon/ioasidd" -f --log-level info --topology /run/host-only.json \
        > "$results/qemu-forward-daemon-$tag.log" 2>&1 &
    daemon=$!
    wait_node /dev/vfio/device0 || status=1
    "$run" "$build/tests/mmap-check" /dev/ioasid /dev/vfio/device0 \
        > "$results/mmap-check-forwarded-$tag.txt" 2>&1 || status=1
    "$run" "$build/tests/vfio-legacy" "/run/ioasidd/devices/${edu##*/}" \
        > "$results/legacy-forwarded-$tag.txt" 2>&1
    mem="-object memory-backend-memfd,id=ram0,size=256M,share=on -machine memory-backend=ram0"
    fwd_dir=/run/ioasidd/devices/${edu##*/}
    qtest "forwarded" --open 3=/dev/ioasid --open 4=/dev/vfio/device0 --unplug \
        --clients "$ctl --json clients" --meanwhile "q72-group-of-cdev=$(second72 "$run" $fwd_dir)" -- \
        "$run" "$qemu" $machine $mem -object iommufd,id=i0,fd=3 \
        -device vfio-pci,id=dev0,fd=4,iommufd=i0,addr=4
    contexts_after_exit >> "$results/qemu-forwarded-$tag.txt"
    qtest "q72-forwarded" --unplug --clients "$ctl --json clients" \
        --meanwhile "q72-same-group=$(second72 "$run" $fwd_dir)" -- \
        "$run" "$q72" $machine72 $mem -device vfio-pci,id=dev0,sysfsdev=/run/ioasidd/devices/${edu##*/},addr=4
    contexts_after_exit >> "$results/qemu-q72-forwarded-$tag.txt"
    # The guest lane again, on the forwarded real edu (shared guest RAM).
    if [ -f "$results/guest-initrd.gz" ] && [ "$tag" = deb61 ]; then
        boot forwarded "$run" $mem -object iommufd,id=i0,fd=3 \
            -device vfio-pci,id=dev0,fd=4,iommufd=i0,addr=4 3<> /dev/ioasid 4<> /dev/vfio/device0
        contexts_after_exit >> "$results/boot-forwarded-$tag.txt"
    fi
    kill -TERM $daemon
    wait $daemon
    echo "daemon-exit $?" >> "$results/qemu-forward-daemon-$tag.log"
fi
# A group that is not viable: the ICH9 SMBus bound to vfio-pci while a
# kernel driver (ahci) holds its group, on the kernel's own group first,
# then through the library on ioasidd, which forwards the SMBus. Where the
# kernel binds those drivers at boot (the reference kernel).
smbus=/sys/bus/pci/devices/0000:00:1f.3
if [ -e "$smbus/driver" ] && [ -e /sys/bus/pci/devices/0000:00:1f.2/driver ]; then
    echo 0000:00:1f.3 > "$smbus/driver/unbind"
    echo vfio-pci > "$smbus/driver_override"
    echo 0000:00:1f.3 > /sys/bus/pci/drivers/vfio-pci/bind
    "$build/tests/vfio-legacy" --not-viable "$smbus" > "$results/legacy-not-viable-kernel-$tag.txt" 2>&1
    "$build/daemon/ioasidd" -f --log-level info --topology /run/host-only.json \
        > "$results/legacy-not-viable-daemon-$tag.log" 2>&1 &
    daemon=$!
    wait_node /dev/vfio/device0 || status=1
    "$run" "$build/tests/vfio-legacy" --not-viable /run/ioasidd/devices/0000:00:1f.3 \
        > "$results/legacy-not-viable-$tag.txt" 2>&1
    kill -TERM $daemon
    wait $daemon
    echo 0000:00:1f.3 > /sys/bus/pci/drivers/vfio-pci/unbind
    echo > "$smbus/driver_override"
fi
exit $status
