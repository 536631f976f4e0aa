#!/bin/sh
# Runs as a service under systemd (PID 1) in the test VM, on Debian's 6.1:
# ioasidd installed by `meson install` and started by its own unit, inside
# the unit's sandbox (DevicePolicy=closed, the capability bounding set,
# ProtectSystem=strict, ...). There it must still serve an emulated edu and
# forward the real one, come back after kill -9, and stop cleanly.
#   guest-systemd.sh BUILD RESULTS STAGE
set -u
build=$1 results=$2 stage=$3
. "$(dirname "$0")/lib.sh"
exec > "$results/systemd.txt" 2>&1
unit=ioasidd.service
prop() { systemctl show -p "$1" --value $unit; }
state() { echo "$(prop ActiveState)/$(prop SubState)"; }

# As a package installs it: /usr/local and the unit directories.
tar -C "$stage" -cf - . | tar -C / -xf - --keep-directory-symlink
systemctl daemon-reload
udevadm control --reload
echo "unit: $(prop FragmentPath)"
echo "exec: $(prop ExecStart | sed -n 's/.*path=\([^ ;]*\).*/\1/p')"

# The real edu for vfio-pci, forwarded through the legacy container API.
edu=$(dirname "$(grep -l 0x11e8 /sys/bus/pci/devices/*/device | head -1)")
[ -e "$edu/driver" ] || echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id

# Type=notify: start returns once READY=1 came.
systemctl start $unit
echo "start: exit $? $(state)"
pid=$(prop MainPID)
echo "CapBnd: $(sed -n 's/^CapBnd:\s*//p' /proc/$pid/status)"
echo "NoNewPrivs: $(sed -n 's/^NoNewPrivs:\s*//p' /proc/$pid/status)"
# ProtectSystem=strict: the daemon's root is read-only, /run/ioasidd is not.
awk '$5 == "/" {print "root: " substr($6, 1, 2)}' /proc/$pid/mountinfo | head -1
echo "devices: $(cd /dev && ls ioasid vfio/device* | tr '\n' ' ')"
# The udev rules: the nodes belong to group kvm, mode 0660.
udevadm settle
echo "node modes: $(stat -c '%n %G %a' /dev/ioasid /dev/vfio/device1 | tr '\n' ' ')"
/usr/local/bin/ioasidctl version > /dev/null
echo "ioasidctl: exit $?"
/usr/local/bin/ioasidctl topology | grep -E '0000:00:04.0|fffe:00:00.0' | sed 's/  */ /g'
/usr/local/bin/ioasidctl log-level debug

"$build/tests/vfio-client" /dev/ioasid /dev/vfio/device1 > "$results/systemd-emulated.txt" 2>&1
echo "emulated edu: exit $?"
"$build/tests/vfio-client" /dev/ioasid /dev/vfio/device0 > "$results/systemd-forward.txt" 2>&1
echo "forwarded edu: exit $?"

# Restart=on-failure: a killed daemon comes back with its nodes.
kill -KILL "$pid"
restarted() { [ "$(prop MainPID)" != "$pid" ] && [ "$(prop MainPID)" != 0 ] && [ "$(state)" = active/running ]; }
wait_until 300 restarted
echo "after kill -9: $(state), restarts $(prop NRestarts)"
wait_node /dev/vfio/device1
"$build/tests/vfio-client" /dev/ioasid /dev/vfio/device1 > "$results/systemd-restarted.txt" 2>&1
echo "emulated edu after restart: exit $?"

systemctl stop $unit
echo "stop: exit $? $(state) result $(prop Result)"
echo "devices after stop: $(cd /dev && ls ioasid vfio/device* 2>/dev/null | tr '\n' ' ')"
echo "socket after stop: $(test -e /run/ioasidd/control.sock && echo left || echo gone)"
journalctl -u $unit --no-pager -o cat > "$results/systemd-journal.txt" 2>&1
# Its stderr lines carry journald priority prefixes: info, and debug (7,
# where a plain stderr line would be journald's default, info).
priority() {
    journalctl -u $unit -o json | grep -F "\"MESSAGE\":\"$1\"" | head -1 |
        sed -n 's/.*"PRIORITY":"\([0-7]\)".*/\1/p'
}
echo "journal priority: serving /dev/ioasid $(priority 'serving /dev/ioasid (iommufd ABI of Linux 6.12)')"
echo "journal priority: IOAS_ALLOC $(priority 'ioasid: IOAS_ALLOC (0x3b81) -> 0 in 1 round trip(s)')"
exit 0
