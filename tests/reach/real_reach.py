#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real programs under `leakscope run --json`: the exit scan must find no
definitely lost memory in programs that free what they own, and where
Valgrind is installed, the same definitely-lost total as its memcheck.

Usage: real_reach.py --leakscope EXE --shim SO NAME
  NAME: python, git, sqlite, perl (perl skips its destruction at exit, so
  its definite leaks are compared with Valgrind's, and perl with
  PERL_DESTRUCT_LEVEL=2, which frees everything, must show none).
Exits 77 (skipped) when the program is not installed.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import lkstest
VALGRIND_RE = re.compile(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks")


def programs(workdir):
    """name -> (argv, extra environment, whether definite leaks are expected)"""
    return {
        "python": (["/usr/bin/python3", "-c", "pass"], {}, False),
        "git": (["git", "-C", workdir, "status", "--short"], {}, False),
        "sqlite": (["sqlite3", ":memory:", "create table t(x); insert into t values(1);"
                    " select * from t;"], {}, False),
        "perl": (["perl", "-e", "my %h = (a => [1, 2]); print scalar(keys %h), qq(\\n)"],
                 {}, True),
        "perl_destruct": (["perl", "-e", "my %h = (a => [1, 2]);"],
                          {"PERL_DESTRUCT_LEVEL": "2"}, False),
    }


def definite(args, argv, env, workdir):
    json_path = os.path.join(workdir, "report.json")
    lkstest.run_logged(lkstest.run_command(args, argv, json_path=json_path), cwd=workdir,
                       env=env, timeout=300, tail=4000)
    proc = lkstest.load_json(json_path)["processes"][0]
    if not proc.get("classified"):
        raise RuntimeError("the exit snapshot was not classified")
    lost = [leak for leak in proc["leaks"]
            if leak["class"] == "definite" and not leak.get("suppressed")]
    return sum(leak["bytes"] for leak in lost), sum(leak["blocks"] for leak in lost)


def valgrind_definite(argv, env, workdir):
    result = subprocess.run(["valgrind", "--leak-check=full", *argv], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=600, check=False)
    match = VALGRIND_RE.search(result.stderr.decode(errors="replace"))
    if not match:  # "All heap blocks were freed" or nothing lost
        return 0, 0
    return tuple(int(group.replace(",", "")) for group in match.groups())


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("name")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lks-real-reach-") as workdir:
        command, extra, leaks_expected = programs(workdir)[args.name]
        if not shutil.which(command[0]):
            print(f"skip: {command[0]} is not installed")
            return lkstest.SKIP
        if args.name == "git":
            subprocess.run(["git", "init", "-q", workdir], check=True)
        env = dict(os.environ, **extra)
        ours = definite(args, command, env, workdir)
        print(f"leakscope: definitely lost {ours[0]} bytes in {ours[1]} blocks")
        if not leaks_expected and ours != (0, 0):
            print("FAIL: definite leaks in a program that frees what it owns", file=sys.stderr)
            return 1
        if shutil.which("valgrind") and (leaks_expected or args.name != "python"):
            theirs = valgrind_definite(command, env, workdir)
            print(f"valgrind: definitely lost {theirs[0]} bytes in {theirs[1]} blocks")
            if ours != theirs:
                print("FAIL: the definitely-lost totals differ from Valgrind's",
                      file=sys.stderr)
                return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
