#!/bin/bash
# Builds the 6.12 reference kernel the VM lanes boot (real iommufd, VFIO
# group/container/cdev, IOMMUFD_TEST, CUSE, all built in) from Debian's
# linux-source-6.12, the version pinned in refkernel/source-version, with
# refkernel/lanes.config over allnoconfig. The bzImage goes into a cache
# outside the clone, keyed by the source version and the config, so another
# clone on this machine reuses it. Prints the bzImage's path last.
#
#   build-refkernel.sh [--cached]   (--cached: only what is built already)
#
# $IOASID_KERNEL_CACHE: the cache (default ~/.cache/ioasidd/kernels).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${IOASID_KERNEL_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/ioasidd/kernels}
pinned=$(cat "$here/refkernel/source-version")
config=$here/refkernel/lanes.config
# What makes a different kernel: the source, the config, and how the config
# is applied (change the recipe's name when the steps below change).
recipe="allnoconfig+lanes.config bzImage"
key_of() { (echo "$1"; echo "$recipe"; cat "$config") | sha256sum | cut -c1-16; }

say() { echo "build-refkernel: $*" >&2; }
fail() { say "$*"; exit 1; }

mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9  # another clone building the same kernel: wait for it, then reuse it

# The pinned version; a mirror that no longer serves it gets the newest 6.12,
# said loudly (its key differs, so it is built and cached apart).
download() {  # into the current directory; prints the version fetched
    if apt-get download "linux-source-6.12=$pinned" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get download "linux-source-6.12=$pinned" >/dev/null 2>&1; }; then
        echo "$pinned"; return
    fi
    say "WARN linux-source-6.12 $pinned is not in apt; taking the newest 6.12"
    apt-get download linux-source-6.12 >/dev/null 2>&1 || return 1
    ls linux-source-6.12_*_all.deb | sed 's/^linux-source-6.12_\(.*\)_all.deb$/\1/' | sed 's/%7e/~/g'
}

key=$(key_of "$pinned")
if [ -f "$cache/$key/bzImage" ]; then echo "$cache/$key/bzImage"; exit 0; fi
if [ "${1:-}" = --cached ]; then
    fail "not built yet (tests/vm/build-refkernel.sh builds it, once per machine)"
fi

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
for tool in make gcc bc bison flex xz; do
    command -v "$tool" >/dev/null || fail "no $tool (tests/setup.sh --tests installs what the build needs)"
done
version=$(download) || fail "could not download linux-source-6.12 with apt"
key=$(key_of "$version")
if [ -f "$cache/$key/bzImage" ]; then echo "$cache/$key/bzImage"; exit 0; fi
say "building Linux $version for the VM lanes into $cache/$key (once per machine; about 8 minutes on 2 cores)"
dpkg-deb --fsys-tarfile linux-source-6.12_*_all.deb | tar -x ./usr/src/linux-source-6.12.tar.xz
rm -f ./*.deb
tar -xJf usr/src/linux-source-6.12.tar.xz
rm -rf usr
cd linux-source-6.12
start=$(date +%s)
KCONFIG_ALLCONFIG=$config make allnoconfig > "$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; fail "the kernel's allnoconfig failed"; }
# Every line of the config must hold: Kconfig drops a symbol whose
# dependencies are missing without a word.
missing=$(grep '^CONFIG_' "$config" | while read -r line; do
    grep -qx "$line" .config || echo "${line%%=*}"; done)
[ -z "$missing" ] || fail "the config did not take: $(echo $missing)"
make -j"$(nproc)" bzImage >> "$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; fail "the kernel build failed"; }
mkdir -p "$cache/$key.tmp"
cp arch/x86/boot/bzImage .config "$cache/$key.tmp/"
echo "Linux $version ($(make -s kernelrelease)), $(( $(date +%s) - start )) s on $(nproc) cores" \
    > "$cache/$key.tmp/built"
rm -rf "${cache:?}/$key" && mv "$cache/$key.tmp" "$cache/$key"
say "$(cat "$cache/$key/built")"
echo "$cache/$key/bzImage"
