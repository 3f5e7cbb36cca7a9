#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A program with its own malloc under `leakscope run`: nothing can be
recorded, and both the JSON (`own_malloc`) and the text summary must say
the report is incomplete instead of showing a clean run. A program that
only takes malloc's address is recorded as usual: its 100-byte leak is
found and no such claim is made.

Usage: check_own_malloc.py --leakscope EXE --shim SO --own PROGRAM
                           --address-taken PROGRAM
"""

import os
import subprocess
import sys
import tempfile

import lkstest


def run(args, program, work):
    json_path = os.path.join(work, "report.json")
    result = subprocess.run(lkstest.run_command(args, [program], json_path=json_path),
                            capture_output=True, text=True, timeout=60, check=False)
    return result, lkstest.load_json(json_path)["processes"][0]


def check_own(args, work, errors):
    result, proc = run(args, args.own, work)
    if result.returncode != 0:
        errors.append(f"own malloc: exit {result.returncode}, want the program's 0")
    if proc.get("own_malloc") is not True:
        errors.append(f"own malloc: own_malloc is {proc.get('own_malloc')!r}, want true")
    if "report incomplete" not in result.stderr or "own malloc" not in result.stderr:
        errors.append("own malloc: the text summary does not say the report is incomplete")


def check_address_taken(args, work, errors):
    result, proc = run(args, args.address_taken, work)
    if proc.get("own_malloc") is not False or "own malloc" in result.stderr:
        errors.append("address taken: reported as the program's own malloc")
    leaked = lkstest.bytes_from(proc, "main")
    if leaked != 100:
        errors.append(f"address taken: {leaked} bytes leaked from main, want 100")


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    for option in ("--own", "--address-taken"):
        parser.add_argument(option, required=True)
    args = parser.parse_args(argv)
    errors = []
    with tempfile.TemporaryDirectory(prefix="lks-own-malloc-") as work:
        check_own(args, work, errors)
        check_address_taken(args, work, errors)
    return lkstest.finish(errors, "ok: an own malloc is reported; a taken address of ours "
                                  "is not one")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
