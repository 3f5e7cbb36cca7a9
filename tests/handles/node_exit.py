#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`node -e 1`, run RUNS times under leakscope, lists no open mapping in
any run. V8 places its embedded builtins inside its code range with
MAP_FIXED and unmaps the whole range at teardown; a leftover record of the
builtins was listed open, described by whatever the kernel had put at that
address by then (in 2 runs of 3). Skipped (77) without node.

Usage: node_exit.py --leakscope EXE --shim SO [--runs N]
"""

import os
import shutil
import sys
import tempfile

import lkstest


def open_mappings(proc):
    """The open mmap handles of proc, one line each."""
    return [f"{item.get('description')!r} at "
            f"{((group.get('stack') or [{}])[0]).get('function')}"
            for group in proc.get("handles") or [] if group.get("type") == "mmap"
            for item in group.get("items") or []]


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    node = shutil.which("node")
    if not node:
        print("SKIP: node is not installed")
        return lkstest.SKIP
    workdir = tempfile.mkdtemp(prefix="lks-node-exit-")
    errors = []
    for run in range(1, args.runs + 1):
        json_path = os.path.join(workdir, f"{run}.json")
        status, _ = lkstest.run_logged(
            lkstest.run_command(args, [node, "-e", "1"], json_path=json_path), tail=400)
        if status != 0:
            errors.append(f"run {run}: leakscope run exited {status}")
            continue
        started = lkstest.load_json(json_path)["processes"][0]
        errors += [f"run {run}: open mapping {line}" for line in open_mappings(started)]
    return lkstest.finish(errors, f"ok: {args.runs} runs of node -e 1, no open mapping",
                          kept=workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
