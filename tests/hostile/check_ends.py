#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""No process disappears from a report (issue 11, section 3).

  tree   bash -c 'P term; P abort; yes | head -1' under `leakscope run
         --error-exitcode 23` (P: fatal_signal, which leaks 3 blocks and
         then dies of SIGTERM or SIGABRT; yes dies of SIGPIPE): exits 23,
         and the report lists bash, both P, yes and head, each P with its
         3 leaked blocks and the signal that ended it

Usage: check_ends.py --leakscope EXE --shim SO MODE -- FATAL_SIGNAL_PROGRAM
"""

import argparse
import os
import shutil
import sys

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


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leakscope", required=True, type=os.path.abspath)
    parser.add_argument("--shim", required=True, type=os.path.abspath)
    parser.add_argument("mode", choices=["tree"])
    parser.add_argument("program", type=os.path.abspath)
    args = parser.parse_args(argv)
    tools = hostile.Tools(args.leakscope, args.shim)
    errors, outcome = {"tree": check_tree}[args.mode](args, tools)
    if errors:
        sys.stderr.buffer.write(outcome.stderr[-3000:])
        print("FAIL:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    print(f"ok: {args.mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
