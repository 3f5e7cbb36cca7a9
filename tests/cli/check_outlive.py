#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A process of the tree that outlives the started command: `leakscope run`
says so, keeps the temporary directory its snapshot goes to, and its leak
is found there afterwards; with --wait-children it waits for it and the
leak is in the report itself. No other directory is left in TMPDIR. TAP
output.

Usage: check_outlive.py --leakscope EXE --leaker PROGRAM
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

import lkstest

# The shell ends at once; its background child runs the leaker once it
# reads a line from the gate (a FIFO), which the checker writes when the
# run has ended (or before it starts, for --wait-children): never a race
# with leakscope's look at the tree. The done file says the leaker ended.
SCRIPT = "(read line < {gate}; {leaker}; : > {done}) > {late_output} 2>&1 & exit 0"


def leaker_leak(report, leaker):
    """Bytes leaked by leak_one in the leaker's process, or None."""
    for proc in report["processes"]:
        if os.path.basename(proc.get("exe") or "") != os.path.basename(leaker):
            continue
        return lkstest.bytes_from(proc, "leak_one")
    return None


class Late:
    """The files of one run's late leaker: its gate, output and done mark
    (its output not leakscope's: that would stay open until it ended)."""

    def __init__(self, work, name):
        self.gate = os.path.join(work, name + ".gate")
        self.output = os.path.join(work, name + ".output")
        self.done = os.path.join(work, name + ".done")
        os.mkfifo(self.gate)
        # read-write: never blocks, and the line waits in the FIFO for its reader
        self.gate_fd = os.open(self.gate, os.O_RDWR)

    def script(self, leaker):
        return SCRIPT.format(gate=self.gate, leaker=leaker, late_output=self.output,
                             done=self.done)

    def go(self):
        os.write(self.gate_fd, b"go\n")

    def ended(self):
        """Whether the leaker ended (a bound of 60 s against a hang)."""
        deadline = time.monotonic() + 60
        while not os.path.exists(self.done) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.close(self.gate_fd)
        return os.path.exists(self.done)


def run(leakscope, leaker, json_path, late, *options):
    tmpdir = os.path.join(os.path.dirname(json_path), "tmp")
    return subprocess.run([leakscope, "run", "--json", json_path, *options, "--",
                           "sh", "-c", late.script(leaker)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, TMPDIR=tmpdir))


def check_not_waited(leakscope, leaker, work):
    problems = []
    late = Late(work, "first")
    try:
        result = run(leakscope, leaker, os.path.join(work, "first.json"), late)
    finally:
        late.go()
    if leaker_leak(lkstest.load_json(os.path.join(work, "first.json")), leaker) is not None:
        problems.append("the leaker is in the report though it was not waited for")
    if result.returncode != 0:
        problems.append(f"exit {result.returncode}, want the shell's 0")
    if "1 process of the tree still running" not in result.stderr:
        problems.append("no line saying a process is still running")
    kept = re.search(r"snapshots kept in (\S+)", result.stderr)
    if not late.ended():
        problems.append("the leaker did not end within 60 s of being let go")
    with open(late.output, encoding="utf-8", errors="replace") as output:
        if "cannot write" in output.read():
            problems.append("the late process could not write its snapshot")
    if not kept:
        problems.append("the temporary directory is not kept")
        return problems, result.stderr
    later = subprocess.run([leakscope, "report", "--format", "json", kept.group(1)],
                           capture_output=True, text=True, timeout=60, check=False)
    if later.returncode != 0 or leaker_leak(json.loads(later.stdout), leaker) != 100:
        problems.append(f"the kept directory {kept.group(1)} has no 100-byte leak "
                        "of the leaker")
    subprocess.run(["rm", "-rf", kept.group(1)], check=False)
    return problems, result.stderr


def check_waited(leakscope, leaker, work):
    problems = []
    json_path = os.path.join(work, "second.json")
    late = Late(work, "second")
    late.go()
    result = run(leakscope, leaker, json_path, late, "--wait-children")
    late.ended()
    bytes_leaked = leaker_leak(lkstest.load_json(json_path), leaker)
    if bytes_leaked != 100:
        problems.append(f"the leaker's leak in the report: {bytes_leaked}, want 100")
    if "still running" in result.stderr or "kept in" in result.stderr:
        problems.append("a process was left behind")
    return problems, result.stderr


def check_nothing_left(leakscope, leaker, work):
    left = os.listdir(os.path.join(work, "tmp"))
    return ([f"left in TMPDIR: {left}"] if left else []), ""


def main(argv):
    parser = lkstest.argument_parser(__doc__, shim=False)
    parser.add_argument("--leaker", required=True, type=os.path.abspath)
    args = parser.parse_args(argv)
    leakscope, leaker = args.leakscope, args.leaker
    failed = 0
    checks = [("an outliving process is announced and its snapshot kept", check_not_waited),
              ("--wait-children reports the outliving process", check_waited),
              ("nothing else is left in TMPDIR", check_nothing_left)]
    with tempfile.TemporaryDirectory(prefix="lks-outlive-") as work:
        os.mkdir(os.path.join(work, "tmp"))
        for number, (name, check) in enumerate(checks, 1):
            problems, stderr = check(leakscope, leaker, work)
            print(f"{'not ok' if problems else 'ok'} {number} - {name}")
            for line in problems + [f"  stderr: {line}" for line in
                                    (stderr.splitlines()[-8:] if problems else [])]:
                print(f"# {line}")
            failed += bool(problems)
    print(f"1..{len(checks)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
