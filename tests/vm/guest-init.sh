#!/bin/busybox sh
# init of the guest the guest lane boots inside the test VM (QEMU 10 on
# ioasidd's edu, or on its own): vfio-pci behind the guest's intel-iommu, then the edu
# program (guest_edu.c), then power off.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do
    args=
    [ "$m" = vfio_iommu_type1.ko ] && args=allow_unsafe_interrupts=1
    insmod "/modules/$m" $args || echo "guest: insmod $m failed"
done
/guest-edu || dmesg | tail -20
echo "guest-exit $?"
poweroff -f
