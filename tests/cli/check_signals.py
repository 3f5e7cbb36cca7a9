#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`leakscope run` and signals: SIGHUP, SIGINT and SIGTERM sent to leakscope
reach the program, and leakscope still reports it and removes its temporary
directory; SIGKILL to leakscope leaves no process of the program's tree
running, whether in leakscope's process group, a session of its own, or
ignoring every signal it can. TAP output.

Usage: check_signals.py --leakscope EXE --waiter PROGRAM
  PROGRAM (wait_signal.c) writes the signal it got to a file and exits 3.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import lkstest

# The tree of the SIGKILL case: a background child, one in a new session,
# one that ignores every catchable signal, and the started process itself,
# each pid written down.
TREE = ("sleep 300 & echo $! > {pids}; "
        "setsid sleep 301 & echo $! >> {pids}; "
        "(trap '' HUP INT TERM QUIT; exec sleep 302) & echo $! >> {pids}; "
        "echo $$ >> {pids}; exec sleep 303")

WAIT = 120  # seconds: bounds against a hang, not expectations


def start(leakscope, argv, work):
    """leakscope run in a session of its own, its stderr in work/stderr (a
    pipe would stay open as long as the program, whatever leakscope does)."""
    env = dict(os.environ, TMPDIR=os.path.join(work, "tmp"))
    os.mkdir(env["TMPDIR"])
    with open(os.path.join(work, "stderr"), "w", encoding="utf-8") as stderr:
        return subprocess.Popen([leakscope, "run", "--", *argv], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr, start_new_session=True,
                                preexec_fn=lkstest.default_signals)


def wait_until(condition, proc):
    """True once condition() holds; False when leakscope ended or time ran out."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def read(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError:
        return ""


def ended(proc):
    """Whether leakscope ended within the bound; killed if not."""
    try:
        proc.wait(timeout=WAIT)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def check_relayed(args, work, name):
    """One of SIGHUP, SIGINT, SIGTERM to leakscope alone."""
    problems = []
    got, ready = os.path.join(work, "got"), os.path.join(work, "ready")
    proc = start(args.leakscope, [args.waiter, got, ready], work)
    if not wait_until(lambda: os.path.exists(ready), proc):
        proc.kill()
        proc.wait()
        return [f"the program never got ready: {read(work + '/stderr')[-400:]!r}"]
    program = int(read(ready))
    os.kill(proc.pid, getattr(signal, "SIG" + name))
    if not ended(proc):
        problems.append(f"leakscope still running {WAIT} s after SIG{name}")
    if start_time(program) and start_time(program)[1] != "Z":
        os.kill(program, signal.SIGKILL)  # the test leaves nothing running
    if read(got) != name:
        problems.append(f"the program got {read(got) or 'no signal'!r}, want {name}")
    if proc.returncode != 3:
        problems.append(f"exit {proc.returncode}, want the program's 3")
    stderr = read(os.path.join(work, "stderr"))
    if "wait_signal" not in stderr or "SUMMARY" not in stderr:
        problems.append(f"no report of the program: {stderr[-300:]!r}")
    if os.listdir(os.path.join(work, "tmp")):
        problems.append(f"left behind in TMPDIR: {os.listdir(os.path.join(work, 'tmp'))}")
    return problems


def start_time(pid):
    """(start time, state) of a process, or None when it is gone."""
    fields = read(f"/proc/{pid}/stat").rsplit(")", 1)
    if len(fields) != 2:
        return None
    rest = fields[1].split()
    return rest[19], rest[0]


def alive(pid, started):
    now = start_time(pid)
    return now is not None and now[0] == started and now[1] not in ("Z", "X")


def check_killed(args, work):
    """SIGKILL to leakscope while its tree runs."""
    pids_path = os.path.join(work, "pids")
    proc = start(args.leakscope, ["sh", "-c", TREE.format(pids=pids_path)], work)
    if not wait_until(lambda: len(read(pids_path).split()) == 4, proc):
        proc.kill()
        proc.wait()
        return [f"the tree never started: {read(work + '/stderr')[-400:]!r}"]
    # every process of the tree has exec'd its sleep (the last exec may still
    # be under way when its pid is written)
    written = [int(pid) for pid in read(pids_path).split()]
    wait_until(lambda: all(read(f"/proc/{pid}/comm") == "sleep\n" for pid in written), proc)
    pids = [(pid, start_time(pid)) for pid in written]
    pids = [(pid, started[0]) for pid, started in pids if started]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and any(alive(p, s) for p, s in pids):
        time.sleep(0.05)
    survivors = [pid for pid, started in pids if alive(pid, started)]
    for pid in survivors:  # the test leaves nothing running either
        os.kill(pid, signal.SIGKILL)
    if len(pids) != 4:
        return [f"only {len(pids)} of the 4 processes were seen running"]
    return [f"still running {WAIT} s after leakscope was killed: pids {survivors}"] \
        if survivors else []


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leakscope", required=True)
    parser.add_argument("--waiter", required=True)
    args = parser.parse_args(argv)
    args.leakscope, args.waiter = os.path.abspath(args.leakscope), os.path.abspath(args.waiter)
    checks = [(f"SIG{name} to run reaches the program; run reports and cleans up",
               lambda a, w, n=name: check_relayed(a, w, n)) for name in ("HUP", "INT", "TERM")]
    checks.append(("SIGKILL to run leaves no process of its tree", check_killed))
    failed = 0
    for number, (name, check) in enumerate(checks, 1):
        work = tempfile.mkdtemp(prefix="lks-signals-")
        try:
            problems = check(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{'not ok' if problems else 'ok'} {number} - {name}")
        for problem in problems:
            print(f"# {problem}")
        failed += bool(problems)
    print(f"1..{len(checks)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
