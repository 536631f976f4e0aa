#!/bin/bash
# Downloads Debian's own 6.1 kernel (bookworm) into the VM cache, unpacked:
# $IOASID_VM_CACHE/deb61/{vmlinuz,modules/}. Nothing is installed on the host.
set -euo pipefail
cache=${IOASID_VM_CACHE:-$(cd "$(dirname "$0")/../.." && pwd)/.vm}
dest=$cache/deb61
# overlay.ko came later (the systemd boot): a cache without it is refetched.
if [ -f "$dest/vmlinuz" ] && [ -f "$dest/modules/overlay.ko" ]; then exit 0; fi
mkdir -p "$dest" && cd "$dest"
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' |
      awk '{print $1}' | sort -V | tail -1)
if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' |
          awk '{print $1}' | sort -V | tail -1)
fi
[ -n "$pkg" ] || { echo "fetch-kernel: no linux-image-6.1.0-*-amd64-unsigned in apt" >&2; exit 1; }
rm -rf pkg ./*.deb
apt-get download "$pkg" >/dev/null 2>&1 || apt-get download "$pkg"
dpkg -x ./*.deb pkg
ver=$(ls pkg/lib/modules)
cp "pkg/boot/vmlinuz-$ver" vmlinuz
mkdir -p modules
k=pkg/lib/modules/$ver/kernel
for m in fs/fuse/fuse.ko fs/fuse/cuse.ko \
         drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko \
         drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko \
         drivers/virtio/virtio_pci.ko fs/netfs/netfs.ko fs/fscache/fscache.ko \
         net/9p/9pnet.ko net/9p/9pnet_virtio.ko fs/9p/9p.ko \
         virt/lib/irqbypass.ko drivers/vfio/vfio.ko drivers/vfio/vfio_iommu_type1.ko \
         drivers/vfio/vfio_virqfd.ko drivers/vfio/pci/vfio-pci-core.ko drivers/vfio/pci/vfio-pci.ko \
         fs/overlayfs/overlay.ko; do
    f=$k/$m
    [ -f "$f" ] || f=$(find "$k" -name "$(basename "$m")" | head -1)
    [ -n "$f" ] && [ -f "$f" ] && cp "$f" modules/ || echo "fetch-kernel: no $(basename "$m") in $ver" >&2
done
echo "$ver" > version
rm -rf pkg ./*.deb
echo "fetch-kernel: Debian $ver ready in $dest"
