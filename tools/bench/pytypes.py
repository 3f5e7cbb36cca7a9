#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Snapshot-time cost of typing Python objects (docs/PYTHON.md, "Typed
objects"): a heap of about 1.5 million live blocks (instances of a class
with __slots__, strings, their ints), one leakscope_snapshot(), with
python_types=0 and 1, interleaved; medians of N runs of the snapshot's
own time (counters.snapshot_ns) and of the typing (python.typing_ns).

Usage: tools/bench/pytypes.py [--runs N] [--build DIR] [--python EXE] [--count N]
Not a test: nothing here fails on a number.
"""

import argparse
import glob
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
import ctypes, sys
snapshot = ctypes.CDLL(None).leakscope_snapshot
class Item:
    __slots__ = ("n",)
    def __init__(self, n): self.n = n
count = int(sys.argv[1])
held = [Item(i) for i in range(count)] + [str(i) * 3 for i in range(count)]
snapshot(b"heap")
"""
COUNTERS_SNAPSHOT_NS = 15  # index of snapshot_ns in struct lks_counters


def one_run(args, types, work):
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    env = dict(os.environ, LD_PRELOAD=os.path.join(args.build, "shim", "libleakscope.so"),
               PYTHONMALLOC="malloc",
               LEAKSCOPE_OPTIONS="output_dir=%s:summary=0:python_exit=0:python_types=%d"
               % (work, types))
    subprocess.run([args.python, "-c", SCRIPT, str(args.count)], env=env, check=True)
    snap = lkspy.Snapshot(glob.glob(os.path.join(work, "*.heap.lks"))[0])
    counters_at = snap.sections[2][0]
    snapshot_ns = int.from_bytes(snap.data[counters_at + 8 * COUNTERS_SNAPSHOT_NS:
                                           counters_at + 8 * COUNTERS_SNAPSHOT_NS + 8],
                                 "little")
    live = int.from_bytes(snap.data[counters_at + 16:counters_at + 24], "little")
    return snapshot_ns, snap.python["typing_ns"], live, snap.python["typed_blocks"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--python", default="/usr/bin/python3.11")
    parser.add_argument("--count", type=int, default=500000)
    args = parser.parse_args()
    results = {0: [], 1: []}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.runs):
            for types in (0, 1):
                results[types].append(one_run(args, types, work))
    for types in (0, 1):
        runs = results[types]
        print("python_types=%d: snapshot %.0f ms (median of %d), typing %.0f ms, "
              "%d live blocks, %d typed" %
              (types, statistics.median(r[0] for r in runs) / 1e6, len(runs),
               statistics.median(r[1] for r in runs) / 1e6, runs[-1][2], runs[-1][3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
