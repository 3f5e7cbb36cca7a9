#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a program under `leakscope run --error-exitcode 23` (the default
gate, or the options given) and checks the exit status: 0 when the gate
passes (and the program exits 0), 23 when it fails. The report is printed
into the test log.

Usage: check_gate.py --leakscope EXE --shim SO [--option OPT]...
                     --expect-status N -- PROGRAM [ARGS...]
"""

import sys
import tempfile

import lkstest


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--option", action="append", default=[],
                        help="an option for leakscope run (repeatable)")
    parser.add_argument("--expect-status", type=int, required=True)
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="lks-gate-")
    command = lkstest.run_command(args, lkstest.absolute_argv(args.program),
                                  options=["--error-exitcode", "23", *args.option])
    status, _ = lkstest.run_logged(command, cwd=workdir)
    errors = []
    if status != args.expect_status:
        errors.append(f"leakscope run exited {status}, expected {args.expect_status}")
    return lkstest.finish(errors, f"ok: exit status {status}", kept=workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
