#!/bin/bash
# Boots a kernel under QEMU (TCG) with this machine's root shared read-only
# and runs a command in it; exits with the command's status.
#
#   run-in-vm.sh [--kernel deb61|ref] [--iommu] [--edu]... [--edu-bus] [--systemd] [--share DIR] [--timeout S] -- cmd...
#
# --edu: one QEMU edu device per --edu given.
# --edu-bus: three more edus where a reset can reach them: one behind a PCIe
# root port (a slot of its own), two behind a PCI bridge (one bus, and one
# IOMMU group with the bridge).
# --systemd: boot systemd on a writable overlay of the root and run the
# command as a service (deb61 only: it loads overlay.ko).
#
# --share DIR: a host folder the guest may write, at the same path (results).
# --interactive: the terminal is the VM's console (Ctrl-A X leaves QEMU).
#
# deb61: Debian 12's own kernel (CUSE and VFIO as modules, no iommufd).
# ref:   the 6.12 reference kernel with iommufd, VFIO cdev and CUSE built in,
#        as build-refkernel.sh built it ($IOASID_REFKERNEL: a bzImage, or a
#        folder holding one, instead).
#
# Exits with the command's status, or 125 after one line "run-in-vm: cannot
# run: REASON" when the VM could not run the command at all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${IOASID_VM_CACHE:-$repo/.vm}
mkdir -p "$cache"
kernel=deb61 iommu=0 edu=0 edu_bus=0 timeout_s=900 share= interactive=0 systemd=0
while [ $# -gt 0 ]; do
    case $1 in
        --kernel) kernel=$2; shift 2 ;;
        --iommu) iommu=1; shift ;;
        --edu) edu=$((edu + 1)); shift ;;
        --edu-bus) edu_bus=1; shift ;;
        --systemd) systemd=1; shift ;;
        --interactive) interactive=1; timeout_s=0; shift ;;
        --share) share=$(cd "$2" && pwd); shift 2 ;;
        --timeout) timeout_s=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "run-in-vm: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "run-in-vm: no command" >&2; exit 2; }
cannot() { echo "run-in-vm: cannot run: $*" >&2; exit 125; }
command -v qemu-system-x86_64 >/dev/null || cannot "no QEMU (qemu-system-x86 is not installed)"
[ -x /bin/busybox ] || cannot "no busybox (busybox-static is not installed)"

case $kernel in
    deb61)
        "$here/fetch-kernel.sh" >&2 || cannot "no Debian 6.1 kernel (fetch-kernel.sh failed)"
        vmlinuz=$cache/deb61/vmlinuz
        modules=(fuse cuse virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
                 virtio_pci netfs fscache 9pnet 9pnet_virtio 9p irqbypass vfio
                 vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci overlay)
        moddir=$cache/deb61/modules ;;
    ref)
        if [ -n "${IOASID_REFKERNEL:-}" ]; then
            vmlinuz=$IOASID_REFKERNEL
            [ -d "$vmlinuz" ] && vmlinuz=$vmlinuz/bzImage
            [ -f "$vmlinuz" ] || cannot "no reference kernel at \$IOASID_REFKERNEL ($vmlinuz)"
        else
            vmlinuz=$("$here/build-refkernel.sh" --cached 2>&1) ||
                cannot "no reference kernel (${vmlinuz##*build-refkernel: })"
        fi
        modules=() moddir= ;;
    *) echo "run-in-vm: unknown kernel $kernel" >&2; exit 2 ;;
esac

# The initrd depends only on init.sh and the module list: build it once.
key=$( (cat "$here/init.sh"; echo "$kernel ${modules[*]}") | md5sum | cut -c1-12)
initrd=$cache/initrd-$kernel-$key.gz
if [ ! -f "$initrd" ]; then
    stage=$(mktemp -d "$cache/initrd.XXXXXX")
    mkdir -p "$stage"/{bin,proc,sys,dev,host,modules}
    cp /bin/busybox "$stage/bin/busybox"
    cp "$here/init.sh" "$stage/init" && chmod +x "$stage/init"
    : > "$stage/modules.order"
    for m in "${modules[@]}"; do
        cp "$moddir/$m.ko" "$stage/modules/" && echo "$m.ko" >> "$stage/modules.order"
    done
    (cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    rm -rf "$stage"
fi

out=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$out"' EXIT
{
    echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/run"
    printf 'cd %q\n' "$PWD"
    printf '%q ' "$@"; echo
} > "$out/cmd.sh"

devices=()
append="console=ttyS0 quiet panic=-1 ioasid.out=$out"
if [ -n "$share" ]; then
    devices+=(-virtfs "local,path=$share,mount_tag=share,security_model=none,multidevs=remap")
    append+=" ioasid.share=$share"
fi
if [ "$iommu" = 1 ]; then
    devices+=(-device intel-iommu)
    append+=" intel_iommu=on iommufd.allow_unsafe_interrupts=1 vfio_iommu_type1.allow_unsafe_interrupts=1"
fi
for ((i = 0; i < edu; i++)); do devices+=(-device edu); done
[ "$edu_bus" = 1 ] && devices+=(-device pcie-root-port,id=rp1,chassis=1 -device edu,bus=rp1
    -device pci-bridge,id=br1,chassis_nr=2 -device edu,bus=br1,addr=1 -device edu,bus=br1,addr=2)
[ "$systemd" = 1 ] && append+=" ioasid.systemd=1"

qemu=(qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 2048 -smp 2 \
    -nographic -no-reboot -kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
    "${devices[@]}" \
    -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap")
if [ "$interactive" = 1 ]; then
    "${qemu[@]}" || true
else
    timeout "$timeout_s" "${qemu[@]}" </dev/null | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
    grep -v -e '^\[' -e 'SeaBIOS' -e 'iPXE' -e '^Booting' -e '^$' || true
fi
[ -f "$out/cannot-run" ] && cannot "$(cat "$out/cannot-run")"
[ -f "$out/status" ] || { echo "run-in-vm: the VM did not report a status" >&2; exit 3; }
exit "$(cat "$out/status")"
