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
vm() {  # kernel, mode, tap name, selftest arguments...
    local kernel=$1 mode=$2 tap=$3 try
    shift 3
    for try in 1 2; do
        "$here/../vm/run-in-vm.sh" --kernel "$kernel" --share "$results" -- \
            "$here/guest-selftest.sh" "$mode" "$selftest" "$build" "$results/$tap.tap" "$@" \
            > "$results/vm-$tap.log" 2>&1 && [ -s "$results/$tap.tap" ] && return 0
        echo "WARN the $tap VM failed (try $try)"
    done
}
compare() {
    python3 "$here/compare.py" "$results/kernel.tap" "$results/ioasidd.tap" \
        "$here/expected-passes.txt" "$here/out-of-reach.txt" "$@" > "$results/side-by-side.txt"
}
vm ref kernel kernel
vm deb61 ioasidd ioasidd
compare "$results/none" "$results/regressions.txt"
rc=$?
# A test that regressed is run once more, alone: the harness gives each
# test 30 s, which a loaded TCG machine can miss on the longest ones.
if [ $rc != 0 ] && [ -s "$results/regressions.txt" ]; then
    args=()
    while read -r name; do args+=(-r "$name"); done < "$results/regressions.txt"
    echo "selftest: $(wc -l < "$results/regressions.txt") regressed; running them again alone"
    vm deb61 ioasidd ioasidd-retry "${args[@]}"
    compare "$results/ioasidd-retry.tap"
    rc=$?
fi
echo "kernels: $(cat "$results/kernel.tap.kernel" 2>/dev/null) (reference), $(cat "$results/ioasidd.tap.kernel" 2>/dev/null) (ioasidd)"
cat "$results/side-by-side.txt"
exit $rc
