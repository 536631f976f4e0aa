#!/usr/bin/env python3
"""Checks ioasidd's --stats-file: round trips per ioctl on each path."""
import json
import sys

path, mode = sys.argv[1], sys.argv[2]
try:
    stats = json.load(open(path))["ioasid"]
except (OSError, ValueError, KeyError) as e:
    print(f"check-stats: {path}: {e}")
    sys.exit(1)
calls = sum(s["calls"] for s in stats.values())
trips = sum(s["round_trips"] for s in stats.values())
direct = sum(s["direct"] for s in stats.values())
print(f"  {path.split('/')[-1]}: {calls} ioctls, {trips} round trips, {direct} direct")
if calls == 0:
    sys.exit(1)
if mode == "direct":
    sys.exit(0 if trips == calls and direct == calls else 1)
# Retry path: nothing direct; a map (size, then struct, then the answer)
# takes 3 trips each, a call rejected on its size alone 2.
m = stats.get("IOAS_MAP", {})
ok = direct == 0 and m.get("calls") and m["round_trips"] >= 3 * m["calls"] and trips >= 2 * calls
sys.exit(0 if ok else 1)
