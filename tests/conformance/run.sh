#!/bin/bash
# The kernel's own iommufd selftest (Linux 6.12, from Debian's
# linux-source-6.12; nothing of it is committed) against the reference
# kernel's /dev/iommu and against ioasidd's (--test-ops, node named iommu,
# on Debian's 6.1 kernel, which has no iommufd), printed side by side.
# Fails when a test in expected-passes.txt no longer passes.
#   run.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
results=$build/selftest-results
rm -rf "$results" && mkdir -p "$results"
selftest=$("$here/build-selftest.sh" 2> "$results/build.log" | tail -1)
if [ ! -x "$selftest" ]; then
    tail -20 "$results/build.log"
    echo "selftest: could not build the kernel's iommufd selftest"
    exit 1
fi
echo "selftest: $(cat "$(dirname "$selftest")/version" 2>/dev/null), tools/testing/selftests/iommu/iommufd.c"
vm() {  # kernel, mode
    local try
    for try in 1 2; do
        "$here/../vm/run-in-vm.sh" --kernel "$1" --share "$results" -- \
            "$here/guest-selftest.sh" "$2" "$selftest" "$build" "$results/$2.tap" \
            > "$results/vm-$2.log" 2>&1 && [ -s "$results/$2.tap" ] && return 0
        echo "WARN the $2 VM failed (try $try)"
    done
}
vm ref kernel
vm deb61 ioasidd
python3 "$here/compare.py" "$results/kernel.tap" "$results/ioasidd.tap" \
    "$here/expected-passes.txt" "$here/out-of-reach.txt" > "$results/side-by-side.txt"
rc=$?
echo "kernels: $(cat "$results/kernel.tap.kernel" 2>/dev/null) (reference), $(cat "$results/ioasidd.tap.kernel" 2>/dev/null) (ioasidd)"
grep -v -e '^[A-Za-z_0-9]*\.[A-Za-z_0-9.]* ' -e '^test ' "$results/side-by-side.txt"
echo "side by side: $results/side-by-side.txt"
exit $rc
