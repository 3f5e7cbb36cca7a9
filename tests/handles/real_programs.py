#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real programs under the shim print exactly what they print without it,
and the files they open and close are not reported as open handles: not
even those closed behind the shim's back (libuv, in node and cmake, closes
with syscall(SYS_close)). A handle reported open must be open when the
snapshot is taken, so its description, read then, is never empty.

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


# fs.open and fs.close through libuv's thread pool, then the same in sync
NODE_READER = """
const fs = require('fs');
const path = process.argv[1];
fs.open(path, 'r', (err, fd) => {
  if (err) throw err;
  fs.close(fd, (err) => {
    if (err) throw err;
    const again = fs.openSync(path, 'r');
    fs.closeSync(again);
    console.log(fs.readFileSync(path, 'utf8').length);
  });
});
"""

CMAKE_PROJECT = """cmake_minimum_required(VERSION 3.10)
project(probe C)
add_executable(probe probe.c)
"""


def programs(workdir):
    """name -> (command, handle types the program may leave open)."""
    found = {}
    if shutil.which("python3"):
        found["python3"] = (["python3", "-c", PY_READER, workdir + "/tree"], {"mmap"})
    if shutil.which("git"):
        found["git"] = (["git", "-C", workdir + "/repo", "log", "--stat", "--format=%s"],
                        {"mmap"})
    if shutil.which("node"):
        found["node"] = (["node", "-e", NODE_READER, workdir + "/tree/1/f1"],
                         {"pipe", "eventfd", "epoll", "fd"})
    if shutil.which("cmake") and shutil.which("cc"):
        found["cmake"] = (["cmake", "-S", workdir + "/cmake", "-B", workdir + "/cmake/build"],
                          {"mmap"})
    return found


def make_inputs(workdir):
    tree = os.path.join(workdir, "tree")
    for i in range(20):
        os.makedirs(os.path.join(tree, str(i % 4)), exist_ok=True)
        with open(os.path.join(tree, str(i % 4), f"f{i}"), "w", encoding="utf-8") as f:
            f.write("x" * (i * 100))
    project = os.path.join(workdir, "cmake")
    os.makedirs(project)
    with open(os.path.join(project, "CMakeLists.txt"), "w", encoding="utf-8") as f:
        f.write(CMAKE_PROJECT)
    with open(os.path.join(project, "probe.c"), "w", encoding="utf-8") as f:
        f.write("int main(void) { return 0; }\n")
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


def closed_but_reported(proc):
    """Handles of proc reported open whose fd was closed at the snapshot:
    their description, read then, is empty."""
    return [f"pid {proc['pid']} ({os.path.basename(proc['exe'])}): {group['type']} "
            f"fd {item['fd']} reported open, closed at the snapshot"
            for group in proc.get("handles") or [] for item in group["items"]
            if item["fd"] >= 0 and not item["description"]]


def check_program(args, workdir, name, command, allowed):
    errors = []
    if name == "cmake":  # configures from scratch each time
        shutil.rmtree(command[-1], ignore_errors=True)
    plain = subprocess.run(command, capture_output=True, check=False, timeout=120)
    if name == "cmake":
        shutil.rmtree(command[-1], ignore_errors=True)
    json_path = os.path.join(workdir, f"{name}.json")
    traced = subprocess.run(lkstest.run_command(args, command, json_path=json_path),
                            capture_output=True, check=False, timeout=240)
    if traced.stdout != plain.stdout:
        errors.append(f"{name}: output differs under the shim:\n"
                      f"  without: {plain.stdout[:200]!r}\n  with: {traced.stdout[:200]!r}")
    if traced.returncode != plain.returncode:
        errors.append(f"{name}: exit {traced.returncode} under leakscope, "
                      f"{plain.returncode} without")
    processes = lkstest.load_json(json_path)["processes"]
    for proc in processes:
        errors += [f"{name}: {error}" for error in closed_but_reported(proc)]
    started = processes[0]
    print(f"{name}: {started['summary'].get('closed_unseen')} fds closed unseen, "
          f"{started['summary'].get('handles_open')} handles open", flush=True)
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
        print("SKIP: none of python3, git, node, cmake installed")
        return lkstest.SKIP
    errors = []
    for name, (command, allowed) in found.items():
        errors += check_program(args, workdir, name, command, allowed)
    return lkstest.finish(errors, f"ok: {', '.join(found)} unchanged under the shim",
                          kept=workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
