# The VM lanes' shared helpers, sourced by conformance.sh and qemu-lane.sh:
# check, same and guest. Needs $here (tests/vm), $build and $results.
pass=0 fail=0
check() {  # name, then a command that succeeds when the check passes
    local name=$1; shift
    shown=
    if "$@"; then echo "PASS $name"; pass=$((pass + 1)); else
        echo "FAIL $name"; fail=$((fail + 1))
        [ -n "$shown" ] && head -40 "$shown"
    fi
}
# Whether a transcript equals the expected one. The diff stays in
# diff-NAME.txt, and a failing check shows its start.
same() { shown="$results/diff-$(basename "${2%.*}").txt"; diff -u "$1" "$2" > "$shown"; }

# One VM per kernel; its console goes to vm-TAG.log. A guest that fails is
# run once more, loudly: a TCG boot hiccup is not ioasidd's, but a failure
# that repeats is reported as it is. A VM that cannot run at all (no
# kernel, no QEMU, no /dev/cuse in the guest) says why in one CANNOT line,
# and the checks that needed it fail.
guest() {  # KERNEL TAG SCRIPT LOG [run-in-vm options]; TAG: the script's third argument
    local kernel=$1 tag=$2 script=$3 log=$results/$4 try rc
    shift 4
    for try in 1 2; do
        "$here/run-in-vm.sh" --kernel "$kernel" --iommu "$@" --share "$results" -- \
            "$here/$script" "$build" "$results" "$tag" > "$log" 2>&1
        rc=$?
        [ $rc = 0 ] && return 0
        if [ $rc = 125 ]; then
            echo "CANNOT the $kernel VM ($script): $(sed -n 's/^run-in-vm: cannot run: //p' "$log" | tail -1)"
            return 1
        fi
        echo "WARN the $kernel VM ($script) failed (try $try); its console ends:"
        tail -25 "$log" | sed 's/^/    /'
    done
    return 1
}
