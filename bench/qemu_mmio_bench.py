#!/usr/bin/env python3
"""MMIO and DMA as a VMM sees them (issue 18): two unmodified QEMUs under
qtest in one run, one with its built-in edu, one with ioasidd's emulated
edu through libioasid-preload.so. Alternating blocks of 100 readl of BAR0's
ID register on each; then 4 KiB DMAs from guest RAM to the device, timed
from the command's write until its run bit reads clear. Medians.

    qemu_mmio_bench.py ITERS DMAS --builtin 'QEMU ARGS' --ioasidd 'QEMU ARGS' [--open FD=PATH]...

The --open fds go to the ioasidd QEMU only.
"""
import argparse
import os
import shlex
import statistics
import sys
import time

sys.dont_write_bytecode = True  # the tree may be read-only (the VM shares it so)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vm"))
import qtest_edu  # noqa: E402

BAR, RAM = qtest_edu.BAR, qtest_edu.RAM
EDU_ID = 0x010000ED
DMA_LEN, EDU_BUF = 4096, 0x40000


def timed_read(q):
    t0 = time.perf_counter()
    v = q.readl(BAR)
    t = time.perf_counter() - t0
    if v != EDU_ID:
        raise RuntimeError("BAR0 ID read 0x%x" % v)
    return t * 1e6


def timed_dma(q):
    q.writeq(BAR + 0x80, RAM)
    q.writeq(BAR + 0x88, EDU_BUF)
    q.writeq(BAR + 0x90, DMA_LEN)
    t0 = time.perf_counter()
    q.writeq(BAR + 0x98, 0x1)
    while q.readq(BAR + 0x98) & 1:
        if time.perf_counter() - t0 > 10:
            raise RuntimeError("DMA did not finish")
    return (time.perf_counter() - t0) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iters", type=int)
    ap.add_argument("dmas", type=int)
    ap.add_argument("--builtin", required=True)
    ap.add_argument("--ioasidd", required=True)
    ap.add_argument("--open", action="append", default=[])
    ap.add_argument("--log-dir", default=None)
    a = ap.parse_args()
    logs = {k: a.log_dir and os.path.join(a.log_dir, "qemu-bench-%s.log" % k)
            for k in ("builtin", "ioasidd")}
    sides = {"builtin": qtest_edu.launch(shlex.split(a.builtin), [], logs["builtin"]),
             "ioasidd": qtest_edu.launch(shlex.split(a.ioasidd), qtest_edu.open_fds(a.open),
                                         logs["ioasidd"])}
    try:
        for name, (_, q, _) in sides.items():
            if not q:
                raise RuntimeError("QEMU (%s) did not connect" % name)
            qtest_edu.enable(q)
            q.mem_write(RAM, bytes(range(256)) * (DMA_LEN // 256))
        reads = {k: [] for k in sides}
        for _ in range(0, a.iters, 100):
            for name, (_, q, _) in sides.items():
                reads[name] += [timed_read(q) for _ in range(100)]
        dmas = {k: [] for k in sides}
        for _ in range(a.dmas):
            for name, (_, q, _) in sides.items():
                dmas[name].append(timed_dma(q))
        med = {k: statistics.median(v) for k, v in reads.items()}
        dmed = {k: statistics.median(v) for k, v in dmas.items()}
        print("bench: readl of BAR0 under qtest, ioasidd's edu / QEMU's built-in edu = %.2f "
              "(medians %.1f us vs %.1f us, %d reads each)"
              % (med["ioasidd"] / med["builtin"], med["ioasidd"], med["builtin"], len(reads["builtin"])))
        print("bench: 4 KiB DMA from guest RAM, ioasidd's edu %.0f us, QEMU's built-in edu %.0f us "
              "(medians of %d; QEMU's edu waits on a 100 ms timer by design)"
              % (dmed["ioasidd"], dmed["builtin"], a.dmas))
    finally:
        for proc, _, qmp in sides.values():
            try:
                if qmp:
                    qmp.call("quit")
                proc.wait(60)
            except Exception:  # a QEMU that will not quit is killed
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
