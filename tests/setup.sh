#!/bin/bash
# Installs what is missing from Debian 12's packages and builds into build/.
#   setup.sh [--tests]   (--tests: also what the tests need: QEMU, clang, ...)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
need=(meson ninja-build pkg-config g++ libfuse3-dev catch2 libcli11-dev nlohmann-json3-dev
      libsystemd-dev libnl-3-dev)
if [ "${1:-}" = --tests ]; then
    need+=(qemu-system-x86 busybox-static cpio gzip clang libclang-rt-14-dev python3 systemd udev)
    # The reference kernel (tests/vm/build-refkernel.sh).
    need+=(make gcc bc bison flex libelf-dev libssl-dev xz-utils)
fi
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null
fi
if [ ! -f "$repo/build/build.ninja" ]; then
    meson setup "$repo/build" "$repo" >/dev/null
fi
ninja -C "$repo/build" >/dev/null
echo "setup: built $repo/build"
