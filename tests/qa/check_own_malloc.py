#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A program with its own malloc under `leakscope run`: nothing can be
recorded, and both the JSON (`own_malloc`) and the text summary must say
the report is incomplete instead of showing a clean run.

Usage: check_own_malloc.py --leakscope EXE --shim SO -- PROGRAM
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leakscope", required=True)
    parser.add_argument("--shim", required=True)
    parser.add_argument("program")
    args = parser.parse_args(argv)
    errors = []
    with tempfile.TemporaryDirectory(prefix="lks-qa-malloc-") as work:
        json_path = os.path.join(work, "report.json")
        result = subprocess.run([args.leakscope, "run", "--json", json_path,
                                 "--shim", args.shim, "--", args.program],
                                capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            errors.append(f"exit {result.returncode}, want the program's 0")
        with open(json_path, encoding="utf-8") as report:
            proc = json.load(report)["processes"][0]
        if proc.get("own_malloc") is not True:
            errors.append(f"own_malloc is {proc.get('own_malloc')!r}, want true")
        if "report incomplete" not in result.stderr or "own malloc" not in result.stderr:
            errors.append("the text summary does not say the report is incomplete")
    if errors:
        print("FAIL:\n" + "\n".join(errors) + "\n" + result.stderr[-2000:], file=sys.stderr)
        return 1
    print("ok: the program's own malloc is reported, not a clean run")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
