#!/bin/bash
# The VMM lane (issue 18): unmodified QEMU 10.0.2, Debian 12's from
# bookworm-backports, unpacked into the VM cache (fetch-qemu10.sh), drives
# ioasidd's devices through libioasid-preload.so inside the test VM. Each
# transcript must equal the one the same qtest script takes from QEMU's own
# built-in edu. Prints one line per check and "N passed, N failed".
#   qemu-lane.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: qemu-lane.sh BUILD_DIR}" && pwd)
results=$build/vm-results-qemu
rm -rf "$results" && mkdir -p "$results"
. "$here/lane.sh"

# The guest lane's guest: Debian's 6.1 kernel (fetch-kernel.sh) and an
# initramfs of busybox, vfio-pci's modules and guest-edu.
inner_initrd() {
    local cache=${IOASID_VM_CACHE:-$here/../../.vm} stage m
    "$here/fetch-kernel.sh" > /dev/null || return 1
    stage=$(mktemp -d)
    mkdir -p "$stage/bin" "$stage/modules"
    cp /bin/busybox "$stage/bin/busybox" && cp "$here/guest-init.sh" "$stage/init" &&
        cp "$build/tests/guest-edu" "$stage/guest-edu" || return 1
    for m in irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
        cp "$cache/deb61/modules/$m.ko" "$stage/modules/" && echo "$m.ko" >> "$stage/modules.order" || return 1
    done
    (cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$results/guest-initrd.gz"
    rm -rf "$stage"
    echo "$cache/deb61/vmlinuz" > "$results/guest-kernel.path"
}

if qemu=$("$here/fetch-qemu10.sh" 2> "$results/fetch-qemu10.log"); then
    echo "$qemu" > "$results/qemu10.path"
    inner_initrd || echo "CANNOT build the guest lane's initramfs"
    # deb61's VM holds four nested guest boots besides the qtest runs: about
    # 10 minutes alone, more on a busy machine, past run-in-vm's 15-minute
    # default (a retry then doubles the lane).
    guest deb61 deb61 guest-qemu.sh vm-qemu-deb61.log --iommu --edu --timeout 1800
    guest ref ref guest-qemu.sh vm-qemu-ref.log --iommu --edu --timeout 1800
else
    echo "CANNOT run QEMU 10: $(tail -1 "$results/fetch-qemu10.log")"
fi

expected=$here/expected/qemu-edu.txt
# ioasidd's transcripts less what only ioasidd's runs print: what its
# clients hold after realize and unplug, and after QEMU's exit.
held() {  # NAME: the holdings check of one run
    local t=$results/qemu-$1.txt
    check "QEMU 10 on $2: realized it holds one device, IOAS and hwpt; device_del leaves none; its exit leaves no context" \
        sh -c "grep -qx 'clients.realized: contexts=1 devices=1 ioas=1 hwpts=1 memlock_kib=0' '$t' &&
               grep -qx 'clients.unplugged: contexts=1 devices=0 ioas=0 hwpts=0 memlock_kib=0' '$t' &&
               grep -qx 'contexts-after-exit: 0' '$t'"
}
qemu_same() {  # NAME: the run's transcript, less ioasidd's lines, against QEMU's built-in edu's
    grep -v -e '^clients\.' -e '^contexts-' -e '^meanwhile\.' "$results/qemu-$1.txt" > "$results/qemu-$1.cmp" 2>/dev/null
    same "$expected" "$results/qemu-$1.cmp"
}
held72() {  # NAME WHAT: QEMU 7.2 holds a container; unplug closes it with its group
    local t=$results/qemu-$1.txt
    check "QEMU 7.2 on $2: realized it holds one container with the device, IOAS and hwpt; device_del closes them; its exit leaves no context" \
        sh -c "grep -qx 'clients.realized: contexts=1 devices=1 ioas=1 hwpts=1 memlock_kib=0' '$t' &&
               grep -qx 'clients.unplugged: contexts=0 devices=0 ioas=0 hwpts=0 memlock_kib=0' '$t' &&
               grep -qx 'contexts-after-exit: 0' '$t'"
}
# Two VMMs, one group (expected/second-vmm.txt: the kernel's answers). A
# second QEMU 7.2 asks for the group a first holds, or for the group of a
# device QEMU 10 holds by its cdev: both kernels, then ioasidd's groups.
second_same() {  # RUN NAME: the run's line of the second VMM NAME, as committed
    [ -n "$(grep "^meanwhile\.$2: " "$here/expected/second-vmm.txt")" ] &&
        [ "$(grep "^meanwhile\.$2: " "$results/qemu-$1.txt" 2>/dev/null)" = \
          "$(grep "^meanwhile\.$2: " "$here/expected/second-vmm.txt")" ]
}
second_both() {  # TAG: both emulated runs' second VMMs
    second_same "q72-emulated-private-$1" q72-same-group && second_same "q72-emulated-memfd-$1" q72-same-group
}
for tag in deb61 ref; do
    check "Debian's QEMU 7.2 on the $tag kernel's own group (sysfsdev=, no ioasidd): the built-in edu's transcript" \
        qemu_same "q72-kernel-$tag"
    check "two QEMU 7.2s, one group, on the $tag kernel's own: the second stops at realize with the committed answer (EBUSY)" \
        second_same "q72-kernel-$tag" q72-same-group
    check "two QEMU 7.2s, one of ioasidd's groups (emulated edu, $tag): the second gets the kernel's answer" \
        second_both "$tag"
    check "two QEMU 7.2s, the group of the real edu ioasidd forwards ($tag): the second gets the kernel's answer" \
        second_same "q72-forwarded-$tag" q72-same-group
    check "QEMU 10 holds the forwarded edu by its node, QEMU 7.2 asks for its group ($tag): the kernel's answer to a cdev's group" \
        second_same "forwarded-$tag" q72-group-of-cdev
done
check "QEMU 10 holds the real edu by the 6.12 kernel's cdev, QEMU 7.2 asks for its group: the committed answer" \
    second_same "kernel-cdev-ref" q72-group-of-cdev
for tag in deb61 ref; do
    check "Debian's QEMU 7.2 built-in edu under qtest on $tag gives the same transcript" \
        same "$expected" "$results/qemu-q72-builtin-$tag.txt"
    for ram in private memfd; do
        check "Debian's unmodified QEMU 7.2 on $tag drives ioasidd's emulated edu through the group API (sysfsdev=, $ram RAM): the built-in edu's transcript" \
            qemu_same "q72-emulated-$ram-$tag"
        held72 "q72-emulated-$ram-$tag" "$tag with ioasidd's emulated edu ($ram RAM)"
    done
    check "Debian's QEMU 7.2 on $tag with two of ioasidd's groups (the edu's, a memory-BAR device's) puts both in one container, whose one IOAS maps for both: the built-in edu's transcript" \
        sh -c "grep -v -e '^clients\\.' -e '^contexts-' -e '^meanwhile\\.' '$results/qemu-q72-two-groups-$tag.txt' | diff -u '$expected' - &&
               grep -q '^clients.realized: contexts=1 devices=2 ioas=1 ' '$results/qemu-q72-two-groups-$tag.txt'"
    check "the group and container API with its errors, through libioasid-preload.so on ioasidd's emulated edu ($tag): the 6.12 kernel's own transcript (SET_CONTAINER, SET_IOMMU, MAP_DMA, GET_DEVICE_FD, UNSET_CONTAINER; a second container, GET_DEVICE_FD before SET_IOMMU, a wrong name, the group closed under its device)" \
        same "$here/expected/vfio-legacy.txt" "$results/legacy-emulated-$tag.txt"
    check "the same on the VM's real edu forwarded by ioasidd ($tag)" \
        same "$here/expected/vfio-legacy.txt" "$results/legacy-forwarded-$tag.txt"
    # (6.1's own differs where 6.12 changed: BIND_IOMMUFD is ENOTTY there,
    # and SET_CONTAINER of a group fd EINVAL; ioasidd gives 6.12's.)
    [ $tag = ref ] && check "the 6.12 kernel's own group and container on the real edu give the committed transcript" \
        same "$here/expected/vfio-legacy.txt" "$results/legacy-kernel-$tag.txt"
    check "QEMU 10.0.2's built-in edu under qtest on $tag gives the committed transcript (config, BAR0, factorial, DMA, MSI, INTx, reset, unplug)" \
        same "$expected" "$results/qemu-builtin-$tag.txt"
    for ram in private memfd; do
        check "unmodified QEMU 10 on $tag drives ioasidd's emulated edu through libioasid-preload.so ($ram RAM, fds passed): the built-in edu's transcript" \
            qemu_same "emulated-$ram-$tag"
        held "emulated-$ram-$tag" "$tag with ioasidd's emulated edu ($ram RAM)"
    done
    d=$results/qemu-sysfsdev-dir-$tag.txt
    check "ioasidd on $tag publishes /run/ioasidd/devices/<address>/vfio-dev/vfio0/dev naming its node's number; its exit removes it" \
        sh -c "grep -qx '/run/ioasidd/devices/fffe:00:00.0/vfio-dev/vfio0/dev' '$d' &&
               [ \"\$(sed -n 's/^dev //p' '$d')\" = \"\$(sed -n 's/^node //p' '$d')\" ] &&
               grep -qx 'daemon-exit 0' '$results/qemu-sysfsdev-daemon-$tag.log' &&
               ! grep -q '^left-behind' '$results/qemu-sysfsdev-daemon-$tag.log'"
    check "unmodified QEMU 10 on $tag drives ioasidd's emulated edu given as sysfsdev= (QEMU opens /dev/vfio/devices/vfio0 itself): the built-in edu's transcript" \
        qemu_same "sysfsdev-$tag"
    held "sysfsdev-$tag" "$tag with ioasidd's emulated edu as sysfsdev="
    check "libioasid-preload.so on $tag: ioasidd's device recognised across dup, dup2/dup3, F_DUPFD, fork, SCM_RIGHTS and a close behind its back; fortified, vectored and KVM calls" \
        same "$here/expected/preload-check.txt" "$results/preload-check-$tag.txt"
    check "mmap of the emulated edu's BAR0 on $tag: vfio-pci's refusals, then ENODEV for a BAR that traps" \
        same "$here/expected/mmap-check-emulated-edu.txt" "$results/mmap-check-emulated0-$tag.txt"
    check "mmap of a memory-BAR device's BAR0 on $tag: the daemon's own memory, stores and loads both ways" \
        same "$here/expected/mmap-check-membar.txt" "$results/mmap-check-emulated1-$tag.txt"
    # A process that did not bind the file gets nothing on the channel;
    # the kernel lets a forked child map (it holds the fd).
    grep -v '^fork-child' "$here/expected/mmap-check.txt" > "$results/mmap-check-expected.cmp"
    grep -v '^fork-child' "$results/mmap-check-forwarded-$tag.txt" > "$results/mmap-check-forwarded-$tag.cmp" 2>/dev/null
    check "mmap of the forwarded real edu's BAR0 on $tag maps the real BAR (ID, liveness, factorial through the map): the 6.12 kernel's cdev transcript, but a forked child's EPERM" \
        sh -c "diff -u '$results/mmap-check-expected.cmp' '$results/mmap-check-forwarded-$tag.cmp' &&
               grep -qx 'fork-child.mmap: EPERM' '$results/mmap-check-forwarded-$tag.txt'"
    check "QEMU 10 on $tag maps the forwarded edu's BAR0 (no 'Performance may be slow', which it says of the emulated edu's)" \
        sh -c "grep -q 'Performance may be slow' '$results/qemu-emulated-private-$tag.log' &&
               [ -f '$results/qemu-forwarded-$tag.log' ] &&
               ! grep -q 'Performance may be slow' '$results/qemu-forwarded-$tag.log'"
    check "unmodified QEMU 10 on $tag drives the VM's real edu forwarded by ioasidd ($( [ $tag = ref ] && echo "kernel iommufd+cdev" || echo "legacy container"), memfd RAM, private ROMs): the built-in edu's transcript" \
        qemu_same "forwarded-$tag"
    held "forwarded-$tag" "$tag with the forwarded real edu"
    check "Debian's unmodified QEMU 7.2 on $tag drives the VM's real edu forwarded by ioasidd through the group API (sysfsdev=, memfd RAM): the built-in edu's transcript" \
        qemu_same "q72-forwarded-$tag"
    held72 "q72-forwarded-$tag" "$tag with the forwarded real edu"
    check "ioasidd on $tag exits 0 after the QEMU runs (emulated, forwarded)" \
        sh -c "grep -qx 'daemon-exit 0' '$results/qemu-daemon-$tag.log' && grep -qx 'daemon-exit 0' '$results/qemu-forward-daemon-$tag.log'"
done
check "a group that is not viable (the ICH9 SMBus on vfio-pci, ahci bound beside it): the 6.12 kernel's own group gives the committed transcript" \
    same "$here/expected/vfio-legacy-not-viable.txt" "$results/legacy-not-viable-kernel-ref.txt"
check "the same group through libioasid-preload.so on ioasidd, which forwards the SMBus (ref): the kernel's transcript" \
    same "$here/expected/vfio-legacy-not-viable.txt" "$results/legacy-not-viable-ref.txt"
check "QEMU 10 boots a guest whose program finds QEMU's built-in edu in its PCI tree and drives it through the guest's vfio-pci behind intel-iommu: the committed transcript" \
    same "$here/expected/guest-edu.txt" "$results/boot-builtin-deb61.txt"
grep -v '^contexts-' "$results/boot-emulated-deb61.txt" > "$results/boot-emulated-deb61.cmp" 2>/dev/null
check "unmodified QEMU 10 boots a guest on deb61 whose program drives ioasidd's emulated edu (ID, factorial, DMA through the vIOMMU's mappings, MSI): the built-in edu's transcript" \
    same "$here/expected/guest-edu.txt" "$results/boot-emulated-deb61.cmp"
grep -v '^contexts-' "$results/boot-q72-emulated-deb61.txt" > "$results/boot-q72-emulated-deb61.cmp" 2>/dev/null
check "Debian's unmodified QEMU 7.2 boots a guest on deb61 whose program drives ioasidd's emulated edu through the group API: the built-in edu's transcript; its exit leaves no context" \
    sh -c "diff -u '$here/expected/guest-edu.txt' '$results/boot-q72-emulated-deb61.cmp' &&
           grep -qx 'contexts-after-exit: 0' '$results/boot-q72-emulated-deb61.txt'"
grep -v '^contexts-' "$results/boot-forwarded-deb61.txt" > "$results/boot-forwarded-deb61.cmp" 2>/dev/null
check "unmodified QEMU 10 boots a guest on deb61 whose program drives the VM's real edu forwarded by ioasidd (legacy container, memfd RAM, the vIOMMU's mappings): the built-in edu's transcript" \
    sh -c "diff -u '$here/expected/guest-edu.txt' '$results/boot-forwarded-deb61.cmp' &&
           grep -qx 'contexts-after-exit: 0' '$results/boot-forwarded-deb61.txt'"
check "the booted guest's QEMU on ioasidd's edu leaves no context at its exit; ioasidd exits 0" \
    sh -c "grep -qx 'contexts-after-exit: 0' '$results/boot-emulated-deb61.txt' &&
           grep -qx 'daemon-exit 0' '$results/boot-daemon-deb61.log'"
check "the same QEMU 10 on the 6.12 kernel's own iommufd and VFIO cdev (the real edu, no ioasidd): the built-in edu's transcript" \
    qemu_same "kernel-cdev-ref"
# What QEMU says of the forwarded edu (its BAR mapped, the BAR's own DMA
# map refused) is what it says of the same edu on the kernel's cdev.
check "QEMU 10's warnings on the forwarded edu (ref) are those on the kernel's own cdev: the BAR's peer-to-peer IOAS_MAP refused with EFAULT, as the kernel's iommufd refuses it" \
    sh -c "[ -s '$results/qemu-kernel-cdev-ref.log' ] &&
           [ \"\$(sed 's/0x[0-9a-f]*/ADDR/g' '$results/qemu-forwarded-ref.log')\" = \"\$(sed 's/0x[0-9a-f]*/ADDR/g' '$results/qemu-kernel-cdev-ref.log')\" ]"
check "mmap-check on the 6.12 kernel's own cdev (the real edu) gives the committed transcript" \
    same "$here/expected/mmap-check.txt" "$results/mmap-check-kernel-ref.txt"
# Where the library's checks may differ from the kernel's files: a file
# position (preadv2 at -1), which CUSE keeps none of; the kernel reads BAR0.
grep -v '^preadv2-file-position' "$results/preload-check-kernel-ref.txt" > "$results/preload-check-kernel-ref.cmp" 2>/dev/null
grep -v '^preadv2-file-position' "$here/expected/preload-check.txt" > "$results/preload-check-expected.cmp"
check "libioasid-preload.so leaves the 6.12 kernel's iommufd and VFIO cdev to the kernel: the same checks give the same answers (but the file position)" \
    same "$results/preload-check-expected.cmp" "$results/preload-check-kernel-ref.cmp"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
