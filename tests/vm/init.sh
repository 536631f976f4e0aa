#!/bin/busybox sh
# /init of the test VM: load modules, mount the host's root read-only over 9p,
# chroot into it and run the command the runner left in the writable share.
# /tmp stays the host's (read-only): the checkout may live there. TMPDIR is
# a tmpfs under /run.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order 2>/dev/null); do insmod "/modules/$m" || echo "init: insmod $m failed"; done
out=$(sed -n 's/.*ioasid\.out=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 host /host || echo "init: no host share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "/host$out" || echo "init: no out share"
share=$(sed -n 's/.*ioasid\.share=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$share" ] && { mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share "/host$share" || echo "init: no writable share"; }
mount --bind /dev /host/dev
mkdir -p /dev/shm /dev/pts && mount -t tmpfs shm /dev/shm && mount -t devpts pts /dev/pts
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t tmpfs run /host/run
chroot /host /bin/sh -c "cd '$out' && exec /bin/sh ./cmd.sh" </dev/console >/dev/console 2>&1
echo $? > "/host$out/status"
sync
[ -n "$share" ] && umount "/host$share"
umount "/host$out"
poweroff -f
