#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The same binary gets the same verdict on every run: runs each fixture
RUNS times under the shim (ASLR as the system has it, normally on), several
at once, and requires that every run's processes report the same sites with
the same classes, blocks and bytes (indirect ones too).

Usage: check_determinism.py --leakscope EXE --shim SO [--runs N] -- PROGRAM...
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

import lkstest
from lkstest import CheckError

FRAMES = 4  # functions of a site's stack that tell sites apart


def run_once(args, program, out_dir):
    os.makedirs(out_dir)
    env = dict(os.environ, LD_PRELOAD=args.shim,
               LEAKSCOPE_OPTIONS=f"output_dir={out_dir}:summary=0")
    subprocess.run([program], env=env, cwd=out_dir, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120, check=False)


def process_verdict(proc):
    leaks = sorted((leak.get("class"), leak.get("family"), leak.get("blocks"),
                    leak.get("bytes"), leak.get("indirect_blocks"), leak.get("indirect_bytes"),
                    tuple(frame.get("function") or "?"
                          for frame in (leak.get("stack") or [])[:FRAMES]))
                   for leak in proc.get("leaks") or [])
    return (proc.get("forked"), proc.get("reason"), proc.get("exit_status"), tuple(leaks))


def verdicts(args, run_dirs, workdir):
    """Per run, the verdicts of its processes, read from one report of all."""
    snapshots = [d for d in run_dirs if os.listdir(d)]
    per_dir = {d: [] for d in run_dirs}
    if not snapshots:
        return per_dir
    json_path = os.path.join(workdir, "report.json")
    result = subprocess.run([args.leakscope, "report", "-f", "json", "-o", json_path,
                             *snapshots], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=600, check=False)
    if result.returncode not in (0, 23):
        raise CheckError(f"leakscope report exited {result.returncode}: "
                         + result.stdout.decode(errors="replace")[-2000:])
    pid_dir = {}
    for run_dir in snapshots:
        for name in os.listdir(run_dir):
            pid_dir[int(name.split(".")[-4])] = run_dir  # NAME.PID.SEQ.LABEL.lks
    for proc in lkstest.load_json(json_path)["processes"]:
        per_dir[pid_dir[proc["pid"]]].append(process_verdict(proc))
    return per_dir


def describe(verdict):
    lines = []
    for forked, reason, status, leaks in verdict:
        lines.append(f"    {'child' if forked else 'process'} ({reason}, status {status})")
        lines += [f"      {klass} {family} {blocks} blocks {size} bytes "
                  f"(indirect {ib}/{ibytes}) at {' < '.join(stack)}"
                  for klass, family, blocks, size, ib, ibytes, stack in leaks]
    return "\n".join(lines) or "    no snapshot"


def check_program(args, program, workdir, pool):
    run_dirs = [os.path.join(workdir, f"run-{i}") for i in range(args.runs)]
    list(pool.map(lambda d: run_once(args, program, d), run_dirs))
    per_dir = verdicts(args, run_dirs, workdir)
    seen = {}
    for run_dir in run_dirs:
        seen.setdefault(tuple(sorted(per_dir[run_dir], key=repr)), []).append(run_dir)
    if len(seen) == 1:
        print(f"same in {args.runs} runs: {os.path.basename(program)}", flush=True)
        return []
    return [f"{os.path.basename(program)}: {len(seen)} different verdicts in {args.runs} runs:\n"
            + "\n".join(f"  in {len(dirs)} runs:\n{describe(verdict)}"
                        for verdict, dirs in seen.items())]


def aslr_note():
    try:
        with open("/proc/sys/kernel/randomize_va_space", encoding="utf-8") as knob:
            if knob.read().strip() == "0":
                print("note: ASLR is off on this system (randomize_va_space=0)")
    except OSError:
        pass


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("programs", nargs="+", type=os.path.abspath)
    args = parser.parse_args(argv)
    aslr_note()
    errors = []
    workers = max(2, os.cpu_count() or 2)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for program in args.programs:
            with tempfile.TemporaryDirectory(prefix="lks-det-") as workdir:
                try:
                    errors += check_program(args, program, workdir, pool)
                except (CheckError, subprocess.TimeoutExpired, OSError, ValueError,
                        KeyError) as err:
                    errors.append(f"{os.path.basename(program)}: {err}")
    return lkstest.finish(errors, f"ok: {len(args.programs)} programs, {args.runs} runs each")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
