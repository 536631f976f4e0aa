#!/bin/sh
# Runs inside the test VM: QEMU's real edu, bound to vfio-pci, forwarded by
# ioasidd through the legacy VFIO API (the only one Debian's 6.1 has). The
# VMM-like client's transcript must equal the one the 6.12 kernel's own
# cdev gives; then private memory, and kill -9 of the daemon.
#   guest-forward.sh BUILD RESULTS TAG
set -u
build=$1 results=$2 tag=$3
status=0

edu=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null | head -1)
[ -n "$edu" ] || { echo "guest: no edu device"; exit 1; }
edu=$(dirname "$edu")
[ -e "$edu/driver" ] || echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
group=$(basename "$(readlink "$edu/iommu_group")")

. "$(dirname "$0")/lib.sh"

# Only the host's devices: the forwarded edu is the one node.
echo '{"groups": []}' > /run/host-only.json
start_daemon() {
    "$build/daemon/ioasidd" -f --log-level info --topology /run/host-only.json "$@" \
        >> "$results/forward-daemon-$tag.log" 2>&1 &
    daemon=$!
    wait_node /dev/vfio/device0 || status=1
}

# The API forwarding takes by itself (the kernel's iommufd and cdev where
# they exist, else the legacy container), and on such a kernel the legacy
# one too.
apis=auto
[ -c /dev/iommu ] && apis="auto legacy"
for api in $apis; do
    suffix=
    [ $api = legacy ] && suffix=-legacy
    start_daemon --vfio-api $api
    "$build/tests/vfio-client" /dev/ioasid /dev/vfio/device0 \
        > "$results/forward-$tag$suffix.txt" 2>&1 || status=1
    kill -TERM $daemon
    wait $daemon
    echo "daemon-exit $?" > "$results/forward-lifecycle-$tag$suffix.txt"
done

# Private memory, then kill -9 while the client holds the device.
start_daemon
rm -f /run/go && mkfifo /run/go
"$build/tests/vfio-forward" /dev/ioasid /dev/vfio/device0 < /run/go \
    > "$results/forward-kill-$tag.txt" 2>&1 &
client=$!
exec 3> /run/go
wait_line "$results/forward-kill-$tag.txt" '^ready' 100
kill -KILL $daemon
wait $daemon
echo go >&3
exec 3>&-
wait $client || status=1
# The container went with the daemon: the group is free for anyone.
if (exec 4<> "/dev/vfio/$group") 2>/dev/null; then
    echo "group-free-after-kill" >> "$results/forward-kill-$tag.txt"
else
    echo "group-still-held-after-kill" >> "$results/forward-kill-$tag.txt"
fi

# Two processes and one device: the first binds and attaches it and holds
# it; what the second gets (open, BIND, GET_INFO) must be the kernel's.
two_processes() {  # IOMMUFD DEVICE OUT
    rm -f /run/hold-go && mkfifo /run/hold-go
    "$build/tests/vfio-inflight" hold "$1" "$2" < /run/hold-go > /run/hold.txt 2>&1 &
    holder=$!
    exec 5> /run/hold-go
    wait_line /run/hold.txt '^hold ' 100
    { cat /run/hold.txt; "$build/tests/vfio-inflight" second "$1" "$2"; } > "$3" 2>&1
    exec 5>&-
    wait $holder
}

# RLIMIT_MEMLOCK (1.5 MiB here): what is pinned for a client counts
# against its user's limit, as the kernel's iommufd charges it; root has
# CAP_IPC_LOCK. Where the kernel has the cdev, the same program runs
# against it first.
memlock() {  # IOMMUFD DEVICE
    chmod 0666 "$1" "$2"
    limited_user "$build/tests/vfio-memlock" "$1" "$2" user
    limited_root "$build/tests/vfio-memlock" "$1" "$2" root
}
if [ -c /dev/iommu ]; then
    cdev=$(ls -d "$edu"/vfio-dev/vfio* 2>/dev/null | head -1)
    memlock /dev/iommu "/dev/vfio/devices/$(basename "$cdev")" \
        > "$results/memlock-kernel-$tag.txt" 2>&1
    "$build/tests/vfio-memlock" /dev/iommu "/dev/vfio/devices/$(basename "$cdev")" --modes \
        > "$results/memlock-modes-kernel-$tag.txt" 2>&1
    "$build/tests/vfio-memlock" /dev/iommu "/dev/vfio/devices/$(basename "$cdev")" --fill \
        > "$results/memlock-fill-kernel-$tag.txt" 2>&1
    two_processes /dev/iommu "/dev/vfio/devices/$(basename "$cdev")" \
        "$results/two-processes-kernel-$tag.txt"
fi
start_daemon
memlock /dev/ioasid /dev/vfio/device0 > "$results/forward-memlock-$tag.txt" 2>&1
# Each accounting mode, set by root; per process, processes of one user
# count apart, each with what it has mlocked.
"$build/tests/vfio-memlock" /dev/ioasid /dev/vfio/device0 --modes \
    > "$results/forward-memlock-modes-$tag.txt" 2>&1
"$build/tests/vfio-memlock" /dev/ioasid /dev/vfio/device0 --fill \
    > "$results/forward-memlock-fill-$tag.txt" 2>&1
kill -TERM $daemon
wait $daemon

# SIGTERM while a client holds the forwarded device with memory mapped: the
# daemon tears its containers down after the rest and exits 0.
start_daemon
rm -f /run/go && mkfifo /run/go
"$build/tests/vfio-forward" /dev/ioasid /dev/vfio/device0 < /run/go > /run/held.txt 2>&1 &
client=$!
exec 3> /run/go
wait_line /run/held.txt '^ready' 100
kill -TERM $daemon
wait $daemon
echo "daemon-exit $?" > "$results/forward-term-held-$tag.txt"
echo go >&3
exec 3>&-
wait $client

# Upstream names: ioasidd as /dev/iommu and /dev/vfio/devices/vfioN. On 6.1
# those names are free, and the daemon must not take its own nodes for the
# kernel's iommufd and cdev (it forwards through the legacy container). On a
# kernel that has them, the names are the kernel's: ioasidd refuses to
# start, saying so, instead of serving nothing under a name it lost.
gone() { ! [ -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status"; }
upstream=$results/forward-upstream-$tag.txt
: > "$upstream"
"$build/daemon/ioasidd" -f --log-level info --topology /run/host-only.json --iommufd-node iommu \
    --device-node-pattern vfio/devices/vfio%u > /run/upstream-daemon.log 2>&1 &
daemon=$!
if [ -e /sys/class/misc/iommu ]; then
    wait_until 100 gone $daemon && echo "refused-to-start: yes" >> "$upstream"
    wait $daemon
    echo "daemon-exit $?" >> "$upstream"
    grep -o '/dev/iommu exists already.*' /run/upstream-daemon.log | head -1 >> "$upstream"
else
    wait_node /dev/vfio/devices/vfio0 || status=1
    # A hang here is the bug this guards against: bounded, and reported.
    timeout 120 "$build/tests/vfio-client" /dev/iommu /dev/vfio/devices/vfio0 \
        > "$results/forward-upstream-client-$tag.txt" 2>&1
    echo "client-exit $?" >> "$upstream"
    sed -n 's/.*\(forwarded through the .*\)/\1/p' /run/upstream-daemon.log | head -1 >> "$upstream"
    two_processes /dev/iommu /dev/vfio/devices/vfio0 "$results/two-processes-upstream-$tag.txt"
    # kill -9 of a client in the middle of its BIND, IOAS_ALLOC and ATTACH
    # rounds, three times: no context of it stays in the daemon.
    for delay in 0.1 0.3 0.7; do
        "$build/tests/vfio-inflight" bind-loop /dev/iommu /dev/vfio/devices/vfio0 > /run/bind-loop.txt 2>&1 &
        looper=$!
        wait_line /run/bind-loop.txt '^bind-loop ready' 100
        sleep $delay
        kill -KILL $looper
        wait $looper
    done
    count_clients() {
        "$build/client/ioasidctl" --json clients | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
    }
    no_clients() { [ "$(count_clients)" = 0 ]; }
    wait_until 50 no_clients
    echo "contexts-after-kill-9: $(count_clients)" >> "$upstream"
    # SIGTERM while three clients keep requests in flight: the daemon exits,
    # and each client's next call fails instead of waiting.
    for i in 1 2 3; do
        "$build/tests/vfio-inflight" loop /dev/iommu > "/run/loop-$i.txt" 2>&1 &
        eval "loop$i=\$!"
        wait_line "/run/loop-$i.txt" '^loop running' 100
    done
    kill -TERM $daemon
    if wait_until 100 gone $daemon; then wait $daemon; echo "daemon-exit $?" >> "$upstream"
    else echo "daemon-hung-after-SIGTERM" >> "$upstream"; kill -KILL $daemon; fi
    [ -e /dev/iommu ] && echo "node-left-behind /dev/iommu" >> "$upstream"
    for i in 1 2 3; do
        eval "looper=\$loop$i"
        if wait_until 100 gone "$looper"; then wait "$looper"; else kill -KILL "$looper"; fi
    done
    cat /run/loop-1.txt /run/loop-2.txt /run/loop-3.txt | grep -v '^loop running' | sort | uniq -c |
        sed 's/^ *//' >> "$upstream"
fi
cp /run/upstream-daemon.log "$results/forward-upstream-daemon-$tag.log"

# Hot binding: the edu joins vfio-pci while ioasidd runs, gets a node that
# works, and loses it when it leaves vfio-pci again.
addr=$(basename "$edu")
hot=$results/forward-hotbind-$tag.txt
echo "$addr" > /sys/bus/pci/drivers/vfio-pci/unbind
"$build/daemon/ioasidd" -f --log-level info --topology /run/host-only.json \
    >> "$results/forward-daemon-$tag.log" 2>&1 &
daemon=$!
wait_node /dev/ioasid || status=1
wait_until 50 "$build/client/ioasidctl" version > /dev/null
"$build/client/ioasidctl" monitor > "$results/forward-hotbind-events-$tag.txt" 2>&1 &
monitor=$!
wait_line "$results/forward-hotbind-events-$tag.txt" '^# following'
{
    echo "before-bind: $(ls /dev/vfio | grep -c '^device')"
    echo "$addr" > /sys/bus/pci/drivers/vfio-pci/bind
    wait_node /dev/vfio/device0 && echo "after-bind: /dev/vfio/device0"
} > "$hot" 2>&1
"$build/tests/vfio-client" /dev/ioasid /dev/vfio/device0 > "$results/forward-hotbind-client-$tag.txt" 2>&1 || status=1
echo "$addr" > /sys/bus/pci/drivers/vfio-pci/unbind
node_gone() { [ ! -e /dev/vfio/device0 ]; }
wait_until 100 node_gone && echo "after-unbind: node removed" >> "$hot"
wait_line "$results/forward-hotbind-events-$tag.txt" '^DEVICE_REMOVED'
kill -INT $monitor
kill -TERM $daemon
wait $daemon
echo "daemon-exit $?" >> "$hot"
echo "$addr" > /sys/bus/pci/drivers/vfio-pci/bind
exit $status
