#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The handles bash and make keep open by design do not fail the gate: a
parallel recursive make whose recipes run a bash script passes the default
gate, each such handle listed as suppressed by its built-in rule (bash's
script on fd 255, make's jobserver pipe and its jobs' stdin pipe) and
counted in suppressed_handles. With --no-builtin-handle-suppressions the
same handles are open again and the gate fails.

Usage: runtime_handles.py --leakscope EXE --shim SO
"""

import os
import shutil
import sys
import tempfile

import lkstest

SCRIPT = "echo from-script\ntrue\n"
TOP_MAKEFILE = (".PHONY: all recurse script\nall: recurse script\n"
                "recurse:\n\t@$(MAKE) -s -C sub\nscript:\n\t@bash ../script.sh\n")
SUB_MAKEFILE = "all:\n\t@true\n"
GATE_FAILED = 23


def make_project(workdir):
    project = os.path.join(workdir, "project")
    os.makedirs(os.path.join(project, "sub"))
    files = {os.path.join(workdir, "script.sh"): SCRIPT,
             os.path.join(project, "Makefile"): TOP_MAKEFILE,
             os.path.join(project, "sub", "Makefile"): SUB_MAKEFILE}
    for path, text in files.items():
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return project


def groups(proc):
    """(list name, group) of every handle list of proc."""
    return [(key, group) for key in ("handles", "leaked_into_child", "inherited")
            for group in proc.get(key) or []]


def check_run(args, project, json_path, options, expect_status, errors):
    command = lkstest.run_command(args, ["make", "-s", "-j4"], json_path=json_path,
                                  options=["--error-exitcode", str(GATE_FAILED), *options])
    status, _ = lkstest.run_logged(command, cwd=project)
    if status != expect_status:
        errors.append(f"{' '.join(options) or 'default'}: leakscope run exited {status}, "
                      f"expected {expect_status}")
    return lkstest.load_json(json_path)["processes"]


def found_rules(processes):
    """rule -> handles it suppressed, and the (exe, fd, rule) of each."""
    rules, seen = {}, []
    for proc in processes:
        exe = os.path.basename(proc["exe"])
        for _, group in groups(proc):
            rule = group.get("suppressed")
            if rule:
                rules[rule] = rules.get(rule, 0) + group["count"]
            seen += [(exe, item["fd"], rule) for item in group["items"]]
    return rules, seen


def check_suppressed(processes, errors):
    rules, seen = found_rules(processes)
    if ("bash", 255, "builtin:bash-script-fd") not in seen:
        errors.append(f"bash's fd 255 not suppressed by builtin:bash-script-fd: {seen}")
    if not rules.get("builtin:make-jobserver"):
        errors.append(f"make's jobserver pipe not suppressed: {seen}")
    for exe, fd, rule in seen:
        if exe in ("bash", "make") and not (rule or "").startswith("builtin:"):
            errors.append(f"{exe} fd {fd} listed, not suppressed by a built-in rule")
    counted = sum(p["summary"].get("suppressed_handles", 0) for p in processes)
    if counted != sum(rules.values()):
        errors.append(f"suppressed_handles adds up to {counted}, the groups to {rules}")
    print(f"suppressed: {rules}", flush=True)


def check_unsuppressed(processes, errors):
    _, seen = found_rules(processes)
    if any(rule for _, _, rule in seen):
        errors.append(f"--no-builtin-handle-suppressions: still suppressed: {seen}")
    if ("bash", 255, None) not in seen:
        errors.append(f"--no-builtin-handle-suppressions: bash's fd 255 not listed: {seen}")


def main(argv):
    args = lkstest.argument_parser(__doc__).parse_args(argv)
    if not shutil.which("make") or not shutil.which("bash"):
        print("SKIP: make or bash not installed (tools/setup.sh installs them)")
        return lkstest.SKIP
    workdir = tempfile.mkdtemp(prefix="lks-runtime-handles-")
    project = make_project(workdir)
    errors = []
    processes = check_run(args, project, os.path.join(workdir, "default.json"), [], 0,
                          errors)
    check_suppressed(processes, errors)
    processes = check_run(args, project, os.path.join(workdir, "off.json"),
                          ["--no-builtin-handle-suppressions"], GATE_FAILED, errors)
    check_unsuppressed(processes, errors)
    return lkstest.finish(errors, "ok: bash's and make's by-design handles suppressed",
                          kept=workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
