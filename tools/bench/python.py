#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cost of Python frames (docs/PERFORMANCE.md, "Python programs"): two
CPython workloads, a JSON round trip and a request loop, run plain, with
PYTHONMALLOC=malloc alone, with -X tracemalloc=25, and under the shim
without (python=0) and with Python frames. Medians of N interleaved runs
of CPU time (user + system of the whole run) and wall time.

Usage: tools/bench/python.py [--runs N] [--build DIR] [--python EXE]...
Not a test: nothing here fails on a number.
"""

import argparse
import os
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
        for i in range(100000)]
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
for i in range(60000):
    total += len(handle('{"user": %d, "path": "/item/%d"}' % (i % 3000, i)))
""",
}


def configs(shim, work):
    preload = {"LD_PRELOAD": shim, "PYTHONMALLOC": "malloc"}
    options = "output_dir=%s:summary=0" % work
    return [
        ("plain", [], {}),
        ("PYTHONMALLOC=malloc", [], {"PYTHONMALLOC": "malloc"}),
        ("tracemalloc=25", ["-X", "tracemalloc=25"], {}),
        ("leakscope, python=0", [], dict(preload, LEAKSCOPE_OPTIONS=options + ":python=0")),
        ("leakscope", [], dict(preload, LEAKSCOPE_OPTIONS=options)),
    ]


def run_once(python, args, env_extra, source, work):
    env = dict(os.environ)
    env.pop("PYTHONMALLOC", None)  # only the configurations choose it
    env.update(env_extra)
    started = time.monotonic()
    proc = subprocess.Popen([python] + args + ["-c", source], env=env,
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if status != 0:
        raise SystemExit("%s %s failed: %d" % (python, args, status))
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    return usage.ru_utime + usage.ru_stime, wall


def measure(python, shim, runs):
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, source in WORKLOADS.items():
            for _ in range(runs):
                for label, args, env in configs(shim, work):
                    cpu, wall = run_once(python, args, env, source, work)
                    results.setdefault((name, label), []).append((cpu, wall))
    return results


def table(python, results):
    labels = [c[0] for c in configs("", "")]
    print("\n%s\n" % python)
    print("| workload | " + " | ".join(labels) + " | frames' share |")
    print("|---|" + "---|" * (len(labels) + 1))
    for name in WORKLOADS:
        cpu = {label: statistics.median(r[0] for r in results[(name, label)])
               for label in labels}
        cells = ["%.2f s" % cpu["plain"]] + [
            "%.2f s (x%.2f)" % (cpu[label], cpu[label] / cpu["plain"])
            for label in labels[1:]]
        own = cpu["leakscope, python=0"] - cpu["PYTHONMALLOC=malloc"]
        frames = cpu["leakscope"] - cpu["leakscope, python=0"]
        share = "+%.0f%% of leakscope's own cost" % (100 * frames / own) if own > 0 else "-"
        print("| %s | %s | %s |" % (name, " | ".join(cells), share))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--python", action="append")
    args = parser.parse_args()
    shim = os.path.join(os.path.abspath(args.build), "shim", "libleakscope.so")
    for python in args.python or ["/usr/bin/python3.11"]:
        table(python, measure(python, shim, args.runs))


if __name__ == "__main__":
    sys.exit(main())
