#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Snapshots that outlive their binaries: `leakscope run -d` and
`leakscope snapshot PID` keep the symbols of every address beside each
snapshot (NAME.lks.sym), so that after the program is rebuilt at the same
path, `report` still names every frame and `diff --group-by traceback` of
the old and the new run matches the sites; without kept symbols, `diff`
says that the module is another build.

Usage: check_rebuilt.py --leakscope EXE --shim SO --source rebuilt.c --cc CC
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import lkstest
from lkstest import CheckError, expect

SIGNAL = 60


def build(args, where, pad):
    program = os.path.join(where, "rebuilt")
    subprocess.run([args.cc, "-g", "-O0", *(["-DPAD"] if pad else []), "-o", program,
                    args.source], check=True, timeout=60)
    return program


def run(args, program, directory, request=False):
    """`leakscope run -d DIRECTORY` of the program; with `request`, a
    `leakscope snapshot PID` while it waits. The request's path or None."""
    env = dict(os.environ, LEAKSCOPE_OPTIONS=f"snapshot_signal={SIGNAL}")
    child = subprocess.Popen([args.leakscope, "run", "--shim", args.shim, "-d", directory,
                              "--", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    path = None
    try:
        ready = child.stdout.readline().split()
        expect(ready[:1] == ["ready"], f"the program did not start: {ready}")
        if request:
            asked = subprocess.run([args.leakscope, "snapshot", "--label", "asked", ready[1]],
                                   capture_output=True, text=True, timeout=60)
            expect(asked.returncode == 0 and not asked.stderr,
                   f"leakscope snapshot: exit {asked.returncode}: {asked.stderr}")
            path = asked.stdout.strip()
            expect(os.path.exists(path + ".sym"),
                   f"leakscope snapshot kept no symbols beside {path}")
        _, err = child.communicate("", timeout=100)
    finally:
        if child.poll() is None:
            child.kill()
    expect(child.returncode == 0, f"leakscope run: exit {child.returncode}\n{err}")
    return path


def report(args, snapshot):
    done = subprocess.run([args.leakscope, "report", "--format", "json", snapshot],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, DEBUGINFOD_URLS=""))
    expect(done.returncode == 0, f"report {snapshot}: {done.stderr}")
    return json.loads(done.stdout)["processes"][0]


def site_frames(proc, function):
    """The frames of the site whose stack passes through `function`."""
    for site in proc["leaks"]:
        if any(frame["function"] == function for frame in site["stack"]):
            return site["stack"]
    raise CheckError(f"no site through {function}: "
                     f"{[[f['function'] for f in s['stack']] for s in proc['leaks']]}")


def check_named(args, snapshot, function, lines):
    """Every frame of the program's own in the site is named as at the run."""
    proc = report(args, snapshot)
    stack = site_frames(proc, function)
    ours = [f for f in stack if f["module"] and os.path.basename(f["module"]) == "rebuilt"]
    named = [(f["function"], os.path.basename(f["file"] or ""), f["line"]) for f in ours]
    expect(("main", "rebuilt.c") == named[-2][:2] if len(named) > 1 else False,
           f"{snapshot}: main not named: {named}")
    expect(named[0] == (function, "rebuilt.c", lines[function]),
           f"{snapshot}: {function} shown as {named[0]}, want {lines[function]}")
    expect(all(name for name, _, _ in named), f"{snapshot}: a frame without a name: {named}")
    expect(any("symbols kept with the snapshot" in w for w in proc["warnings"]),
           f"{snapshot}: the report does not say the symbols are the kept ones: "
           f"{proc['warnings']}")


def diff(args, old, new, key):
    done = subprocess.run([args.leakscope, "diff", "--group-by", key, "--format", "json",
                           old, new], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, DEBUGINFOD_URLS=""))
    expect(done.returncode == 0, f"diff: {done.stderr}")
    return json.loads(done.stdout)


def check_diff(args, old, new):
    for key in ("traceback", "lineno"):
        changes = diff(args, old, new, key)
        memory = changes["stats"]
        changed = [entry["key"] for entry in memory
                   if entry["size_diff"] or entry["count_diff"]]
        ours = [entry["stack"][0]["function"] for entry in memory
                if entry["stack"][0]["function"] in ("keep_widget", "leak_widget")]
        expect(sorted(ours) == ["keep_widget", "leak_widget"] and not changed,
               f"diff --group-by {key} of the run before and after the rebuild: each site "
               f"once, unchanged, expected; got {ours}, changed {changed}")


def check(args, tmp):
    lines = {name: line for name, line in
             lkstest.marker_lines(args.source, "rebuilt-site").items()}
    where = os.path.join(tmp, "bin")
    os.makedirs(where)
    program = build(args, where, pad=False)
    asked = run(args, program, os.path.join(tmp, "before"), request=True)
    before, = glob.glob(os.path.join(tmp, "before", "*.exit.lks"))
    expect(os.path.exists(before + ".sym"), "leakscope run -d kept no symbols")
    build(args, where, pad=True)  # the same path, another build
    check_named(args, asked, "keep_widget", lines)
    check_named(args, before, "leak_widget", lines)
    check_named(args, before, "keep_widget", lines)
    run(args, program, os.path.join(tmp, "after"))
    after, = glob.glob(os.path.join(tmp, "after", "*.exit.lks"))
    check_diff(args, before, after)
    os.unlink(before + ".sym")
    text = subprocess.run([args.leakscope, "diff", before, after], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, DEBUGINFOD_URLS=""))
    expect(f"warning: {program}: build-id differs" in text.stdout and
           "module+offset" in text.stdout,
           f"diff without kept symbols does not warn of the other build:\n{text.stdout}")


def main():
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--source", required=True, type=os.path.abspath)
    parser.add_argument("--cc", default="cc")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="leakscope-rebuilt-")
    errors = []
    try:
        check(args, tmp)
    except CheckError as failure:
        errors.append(str(failure))
    return lkstest.finish(errors, "ok: kept symbols outlive the binary", kept=tmp)


if __name__ == "__main__":
    sys.exit(main())
