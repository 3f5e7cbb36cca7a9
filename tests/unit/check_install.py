#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`meson install --destdir` into a temporary directory, then the installed
`leakscope run` on a leaky program: with no environment variable to help it,
it must find the installed shim (nothing else is reachable from its
directory) and report the leak annotated in the program's source at the
right function, line, blocks and bytes.

Usage: check_install.py --meson MESON --build DIR --source FILE -- PROGRAM
"""

import argparse
import os
import subprocess
import sys
import tempfile

import lkstest


def expected_leak(source):
    leaks = lkstest.read_leak_expectations([source]).leaks
    if not leaks:
        raise SystemExit(f"{source}: no expect-leak annotation")
    return leaks[0].fn, leaks[0].line, leaks[0].blocks, leaks[0].bytes


def find_installed(destdir, suffix):
    for root, _, files in os.walk(destdir):
        for name in files:
            path = os.path.join(root, name)
            if path.endswith("/" + suffix):
                return path
    return None


def clean_environment():
    """No variable that could point the command at a shim."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("LEAKSCOPE") and key != "LD_PRELOAD"}


def check_report(report, source, expect):
    fn, line, blocks, size = expect
    processes = report.get("processes") or []
    if len(processes) != 1:
        return f"want one process, got {len(processes)}"
    leaks = [leak for leak in processes[0]["leaks"] if leak["class"] != "reachable"
             and not leak["suppressed"]]
    mine = [leak for leak in leaks if any(
        frame["function"] == fn and frame["line"] == line and frame["file"]
        and os.path.samefile(frame["file"], source) for frame in leak["stack"])]
    if len(mine) != 1:
        return f"want one leak at {fn} ({source}:{line}), got {len(mine)} of {len(leaks)}"
    if (mine[0]["blocks"], mine[0]["bytes"]) != (blocks, size):
        return f"want {blocks} blocks, {size} bytes; got {mine[0]['blocks']}, {mine[0]['bytes']}"
    if len(leaks) != 1:
        return f"other leaks reported: {[leak['stack'][0]['function'] for leak in leaks]}"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--meson", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("program", nargs=1)
    args = parser.parse_args()
    expect = expected_leak(args.source)
    program = os.path.abspath(args.program[0])

    with tempfile.TemporaryDirectory(prefix="lks-install-") as destdir:
        install = subprocess.run([args.meson, "install", "-C", args.build, "--no-rebuild",
                                  "--destdir", destdir], capture_output=True, text=True)
        if install.returncode != 0:
            print(f"meson install failed:\n{install.stdout}{install.stderr}")
            return 1
        leakscope = find_installed(destdir, "bin/leakscope")
        shim = find_installed(destdir, "leakscope/libleakscope.so")
        if not leakscope or not shim:
            print(f"installed tree lacks bin/leakscope or leakscope/libleakscope.so: {leakscope}, {shim}")
            return 1
        json_path = os.path.join(destdir, "report.json")
        run = subprocess.run([leakscope, "run", "--json", json_path, "--", program],
                             env=clean_environment(), capture_output=True, text=True,
                             timeout=60, cwd=destdir)
        if run.returncode != 0 or not os.path.exists(json_path):
            print(f"installed leakscope run exited {run.returncode}:\n{run.stderr}")
            return 1
        problem = check_report(lkstest.load_json(json_path), args.source, expect)
    if problem:
        print(f"installed leakscope: {problem}")
        return 1
    print(f"installed {os.path.relpath(leakscope, destdir)} found its shim and reported "
          f"{expect[0]} at line {expect[1]}: {expect[2]} block(s), {expect[3]} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
