#!/usr/bin/env python3
"""The kernel's iommufd selftest, side by side: the reference kernel's own
/dev/iommu against ioasidd's. Prints every test with both results, then the
totals; fails when a test listed in expected-passes.txt does not pass
against ioasidd (a regression), or the runs did not happen.

  compare.py KERNEL_TAP IOASIDD_TAP EXPECTED_PASSES OUT_OF_REACH [RETRY_TAP] [REGRESSIONS_OUT]

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


kernel, ours = results(sys.argv[1]), results(sys.argv[2])
retry = results(sys.argv[5]) if len(sys.argv) > 5 else None
if ours and retry:
    for name, result in retry.items():
        if name in ours:
            ours[name] = result
expected, out_of_reach = listed(sys.argv[3]), listed(sys.argv[4])
if not kernel or not ours:
    print("selftest: a run is missing: kernel %s, ioasidd %s" %
          (len(kernel or {}), len(ours or {})))
    sys.exit(1)

width = max(len(n) for n in kernel)
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
if len(sys.argv) > 6:
    with open(sys.argv[6], "w") as f:
        f.writelines(n + "\n" for n in regressions)
if retry:
    print(f"retried alone: {len(retry)} test(s)")
if new:
    print(f"{len(new)} new passes, not yet in expected-passes.txt: " + " ".join(new))
sys.exit(1 if regressions else 0)
