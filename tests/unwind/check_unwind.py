#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a program under `leakscope run --json` and checks what the
unwinder did, against the same program run without the shim.

  --differential      every stack is also taken by libunwind
                      (LEAKSCOPE_OPTIONS=unwind_check=1): no process may
                      report a difference, and some stacks must be checked
  --allow-truncated   stacks cut short are fine (no check of the count)
  --expect-path A,B   a leak's stack holds functions A then B (leaf first)
  --same-stdout       stdout must be the plain run's
  --repeat N          run N times (each under --timeout seconds)
  --scenario bash_exec3
                      issue 10, item 1: a bash script whose fd 3 is a file
                      and whose deep recursion allocates must write into it
Exit status must be the plain run's. Exits 77 when PROGRAM is missing.

Usage: check_unwind.py --leakscope EXE --shim SO [options] -- PROGRAM [ARGS...]
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

from lkstest import SKIP, CheckError, absolute_argv, argument_parser, expect, load_json, \
    run_command

BASH_EXEC3 = ("exec 3>a.txt\n"
              "f() { [ $1 -le 0 ] && return; f $(( $1 - 1 )); }\n"
              "f 300\n"
              "echo data >&3\n")


def parse_args(argv):
    parser = argument_parser(__doc__)
    parser.add_argument("--differential", action="store_true")
    parser.add_argument("--allow-truncated", action="store_true")
    parser.add_argument("--expect-path", action="append", default=[])
    parser.add_argument("--same-stdout", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--scenario", choices=["bash_exec3"])
    parser.add_argument("command", nargs="+")
    return parser.parse_args(argv)


def run(command, cwd, env, timeout):
    # a session of its own: a hung program is ended with its whole tree
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise CheckError(f"{' '.join(command)}: still running after {timeout} s "
                             "(a hang)") from error
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def prepare(args, cwd):
    if args.scenario == "bash_exec3":
        with open(os.path.join(cwd, "t.sh"), "w", encoding="utf-8") as script:
            script.write(BASH_EXEC3)


def check_scenario(args, cwd):
    if args.scenario == "bash_exec3":
        with open(os.path.join(cwd, "a.txt"), encoding="utf-8") as result:
            text = result.read()
        expect(text == "data\n", f"a.txt holds {text!r}, not 'data\\n': the program's "
               "fd 3 was not its own")


def stack_functions(leak):
    return [frame.get("function") or "" for frame in leak.get("stack", [])]


def has_path(report, path):
    for process in report["processes"]:
        for leak in process["leaks"]:
            names, at = stack_functions(leak), 0
            for name in names:
                if at < len(path) and name == path[at]:
                    at += 1
            if at == len(path):
                return True
    return False


def check_report(args, report):
    checked = 0
    for process in report["processes"]:
        summary, where = process["summary"], f"{process['exe']} (pid {process['pid']})"
        checked += summary["unwind_checked"]
        expect(not summary["unwind_differences"], f"{where}: {summary['unwind_differences']} "
               f"of {summary['unwind_checked']} stacks differ from libunwind")
        expect(not summary["unwind_truncated"] or args.allow_truncated,
               f"{where}: {summary['unwind_truncated']} stacks cut short")
        expect(not summary["missed_stacks"], f"{where}: {summary['missed_stacks']} stacks missed")
    expect(checked or not args.differential,
           "unwind_check=1 checked no stack: did the option reach the shim?")
    for path in args.expect_path:
        expect(has_path(report, path.split(",")), f"no leak's stack goes through {path}")


def check_once(args, tmp, plain_status):
    plain_dir = os.path.join(tmp, "plain")
    shim_dir = os.path.join(tmp, "shim")
    for directory in (plain_dir, shim_dir):
        os.makedirs(directory, exist_ok=True)
        prepare(args, directory)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LEAKSCOPE_OPTIONS", None)
    if not plain_status:  # once: the program alone does not hang
        plain_status.append(run(args.command, plain_dir, env, args.timeout))
        check_scenario(args, plain_dir)
    plain = plain_status[0]
    if args.differential:
        env["LEAKSCOPE_OPTIONS"] = "unwind_check=1:verbose=1"
    json_path = os.path.join(tmp, "report.json")
    traced = run(run_command(args, args.command, json_path=json_path), shim_dir, env,
                 args.timeout)
    sys.stderr.write(traced.stderr.decode(errors="replace")[-4000:])
    expect(traced.returncode == plain.returncode,
           f"exit status {traced.returncode} under leakscope, {plain.returncode} without")
    expect(not args.same_stdout or traced.stdout == plain.stdout,
           f"stdout differs: {traced.stdout[-200:]!r} against {plain.stdout[-200:]!r}")
    check_scenario(args, shim_dir)
    check_report(args, load_json(json_path))


def main(argv):
    args = parse_args(argv)
    # the program runs in a scratch directory: paths given relative to here
    args.command = absolute_argv(args.command)
    if shutil.which(args.command[0]) is None:
        print(f"{args.command[0]}: not installed, skipped")
        return SKIP
    plain = []
    try:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="lks-unwind-") as tmp:
                check_once(args, tmp, plain)
    except CheckError as error:
        print(f"FAIL: {error}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
