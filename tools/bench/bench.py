#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares the cost of leakscope with heaptrack, LeakSanitizer and Valgrind
memcheck on the same workloads: medians of N interleaved runs, printed as
markdown tables of ratios to the uninstrumented run: wall time, CPU time
(user + system, steadier than wall time on a shared machine) and peak RSS
(of the largest process of the run's tree, from wait4's rusage in
measure.c). Then the report step: `leakscope report` on the snapshot of a
program that leaked 100,000 blocks from 1,000 stacks.

Usage: tools/bench/bench.py [--runs N] [--quick] [--build DIR] [--tools a,b]
                            [--workloads a,b] [--raw FILE]
Not a test: nothing here fails on a number. docs/PERFORMANCE.md has results.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LSAN = "/lib/x86_64-linux-gnu/liblsan.so.0"

PYTHON_WORKLOAD = """
import json
rows = [{"id": i, "name": "item %d" % i, "tags": list(range(i % 7))} for i in range(ROWS)]
text = json.dumps(rows)
print(len(text), len(json.loads(text)))
"""

SQLITE_WORKLOAD = """
create table t(x integer primary key, y text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < ROWS)
insert into t select x, printf('row %d', x) from c;
create index t_y on t(y);
select count(*), max(y) from t;
"""


class Workload:
    def __init__(self, argv, stdin=None):
        self.argv, self.stdin = argv, stdin


def workloads(bin_dir, tmp, scale):
    """name -> Workload; sizes are multiplied by scale (--quick: 0.02)."""
    def n(count):
        return str(max(1, int(count * scale)))
    data_path = os.path.join(tmp, "xz-input")
    with open(data_path, "wb") as data:
        data.write(b"".join(b"line %d of the benchmark input\n" % i
                            for i in range(int(n(400000)))))
    return {
        "churn, 1 thread": Workload([f"{bin_dir}/churn", "1", n(1000000)]),
        "churn, 2 threads": Workload([f"{bin_dir}/churn", "2", n(1000000)]),
        "30 frames deep": Workload([f"{bin_dir}/deep", n(1000000)]),
        "handle churn": Workload([f"{bin_dir}/handles", "1", n(100000)]),
        "1M live blocks": Workload([f"{bin_dir}/live", n(1000000)]),
        "python3 json": Workload(["/usr/bin/python3", "-I", "-c",
                                  PYTHON_WORKLOAD.replace("ROWS", n(200000))]),
        "sqlite3 rows": Workload(["/usr/bin/sqlite3", ":memory:"],
                                 SQLITE_WORKLOAD.replace("ROWS", n(200000)).encode()),
        "xz -T2": Workload(["/usr/bin/xz", "-T2", "--block-size=1MiB", "-3", "-c", data_path]),
    }


def tools(shim, tmp, before=None):
    """name -> function(argv) -> (argv, extra environment), when installed.
    LSan is preloaded into the program itself: preloaded into a wrapper such
    as /usr/bin/time it crashes. `before`: another build's shim, to compare."""
    found = {"plain": lambda argv: (argv, {})}
    found["leakscope"] = lambda argv: (argv, {
        "LD_PRELOAD": shim, "LEAKSCOPE_OPTIONS": f"output_dir={tmp}/lks:summary=0"})
    if before:
        found["before"] = lambda argv: (argv, {
            "LD_PRELOAD": before, "LEAKSCOPE_OPTIONS": f"output_dir={tmp}/lks:summary=0"})
    if shutil.which("heaptrack"):
        found["heaptrack"] = lambda argv: (["heaptrack", "-o", f"{tmp}/heaptrack", *argv], {})
    if os.path.exists(LSAN):
        found["lsan"] = lambda argv: (argv, {"LD_PRELOAD": LSAN, "LSAN_OPTIONS": "exitcode=0"})
    if shutil.which("valgrind"):
        found["memcheck"] = lambda argv: (["valgrind", "-q", "--leak-check=full",
                                           "--error-exitcode=0", *argv], {})
    return found


def measure(launcher, argv, env_extra, stdin):
    """(wall s, CPU s, peak RSS KiB, status) of one run, taken by measure.c;
    status is minus the signal when the program was killed. Output discarded."""
    with tempfile.NamedTemporaryFile("r") as result:
        command = [launcher, result.name, *(f"{k}={v}" for k, v in env_extra.items()),
                   "--", *argv]
        subprocess.run(command, input=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        wall, cpu, rss, status = result.read().split()
    if int(status) != 0:
        print(f"warning: {' '.join(argv[:4])} exited {status}", file=sys.stderr)
    return float(wall), float(cpu), int(rss), int(status)


def clear(directory):
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)


def build_workloads(bin_dir):
    for name in ("churn", "deep", "handles", "live", "leaks", "measure"):
        subprocess.run(["cc", "-O2", "-g", "-pthread", "-o", f"{bin_dir}/{name}",
                        f"{HERE}/{name}.c"], check=True)


def build_leakscope(build):
    """The shim and the command, built (or brought up to date) in `build`."""
    if not os.path.exists(os.path.join(build, "build.ninja")):
        subprocess.run(["meson", "setup", build, ROOT, "-Dtests=false"], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(build, "shim", "libleakscope.so"), os.path.join(build, "report", "leakscope")


def run_all(launcher, runs, chosen_tools, chosen_workloads, tmp):
    """Interleaved: each round runs every workload under every tool once, the
    tools in a rotated order, so that load from other users of the machine
    spreads over all of them."""
    samples = {}
    names = list(chosen_tools)
    for round_number in range(runs):
        print(f"round {round_number + 1}/{runs}", file=sys.stderr, flush=True)
        order = names[round_number % len(names):] + names[:round_number % len(names)]
        for wname, work in chosen_workloads.items():
            for tname in order:
                command, env = chosen_tools[tname](work.argv)
                samples.setdefault(f"{wname}|{tname}", []).append(
                    measure(launcher, command, env, work.stdin))
                clear(f"{tmp}/lks")
    return samples


def median(samples, index):
    return statistics.median(s[index] for s in samples)


def spread(samples, index):
    """(max - min) / median: how much one cell's runs disagreed."""
    values = [s[index] for s in samples]
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def crashed(samples):
    """'killed by signal N' when a run of the cell died by a signal, else ''."""
    signals = sorted({-s[3] for s in samples if s[3] < 0})
    return f"killed by signal {signals[0]}" if signals else ""


def print_tables(samples, tool_names, workload_names):
    others = tool_names[1:]
    print("Wall time, as a ratio to the plain run (CPU time ratio in parentheses):\n")
    print("| workload | plain wall / CPU | " + " | ".join(others) + " |")
    print("|---|---|" + "---|" * len(others))
    for wname in workload_names:
        plain = samples[f"{wname}|plain"]
        cells = [f"{median(plain, 0):.2f} s / {median(plain, 1):.2f} s"]
        for tname in others:
            mine = samples[f"{wname}|{tname}"]
            cells.append(crashed(mine) or f"{median(mine, 0) / median(plain, 0):.1f}x "
                         f"({median(mine, 1) / max(median(plain, 1), 1e-3):.1f}x)")
        print(f"| {wname} | " + " | ".join(cells) + " |")
    print("\nPeak RSS, as a ratio to the plain run:\n")
    print("| workload | plain | " + " | ".join(others) + " |")
    print("|---|---|" + "---|" * len(others))
    for wname in workload_names:
        plain = samples[f"{wname}|plain"]
        cells = [f"{median(plain, 2) / 1024:.0f} MiB"]
        cells += [crashed(samples[f"{wname}|{t}"]) or
                  f"{median(samples[f'{wname}|{t}'], 2) / median(plain, 2):.1f}x" for t in others]
        print(f"| {wname} | " + " | ".join(cells) + " |")
    spreads = sorted((spread(v, 0), k) for k, v in samples.items())
    print(f"\nNoise: the wall-time spread (max - min) / median of a cell's runs was "
          f"{statistics.median(s for s, _ in spreads):.0%} for the median cell, "
          f"{spreads[-1][0]:.0%} at most ({spreads[-1][1].replace('|', ' under ')}).")


def time_report_step(leakscope, shim, bin_dir, tmp, runs, stacks, blocks):
    """The report step of `leakscope run` for `leaks STACKS BLOCKS`, two ways:
    `leakscope report` on its snapshot (read, symbolize, group, print,
    without the program), and `leakscope run` minus the same program run
    under the shim alone (which includes starting and waiting). Also the
    shim's own time to write the snapshot."""
    launcher, program = f"{bin_dir}/measure", [f"{bin_dir}/leaks", str(stacks), str(blocks)]
    snapdir = f"{tmp}/report-step"
    os.mkdir(snapdir)
    options = {"LD_PRELOAD": shim, "LEAKSCOPE_OPTIONS": f"output_dir={snapdir}:summary=0"}
    subprocess.run(program, env=dict(os.environ, **options), check=True)
    report = json.loads(subprocess.run([leakscope, "report", "-f", "json", snapdir],
                                       check=True, capture_output=True, text=True).stdout)
    summary = report["processes"][0]["summary"]
    alone, whole, step = [], [], []
    for _ in range(runs):
        clear(snapdir)
        alone.append(measure(launcher, program, options, None))
        step.append(measure(launcher, [leakscope, "report", "-o", os.devnull, snapdir], {}, None))
        whole.append(measure(launcher, [leakscope, "run", "-o", os.devnull, "--", *program],
                             {}, None))
    print(f"\nReport step for {summary['leaked_blocks']} leaked blocks from "
          f"{summary['leak_sites']} stacks, medians of {runs}:\n"
          f"- `leakscope report` on the snapshot: {median(step, 0):.2f} s wall, "
          f"{median(step, 1):.2f} s CPU, {median(step, 2) / 1024:.0f} MiB peak RSS\n"
          f"- `leakscope run` {median(whole, 0):.2f} s minus the program under the shim "
          f"alone {median(alone, 0):.2f} s: {median(whole, 0) - median(alone, 0):.2f} s\n"
          f"- the shim's snapshot at exit (scan included): "
          f"{summary['snapshot_ns'] / 1e9:.2f} s")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median taken)")
    parser.add_argument("--quick", action="store_true",
                        help="one run of 2%%-sized workloads: checks that everything works")
    parser.add_argument("--build", default=os.path.join(tempfile.gettempdir(),
                                                        "leakscope-bench-build"),
                        help="meson build directory for the shim and the command")
    parser.add_argument("--tools", help="comma-separated subset of: "
                        "leakscope,before,heaptrack,lsan,memcheck")
    parser.add_argument("--workloads", help="comma-separated substrings of workload names")
    parser.add_argument("--raw", help="also write every sample to this JSON file")
    parser.add_argument("--before", help="the libleakscope.so of another build (say, "
                        "main's), run as the tool 'before' next to this one")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    runs, scale = (1, 0.02) if args.quick else (args.runs, 1.0)
    shim, leakscope = build_leakscope(os.path.abspath(args.build))
    tmp = tempfile.mkdtemp(prefix="lks-bench-")
    try:
        os.mkdir(f"{tmp}/lks")
        build_workloads(tmp)
        all_tools = tools(shim, tmp, args.before and os.path.abspath(args.before))
        wanted = args.tools.split(",") if args.tools else list(all_tools)
        chosen_tools = {name: fn for name, fn in all_tools.items()
                        if name == "plain" or name in wanted}
        chosen_workloads = {name: work for name, work in workloads(tmp, tmp, scale).items()
                            if shutil.which(work.argv[0]) and (not args.workloads or any(
                                part in name for part in args.workloads.split(",")))}
        started = time.monotonic()
        samples = run_all(f"{tmp}/measure", runs, chosen_tools, chosen_workloads, tmp)
        print(f"\nMedians of {runs} interleaved runs; load average at the end: "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
              f"{time.monotonic() - started:.0f} s in all.\n")
        print_tables(samples, list(chosen_tools), list(chosen_workloads))
        time_report_step(leakscope, shim, tmp, tmp, max(runs, 3),
                         stacks=1000 if not args.quick else 100,
                         blocks=100000 if not args.quick else 5000)
        if args.raw:
            with open(args.raw, "w", encoding="utf-8") as raw:
                json.dump(samples, raw, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
