#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Snapshot-time cost of typing Python objects (docs/PYTHON.md, "Typed
objects"): a heap of about 1.5 million live blocks (instances of a class
with __slots__, strings, their ints), two leakscope_snapshot() calls, then
the python-exit and exit snapshots, with python_types=0 and 1,
interleaved. Per snapshot: medians of N runs of its own time
(counters.snapshot_ns), of the typing (python.typing_ns) and, for the two
in-run ones, of the page faults the call took (getrusage around it).

Usage: tools/bench/pytypes.py [--runs N] [--build DIR | --shim SO] [--python EXE] [--count N]
                              [--options OPTS]
--options adds colon-separated LEAKSCOPE_OPTIONS to every run
(python_retainers=2: the in-run snapshots' retainer chains).
Not a test: nothing here fails on a number.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
import lkspy  # noqa: E402

SCRIPT = """
import ctypes, json, resource, sys
snapshot = ctypes.CDLL(None).leakscope_snapshot
class Item:
    __slots__ = ("n",)
    def __init__(self, n): self.n = n
count = int(sys.argv[1])
held = [Item(i) for i in range(count)] + [str(i) * 3 for i in range(count)]
faults = {}
for label in ("first", "second"):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    snapshot(label.encode())
    faults[label] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps(faults))
"""
LABELS = ("first", "second", "python-exit", "exit")
COUNTERS_SNAPSHOT_NS = 15  # index of snapshot_ns in struct lks_counters


def read_snapshot(path):
    snap = lkspy.Snapshot(path)
    counters_at = snap.sections[2][0]
    field = counters_at + 8 * COUNTERS_SNAPSHOT_NS
    snapshot_ns = int.from_bytes(snap.data[field:field + 8], "little")
    live = int.from_bytes(snap.data[counters_at + 16:counters_at + 24], "little")
    typed = snap.python["typed_blocks"] if snap.python else 0
    typing_ns = snap.python["typing_ns"] if snap.python else 0
    return {"ms": snapshot_ns / 1e6, "typing_ms": typing_ns / 1e6, "live": live,
            "typed": typed}


def one_run(args, types, work):
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    env = dict(os.environ, LD_PRELOAD=args.shim, PYTHONMALLOC="malloc",
               LEAKSCOPE_OPTIONS="output_dir=%s:summary=0:python_types=%d%s" %
               (work, types, ":" + args.options if args.options else ""))
    done = subprocess.run([args.python, "-c", SCRIPT, str(args.count)], env=env, check=True,
                          stdout=subprocess.PIPE, text=True)
    faults = json.loads(done.stdout)
    result = {}
    for label in LABELS:
        result[label] = read_snapshot(glob.glob(os.path.join(work, "*.%s.lks" % label))[0])
        result[label]["faults"] = faults.get(label)
    return result


def report(types, runs):
    for label in LABELS:
        cells = [run[label] for run in runs]
        line = "python_types=%d %-11s snapshot %5.0f ms, typing %5.0f ms" % (
            types, label, statistics.median(c["ms"] for c in cells),
            statistics.median(c["typing_ms"] for c in cells))
        if cells[0]["faults"] is not None:
            line += ", %6d page faults" % statistics.median(c["faults"] for c in cells)
        print(line + ", %d live blocks, %d typed" % (cells[-1]["live"], cells[-1]["typed"]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--shim", help="the shim to measure (default: BUILD's)")
    parser.add_argument("--python", default="/usr/bin/python3.11")
    parser.add_argument("--count", type=int, default=500000)
    parser.add_argument("--options", default="")
    args = parser.parse_args()
    args.shim = args.shim or os.path.join(args.build, "shim", "libleakscope.so")
    results = {0: [], 1: []}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.runs):
            for types in (0, 1):
                results[types].append(one_run(args, types, work))
    for types in (0, 1):
        report(types, results[types])
    return 0


if __name__ == "__main__":
    sys.exit(main())
