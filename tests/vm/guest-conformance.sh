#!/bin/sh
# Runs inside the test VM: starts ioasidd twice (one-round-trip path and the
# retry fallback, the latter busy polling /dev/cuse), runs the conformance
# client against both and, where the kernel has iommufd, against /dev/iommu
# too. Transcripts go to RESULTS/.
#   guest-conformance.sh BUILD RESULTS TAG
set -u
build=$1 results=$2 tag=$3
client=$build/tests/iommufd-client
daemon=$build/daemon/ioasidd
status=0

. "$(dirname "$0")/lib.sh"

# READY=1 must come through sd_notify once the node exists.
here=$(dirname "$0")
python3 "$here/notify-listener.py" /run/notify.sock /dev/ioasid "$results/notify-$tag.txt" &
listener=$!
wait_until 50 test -S /run/notify.sock
NOTIFY_SOCKET=/run/notify.sock "$daemon" -f --log-level warning \
    --stats-file "$results/stats-$tag.json" &
direct=$!
"$daemon" -f --log-level warning --iommufd-node ioasid-retry --no-direct-memory --busy-poll-us 100 \
    --device-node-pattern vfio/retry-device%u --stats-file "$results/stats-retry-$tag.json" &
retry=$!
wait_node /dev/ioasid || status=1
wait_node /dev/ioasid-retry || status=1

"$client" /dev/ioasid > "$results/ioasidd-$tag.txt" 2>&1 || status=1
"$client" /dev/ioasid-retry > "$results/ioasidd-retry-$tag.txt" 2>&1 || status=1
if [ -c /dev/iommu ]; then
    "$client" /dev/iommu > "$results/kernel-$tag.txt" 2>&1 || status=1
fi

wait $listener
kill -TERM $direct $retry
wait $direct; rc1=$?
wait $retry; rc2=$?
echo "daemon-exit direct=$rc1 retry=$rc2" > "$results/lifecycle-$tag.txt"
[ -e /dev/ioasid ] && echo "node-left-behind /dev/ioasid" >> "$results/lifecycle-$tag.txt"
uname -r > "$results/kernel-version-$tag.txt"

# The device nodes, then VFIO forwarding of the real edu, in the same VM.
"$here/guest-devices.sh" "$build" "$results" "$tag" || status=1
"$here/guest-forward.sh" "$build" "$results" "$tag" || status=1
exit $status
