# SPDX-License-Identifier: MIT
"""Helpers of the hostile suite: run a program without the shim, under
`leakscope run` and under plain LD_PRELOAD, and describe how each ended.
Kept in one module so it can be swapped for the shared tests/lib/lkstest.py
once that exists."""

import dataclasses
import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

TIMEOUT = "timeout"


@dataclasses.dataclass
class Outcome:
    """How one run ended: `end` is 'exit N', 'signal NAME' or 'timeout'."""
    end: str
    stdout: bytes
    stderr: bytes
    report: dict = None      # the JSON report (leakscope run / preload)
    seconds: float = 0.0

    def started(self):
        """The started process of the report, or None."""
        procs = (self.report or {}).get("processes") or []
        return procs[0] if procs else None


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def end_of(returncode, under_leakscope=False):
    """`leakscope run` exits 128+N for a program killed by signal N."""
    if returncode < 0:
        return f"signal {signal_name(-returncode)}"
    if under_leakscope and 128 < returncode < 128 + 65:
        return f"signal {signal_name(returncode - 128)}"
    return f"exit {returncode}"


def limits(rlimit_as_kib=None, rlimit_nofile=None, rlimit_nofile_hard=None):
    """A preexec_fn setting the limits a shell's ulimit would (the hard fd
    limit is the soft one unless given)."""
    def apply():
        if rlimit_as_kib:
            size = rlimit_as_kib * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        if rlimit_nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (rlimit_nofile, rlimit_nofile_hard or rlimit_nofile))
    return apply if (rlimit_as_kib or rlimit_nofile) else None


def run(cmd, timeout, under_leakscope=False, **kwargs):
    """Runs cmd; a run past timeout is killed (its whole session) and ends
    as 'timeout'."""
    began = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
        end = end_of(proc.returncode, under_leakscope)
    except subprocess.TimeoutExpired:
        kill_session(proc.pid)
        out, err = proc.communicate()
        end = TIMEOUT
    return Outcome(end, out, err, seconds=time.monotonic() - began)


def kill_session(sid):
    """SIGKILL every process whose session is sid (what start_new_session made)."""
    for pid in pids_of_session(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def pids_of_session(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields: state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


class Tools:
    """The leakscope command and the shim under test."""

    def __init__(self, leakscope, shim):
        self.leakscope = leakscope
        self.shim = shim

    def plain(self, cmd, timeout, **kwargs):
        return run(cmd, timeout, **kwargs)

    def leakscope_run(self, cmd, timeout, extra=(), **kwargs):
        work = tempfile.mkdtemp(prefix="lks-hostile-")
        json_path = os.path.join(work, "report.json")
        outcome = run([self.leakscope, "run", "--shim", self.shim, "--json", json_path,
                       *extra, "--", *cmd], timeout, under_leakscope=True, **kwargs)
        outcome.report = read_json(json_path)
        shutil.rmtree(work, ignore_errors=True)
        return outcome

    def preload(self, cmd, timeout, env=None, **kwargs):
        """Plain LD_PRELOAD, the snapshots then read by `leakscope report`."""
        work = tempfile.mkdtemp(prefix="lks-hostile-")
        env = dict(env or os.environ)
        env["LD_PRELOAD"] = self.shim
        env["LEAKSCOPE_OPTIONS"] = f"output_dir={work}:summary=0"
        outcome = run(cmd, timeout, env=env, **kwargs)
        if any(name.endswith(".lks") for name in os.listdir(work)):
            report = subprocess.run([self.leakscope, "report", "--format", "json", work],
                                    capture_output=True, timeout=120, check=False)
            try:
                outcome.report = json.loads(report.stdout)
            except json.JSONDecodeError:
                outcome.report = None
        shutil.rmtree(work, ignore_errors=True)
        return outcome


def read_json(path):
    try:
        with open(path, encoding="utf-8") as report_file:
            return json.load(report_file)
    except (OSError, json.JSONDecodeError):
        return None


def site(proc, function, klass=None):
    """(blocks, bytes) of the leaks, every class or only klass, whose stack
    names function."""
    blocks = size = 0
    for leak in proc.get("leaks") or []:
        if klass and leak.get("class") != klass:
            continue
        if any(frame.get("function") == function for frame in leak.get("stack") or []):
            blocks += leak["blocks"]
            size += leak["bytes"]
    return blocks, size


def show(data, limit=600):
    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
