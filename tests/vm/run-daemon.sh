#!/bin/bash
# Runs ioasidd in the test VM (Debian 12's 6.1 kernel). With a terminal you
# get a shell in the VM while ioasidd serves /dev/ioasid (exit to stop);
# without one, ioasidd serves a short demonstration and stops.
#   run-daemon.sh [ioasidd options]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/../../build" && pwd)
mode=demo
[ -t 0 ] && [ -t 1 ] && mode=shell
flags=()
[ $mode = shell ] && flags+=(--interactive)
exec "$here/run-in-vm.sh" "${flags[@]}" --kernel deb61 -- \
    "$here/guest-daemon.sh" "$build" "$mode" "$@"
