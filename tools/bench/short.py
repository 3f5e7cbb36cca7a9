#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Start-up and exit cost of short processes and build-like trees (issue 10
item 13): each workload run N times without the shim, with plain LD_PRELOAD
(snapshots to a temporary directory, no summary) and under `leakscope run`,
interleaved; prints the median wall time of each and the extra time per
process. Not a test: nothing here fails on a number.

Usage: tools/bench/short.py [--build DIR] [--runs N] [--workloads a,b]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ALLOCATOR = r"""
#include <stdlib.h>
int main(void)
{
	void *volatile keep[100];
	for (int i = 0; i < 1000; i++) {
		void *volatile block = malloc(16 + i % 256);
		if (i % 10 == 0)
			keep[i / 10] = block;
		else
			free(block);
	}
	for (int i = 0; i < 100; i++)
		free(keep[i]);
	return 0;
}
"""

MAKEFILE = """
TARGETS := $(addprefix t,$(shell seq 1 40))
all: $(TARGETS)
t%:
\t@echo $@ | tr a-z A-Z | sed s/T/x/ > /dev/null
"""


def workloads(work):
    alloc = os.path.join(work, "alloc1000")
    subprocess.run(["cc", "-O2", "-x", "c", "-o", alloc, "-"], input=ALLOCATOR.encode(),
                   check=True)
    with open(os.path.join(work, "Makefile"), "w", encoding="utf-8") as makefile:
        makefile.write(MAKEFILE)
    return {
        # name: (command, processes in the tree)
        "true": (["/bin/true"], 1),
        "alloc1000": ([alloc], 1),
        "sh-pipeline": (["sh", "-c", "echo a b c | tr a-z A-Z | sed s/A/x/ | wc -c"], 4),
        "make-j2": (["make", "-s", "-j2", "-C", work], 1 + 40 * 4),
    }


def timed(cmd, env):
    began = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return time.perf_counter() - began


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--workloads")
    args = parser.parse_args(argv)
    shim = os.path.join(args.build, "shim", "libleakscope.so")
    leakscope = os.path.join(args.build, "report", "leakscope")
    work = tempfile.mkdtemp(prefix="lks-short-")
    snapshots = os.path.join(work, "snapshots")
    os.mkdir(snapshots)
    preload_env = dict(os.environ, LD_PRELOAD=shim,
                       LEAKSCOPE_OPTIONS=f"output_dir={snapshots}:summary=0")
    chosen = workloads(work)
    if args.workloads:
        chosen = {name: chosen[name] for name in args.workloads.split(",")}
    print(f"| workload | processes | plain ms | LD_PRELOAD ms | leakscope run ms "
          f"| extra ms per process (preload) |")
    print("|---|---|---|---|---|---|")
    for name, (cmd, processes) in chosen.items():
        times = {"plain": [], "preload": [], "run": []}
        for _ in range(args.runs):
            times["plain"].append(timed(cmd, os.environ))
            times["preload"].append(timed(cmd, preload_env))
            times["run"].append(timed([leakscope, "run", "--shim", shim, "-o", os.devnull,
                                       "--", *cmd], os.environ))
            for entry in os.listdir(snapshots):
                os.unlink(os.path.join(snapshots, entry))
        med = {key: statistics.median(values) * 1000 for key, values in times.items()}
        print(f"| {name} | {processes} | {med['plain']:.2f} | {med['preload']:.2f} | "
              f"{med['run']:.2f} | {(med['preload'] - med['plain']) / processes:.2f} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
