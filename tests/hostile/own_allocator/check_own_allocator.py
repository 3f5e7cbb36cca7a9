#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A program whose own allocator maps memory, under a lock of its own, from
a library constructor that runs before the shim's (issue 10, item 2: rustc's
jemalloc hung for ever). Under the shim it must finish, under a timeout,
with the output and status it has without it. With --source, its leak
annotated there (expect-leak: fn=F blocks=N bytes=B) must be reported too,
and LD_DEBUG=files must show the allocator's constructor running first, so
the test really takes that path.

Usage: check_own_allocator.py --leakscope EXE --shim SO [--source FILE]
                              [--first-init NAME] -- PROGRAM [ARGS...]
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

TIMEOUT = 120  # seconds a run may take: a bound against a hang (it hung for ever)
ANNOTATION = re.compile(r"expect-leak:\s*fn=(\S+)\s+blocks=(\d+)\s+bytes=(\d+)")


def descendants(pid):
    """pid and every process below it, read from /proc before any is killed
    (a killed parent's children would be handed to init)."""
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def run(argv, env=None):
    """(status, stdout, stderr), or None when it did not finish in time: then
    it and everything it started are killed, so no hung process stays."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for pid in descendants(process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.communicate()
            return None
    return process.returncode, stdout, stderr


def init_order(args, work, errors):
    """The objects' constructors in the order the loader called them."""
    env = dict(os.environ, LD_PRELOAD=args.shim, LD_DEBUG="files",
               LEAKSCOPE_OPTIONS=f"output_dir={work}:summary=0")
    result = run(args.program, env)
    if result is None:
        errors.append(f"under LD_PRELOAD: no end after {TIMEOUT} s (hung)")
        return
    calls = [line.split("calling init:", 1)[1].strip() for line in result[2].splitlines()
             if "calling init:" in line]
    first = [i for i, path in enumerate(calls) if os.path.basename(path).startswith(
        args.first_init)]
    shim = [i for i, path in enumerate(calls) if path.endswith("libleakscope.so")]
    if not first or not shim or first[0] > shim[0]:
        errors.append(f"{args.first_init}'s constructor does not run before the shim's: "
                      f"{calls}")


def expected_leak(source):
    with open(source, encoding="utf-8") as text:
        match = ANNOTATION.search(text.read())
    if not match:
        raise SystemExit(f"{source}: no expect-leak annotation")
    return match.group(1), int(match.group(2)), int(match.group(3))


def check_leak(report_path, source, errors):
    fn, blocks, size = expected_leak(source)
    with open(report_path, encoding="utf-8") as report:
        leaks = [leak for proc in json.load(report)["processes"] for leak in proc["leaks"]
                 if leak["class"] != "reachable"]
    mine = [leak for leak in leaks if any(frame.get("function") == fn
                                          for frame in leak["stack"])]
    found = (sum(leak["blocks"] for leak in mine), sum(leak["bytes"] for leak in mine))
    if found != (blocks, size):
        errors.append(f"leak at {fn}: {found[0]} blocks, {found[1]} bytes; "
                      f"want {blocks}, {size}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leakscope", required=True)
    parser.add_argument("--shim", required=True)
    parser.add_argument("--source")
    parser.add_argument("--first-init")
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    errors = []
    plain = run(args.program)
    if plain is None:
        raise SystemExit("the program does not finish even without the shim")
    with tempfile.TemporaryDirectory(prefix="lks-own-alloc-") as work:
        if args.first_init:
            init_order(args, work, errors)
        report = os.path.join(work, "report.json")
        traced = run([args.leakscope, "run", "--json", report, "--shim", args.shim, "--",
                      *args.program])
        if traced is None:
            errors.append(f"under leakscope run: no end after {TIMEOUT} s (hung)")
        else:
            if traced[:2] != plain[:2]:
                errors.append(f"status and output {traced[:2]!r}, without the shim "
                              f"{plain[:2]!r}")
            if args.source and not errors:
                check_leak(report, args.source, errors)
    if errors:
        print("FAIL:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    print(f"ok: {os.path.basename(args.program[0])} runs as without the shim")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
