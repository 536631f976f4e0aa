#!/bin/sh
# Runs inside the test VM: the device nodes. ioasidd on its built-in demo
# (edu as vfio/device0, the two-device group as device1 and device2) is
# driven by the VMM-like client and the group-rules client; where the kernel
# has the VFIO device cdev (the reference kernel, with QEMU's edu bound to
# vfio-pci), the same VMM-like client runs against the real edu too.
# Transcripts go to RESULTS/.
#   guest-devices.sh BUILD RESULTS TAG
set -u
build=$1 results=$2 tag=$3
status=0

. "$(dirname "$0")/lib.sh"
# The control socket answers.
ctl_up() { "$build/client/ioasidctl" version > /dev/null 2>&1; }

# Both ioctl paths: process_vm_readv/writev, and the CUSE retry protocol
# (whose workers busy poll: non-blocking reads and poll() on /dev/cuse).
for mode in direct retry; do
    opts= suffix=
    [ $mode = retry ] && opts="--no-direct-memory --busy-poll-us 100" suffix=-retry
    "$build/daemon/ioasidd" -f --log-level info $opts > "$results/devices-daemon$suffix-$tag.log" 2>&1 &
    daemon=$!
    wait_node /dev/vfio/device2 || status=1
    ls -l /dev/ioasid /dev/vfio/ > "$results/devices-nodes$suffix-$tag.txt" 2>&1
    if [ $mode = direct ]; then
        wait_until 50 ctl_up
        "$build/client/ioasidctl" monitor > "$results/control-events-$tag.txt" 2>&1 &
        monitor=$!
        wait_line "$results/control-events-$tag.txt" '^# following'
        "$build/client/ioasidctl" trace > "$results/trace-$tag.txt" 2>&1 &
        tracer=$!
        wait_line "$results/trace-$tag.txt" '^# tracing'
    fi
    "$build/tests/vfio-client" /dev/ioasid /dev/vfio/device0 \
        > "$results/devices-ioasidd$suffix-$tag.txt" 2>&1 || status=1
    if [ $mode = direct ]; then
        kill -INT $tracer
        wait $tracer || status=1
    fi
    "$build/tests/vfio-groups" /dev/ioasid /dev/vfio/device1 /dev/vfio/device2 \
        > "$results/groups$suffix-$tag.txt" 2>&1 || status=1
    # The emulated edu's ioeventfds, as vfio-pci's on the real edu.
    "$build/tests/vfio-reset" /dev/ioasid --ioeventfd /dev/vfio/device0 \
        > "$results/ioeventfd$suffix-$tag.txt" 2>&1 || status=1
    if [ $mode = direct ]; then
        "$build/tests/pid-reuse" /dev/ioasid /dev/vfio/device0 \
            > "$results/pid-reuse-$tag.txt" 2>&1 || status=1
        # RLIMIT_MEMLOCK (1.5 MiB) for the emulated devices' domains, as the
        # kernel charges a real one's pins: the real edu's transcripts.
        chmod 0666 /dev/ioasid /dev/vfio/device0 /dev/vfio/device1
        m=$results/emulated-memlock-$tag.txt
        limited_user "$build/tests/vfio-memlock" /dev/ioasid /dev/vfio/device0 user > "$m" 2>&1
        limited_root "$build/tests/vfio-memlock" /dev/ioasid /dev/vfio/device0 root >> "$m" 2>&1
        "$build/tests/vfio-memlock" /dev/ioasid /dev/vfio/device0 --modes \
            > "$results/emulated-memlock-modes-$tag.txt" 2>&1
        "$build/tests/vfio-memlock" /dev/ioasid /dev/vfio/device0 --fill \
            > "$results/emulated-memlock-fill-$tag.txt" 2>&1
        # The edu (group 100000000) and a memory-BAR device (group 100000001) in one IOAS.
        limited_user "$build/tests/vfio-memlock" /dev/ioasid /dev/vfio/device0 user \
            /dev/vfio/device1 > "$results/emulated-memlock2-$tag.txt" 2>&1
        chmod 0600 /dev/ioasid /dev/vfio/device0 /dev/vfio/device1
        ctl="$build/client/ioasidctl"
        # Hot-plug: an edu added through the control socket gets a node that
        # works; removed while a client holds it, the client loses it.
        h=$results/hotplug-$tag.txt
        echo '{"groups": [{"devices": [{"address": "fffe:00:07.0", "model": "edu"}]}]}' > /run/add.json
        $ctl device-add /run/add.json > "$h" 2>&1 || status=1
        "$build/tests/vfio-client" /dev/ioasid /dev/vfio/device3 | grep -x 'dma.bytes: equal' >> "$h"
        rm -f /run/hold && mkfifo /run/hold
        "$build/tests/vfio-forward" /dev/ioasid /dev/vfio/device3 < /run/hold > /run/held.txt 2>&1 &
        holder=$!
        exec 5> /run/hold
        wait_line /run/held.txt '^ready' 100
        $ctl device-del fffe:00:07.0 >> "$h" 2>&1 || status=1
        echo go >&5
        exec 5>&-
        wait $holder
        grep '^after-kill.device' /run/held.txt | sed 's/after-kill/after-del/' >> "$h"
        [ -e /dev/vfio/device3 ] && echo "node-left-behind" >> "$h"
        $ctl topology | grep -c 'fffe:00:07.0' >> "$h"
        # The control socket, as a script would use it; quit stops the daemon.
        { $ctl version && $ctl topology && $ctl stats && $ctl --json topology; } \
            > "$results/control-$tag.txt" 2>&1 || status=1
        $ctl log-level loud > /dev/null 2>&1
        echo "bad-level-exit $?" >> "$results/control-$tag.txt"
        $ctl quit >> "$results/control-$tag.txt" 2>&1 || status=1
        wait $monitor
    else
        kill -TERM $daemon
    fi
    wait $daemon
    echo "daemon-exit $?" > "$results/devices-lifecycle$suffix-$tag.txt"
    [ -e /dev/vfio/device0 ] && echo "node-left-behind" >> "$results/devices-lifecycle$suffix-$tag.txt"
done

# Revocation: an emulated device joins the host group of the ICH9 SMBus;
# real driver unbinds and binds (kernel uevents) make the group viable and
# not viable under a bound client. Where the kernel binds drivers to that
# group at boot (the reference kernel: ahci, i2c-i801).
smbus=/sys/bus/pci/devices/0000:00:1f.3
if [ -e "$smbus/driver" ]; then
    g=$(basename "$(readlink "$smbus/iommu_group")")
    topo=/run/revoke-topology.json
    echo "{\"groups\": [{\"join\": true, \"id\": $g, \"devices\": [{\"address\": \"fffe:00:05.0\", \"model\": \"membar\"}]}]}" > "$topo"
    "$build/daemon/ioasidd" -f --log-level info --topology "$topo" \
        > "$results/revoke-daemon-$tag.log" 2>&1 &
    daemon=$!
    wait_node /dev/vfio/device0 || status=1
    unblock="for d in /sys/kernel/iommu_groups/$g/devices/*; do [ -e \$d/driver ] && echo \$(basename \$d) > \$d/driver/unbind; done; true"
    block="echo 0000:00:1f.3 > /sys/bus/pci/drivers/i801_smbus/bind"
    wait_until 50 ctl_up
    "$build/client/ioasidctl" monitor > "$results/revoke-events-$tag.txt" 2>&1 &
    monitor=$!
    wait_line "$results/revoke-events-$tag.txt" '^# following'
    "$build/tests/vfio-revoke" /dev/ioasid /dev/vfio/device0 "$g" "$unblock" "$block" \
        > "$results/revoke-$tag.txt" 2>&1 || status=1
    kill -TERM $daemon
    wait $daemon
    wait $monitor
else
    echo "revoke: no driver is bound to $smbus at boot (the lane needs i2c-i801 and ahci)" \
        > "$results/revoke-$tag.txt"
fi

# The real edu through the kernel's own cdev, where there is one.
edu=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null | head -1)
if [ -c /dev/iommu ] && [ -n "$edu" ]; then
    echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
    cdev=$(ls -d "$(dirname "$edu")"/vfio-dev/vfio* 2>/dev/null | head -1)
    if [ -n "$cdev" ] && wait_node "/dev/vfio/devices/$(basename "$cdev")"; then
        "$build/tests/vfio-client" /dev/iommu "/dev/vfio/devices/$(basename "$cdev")" \
            > "$results/devices-kernel-$tag.txt" 2>&1 || status=1
    else
        echo "guest: the edu has no VFIO cdev" && status=1
    fi
fi
exit $status
