#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`leakscope run` itself stopped or hung up (issue 10 items 5 and 12).

  sigkill  SIGKILL to `leakscope run`: no process of the program's tree may
           go on running (tree_sleeper: a program and its child)
  sighup   SIGHUP to `leakscope run`: passed on like SIGTERM, so the program
           ends as it would have (status 129), and no temporary directory
           of leakscope's is left behind but the one run announces it
           keeps for the program's child, which outlives it
  outlive  tests/cli/check_outlive.py leaves no temporary directory behind

Usage: check_run_signals.py --leakscope EXE --shim SO MODE -- ARGS...
  (sigkill/sighup: ARGS is the tree_sleeper program;
   outlive: ARGS is check_outlive.py and its leaker program)
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import hostile
import lkstest

# Seconds: a bound against a hang, never an expectation. A healthy tree
# starts and ends in a few seconds even on a loaded machine; a run that
# hangs fails here, saying where each process sleeps, inside meson's
# timeout (400 s, above a test's three waits) rather than killed by it with
# nothing said. (An earlier 20 s once ran out: that CI was started under
# nohup, so SIGHUP was ignored and the run could not end at all;
# lkstest.default_signals fixes that case, not this bound.)
HANG = 120


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_pids(path):
    pids = {}
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                who, pid = line.split()
                pids[who] = int(pid)
    except (OSError, ValueError):
        pass
    return pids


def start_tree(args, tmpdir):
    """leakscope's stderr goes to a file: the tree inherits it, and a pipe
    would stay open as long as any of the tree runs."""
    pidfile = os.path.join(tmpdir, "pids")
    env = dict(os.environ, TMPDIR=tmpdir)
    with open(os.path.join(os.path.dirname(tmpdir), os.path.basename(tmpdir) + ".stderr"),
              "w+b") as stderr:
        run = subprocess.Popen([args.leakscope, "run", "--shim", args.shim, "--",
                                *args.rest, pidfile],
                               stdout=subprocess.DEVNULL, stderr=stderr,
                               env=env, start_new_session=True,
                               preexec_fn=lkstest.default_signals)
        run.stderr_path = stderr.name
    if not wait_until(lambda: len(read_pids(pidfile)) == 2, HANG):
        hostile.kill_session(run.pid)
        raise RuntimeError(f"the tree never started: {read_pids(pidfile)}")
    return run, read_pids(pidfile)


def leftovers(tmpdir):
    return sorted(name for name in os.listdir(tmpdir) if name != "pids")


def check_sigkill(args, tmpdir):
    run, pids = start_tree(args, tmpdir)
    run.kill()
    run.wait()
    errors = []
    if not wait_until(lambda: not any(alive(pid) for pid in pids.values()), HANG):
        running = {who: pid for who, pid in pids.items() if alive(pid)}
        errors.append(f"still running {HANG} s after SIGKILL to leakscope run: {running}")
    for pid in pids.values():
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    return errors


def where_each_waits(sid):
    """Each process of the session and where it sleeps, for a hang's report:
    which of them did not end, and in what."""
    lines = []
    for pid in sorted(hostile.pids_of_session(sid)):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
                name, rest = stat.read().rsplit(")", 1)
            with open(f"/proc/{pid}/wchan", encoding="utf-8") as wchan:
                waits = wchan.read() or "-"
        except OSError:
            continue
        state, parent = rest.split()[:2]
        lines.append(f"{pid} ({name.split('(', 1)[1]}) state {state}, parent {parent}, "
                     f"in {waits}")
    return lines


def check_sighup(args, tmpdir):
    run, pids = start_tree(args, tmpdir)
    run.send_signal(signal.SIGHUP)
    errors = []
    try:
        run.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        waiting = where_each_waits(run.pid)
        hostile.kill_session(run.pid)
        with open(run.stderr_path, "rb") as stderr_file:
            stderr = stderr_file.read()
        return [f"leakscope run did not end within {HANG} s of SIGHUP; tree {pids}; "
                f"the session's processes: {waiting}; stderr: {hostile.show(stderr)}"]
    with open(run.stderr_path, "rb") as stderr_file:
        stderr = stderr_file.read()
    if hostile.end_of(run.returncode) != "exit 129":
        errors.append(f"leakscope run: {hostile.end_of(run.returncode)}, want exit 129 "
                      "(the program's own death by SIGHUP, passed on)")
    if alive(pids["parent"]):
        errors.append(f"the program (pid {pids['parent']}) still runs, unwatched")
    # the program's child outlives it (SIGHUP went to the program alone, as
    # from a supervisor): run announces it and keeps its directory for it
    kept = [name for name in leftovers(tmpdir)
            if alive(pids["child"]) and f"snapshots kept in {os.path.join(tmpdir, name)}".encode()
            in stderr]
    if [name for name in leftovers(tmpdir) if name not in kept]:
        errors.append(f"left behind in TMPDIR: {leftovers(tmpdir)}; "
                      f"stderr: {hostile.show(stderr)}")
    for pid in pids.values():
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    return errors


def check_outlive(args, tmpdir):
    env = dict(os.environ, TMPDIR=tmpdir)
    script, leaker = args.rest
    result = subprocess.run([sys.executable, script, "--leakscope", args.leakscope,
                             "--leaker", leaker], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    errors = [] if result.returncode == 0 else [f"check_outlive.py failed: {result.stdout}"]
    # its late process ends as it returns: a bound, not a wait
    wait_until(lambda: not leftovers(tmpdir), 3)
    if leftovers(tmpdir):
        errors.append(f"left behind in TMPDIR by one run of cli_outlive: {leftovers(tmpdir)}")
    return errors


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leakscope", required=True)
    parser.add_argument("--shim", required=True)
    parser.add_argument("mode", choices=("sigkill", "sighup", "outlive"))
    parser.add_argument("rest", nargs="+")
    args = parser.parse_args(argv)
    tmpdir = tempfile.mkdtemp(prefix="lks-hostile-tmp-")
    try:
        errors = globals()["check_" + args.mode](args, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if os.path.exists(tmpdir + ".stderr"):
            os.unlink(tmpdir + ".stderr")
    if errors:
        print("FAIL:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    print(f"ok: {args.mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
