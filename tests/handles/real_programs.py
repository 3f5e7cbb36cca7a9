#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real programs under the shim print exactly what they print without it,
and the files they open and close are not reported as open handles.

Usage: real_programs.py --leakscope EXE --shim SO
"""

import os
import shutil
import subprocess
import sys
import tempfile

import lkstest

PY_READER = """
import os, sys
total = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        with open(os.path.join(root, name), 'rb') as f:
            total += len(f.read())
print(total)
"""


def programs(workdir):
    """name -> (command, handle types the program may leave open)."""
    found = {}
    if shutil.which("python3"):
        found["python3"] = (["python3", "-c", PY_READER, workdir + "/tree"], {"mmap"})
    if shutil.which("git"):
        found["git"] = (["git", "-C", workdir + "/repo", "log", "--stat", "--format=%s"],
                        {"mmap"})
    return found


def make_inputs(workdir):
    tree = os.path.join(workdir, "tree")
    for i in range(20):
        os.makedirs(os.path.join(tree, str(i % 4)), exist_ok=True)
        with open(os.path.join(tree, str(i % 4), f"f{i}"), "w", encoding="utf-8") as f:
            f.write("x" * (i * 100))
    repo = os.path.join(workdir, "repo")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", repo], check=True, env=env)
        for i in range(3):
            with open(os.path.join(repo, f"file{i}"), "w", encoding="utf-8") as f:
                f.write(f"line {i}\n")
            subprocess.run(["git", "-C", repo, "add", "."], check=True, env=env)
            subprocess.run(["git", "-C", repo, "commit", "-q", "-m", f"commit {i}"],
                           check=True, env=env)


def check_program(args, workdir, name, command, allowed):
    errors = []
    plain = subprocess.run(command, capture_output=True, check=False, timeout=120)
    json_path = os.path.join(workdir, f"{name}.json")
    traced = subprocess.run(lkstest.run_command(args, command, json_path=json_path),
                            capture_output=True, check=False, timeout=240)
    if traced.stdout != plain.stdout:
        errors.append(f"{name}: output differs under the shim:\n"
                      f"  without: {plain.stdout[:200]!r}\n  with: {traced.stdout[:200]!r}")
    if traced.returncode != plain.returncode:
        errors.append(f"{name}: exit {traced.returncode} under leakscope, "
                      f"{plain.returncode} without")
    started = lkstest.load_json(json_path)["processes"][0]
    if started["summary"].get("missed_handles"):
        errors.append(f"{name}: missed_handles = {started['summary']['missed_handles']}")
    for group in started.get("handles") or []:
        if group["type"] not in allowed:
            errors.append(f"{name}: reported {group['count']} open {group['type']} "
                          f"({group['description']!r})")
    return errors


def main(argv):
    args = lkstest.argument_parser(__doc__).parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="lks-handles-real-")
    make_inputs(workdir)
    found = programs(workdir)
    if not found:
        print("SKIP: neither python3 nor git installed")
        return lkstest.SKIP
    errors = []
    for name, (command, allowed) in found.items():
        errors += check_program(args, workdir, name, command, allowed)
    return lkstest.finish(errors, f"ok: {', '.join(found)} unchanged under the shim",
                          kept=workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
