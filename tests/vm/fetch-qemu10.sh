#!/bin/bash
# Unpacks Debian 12's QEMU 10.0 (bookworm-backports) into the VM cache,
# beside the host's own QEMU 7.2, which stays untouched:
# $IOASID_VM_CACHE/qemu10/{usr/bin/qemu-system-x86_64,usr/share/qemu}.
# The packages come from Debian's archive through a private sources list and
# a private lists folder; nothing is installed. Prints the binary's path.
#
# The version is pinned (tests/vm/qemu10-version): the qtest lane's
# transcripts were taken with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${IOASID_VM_CACHE:-$(cd "$here/../.." && pwd)/.vm}
version=$(cat "$here/qemu10-version")
dest=$cache/qemu10
bin=$dest/usr/bin/qemu-system-x86_64
if [ -x "$bin" ] && [ "$(cat "$dest/version" 2>/dev/null)" = "$version" ]; then
    echo "$bin"; exit 0
fi
mkdir -p "$cache"
exec 9> "$cache/qemu10.lock"
flock 9
work=$(mktemp -d "$cache/qemu10.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb http://deb.debian.org/debian bookworm-backports main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives")
apt-get "${apt_opts[@]}" update -qq > "$work/update.log" 2>&1 ||
    { tail -5 "$work/update.log" >&2; echo "fetch-qemu10: apt-get update of bookworm-backports failed" >&2; exit 1; }
cd "$work"
for p in qemu-system-x86 qemu-system-common qemu-system-data; do
    apt-get "${apt_opts[@]}" download "$p=$version" > download.log 2>&1 ||
        { cat download.log >&2; echo "fetch-qemu10: no $p $version in bookworm-backports" >&2; exit 1; }
done
rm -rf "$dest.new" && mkdir -p "$dest.new"
for d in ./*.deb; do dpkg -x "$d" "$dest.new"; done
echo "$version" > "$dest.new/version"
rm -rf "$dest" && mv "$dest.new" "$dest"
"$bin" --version | head -1 >&2
echo "$bin"
