#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shim's options table (shim/options.inc) is the one definition:
help=1 prints every option with its value, type, range, default and
description; README.md's and docs/CLI.md's tables list the same options
with the same defaults (CLI.md: types and ranges too); verbose=1 says what
the shim decides and why (options, start, malloc, fork child, each snapshot
and what was not recorded, a skipped scan, enabled=0) and nothing without
it; a number out of range warns and keeps the default.

Usage: check_options.py --shim SO --source-root DIR -- PROGRAM
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

OPTION = re.compile(r'^LKS_OPTION\((\w+), (bool|int|const char \*), ("[^"]*"|\w+), '
                    r'(-?\d+), (-?\d+), "(.*)"\)$')
TYPE_NAMES = {"bool": "bool", "int": "int", "const char *": "string"}


def read_table(root):
    """[(name, type, default, min, max, description)] in options.inc's order."""
    options = []
    with open(os.path.join(root, "shim", "options.inc"), encoding="utf-8") as table:
        for line in table:
            match = OPTION.match(line.strip())
            if match:
                name, ctype, default, low, high, desc = match.groups()
                default = {"true": "1", "false": "0"}.get(default, default.strip('"'))
                options.append((name, TYPE_NAMES[ctype], default, int(low), int(high), desc))
    if not options:
        raise SystemExit("no LKS_OPTION in shim/options.inc")
    return options


def doc_rows(path, heading):
    """The rows of the first table after `heading`, as lists of cells."""
    with open(path, encoding="utf-8") as doc:
        text = doc.read()
    rows = []
    for line in text[text.index(heading):].splitlines()[1:]:
        if line.startswith("|"):
            cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
            if not set(cells[0]) <= set("-") and cells[0] != "key":
                rows.append(cells)
        elif rows:
            break
    return rows


def check_docs(root, options, errors):
    want = [(name, default) for name, _, default, _, _, _ in options]
    readme = doc_rows(os.path.join(root, "README.md"), "Options for plain `LD_PRELOAD`")
    if [(row[0], row[1]) for row in readme] != want:
        errors.append(f"README.md's options table {[(r[0], r[1]) for r in readme]}, "
                      f"options.inc {want}")
    cli = doc_rows(os.path.join(root, "docs", "CLI.md"), "## LEAKSCOPE_OPTIONS")
    want_cli = [(name, ctype, default, f"{low}..{high}" if ctype == "int" else "")
                for name, ctype, default, low, high, _ in options]
    if [tuple(row[:4]) for row in cli] != want_cli:
        errors.append(f"docs/CLI.md's options table {[tuple(r[:4]) for r in cli]}, "
                      f"options.inc {want_cli}")


def run(args, options, *program_args):
    with tempfile.TemporaryDirectory(prefix="lks-options-") as out:
        env = dict(os.environ, LD_PRELOAD=args.shim,
                   LEAKSCOPE_OPTIONS=f"output_dir={out}:summary=0:{options}")
        result = subprocess.run([*args.program, *program_args], env=env, capture_output=True,
                                text=True, timeout=60, check=False)
        files = sorted(os.listdir(out))
    lines = [line[len("leakscope: "):] for line in result.stderr.splitlines()
             if line.startswith("leakscope: ")]
    return result, lines, files


def check_help(args, options, errors):
    result, lines, _ = run(args, "help=1:depth=16")
    for name, ctype, default, low, high, desc in options:
        value = {"depth": "16", "help": "1", "summary": "0"}.get(name, default)
        kind = f"{ctype} {low}..{high}" if ctype == "int" else ctype
        if name == "output_dir":
            value = r"\S+"
        line = re.compile(rf"^  {name}={value} \({re.escape(kind)}, default "
                          rf"{re.escape(default)}\): {re.escape(desc)}$")
        if not any(line.match(text) for text in lines):
            errors.append(f"help=1 does not show {name} as options.inc has it: {lines}")


def want_lines(lines, patterns, what, errors):
    for pattern in patterns:
        if not any(re.search(pattern, line) for line in lines):
            errors.append(f"{what}: no line matching {pattern!r} in {lines}")


def check_verbose(args, errors):
    result, lines, files = run(args, "verbose=1:depth=16", "fork")
    want_lines(lines, [r"^options: output_dir=\S+ depth=16 summary=0 verbose=1$",
                       rf"^recording in pid \d+$",
                       r"^malloc: the program's calls come through the shim$",
                       r"^fork child: recording its own, in pid \d+$",
                       r"^counts: \d+ allocations, \d+ frees; NOT recorded: 0 allocations"],
               "verbose=1", errors)
    written = [line for line in lines if line.startswith("snapshot 'exit' written: ")]
    if len(written) != 2 or len(files) != 2:
        errors.append(f"verbose=1: want the exit snapshot of parent and child said and "
                      f"written, said {written}, files {files}")
    result, lines, _ = run(args, "verbose=1:reach=0")
    want_lines(lines, [r"^no reachability scan, leaks are not classified: reach=0$"],
               "verbose=1:reach=0", errors)
    result, lines, files = run(args, "verbose=1:enabled=0")
    want_lines(lines, [r"^not recording: enabled=0"], "verbose=1:enabled=0", errors)
    if files:
        errors.append(f"enabled=0: snapshots written: {files}")
    result, lines, _ = run(args, "depth=16", "fork")
    if lines or result.returncode != 0 or result.stdout != "kept a block\n":
        errors.append(f"without verbose: status {result.returncode}, stdout "
                      f"{result.stdout!r}, shim lines {lines}")


def check_range(args, errors):
    _, lines, _ = run(args, "verbose=1:depth=300")
    want_lines(lines, [r"^not in 1\.\.256 in LEAKSCOPE_OPTIONS: 'depth' \(ignored\)$"],
               "depth=300", errors)
    if any("depth=" in line for line in lines if line.startswith("options:")):
        errors.append(f"depth=300: taken anyway: {lines}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shim", required=True)
    parser.add_argument("--source-root", required=True)
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    options = read_table(args.source_root)
    errors = []
    check_docs(args.source_root, options, errors)
    check_help(args, options, errors)
    check_verbose(args, errors)
    check_range(args, errors)
    if errors:
        print("FAIL:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    print(f"ok: {len(options)} options, one table; verbose=1 says what the shim decides")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
