#!/bin/bash
# Builds the kernel's own iommufd selftest (tools/testing/selftests/iommu/
# iommufd.c) from Debian's linux-source-6.12, into the VM cache: only the
# selftest, the harness and the uapi headers it needs are extracted, and
# nothing of it is committed. Prints the binary's path.
#   build-selftest.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${IOASID_VM_CACHE:-$repo/.vm}/selftest
bin=$cache/iommufd
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache" && cd "$cache"
if [ ! -f src/tools/testing/selftests/iommu/iommufd.c ]; then
    rm -rf src usr ./*.deb
    # bookworm-security carries the 6.12 source (the kernel of
    # bookworm-backports and trixie): the version the reference kernel is
    # built from, so that the selftest matches the kernel it is run on.
    pinned=linux-source-6.12=$(cat "$repo/tests/vm/refkernel/source-version")
    apt-get download "$pinned" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get download "$pinned" >/dev/null; }
    ls linux-source-6.12_*.deb | sed 's/.*_\(.*\)_all.deb/linux-source-6.12 \1/' > version
    dpkg-deb --fsys-tarfile linux-source-6.12_*.deb | tar -x ./usr/src/linux-source-6.12.tar.xz
    mkdir -p src
    tar -xJf usr/src/linux-source-6.12.tar.xz -C src --strip-components=1 \
        linux-source-6.12/tools/testing/selftests/iommu \
        linux-source-6.12/tools/testing/selftests/kselftest_harness.h \
        linux-source-6.12/tools/testing/selftests/kselftest.h \
        linux-source-6.12/drivers/iommu/iommufd/iommufd_test.h \
        linux-source-6.12/include/uapi/linux/iommufd.h \
        linux-source-6.12/include/uapi/linux/vfio.h
    rm -rf usr ./*.deb
fi
# The 6.12 uapi headers ahead of the system's (bookworm's are 6.1's), as
# taken from the tree: -D__user= does what headers_install would.
mkdir -p include/linux
cp src/include/uapi/linux/iommufd.h src/include/uapi/linux/vfio.h include/linux/
# Debian's 6.12.117 selftest names a few symbols of later kernels; tests
# that use those features fail on the reference kernel too.
gcc -O2 -Wall -Wno-unused-function -pthread -D_GNU_SOURCE -D__user= -I include \
    -DMOCK_FLAGS_DEVICE_PASID='(1<<2)' -DMOCK_PASID_WIDTH=20 \
    -DIOMMU_HW_INFO_TYPE_DEFAULT=0 -DIOMMU_HW_INFO_FLAG_INPUT_TYPE='(1<<1)' \
    -Din_data_type=out_data_type \
    -o "$bin.tmp" src/tools/testing/selftests/iommu/iommufd.c
mv "$bin.tmp" "$bin"
echo "$bin"
