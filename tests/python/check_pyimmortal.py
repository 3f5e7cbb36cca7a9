#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython 3.12 and 3.13 leave their immortal strings at exit (docs/PYTHON.md,
"The interpreter's immortal strings"): `leakscope run -- pythonX.Y -c pass`
must report no leak of the program's own and say how many blocks of the
interpreter it counted apart; a str the program really leaks is still
reported at its line; on 3.11 nothing is counted apart. Runs on each CPython
X.Y found (exit 77, a skip, when there is none).

Usage: check_pyimmortal.py --shim SO --leakscope EXE --minor X.Y
                           [--kind system|pyenv]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_python as cp  # noqa: E402  (its interpreters, markers)
import lkstest  # noqa: E402

RULE = "builtin:python-immortal"
LEAK_CLASSES = ("definite", "indirect", "possible")


def run(args, py, work, *command):
    """`leakscope run` as a user runs it; the report's process as JSON."""
    json_path = os.path.join(work, "run.json")
    env = dict(os.environ)
    env.pop("PYTHONMALLOC", None)  # leakscope run sets it
    result = subprocess.run([args.leakscope, "run", "--json", json_path, "--shim",
                             args.shim, "--", py] + list(command), env=env,
                            capture_output=True, text=True, timeout=180, check=False)
    if not os.path.exists(json_path):
        raise AssertionError("no report: %s" % result.stderr[-2000:])
    with open(json_path, encoding="utf-8") as report:
        return json.load(report)["processes"][0], result.stdout + result.stderr


def own_losses(proc):
    """Definite and indirect sites not suppressed. (pyenv's 3.11.7 leaves
    some blocks possibly lost, as it did before: not this test's subject.)"""
    return [leak for leak in proc["leaks"]
            if leak["class"] in ("definite", "indirect") and not leak.get("suppressed")]


def immortal(proc):
    return [leak for leak in proc["leaks"] if leak.get("suppressed") == RULE]


def check_pass(args, py, work, errors):
    """A program that does nothing leaks nothing of its own."""
    minor = py.rsplit("python", 1)[1]
    proc, text = run(args, py, work, "-c", "pass")
    summary = proc["summary"]
    own = own_losses(proc)
    if own:
        errors.append("%s -c pass: %d sites of its own, the first %r" %
                      (py, len(own), own[0]["stack"][:2]))
    apart = immortal(proc)
    blocks = sum(leak["blocks"] for leak in apart)
    if minor == "3.11":
        if apart or summary.get("python_immortal_blocks", 0):
            errors.append("%s -c pass: %d blocks counted apart on 3.11" % (py, blocks))
        return
    if not blocks or summary.get("python_immortal_blocks", 0) != blocks:
        errors.append("%s -c pass: %d blocks counted apart, the summary says %d" %
                      (py, blocks, summary.get("python_immortal_blocks", 0)))
    said = "of which CPython's immortal strings: "
    if said not in text or RULE not in text:
        errors.append("%s -c pass: the text report does not say what it left out" % py)


def check_real_leak(args, py, work, errors):
    """Three str objects given an extra reference that is never given back:
    mortal, so the program's, at the line that made them."""
    script = os.path.join(cp.SCRIPTS, "strleak.py")
    line = cp.markers(script)["leak"]
    proc, _ = run(args, py, work, script)
    at_line = [leak for leak in proc["leaks"]
               if leak["stack"] and leak["stack"][0]["file"] == script and
               leak["stack"][0]["line"] == line and leak["stack"][0]["function"] == "leak"]
    reported = sum(leak["blocks"] for leak in at_line
                   if leak["class"] in LEAK_CLASSES and not leak.get("suppressed"))
    if reported != 3:
        errors.append("%s strleak.py: %d blocks reported at leak (line %d), want 3: %r" %
                      (py, reported, line, [(l["class"], l["blocks"], l.get("suppressed"))
                                            for l in at_line]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shim", required=True)
    parser.add_argument("--leakscope", required=True)
    parser.add_argument("--minor", required=True)
    parser.add_argument("--kind", choices=("system", "pyenv"))
    args = parser.parse_args()
    args.shim, args.leakscope = os.path.abspath(args.shim), os.path.abspath(args.leakscope)
    found, _ = cp.interpreters()
    found = [p for p in found if p.endswith("python" + args.minor) and
             (not args.kind or p.startswith(cp.PYENV) == (args.kind == "pyenv"))]
    if not found:
        print("skipped: no %sCPython %s here" % (args.kind + " " if args.kind else "",
                                                  args.minor))
        return 77
    errors = []
    with tempfile.TemporaryDirectory() as work:
        for py in found:
            print("interpreter:", py)
            for check in (check_pass, check_real_leak):
                try:
                    check(args, py, work, errors)
                except AssertionError as failure:
                    errors.append("%s %s: %s" % (py, check.__name__, failure))
    return lkstest.finish(errors, "ok: %d interpreters" % len(found))


if __name__ == "__main__":
    sys.exit(main())
