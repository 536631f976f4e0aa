#!/bin/bash
# Every test of ioasidd, from a fresh Debian 12 machine (as root):
# installs what is missing, builds, then runs the Catch2 unit tests, the CUSE
# transport tests, the fuzzer (briefly) and the VM lane against real kernels.
# Ends with one line "N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
tests/setup.sh --tests || { echo "0 passed, 1 failed"; exit 1; }

pass=0 fail=0 failed=()
add() { pass=$((pass + $1)); fail=$((fail + $2)); }
# What failed is named again just before the counts: a CI log is often read
# from its end, and the selftest table alone is longer than what it shows.
failed_as() { [ "$2" != 0 ] && failed+=("$1 ($2 failed)"); add "$3" "$2"; }

catch_suite() {  # name, executable: Catch2's summary gives the test case counts
    local name=$1 exe=$2 out
    out=$("$exe" 2>&1); local rc=$?
    local counts
    counts=$(printf '%s\n' "$out" | python3 tests/catch-counts.py)
    set -- $counts
    if [ "$rc" != 0 ] && [ "$2" = 0 ]; then set -- "$1" 1; fi
    [ "$2" != 0 ] && printf '%s\n' "$out" | tail -40
    echo "$name: $1 passed, $2 failed"
    failed_as "$name" "$2" "$1"
}

catch_suite "unit tests (model, dispatch, uapi)" build/tests/unit-tests
catch_suite "CUSE transport tests (harness playing the kernel)" build/tests/cuse-tests
catch_suite "daemon tests (control socket)" build/tests/daemon-tests

# The service unit as systemd reads it (the binary from this build; the
# man pages it names are installed only by meson install).
unit_dir=$(mktemp -d)
sed "s|@sbindir@|$repo/build/daemon|" systemd/ioasidd.service.in > "$unit_dir/ioasidd.service"
if out=$(systemd-analyze verify --man=no "$unit_dir/ioasidd.service" 2>&1); then
    echo "service unit: systemd-analyze verify passed"; add 1 0
else
    echo "$out"; echo "service unit: systemd-analyze verify failed"; failed_as "service unit" 1 0
fi
rm -rf "$unit_dir"

# The fixed fuzz pass: the regression inputs, then fixed seeds and run
# counts (open-ended fuzzing is tests/fuzz/run.sh SECONDS).
if out=$(tests/fuzz/run.sh 2>&1); then
    echo "$out" | tail -1; add 1 0
else
    echo "$out" | tail -40; failed_as "fuzz: $(echo "$out" | tail -1)" 1 0
fi

# The 6.12 reference kernel the VM lanes boot: built from Debian's
# linux-source-6.12 once per machine, then cached outside the clone.
if [ -z "${IOASID_REFKERNEL:-}" ]; then
    kstart=$(date +%s)
    if kout=$(tests/vm/build-refkernel.sh 2>&1); then
        echo "reference kernel: $(tail -1 <<< "$kout") ($(( $(date +%s) - kstart )) s)"
    else
        echo "$kout" | tail -20
        failed_as "reference kernel: $(tail -1 <<< "$kout")" 1 0
    fi
    export IOASID_REFKERNEL_TRIED=1
fi

# A VM lane: its checks count one each; its FAIL and CANNOT lines are named
# again before the counts.
vm_lane() {  # NAME SCRIPT
    local name=$1 out rc counts line
    out=$("$2" build 2>&1); rc=$?
    echo "$out" | grep -v 'passed, .* failed$' | tail -80
    counts=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' | tail -1)
    if [ -z "$counts" ]; then failed_as "$name: no counts" 1 0; return; fi
    set -- $counts; add "$1" "$2"
    while read -r line; do failed+=("$name: ${line#FAIL }"); done < <(echo "$out" | grep '^FAIL ')
    while read -r line; do failed+=("$name: ${line}"); done < <(echo "$out" | grep '^CANNOT ')
    [ "$rc" != 0 ] && [ "$2" = 0 ] && failed_as "$name: exit $rc" 1 0
    line=$(echo "$out" | sed -n "s/; its console ends:\$//; s/^WARN /$name warned: /p")
    [ -n "$line" ] && warned+="$line"$'\n'
    return 0
}
warned=
vm_lane "vm lane" tests/vm/conformance.sh
# Unmodified QEMU 10 on ioasidd's nodes, through the preload library.
vm_lane "qemu lane" tests/vm/qemu-lane.sh

# The kernel's own iommufd selftest against ioasidd (issue 6): one check,
# failing when a test that passed before fails now.
if out=$(tests/conformance/run.sh build 2>&1); then
    echo "$out"; add 1 0
else
    echo "$out" | tail -40; echo "kernel selftest: a regression, or no run"
    failed_as "kernel selftest: a regression, or no run" 1 0
fi

# A guest run again after a failure, or a selftest run again, which the
# counts do not show.
printf '%s' "$warned"
echo "$out" | sed -n 's/^WARN /kernel selftest warned: /p; s/^CANNOT /kernel selftest: cannot run /p; s/^selftest: \(.* again alone\)$/kernel selftest: \1/p'
for f in "${failed[@]}"; do echo "FAILED: $f"; done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
