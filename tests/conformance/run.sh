#!/bin/bash
# The kernel's own iommufd selftest (Linux 6.12, from Debian's
# linux-source-6.12; nothing of it is committed) against the reference
# kernel's /dev/iommu and against ioasidd's (--test-ops, node named iommu,
# on Debian's 6.1 kernel, which has no iommufd), printed side by side.
# Fails when a test in expected-passes.txt no longer passes, or when the
# reference kernel's results differ from kernel-results.txt (committed, so
# that the ioasidd side does not depend on the kernel's run).
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
# The reference kernel, built once per machine (unless run-all.sh tried).
if [ -z "${IOASID_REFKERNEL:-}${IOASID_REFKERNEL_TRIED:-}" ]; then
    kernel_out=$("$here/../vm/build-refkernel.sh" 2>&1) ||
        echo "CANNOT build the reference kernel: $(echo "$kernel_out" | tail -1)"
fi
# A VM that cannot run at all says why in one CANNOT line, and is not tried again.
vm() {  # kernel, mode, tap name, selftest arguments...
    local kernel=$1 mode=$2 tap=$3 try rc
    shift 3
    for try in 1 2; do
        "$here/../vm/run-in-vm.sh" --kernel "$kernel" --share "$results" -- \
            "$here/guest-selftest.sh" "$mode" "$selftest" "$build" "$results/$tap.tap" "$@" \
            > "$results/vm-$tap.log" 2>&1
        rc=$?
        [ $rc = 0 ] && [ -s "$results/$tap.tap" ] && return 0
        if [ $rc = 125 ]; then
            echo "CANNOT the $tap VM: $(sed -n 's/^run-in-vm: cannot run: //p' "$results/vm-$tap.log" | tail -1)"
            return 1
        fi
        echo "WARN the $tap VM failed (try $try)"
    done
}
compare() {  # [ioasidd retry TAP] [kernel retry TAP]
    python3 "$here/compare.py" "$here/kernel-results.txt" "$results/kernel.tap" "$results/ioasidd.tap" \
        "$here/expected-passes.txt" "$here/out-of-reach.txt" "${1:-}" "$results/regressions.txt" \
        "${2:-}" > "$results/side-by-side.txt"
}
vm ref kernel kernel
vm deb61 ioasidd ioasidd
compare
rc=$?
# A test that regressed, or whose result on the reference kernel differs
# from kernel-results.txt, is run once more, alone: the harness gives each
# test 30 s, which a loaded TCG machine can miss on the longest ones.
if [ $rc != 0 ] && [ -s "$results/regressions.txt" ]; then
    ours=() theirs=()
    while read -r first name; do
        if [ "$first" = kernel ]; then theirs+=(-r "$name"); else ours+=(-r "$first"); fi
    done < "$results/regressions.txt"
    echo "selftest: $(wc -l < "$results/regressions.txt") regressed; running them again alone"
    [ ${#ours[@]} -gt 0 ] && vm deb61 ioasidd ioasidd-retry "${ours[@]}"
    [ ${#theirs[@]} -gt 0 ] && vm ref kernel kernel-retry "${theirs[@]}"
    compare "${ours:+$results/ioasidd-retry.tap}" "${theirs:+$results/kernel-retry.tap}"
    rc=$?
fi
echo "kernels: $(cat "$results/kernel.tap.kernel" 2>/dev/null) (reference), $(cat "$results/ioasidd.tap.kernel" 2>/dev/null) (ioasidd)"
cat "$results/side-by-side.txt"
exit $rc
