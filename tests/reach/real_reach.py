#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real programs under `leakscope run --json`: the exit scan must find no
definitely lost memory in programs that free what they own, and where
Valgrind is installed, the same definitely and indirectly lost totals as
its memcheck, and the same possibly lost ones for the programs whose
possibly lost blocks do not depend on the environment (perl keeps a block
per variable of %ENV, and Valgrind sets others than leakscope run).

Usage: real_reach.py --leakscope EXE --shim SO NAME
  NAME: python, git, sqlite, bash, perl (perl skips its destruction at
  exit, so its leaks are compared with Valgrind's, and perl with
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
VALGRIND_LOST = {"definite": "definitely", "indirect": "indirectly", "possible": "possibly"}
EXACT = ("definite", "indirect")  # and "possible" where the program says so


def programs(workdir):
    """name -> (argv, extra environment, whether definite leaks are expected,
    whether possibly lost blocks must match Valgrind's too)"""
    return {
        "python": (["/usr/bin/python3", "-c", "pass"], {}, False, False),
        "git": (["git", "-C", workdir, "status", "--short"], {}, False, True),
        "sqlite": (["sqlite3", ":memory:", "create table t(x); insert into t values(1);"
                    " select * from t;"], {}, False, True),
        "bash": (["bash", "-c", "x=$(echo hi); for i in 1 2; do y=$y$i; done; echo $x $y"],
                 {}, False, True),
        "perl": (["perl", "-e", "my %h = (a => [1, 2]); print scalar(keys %h), qq(\\n)"],
                 {}, True, False),
        "perl_destruct": (["perl", "-e", "my %h = (a => [1, 2]);"],
                          {"PERL_DESTRUCT_LEVEL": "2"}, False, False),
    }


def lost(args, argv, env, workdir):
    """(bytes, blocks) by class, suppressed sites left out as Valgrind's
    default suppressions leave out the same runtime blocks"""
    json_path = os.path.join(workdir, "report.json")
    lkstest.run_logged(lkstest.run_command(args, argv, json_path=json_path), cwd=workdir,
                       env=env, timeout=300, tail=4000)
    proc = lkstest.load_json(json_path)["processes"][0]
    if not proc.get("classified"):
        raise RuntimeError("the exit snapshot was not classified")
    totals = {}
    for klass in VALGRIND_LOST:
        leaks = [leak for leak in proc["leaks"]
                 if leak["class"] == klass and not leak.get("suppressed")]
        totals[klass] = (sum(leak["bytes"] for leak in leaks),
                         sum(leak["blocks"] for leak in leaks))
    return totals


def valgrind_lost(argv, env, workdir):
    result = subprocess.run(["valgrind", "--leak-check=full", *argv], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=600, check=False)
    text = result.stderr.decode(errors="replace")
    totals = {}
    for klass, word in VALGRIND_LOST.items():
        match = re.search(word + r" lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
        # none of these lines: "All heap blocks were freed"
        totals[klass] = (tuple(int(group.replace(",", "")) for group in match.groups())
                         if match else (0, 0))
    return totals


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("name")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lks-real-reach-") as workdir:
        command, extra, leaks_expected, same_possible = programs(workdir)[args.name]
        if not shutil.which(command[0]):
            print(f"skip: {command[0]} is not installed")
            return lkstest.SKIP
        if args.name == "git":
            subprocess.run(["git", "init", "-q", workdir], check=True)
        env = dict(os.environ, **extra)
        ours = lost(args, command, env, workdir)
        print(f"leakscope: {ours}")
        if not leaks_expected and ours["definite"] != (0, 0):
            print("FAIL: definite leaks in a program that frees what it owns", file=sys.stderr)
            return 1
        if shutil.which("valgrind") and (leaks_expected or args.name != "python"):
            theirs = valgrind_lost(command, env, workdir)
            print(f"valgrind: {theirs}")
            for klass in EXACT + (("possible",) if same_possible else ()):
                if ours[klass] != theirs[klass]:
                    print(f"FAIL: the {klass} totals (bytes, blocks) differ from Valgrind's",
                          file=sys.stderr)
                    return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
