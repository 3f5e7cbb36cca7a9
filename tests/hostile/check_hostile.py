#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a program once without the shim, then --repeat times with it (under
`leakscope run`, or plain LD_PRELOAD with --preload), and requires of every
run with the shim: the same stdout, the same exit status or terminating
signal, no hang (--timeout per run), a report naming the started process,
and the exact counts asked for.

Usage: check_hostile.py --leakscope EXE --shim SO [options] -- PROGRAM [ARGS...]
  --site FN=N          exactly N live blocks allocated under function FN
  --definite FN=N      exactly N of them definitely lost (the exit scan ran)
  --site-or-missed FN=N  N blocks at FN, or fewer with the rest counted missed
  --at-least KEY=N     summary KEY (allocs, frees, ...) is at least N
  --at-most KEY=N      summary KEY (missed_threads, ...) is at most N
  --consistent         allocs - frees == live_blocks: nothing recorded was lost
  --children N         the report holds exactly N processes besides the started one
  --child-site FN=N    each of them has exactly N live blocks allocated under FN
  --or-stderr TEXT     a missing report is fine if leakscope's stderr says TEXT
  --stderr TEXT        leakscope's stderr says TEXT (what the shim could not do)
  --no-report          check only output, status and time (fast loops)
"""

import argparse
import os
import shutil
import sys
import tempfile

import hostile


def key_value(text):
    key, _, value = text.rpartition("=")
    return key, int(value)


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leakscope", required=True)
    parser.add_argument("--shim", required=True)
    parser.add_argument("--preload", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    # seconds a run may take: a bound against a hang, which no run of a
    # working shim comes near even at load 25 on 2 cores
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--rlimit-as", type=int, help="KiB, as ulimit -v")
    parser.add_argument("--rlimit-nofile", type=int)
    parser.add_argument("--rlimit-nofile-hard", type=int,
                        help="the hard fd limit, when not the soft one")
    parser.add_argument("--in-tempdir", action="store_true",
                        help="each run in a fresh working directory")
    parser.add_argument("--site", type=key_value, action="append", default=[])
    parser.add_argument("--site-or-missed", type=key_value, action="append", default=[])
    parser.add_argument("--definite", type=key_value, action="append", default=[])
    parser.add_argument("--at-least", type=key_value, action="append", default=[])
    parser.add_argument("--at-most", type=key_value, action="append", default=[])
    parser.add_argument("--consistent", action="store_true")
    parser.add_argument("--children", type=int)
    parser.add_argument("--child-site", type=key_value, action="append", default=[])
    parser.add_argument("--or-stderr")
    parser.add_argument("--stderr")
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    # the runs may have another working directory
    args.leakscope, args.shim = os.path.abspath(args.leakscope), os.path.abspath(args.shim)
    if os.sep in args.program[0]:
        args.program[0] = os.path.abspath(args.program[0])
    return args


def run_once(args, tools, traced):
    cwd = tempfile.mkdtemp(prefix="lks-hostile-cwd-") if args.in_tempdir else None
    options = {"timeout": args.timeout, "cwd": cwd,
               "preexec_fn": hostile.limits(args.rlimit_as, args.rlimit_nofile,
                                            args.rlimit_nofile_hard)}
    try:
        if not traced:
            return tools.plain(args.program, **options)
        if args.preload:
            return tools.preload(args.program, **options)
        return tools.leakscope_run(args.program, **options)
    finally:
        if cwd:
            shutil.rmtree(cwd, ignore_errors=True)


def check_counts(args, proc):
    errors = []
    summary = proc.get("summary") or {}
    for function, want in args.site:
        blocks, _ = hostile.site(proc, function)
        if blocks != want:
            errors.append(f"{blocks} live blocks allocated in {function}, want {want}")
    for function, want in args.definite:
        blocks, _ = hostile.site(proc, function, "definite")
        if blocks != want:
            errors.append(f"{blocks} blocks definitely lost in {function}, want {want}")
    for function, want in args.site_or_missed:
        blocks, _ = hostile.site(proc, function)
        missed = summary.get("missed_allocs") or 0
        if blocks != want and not (blocks < want and blocks + missed >= want):
            errors.append(f"{blocks} live blocks allocated in {function} and {missed} "
                          f"missed allocations: {want - blocks} blocks silently unrecorded")
    for key, want in args.at_least:
        if (summary.get(key) or 0) < want:
            errors.append(f"summary {key} = {summary.get(key)}, want at least {want}")
    for key, want in args.at_most:
        if (summary.get(key) or 0) > want:
            errors.append(f"summary {key} = {summary.get(key)}, want at most {want}")
    if args.consistent:
        allocs, frees, live = (summary.get(k) or 0 for k in ("allocs", "frees", "live_blocks"))
        if allocs - frees != live:
            errors.append(f"allocs {allocs} - frees {frees} = {allocs - frees}, "
                          f"but {live} blocks live: records were lost")
    return errors


def check_children(args, report):
    others = (report.get("processes") or [])[1:]
    errors = []
    if args.children is not None and len(others) != args.children:
        errors.append(f"{len(others)} other processes in the report, want {args.children}")
    for proc in others:
        for function, want in args.child_site:
            blocks, _ = hostile.site(proc, function)
            if blocks != want:
                errors.append(f"pid {proc.get('pid')}: {blocks} live blocks allocated in "
                              f"{function}, want {want}")
    return errors


def compare(args, plain, traced):
    errors = []
    if traced.end == hostile.TIMEOUT:
        return [f"hangs with the shim (killed after {args.timeout} s); "
                f"stderr: {hostile.show(traced.stderr)}"]
    if traced.end != plain.end:
        errors.append(f"{traced.end} with the shim, {plain.end} without")
    if traced.stdout != plain.stdout:
        errors.append(f"stdout with the shim {hostile.show(traced.stdout)!r}, "
                      f"without {hostile.show(plain.stdout)!r}")
    if args.no_report:
        return errors
    if args.stderr and args.stderr not in traced.stderr.decode(errors="replace"):
        errors.append(f"stderr does not say {args.stderr!r}")
    proc = traced.started()
    if proc is None:
        said = traced.stderr.decode(errors="replace")
        if not (args.or_stderr and args.or_stderr in said):
            errors.append("no report of the started process"
                          + (f" and stderr does not say {args.or_stderr!r}" if args.or_stderr else ""))
        return errors
    return errors + check_counts(args, proc) + check_children(args, traced.report)


def main(argv):
    args = parse(argv)
    tools = hostile.Tools(args.leakscope, args.shim)
    plain = run_once(args, tools, traced=False)
    if plain.end == hostile.TIMEOUT:
        print(f"FAIL: the program hangs without the shim too", file=sys.stderr)
        return 1
    mode = "LD_PRELOAD" if args.preload else "leakscope run"
    for attempt in range(1, args.repeat + 1):
        traced = run_once(args, tools, traced=True)
        errors = compare(args, plain, traced)
        if errors:
            sys.stderr.buffer.write(traced.stderr[-3000:])
            print(f"FAIL (run {attempt} of {args.repeat} under {mode}):\n  "
                  + "\n  ".join(errors), file=sys.stderr)
            return 1
    print(f"ok: {args.repeat} run(s) under {mode}: {plain.end}, same stdout "
          f"({len(plain.stdout)} bytes), {plain.seconds:.2f} s without the shim, "
          f"{traced.seconds:.2f} s with (last run)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
