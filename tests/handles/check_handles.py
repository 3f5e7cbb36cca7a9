#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one handle fixture under `leakscope run --json` and checks the open
handles and the fds leaked into children against the fixture's annotations.

Annotations (in a comment on the line that creates the handle):
  expect-handle: type=TYPE count=N [desc=SUBSTRING] [child|inherited]
                 [process=started|child]
      (quote a SUBSTRING with spaces: desc="socket AF_UNIX")
      TYPE as in the JSON report (fd, socket, pipe, FILE, DIR, mmap...);
      `child` means listed under leaked_into_child, `inherited` under
      inherited (a fork child's fds from its parent), not as open;
      process= the process whose report lists it: the started one (default)
      or a fork child of it; heap=N: each handle holds at least N bytes of
      heap (a DIR's buffer), counted in the group's heap_bytes.
  expect-no-handles   the program leaves no handle and leaks none to a child
  expect-held-mappings: N   N of its mappings are still pointed at when it
                      exits: held like reachable memory, not listed (default 0)
  expect-held-mappings-at-most: N   0 to N of them are (threads that map
                      and unmap still run at exit)
  expect-closed-unseen: N   N recorded fds were closed by calls the shim did
                      not see (syscall(SYS_close)...) (default 0)
  expect-replaced-unseen: N  N of those now hold another file (default 0)
  expect-unmapped-unseen: N  N recorded mappings were unmapped by calls the
                      shim did not see (syscall(SYS_munmap)) (default 0)
  expect-opened-unseen: N   N fds open at exit were opened by calls the shim
                      did not see (syscall(SYS_openat)...) (default 0; in the
                      other processes of the tree, 0 always)
Memory leaks touching the fixture fail the test, except those allocated
inside libc for a stream the fixture left open.

Usage: check_handles.py --leakscope EXE --shim SO --source FILE
                        [--nofile N] [--runs N] -- PROGRAM [ARGS...]
--runs N runs it N times, each checked (a fixture whose threads race its
exit).
"""

import json
import os
import resource
import subprocess
import sys
import tempfile

import lkstest
from lkstest import CheckError


LISTS = {"open": "handles", "child": "leaked_into_child", "inherited": "inherited"}


def parse_annotation(path, lineno, text):
    where = f"{path}:{lineno}"
    fields, flags = lkstest.annotation_fields(text, where, flags=("child", "inherited"))
    if len(flags) > 1:
        raise CheckError(f"{where}: child or inherited, not both")
    try:
        expect = {"file": path, "line": lineno, "type": fields.pop("type"),
                  "count": int(fields.pop("count")), "desc": fields.pop("desc", ""),
                  "list": LISTS[flags.pop() if flags else "open"],
                  "process": fields.pop("process", "started"),
                  "heap": int(fields.pop("heap", 0))}
    except (KeyError, ValueError) as err:
        raise CheckError(f"{where}: bad expect-handle: {err}") from err
    if fields or expect["process"] not in ("started", "child"):
        raise CheckError(f"{where}: unknown fields {sorted(fields)} or process=")
    return expect


# summary counters a fixture may expect other than 0: annotation -> key
EXPECTED_COUNTS = {"expect-held-mappings": "held_mappings",
                   "expect-closed-unseen": "closed_unseen",
                   "expect-replaced-unseen": "replaced_unseen",
                   "expect-unmapped-unseen": "unmapped_unseen",
                   "expect-opened-unseen": "opened_unseen"}


def read_expectations(path):
    """The expect-handle entries, and the summary counters expected: key ->
    (least, most)."""
    expects = [parse_annotation(path, lineno, text)
               for lineno, text in lkstest.annotations(path, "expect-handle")]
    if lkstest.has_flag(path, "expect-no-handles") == bool(expects):
        raise CheckError("a fixture has expect-handle lines or expect-no-handles")
    counts = {}
    for name, key in EXPECTED_COUNTS.items():
        number = lkstest.annotation_number(path, name) or 0
        counts[key] = (number, number)
    most = lkstest.annotation_number(path, "expect-held-mappings-at-most")
    if most is not None:
        counts["held_mappings"] = (0, most)
    return expects, counts


def site_frame(group, source):
    """The first frame of the group's stack in the fixture, or None."""
    return next((frame for frame in group.get("stack") or []
                 if lkstest.in_file(frame, source)), None)


def describe(group):
    frame0 = (group.get("stack") or [{}])[0]
    return (f"  {group.get('type')} x{group.get('count')} "
            f"({group.get('description')!r}) at {frame0.get('function')} "
            f"{os.path.basename(frame0.get('file') or '?')}:{frame0.get('line')}")


def check_group(group, exp, errors):
    items = group.get("items") or []
    if group.get("count") != exp["count"] or len(items) != exp["count"]:
        errors.append(f"line {exp['line']}: expected {exp['count']} {exp['type']}, "
                      f"got {group.get('count')}\n{describe(group)}")
    if group.get("heap_bytes", 0) < exp["heap"] * exp["count"]:
        errors.append(f"line {exp['line']}: heap_bytes {group.get('heap_bytes')}, expected "
                      f"at least {exp['heap']} per handle")
    if exp["desc"] and not all(exp["desc"] in item.get("description", "")
                               for item in items):
        errors.append(f"line {exp['line']}: descriptions lack {exp['desc']!r}: "
                      f"{[item.get('description') for item in items]}")


def check_groups(proc, role, expects, source, seen, errors):
    for key in LISTS.values():
        for group in proc.get(key) or []:
            frame = site_frame(group, source)
            if frame is None:
                continue  # not the fixture's (libc's own)
            match = [e for e in expects if e["line"] == frame.get("line")
                     and e["type"] == group.get("type") and e["list"] == key
                     and e["process"] == role]
            if not match:
                errors.append(f"unexpected {key} entry in the {role} process "
                              f"{proc.get('pid')}:\n{describe(group)}")
                continue
            seen.add(id(match[0]))
            check_group(group, match[0], errors)


def check_processes(processes, expects, source, errors):
    """Each process's lists against the expectations for its role; fork
    children of the started process are `child`, others are not checked."""
    seen = set()
    started = processes[0]
    for proc in processes:
        role = ("started" if proc is started
                else "child" if proc.get("ppid") == started.get("pid") else None)
        if role:
            check_groups(proc, role, expects, source, seen, errors)
    for exp in expects:
        if id(exp) not in seen:
            errors.append(f"line {exp['line']}: no {exp['type']} entry in "
                          f"{exp['list']} of the {exp['process']} process")


def check_memory(proc, source, errors):
    for leak in proc.get("leaks") or []:
        stack = leak.get("stack") or []
        if leak.get("suppressed") or leak.get("class") == "reachable":
            continue
        if not any(lkstest.in_file(frame, source) for frame in stack):
            continue
        if stack and "libc" in os.path.basename(stack[0].get("module") or ""):
            continue  # a stream's buffer or FILE, allocated inside libc
        errors.append(f"memory leak touching the fixture: {leak.get('bytes')} bytes at "
                      f"{stack[0].get('function') if stack else '?'}")


def run(args, workdir, json_path):
    def limit_fds():
        if args.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    # snapshots in the work directory: a popen'd child that outlives the
    # program makes leakscope keep a temporary one, which nobody would remove
    snapshots = ["--snapshot-dir", os.path.join(workdir, "snapshots")]
    command = lkstest.run_command(args, args.program, json_path=json_path, options=snapshots)
    status, _ = lkstest.run_logged(command, cwd=workdir, timeout=args.timeout, preexec_fn=limit_fds)
    return status


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--nofile", type=int, default=0, help="RLIMIT_NOFILE for the run")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--runs", type=int, default=1, help="run and check it N times")
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    # The program runs in a scratch directory.
    args.program = lkstest.absolute_argv(args.program)
    workdir = tempfile.mkdtemp(prefix="lks-handles-")
    errors, expects = [], []
    try:
        expects, counts = read_expectations(args.source)
        for run_number in range(1, args.runs + 1):
            run_errors = check_run(args, os.path.join(workdir, str(run_number)),
                                   expects, counts)
            errors += [f"run {run_number}: {error}" if args.runs > 1 else error
                       for error in run_errors]
    except (CheckError, subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as err:
        errors.append(str(err))
    return lkstest.finish(errors, f"ok: {len(expects)} expected handle sites", kept=workdir)


def check_run(args, workdir, expects, counts):
    """The errors of one run of the program, in workdir."""
    errors = []
    os.makedirs(workdir)
    json_path = os.path.join(workdir, "report.json")
    status = run(args, workdir, json_path)
    if status != 0:
        errors.append(f"leakscope run exited {status}, expected 0")
    processes = lkstest.load_json(json_path).get("processes") or []
    if not processes:
        raise CheckError("report has no process")
    proc = processes[0]
    check_processes(processes, expects, args.source, errors)
    check_memory(proc, args.source, errors)
    summary = proc.get("summary") or {}
    if summary.get("missed_handles", 0):
        errors.append(f"missed_handles = {summary['missed_handles']}")
    for key, (least, most) in counts.items():
        if not least <= summary.get(key, -1) <= most:
            wanted = least if least == most else f"{least} to {most}"
            errors.append(f"{key} = {summary.get(key)}, expected {wanted}")
    # what a fork child inherited, or an exec'd one, was open at its start
    for other in processes[1:]:
        if (other.get("summary") or {}).get("opened_unseen") != 0:
            errors.append(f"pid {other.get('pid')}: opened_unseen = "
                          f"{(other.get('summary') or {}).get('opened_unseen')}, expected 0")
    return errors


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
