#!/usr/bin/env python3
"""Plays systemd's side of sd_notify: listens on a datagram socket and, when
READY=1 arrives, records whether the node already exists at that moment.
   notify-listener.py SOCKET NODE OUTFILE"""
import os
import socket
import sys
import time

path, node, outfile = sys.argv[1:4]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(20)
lines = []
try:
    while True:
        msg = sock.recv(4096).decode(errors="replace")
        for field in msg.split("\n"):
            if field == "READY=1":
                field += " node-exists=%s" % ("yes" if os.path.exists(node) else "no")
            lines.append(field)
        if any(l.startswith("READY=1") for l in lines):
            break
except socket.timeout:
    lines.append("timeout")
with open(outfile, "w") as f:
    f.write("\n".join(lines) + "\n")
