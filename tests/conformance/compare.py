#!/usr/bin/env python3
"""The kernel's iommufd selftest, side by side: the reference kernel's own
/dev/iommu against ioasidd's. Prints every test with both results, then the
totals; fails when a test listed in expected-passes.txt does not pass
against ioasidd (a regression), or the ioasidd run did not happen.

The kernel's results are committed (KERNEL_RESULTS, "name result" lines),
so that the ioasidd side stands alone. The reference kernel's own run,
when there is one (KERNEL_TAP), must give them: a test whose result differs
fails too, and is named in REGRESSIONS_OUT as "kernel NAME".

  compare.py KERNEL_RESULTS KERNEL_TAP IOASIDD_TAP EXPECTED_PASSES OUT_OF_REACH
             [RETRY_TAP] [REGRESSIONS_OUT] [KERNEL_RETRY_TAP]

RETRY_TAP, when it exists, holds a second run of the tests that regressed in
the first: its results count instead (a test that times out under a loaded
machine passes there; a real regression fails twice). REGRESSIONS_OUT gets
the names of the tests that regressed, one per line."""
import fnmatch
import re
import sys


def results(path):
    """{test name: "pass" | "FAIL" | "skip"} from kselftest TAP output."""
    out = {}
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return None
    for line in lines:
        m = re.match(r"(not ok|ok) \d+ (\S+)(.*)", line)
        if m:
            skip = "# SKIP" in m[3]
            out[m[2]] = "skip" if skip else ("pass" if m[1] == "ok" else "FAIL")
    return out


def listed(path):
    """Test names (first word of each line), with what follows as the note."""
    names = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, note = line.partition(" ")
            names[name] = note.strip()
    return names


def reason(name):
    """Why `name` is out of reach for ioasidd, or None."""
    for pattern, why in out_of_reach.items():
        if fnmatch.fnmatchcase(name, pattern):
            return why
    return None


def merged(first, again):
    """A run's results with those of its tests that were run again alone."""
    if first and again:
        for name, result in again.items():
            if name in first:
                first[name] = result
    return first


if sys.argv[1:2] == ["--kernel-results"]:  # compare.py --kernel-results TAP
    print("# The reference kernel's result of each selftest test (compare.py\n"
          "# --kernel-results build/selftest-results/kernel.tap writes it).")
    for name, result in results(sys.argv[2]).items():
        print(name, result)
    sys.exit(0)

args = sys.argv[1:] + [""] * 8
kernel = listed(args[0])
live, ours = results(args[1]), results(args[2])
live = merged(live, results(args[7]) if args[7] else None)
retry = results(args[5]) if args[5] else None
ours = merged(ours, retry)
expected, out_of_reach = listed(args[3]), listed(args[4])
if not ours:
    print("selftest: the ioasidd run is missing")
    sys.exit(1)
# The live kernel against what is committed: a differing test is a
# regression of the reference lane (or a kernel that is not the one pinned).
kernel_differs = []
if live is None:
    print("selftest: the reference kernel's run is missing; its results are the committed ones")
else:
    kernel_differs = sorted(n for n in set(kernel) | set(live) if kernel.get(n) != live.get(n))
    for n in kernel_differs:
        print(f"KERNEL DIFFERS {n}: {live.get(n, 'not run')} on the reference kernel, "
              f"{kernel.get(n, 'not listed')} in kernel-results.txt")

width = max((len(n) for n in kernel), default=4)
print(f"{'test':<{width}}  kernel  ioasidd")
for name in kernel:
    k, o = kernel[name], ours.get(name, "-")
    mark = ""
    why = reason(name)
    if why:
        mark = "  (out of reach: " + why + ")"
    elif k == "pass" and o != "pass":
        mark = "  <- to do"
    print(f"{name:<{width}}  {k:<6}  {o:<7}{mark}")

k_pass = [n for n in kernel if kernel[n] == "pass"]
o_pass = [n for n in k_pass if ours.get(n) == "pass"]
reach = [n for n in k_pass if not reason(n)]
extra = [n for n in ours if ours[n] == "pass" and kernel.get(n) != "pass"]
print(f"reference kernel passes {len(k_pass)} of {len(kernel)} tests; "
      f"ioasidd passes {len(o_pass)} of them ({len(reach)} within reach, "
      f"{len(k_pass) - len(reach)} listed out of reach)")
if extra:
    print("passing against ioasidd but not the kernel: " + " ".join(extra))
regressions = [n for n in expected if ours.get(n) != "pass"]
new = [n for n in o_pass if n not in expected]
for n in regressions:
    print(f"REGRESSION {n}: {ours.get(n, 'not run')} against ioasidd (expected-passes.txt lists it)")
if args[6]:
    with open(args[6], "w") as f:
        f.writelines(n + "\n" for n in regressions)
        f.writelines("kernel " + n + "\n" for n in kernel_differs)
if retry:
    print(f"retried alone: {len(retry)} test(s)")
if new:
    print(f"{len(new)} new passes, not yet in expected-passes.txt: " + " ".join(new))
sys.exit(1 if regressions or kernel_differs or live is None else 0)
