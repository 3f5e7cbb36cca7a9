#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The handles libuv's default loop keeps for the process's life (node's
event loop) do not fail the gate: a program that runs libuv's default loop
and a stream on it passes, its epoll fd, eventfd and signal pipe listed as
suppressed by builtin:libuv-default-loop and the reserve /dev/null by
builtin:libuv-emfile-reserve. A loop of the program's own, never closed,
is not covered: its fds are open handles at the line that made the loop,
and the gate fails. node, where installed, exits with no fd of its loop
open (V8's remapped code pages may be listed: not libuv's).

Usage: libuv_handles.py --leakscope EXE --shim SO --source FILE -- PROGRAM
"""

import os
import shutil
import sys
import tempfile

import lkstest

GATE_FAILED = 23
DEFAULT_LOOP = {"epoll": 1, "eventfd": 1, "pipe": 2}


def run(args, program, workdir, name):
    json_path = os.path.join(workdir, name + ".json")
    command = lkstest.run_command(args, program, json_path=json_path,
                                  options=["--error-exitcode", str(GATE_FAILED)])
    status, _ = lkstest.run_logged(command, cwd=workdir)
    return status, lkstest.load_json(json_path)["processes"][0]


def by_rule(proc):
    """rule (None: open) -> {handle type: count}."""
    rules = {}
    for group in proc.get("handles") or []:
        types = rules.setdefault(group.get("suppressed"), {})
        types[group["type"]] = types.get(group["type"], 0) + group["count"]
    return rules


def open_at(proc, source, line):
    """handle type -> count of open (unsuppressed) handles made at source:line."""
    types = {}
    for group in proc.get("handles") or []:
        if not group.get("suppressed") and any(lkstest.at_line(frame, source, line)
                                               for frame in group["stack"]):
            types[group["type"]] = types.get(group["type"], 0) + group["count"]
    return types


def check_default_loop(args, workdir, errors):
    status, proc = run(args, [args.program], workdir, "default")
    rules = by_rule(proc)
    if status != 0:
        errors.append(f"default loop only: exit {status}, expected 0 (gate passes)")
    if rules.get("builtin:libuv-default-loop") != DEFAULT_LOOP:
        errors.append(f"default loop's fds: {rules}, expected {DEFAULT_LOOP} suppressed")
    if rules.get("builtin:libuv-emfile-reserve") != {"fd": 1}:
        errors.append(f"reserve /dev/null not suppressed: {rules}")
    if None in rules:
        errors.append(f"default loop only: handles still open: {rules[None]}")


def check_own_loop(args, workdir, errors):
    status, proc = run(args, [args.program, "own"], workdir, "own")
    line = lkstest.marker_lines(args.source, "loop-site")["own"]
    own = open_at(proc, args.source, line)
    if status != GATE_FAILED:
        errors.append(f"own loop never closed: exit {status}, expected {GATE_FAILED}")
    if own != DEFAULT_LOOP:
        errors.append(f"own loop's fds open at line {line}: {own}, expected {DEFAULT_LOOP}")


def check_node(args, workdir, errors):
    node = shutil.which("node")
    if not node:
        print("node not installed: its check skipped", flush=True)
        return
    status, proc = run(args, [node, "-e", "console.log('hi')"], workdir, "node")
    rules = by_rule(proc)
    loop_fds = {kind: count for kind, count in rules.get(None, {}).items()
                if kind in DEFAULT_LOOP or kind == "fd"}
    if status not in (0, GATE_FAILED) or loop_fds:
        errors.append(f"node -e: exit {status}, loop fds open {loop_fds}: expected none")


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("program", type=os.path.abspath)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="lks-libuv-")
    errors = []
    check_default_loop(args, workdir, errors)
    check_own_loop(args, workdir, errors)
    check_node(args, workdir, errors)
    return lkstest.finish(errors, "ok: libuv's default loop suppressed, an own loop open",
                          kept=workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
