#!/usr/bin/env python3
"""Reads a Catch2 run's output on stdin and prints "PASSED FAILED" test cases."""
import re
import sys

text = sys.stdin.read()
m = re.search(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", text)
if m:
    print(m.group(1), 0)
    sys.exit(0)
m = re.search(r"test cases: *(\d+)(?: \| (\d+) passed)?(?: \| (\d+) failed)?", text)
if m:
    print(int(m.group(2) or 0), int(m.group(3) or 0))
else:
    print(0, 1)  # no summary at all: the suite crashed
