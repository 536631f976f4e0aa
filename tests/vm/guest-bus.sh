#!/bin/sh
# Runs inside the test VM booted with --edu-bus: a real edu behind a PCIe
# root port and two behind a PCI bridge, all bound to vfio-pci, in two IOMMU
# groups. Against the kernel's own cdev where it has one, then through
# ioasidd forwarding the devices with each API the kernel offers:
#  - vfio-reset, and once more with the second bridged edu off vfio-pci;
#  - vfio-group-reset alike through the group API: the kernel's /dev/vfio/N
#    (both kernels have it), then ioasidd's groups under ioasid-run;
#  - vfio-memlock with one device of each group in one IOAS.
#   guest-bus.sh BUILD RESULTS TAG
set -u
build=$1 results=$2 tag=$3
status=0
. "$(dirname "$0")/lib.sh"

echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
edus=
for f in $(grep -l 0x11e8 /sys/bus/pci/devices/*/device); do
    edus="$edus $(basename "$(dirname "$f")")"
done
group() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }
# The port's edu is alone in its group; the bridged pair shares one.
port= a= b=
for e in $edus; do
    same=0
    for o in $edus; do [ "$(group "$o")" = "$(group "$e")" ] && same=$((same + 1)); done
    if [ $same = 1 ]; then port=$e; elif [ -z "$a" ]; then a=$e; else b=$e; fi
done
[ -n "$port" ] && [ -n "$b" ] || { echo "guest: edus $edus are not laid out as --edu-bus"; exit 1; }
for e in $port $a $b; do wait_until 50 test -e "/sys/bus/pci/devices/$e/driver"; done

# vfio-reset IOMMUFD PORT A B, then with B off vfio-pci: NODE names a node.
run() {  # OUT IOMMUFD NODE-FUNCTION
    out=$1 iommufd=$2 node=$3
    "$build/tests/vfio-reset" "$iommufd" "$($node $port)" "$($node $a)" "$($node $b)" > "$out" 2>&1 ||
        status=1
    echo "$b" > /sys/bus/pci/drivers/vfio-pci/unbind
    wait_until 50 b_gone || echo "guest: $b kept its node" >> "$out"
    "$build/tests/vfio-reset" "$iommufd" - "$($node $a)" >> "$out" 2>&1 || status=1
    echo "$b" > /sys/bus/pci/drivers/vfio-pci/bind
    wait_until 50 b_back
}
b_gone() { [ -z "$($node "$b")" ]; }
b_back() { [ -n "$($node "$b")" ]; }

# Two groups in one IOAS under a 1.5 MiB RLIMIT_MEMLOCK, as a user.
memlock() {  # OUT IOMMUFD NODE-FUNCTION
    chmod 0666 "$2" "$($3 $port)" "$($3 $a)"
    limited_user "$build/tests/vfio-memlock" "$2" "$($3 $port)" user "$($3 $a)" > "$1" 2>&1
}

# The resets through the group API (QEMU 7.2's): vfio-group-reset PORT A B,
# then - A with B off vfio-pci; DIR names a device's sysfs directory.
group_run() {  # OUT DIR-FUNCTION [RUNNER...]
    out=$1 dir=$2
    shift 2
    "$@" "$build/tests/vfio-group-reset" "$($dir $port)" "$($dir $a)" "$($dir $b)" > "$out" 2>&1 ||
        status=1
    echo "$b" > /sys/bus/pci/drivers/vfio-pci/unbind
    wait_until 50 b_off_vfio || echo "guest: $b stayed on vfio-pci" >> "$out"
    "$@" "$build/tests/vfio-group-reset" - "$($dir $a)" >> "$out" 2>&1 || status=1
    echo "$b" > /sys/bus/pci/drivers/vfio-pci/bind
    wait_until 50 test -e "/sys/bus/pci/devices/$b/driver"
}
b_off_vfio() { ! test -e "/sys/bus/pci/devices/$b/driver"; }
sysdir() { echo "/sys/bus/pci/devices/$1"; }
group_run "$results/group-reset-kernel-$tag.txt" sysdir

cdev() { ls "/sys/bus/pci/devices/$1/vfio-dev" 2>/dev/null | sed 's|^|/dev/vfio/devices/|'; }
if [ -c /dev/iommu ]; then
    run "$results/reset-kernel-$tag.txt" /dev/iommu cdev
    memlock "$results/memlock2-kernel-$tag.txt" /dev/iommu cdev
fi

# ioasidd's sysfsdev directory of an address (issue 19's sysfsdev).
ioasidd_dir() { echo "/run/ioasidd/devices/$1"; }
# ioasidd's node of an address, from its topology.
node() { "$build/client/ioasidctl" topology | awk -v a="$1" '$2 == a && $NF ~ /^\/dev\// { print $NF }'; }
echo '{"groups": []}' > /run/host-only.json
apis=legacy
[ -c /dev/iommu ] && apis="auto legacy"
for api in $apis; do
    "$build/daemon/ioasidd" -f --log-level info --topology /run/host-only.json --vfio-api $api \
        >> "$results/reset-daemon-$tag.log" 2>&1 &
    daemon=$!
    wait_node /dev/vfio/device2 || status=1
    wait_until 50 "$build/client/ioasidctl" version > /dev/null
    run "$results/reset-ioasidd-$tag-$api.txt" /dev/ioasid node
    group_run "$results/group-reset-ioasidd-$tag-$api.txt" ioasidd_dir "$build/client/ioasid-run"
    memlock "$results/memlock2-ioasidd-$tag-$api.txt" /dev/ioasid node
    kill -TERM $daemon
    wait $daemon
    echo "daemon-exit $?" > "$results/reset-lifecycle-$tag-$api.txt"
done
exit $status
