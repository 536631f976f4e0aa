#!/bin/bash
# Quick start: installs what is missing, builds, and runs ioasidd in the
# foreground on its built-in default (/dev/ioasid). Arguments go to ioasidd.
# On a kernel without CUSE it says so and runs ioasidd in the test VM
# (Debian 12's own kernel under QEMU) instead.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -e /dev/cuse ] && command -v modprobe >/dev/null; then modprobe cuse 2>/dev/null || true; fi
if [ -e /dev/cuse ]; then
    "$repo/tests/setup.sh"
    exec "$repo/build/daemon/ioasidd" -f "$@"
fi
echo "ioasidd: this kernel ($(uname -r)) has no CUSE, so /dev/ioasid cannot be served here; running ioasidd in the test VM on Debian's own 6.1 kernel instead"
"$repo/tests/setup.sh" --tests
exec "$repo/tests/vm/run-daemon.sh" "$@"
