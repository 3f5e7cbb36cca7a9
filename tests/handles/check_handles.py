#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one handle fixture under `leakscope run --json` and checks the open
handles and the fds leaked into children against the fixture's annotations.

Annotations (in a comment on the line that creates the handle):
  expect-handle: type=TYPE count=N [desc=SUBSTRING] [child]
      (quote a SUBSTRING with spaces: desc="socket AF_UNIX")
      TYPE as in the JSON report (fd, socket, pipe, FILE, DIR, mmap...);
      `child` means listed under leaked_into_child, not as open.
and anywhere in the source:
  expect-no-handles   the program leaves no handle and leaks none to a child
  expect-held-mappings: N   N of its mappings are still pointed at when it
                      exits: held like reachable memory, not listed (default 0)
Memory leaks touching the fixture fail the test, except those allocated
inside libc for a stream the fixture left open.

Usage: check_handles.py --leakscope EXE --shim SO --source FILE
                        [--nofile N] -- PROGRAM [ARGS...]
"""

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import check  # noqa: E402  (the memory fixtures' checker: frame matching)

HANDLE_RE = re.compile(r"expect-handle:\s*([^*]*?)\s*(?:\*/|$)")
NONE_RE = re.compile(r"\bexpect-no-handles\b")
HELD_RE = re.compile(r"\bexpect-held-mappings:\s*(\d+)")


def parse_annotation(path, lineno, text):
    fields, child = {}, False
    for item in shlex.split(text):
        if item == "child":
            child = True
        elif "=" in item:
            key, value = item.split("=", 1)
            fields[key] = value
        else:
            raise check.CheckError(f"{path}:{lineno}: bad expect-handle field {item!r}")
    try:
        expect = {"file": path, "line": lineno, "type": fields.pop("type"),
                  "count": int(fields.pop("count")), "desc": fields.pop("desc", ""),
                  "child": child}
    except (KeyError, ValueError) as err:
        raise check.CheckError(f"{path}:{lineno}: bad expect-handle: {err}") from err
    if fields:
        raise check.CheckError(f"{path}:{lineno}: unknown fields {sorted(fields)}")
    return expect


def read_expectations(path):
    """The expect-handle entries, and how many mappings are held."""
    expects, none, held = [], False, 0
    with open(path, encoding="utf-8") as source:
        for lineno, text in enumerate(source, start=1):
            match = HANDLE_RE.search(text)
            if match:
                expects.append(parse_annotation(path, lineno, match.group(1)))
            none |= bool(NONE_RE.search(text))
            held_match = HELD_RE.search(text)
            if held_match:
                held = int(held_match.group(1))
    if none == bool(expects):
        raise check.CheckError("a fixture has expect-handle lines or expect-no-handles")
    return expects, held


def site_frame(group, source):
    """The first frame of the group's stack in the fixture, or None."""
    for frame in group.get("stack") or []:
        if os.path.basename(frame.get("file") or "") == os.path.basename(source):
            return frame
    return None


def describe(group):
    frame0 = (group.get("stack") or [{}])[0]
    return (f"  {group.get('type')} x{group.get('count')} "
            f"({group.get('description')!r}) at {frame0.get('function')} "
            f"{os.path.basename(frame0.get('file') or '?')}:{frame0.get('line')}")


def check_groups(proc, expects, source, errors):
    seen = []
    for key, child in (("handles", False), ("leaked_into_child", True)):
        for group in proc.get(key) or []:
            frame = site_frame(group, source)
            if frame is None:
                continue  # not the fixture's (libc's own, or inherited)
            match = [e for e in expects if e["line"] == frame.get("line")
                     and e["type"] == group.get("type") and e["child"] == child]
            if not match:
                errors.append(f"unexpected {key} entry:\n{describe(group)}")
                continue
            seen.append(id(match[0]))
            exp = match[0]
            items = group.get("items") or []
            if group.get("count") != exp["count"] or len(items) != exp["count"]:
                errors.append(f"line {exp['line']}: expected {exp['count']} {exp['type']}, "
                              f"got {group.get('count')}\n{describe(group)}")
            if exp["desc"] and not all(exp["desc"] in item.get("description", "")
                                       for item in items):
                errors.append(f"line {exp['line']}: descriptions lack {exp['desc']!r}: "
                              f"{[item.get('description') for item in items]}")
    for exp in expects:
        if id(exp) not in seen:
            errors.append(f"line {exp['line']}: no {exp['type']} entry"
                          f"{' leaked into a child' if exp['child'] else ''} found")


def check_memory(proc, source, errors):
    for leak in proc.get("leaks") or []:
        stack = leak.get("stack") or []
        if leak.get("suppressed") or leak.get("class") == "reachable":
            continue
        if not any(os.path.basename(f.get("file") or "") == os.path.basename(source)
                   for f in stack):
            continue
        if stack and "libc" in os.path.basename(stack[0].get("module") or ""):
            continue  # a stream's buffer or FILE, allocated inside libc
        errors.append(f"memory leak touching the fixture: {leak.get('bytes')} bytes at "
                      f"{stack[0].get('function') if stack else '?'}")


def run(args, workdir, json_path):
    # snapshots in the work directory: a popen'd child that outlives the
    # program makes leakscope keep a temporary one, which nobody would remove
    command = [args.leakscope, "run", "--json", json_path, "--shim", args.shim,
               "--snapshot-dir", os.path.join(workdir, "snapshots"), "--", *args.program]

    def limit_fds():
        if args.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    print("running:", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=workdir, timeout=args.timeout, check=False,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=limit_fds)
    print(result.stdout.decode(errors="replace"), end="", flush=True)
    return result.returncode


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leakscope", required=True)
    parser.add_argument("--shim", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--nofile", type=int, default=0, help="RLIMIT_NOFILE for the run")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    # The program runs in a scratch directory: make paths absolute first.
    args.leakscope, args.shim = os.path.abspath(args.leakscope), os.path.abspath(args.shim)
    args.program = [os.path.abspath(arg) if os.path.exists(arg) else arg
                    for arg in args.program]
    workdir = tempfile.mkdtemp(prefix="lks-handles-")
    errors = []
    try:
        expects, held = read_expectations(args.source)
        json_path = os.path.join(workdir, "report.json")
        status = run(args, workdir, json_path)
        if status != 0:
            errors.append(f"leakscope run exited {status}, expected 0")
        with open(json_path, encoding="utf-8") as report_file:
            report = json.load(report_file)
        proc = (report.get("processes") or [None])[0]
        if proc is None:
            raise check.CheckError("report has no process")
        check_groups(proc, expects, args.source, errors)
        check_memory(proc, args.source, errors)
        summary = proc.get("summary") or {}
        if summary.get("missed_handles", 0):
            errors.append(f"missed_handles = {summary['missed_handles']}")
        if summary.get("held_mappings") != held:
            errors.append(f"held_mappings = {summary.get('held_mappings')}, expected {held}")
    except (check.CheckError, subprocess.TimeoutExpired, json.JSONDecodeError,
            OSError) as err:
        errors.append(str(err))
    if errors:
        print("FAIL:\n" + "\n".join(errors) + f"\n(report kept in {workdir})",
              file=sys.stderr)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"ok: {len(expects)} expected handle sites")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
