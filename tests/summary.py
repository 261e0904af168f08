#!/usr/bin/env python3
"""Prints 'N passed, N failed' from one or more of meson's testlog.json files.

Usage: summary.py TESTLOG [TESTLOG...]. Each build's log (the plain build, the sanitizer
variant) counts into the one line; with several logs, a problem names the build it happened in.

Catch2 executables count their test cases (their closing line is parsed from the logged
output); any other test counts as one. A suite that skipped while running as root counts as
failed: CI runs every suite as root, and a root suite that did not run proves nothing.
"""
import json
import os
import re
import sys

passed = failed = skipped = 0
problems = []


def build_of(path):
    # <build>/meson-logs/testlog.json -> <build>
    return os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))


def count(t, name):
    global passed, failed, skipped
    result, out = t["result"], t.get("stdout") or ""
    if result == "SKIP":
        if os.geteuid() == 0:
            failed += 1
            problems.append(f"{name}: skipped although running as root")
        else:
            skipped += 1
        return
    ok = result in ("OK", "EXPECTEDFAIL")
    m = re.search(r"test cases:\s+(\d+) \|\s+(\d+) passed \|\s+(\d+) failed", out)
    a = re.search(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", out)
    if a and ok:
        passed += int(a.group(1))
    elif m:
        passed += int(m.group(2))
        failed += max(int(m.group(3)), 0 if ok else 1)
    elif ok:
        passed += 1
    else:
        failed += 1
    if not ok:
        problems.append(f"{name}: {result}")


logs = sys.argv[1:]
if not logs:
    sys.exit("usage: summary.py TESTLOG [TESTLOG...]")
for path in logs:
    if not os.path.exists(path):
        # The build did not get as far as running its tests (a compile error): that counts.
        failed += 1
        problems.append(f"{build_of(path)}: no test log (the build or its tests did not run)")
        continue
    with open(path) as log:
        for line in log:
            t = json.loads(line)
            count(t, f"{build_of(path)}: {t['name']}" if len(logs) > 1 else t["name"])
for p in problems:
    print(p, file=sys.stderr)
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
