#!/bin/bash
# The VM lane of the /dev/ioasid issue: the conformance client on
#  - the reference 6.12 kernel, against its real /dev/iommu and against
#    ioasidd (both ioctl paths), side by side;
#  - Debian 12's own 6.1 kernel (no iommufd at all), against ioasidd.
# Every ioasidd transcript must equal the kernel's. Prints one line per check
# and "N passed, N failed".
#   conformance.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: conformance.sh BUILD_DIR}" && pwd)
results=$build/vm-results
rm -rf "$results" && mkdir -p "$results"
. "$here/lane.sh"
# The reference kernel, built once per machine (tests/vm/build-refkernel.sh);
# a failed build is one line here, and every ref VM then says it cannot run.
# (run-all.sh builds it first and sets IOASID_REFKERNEL_TRIED.)
if [ -z "${IOASID_REFKERNEL:-}${IOASID_REFKERNEL_TRIED:-}" ]; then
    kernel_out=$("$here/build-refkernel.sh" 2>&1) || echo "CANNOT build the reference kernel: $(echo "$kernel_out" | tail -1)"
fi
guest ref ref guest-conformance.sh vm-ref.log --edu
check "vm boots the reference kernel and runs the client" test -s "$results/kernel-ref.txt"
# The kernel transcripts every lane compares against are committed
# (expected/); the reference kernel regenerates them here, so that no lane
# depends on another having run, and a kernel that answers differently
# from what is committed fails.
check "the 6.12 kernel's /dev/iommu gives the committed conformance transcript ($(wc -l < "$here/expected/iommufd-conformance.txt") calls)" \
    same "$here/expected/iommufd-conformance.txt" "$results/kernel-ref.txt"
guest deb61 deb61 guest-conformance.sh vm-deb61.log --edu
# Hot reset, ioeventfds, two groups in one IOAS: three more real edus,
# where a reset reaches them.
guest ref ref guest-bus.sh vm-bus-ref.log --edu-bus
guest deb61 deb61 guest-bus.sh vm-bus-deb61.log --edu-bus
check "vm boots Debian's 6.1 kernel and runs the client" test -s "$results/ioasidd-deb61.txt"
# The service (issue 5): Debian's 6.1 booted with systemd as PID 1, ioasidd
# installed by meson install and started by its own unit, in its sandbox.
# Its guest takes the staged install where the others take a tag.
meson install -C "$build" --destdir "$results/stage" --no-rebuild --quiet > "$results/install.log" 2>&1 &&
    guest deb61 "$results/stage" guest-systemd.sh vm-systemd.log --edu --systemd

ref=$here/expected/iommufd-conformance.txt
for t in ioasidd-ref ioasidd-retry-ref ioasidd-deb61 ioasidd-retry-deb61; do
    check "$t transcript identical to the kernel's /dev/iommu ($(wc -l < "$ref" 2>/dev/null || echo 0) calls)" \
        same "$ref" "$results/$t.txt"
done
for tag in ref deb61; do
    check "ioasidd on $tag sends READY=1 through sd_notify once /dev/ioasid exists" \
        grep -q "^READY=1 node-exists=yes" "$results/notify-$tag.txt"
    check "ioasidd on $tag exits 0 on SIGTERM and removes its nodes" \
        grep -qx "daemon-exit direct=0 retry=0" "$results/lifecycle-$tag.txt"
    check "ioasidd on $tag served every ioctl in one round trip (direct path)" \
        python3 "$here/check-stats.py" "$results/stats-$tag.json" direct
    check "ioasidd on $tag served the retry path in 3+ round trips" \
        python3 "$here/check-stats.py" "$results/stats-retry-$tag.json" retry
done
# The device nodes (issue 3): the VMM-like client against the real edu
# through the kernel's cdev and against ioasidd's emulated edu; lines with
# "~" describe the IOMMU hardware (VT-d there, none here) and are left out.
kernel_dev=$results/devices-kernel-ref.txt
edu=$here/expected/vfio-edu.txt
grep -v '^~' "$kernel_dev" > "$results/devices-kernel-ref.cmp" 2>/dev/null
check "the VMM-like client drives the real edu through the kernel's /dev/iommu and VFIO cdev" \
    grep -qx "dma.bytes: equal" "$kernel_dev"
check "the real edu through the kernel's /dev/iommu and VFIO cdev gives the committed transcript" \
    same "$edu" "$results/devices-kernel-ref.cmp"
for tag in ref deb61 retry-ref retry-deb61; do
    t=$results/devices-ioasidd-$tag
    grep -v '^~' "$t.txt" > "$t.cmp" 2>/dev/null
    check "ioasidd on $tag: the emulated edu DMAs the bytes and raises its MSI" \
        grep -qx "dma.to-ram: irq=1" "$t.txt"
    check "ioasidd on $tag: the edu transcript equals the real edu's ($(wc -l < "$edu") lines)" \
        same "$edu" "$t.cmp"
    grep '^ioeventfd\.' "$here/expected/vfio-reset.txt" > "$results/ioeventfd-expected.txt"
    check "ioasidd on $tag: the emulated edu's ioeventfds give the real edu's transcript (6.12 cdev)" \
        sh -c "grep '^ioeventfd\.' '$results/ioeventfd-$tag.txt' | diff -u '$results/ioeventfd-expected.txt' - > '$results/diff-ioeventfd-$tag.txt'"
    [ -s "$results/diff-ioeventfd-$tag.txt" ] && head -20 "$results/diff-ioeventfd-$tag.txt"
    check "ioasidd on $tag: group rules across two processes as expected" \
        same "$here/expected/vfio-groups.txt" "$results/groups-$tag.txt"
    case $tag in retry-*) ;; *)
        check "ioasidd on $tag: a DMA into an area whose mapper exited misses the new process with its pid" \
            same "$here/expected/pid-reuse.txt" "$results/pid-reuse-$tag.txt"
        ;;
    esac
    check "ioasidd on $tag: exits 0 with device nodes and removes them" \
        grep -qx "daemon-exit 0" "$results/devices-lifecycle-$tag.txt"
done
for tag in ref deb61; do
    t=$results/control-$tag.txt
    check "ioasidctl on $tag: version, topology (groups, viability, nodes), stats, --json" \
        sh -c "grep -q '\"version\"' '$t' && grep -q '^group 100000001 *viable' '$t' &&
               grep -q 'fffe:00:01.1 .*/dev/vfio/device2' '$t' && grep -q '^IOAS_ALLOC' '$t' &&
               grep -q '\"node\": \"/dev/vfio/device0\"' '$t'"
    e=$results/control-events-$tag.txt
    check "ioasidctl monitor on $tag: CLIENT_OPENED, CLIENT_CLOSED, and DMA_FAULT at the unmapped IOVA" \
        sh -c "grep -q '^CLIENT_OPENED {\"client\":1,' '$e' && grep -q '^CLIENT_CLOSED ' '$e' &&
               grep -q '^DMA_FAULT .*\"device\":\"fffe:00:00.0\".*\"iova\":1052672' '$e'"
    tr=$results/trace-$tag.txt
    check "ioasidctl trace on $tag: the client's ioctls with decoded arguments and outputs equal to what it saw" \
        python3 "$here/check-trace.py" "$tr" "$results/devices-ioasidd-$tag.txt"
    h=$results/hotplug-$tag.txt
    check "ioasidctl on $tag: device-add makes a working edu node; device-del takes it from its client and removes it" \
        sh -c "grep -qx 'fffe:00:07.0 /dev/vfio/device3' '$h' && grep -qx 'dma.bytes: equal' '$h' &&
               grep -qx 'removed fffe:00:07.0 (/dev/vfio/device3)' '$h' &&
               grep -qx 'after-del.device: GET_INFO -> ENOTCONN' '$h' && ! grep -q node-left-behind '$h' &&
               tail -1 '$h' | grep -qx 0 &&
               grep -q '^DEVICE_ADDED .*fffe:00:07.0' '$e' && grep -q '^DEVICE_REMOVED .*fffe:00:07.0' '$e'"
    check "ioasidctl on $tag: a bad log level exits 1; quit stops the daemon (exit 0)" \
        sh -c "grep -qx 'bad-level-exit 1' '$t' && grep -qx 'daemon-exit 0' '$results/devices-lifecycle-$tag.txt'"
done
check "ioasidctl monitor on ref: GROUP_VIABILITY_CHANGED and DEVICE_REVOKED as the drivers change" \
    sh -c "grep -q '^GROUP_VIABILITY_CHANGED .*\"viable\":true' '$results/revoke-events-ref.txt' &&
           grep -q '^DEVICE_REVOKED .*fffe:00:05.0' '$results/revoke-events-ref.txt'"
check "ioasidd on ref: driver binds (uevents) make a group viable, then revoke its bound device (ENODEV)" \
    same "$here/expected/vfio-revoke.txt" "$results/revoke-ref.txt"
# VFIO forwarding (issue 4): QEMU's real edu bound to vfio-pci, driven
# through ioasidd with the legacy container API, by the same client.
# deb61 forwards through the legacy container API (all it has); ref through
# the kernel's own iommufd and cdev, and through the legacy API as well.
for run in "deb61 legacy container" "ref kernel iommufd+cdev" "ref-legacy legacy container"; do
    set -- $run
    tag=$1 api="$2 $3" t=$results/forward-$1
    grep -v '^~' "$t.txt" > "$t.cmp" 2>/dev/null
    check "ioasidd on ${tag%-legacy} forwards the real edu ($api): the DMA moves the bytes and the MSI arrives" \
        grep -qx "dma.to-ram: irq=1" "$t.txt"
    check "ioasidd on ${tag%-legacy} forwards the real edu ($api): transcript equals the 6.12 kernel's own cdev" \
        same "$edu" "$t.cmp"
done
check "the 6.12 kernel charges what a device pins to the user's RLIMIT_MEMLOCK (ENOMEM over it; none for root)" \
    same "$here/expected/vfio-memlock.txt" "$results/memlock-kernel-ref.txt"
check "the 6.12 kernel's RLIMIT_MODE: per user, one user's processes share a budget; per process, each has its own less what it mlocked" \
    same "$here/expected/vfio-memlock-modes.txt" "$results/memlock-modes-kernel-ref.txt"
check "the 6.12 kernel's first domain pins what the IOAS holds: memory unmapped since its IOAS_MAP fails the attach" \
    same "$here/expected/vfio-memlock-fill.txt" "$results/memlock-fill-kernel-ref.txt"
for tag in deb61 ref; do
    check "ioasidd on $tag forwarding: what the container pins counts against the client's RLIMIT_MEMLOCK, as the kernel's" \
        same "$here/expected/vfio-memlock.txt" "$results/forward-memlock-$tag.txt"
    check "ioasidd on $tag forwarding: both RLIMIT_MODEs charge as the kernel's (per user; per process with its mlocked memory)" \
        same "$here/expected/vfio-memlock-modes.txt" "$results/forward-memlock-modes-$tag.txt"
    check "ioasidd on $tag forwarding: the first domain pins what the IOAS holds; memory unmapped since fails the attach, as the kernel's" \
        same "$here/expected/vfio-memlock-fill.txt" "$results/forward-memlock-fill-$tag.txt"
    check "ioasidd on $tag forwarding: SIGTERM while a client holds mapped memory exits 0" \
        grep -qx "daemon-exit 0" "$results/forward-term-held-$tag.txt"
    check "ioasidd on $tag forwarding: private memory EOPNOTSUPP; kill -9 gives ENOTCONN and frees the group" \
        same "$here/expected/vfio-forward-kill.txt" "$results/forward-kill-$tag.txt"
done
check "the 6.12 kernel's cdev: hot reset (devids, ownership, a bus reset of two devices) and ioeventfds of real edus" \
    same "$here/expected/vfio-reset.txt" "$results/reset-kernel-ref.txt"
for t in deb61-legacy ref-legacy ref-auto; do
    check "ioasidd on ${t%-*} forwarding (${t#*-} API): hot reset and ioeventfds give the 6.12 kernel's cdev transcript; exits 0" \
        sh -c "diff -u '$here/expected/vfio-reset.txt' '$results/reset-ioasidd-$t.txt' > '$results/diff-reset-$t.txt' &&
               grep -qx 'daemon-exit 0' '$results/reset-lifecycle-$t.txt'"
    [ -s "$results/diff-reset-$t.txt" ] && head -20 "$results/diff-reset-$t.txt"
done
for tag in ref deb61; do
    check "the $tag kernel's group API: hot reset of group-opened edus (group ids; group fds, their refusals) gives the committed transcript" \
        same "$here/expected/vfio-group-reset.txt" "$results/group-reset-kernel-$tag.txt"
done
for t in deb61-legacy ref-legacy ref-auto; do
    check "ioasidd on ${t%-*} forwarding (${t#*-} API): hot reset through its groups and libioasid-preload.so gives the kernel's group transcript" \
        same "$here/expected/vfio-group-reset.txt" "$results/group-reset-ioasidd-$t.txt"
done
for tag in deb61 ref; do
    for t in memlock:vfio-memlock memlock-modes:vfio-memlock-modes memlock2:vfio-memlock-two-groups \
             memlock-fill:vfio-memlock-fill; do
        check "ioasidd on $tag: an emulated device's domain charges RLIMIT_MEMLOCK as the kernel's real one (${t#*:})" \
            same "$here/expected/${t#*:}.txt" "$results/emulated-${t%%:*}-$tag.txt"
    done
done
check "the 6.12 kernel charges an IOAS's pages once for two groups' devices attached to it" \
    same "$here/expected/vfio-memlock-two-groups.txt" "$results/memlock2-kernel-ref.txt"
for t in deb61-legacy ref-legacy ref-auto; do
    check "ioasidd on ${t%-*} forwarding (${t#*-} API): two groups' containers mirroring one IOAS charge its pages once, as the kernel's" \
        same "$here/expected/vfio-memlock-two-groups.txt" "$results/memlock2-ioasidd-$t.txt"
done
check "ioasidd under systemd on deb61: the installed unit starts it (READY=1), sandboxed (capabilities, read-only root), nodes kvm 0660 by its udev rules; kill -9 restarts it; stop is clean" \
    same "$here/expected/systemd.txt" "$results/systemd.txt"
for t in emulated forward restarted; do
    grep -v '^~' "$results/systemd-$t.txt" > "$results/systemd-$t.cmp" 2>/dev/null
done
check "ioasidd under systemd on deb61: in the sandbox the emulated edu, the forwarded real edu, and the emulated edu after the restart give the kernel's transcript" \
    sh -c "for t in emulated forward restarted; do
               diff -q '$edu' '$results/systemd-'\$t.cmp > /dev/null || exit 1
           done"
for tag in deb61 ref; do
    t=$results/forward-hotbind-client-$tag
    grep -v '^~' "$t.txt" > "$t.cmp" 2>/dev/null
    check "ioasidd on $tag: the edu bound to vfio-pci while it runs gets a node that gives the kernel's transcript; unbound, the node goes" \
        sh -c "printf 'before-bind: 0\nafter-bind: /dev/vfio/device0\nafter-unbind: node removed\ndaemon-exit 0\n' |
                   diff - '$results/forward-hotbind-$tag.txt' &&
               diff -q '$edu' '$t.cmp' &&
               grep -q '^DEVICE_ADDED .*\"node\":\"/dev/vfio/device0\"' '$results/forward-hotbind-events-$tag.txt' &&
               grep -q '^DEVICE_REMOVED .*\"node\":\"/dev/vfio/device0\"' '$results/forward-hotbind-events-$tag.txt'"
done
# Upstream names (--iommufd-node iommu --device-node-pattern
# vfio/devices/vfio%u): on 6.1 ioasidd forwards through the legacy
# container, never through its own nodes taken for the kernel's; where the
# kernel has /dev/iommu, ioasidd refuses to start and says why.
t=$results/forward-upstream-client-deb61
grep -v '^~' "$t.txt" > "$t.cmp" 2>/dev/null
check "ioasidd on deb61 under upstream names forwards the real edu through the legacy container (not its own nodes), SIGTERM exits 0" \
    same "$here/expected/upstream-names-deb61.txt" "$results/forward-upstream-deb61.txt"
check "ioasidd on deb61 under upstream names: the forwarded edu gives the kernel's transcript" \
    same "$edu" "$t.cmp"
check "the 6.12 kernel's cdev: a second process gets EINVAL from BIND and GET_INFO of a device another one holds" \
    same "$here/expected/two-processes.txt" "$results/two-processes-kernel-ref.txt"
check "ioasidd on deb61 under upstream names: a second process gets the kernel's answers for a device another one holds" \
    same "$here/expected/two-processes.txt" "$results/two-processes-upstream-deb61.txt"
check "ioasidd on ref under upstream names refuses to start: the kernel's /dev/iommu is there" \
    same "$here/expected/upstream-names-ref.txt" "$results/forward-upstream-ref.txt"
echo "vm lane: kernels $(cat "$results"/kernel-version-ref.txt 2>/dev/null) and $(cat "$results"/kernel-version-deb61.txt 2>/dev/null)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
