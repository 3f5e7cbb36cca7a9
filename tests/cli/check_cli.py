#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bad input to the leakscope command: each case must end with exactly one
line on stderr, saying what is wrong, and the documented exit code
(docs/CLI.md): 127 program not found, 126 program not executable, 125 for
`run` when leakscope itself fails or is misused, 2 for a usage error of the
other commands, 1 when `report` cannot read or write a file. TAP output.

Usage: check_cli.py --leakscope EXE --leaker PROGRAM
  PROGRAM leaks and prints nothing; a real snapshot is made by running it.
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile

import lkstest

HANG = 120  # seconds a case may take: a bound against a hang, not an expectation

NOT_FOUND, CANNOT_EXECUTE, RUN_FAILED, USAGE, FAILED = 127, 126, 125, 2, 1


class Case:
    def __init__(self, name, argv, exit_code, says, as_nobody=False):
        self.name, self.argv, self.exit_code, self.says = name, argv, exit_code, says
        self.as_nobody = as_nobody


def write(path, data, mode=0o644):
    with open(path, "wb") as out:
        out.write(data)
    os.chmod(path, mode)
    return path


def patched(data, offset, fmt, value):
    data = bytearray(data)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def make_snapshot(leakscope, leaker, work):
    """A real snapshot of `leaker`, as `leakscope run --snapshot-dir` keeps it."""
    snapshots = os.path.join(work, "snapshots")
    subprocess.run([leakscope, "run", "--snapshot-dir", snapshots, "-o", os.devnull,
                    "--", leaker], check=True, stderr=subprocess.DEVNULL)
    names = [name for name in os.listdir(snapshots) if name.endswith(".lks")]
    if len(names) != 1:
        raise SystemExit(f"want one snapshot of {leaker}, got {names}")
    with open(os.path.join(snapshots, names[0]), "rb") as snap:
        return snap.read()


def bad_files(leakscope, good, work):
    """name -> path of the files the report cases read."""
    third_entry = lkstest.section_entry_at(2) + lkstest.SECTION_OFFSET_AT
    with open(leakscope, "rb") as elf:
        elf_bytes = elf.read(4096)
    files = {
        "good": write(f"{work}/good.lks", good),
        "truncated": write(f"{work}/truncated.lks", good[:len(good) // 2]),
        "corrupt": write(f"{work}/corrupt.lks", lkstest.seal(
                         patched(good, third_entry, "<Q", 0xFFFFFFFFFFFFFFF8))),
        "damaged": write(f"{work}/damaged.lks",
                         patched(good, third_entry, "<Q", 0xFFFFFFFFFFFFFFF8)),
        "future": write(f"{work}/future.lks", patched(good, lkstest.HEADER_VERSION_AT, "<I", 99)),
        "elf": write(f"{work}/program.lks", elf_bytes),
        "text": write(f"{work}/notes.lks", b"leak report, to do\n"),
        "empty": write(f"{work}/empty.lks", b""),
        "unreadable": write(f"{work}/unreadable.lks", good, mode=0o000),
        "not_exec": write(f"{work}/script", b"#!/bin/sh\nexit 0\n", mode=0o644),
        "fifo": f"{work}/fifo.lks",
    }
    os.mkfifo(files["fifo"])
    os.mkdir(f"{work}/no-snapshots")
    os.mkdir(f"{work}/mixed")
    shutil.copy(files["good"], f"{work}/mixed/a.lks")
    shutil.copy(files["truncated"], f"{work}/mixed/b.lks")
    return files


def cases(leaker, work, f):
    return [
        Case("run: missing program", ["run", "--", f"{work}/no-such-program"],
             NOT_FOUND, "no-such-program: No such file or directory"),
        Case("run: program not on PATH", ["run", "--", "leakscope-no-such-command"],
             NOT_FOUND, "leakscope-no-such-command"),
        Case("run: program not executable", ["run", "--", f["not_exec"]],
             CANNOT_EXECUTE, "Permission denied"),
        Case("run: wrong option", ["run", "--no-such-option", "--", leaker],
             RUN_FAILED, "unknown option '--no-such-option'"),
        Case("run: option without its value", ["run", "--depth"],
             RUN_FAILED, "--depth needs a value"),
        Case("run: bad option value", ["run", "--depth", "0", "--", leaker],
             RUN_FAILED, "--depth"),
        Case("run: no program", ["run"], RUN_FAILED, "no command to run"),
        Case("run: --output to a directory", ["run", "-o", work, "--", leaker],
             RUN_FAILED, "Is a directory"),
        Case("run: --json into a missing directory",
             ["run", "-o", os.devnull, "--json", f"{work}/missing/report.json", "--", leaker],
             RUN_FAILED, "No such file or directory"),
        Case("run: missing shim", ["run", "--shim", f"{work}/libnothing.so", "--", leaker],
             RUN_FAILED, "libnothing.so"),
        Case("run: shim that is not a library", ["run", "--shim", "/etc/passwd", "--", leaker],
             RUN_FAILED, "not a shared library"),
        Case("report: wrong option", ["report", "--no-such-option", f["good"]],
             USAGE, "unknown option '--no-such-option'"),
        Case("report: run-only option", ["report", "--depth", "8", f["good"]],
             USAGE, "--depth"),
        Case("report: no operand", ["report"], USAGE, "no snapshot file or directory"),
        Case("report: unknown format", ["report", "-f", "xml", f["good"]],
             USAGE, "unknown format 'xml'"),
        Case("unknown command", ["frobnicate"], USAGE, "unknown command 'frobnicate'"),
        Case("report: truncated snapshot", ["report", f["truncated"]],
             FAILED, "truncated"),
        Case("report: corrupt section table", ["report", f["corrupt"]],
             FAILED, "corrupt.lks: section 2"),
        Case("report: damaged after it was written", ["report", f["damaged"]],
             FAILED, "damaged.lks: damaged: checksum"),
        Case("report: future format version", ["report", f["future"]],
             FAILED, "unsupported format version 99"),
        Case("report: an ELF file", ["report", f["elf"]],
             FAILED, "not a leakscope snapshot"),
        Case("report: a text file", ["report", f["text"]],
             FAILED, "not a leakscope snapshot"),
        Case("report: an empty file", ["report", f["empty"]], FAILED, "empty file"),
        Case("report: a FIFO (no writer: must not wait)", ["report", f["fifo"]],
             FAILED, "not a regular file"),
        Case("report: a FIFO as --baseline (must not wait)",
             ["report", "--baseline", f["fifo"], f["good"]], USAGE, "not a regular file"),
        Case("report: unreadable file", ["report", f["unreadable"]],
             FAILED, "Permission denied", as_nobody=True),
        Case("report: missing file", ["report", f"{work}/gone.lks"],
             FAILED, "gone.lks: No such file or directory"),
        Case("report: missing directory", ["report", f"{work}/gone/"],
             FAILED, "No such file or directory"),
        Case("report: directory without snapshots", ["report", f"{work}/no-snapshots"],
             FAILED, "no snapshot"),
        Case("report: a bad snapshot in a directory", ["report", f"{work}/mixed"],
             FAILED, "b.lks: truncated"),
        Case("report: --output to a directory", ["report", "-o", work, f["good"]],
             FAILED, "Is a directory"),
        Case("report: --output into a missing directory",
             ["report", "-o", f"{work}/gone/out.txt", f["good"]],
             FAILED, "No such file or directory"),
        Case("report: --json to a directory",
             ["report", "-o", os.devnull, "--json", work, f["good"]],
             FAILED, "Is a directory"),
    ]


def drop_to_nobody():
    """Root reads any file: the unreadable case runs as nobody when root
    (from a copy of the command in the work directory, which nobody can
    reach wherever the build directory is)."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)


def run_case(leakscope, case, number):
    try:
        result = subprocess.run([leakscope, *case.argv], capture_output=True, text=True,
                                timeout=HANG, stdin=subprocess.DEVNULL,
                                preexec_fn=drop_to_nobody if case.as_nobody else None)
    except subprocess.TimeoutExpired:
        print(f"not ok {number} - {case.name}: still running after {HANG} s")
        return False
    lines = result.stderr.splitlines()
    problems = []
    if result.returncode != case.exit_code:
        problems.append(f"exit {result.returncode}, want {case.exit_code}")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, want 1")
    elif not lines[0].startswith("leakscope: ") or case.says not in lines[0]:
        problems.append(f"stderr does not say '{case.says}'")
    if case.argv[0] == "report" and result.stdout:
        problems.append("a partial report on stdout")
    print(f"{'not ok' if problems else 'ok'} {number} - {case.name}: exit "
          f"{result.returncode}, {lines[0] if len(lines) == 1 else '...'}")
    for problem in problems:
        print(f"# {problem}")
    if problems:
        for line in result.stderr.splitlines()[:10]:
            print(f"#   stderr: {line}")
    return not problems


def main():
    parser = lkstest.argument_parser(shim=False)
    parser.add_argument("--leaker", required=True, type=os.path.abspath)
    args = parser.parse_args()
    leakscope, leaker = args.leakscope, args.leaker
    work = tempfile.mkdtemp(prefix="lks-cli-")
    try:
        os.chmod(work, 0o755)  # the unreadable case runs as nobody
        files = bad_files(leakscope, make_snapshot(leakscope, leaker, work), work)
        all_cases = cases(leaker, work, files)
        nobody_copy = shutil.copy(leakscope, f"{work}/leakscope")
        passed = sum(run_case(nobody_copy if case.as_nobody else leakscope, case, i + 1)
                     for i, case in enumerate(all_cases))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"1..{len(all_cases)}")
    return 0 if passed == len(all_cases) else 1


if __name__ == "__main__":
    sys.exit(main())
