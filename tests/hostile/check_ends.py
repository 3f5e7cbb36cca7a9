#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""No process disappears from a report (issue 11, section 3).

  tree   bash -c 'P term; P abort; yes | head -1' under `leakscope run
         --error-exitcode 23` (P: fatal_signal, which leaks 3 blocks and
         then dies of SIGTERM or SIGABRT; yes dies of SIGPIPE): exits 23,
         and the report lists bash, both P, yes and head, each P with its
         3 leaked blocks and the signal that ended it

  killed P (fatal_signal) leaks and kills itself with SIGKILL, which no
         handler sees: as the started process, `run --error-exitcode 23`
         exits 23 and says it was killed, and 137 with --allow-killed; as an
         orphan of bash (so leakscope run reaps it), the report names it
         killed with no snapshot, the gate fails, and --allow-killed passes;
         and as children the program (P reap) or bash reaps itself, which
         the shim in the parent marks: the same, and P's stdout unchanged
  root   P (fork_threads) forks 20 children: `leakscope report DIR` of the
         directory `run -d DIR` wrote puts P first, as run's own report
         does, 3 times; and so it does without run's mark (a plain
         LD_PRELOAD directory), from the snapshots alone

Usage: check_ends.py --leakscope EXE --shim SO MODE PROGRAM
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import hostile


def processes(report):
    return (report or {}).get("processes") or []


def check_tree(args, tools):
    script = f"{args.program} term; {args.program} abort; yes | head -1"
    outcome = tools.leakscope_run([shutil.which("bash"), "-c", script], 120,
                                  extra=["--error-exitcode", "23"])
    errors = []
    if outcome.end != "exit 23":
        errors.append(f"leakscope run ended with {outcome.end}, want exit 23 (leaks)")
    names = sorted(os.path.basename(p.get("exe") or "?") for p in processes(outcome.report))
    want = sorted(["bash", "yes", "head"] + [os.path.basename(args.program)] * 2)
    if names != want:
        errors.append(f"processes in the report: {names}, want {want}")
    signals = sorted(p.get("signal") or 0 for p in processes(outcome.report)
                     if p.get("reason") == "fatal-signal")
    if signals != sorted([6, 13, 15]):
        errors.append(f"processes ended by a signal: {signals}, want SIGABRT, SIGPIPE "
                      "and SIGTERM (6, 13, 15)")
    for proc in processes(outcome.report):
        if os.path.basename(proc.get("exe") or "") == os.path.basename(args.program):
            blocks, _ = hostile.site(proc, "leak_before_end")
            if blocks != 3:
                errors.append(f"pid {proc.get('pid')}: {blocks} blocks leaked in "
                              "leak_before_end, want 3")
    return errors, outcome


def expect_end(errors, what, outcome, want):
    if outcome.end != want:
        errors.append(f"{what}: leakscope run ended with {outcome.end}, want {want}")


def check_killed(args, tools):
    errors = []
    root = tools.leakscope_run([args.program, "kill9"], 60, extra=["--error-exitcode", "23"])
    expect_end(errors, "started process killed", root, "exit 23")
    if b"killed by signal 9" not in root.stderr:
        errors.append("started process killed: run does not say it was killed by signal 9")
    allowed = tools.leakscope_run([args.program, "kill9"], 60,
                                  extra=["--error-exitcode", "23", "--allow-killed"])
    expect_end(errors, "started process killed, --allow-killed", allowed, "signal SIGKILL")
    script = f"(sleep 0.3; exec {args.program} kill9) & exit 0"
    tree = [shutil.which("bash"), "-c", script]
    orphan = tools.leakscope_run(tree, 60, extra=["--error-exitcode", "23", "--wait-children"])
    expect_end(errors, "orphan killed", orphan, "exit 23")
    killed = [d for d in (orphan.report or {}).get("no_snapshot") or []
              if d.get("signal") == 9 and d.get("why") == "killed"]
    if len(killed) != 1 or not (killed[0].get("name") or "").startswith("hostile_fatal"):
        errors.append(f"orphan killed: no_snapshot lists {killed}, want the program "
                      "killed by signal 9")
    if b"killed by signal 9 (SIGKILL), no snapshot" not in orphan.stdout + orphan.stderr:
        errors.append("orphan killed: the text report does not name it")
    passed = tools.leakscope_run(tree, 60, extra=["--error-exitcode", "23", "--wait-children",
                                                  "--allow-killed"])
    expect_end(errors, "orphan killed, --allow-killed", passed, "exit 0")
    errors += check_reaped(args, tools)
    return errors, orphan


def check_reaped(args, tools):
    """Children the program reaps itself: the shim in it marks them."""
    errors = []
    plain = hostile.run([args.program, "reap"], 60)
    limit = ["--error-exitcode", "23", "--max-leaked-bytes", "100000"]
    reaped = tools.leakscope_run([args.program, "reap"], 60, extra=limit)
    expect_end(errors, "children reaped by the program", reaped, "exit 23")
    if reaped.stdout != plain.stdout:
        errors.append(f"children reaped by the program: stdout {reaped.stdout!r}, "
                      f"without the shim {plain.stdout!r}")
    started = processes(reaped.report)[:1]
    children = sorted(d.get("pid") for d in (reaped.report or {}).get("no_snapshot") or []
                      if d.get("signal") == 9 and d.get("why") == "killed")
    if len(children) != 4 or (started and started[0].get("pid") in children):
        errors.append(f"children reaped by the program: no_snapshot lists pids {children}, "
                      "want its 4 children killed by signal 9")
    bash_reaped = tools.leakscope_run([shutil.which("bash"), "-c",
                                       f"{args.program} kill9; echo after"], 60, extra=limit)
    expect_end(errors, "child of bash killed", bash_reaped, "exit 23")
    allowed = tools.leakscope_run([args.program, "reap"], 60, extra=limit + ["--allow-killed"])
    expect_end(errors, "children reaped by the program, --allow-killed", allowed, "exit 0")
    return errors


def report_of(args, directory):
    result = subprocess.run([args.leakscope, "report", "--format", "json", directory],
                            capture_output=True, timeout=120, check=False)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return None


def check_root(args, tools):
    errors = []
    outcome = None
    for attempt in range(3):
        work = tempfile.mkdtemp(prefix="lks-ends-")
        directory = os.path.join(work, "snapshots")
        try:
            outcome = tools.leakscope_run([args.program], 120, extra=["-d", directory])
            first = processes(outcome.report)[:1]
            want = first[0].get("pid") if first else None
            if want is None or len(processes(outcome.report)) != 21:
                errors.append(f"run {attempt + 1}: run's report has "
                              f"{len(processes(outcome.report))} processes, want 21")
                break
            for marked in (True, False):
                if not marked:
                    for name in os.listdir(directory):
                        if name.startswith(".started."):
                            os.unlink(os.path.join(directory, name))
                report = report_of(args, directory)
                got = processes(report)[0].get("pid") if processes(report) else None
                if got != want:
                    errors.append(f"run {attempt + 1}: report DIR "
                                  f"({'with' if marked else 'without'} run's mark) puts pid "
                                  f"{got} first, run started {want}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if errors:
            break
    return errors, outcome


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leakscope", required=True, type=os.path.abspath)
    parser.add_argument("--shim", required=True, type=os.path.abspath)
    parser.add_argument("mode", choices=["tree", "killed", "root"])
    parser.add_argument("program", type=os.path.abspath)
    args = parser.parse_args(argv)
    tools = hostile.Tools(args.leakscope, args.shim)
    errors, outcome = {"tree": check_tree, "killed": check_killed,
                       "root": check_root}[args.mode](args, tools)
    if errors:
        if outcome:
            sys.stderr.buffer.write(outcome.stderr[-3000:])
        print("FAIL:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    print(f"ok: {args.mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
