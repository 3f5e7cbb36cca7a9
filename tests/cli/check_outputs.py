#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`leakscope run` with an output file it cannot write (--json, -o, --junit,
--sarif, --write-baseline) fails with one error line naming the file and
exit 125 before the command runs, not after it ran for nothing.

Usage: check_outputs.py --leakscope EXE --shim SO
"""

import os
import shutil
import subprocess
import sys
import tempfile

import lkstest


def check(args, workdir, option, path, errors):
    marker = os.path.join(workdir, "ran")
    result = subprocess.run(lkstest.run_command(args, ["touch", marker], options=[option, path]),
                            capture_output=True, text=True, timeout=60, check=False)
    lines = result.stderr.splitlines()
    if result.returncode != 125:
        errors.append(f"{option} {path}: exit {result.returncode}, expected 125")
    if len(lines) != 1 or path not in lines[0]:
        errors.append(f"{option} {path}: expected one line naming the file, got {lines!r}")
    if os.path.exists(marker):
        errors.append(f"{option} {path}: the command ran anyway")
        os.unlink(marker)


def main(argv):
    args = lkstest.argument_parser(__doc__).parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="lks-cli-out-")
    missing_dir = os.path.join(workdir, "no-such-dir", "out")
    errors = []
    for option in ("--json", "-o", "--junit", "--sarif", "--write-baseline"):
        check(args, workdir, option, missing_dir, errors)
    check(args, workdir, "--json", workdir, errors)  # a directory
    shutil.rmtree(workdir, ignore_errors=True)
    return lkstest.finish(errors, "ok: every unwritable output stops the run before it starts")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
