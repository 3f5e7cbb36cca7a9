#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python frames in leakscope's snapshots, checked from the raw frames the
shim wrote (lkspy.py) and, for the C extension, from the JSON report: each
scenario of scripts/ on every CPython 3.11-3.13 this machine has (the ones
it lacks are named as skipped), a program without Python, the python=0
option and an interpreter too old to read.

With --minor X.Y: the scenarios on each CPython X.Y found (exit 77, a skip,
when there is none); without: the checks that need one interpreter only.

Usage: check_python.py --shim SO --leakscope EXE --ext leaky.so --plain PROGRAM
                       --embedder PROGRAM
                       [--minor X.Y [--kind system|pyenv]]
"""

import argparse
import glob
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lkspy  # noqa: E402
import lkstest  # noqa: E402

SCRIPTS = os.path.join(HERE, "scripts")
WANTED = ["3.11", "3.12", "3.13"]
PYENV = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))


def interpreters():
    """(name, path) of each CPython 3.11-3.13 found, and what was not."""
    found, skipped = [], []
    env = os.environ.get("LEAKSCOPE_TEST_PYTHONS")
    paths = env.split(":") if env else (
        ["/usr/bin/python3.11", "/usr/bin/python3.12", "/usr/bin/python3.13"] +
        sorted(glob.glob(os.path.join(PYENV, "versions/3.1[123].*/bin/python3.1[123]"))))
    for path in paths:
        if os.access(path, os.X_OK):
            found.append(path)
    for minor in WANTED:
        if not any(p.endswith("python" + minor) for p in found):
            skipped.append(minor)
    return found, skipped


def markers(path):
    """Line numbers of the '@name' markers of a source file."""
    lines = {}
    with open(path, encoding="utf-8") as source:
        for number, text in enumerate(source, 1):
            for name in re.findall(r"@(\w+)", text):
                lines[name] = number
    return lines


def run(command, work, options="", env_extra=None):
    """Runs command under the shim; {label: Snapshot} of what it wrote."""
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    env = dict(os.environ, LD_PRELOAD=ARGS.shim, PYTHONMALLOC="malloc",
               LEAKSCOPE_OPTIONS="output_dir=%s:summary=0%s" % (work, options))
    env.update(env_extra or {})
    result = subprocess.run(command, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (command, result.returncode,
                                                  result.stderr[-2000:]))
    snaps = {}
    for name in sorted(os.listdir(work)):
        if name.endswith(".lks"):
            snap = lkspy.Snapshot(os.path.join(work, name))
            snaps[snap.label] = snap
    return snaps


def blocks_at(snap, qualname, path, line, handles=False):
    """Blocks (or open handles) whose innermost Python frame is this one."""
    want = (qualname, path, line)
    if handles:
        return sum(1 for h in snap.handles
                   if snap.py_stack(h[3])[:1] == [want])
    return sum(b for _, b, _ in snap.sites_with(lambda st: st[:1] == [want]))


def expect(errors, name, condition, what):
    if not condition:
        errors.append("%s: %s" % (name, what))


def check_health(errors, name, snap):
    py = snap.python
    expect(errors, name, py is not None and py["status"] == "on",
           "Python frames not on: %r" % (py,))
    if py:
        expect(errors, name, py["bad_frames"] == 0, "%d bad frames" % py["bad_frames"])


def check_cache(py, work, errors):
    script = os.path.join(SCRIPTS, "cache.py")
    line = markers(script)["cache"]
    snaps = run([py, script], work)
    first = blocks_at(snaps["after300"], "handle_request", script, line)
    second = blocks_at(snaps["after600"], "handle_request", script, line)
    check_health(errors, py + " cache", snaps["after600"])
    expect(errors, py + " cache", 300 <= first <= 330 and 600 <= second <= 640,
           "%d then %d blocks at cache.py:%d, want about 300 then 600" %
           (first, second, line))
    # before module teardown the cache is whole; after it, gone
    held = blocks_at(snaps["python-exit"], "handle_request", script, line)
    left = blocks_at(snaps["exit"], "handle_request", script, line)
    expect(errors, py + " python-exit", held >= 600 and left < 600,
           "%d blocks at cache.py:%d in python-exit, %d at exit: want 600 or "
           "more, then fewer" % (held, line, left))


def check_twins(py, work, errors):
    """The shim's stack cache keeps whole native stacks: a cached one must
    not hand one function's Python frames to the other."""
    script = os.path.join(SCRIPTS, "twins.py")
    at = markers(script)
    snap = run([py, script], work)["twins"]
    alpha = blocks_at(snap, "alpha", script, at["alpha"])
    beta = blocks_at(snap, "beta", script, at["beta"])
    # a bytearray is one block, or two (object and buffer) on some versions
    expect(errors, py + " twins", alpha == beta and alpha in (200, 400),
           "%d blocks at alpha(), %d at beta(): want 200 or 400, the same for both" %
           (alpha, beta))


def check_listeners(py, work, errors):
    script = os.path.join(SCRIPTS, "listeners.py")
    at = markers(script)
    snap = run([py, script], work)["held"]
    subscribed = blocks_at(snap, "subscribe", script, at["subscribe"])
    kept = blocks_at(snap, "keep_open", script, at["keep_open"], handles=True)
    dropped = blocks_at(snap, "read_once", script, at["read_once"], handles=True)
    # the object, and from 3.11 on its inline values on some versions
    expect(errors, py + " listeners", 200 <= subscribed <= 430,
           "%d blocks at subscribe(), want 200 to 400" % subscribed)
    expect(errors, py + " files", kept == 5 and dropped == 0,
           "%d handles at keep_open() (want 5), %d at read_once() (want 0)" %
           (kept, dropped))


def check_ext(py, work, errors):
    script = os.path.join(SCRIPTS, "ext.py")
    at = markers(script)
    c_line = markers(os.path.join(HERE, "leaky.c"))["ext_malloc"]
    snap = run([py, script, ARGS.ext], work)["ext"]
    want = [("process", script, at["process"]), ("main", script, at["main"])]
    leaked = 0
    for trace, blocks, size in snap.sites_with(lambda st: st[:2] == want):
        first = snap.traces[trace][0]
        if (snap.module_of(first) or "").endswith("leaky.so"):
            leaked += size
    expect(errors, py + " ext", leaked == sum(1000 + n for n in range(5)),
           "%d bytes from leaky.so under process() <- main(), want 5010" % leaked)
    report = subprocess.run([ARGS.leakscope, "report", "--format", "json",
                             snap_path(work, "ext")], capture_output=True,
                            text=True, timeout=120, check=False)
    stacks = [[(f["function"], f["file"], f["line"]) for f in leak["stack"][:3]]
              for leak in json.loads(report.stdout)["processes"][0]["leaks"]]
    expect(errors, py + " ext report",
           [("ext_fn", os.path.join(HERE, "leaky.c"), c_line)] + want in stacks,
           "no leak reads leaky.c:%d ext_fn <- process() <- main()" % c_line)


def blocks_under(snap, frame):
    """Blocks whose Python stack holds this (qualname, file, line) frame."""
    return sum(b for _, b, _ in snap.sites_with(lambda st: frame in st))


def growth(old, new, frame):
    return blocks_under(new, frame) - blocks_under(old, frame)


def check_gc_api(py, work, errors):
    """python_gc=1: leakscope_snapshot() collects first, so cycles made
    between two snapshots are not growth; without it they are. A C thread
    CPython never saw gets no collection, and the snapshot says why."""
    script = os.path.join(SCRIPTS, "cycles.py")
    at = markers(script)
    lines = [("request", script, at[name]) for name in ("plain", "plain_peer", "finalized")]
    name = py + " gc"
    for option in (":python_gc=1", ""):
        snaps = run([py, script, ARGS.ext], work, option)
        before, after = snaps["before"], snaps["after"]
        grew = [growth(before, after, frame) for frame in lines]
        gc_after = after.python["gc"], after.python["gc_collected"]
        if option:
            # each request leaves at least three objects only a collection frees
            expect(errors, name, max(grew) <= 2 and gc_after[0] == "collected" and
                   gc_after[1] >= 600,
                   "with python_gc=1: growth %r at cycles.py:%r, collection %r: want "
                   "none, 'collected', 600 or more" % (grew, [f[2] for f in lines], gc_after))
            expect(errors, name + " c thread",
                   snaps["c_thread"].python["gc"] == "not a Python thread",
                   "a C thread's snapshot says %r" % (snaps["c_thread"].python["gc"],))
        else:
            expect(errors, name + " off", min(grew) >= 200 and gc_after == ("none", 0),
                   "without python_gc: growth %r at cycles.py:%r, collection %r: want "
                   "200 or more each, 'none'" % (grew, [f[2] for f in lines], gc_after))


def check_gc_request(py, work, errors):
    """python_gc=1 with `leakscope snapshot PID`: the collection runs on the
    main thread between bytecodes; a main thread blocked in a read for the
    whole wait gets none, and the snapshot says so."""
    script = os.path.join(SCRIPTS, "served.py")
    frame = ("Session.__init__", script, markers(script)["served"])
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    env = dict(os.environ, LD_PRELOAD=ARGS.shim, PYTHONMALLOC="malloc",
               LEAKSCOPE_OPTIONS="output_dir=%s:summary=0:python_gc=1:snapshot_signal=60"
               % work)
    server = subprocess.Popen([py, script], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    snaps = {}
    try:
        for label, command in (("before", "work"), ("after", "block"), ("blocked", "quit")):
            expect(errors, py + " served", server.stdout.readline() == "ready\n",
                   "the server did not say ready before %s" % label)
            # bounds against a hang, not expectations: a typed snapshot
            # took over 60 s at load 20
            asked = subprocess.run([ARGS.leakscope, "snapshot", "--label", label,
                                    "--timeout", "300", str(server.pid)],
                                   capture_output=True, text=True, timeout=360, check=False)
            expect(errors, py + " served " + label, asked.returncode == 0,
                   "leakscope snapshot: %s" % asked.stderr[-500:])
            server.stdin.write(command + "\n")
            server.stdin.flush()
    finally:
        server.communicate(timeout=300)
    for name in os.listdir(work):
        if name.endswith(".lks"):
            snap = lkspy.Snapshot(os.path.join(work, name))
            snaps[snap.label] = snap
    grew = growth(snaps["before"], snaps["after"], frame)
    gcs = [(snaps[label].python["gc"], snaps[label].python["gc_collected"])
           for label in ("before", "after", "blocked")]
    expect(errors, py + " served", grew <= 2 and gcs[0][0] == gcs[1][0] == "collected" and
           gcs[1][1] >= 200 and gcs[2] == ("main thread ran no Python for 1 s", 0),
           "growth %d at served.py:%d, collections %r: want none, 'collected' twice "
           "(200 or more the second time), then the main thread's absence" %
           (grew, frame[2], gcs))


def check_growth_gate(py, work, errors):
    """The growth gate on Python lines: 100 requests between snapshots A
    (after 10) and B, under `leakscope run --between A,B --max-growth`. A
    cache that keeps each response fails at the line that makes it; the
    same loop keeping nothing passes. (--fail-on handles: the leak gate
    judges the exit snapshot, which is not what this checks.)"""
    script = os.path.join(SCRIPTS, "soak.py")
    line = markers(script)["soak"]
    json_path = os.path.join(work, "soak.json")
    for mode in ("grow", "steady"):
        command = [ARGS.leakscope, "run", "--between", "A,B", "--max-growth", "4096",
                   "--fail-on", "handles", "--json", json_path, "--shim", ARGS.shim,
                   "--", py, script, mode]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                check=False)
        with open(json_path, encoding="utf-8") as report:
            growth = json.load(report)["gate"]["growth"]
        where = [(s["function"], s["file"], s["line"], s["to_blocks"] - s["from_blocks"],
                  s["over_max_growth"]) for s in growth["sites"] if s["growth"] > 4096]
        if mode == "grow":
            # 90 responses of 300 bytes and more, one block each
            expect(errors, py + " growth gate", result.returncode != 0 and
                   growth["failed"] and where == [("handle_request", script, line, 90, True)] and
                   "at handle_request (soak.py:%d)" % line in result.stderr,
                   "a growing cache: exit %d, sites over 4096 bytes %r, want only "
                   "handle_request at soak.py:%d (+90 blocks)\n%s" %
                   (result.returncode, where, line, result.stderr[-600:]))
        else:
            expect(errors, py + " growth gate steady", result.returncode == 0 and
                   not growth["failed"] and not where,
                   "a loop keeping nothing: exit %d, sites %r" % (result.returncode, where))


def shared_libpython(py):
    """The interpreter's shared libpython, or None when it was built without."""
    asked = subprocess.run([py, "-c", "import os, sysconfig; v = sysconfig.get_config_var; "
                            "print(os.path.join(v('LIBDIR') or '', v('INSTSONAME') or ''))"],
                           capture_output=True, text=True, timeout=60, check=False)
    path = asked.stdout.strip()
    return path if asked.returncode == 0 and path.endswith(".so.1.0") and \
        os.path.exists(path) else None


def check_embedded(py, work, errors):
    """A C program (not named python*) that dlopens libpython after start-up
    and runs a script: the shim finds the runtime when the unwinder first
    meets the library, and the script's blocks carry its Python lines."""
    lib = shared_libpython(py)
    if not lib:
        print("skipped: embedded libpython (%s has no shared libpython)" % py)
        return
    script = os.path.join(SCRIPTS, "embedded.py")
    line = markers(script)["embedded"]
    snap = run([ARGS.embedder, lib, script], work)["exit"]
    # 3.11 runs a list comprehension as a function of its own, later ones inline
    kept = sum(size for _, _, size in snap.sites_with(
        lambda st: st[:1] and st[0][1:] == (script, line)))
    expect(errors, py + " embedded", snap.python and snap.python["status"] == "on" and
           kept >= 20 * 5005,
           "%s dlopen'd: python %r, %d bytes at embedded.py:%d, want 100100 or more" %
           (lib, snap.python, kept, line))


def snap_path(work, label):
    return [os.path.join(work, n) for n in os.listdir(work)
            if n.endswith("." + label + ".lks")][0]


def check_threads(py, work, errors):
    script = os.path.join(SCRIPTS, "threads.py")
    at = markers(script)
    snaps = run([py, script, ARGS.ext], work)
    first, last = snaps["first"], snaps["threads"]
    check_health(errors, py + " threads", last)
    for snap, name, line, want in ((first, "early", "early_before", 1),
                                   (last, "early", "early_after", 1),
                                   (last, "worker", "worker", 50),
                                   (last, "from_c", "from_c", 1)):
        got = sum(b for _, b, _ in snap.sites_with(
            lambda st, w=(name, script, at[line]): st[:1] == [w]))
        expect(errors, "%s threads %s" % (py, line), got >= want,
               "%d blocks at %s:%d, want %d or more" % (got, name, at[line], want))


def check_exec(py, work, errors):
    snap = run([py, os.path.join(SCRIPTS, "exec_many.py")], work)["exec"]
    named = 0
    for trace, blocks, size in snap.sites_with(
            lambda st: st and st[0][0].startswith("fn_")):
        qualname, path, line = snap.py_stack(trace)[0]
        k = int(qualname[3:])
        named += 1
        # the bytes object of fn_k is 5033 + k bytes: one of another k
        # under this name would be a misnamed frame (list growth is not)
        own = not 5033 <= size < 5333 or size == 5033 + k
        expect(errors, "%s exec fn_%d" % (py, k),
               path == "gen_%d.py" % k and line == 2 and own,
               "named %s at %s:%s for %d bytes (want gen_%d.py:2)" %
               (qualname, path, line, size, k))
    expect(errors, py + " exec", named >= 290, "only %d of 300 functions named" % named)


def check_reuse(py, work, errors):
    """A thread's capture may take its previous capture's Python frames
    only where they are the same: every block at its own lines."""
    script = os.path.join(SCRIPTS, "reuse.py")
    at = markers(script)
    snap = run([py, script], work)["reuse"]
    check_health(errors, py + " reuse", snap)

    def frame(name, marker):
        return (name, script, at[marker])

    def blocks(*want):
        return sum(b for _, b, _ in snap.sites_with(lambda st: st[:len(want)] == list(want)))

    def callers(innermost):
        """The distinct callers seen under an innermost frame."""
        return sorted({tuple(st[1:4]) for st in (snap.py_stack(t) for t, _, _ in snap.sites_with(
            lambda st: st[:1] == [innermost]))})

    # a bytearray is one block, or two (object and buffer) on some versions
    pairs = [
        ("lines", [frame("make", "make"), frame("<module>", "first")],
         [frame("make", "make"), frame("<module>", "second")]),
        ("depths", [frame("nested", "nested_leaf"), frame("nested", "nested"),
                    frame("<module>", "shallow")],
         [frame("nested", "nested_leaf"), frame("nested", "nested"),
          frame("nested", "nested"), frame("<module>", "deep")]),
        ("generator", [frame("numbers", "gen"), frame("resume_a", "resume_a")],
         [frame("numbers", "gen"), frame("resume_b", "resume_b")]),
    ]
    for name, one, other in pairs:
        got = (blocks(*one), blocks(*other))
        expect(errors, "%s reuse %s" % (py, name), got[0] == got[1] and got[0] in (200, 400),
               "%d and %d blocks, want 200 or 400 each; callers seen: %s" %
               (got[0], got[1], callers(one[0])))
    named = 0
    for trace, count, size in snap.sites_with(
            lambda st: st[:1] and st[0][0].startswith("fn_")):
        stack = snap.py_stack(trace)
        k = int(stack[0][0][3:])
        # the bytes object of fn_k is 4033 + k bytes, alone at its site
        if not 4033 <= size < 4333:
            continue
        named += count
        expect(errors, "%s reuse fn_%d" % (py, k),
               size == 4033 + k and stack[0][1:] == ("reuse_%d.py" % k, 2) and
               stack[1] == frame("<module>", "fresh"),
               "%d bytes under %s" % (size, stack[:2]))
    expect(errors, py + " reuse exec", named == 300, "%d of 300 exec'd blocks named" % named)
    check_reuse_more(py, snap, frame, errors)


def check_reuse_via(py, snap, frame, errors):
    """One function called by one instruction, directly and through a C
    function: the direct call's two frames are one run of one eval loop,
    next to each other in the merged stack; the other's are two runs, native
    frames between them."""
    want = [frame("via_leaf", "via_leaf"), frame("<module>", "via")]
    found = {}  # block size: [blocks with the two frames next to each other, blocks]
    for trace, count, size in snap.sites_with(lambda st: st[:2] == want):
        if not count or size % count or not 9000 <= size // count < 9020:
            continue
        raw = [snap.py_frame(v) for v in snap.traces[trace]]
        at = raw.index(want[0])
        tally = found.setdefault(size // count, [0, 0])
        tally[0] += count * (raw[at + 1] == want[1])
        tally[1] += count
    got = [found[size] for size in sorted(found)]
    expect(errors, py + " reuse via C", got == [[200, 200], [0, 200]],
           "[next to each other, blocks] by size, direct call then through C: %s" % got)


def check_reuse_more(py, snap, frame, errors):
    """Chains read again after others, on several threads, and code objects
    freed and made again by another thread."""
    def sized(low, high):
        """{block size: [python stack of each block]} for sizes in [low, high)."""
        found = {}
        for trace, count, size in snap.sites_with(lambda st: bool(st)):
            if count and low <= size // count < high and size % count == 0:
                found.setdefault(size // count, []).extend([snap.py_stack(trace)] * count)
        return found

    rotation = sized(6033, 6043)
    for depth in range(10):
        stacks = rotation.get(6033 + depth, [])
        want = ([frame("deep_bytes", "deep_bytes_leaf")] +
                [frame("deep_bytes", "deep_bytes")] * depth + [frame("<module>", "rotation")])
        right = sum(1 for st in stacks if st[:depth + 2] == want)
        expect(errors, "%s reuse rotation %d" % (py, depth), right == len(stacks) == 200,
               "%d of %d blocks at depth %d (want 200): %s" %
               (right, len(stacks), depth, sorted({len(st) for st in stacks})))
    # both threads run the same lines: one site each, its blocks theirs
    for sizes, marker in (((7033, 7043), "thread_first"), ((7034, 7044), "thread_second")):
        at_line = snap.sites_with(lambda st: st[:2] == [frame("twice", "twice"),
                                                        frame("worker", marker)])
        got = (sum(b for _, b, _ in at_line), sum(n for _, _, n in at_line))
        expect(errors, "%s reuse threads %s" % (py, marker),
               got == (400, 200 * sum(sizes)),
               "%d blocks of %d bytes (want 400 of %d)" % (got + (200 * sum(sizes),)))
    check_reuse_via(py, snap, frame, errors)
    cross = sized(8033, 8133)
    for k in range(100):
        stacks = cross.get(8033 + k, [])
        right = sum(1 for st in stacks if st[:2] == [("tfn_%d" % k, "reuse_t%d.py" % k, 2),
                                                   frame("<module>", "cross")])
        expect(errors, "%s reuse cross-thread tfn_%d" % (py, k), right == len(stacks) == 1,
               "%d of %d blocks named (%s)" % (right, len(stacks),
                                               [st[:1] for st in stacks]))


def check_without_python(work, errors, py):
    snap = run([ARGS.plain], work)["exit"]
    tagged = [f for f in snap.frames if f >> 56 == 0xFE]
    expect(errors, "plain program", snap.python is None and not tagged and
           not snap.flags & lkspy.HF_PYTHON, "Python state in a program without it")
    off = run([py, os.path.join(SCRIPTS, "cache.py")], work, ":python=0")["after600"]
    expect(errors, "python=0", off.python and off.python["status"] == "off" and
           not [f for f in off.frames if f >> 56 == 0xFE] and off.sites,
           "python=0 did not keep native stacks only: %r" % (off.python,))


def corrupt(path, out, offset, fmt, value):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    struct.pack_into(fmt, data, offset, value)
    with open(out, "wb") as f:
        f.write(lkstest.seal(data))  # whole again: the check under test must refuse it


def check_reader(py, work, errors):
    """The reporter refuses a snapshot whose Python sections lie."""
    script = os.path.join(SCRIPTS, "ext.py")
    snap = run([py, script, ARGS.ext], work)["ext"]
    path = snap_path(work, "ext")
    frames_at = snap.sections[5][0]
    tagged = [i for i, f in enumerate(snap.frames) if f >> 56 == 0xFE]
    codes_at = snap.sections[10][0]
    cases = [
        ("unknown code id", frames_at + 8 * tagged[0] + 4, "<I", 0xFEFFFFFF,
         "not in the file"),
        ("line table past its section", codes_at + 24, "<I", 0xFFFFFFF0,
         "out of range"),
        ("python status", snap.sections[9][0] + 4, "<I", 9, "bad status"),
        ("python gc", snap.sections[9][0] + 56, "<I", 99, "bad collection"),
        ("python gc count", snap.sections[9][0] + 48, "<Q", 5, "bad collection"),
    ]
    for name, offset, fmt, value, message in cases:
        bad = os.path.join(work, "bad.lks")
        corrupt(path, bad, offset, fmt, value)
        result = subprocess.run([ARGS.leakscope, "report", bad], capture_output=True,
                                text=True, timeout=120, check=False)
        expect(errors, "reader: " + name, result.returncode != 0 and
               message in result.stderr, "accepted, or said %r" % result.stderr[-300:])


def check_run_allocator(py, work, errors):
    """leakscope run makes objects visible (PYTHONMALLOC=malloc) and says
    so; with -E it cannot, and the report says which objects stay hidden."""
    for flag, visible in ((None, True), ("-E", False)):
        json_path = os.path.join(work, "run.json")
        command = [ARGS.leakscope, "run", "--json", json_path, "--shim", ARGS.shim, "--",
                   py] + ([flag] if flag else []) + ["-c", "x = [bytes(9) for i in range(9)]"]
        env = dict(os.environ)
        env.pop("PYTHONMALLOC", None)
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        with open(json_path, encoding="utf-8") as report:
            proc = json.load(report)["processes"][0]
        python = proc.get("python") or {}
        said = " ".join(proc["warnings"]) + result.stderr
        ok = (python.get("pythonmalloc_malloc") is True and
              python.get("environment_ignored") is (not visible) and
              ("one by one" in result.stderr) == visible and
              ("-E or -I" in said) != visible)
        expect(errors, "run %s" % (flag or "without -E"), ok,
               "python %r, warnings %r" % (python, proc["warnings"]))


def check_unsupported(work, errors):
    old = sorted(glob.glob("/root/.pyenv/versions/3.10.*/bin/python3.10"))
    if not old:
        print("skipped: unsupported interpreter (no CPython 3.10 here)")
        return
    snap = run([old[0], "-c", "x = [bytes(100) for i in range(10)]"], work)["exit"]
    native = any(len(frames) > 0 for frames in snap.traces.values())
    expect(errors, "3.10", snap.python and snap.python["status"] == "unsupported" and
           snap.python["reason"] and native,
           "CPython 3.10 not said unsupported with native stacks: %r" % (snap.python,))
    # before 3.11 the interpreter does not say its version: "unknown", not 0.0.0
    report = subprocess.run([ARGS.leakscope, "report", snap_path(work, "exit")],
                            capture_output=True, text=True, timeout=120, check=False)
    lines = [line for line in (report.stdout + report.stderr).splitlines() if "CPython" in line]
    expect(errors, "3.10 version", lines and
           all("CPython (version unknown)" in line and "0.0.0" not in line for line in lines),
           "CPython 3.10's version not said unknown: %r" % (lines,))


def check_unsupported_newer(work, errors):
    """A CPython newer than the layouts the shim knows (newer.c: a program
    named python*, exporting 3.14's Py_Version and the symbols read at
    start-up): its blocks keep their native stacks, and the report says
    why in one line."""
    snap = run([ARGS.newer], work)["exit"]
    held = [s for s in snap.sites if s[4] == 10 and s[5] == 1000]
    native = bool(held) and all(
        snap.traces.get(s[0]) and not any(v & 0xFF00000000000000 == lkspy.PYFRAME_TAG
                                          for v in snap.traces[s[0]]) for s in held)
    report = subprocess.run([ARGS.leakscope, "report", snap_path(work, "exit")],
                            capture_output=True, text=True, timeout=120, check=False)
    said = [line for line in (report.stdout + report.stderr).splitlines()
            if "Python frames off" in line]
    expect(errors, "3.14", snap.python and snap.python["status"] == "unsupported" and
           native and len(said) == 1 and "after 3.13" in said[0] and "native only" in said[0],
           "CPython 3.14 not said unsupported with native stacks: %r, sites %r, report %r" %
           (snap.python, held, said))


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    for name in ("--shim", "--leakscope", "--ext", "--plain", "--embedder"):
        parser.add_argument(name, required=True)
    parser.add_argument("--newer", help="a program that looks like CPython 3.14")
    parser.add_argument("--minor", help="the scenarios on each CPython X.Y found")
    parser.add_argument("--kind", choices=("system", "pyenv"),
                        help="only the distribution's interpreter, or only pyenv's")
    ARGS = parser.parse_args()
    for name in ("shim", "leakscope", "ext", "plain", "embedder"):
        setattr(ARGS, name, os.path.abspath(getattr(ARGS, name)))
    found, skipped = interpreters()
    errors = []
    if ARGS.minor:
        found = [p for p in found if p.endswith("python" + ARGS.minor)]
    if ARGS.kind:
        found = [p for p in found if p.startswith(PYENV) == (ARGS.kind == "pyenv")]
    if not found:
        print("skipped: no %sCPython %s here" % (ARGS.kind + " " if ARGS.kind else "",
                                                  ARGS.minor or "3.11-3.13"))
        return 77
    with tempfile.TemporaryDirectory() as work:
        if ARGS.minor:
            for py in found:
                print("interpreter:", py)
                for check in (check_cache, check_twins, check_listeners, check_ext,
                              check_threads, check_exec, check_reuse, check_gc_api,
                              check_gc_request, check_growth_gate, check_embedded):
                    try:
                        check(py, work, errors)
                    except AssertionError as failure:
                        errors.append("%s %s: %s" % (py, check.__name__, failure))
        else:
            for minor in skipped:
                print("note: no CPython %s on this machine" % minor)
            print("interpreter:", found[0])
            check_without_python(work, errors, found[0])
            check_reader(found[0], work, errors)
            check_run_allocator(found[0], work, errors)
            check_unsupported(work, errors)
            if ARGS.newer:
                check_unsupported_newer(work, errors)
    for error in errors:
        print("FAIL:", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
