#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks `leakscope diff` and `leakscope report --group-by/--timeline` as a
user would: on runs of phases.c (sites found by its `diff-site: NAME`
markers) and on a synthetic series of snapshots.

Usage: check_diff.py --leakscope EXE --shim SO --phases EXE --source phases.c TEST
TEST: two_runs api group_by cumulative filters alloc_fn bad_input timeline top
"""

import glob
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import lkstest
import lkswrite
from lkstest import SKIP, CheckError, expect

CACHE_ENTRY, CACHE_PER_ROUND = 200, 10


class Env:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.lines = lkstest.marker_lines(args.source, "diff-site")
        self.source = os.path.basename(args.source)

    def leakscope(self, *argv, status=0):
        done = subprocess.run([self.args.leakscope, *argv], capture_output=True, text=True,
                              timeout=120)
        if status is not None and done.returncode != status:
            raise CheckError(f"leakscope {' '.join(argv)}: exit {done.returncode}, expected "
                             f"{status}\n{done.stderr}")
        return done

    def run_phases(self, name, *argv, status=0):
        directory = os.path.join(self.tmp, name)
        done = self.leakscope("run", "--shim", self.args.shim, "-d", directory, "--",
                              self.args.phases, *argv, status=None)
        if done.returncode == SKIP:
            return None
        expect(done.returncode == status, f"phases {argv}: exit {done.returncode}\n{done.stderr}")
        return directory

    def json(self, *argv):
        return json.loads(self.leakscope(*argv, "--format", "json").stdout)

    def site(self, entries, name):
        """The entry whose first frame is phases.c at the marked line."""
        line = self.lines[name]
        found = [e for e in entries if e["stack"]
                 and lkstest.at_line(e["stack"][0], self.source, line)]
        expect(len(found) == 1, f"one entry for {self.source}:{line} ({name}), found "
               f"{len(found)} in {[e['key'] for e in entries]}")
        return found[0]


def only_snapshot(directory):
    files = glob.glob(os.path.join(directory, "*.lks"))
    expect(len(files) == 1, f"{directory}: {len(files)} snapshots")
    return files[0]


def check_phase_diff(env, data, rounds):
    """The cache's line on top with exact diffs; warm-up and churn unchanged."""
    stats = data["stats"]
    top = env.site(stats, "cache")
    expect(stats[0] is top, f"the cache line is not on top: {stats[0]['key']}")
    grown = rounds * CACHE_PER_ROUND
    expect((top["count_diff"], top["size_diff"]) == (grown, grown * CACHE_ENTRY),
           f"cache: count_diff {top['count_diff']} size_diff {top['size_diff']}, "
           f"expected {grown} and {grown * CACHE_ENTRY}")
    pipes = env.site(data["handles"], "pipe")
    expect(data["handles"][0] is pipes and pipes["type"] == "pipe"
           and pipes["count_diff"] == 2 * rounds,
           f"handles: the pipe line first with +{2 * rounds}, got {data['handles']}")
    for name, blocks in (("churn", 8), ("xalloc", 20)):
        entry = env.site(stats, name)
        expect((entry["count"], entry["count_diff"], entry["size_diff"]) == (blocks, 0, 0),
               f"{name}: count {entry['count']} count_diff {entry['count_diff']} "
               f"size_diff {entry['size_diff']}, expected {blocks}, 0, 0")


def test_two_runs(env):
    old = only_snapshot(env.run_phases("r2", "run", "2"))
    new = only_snapshot(env.run_phases("r5", "run", "5"))
    data = env.json("diff", old, new)
    expect(data["key_type"] == "lineno" and data["cumulative"] is False, "key_type/cumulative")
    expect(data["old"]["pid"] != data["new"]["pid"], "two runs, two pids")
    check_phase_diff(env, data, 3)
    text = env.leakscope("diff", old, new).stdout.splitlines()
    first = next(line for line in text if "size=" in line and not line.startswith("total:"))
    expect(f"{env.source}:{env.lines['cache']}" in first and "(+6000 B)" in first
           and "count=50 (+30)" in first, f"text diff's first entry: {first!r}")


def test_api(env):
    directory = env.run_phases("api", "api", "3")
    if directory is None:
        print("leakscope_snapshot is not in this shim yet: skipped")
        return SKIP
    by_label = {}
    for path in glob.glob(os.path.join(directory, "*.lks")):
        label = env.json("report", "--group-by", "lineno", path)["processes"][0]["snapshot"]["label"]
        by_label[label] = path
    expect({"warm", "round1", "round3"} <= set(by_label), f"labels {sorted(by_label)}")
    data = env.json("diff", by_label["warm"], by_label["round3"])
    expect(data["old"]["pid"] == data["new"]["pid"], "one process")
    check_phase_diff(env, data, 3)
    wrapped = env.json("diff", "--alloc-fn", "xalloc", by_label["warm"], by_label["round3"])
    for name, blocks in (("warm", 16), ("extra", 4)):
        entry = env.site(wrapped["stats"], name)
        expect((entry["count"], entry["count_diff"], entry["size_diff"]) == (blocks, 0, 0),
               f"warm-up line {name}: {entry['count']} blocks, {entry['count_diff']:+}")
    return 0


def test_group_by(env):
    snap = only_snapshot(env.run_phases("g", "run", "4"))
    stats = env.json("report", snap, "--group-by", "function")["processes"][0]["stats"]
    by_function = {e["stack"][0]["function"]: e for e in stats if e["stack"]}
    expect(by_function["grow_cache"]["size"] == 40 * CACHE_ENTRY
           and by_function["grow_cache"]["count"] == 40, "function: grow_cache 40 blocks")
    expect(by_function["xalloc"]["count"] == 20, "function: xalloc 20 blocks")
    expect(by_function["grow_cache"]["stack"][0]["line"] is None, "function key has no line")
    files = env.json("report", snap, "--group-by", "file")["processes"][0]["stats"]
    mine = [e for e in files if os.path.basename(e["stack"][0]["file"] or "") == env.source]
    expect(len(mine) == 1 and mine[0]["count"] == 40 + 20 + 8
           and mine[0]["size"] == 40 * CACHE_ENTRY + 16 * 512 + 4 * 64 + 8 * 256,
           f"file: one phases.c entry with every block, got {mine}")
    modules = env.json("report", snap, "--group-by", "module")["processes"][0]["stats"]
    main = [e for e in modules if os.path.basename(e["stack"][0]["module"] or "")
            == os.path.basename(env.args.phases)]
    expect(len(main) == 1 and main[0]["count"] == 68, f"module: phases has 68 blocks: {main}")
    traces = env.json("report", snap, "--group-by", "traceback")["processes"][0]["stats"]
    cache = env.site(traces, "cache")
    expect(len(cache["stack"]) > 1 and any(f["function"] == "main" for f in cache["stack"]),
           "traceback: the whole stack, down to main")


def test_cumulative(env):
    snap = only_snapshot(env.run_phases("c", "run", "1"))
    stats = env.json("report", snap, "--group-by", "function", "--cumulative")["processes"][0]
    expect(stats is not None, "report")
    entries = {e["stack"][0]["function"]: e for e in stats["stats"] if e["stack"]}
    total = 10 * CACHE_ENTRY + 16 * 512 + 4 * 64 + 8 * 256
    expect(entries["main"]["size"] == total and entries["main"]["count"] == 38,
           f"cumulative: main holds every block ({total} B, 38), got "
           f"{entries['main']['size']}, {entries['main']['count']}")
    expect(entries["warm_up"]["count"] == 20 and entries["grow_cache"]["count"] == 10,
           "cumulative: warm_up 20 blocks (through xalloc), grow_cache 10")
    plain = env.json("report", snap, "--group-by", "function")["processes"][0]["stats"]
    expect(not any(e["stack"] and e["stack"][0]["function"] == "main" for e in plain),
           "not cumulative: main allocates nothing itself")


def test_filters(env):
    snap = only_snapshot(env.run_phases("f", "run", "2"))

    def stats(*options):
        return env.json("report", snap, *options)["processes"][0]["stats"]
    included = stats("--include", env.source)
    expect(len(included) == 3 and all(os.path.basename(e["stack"][0]["file"]) == env.source
                                      for e in included),
           f"--include {env.source}: its three lines only, got {[e['key'] for e in included]}")
    excluded = stats("--include", env.source, "--exclude", "grow_cache")
    expect(len(excluded) == 2 and not any(e["stack"][0]["function"] == "grow_cache"
                                          for e in excluded), "--exclude grow_cache")
    # --top alone cuts a leak report's lists: --group-by asks for statistics
    top = stats("--group-by", "lineno", "--top", "1")
    expect(len(top) == 1 and top[0]["size"] == 16 * 512 + 4 * 64, "--top 1: the largest")
    none = stats("--include", "no-such-thing*")
    expect(none == [], "--include matching nothing: no entry")


def test_alloc_fn(env):
    snap = only_snapshot(env.run_phases("a", "run", "1"))
    plain = env.json("report", snap)
    expect("leaks" in plain["processes"][0], "plain report still works")
    stats = env.json("report", snap, "--group-by", "lineno")["processes"][0]["stats"]
    expect(env.site(stats, "xalloc")["count"] == 20, "without --alloc-fn: xalloc's line")
    stats = env.json("report", snap, "--alloc-fn", "xalloc")["processes"][0]["stats"]
    warm, extra = env.site(stats, "warm"), env.site(stats, "extra")
    expect((warm["count"], warm["size"], extra["count"], extra["size"]) == (16, 8192, 4, 256),
           "--alloc-fn xalloc: its callers' lines")
    expect(not any(e["stack"][0]["line"] == env.lines["xalloc"] for e in stats),
           "--alloc-fn xalloc: no entry at the wrapper's line")


def expect_error(env, argv, status):
    done = env.leakscope(*argv, status=status)
    lines = done.stderr.strip().splitlines()
    expect(len(lines) == 1 and lines[0].startswith("leakscope: "),
           f"leakscope {' '.join(argv)}: wanted one error line, got {done.stderr!r}")
    expect(done.stdout == "", f"leakscope {' '.join(argv)}: output on error")


def test_bad_input(env):
    snap = only_snapshot(env.run_phases("b", "run", "1"))
    with open(snap, "rb") as source:
        data = source.read()
    truncated = os.path.join(env.tmp, "truncated.lks")
    with open(truncated, "wb") as out:
        out.write(data[:200])
    garbage = os.path.join(env.tmp, "garbage.lks")
    with open(garbage, "wb") as out:
        out.write(b"not a snapshot\n" * 20)
    expect_error(env, ["diff", snap, truncated], 1)
    expect_error(env, ["diff", garbage, snap], 1)
    expect_error(env, ["diff", snap, os.path.join(env.tmp, "missing.lks")], 1)
    expect_error(env, ["report", "--group-by", "file", garbage], 1)
    expect_error(env, ["diff", snap], 2)
    expect_error(env, ["diff", "--group-by", "nope", snap, snap], 2)
    expect_error(env, ["diff", "--group-by", "traceback", "--cumulative", snap, snap], 2)
    expect_error(env, ["diff", "--top", "-1", snap, snap], 2)
    expect_error(env, ["diff", "--top", "ten", snap, snap], 2)
    expect_error(env, ["diff", "--frobnicate", snap, snap], 2)
    expect_error(env, ["diff", "--timeline", env.tmp, snap, snap], 2)
    expect_error(env, ["report", "--svg", "x.svg", snap], 2)
    expect_error(env, ["run", "--group-by", "file", "--", "true"], 125)
    expect_error(env, ["report", "--timeline", os.path.dirname(snap)], 1)
    expect_error(env, ["report", "--timeline", os.path.join(env.tmp, "nowhere")], 1)
    same = env.json("diff", snap, snap)
    expect(all(e["size_diff"] == 0 and e["count_diff"] == 0 for e in same["stats"]),
           "a snapshot diffed with itself changes nothing")


def write_series(env, directory):
    """Five timer snapshots of pid 4242 over a minute: the cache grows by
    1000 bytes each 15 s, the ring stays, one more socket each time; its
    exit snapshot, the cache freed; and one snapshot of another process."""
    binary = env.args.phases
    bias = lkswrite.load_bias(binary)
    grow, churn, main = (bias + lkswrite.function_address(binary, name) + 8
                         for name in ("grow_cache", "churn", "main"))
    common = dict(exe=binary, module=binary, bias=bias, start=min(grow, churn, main) - 0x10000,
                  end=max(grow, churn, main) + 0x10000, stacks=[[grow, main], [churn, main]])
    for seq in range(1, 6):
        path = os.path.join(directory, f"phases.4242.{seq}.timer.lks")
        lkswrite.write_snapshot(path, pid=4242, seq=seq, uptime_ns=(seq - 1) * 15_000_000_000,
                                label=f"t{seq}", sites=[(1, 5 * seq, 1000 * seq), (2, 8, 2048)],
                                handles=[(1, lkswrite.HANDLE_SOCKET, 10 + i) for i in range(seq)],
                                **common)
    lkswrite.write_snapshot(os.path.join(directory, "phases.4242.6.exit.lks"), pid=4242, seq=6,
                            uptime_ns=61_000_000_000, label="exit", sites=[(2, 8, 2048)],
                            reason=lkswrite.REASON_EXIT, **common)
    lkswrite.write_snapshot(os.path.join(directory, "phases.4300.1.timer.lks"), pid=4300, seq=1,
                            uptime_ns=0, label="other", sites=[(2, 1, 1)], **common)


def test_timeline(env):
    directory = os.path.join(env.tmp, "series")
    os.mkdir(directory)
    write_series(env, directory)
    svg = os.path.join(env.tmp, "timeline.svg")
    data = env.json("report", "--timeline", directory, "--group-by", "function", "--svg", svg)
    points = data["snapshots"]
    expect(data["pid"] == 4242 and len(points) == 6 and data["other_snapshots"] == 1,
           f"series of pid 4242: {len(points)} points")
    expect([p["bytes"] for p in points] == [2048 + 1000 * s for s in range(1, 6)] + [2048]
           and [p["handles"] for p in points] == [1, 2, 3, 4, 5, 0]
           and [p["blocks"] for p in points] == [8 + 5 * s for s in range(1, 6)] + [8],
           f"totals: {points}")
    growth = data["growth"]
    expect((data["growth_from_seq"], data["growth_to_seq"]) == (1, 5),
           "growth is measured to the last snapshot before exit")
    expect(len(growth) == 1 and growth[0]["stack"][0]["function"] == "grow_cache"
           and growth[0]["size_diff"] == 4000 and growth[0]["bytes_per_minute"] == 4000.0
           and growth[0]["sizes"] == [1000, 2000, 3000, 4000, 5000, 0],
           f"growth: grow_cache +4000 B in 60 s, got {growth}")
    root = ET.parse(svg).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    for series in ("bytes", "blocks", "handles"):
        group = root.find(f".//svg:g[@data-series='{series}']", ns)
        expect(group is not None, f"svg: no {series} series")
        circles = group.findall("svg:circle", ns)
        expect(len(circles) == 6, f"svg: {len(circles)} {series} points, expected 6")
    expect(root.find(".//svg:g[@data-series='site-1']", ns) is not None, "svg: site line")
    text = env.leakscope("report", "--timeline", directory, "--group-by", "function").stdout
    expect("+4000.0 B/min" in text and "grow_cache" in text, f"text timeline:\n{text}")


GROWERS, GROWER_STEP = 25, 64


def write_growers(env, directory):
    """Two snapshots, "A" and "B", of one process: site k (1..25) grows
    by k * 64 bytes and k blocks, site 26 does not change. The module is
    not on disk, so each site is its own module+offset key."""
    module = "/nonexistent/grower"
    stacks = [[0x401000 + 0x40 * k] for k in range(1, GROWERS + 2)]
    common = dict(pid=4343, exe=module, module=module, bias=0, start=0x400000, end=0x500000,
                  stacks=stacks)
    for seq, label, times in ((1, "A", 1), (2, "B", 2)):
        sites = [(k, k * times, k * GROWER_STEP * times) for k in range(1, GROWERS + 1)]
        lkswrite.write_snapshot(os.path.join(directory, f"grower.4343.{seq}.timer.lks"),
                                seq=seq, uptime_ns=seq * 1_000_000_000, label=label,
                                sites=sites + [(GROWERS + 1, 3, 3000)], **common)
    return [os.path.join(directory, f"grower.4343.{seq}.timer.lks") for seq in (1, 2)]


def test_top(env):
    """A diff's text lists the 20 largest changes and sums up the rest;
    JSON keeps every site; --top N and --top 0 as documented; and the growth
    gate judges every site whatever a listing shows."""
    directory = os.path.join(env.tmp, "growers")
    os.mkdir(directory)
    old, new = write_growers(env, directory)
    text = env.leakscope("diff", old, new).stdout.splitlines()
    entries = [line for line in text if "size=" in line and not line.startswith("total:")]
    expect(len(entries) == 20 and "(+1600 B)" in entries[0] and "(+384 B)" in entries[-1],
           f"default text: the 20 largest changes, +1600 B down to +384 B:\n" + "\n".join(text))
    left = sum(k * GROWER_STEP for k in range(1, 6))
    want = (f"(not listed: 5 more sites that changed, +{left} B and +15 blocks in all, "
            "and 1 that did not; --top 0 lists every one)")
    expect(want in text, f"default text: no line {want!r} in:\n" + "\n".join(text))
    data = env.json("diff", old, new)
    expect(len(data["stats"]) == GROWERS + 1 and data["left_out"] == {"stats": 0, "handles": 0},
           f"JSON without --top: every site, {len(data['stats'])} listed, {data['left_out']}")
    data = env.json("diff", "--top", "3", old, new)
    expect([e["size_diff"] for e in data["stats"]] == [1600, 1536, 1472]
           and data["left_out"]["stats"] == GROWERS - 3 + 1,
           f"JSON --top 3: the three largest, the rest counted: {data['left_out']}")
    text = env.leakscope("diff", "--top", "0", old, new).stdout
    expect(text.count("size=") == GROWERS + 2 and "(+0 B)" in text and "not listed" not in text,
           f"--top 0: every site, the unchanged one too:\n{text}")
    growth = [len(env.json("report", "--timeline", directory, *top)["growth"])
              for top in ((), ("--top", "0"))]
    expect(growth == [10, GROWERS], f"timeline: 10 growing sites, --top 0 all: {growth}")
    timeline = env.leakscope("report", "--timeline", directory).stdout
    left = sum(k * GROWER_STEP for k in range(1, GROWERS - 9))
    want = (f"(not listed: {GROWERS - 10} more sites that grew, +{left} B and "
            f"+{sum(range(1, GROWERS - 9))} blocks in all; --top 0 lists every one)")
    expect(want in timeline.splitlines(), f"timeline: no line {want!r} in:\n{timeline}")
    expect(env.json("report", "--timeline", directory)["growth_left_out"] == GROWERS - 10,
           "timeline JSON: growth_left_out counts the growing sites past --top")
    timeline = env.leakscope("report", "--timeline", directory, "--top", "0").stdout
    expect("not listed" not in timeline, f"timeline --top 0: nothing left out:\n{timeline}")
    stats = env.leakscope("report", "--group-by", "lineno", "--top", "2", new).stdout
    expect("(not listed: 24 more sites, " in stats, f"report --top 2:\n{stats}")
    # The 20 listed sites grew by 19840 B, all 25 by 20800 B: a gate that
    # saw only the listing would pass at 20799.
    grown = sum(k * GROWER_STEP for k in range(1, GROWERS + 1))
    gate = ("report", "--between", "A,B", "--fail-on", "handles", "--format", "json")
    done = env.leakscope(*gate, "--max-growth", str(grown - 1), directory, status=23)
    sites = json.loads(done.stdout)["gate"]["growth"]["sites"]
    expect(sum(site["growth"] for site in sites) == grown,
           f"the growth gate judges all {GROWERS} growing sites, {grown} B: {sites}")
    env.leakscope(*gate, "--max-growth", str(grown), directory, status=0)


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}


def main():
    parser = lkstest.argument_parser()
    for option in ("--phases", "--source"):
        parser.add_argument(option, required=True)
    parser.add_argument("test", choices=sorted(TESTS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakscope-diff-") as tmp:
        try:
            status = TESTS[args.test](Env(args, tmp)) or 0
        except CheckError as failure:
            print(f"FAIL {args.test}: {failure}")
            return 1
    if status == 0:
        print(f"ok {args.test}")
    return status


if __name__ == "__main__":
    sys.exit(main())
