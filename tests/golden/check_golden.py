#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`leakscope report` on the committed snapshot leaks.lks of the committed
program `leaks` must print exactly the committed report: leaks.txt for
FORMAT text, leaks.json for json. The snapshot names the program `leaks`,
found relative to this folder, where the report runs; debuginfod is off.
A difference is shown as a diff: a change of the reports shows up here,
and tests/golden/regen.sh remakes the files when it is meant.

Usage: check_golden.py --leakscope EXE FORMAT
"""

import difflib
import os
import subprocess
import sys

import lkstest

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = {"text": "leaks.txt", "json": "leaks.json"}


def main(argv):
    parser = lkstest.argument_parser(__doc__, shim=False)
    parser.add_argument("format", choices=sorted(EXPECTED))
    args = parser.parse_args(argv)
    result = subprocess.run([args.leakscope, "report", "--format", args.format, "leaks.lks"],
                            cwd=HERE, env=dict(os.environ, DEBUGINFOD_URLS=""),
                            capture_output=True, text=True, timeout=60, check=False)
    with open(os.path.join(HERE, EXPECTED[args.format]), encoding="utf-8") as expected:
        want = expected.read()
    errors = []
    if result.returncode != 0 or result.stderr:
        errors.append(f"leakscope report exited {result.returncode}: {result.stderr}")
    if result.stdout != want:
        errors.append("".join(difflib.unified_diff(
            want.splitlines(keepends=True), result.stdout.splitlines(keepends=True),
            EXPECTED[args.format], "leakscope report")))
    return lkstest.finish(errors, f"ok: the {args.format} report is the committed one")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
