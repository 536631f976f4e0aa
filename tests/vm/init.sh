#!/bin/busybox sh
# /init of the test VM: load modules, mount the host's root read-only over 9p,
# chroot into it and run the command the runner left in the writable share
# (with ioasid.systemd=1: boot systemd on an overlay and run it as a service).
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
# What every lane needs of the guest's kernel; without it the runner says
# so in one line instead of a test failing for a reason it does not show.
[ -c /dev/cuse ] || echo "no /dev/cuse in the guest ($(uname -r))" > "/host$out/cannot-run"
share=$(sed -n 's/.*ioasid\.share=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$share" ] && { mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share "/host$share" || echo "init: no writable share"; }
if grep -q 'ioasid\.systemd=1' /proc/cmdline; then
    # systemd as PID 1, on a writable root: the host's, under a tmpfs
    # overlay, as an installed system would have it. The command runs as a
    # service once the system is up, and its end powers the VM off.
    mkdir -p /rw /newroot
    mount -t tmpfs rw /rw && mkdir -p /rw/upper /rw/work
    mount -t overlay root -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot ||
        { echo "init: no overlay root"; poweroff -f; }
    mount --move "/host$out" "/newroot$out"
    [ -n "$share" ] && mount --move "/host$share" "/newroot$share"
    mkdir -p /newroot/etc/systemd/system
    cat > /newroot/etc/systemd/system/ioasid-vmtest.service <<EOF
[Unit]
Description=ioasidd VM test command
After=basic.target
SuccessAction=poweroff-immediate
FailureAction=poweroff-immediate
[Service]
Type=oneshot
TimeoutStartSec=infinity
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
ExecStart=/bin/sh -c 'cd $out && /bin/sh ./cmd.sh; echo \$\$? > $out/status; sync'
EOF
    # /tmp is the host's and may hold the checkout: tmpfiles' boot-time
    # cleaning would hide it (and walk it for a long while over 9p).
    ln -s /dev/null /newroot/etc/systemd/system/systemd-tmpfiles-setup.service
    ln -s /dev/null /newroot/etc/systemd/system/tmp.mount
    for m in dev proc sys; do mount --move /$m /newroot/$m; done
    exec switch_root /newroot /lib/systemd/systemd --unit=ioasid-vmtest.service --show-status=0
fi
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
