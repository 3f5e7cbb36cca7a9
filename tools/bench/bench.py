#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares the cost of leakscope with heaptrack, LeakSanitizer and Valgrind
memcheck on the same workloads: medians of N interleaved runs, printed as a
markdown table of ratios to the uninstrumented run (wall time and peak RSS;
RSS is that of the largest process of the run's tree, as getrusage reports).

Usage: tools/bench/bench.py [--runs N] [--build DIR] [--tools a,b] [--workloads a,b]
Not a test: nothing here fails on a number.
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

PYTHON_WORKLOAD = """
import json
rows = [{"id": i, "name": "item %d" % i, "tags": list(range(i % 7))} for i in range(200000)]
text = json.dumps(rows)
print(len(text), len(json.loads(text)))
"""

SQLITE_WORKLOAD = """
create table t(x integer primary key, y text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000)
insert into t select x, printf('row %d', x) from c;
create index t_y on t(y);
select count(*), max(y) from t;
"""


def workloads(bin_dir, tmp):
    """name -> (argv, stdin bytes or None)"""
    data_path = os.path.join(tmp, "xz-input")
    if not os.path.exists(data_path):
        with open(data_path, "wb") as data:
            data.write(b"".join(b"line %d of the benchmark input\n" % i for i in range(400000)))
    return {
        "churn 1 thread": ([f"{bin_dir}/churn", "1", "1000000"], None),
        "churn 2 threads": ([f"{bin_dir}/churn", "2", "1000000"], None),
        "30 frames deep": ([f"{bin_dir}/deep", "500000"], None),
        "1M live blocks": ([f"{bin_dir}/live", "1000000"], None),
        "python3 json": (["/usr/bin/python3", "-I", "-c", PYTHON_WORKLOAD], None),
        "sqlite3 200k rows": (["sqlite3", ":memory:"], SQLITE_WORKLOAD.encode()),
        "xz -T2": (["xz", "-T2", "--block-size=1MiB", "-3", "-c", data_path], None),
    }


def find_lsan():
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in out.splitlines():
        if "liblsan.so" in line and "=>" in line:
            return line.split("=>", 1)[1].strip()
    return None


def tools(shim, tmp):
    """name -> function(argv) -> (argv, extra environment), or absent when not installed"""
    found = {"plain": lambda argv: (argv, {})}
    found["leakscope"] = lambda argv: (argv, {
        "LD_PRELOAD": shim, "LEAKSCOPE_OPTIONS": f"output_dir={tmp}/lks,summary=0"})
    if shutil.which("heaptrack"):
        found["heaptrack"] = lambda argv: (["heaptrack", "-o", f"{tmp}/heaptrack", *argv], {})
    lsan = find_lsan()
    if lsan:
        found["lsan"] = lambda argv: (argv, {"LD_PRELOAD": lsan,
                                             "LSAN_OPTIONS": "exitcode=0"})
    if shutil.which("valgrind"):
        found["memcheck"] = lambda argv: (["valgrind", "-q", "--leak-check=full",
                                           "--error-exitcode=0", *argv], {})
    return found


def measure(argv, env_extra, stdin):
    """Wall seconds and peak RSS (KiB) of one run; output discarded."""
    env = dict(os.environ, **env_extra)
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if stdin:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(f"warning: {' '.join(argv[:4])} exited {proc.returncode}", file=sys.stderr)
    return elapsed, usage.ru_maxrss


def build_workloads(bin_dir):
    for name in ("churn", "deep", "live"):
        subprocess.run(["cc", "-O2", "-g", "-pthread", "-o", f"{bin_dir}/{name}",
                        f"{HERE}/{name}.c"], check=True)


def find_shim(build):
    shim = os.path.join(build, "shim", "libleakscope.so")
    if not os.path.exists(shim):
        subprocess.run(["meson", "setup", build, ROOT, "-Dtests=false"], check=True)
        subprocess.run(["ninja", "-C", build], check=True)
    return shim


def run_all(args, chosen_tools, chosen_workloads):
    """Interleaved: each round runs every workload under every tool once."""
    samples = {}
    for round_number in range(args.runs):
        print(f"round {round_number + 1}/{args.runs}", file=sys.stderr, flush=True)
        for wname, (argv, stdin) in chosen_workloads.items():
            for tname, wrap in chosen_tools.items():
                command, env = wrap(argv)
                samples.setdefault((wname, tname), []).append(measure(command, env, stdin))
    return samples


def print_table(samples, tool_names, workload_names):
    print("| workload | plain (s, MiB) | " + " | ".join(tool_names[1:]) + " |")
    print("|---" * len(tool_names) + "|---|")
    for wname in workload_names:
        plain_t = statistics.median(s[0] for s in samples[(wname, "plain")])
        plain_m = statistics.median(s[1] for s in samples[(wname, "plain")])
        cells = [f"{plain_t:.3f} s, {plain_m / 1024:.0f} MiB"]
        for tname in tool_names[1:]:
            t = statistics.median(s[0] for s in samples[(wname, tname)])
            m = statistics.median(s[1] for s in samples[(wname, tname)])
            cells.append(f"{t / plain_t:.1f}x time, {m / plain_m:.1f}x RSS")
        print(f"| {wname} | " + " | ".join(cells) + " |")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median taken)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"),
                        help="meson build directory holding shim/libleakscope.so")
    parser.add_argument("--tools", help="comma-separated subset of: "
                        "leakscope,heaptrack,lsan,memcheck")
    parser.add_argument("--workloads", help="comma-separated substrings of workload names")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    shim = find_shim(os.path.abspath(args.build))
    tmp = tempfile.mkdtemp(prefix="lks-bench-")
    try:
        os.mkdir(f"{tmp}/lks")
        build_workloads(tmp)
        all_tools = tools(shim, tmp)
        wanted = args.tools.split(",") if args.tools else list(all_tools)
        chosen_tools = {name: fn for name, fn in all_tools.items()
                        if name == "plain" or name in wanted}
        chosen_workloads = {name: wl for name, wl in workloads(tmp, tmp).items()
                            if shutil.which(wl[0][0]) and (not args.workloads
                            or any(part in name for part in args.workloads.split(",")))}
        samples = run_all(args, chosen_tools, chosen_workloads)
        print(f"\nMedians of {args.runs} interleaved runs; ratios to the plain run.\n")
        print_table(samples, list(chosen_tools), list(chosen_workloads))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
