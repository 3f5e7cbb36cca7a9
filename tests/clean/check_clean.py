#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a clean program under `leakscope run --json` and checks, for every
process of its tree, what a user expects of a clean program: the same
stdout and exit status as without leakscope, no definite or indirect leak,
no open handle, no fd leaked into a child, nothing missed; and leakscope's
stderr says each --expect-stderr text (what it must tell the user).

Usage: check_clean.py --leakscope EXE --shim SO [--expect-stderr TEXT]...
                      -- PROGRAM [ARGS...]
"""

import json
import os
import subprocess
import sys
import tempfile

import lkstest


def process_errors(proc):
    name = f"{proc.get('command') or proc.get('exe') or '?'} (pid {proc.get('pid')})"
    errors = []
    for leak in proc.get("leaks") or []:
        if not leak.get("suppressed") and leak.get("class") in ("definite", "indirect"):
            frame0 = (leak.get("stack") or [{}])[0]
            errors.append(f"{name}: {leak.get('class')} leak of {leak.get('bytes')} bytes "
                          f"at {frame0.get('function')}")
    for key in ("handles", "leaked_into_child"):
        for group in proc.get(key) or []:
            descs = [item.get("description") for item in group.get("items") or []]
            errors.append(f"{name}: {key}: {group.get('type')} x{group.get('count')} {descs}")
    summary = proc.get("summary") or {}
    for key in ("missed_handles", "missed_allocs", "missed_stacks"):
        if summary.get(key):
            errors.append(f"{name}: {key} = {summary[key]}")
    return errors


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--expect-stderr", action="append", default=[])
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="lks-clean-")
    json_path = os.path.join(workdir, "report.json")
    plain = subprocess.run(args.program, capture_output=True, timeout=120, check=False)
    traced = subprocess.run(lkstest.run_command(args, args.program, json_path=json_path),
                            capture_output=True, timeout=240, check=False)
    sys.stderr.buffer.write(traced.stderr)
    errors = []
    if (traced.returncode, traced.stdout) != (plain.returncode, plain.stdout):
        errors.append(f"under leakscope: exit {traced.returncode}, stdout {traced.stdout!r}; "
                      f"without: exit {plain.returncode}, stdout {plain.stdout!r}")
    for text in args.expect_stderr:
        if text not in traced.stderr.decode(errors="replace"):
            errors.append(f"stderr under leakscope does not say {text!r}")
    try:
        processes = lkstest.load_json(json_path).get("processes") or []
    except (OSError, json.JSONDecodeError) as err:
        errors.append(f"no JSON report: {err}")
        processes = []
    if not processes:
        errors.append("the report has no process")
    for proc in processes:
        errors.extend(process_errors(proc))
    return lkstest.finish(errors, f"ok: {len(processes)} processes, nothing reported",
                          kept=workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
