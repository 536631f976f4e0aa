#!/usr/bin/env python3
"""Checks `ioasidctl trace` against the transcript of the client it traced:
every answer the client printed must be the decoded output of the matching
traced ioctl, and the inputs the client passed must be decoded too."""
import re
import sys

trace_path, client_path = sys.argv[1], sys.argv[2]
trace = open(trace_path).read().splitlines()
client = open(client_path).read().splitlines()
failures = []


def expect(pattern, why):
    if not any(re.search(pattern, line) for line in trace):
        failures.append(f"{why}: no trace line matches {pattern}")


def client_line(prefix):
    for line in client:
        if line.startswith(prefix):
            return line
    failures.append(f"client transcript has no line {prefix!r}")
    return ""


# Before BIND the device reads nothing: no arguments, EINVAL, and the check
# that refused it.
expect(r"^vfio/device0 .* GET_INFO\(\) +-> -22 EINVAL \(not bound yet: only BIND_IOMMUFD "
       r"comes first\)  direct, 1 rt", "pre-bind GET_INFO and its reason")
m = re.search(r"devid=(\d+)", client_line("bind: BIND -> ok"))
if m:
    expect(rf"^vfio/device0 .* BIND_IOMMUFD\(flags=0x0, iommufd=\d+\) -> 0 \{{out_devid={m[1]}\}}",
           "BIND's devid")
m = re.search(r"flags=(\S+) regions=(\d+) irqs=(\d+)", client_line("info: GET_INFO -> ok"))
if m:
    expect(rf"GET_INFO\(argsz=24\) +-> 0 \{{flags={m[1]}, num_irqs={m[3]}, num_regions={m[2]}\}}",
           "GET_INFO's answer")
for line in client:
    r = re.match(r"region\.(\d+): GET_REGION_INFO -> ok flags=(\S+) size=(\S+) offset=(\S+)", line)
    if r:
        expect(rf"GET_REGION_INFO\(index={r[1]}\) -> 0 \{{flags={r[2]}, offset={r[4]}, size={r[3]}\}}",
               f"region {r[1]}")
expect(r"^ioasid .* IOAS_ALLOC\(flags=0x0\) -> 0 \{out_ioas_id=\d+\}", "IOAS_ALLOC")
# The client maps two pages at fixed IOVAs 0x100000 and 0x101000 and later
# unmaps the second (the DMA-after-unmap check).
for iova in ("0x100000", "0x101000"):
    expect(rf"IOAS_MAP\(flags=0x7, ioas_id=\d+, iova={iova}, length=0x1000, user_va=0x[0-9a-f]+\) "
           rf"-> 0 \{{iova={iova}\}}", f"IOAS_MAP at {iova}")
expect(r"IOAS_UNMAP\(ioas_id=\d+, iova=0x101000, length=0x1000\) -> 0 \{length=0x1000\}", "UNMAP")
expect(r"^vfio/device0 .* REGION_RW\(data=0x[0-9a-f]+, flags=0x1, length=0x4, offset=0x4\) -> 4 ",
       "a 4-byte region write")

for f in failures:
    print(f"  check-trace: {f}")
sys.exit(1 if failures else 0)
