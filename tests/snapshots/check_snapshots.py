#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Snapshots during the run (docs/SNAPSHOTS.md): from code, on request from
outside, on a timer. Each check runs a fixture under the shim and reads the
snapshots back with `leakscope report --json`.

Usage: check_snapshots.py --leakscope EXE --shim SO --busy EXE --api EXE
       --source-dir DIR CHECK
"""

import ctypes
import json
import os
import platform
import re
import select
import signal
import stat
import subprocess
import sys
import tempfile
import time

import lkstest

SIGNO = 60  # the request signal the tests give the shim; busy.c uses it too
FAILURES = []


def check(condition, what):
    print(("ok: " if condition else "FAIL: ") + what)
    if not condition:
        FAILURES.append(what)
    return condition


def report(args, path):
    out = subprocess.run([args.leakscope, "report", "-f", "json", path],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit("report failed on %s: %s" % (path, out.stderr))
    return json.loads(out.stdout)["processes"][0]


def at_site(process, source, line):
    """(blocks, bytes) of the sites whose stack passes through source:line."""
    blocks = size = 0
    for leak in process["leaks"]:
        if any(lkstest.at_line(frame, source, line) for frame in leak["stack"]):
            blocks += leak["blocks"]
            size += leak["bytes"]
    return blocks, size


def shim_env(args, outdir, extra=""):
    env = dict(os.environ)
    env["LD_PRELOAD"] = args.shim
    env["LEAKSCOPE_OPTIONS"] = "output_dir=%s:summary=0%s" % (outdir, extra)
    return env


def snapshot_files(outdir, label=None):
    names = sorted(n for n in os.listdir(outdir) if n.endswith(".lks"))
    return [os.path.join(outdir, n) for n in names
            if label is None or n.split(".")[-2] == label]


class Busy:
    """busy.c under the shim, driven through its stdin."""

    def __init__(self, args, outdir, mode, threads, options=":snapshot_signal=%d" % SIGNO,
                 preload=True):
        env = shim_env(args, outdir, options) if preload else dict(os.environ)
        self.proc = subprocess.Popen([args.busy, mode, str(threads)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.pid = self.proc.pid
        self.expect("ready")

    def expect(self, prefix):
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith(prefix):
            self.proc.kill()
            raise SystemExit("busy said %r, wanted %r" % (line, prefix))
        return line

    def ask(self, command, prefix):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.expect(prefix)

    def signals_at_least(self, count):
        """The query's answer once the program's handler counted `count`
        signals (a signal is handled when a thread the kernel picked next
        runs, not when kill() returns), or the last answer after 30 s."""
        deadline = time.monotonic() + 30
        while True:
            line = self.ask("query", "signals=")
            if int(line.split()[0].split("=")[1]) >= count or time.monotonic() > deadline:
                return line
            time.sleep(0.05)

    def finish(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


def request(args, pid, *options):
    return subprocess.run([args.leakscope, "snapshot", *options, str(pid)],
                          capture_output=True, text=True, timeout=60)


# ---- the checks ---------------------------------------------------------------

def check_api(args, outdir):
    source = os.path.join(args.source_dir, "api_phases.c")
    sites = lkstest.marker_lines(source, "snap-site")
    out = subprocess.run([args.api], env=shim_env(args, outdir), capture_output=True,
                         text=True, timeout=60)
    check(out.returncode == 0, "api_phases exits 0 under the shim")
    check(out.stdout.splitlines() == ["empty 0 0", "one 0 0", "dlsym 0 0"],
          "every leakscope_snapshot call returns 0: %r" % out.stdout)
    name = os.path.basename(args.api)
    files = {os.path.basename(p).split(".")[-2]: p for p in snapshot_files(outdir)}
    check(sorted(files) == ["api", "exit", "phase_one_after", "two"],
          "labels in the file names, sanitised, NULL gives 'api': %s" % sorted(files))
    expected = {"api": (0, 0, 1), "phase_one_after": (3, 0, 2), "two": (0, 5, 3)}
    for label, (first, second, seq) in expected.items():
        path = files.get(label)
        if not path:
            continue
        check(re.fullmatch(r"%s\.%d\.%d\.%s\.lks" % (re.escape(name), out_pid(path), seq,
                                                      label), os.path.basename(path)),
              "%s is named PROG.PID.SEQ.LABEL.lks with seq %d" % (path, seq))
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "%s has mode 0600" % label)
        process = report(args, path)
        check(process["reason"] == "api", "%s: reason api" % label)
        got = (at_site(process, source, sites["first"]), at_site(process, source, sites["second"]))
        check(got == ((first, first * 40), (second, second * 1000)),
              "%s: first site %d blocks, second %d: got %s" % (label, first, second, got))
    process = report(args, files["phase_one_after"])
    check(process["label"] == "phase one/after", "the label is kept unsanitised inside")
    # without the shim: the header's weak reference, ENOSYS, the program goes on
    bare = subprocess.run([args.api], capture_output=True, text=True, timeout=60)
    check(bare.returncode == 0 and bare.stdout.splitlines() ==
          ["empty -1 %d" % 38, "one -1 38", "dlsym none 0"],
          "without leakscope: -1, ENOSYS, and the program runs: %r" % bare.stdout)


def out_pid(path):
    return int(os.path.basename(path).split(".")[-4])


def check_blocked(args, outdir):
    """A program that blocks every signal in its threads still answers."""
    source = os.path.join(args.source_dir, "busy.c")
    kept_line = lkstest.marker_lines(source, "snap-site")["kept"]
    busy = Busy(args, outdir, "blocked", 2)
    out = request(args, busy.pid, "--label", "blocked")
    path = out.stdout.strip()
    check(out.returncode == 0 and os.path.isfile(path),
          "every signal blocked in the program's threads: answered: %r" % out.stderr)
    if out.returncode == 0:
        check(at_site(report(args, path), source, kept_line) == (7, 336),
              "... with the 7 kept blocks")
    check(busy.finish() == 0, "... and the program exits 0")


def check_request(args, outdir):
    source = os.path.join(args.source_dir, "busy.c")
    kept_line = lkstest.marker_lines(source, "snap-site")["kept"]
    busy = Busy(args, outdir, "none", 4)
    names = [open("/proc/%d/task/%s/comm" % (busy.pid, tid)).read().strip()
             for tid in os.listdir("/proc/%d/task" % busy.pid)]
    check(names.count("leakscope-%d" % SIGNO) == 1,
          "one control thread, named for the signal: %s" % names)
    kept = 7
    for round_number in range(1, 4):
        out = request(args, busy.pid, "--label", "round %d" % round_number)
        path = out.stdout.strip()
        if not check(out.returncode == 0 and os.path.isfile(path),
                     "round %d: leakscope snapshot prints an existing file: %r %r"
                     % (round_number, out.stdout, out.stderr)):
            continue
        check(re.fullmatch(r"busy\.%d\.%d\.round_%d\.lks" % (busy.pid, round_number,
                                                              round_number),
                           os.path.basename(path)), "round %d: file name %s" % (
                               round_number, os.path.basename(path)))
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "round %d: mode 0600" % round_number)
        process = report(args, path)
        check(process["reason"] == "signal" and process["label"] == "round %d" % round_number,
              "round %d: reason signal, label kept" % round_number)
        got = at_site(process, source, kept_line)
        check(got == (kept, kept * 48), "round %d: the kept site has exactly %d blocks "
              "while 4 threads churn: %s" % (round_number, kept, got))
        kept = int(busy.ask("grow", "grown").split()[1])
    out = request(args, busy.pid)
    check(out.returncode == 0 and out.stdout.strip().endswith(".request.lks"),
          "without --label the file is labelled 'request': %r" % out.stdout)
    check(busy.finish() == 0, "the program ran to its end and exits 0")


def control_tid(pid):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == "leakscope-%d" % SIGNO:
                return int(tid)
    return None


def tgkill(pid, tid, signo):
    number = {"x86_64": 234, "aarch64": 131}[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(number, pid, tid, signo)


def check_fork(args, outdir):
    """A fork child gets its own control thread and answers for itself."""
    source = os.path.join(args.source_dir, "busy.c")
    kept_line = lkstest.marker_lines(source, "snap-site")["kept"]
    busy = Busy(args, outdir, "none", 2)
    child = int(busy.ask("fork", "child").split()[1])
    try:
        check(child > 0 and control_tid(child) is not None,
              "the child has a control thread of its own")
        out = request(args, child, "--label", "child")
        path = out.stdout.strip()
        check(out.returncode == 0 and
              os.path.basename(path) == "busy.%d.1.child.lks" % child,
              "the child answers, in a file of its pid: %r %r" % (out.stdout, out.stderr))
        if out.returncode == 0:
            process = report(args, path)
            check(process["forked"] and at_site(process, source, kept_line) == (9, 432),
                  "the child's snapshot: forked, its parent's 7 kept blocks and its own 2")
        out = request(args, busy.pid, "--label", "parent")
        check(out.returncode == 0 and out.stdout.strip().endswith(
            "busy.%d.1.parent.lks" % busy.pid), "the parent still answers for itself")
    finally:
        if child > 0:
            os.kill(child, signal.SIGKILL)
    check(busy.finish() == 0, "the parent exits 0")


def check_own_handler(args, outdir, mode):
    busy = Busy(args, outdir, mode, 2)
    for _ in range(2):
        os.kill(busy.pid, SIGNO)
    # a signal sent to the process may be delivered on leakscope's thread
    tid = control_tid(busy.pid)
    check(tid is not None and tgkill(busy.pid, tid, SIGNO) == 0,
          "%s: the program's signal sent to leakscope's thread" % mode)
    busy.signals_at_least(3)
    out = request(args, busy.pid, "--label", mode)
    check(out.returncode == 0, "%s: a snapshot on request: %r" % (mode, out.stderr))
    os.kill(busy.pid, SIGNO)
    line = busy.signals_at_least(4)
    handler = "info" if mode == "sigaction" else "plain"
    check(line == "signals=4 handler=%s" % handler,
          "%s: the program's handler got its 4 signals, not leakscope's, and reads "
          "back as its own: %s" % (mode, line))
    check(busy.finish() == 0, "%s: exits 0" % mode)


def check_default_actions(args, outdir):
    """What the kernel does without a handler still happens: the default
    action ends the process, and sysv_signal's handler runs once."""
    for preload in (False, True):
        busy = Busy(args, outdir, "none", 1, preload=preload)
        os.kill(busy.pid, SIGNO)
        status = busy.proc.wait(timeout=30)
        check(status == -SIGNO, "no handler (%s): signal %d ends the process: %s"
              % ("under leakscope" if preload else "alone", SIGNO, status))
    busy = Busy(args, outdir, "sysv", 1)
    os.kill(busy.pid, SIGNO)
    check(busy.signals_at_least(1) == "signals=1 handler=default",
          "sysv_signal: one signal handled, then the default disposition")
    out = request(args, busy.pid)
    check(out.returncode == 0, "sysv_signal: requests still answered after the reset")
    os.kill(busy.pid, SIGNO)
    check(busy.proc.wait(timeout=30) == -SIGNO, "sysv_signal: the next signal ends it")


def check_interval(args, outdir):
    source = os.path.join(args.source_dir, "busy.c")
    kept_line = lkstest.marker_lines(source, "snap-site")["kept"]
    busy = Busy(args, outdir, "none", 2, options=":interval=1")
    deadline = time.monotonic() + 120  # a loaded machine delays the timer's thread
    while len(snapshot_files(outdir, "interval")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    check(busy.finish() == 0, "interval: the program exits 0")
    files = snapshot_files(outdir, "interval")
    check(len(files) >= 3, "interval=1: snapshots keep coming: %d" % len(files))
    uptimes = []
    for path in files:
        process = report(args, path)
        uptimes.append(process["uptime_ns"] / 1e9)
        check(process["reason"] == "timer" and at_site(process, source, kept_line) == (7, 336),
              "%s: reason timer, the 7 kept blocks" % os.path.basename(path))
    gaps = [b - a for a, b in zip(uptimes, uptimes[1:])]
    check(uptimes and uptimes[0] >= 0.9 and all(gap >= 0.9 for gap in gaps),
          "one second apart at least, the first after one second: %s" % uptimes)


def check_errors(args, outdir):
    busy = Busy(args, outdir, "none", 0, preload=False)
    out = request(args, busy.pid)
    check(out.returncode == 1 and "does not take snapshot requests" in out.stderr,
          "a process without leakscope: one clear error: %r" % out.stderr)
    check(busy.proc.poll() is None, "... and it was not signalled (still running)")
    busy.finish()
    busy = Busy(args, outdir, "none", 0, options="")
    check(len(os.listdir("/proc/%d/task" % busy.pid)) == 1,
          "no control thread when neither snapshot_signal nor interval is set")
    out = request(args, busy.pid)
    check(out.returncode == 1 and "snapshot_signal" in out.stderr,
          "leakscope without snapshot_signal: says how to turn it on: %r" % out.stderr)
    check(busy.proc.poll() is None and busy.finish() == 0, "... and the program goes on")
    gone = subprocess.Popen(["true"])
    gone.wait()
    out = request(args, gone.pid)
    check(out.returncode == 1 and "no such process" in out.stderr,
          "a pid that does not exist: %r" % out.stderr)
    for bad in (["snapshot"], ["snapshot", "12x"], ["snapshot", "--timeout", "0", "1"],
                ["snapshot", "--bogus", "1"], ["snapshot", "1", "2"]):
        out = subprocess.run([args.leakscope, *bad], capture_output=True, text=True)
        check(out.returncode == 2 and out.stderr.count("\n") == 1,
              "usage error for %s: one line, exit 2: %r" % (bad, out.stderr))


CHECKS = {
    "api": check_api,
    "request": check_request,
    "blocked": check_blocked,
    "own_sigaction": lambda a, d: check_own_handler(a, d, "sigaction"),
    "own_signal": lambda a, d: check_own_handler(a, d, "signal"),
    "default_actions": check_default_actions,
    "interval": check_interval,
    "fork": check_fork,
    "errors": check_errors,
}


def main():
    parser = lkstest.argument_parser()
    for name in ("busy", "api", "source-dir"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("check", choices=sorted(CHECKS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lks-snapshots-") as outdir:
        CHECKS[args.check](args, outdir)
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
