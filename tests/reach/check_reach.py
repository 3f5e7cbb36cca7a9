#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one reachability fixture under `leakscope run --retainers
--show-reachable --json` and checks each site's leak class, the heuristic
that named a reachable one, the indirect totals of definite sites,
retainer chains and, for runtime fixtures, that nothing is reported lost.
Annotations are described in reach_fixture.h.

Usage: check_reach.py --leakscope EXE --shim SO --source FILE [--no-scan] -- PROGRAM
  --no-scan: run with LEAKSCOPE_OPTIONS=reach=0 and check that nothing was
  classified (every site "unfreed", no retainer chain) instead.
"""

import json
import os
import subprocess
import sys
import tempfile

import lkstest
from lkstest import CheckError, base_function, describe, matching_frame

LOST = ("definite", "indirect", "possible")


def parse_class(path, lineno, text):
    """expect-class: an expect-leak with a class and, for a definite site,
    the totals of what it holds."""
    where = f"{path}:{lineno}"
    fields, _ = lkstest.annotation_fields(text, where)
    expect = lkstest.ExpectLeak(file=path, line=lineno, fn=fields.pop("fn"),
                                blocks=int(fields.pop("blocks")),
                                bytes=int(fields.pop("bytes")))
    expect.klass = fields.pop("class")
    expect.heuristic = fields.pop("via", None)
    expect.indirect = {key: int(fields.pop(key)) for key in
                       ("indirect_blocks", "indirect_bytes") if key in fields}
    if fields or expect.klass not in LOST + ("reachable",):
        raise CheckError(f"{where}: bad expect-class {fields}")
    return expect


def parse_inside(path, lineno, text):
    """expect-inside: the class of every site of blocks a runtime function
    allocated on a call from this line."""
    where = f"{path}:{lineno}"
    fields, _ = lkstest.annotation_fields(text, where)
    expect = lkstest.ExpectLeak(file=path, line=lineno, fn=fields.pop("fn"), blocks=0, bytes=0)
    expect.inside = fields.pop("inside")
    expect.klass = fields.pop("class")
    if fields or expect.klass not in LOST + ("reachable",):
        raise CheckError(f"{where}: bad expect-inside {fields}")
    return expect


def read_expectations(path):
    classes = [parse_class(path, lineno, text)
               for lineno, text in lkstest.annotations(path, "expect-class")]
    classes += [parse_inside(path, lineno, text)
                for lineno, text in lkstest.annotations(path, "expect-inside")]
    retainers = [tuple(lkstest.annotation_fields(text, f"{path}:{lineno}")[0].get(key)
                       for key in ("root", "site"))
                 for lineno, text in lkstest.annotations(path, "expect-retainer")]
    runtime = lkstest.has_flag(path, "expect-runtime-clean")
    if not classes and not runtime:
        raise CheckError("fixture has no expect-class or expect-runtime-clean")
    return classes, retainers, runtime, lkstest.annotation_number(path, "expect-scanned-at-most")


def entries(report, expect):
    return [leak for proc, leak in report.leaks()
            if proc["_role"] == "started" and leak.get("class") == expect.klass
            and matching_frame(report, leak, expect) >= 0]


def check_inside(report, expect, errors):
    """Suppressed sites too: the runtime's blocks are suppressed by default,
    whatever their class."""
    found = [(proc, leak) for proc in report.processes if proc["_role"] == "started"
             for leak in proc.get("leaks") or []
             if matching_frame(report, leak, expect) >= 0
             and any(base_function(frame.get("function")) == expect.inside
                     for frame in leak.get("stack") or [])]
    where = f"{expect.where()} [inside {expect.inside}]"
    if not found:
        errors.append(f"{where}: no block allocated there")
    for proc, leak in found:
        if leak.get("class") != expect.klass:
            errors.append(f"{where}: expected {expect.klass}, got\n" + describe(proc, leak))


def check_class(report, expect, output, errors):
    if hasattr(expect, "inside"):
        check_inside(report, expect, errors)
        return
    found = entries(report, expect)
    where = f"{expect.where()} [{expect.klass}]"
    if len(found) != 1:
        errors.append(f"{where}: expected one entry, found {len(found)}; the report has:\n"
                      + "\n".join(describe(proc, leak) for proc, leak in report.leaks()
                                  if any(report.in_sources(f) for f in leak.get("stack") or [])))
        return
    leak = found[0]
    got = (leak.get("blocks"), leak.get("bytes"))
    if got != (expect.blocks, expect.bytes):
        errors.append(f"{where}: expected {expect.blocks} blocks / {expect.bytes} bytes, got {got}")
    for key, value in expect.indirect.items():
        if leak.get(key) != value:
            errors.append(f"{where}: expected {key}={value}, got {leak.get(key)}")
    if leak.get("heuristic") != expect.heuristic:
        errors.append(f"{where}: expected reachable via {expect.heuristic}, "
                      f"got via {leak.get('heuristic')}")
    if expect.heuristic and f"({expect.klass} via {expect.heuristic})" not in output:
        errors.append(f"{where}: the text report does not say "
                      f"'({expect.klass} via {expect.heuristic})'")


def check_unexpected(report, classes, errors):
    for proc, leak in report.leaks():
        if leak.get("class") not in LOST:
            continue
        if not any(report.in_sources(frame) for frame in leak.get("stack") or []):
            continue
        if not any(exp.klass == leak.get("class") and not hasattr(exp, "inside")
                   and matching_frame(report, leak, exp) >= 0 for exp in classes):
            errors.append("unexpected lost memory touching the fixture:\n"
                          + describe(proc, leak))


def check_runtime_clean(report, errors):
    for proc, leak in report.leaks():
        if leak.get("class") in LOST:
            errors.append("the runtime's own memory reported as lost:\n"
                          + describe(proc, leak))


CALLED_FROM = "called-from:"


def root_matches(step, root):
    """root=NAME: a global of that name; root=called-from:FUNCTION: a stack
    word in a frame that FUNCTION called."""
    if root.startswith(CALLED_FROM):
        return (step.get("kind") == "stack"
                and base_function(step.get("function")) == root[len(CALLED_FROM):])
    return step.get("kind") == "global" and step.get("symbol") == root


def check_retainer(data, output, root, site, errors):
    chains = data["processes"][0].get("retainers") or []
    text = (f"a frame called from {root[len(CALLED_FROM):]}" if root.startswith(CALLED_FROM)
            else f"global {root} in ")
    for chain in chains:
        steps = chain.get("steps") or []
        last_stack = steps[-1].get("stack") or [] if steps else []
        if (steps and root_matches(steps[0], root) and last_stack
                and base_function(last_stack[0].get("function")) == site):
            if text not in output:
                errors.append(f"the text report does not say '{text}'")
            return
    errors.append(f"no retainer chain from {root} to a block of {site}: "
                  + json.dumps(chains, indent=1)[:3000])


def run(args, workdir):
    json_path = os.path.join(workdir, "report.json")
    env = dict(os.environ, LEAKSCOPE_OPTIONS="reach=0") if args.no_scan else None
    status, output = lkstest.run_logged(
        lkstest.run_command(args, args.program, json_path=json_path, options=["--retainers", "--show-reachable"]),
        cwd=workdir, env=env, timeout=240)
    if status != 0:
        raise CheckError(f"leakscope run exited {status}")
    return lkstest.load_json(json_path), output


def check_not_scanned(data):
    proc = data["processes"][0]
    errors = [] if not proc.get("classified") else ["classified although reach=0"]
    classes = {leak.get("class") for leak in proc.get("leaks") or []}
    if classes != {"unfreed"}:
        errors.append(f"expected only unfreed sites, got classes {sorted(classes)}")
    if proc.get("retainers"):
        errors.append("retainer chains without a scan")
    return errors


def check(args, workdir):
    source = os.path.abspath(args.source)
    classes, retainers, runtime, scanned_at_most = read_expectations(source)
    data, output = run(args, workdir)
    if args.no_scan:
        return check_not_scanned(data)
    report = lkstest.Report(data, [source], [args.program[0]])
    errors = []
    if not data["processes"][0].get("classified"):
        errors.append("the exit snapshot was not classified by a reachability scan")
    for expect in classes:
        check_class(report, expect, output, errors)
    check_unexpected(report, classes, errors)
    if runtime:
        check_runtime_clean(report, errors)
    for root, site in retainers:
        check_retainer(data, output, root, site, errors)
    if data["processes"][0]["summary"].get("missed_threads"):
        errors.append("a thread was not stopped for the scan")
    scanned = data["processes"][0]["summary"].get("scanned_bytes", 0)
    if scanned_at_most is not None and scanned > scanned_at_most:
        errors.append(f"the scan read {scanned} bytes, more than {scanned_at_most}")
    return errors


def ptrace_allowed():
    """What the shim checks (shim/tracer.c), and Yama: scope 3 forbids
    every attach, scope 2 all but root's (scope 1 the shim handles)."""
    with open("/proc/self/status", encoding="utf-8") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    if fields.get("Seccomp", "0").strip() != "0":
        return False
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope", encoding="utf-8") as scope:
            level = scope.read().strip()
    except FileNotFoundError:
        return True
    return level in ("0", "1") or (level == "2" and os.geteuid() == 0)


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--no-scan", action="store_true")
    parser.add_argument("--needs-ptrace", action="store_true",
                        help="skip (exit 77) where the shim may not use ptrace")
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    if args.needs_ptrace and not ptrace_allowed():
        print("skip: a seccomp filter or Yama forbids the shim's ptrace here")
        return lkstest.SKIP
    args.program = [os.path.abspath(args.program[0]), *args.program[1:]]
    with tempfile.TemporaryDirectory(prefix="lks-reach-") as workdir:
        try:
            errors = check(args, workdir)
        except (CheckError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as err:
            errors = [str(err)]
    return lkstest.finish(errors, "ok")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
