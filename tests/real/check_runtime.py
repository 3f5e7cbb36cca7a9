#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Builds a program of another language's runtime (tests/real/runtimes: Rust,
Fortran, Ada, COBOL, gccgo, Go with cgo, Java with JNI) and runs it with and
without `leakscope run`, three times: stdout, stderr (leakscope's own lines
left out) and the exit status must be the same. The report must hold the
leak annotated in the sources, at its line and with its bytes, and nothing
else touching them; run with the argument "clean", the program frees it and
the report must hold no leak and no open handle at all: the runtime's own
memory and handles are reachable or classified. Exits 77 (skipped) when the
compiler is not installed.

Annotations in the sources:
  expect-leak: fn=NAME blocks=N bytes=N   on the allocating line (as in the
                      memory suite), definitely lost (unfreed for Go)
  expect-generated-leak: fn=NAME blocks=N bytes=N   a leak in C code that the
                      compiler generates (COBOL): the site's function
  expect-fd: PATH     an fd left open on PATH, created on this line
  expect-exit: N      the program's exit status

Usage: check_runtime.py --leakscope EXE --shim SO --sources DIR CASE
"""

import dataclasses
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import lkstest
from lkstest import CheckError

RUNS = 3


@dataclasses.dataclass
class Case:
    tools: list          # commands that must be installed
    sources: list        # files in tests/real/runtimes
    build: object        # build(tmp, sources) -> argv of the program
    leak_class: str = "definite"
    # the JVM has leaks of its own: its clean run is judged on the sources alone
    whole_process_clean: bool = True
    # Go: no exit snapshot; a run with this argument takes no in-run one either
    no_snapshot_arg: str = None
    # Go: with this argument it ends through C's exit() instead
    c_exit_arg: str = None


def compile_in(tmp, *command, env=None):
    proc = subprocess.run(command, cwd=tmp, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=600, check=False)
    if proc.returncode != 0:
        raise CheckError(f"build failed: {' '.join(command)}\n"
                         f"{proc.stdout.decode(errors='replace')[-3000:]}")


def build_rust(tmp, sources):
    compile_in(tmp, "rustc", "-g", "-C", "opt-level=1", "-o", "prog", sources[0])
    return [os.path.join(tmp, "prog")]


def build_fortran(tmp, sources):
    compile_in(tmp, "gfortran", "-g", "-O1", "-o", "prog", sources[0])
    return [os.path.join(tmp, "prog")]


def build_ada(tmp, sources):
    compile_in(tmp, "gnatmake", "-q", "-g", "-O1", sources[0], "-o", "prog")
    return [os.path.join(tmp, "prog")]


def build_cobol(tmp, sources):
    compile_in(tmp, "cobc", "-x", "-g", "-o", "prog", sources[0])
    return [os.path.join(tmp, "prog")]


def build_gccgo(tmp, sources):
    compile_in(tmp, "gcc", "-g", "-O1", "-c", "-o", "half.o", sources[1])
    compile_in(tmp, "gccgo", "-g", "-O1", "-o", "prog", sources[0], "half.o")
    return [os.path.join(tmp, "prog")]


def build_go(tmp, sources):
    module = os.path.join(tmp, "module")
    os.mkdir(module)
    shutil.copy(sources[0], module)
    with open(os.path.join(module, "go.mod"), "w", encoding="utf-8") as mod:
        mod.write("module gocgo\n\ngo 1.19\n")
    env = dict(os.environ, HOME=tmp, GOPATH=os.path.join(tmp, "gopath"),
               GOCACHE=os.path.join(tmp, "gocache"), GOFLAGS="-mod=mod", GOPROXY="off",
               GOTOOLCHAIN="local", CGO_ENABLED="1")
    compile_in(module, "go", "build", "-o", os.path.join(tmp, "prog"), ".", env=env)
    return [os.path.join(tmp, "prog")]


def build_jni(tmp, sources):
    java_home = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("javac"))))
    includes = [os.path.join(java_home, "include"), os.path.join(java_home, "include", "linux")]
    if not os.path.exists(os.path.join(includes[0], "jni.h")):
        raise SkipCase(f"no jni.h under {java_home}")
    compile_in(tmp, "javac", "-d", tmp, sources[0])
    compile_in(tmp, "gcc", "-g", "-O1", "-shared", "-fPIC", *[f"-I{d}" for d in includes],
               "-o", "libjnileak.so", sources[1])
    return [shutil.which("java"), "-Xshare:off", f"-Djava.library.path={tmp}", "-cp", tmp,
            "JniLeak"]


class SkipCase(Exception):
    pass


CASES = {
    "rust": Case(["rustc"], ["rust_leak.rs"], build_rust),
    "fortran": Case(["gfortran"], ["fortran_leak.f90"], build_fortran),
    "ada": Case(["gnatmake"], ["ada_leak.adb"], build_ada),
    "cobol": Case(["cobc"], ["cobol_leak.cob"], build_cobol),
    "gccgo": Case(["gccgo", "gcc"], ["gccgo_leak.go", "gccgo_leak_c.c"], build_gccgo),
    "go_cgo": Case(["go", "gcc"], ["go_cgo.go"], build_go, leak_class="unfreed",
                   no_snapshot_arg="bare", c_exit_arg="cexit"),
    "jni": Case(["javac", "java", "gcc"], ["JniLeak.java", "jni_leak.c"], build_jni,
                whole_process_clean=False),
}


def environment(tmp):
    env = dict(os.environ, LC_ALL="C", HOME=tmp, RUST_BACKTRACE="0")
    env.pop("LEAKSCOPE_OPTIONS", None)
    return env


def run(command, env, tmp, timeout):
    proc = subprocess.run(command, cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          check=False)
    return proc.returncode, proc.stdout, proc.stderr


def program_stderr(err):
    """The program's own stderr: leakscope's lines left out, and the thread
    ids Rust prints in a panic's message ("thread 'main' (4242)")."""
    lines = [line for line in err.decode(errors="replace").splitlines()
             if not line.startswith("leakscope:")]
    return re.sub(r"\(\d+\)", "(N)", "\n".join(lines))


def run_both(args, argv, env, tmp):
    """The plain run and one under leakscope: the same outputs and status.
    Returns leakscope's stderr and the JSON report's path."""
    status, out, err = run(argv, env, tmp, args.timeout)
    json_path = os.path.join(tmp, "report.json")
    text_path = os.path.join(tmp, "report.txt")
    if os.path.exists(json_path):
        os.unlink(json_path)
    command = lkstest.run_command(args, argv, json_path=json_path, options=["-o", text_path])
    ls_status, ls_out, ls_err = run(command, env, tmp, args.timeout)
    if ls_status != status:
        raise CheckError(f"{' '.join(argv[-1:])}: exit status {ls_status} under leakscope, "
                         f"{status} without\n{ls_err.decode(errors='replace')[-2000:]}")
    if ls_out != out:
        raise CheckError(f"stdout differs:\n--- under leakscope:\n"
                         f"{ls_out[:1500].decode(errors='replace')}\n--- without:\n"
                         f"{out[:1500].decode(errors='replace')}")
    if program_stderr(ls_err) != program_stderr(err):
        raise CheckError(f"stderr differs:\n--- under leakscope:\n{program_stderr(ls_err)}"
                         f"\n--- without:\n{program_stderr(err)}")
    return status, ls_err.decode(errors="replace"), json_path


def generated_leaks(sources):
    found = []
    for path in sources:
        for lineno, text in lkstest.annotations(path, "expect-generated-leak"):
            fields, _ = lkstest.annotation_fields(text, f"{path}:{lineno}")
            found.append((fields["fn"], int(fields["blocks"]), int(fields["bytes"])))
    return found


def expected_fds(sources):
    return [(path, lineno, text.split()[0]) for path in sources
            for lineno, text in lkstest.annotations(path, "expect-fd")]


def counted_leaks(report):
    return [(proc, leak) for proc, leak in report.leaks() if proc["_role"] == "started"]


def check_leak_entry(leak, blocks, size, leak_class, where, errors):
    if (leak.get("blocks"), leak.get("bytes"), leak.get("class")) != (blocks, size, leak_class):
        errors.append(f"{where}: expected {blocks} blocks / {size} bytes {leak_class}, got "
                      f"{leak.get('blocks')} / {leak.get('bytes')} {leak.get('class')}\n"
                      + lkstest.format_stack(leak))


def check_leaks(case, report, expected, generated, errors):
    leaks = counted_leaks(report)
    matched = set()
    for exp in expected:
        found = [(i, leak) for i, (_, leak) in enumerate(leaks)
                 if lkstest.matching_frame(report, leak, exp) >= 0]
        if len(found) != 1:
            errors.append(f"{exp.where()}: expected one leak entry, found {len(found)}")
            continue
        matched.add(found[0][0])
        check_leak_entry(found[0][1], exp.blocks, exp.bytes, case.leak_class, exp.where(),
                         errors)
    for function, blocks, size in generated:
        found = [(i, leak) for i, (_, leak) in enumerate(leaks)
                 if (leak.get("stack") or [{}])[0].get("function") == function]
        if len(found) != 1:
            errors.append(f"generated code in {function}: expected one leak entry, "
                          f"found {len(found)}")
            continue
        matched.add(found[0][0])
        check_leak_entry(found[0][1], blocks, size, case.leak_class, function, errors)
    for i, (proc, leak) in enumerate(leaks):
        touches = any(report.in_sources(frame) for frame in leak.get("stack") or [])
        if i not in matched and touches and leak.get("class") != "reachable":
            errors.append("unexpected leak touching the sources:\n"
                          + lkstest.describe(proc, leak))


def check_fds(report, fds, errors):
    started = report.processes[0]
    for path, lineno, description in fds:
        found = [group for group in started.get("handles") or []
                 if group.get("description") == description and not group.get("suppressed")
                 and any(lkstest.at_line(frame, path, lineno)
                         for frame in group.get("stack") or [])]
        if len(found) != 1 or found[0].get("count") != 1:
            errors.append(f"{os.path.basename(path)}:{lineno}: expected one open fd on "
                          f"{description}, found {len(found)}")


def check_clean(case, report, errors):
    """Nothing but reachable memory and classified handles."""
    for proc, leak in counted_leaks(report):
        touches = any(report.in_sources(frame) for frame in leak.get("stack") or [])
        if leak.get("class") != "reachable" and (case.whole_process_clean or touches):
            errors.append("clean run: a leak is reported:\n" + lkstest.describe(proc, leak))
    for group in report.processes[0].get("handles") or []:
        if not group.get("suppressed") and case.whole_process_clean:
            errors.append(f"clean run: {group.get('count')} open {group.get('type')} handles "
                          f"reported ({group.get('description')})\n" + lkstest.format_stack(group))


def load_report(json_path, sources, argv):
    """The report; frames count as the sources' in the program and in the
    libraries built next to it (JNI's)."""
    if not os.path.exists(json_path):
        raise CheckError(f"no JSON report written to {json_path}")
    built = glob.glob(os.path.join(os.path.dirname(json_path), "*.so"))
    return lkstest.Report(lkstest.load_json(json_path), sources, [argv[0], *built])


def check_case(args, case, tmp):
    sources = [os.path.join(args.sources, name) for name in case.sources]
    argv = case.build(tmp, sources)
    leaks = [lkstest.parse_expect_leak(path, lineno, text) for path in sources
             for lineno, text in lkstest.annotations(path, "expect-leak")]
    generated, fds = generated_leaks(sources), expected_fds(sources)
    exit_status = annotated_exit(sources)
    # a COBOL program's frames are in the C that cobc generates next to it
    report_sources = sources + [os.path.join(tmp, os.path.basename(path)[:-4] + ".c")
                                for path in sources if path.endswith(".cob")]
    env = environment(tmp)
    errors = []
    for _ in range(RUNS):
        status, ls_err, json_path = run_both(args, argv, env, tmp)
        if status != exit_status:
            errors.append(f"the program exited {status}, expected {exit_status}")
        if case.no_snapshot_arg and "ended without an exit snapshot" not in ls_err:
            errors.append("leakscope did not say the report is of a snapshot taken while "
                          f"the program ran:\n{ls_err[-1500:]}")
        report = load_report(json_path, report_sources, argv)
        check_leaks(case, report, leaks, generated, errors)
        check_fds(report, fds, errors)
    _, _, json_path = run_both(args, argv + ["clean"], env, tmp)
    check_clean(case, load_report(json_path, report_sources, argv), errors)
    if case.no_snapshot_arg:
        _, ls_err, _ = run_both(args, argv + [case.no_snapshot_arg], env, tmp)
        if "left no snapshot: a Go program" not in ls_err:
            errors.append(f"without a snapshot, leakscope did not say why:\n{ls_err[-1500:]}")
    if case.c_exit_arg:
        check_c_exit(args, argv + [case.c_exit_arg], env, tmp, errors)
    return errors


def check_c_exit(args, argv, env, tmp, errors):
    """Go through C's exit(): an exit snapshot, every thread held."""
    for _ in range(RUNS):
        _, _, json_path = run_both(args, argv, env, tmp)
        started = lkstest.load_json(json_path)["processes"][0]
        missed = (started.get("summary") or {}).get("missed_threads")
        if started.get("reason") != "exit" or missed != 0:
            errors.append(f"exit through C: snapshot {started.get('reason')}, "
                          f"missed_threads {missed}; expected exit, 0")


def annotated_exit(sources):
    numbers = [lkstest.annotation_number(path, "expect-exit") for path in sources]
    return next((n for n in numbers if n is not None), 0)


def parse_args(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--sources", required=True, type=os.path.abspath,
                        help="tests/real/runtimes")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("case", choices=sorted(CASES))
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    case = CASES[args.case]
    missing = [tool for tool in case.tools if not shutil.which(tool)]
    if missing:
        print(f"skip: {', '.join(missing)} not installed (tools/setup.sh does not install it "
              "for every runtime)")
        return lkstest.SKIP
    tmp = tempfile.mkdtemp(prefix=f"lks-runtime-{args.case}-")
    try:
        errors = check_case(args, case, tmp)
    except SkipCase as skip:
        print(f"skip: {skip}")
        shutil.rmtree(tmp, ignore_errors=True)
        return lkstest.SKIP
    except (CheckError, subprocess.TimeoutExpired, OSError) as err:
        return lkstest.finish([str(err)], "", kept=tmp)
    return lkstest.finish(errors, f"ok: {args.case}: {RUNS} runs and a clean one, same "
                          "outputs and status, the leak at its line", kept=tmp)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
