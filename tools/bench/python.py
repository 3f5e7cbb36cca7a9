#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cost of Python frames (docs/PERFORMANCE.md, "Python programs"): two
CPython workloads, a JSON round trip and a request loop, run plain, with
PYTHONMALLOC=malloc alone, with -X tracemalloc=25, and under the shim
without (python=0), with Python frames but no python-exit snapshot
(python_exit=0), and with everything Python (the default: frames, the
python-exit snapshot, its typing and retainer chains). Medians of N
interleaved runs of CPU time (user + system of the whole run) and wall
time; or, with --instructions, the instructions each run executes,
counted once by callgrind (exact, and repeatable for one build; between
two builds the shim's layout moves the share by about a point).

Usage: tools/bench/python.py [--runs N] [--build DIR] [--python EXE]...
                             [--instructions] [--scale F] [--skip LABEL]...
                             [--workload NAME]... [--pad BYTES]
Not a test: nothing here fails on a number.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

WORKLOADS = {
    "json": """
import json
rows = [{"id": i, "name": "item %d" % i, "tags": list(range(i % 7))}
        for i in range(ROWS)]
text = json.dumps(rows)
assert len(json.loads(text)) == len(rows)
""",
    "requests": """
import json
cache = {}

def parse(raw):
    return json.loads(raw)

def lookup(user):
    profile = cache.get(user)
    if profile is None:
        profile = {"user": user, "visits": [], "name": "user-%d" % user}
        cache[user] = profile
        if len(cache) > 1000:
            cache.pop(next(iter(cache)))
    return profile

def render(profile, path):
    profile["visits"] = (profile["visits"] + [path])[-5:]
    return "<p>%s visited %s (%d)</p>" % (profile["name"], path, len(profile["visits"]))

def handle(raw):
    request = parse(raw)
    return render(lookup(request["user"]), request["path"])

total = 0
for i in range(REQUESTS):
    total += len(handle('{"user": %d, "path": "/item/%d"}' % (i % 3000, i)))
""",
}


SIZES = {"ROWS": 100000, "REQUESTS": 60000}


def sized(source, scale):
    for name, count in SIZES.items():
        source = source.replace(name, str(max(1, int(count * scale))))
    return source


def configs(shim, work, extra=""):
    preload = {"LD_PRELOAD": shim, "PYTHONMALLOC": "malloc"}
    options = "output_dir=%s:summary=0%s" % (work, extra)
    # every shim run's options have the same length (see counted_env)
    return [
        ("plain", [], {}),
        ("PYTHONMALLOC=malloc", [], {"PYTHONMALLOC": "malloc"}),
        ("tracemalloc=25", ["-X", "tracemalloc=25"], {}),
        ("leakscope, python=0", [],
         dict(preload, LEAKSCOPE_OPTIONS=options + ":python=0:python_exit=1")),
        # the frames alone: no python-exit snapshot (its typing, its chains)
        ("leakscope, python_exit=0", [],
         dict(preload, LEAKSCOPE_OPTIONS=options + ":python=1:python_exit=0")),
        ("leakscope", [],
         dict(preload, LEAKSCOPE_OPTIONS=options + ":python=1:python_exit=1")),
    ]


def counted_env(pad):
    """The whole environment of a counted run: the same in every shell and
    worktree. It sits at the top of the main stack, so its length moves
    every frame, and with them the native stack cache's hits (the cache is
    two entries a thread, chosen by the stack pointer): json at full size
    ran 128,000 more walks, 500 M instructions, with 9 characters fewer.
    pad: that many bytes more, to see the figures at another alignment."""
    # the same dict layouts every run: the hash seed moves counts too
    env = {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"}
    if pad:
        env["PAD"] = "x" * pad
    return env


def run_once(python, args, env_extra, source, work, count=False, pad=0):
    """(CPU seconds, wall seconds), or with count (instructions, 0)."""
    env = counted_env(pad) if count else dict(os.environ)
    env.pop("PYTHONMALLOC", None)  # only the configurations choose it
    env.update(env_extra)
    command = [python] + args + ["-c", source]
    if count:
        # setarch -R: the same addresses every run, so hashes of them (the
        # stack cache's, the depot's) do not move the count between runs
        command = ["setarch", "-R", "valgrind", "--tool=callgrind",
                   "--callgrind-out-file=/dev/null"] + command
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE if count else None, text=True)
    errors = proc.stderr.read() if count else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if status != 0:
        raise SystemExit("%s %s failed: %d %s" % (python, args, status, errors[-2000:]))
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    if count:
        collected = re.search(r"Collected : (\d+)", errors)
        if not collected:
            raise SystemExit("no instruction count from callgrind: " + errors[-2000:])
        return int(collected.group(1)), 0.0
    return usage.ru_utime + usage.ru_stime, wall


def measure(python, shim, runs, scale, count, skip, workloads, pad):
    results = {}
    # under callgrind the exit scan reads past what valgrind maps for the
    # program and dies (SIGSEGV); it costs the same with or without frames
    extra = ":reach=0" if count else ""
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as lib:
        # a path of the same length from every build directory (see counted_env)
        shutil.copy(shim, os.path.join(lib, "libleakscope.so"))
        shim = os.path.join(lib, "libleakscope.so")
        for name in workloads:
            source = WORKLOADS[name]
            for _ in range(runs):
                for label, args, env in configs(shim, work, extra):
                    if label in skip:
                        continue
                    value = run_once(python, args, env, sized(source, scale), work, count,
                                     pad)
                    results.setdefault((name, label), []).append(value)
    return results


def table(python, results, count, workloads):
    labels = [c[0] for c in configs("", "")]
    unit = "%.0f M" if count else "%.2f s"
    scaled = 1e-6 if count else 1
    print("\n%s (%s)\n" % (python, "instructions, millions" if count else "CPU time"))
    print("| workload | " + " | ".join(labels) + " | frames' share |")
    print("|---|" + "---|" * (len(labels) + 1))
    for name in workloads:
        cpu = {label: statistics.median(r[0] for r in results[(name, label)])
               for label in labels if (name, label) in results}
        cells = [(unit + " (x%.2f)") % (cpu[label] * scaled, cpu[label] / cpu["plain"])
                 if label in cpu and "plain" in cpu and label != "plain" else
                 unit % (cpu[label] * scaled) if label in cpu else "-"
                 for label in labels]
        share = "-"
        if all(label in cpu for label in ("PYTHONMALLOC=malloc", "leakscope, python=0",
                                          "leakscope")):
            own = cpu["leakscope, python=0"] - cpu["PYTHONMALLOC=malloc"]
            frames = cpu["leakscope"] - cpu["leakscope, python=0"]
            if own > 0:
                share = "+%.1f%% of leakscope's own cost" % (100 * frames / own)
                if "leakscope, python_exit=0" in cpu:
                    alone = cpu["leakscope, python_exit=0"] - cpu["leakscope, python=0"]
                    share += " (+%.1f%% without python-exit)" % (100 * alone / own)
        print("| %s | %s | %s |" % (name, " | ".join(cells), share))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--python", action="append")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with callgrind (one run each)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="workload size as a fraction (callgrind: 0.1 takes minutes)")
    parser.add_argument("--skip", action="append", default=[],
                        help="a configuration left out, by its label (e.g. tracemalloc=25, "
                             "whose full size takes hours under callgrind)")
    parser.add_argument("--pad", type=int, default=0,
                        help="with --instructions: bytes added to the environment, to "
                             "count at another stack alignment")
    parser.add_argument("--workload", action="append", choices=sorted(WORKLOADS),
                        help="run only this workload (again for more; default: all)")
    args = parser.parse_args()
    shim = os.path.join(os.path.abspath(args.build), "shim", "libleakscope.so")
    runs = 1 if args.instructions else args.runs
    workloads = args.workload or list(WORKLOADS)
    for python in args.python or ["/usr/bin/python3.11"]:
        table(python, measure(python, shim, runs, args.scale, args.instructions, args.skip,
                              workloads, args.pad),
              args.instructions, workloads)


if __name__ == "__main__":
    sys.exit(main())
