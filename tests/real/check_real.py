#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a real program to completion with and without `leakscope run` and
checks that stdout and the exit status are the same, and that the JSON report
has an entry for the started process in which the shim recorded allocations.
Exits 77 (skipped) when the program is not installed.

Usage: check_real.py --leakscope EXE --shim SO CASE
"""

import dataclasses
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import lkstest
from lkstest import CheckError

SYSTEM_PATH = "/usr/bin:/bin"

PYTHON_PLAIN = """
import collections, json
words = ("alpha beta gamma delta " * 2000).split()
counts = collections.Counter(words)
print(json.dumps(sorted(counts.items())))
print(sum(len(str(n)) for n in range(100000)))
"""

PYTHON_THREADS = """
import hashlib, threading
from concurrent.futures import ThreadPoolExecutor
def work(seed):
    data = bytes(range(256)) * (1000 + seed)
    return hashlib.sha256(data).hexdigest(), [i * seed for i in range(10000)][-1]
with ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(work, range(16)))
lock = threading.Lock()
totals = []
def add(n):
    with lock:
        totals.append(sum(range(n)))
threads = [threading.Thread(target=add, args=(n * 1000,)) for n in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(results[0], results[-1][1], sorted(totals))
"""

SQLITE_SQL = """
create table numbers(x integer primary key, y text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000)
insert into numbers select x, printf('row %d', x) from c;
create index numbers_y on numbers(y);
select count(*), sum(x), max(y) from numbers;
"""

PERL_SCRIPT = r"""
my %h; $h{$_} = $_ * 2 for 1 .. 100000;
my @sorted = sort { $a <=> $b } values %h;
print scalar(keys %h), " $sorted[-1]\n";
print join(",", map { $_ * $_ } 1 .. 10), "\n";
"""


@dataclasses.dataclass
class Step:
    """One program run: argv[0] is looked up on the system PATH."""
    argv: list
    cwd: str = None
    stdin: bytes = b""


def python_steps(_tmp):
    return [Step(["python3", "-I", "-c", PYTHON_PLAIN])]


def python_threads_steps(_tmp):
    return [Step(["python3", "-I", "-c", PYTHON_THREADS])]


def git_steps(tmp):
    repo = os.path.join(tmp, "repo")
    os.mkdir(repo)
    with open(os.path.join(repo, "tracked.txt"), "w", encoding="utf-8") as tracked:
        tracked.write("hello\n")
    return [Step(["git", "init", "-q", "."], cwd=repo),
            Step(["git", "status", "--short", "--branch"], cwd=repo),
            Step(["git", "add", "tracked.txt"], cwd=repo),
            Step(["git", "status"], cwd=repo)]


def sqlite_steps(_tmp):
    return [Step(["sqlite3", ":memory:"], stdin=SQLITE_SQL.encode())]


def perl_steps(_tmp):
    return [Step(["perl", "-e", PERL_SCRIPT])]


def xz_steps(_tmp):
    # 6 MiB in 1 MiB blocks: xz -T2 compresses them on two threads.
    rng = random.Random(7)
    words = [rng.randbytes(rng.randrange(3, 12)) for _ in range(500)]
    data = b" ".join(rng.choice(words) for _ in range(800000))[: 6 << 20]
    return [Step(["xz", "-T2", "--block-size=1MiB", "-1", "-c"], stdin=data)]


CASES = {
    "python3": python_steps,
    "python3_threads": python_threads_steps,
    "git": git_steps,
    "sqlite3": sqlite_steps,
    "perl": perl_steps,
    "xz_threads": xz_steps,
}


def environment(tmp):
    env = dict(os.environ)
    env.update(LC_ALL="C", HOME=tmp, GIT_CONFIG_NOSYSTEM="1",
               PATH=SYSTEM_PATH + ":" + env.get("PATH", ""))
    env.pop("LEAKSCOPE_OPTIONS", None)
    return env


def run(command, step, env, timeout):
    proc = subprocess.Popen(command, cwd=step.cwd, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(step.stdin, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise CheckError(f"timed out after {timeout}s: {' '.join(command)}") from exc
    return proc.pid, proc.returncode, out, err


def digest(data):
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def check_process(report, program, leakscope_pid):
    processes = report.get("processes") or []
    if not processes:
        raise CheckError("the JSON report has no process entry")
    started = processes[0]
    if os.path.basename(os.path.realpath(started.get("exe") or "")) != \
            os.path.basename(os.path.realpath(program)):
        raise CheckError(f"first process entry is {started.get('exe')}, expected {program}")
    if started.get("ppid") != leakscope_pid:
        raise CheckError(f"first process entry has ppid {started.get('ppid')}, "
                         f"expected leakscope's pid {leakscope_pid}")
    if (started.get("summary") or {}).get("allocs", 0) <= 0:
        raise CheckError("the shim recorded no allocation in the started process")
    return started


def check_step(args, step, env, tmp):
    program = shutil.which(step.argv[0], path=SYSTEM_PATH) or shutil.which(step.argv[0])
    argv = [program, *step.argv[1:]]
    _, plain_status, plain_out, plain_err = run(argv, step, env, args.timeout)
    json_path = os.path.join(tmp, "report.json")
    command = lkstest.run_command(args, argv, json_path=json_path)
    print("running:", " ".join(command[:8]), "..." if len(command) > 8 else "", flush=True)
    pid, status, out, err = run(command, step, env, args.timeout)
    sys.stdout.write(err.decode(errors="replace")[-4000:])
    if status != plain_status:
        raise CheckError(f"exit status {status} under leakscope, {plain_status} without\n"
                         f"plain stderr: {plain_err.decode(errors='replace')[-2000:]}")
    if out != plain_out:
        raise CheckError(f"stdout differs: {digest(out)} under leakscope, {digest(plain_out)} "
                         f"without\n--- under leakscope:\n{out[:2000].decode(errors='replace')}"
                         f"\n--- without:\n{plain_out[:2000].decode(errors='replace')}")
    started = check_process(lkstest.load_json(json_path), program, pid)
    summary = started.get("summary") or {}
    print(f"ok: {' '.join(step.argv[:3])}: status {status}, stdout {digest(out)}, "
          f"{summary.get('allocs')} allocs, {summary.get('leaked_bytes')} bytes unfreed")


def parse_args(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("case", choices=sorted(CASES))
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="lks-real-")
    try:
        steps = CASES[args.case](tmp)
        for step in steps:
            if not (shutil.which(step.argv[0], path=SYSTEM_PATH) or shutil.which(step.argv[0])):
                print(f"skip: {step.argv[0]} is not installed")
                return lkstest.SKIP
        env = environment(tmp)
        for step in steps:
            check_step(args, step, env, tmp)
    except (CheckError, OSError, json.JSONDecodeError) as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
