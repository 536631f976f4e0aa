#!/usr/bin/env python3
"""Drives an edu in an unmodified QEMU through qtest, with no guest code.

    qtest_edu.py [--open FD=PATH]... [--clients CMD] [--meanwhile NAME=CMD]... [--unplug]
                 [--log F] -- QEMU ARGS...

Starts QEMU (-S, then cont on a firmware of HLTs) under TCG with qtest and QMP sockets, the device
at 00:04.0 of a pc (i440fx) machine, whose root bus takes hot unplug, and prints one line per check: config space,
BAR0 (ID, liveness, factorial), a DMA from guest RAM to the device and
back, an MSI written into guest RAM, INTx seen at the IOAPIC, and the
device answering again after a system reset. The same script runs against
QEMU's built-in edu and an ioasidd edu, so the transcripts compare. With
--clients CMD, what ioasidd's clients hold after realize and after unplug.
With --meanwhile NAME=CMD, CMD (a second QEMU asking for the same device
or group) runs while this QEMU holds the device, after the checks: its exit
status and the last line it printed, less the device's address and group
number, so that the kernel's answer and ioasidd's compare. With --unplug it
ends by unplugging the device (device_del, then the eject a
guest's ACPI would do), else with QMP quit.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

CFG = 0x80002000  # bus 0, device 4, function 0
BAR = 0xC0000000
RAM = 0x100000
MSI_ADDR, MSI_DATA = 0x200000, 0x4D53
ACPI_PCIHP = 0xAE00  # PIIX4's ACPI PCI hotplug registers
PIIX3 = 0x80000800  # the ISA bridge, 00:01.0
INTX_IRQ = 11


class Qtest:
    def __init__(self, sock):
        self.f = sock.makefile("rw", buffering=1)
        self.irqs = []

    def cmd(self, line):
        self.f.write(line + "\n")
        while True:
            reply = self.f.readline()
            if not reply:
                raise RuntimeError("qtest: QEMU closed the socket after: " + line)
            reply = reply.strip()
            if reply.startswith("IRQ"):
                self.irqs.append(reply)
                continue
            if not reply.startswith("OK"):
                raise RuntimeError("qtest: %s -> %s" % (line, reply))
            return reply[3:]

    def cfg_read(self, off, size=4):
        self.cmd("outl 0xcf8 0x%x" % (CFG | (off & ~3)))
        op = {1: "inb", 2: "inw", 4: "inl"}[size]
        return int(self.cmd("%s 0x%x" % (op, 0xCFC + (off & 3))), 16)

    def cfg_write(self, off, value, size=4):
        self.cmd("outl 0xcf8 0x%x" % (CFG | (off & ~3)))
        op = {1: "outb", 2: "outw", 4: "outl"}[size]
        self.cmd("%s 0x%x 0x%x" % (op, 0xCFC + (off & 3), value))

    def readl(self, addr):
        return int(self.cmd("readl 0x%x" % addr), 16)

    def writel(self, addr, value):
        self.cmd("writel 0x%x 0x%x" % (addr, value))

    def writeq(self, addr, value):
        self.cmd("writeq 0x%x 0x%x" % (addr, value))

    def readq(self, addr):
        return int(self.cmd("readq 0x%x" % addr), 16)

    def mem_write(self, addr, data):
        self.cmd("write 0x%x %d 0x%s" % (addr, len(data), data.hex()))

    def mem_read(self, addr, size):
        return bytes.fromhex(self.cmd("read 0x%x %d" % (addr, size))[2:])


class Qmp:
    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rw", buffering=1)
        self.events = []
        self.f.readline()  # greeting
        self.call("qmp_capabilities")

    def call(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("qmp: QEMU closed the socket after " + name)
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg["event"])
                continue
            return msg

    def wait_event(self, name, timeout):
        end = time.time() + timeout
        self.sock.settimeout(timeout)
        while name not in self.events and time.time() < end:
            line = self.f.readline()
            if not line:
                break
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg["event"])
        return name in self.events


def poll(what, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        v = what()
        if v:
            return v
        time.sleep(0.01)
    return what()


def enable(q):
    q.cfg_write(0x10, BAR)
    q.cfg_write(0x04, 0x0006, 2)  # memory space, bus master


def check_config(q, out):
    out("config.id: 0x%08x" % q.cfg_read(0x00))
    out("config.class: 0x%08x" % q.cfg_read(0x08))
    q.cfg_write(0x10, 0xFFFFFFFF)
    out("config.bar0-size-mask: 0x%08x" % q.cfg_read(0x10))
    enable(q)
    out("config.bar0: 0x%08x" % q.cfg_read(0x10))


def check_bar0(q, out):
    out("bar0.id: 0x%08x" % q.readl(BAR))
    q.writel(BAR + 0x04, 0x12345678)
    out("bar0.liveness: 0x%08x" % q.readl(BAR + 0x04))
    q.writel(BAR + 0x08, 10)
    # Factorial runs in the device's own thread: the status bit says when.
    poll(lambda: not q.readl(BAR + 0x20) & 1)
    out("bar0.factorial(10): %d" % q.readl(BAR + 0x08))


def dma(q, src, dst, count, to_ram):
    q.writeq(BAR + 0x80, src)
    q.writeq(BAR + 0x88, dst)
    q.writeq(BAR + 0x90, count)
    q.writeq(BAR + 0x98, 0x1 | (0x2 if to_ram else 0))
    return poll(lambda: not q.readq(BAR + 0x98) & 1)


def check_dma(q, out):
    # 2 KiB: QEMU 7.2's edu (the test VM's real one) refuses a DMA that
    # ends at its buffer's end, and stops the whole VM.
    data = bytes((i * 7 + 3) & 0xFF for i in range(2048))
    q.mem_write(RAM, data)
    ok = dma(q, RAM, 0x40000, len(data), False)
    out("dma.ram-to-device: %s" % ("done" if ok else "timeout"))
    ok = dma(q, 0x40000, RAM + 0x2000, len(data), True)
    back = q.mem_read(RAM + 0x2000, len(data))
    out("dma.device-to-ram: %s" % ("done" if ok else "timeout"))
    out("dma.bytes: %s" % ("equal" if back == data else "differ"))


def find_cap(q, cap_id):
    at = q.cfg_read(0x34, 1)
    while at:
        if q.cfg_read(at, 1) == cap_id:
            return at
        at = q.cfg_read(at + 1, 1)
    return 0


def check_msi(q, out):
    cap = find_cap(q, 0x05)
    out("msi.capability: %s" % ("present" if cap else "absent"))
    if not cap:
        return
    ctrl = q.cfg_read(cap + 2, 2)
    q.mem_write(MSI_ADDR, bytes(4))
    q.cfg_write(cap + 4, MSI_ADDR)
    data_at = cap + (12 if ctrl & 0x80 else 8)
    if ctrl & 0x80:
        q.cfg_write(cap + 8, 0)
    q.cfg_write(data_at, MSI_DATA, 2)
    q.cfg_write(cap + 2, ctrl | 1, 2)  # MSI enable
    q.writel(BAR + 0x60, 0x1)  # raise
    got = poll(lambda: int.from_bytes(q.mem_read(MSI_ADDR, 4), "little") == MSI_DATA)
    out("msi.write: %s" % ("data 0x%x at 0x%x" % (MSI_DATA, MSI_ADDR) if got else "none"))
    out("msi.status: 0x%x" % q.readl(BAR + 0x24))
    q.writel(BAR + 0x64, 0x1)  # acknowledge
    q.cfg_write(cap + 2, ctrl & ~1, 2)


def check_intx(q, out):
    pin = q.cfg_read(0x3D, 1)
    out("intx.pin: %d" % pin)
    # What firmware does: route PIIX3's four PCI interrupt lines to an IRQ.
    q.cmd("outl 0xcf8 0x%x" % (PIIX3 | 0x60))
    q.cmd("outl 0xcfc 0x%x" % (INTX_IRQ * 0x01010101))
    q.cmd("irq_intercept_in ioapic")
    q.writel(BAR + 0x60, 0x2)  # raise, with MSI off: INTx
    want = "IRQ raise %d" % INTX_IRQ
    raised = poll(lambda: q.cmd("readl 0x%x" % (BAR + 0x24)) and want in q.irqs)
    out("intx.ioapic: %s" % ("irq %d raised" % INTX_IRQ if raised else "nothing"))
    q.irqs.clear()
    q.writel(BAR + 0x64, 0x2)  # acknowledge: the line drops
    want = "IRQ lower %d" % INTX_IRQ
    lowered = poll(lambda: q.cmd("readl 0x%x" % BAR) and want in q.irqs)
    out("intx.ack: %s" % ("lowered" if lowered else "still raised"))


def check_reset(q, qmp, out):
    qmp.call("system_reset")
    out("reset.event: %s" % ("seen" if qmp.wait_event("RESET", 20) else "missing"))
    out("reset.command: 0x%04x" % q.cfg_read(0x04, 2))
    enable(q)
    out("reset.bar0.id: 0x%08x" % q.readl(BAR))
    q.writel(BAR + 0x08, 5)
    poll(lambda: not q.readl(BAR + 0x20) & 1)
    out("reset.bar0.factorial(5): %d" % q.readl(BAR + 0x08))


def unplug(q, qmp, out):
    reply = qmp.call("device_del", id="dev0")
    out("unplug.device_del: %s" % ("ok" if "return" in reply else reply.get("error", {}).get("desc")))
    # What the guest's ACPI does on the eject request: select the root bus
    # (bsel 0), eject slot 4.
    q.cmd("outl 0x%x 0x0" % (ACPI_PCIHP + 0x10))
    q.cmd("outl 0x%x 0x%x" % (ACPI_PCIHP + 0x08, 1 << 4))
    qmp.wait_event("DEVICE_DELETED", 20)
    out("unplug.deleted: %s" % ("yes" if "DEVICE_DELETED" in qmp.events else "no"))


def clients(cmd, when, out):
    """What ioasidd's control socket says its clients hold (ioasidctl --json clients)."""
    try:
        held = json.loads(subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout)
    except ValueError:
        out("clients.%s: no answer" % when)
        return
    count = lambda key: sum(len(c[key]) for c in held)  # noqa: E731
    out("clients.%s: contexts=%d devices=%d ioas=%d hwpts=%d memlock_kib=%d" % (
        when, len(held), count("devices"), count("ioas"), count("hwpts"),
        sum(c["memlock_kib"] for c in held)))


def meanwhile(spec, out):
    """Runs a second VMM while this one holds the device (see --meanwhile)."""
    name, cmd = spec.split("=", 1)
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=90)
        lines = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
        last = lines[-1] if lines else ""
        rc = r.returncode
    except subprocess.TimeoutExpired:
        last, rc = "timed out", "timeout"
    last = re.sub(r"^.*?vfio [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]: ", "", last)
    last = re.sub(r"/dev/vfio/[0-9]+", "/dev/vfio/N", last)
    out("meanwhile.%s: exit=%s %s" % (name, rc, last))


def open_fds(specs):
    """Opens each FD=PATH as fd FD, for QEMU only, as libvirt passes a node.
    The nodes first, so that nothing else holds their numbers."""
    fds = []
    for spec in specs:
        num, path = spec.split("=", 1)
        fd = os.open(path, os.O_RDWR)
        if fd != int(num):
            os.dup2(fd, int(num), inheritable=True)
            os.close(fd)
        fds.append(int(num))
    return fds


def launch(argv, fds, log_path):
    """Starts QEMU with qtest and QMP on sockets of a fresh folder, the vCPU
    on a firmware of HLTs, then lets the machine run: (process, Qtest, Qmp),
    the last two None when QEMU did not connect. `fds` are QEMU's only
    copies of the nodes: they are closed here."""
    tmp = tempfile.mkdtemp()
    servers = {}
    for name in ("qtest", "qmp"):
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(tmp, name))
        s.listen(1)
        s.settimeout(120)
        servers[name] = s
    # QEMU's own edu moves DMA bytes on a virtual-clock timer, which runs
    # only while the machine does (TCG has no qtest clock_step). The vCPU
    # runs a firmware of HLTs with interrupts off: it stops at its first
    # instruction and never touches the devices the test programs.
    firmware = os.path.join(tmp, "halt.bin")
    with open(firmware, "wb") as f:
        f.write(b"\xf4" * 65536)
    argv = argv + ["-bios", firmware, "-S", "-display", "none", "-qtest", "unix:%s/qtest" % tmp,
                   "-qtest-log", "/dev/null", "-qmp", "unix:%s/qmp" % tmp]
    log = open(log_path or os.devnull, "w")
    proc = subprocess.Popen(argv, pass_fds=fds, stdout=log, stderr=subprocess.STDOUT)
    for fd in fds:
        os.close(fd)
    try:
        qt = Qtest(servers["qtest"].accept()[0])
        qmp = Qmp(servers["qmp"].accept()[0])
        qmp.call("cont")
    except (RuntimeError, OSError, socket.timeout):
        return proc, None, None
    return proc, qt, qmp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", action="append", default=[], metavar="FD=PATH",
                    help="open PATH as fd FD for QEMU only, as libvirt passes a node")
    ap.add_argument("--unplug", action="store_true")
    ap.add_argument("--clients", help="a command printing ioasidd's clients as JSON")
    ap.add_argument("--meanwhile", action="append", default=[], metavar="NAME=CMD",
                    help="run CMD (a second VMM) while the device is held, after the checks")
    ap.add_argument("--log")
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.qemu[1:] if a.qemu[:1] == ["--"] else a.qemu
    proc, qt, qmp = launch(argv, open_fds(a.open), a.log)
    lines = []

    def out(line):
        lines.append(line)
        print(line, flush=True)

    try:
        if not qt:
            raise RuntimeError("QEMU did not connect its qtest and QMP sockets")
        if a.clients:
            clients(a.clients, "realized", out)
        check_config(qt, out)
        check_bar0(qt, out)
        check_dma(qt, out)
        check_msi(qt, out)
        check_intx(qt, out)
        check_reset(qt, qmp, out)
        for spec in a.meanwhile:
            meanwhile(spec, out)
        if a.unplug:
            unplug(qt, qmp, out)
            if a.clients:
                clients(a.clients, "unplugged", out)
        qmp.call("quit")
    except (RuntimeError, OSError, socket.timeout) as e:
        out("error: %s" % e)
    try:
        rc = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    out("qemu.exit: %d" % rc)
    return 0 if not any(l.startswith("error") for l in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
