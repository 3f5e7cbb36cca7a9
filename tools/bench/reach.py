#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Exit-time cost of leakscope's reachability scan against LeakSanitizer's
exit check, on tools/bench/reach.c (10 million blocks, about 1 GiB): the
time from main's return to the end of the process, median of N runs, and
leakscope's own figures (bytes scanned, snapshot time) from its snapshot.

Usage: tools/bench/reach.py [--build DIR] [--runs N] [--blocks N]
Not a test: nothing here fails on a number.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LSAN = "/lib/x86_64-linux-gnu/liblsan.so.0"


def exit_seconds(argv, env):
    """Wall and CPU seconds from main's return (the program prints both
    clocks then) to the end of the process."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    returned_ns, cpu_ns = (int(field) for field in process.stdout.readline().split())
    _, _, usage = os.wait4(process.pid, 0)
    wall = (time.clock_gettime_ns(time.CLOCK_MONOTONIC) - returned_ns) / 1e9
    return wall, usage.ru_utime + usage.ru_stime - cpu_ns / 1e9


def leakscope_figures(build, snapshot_dir):
    report = subprocess.run([os.path.join(build, "report", "leakscope"), "report",
                             "--format", "json", snapshot_dir], stdout=subprocess.PIPE,
                            check=True)
    summary = json.loads(report.stdout)["processes"][0]["summary"]
    return summary


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"),
                        help="a meson build directory of leakscope")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=10000000)
    args = parser.parse_args(argv)
    bin_dir = tempfile.mkdtemp(prefix="lks-bench-reach-bin-")
    workload = os.path.join(bin_dir, "reach")
    subprocess.run(["cc", "-O2", "-g", "-o", workload, os.path.join(HERE, "reach.c")],
                   check=True)
    program = [workload, str(args.blocks)]
    shim = os.path.join(args.build, "shim", "libleakscope.so")
    tools = [(name, preload) for name, preload in
             (("none", None), ("leakscope", shim), ("LeakSanitizer", LSAN))
             if not preload or os.path.exists(preload)]
    times = {name: [] for name, _ in tools}
    summary = None
    # interleaved: the load of other users of the machine falls on all alike
    for _ in range(args.runs):
        for name, preload in tools:
            with tempfile.TemporaryDirectory(prefix="lks-bench-reach-") as tmp:
                env = dict(os.environ, LEAKSCOPE_OPTIONS=f"output_dir={tmp}:summary=0",
                           LSAN_OPTIONS="exitcode=0:max_leaks=5")
                if preload:
                    env["LD_PRELOAD"] = preload
                times[name].append(exit_seconds(program, env))
                if name == "leakscope":
                    summary = leakscope_figures(args.build, tmp)
    if summary:
        print(f"leakscope scanned {summary['scanned_bytes'] / 2**30:.2f} GiB; "
              f"{summary['live_blocks']} live blocks; snapshot "
              f"{summary['snapshot_ns'] / 1e9:.2f} s; lost "
              f"{summary['leaked_blocks']} blocks")
    rows = [(name, statistics.median(t[0] for t in times[name]),
             statistics.median(t[1] for t in times[name])) for name, _ in tools]
    print("| exit check | wall s, main's return to process end | CPU s in that time |")
    print("| --- | --- | --- |")
    for name, wall, cpu in rows:
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
