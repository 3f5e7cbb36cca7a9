#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Typed Python objects (docs/PYTHON.md, "Typed objects"): the types the
shim wrote, read from the raw snapshot (lkspy.py), and what `leakscope
diff --group-by pytype` and `pytypeline` make of them, on every CPython
3.11-3.13 this machine has (the ones it lacks are named as skipped), and
the python-exit snapshot's retainer chains (`report --retainers`); a
program without Python and python_types=0 get no types; objects freed
under an in-run snapshot never crash it; the reader refuses lying records.

With --minor X.Y: the scenarios on each CPython X.Y found (exit 77, a skip,
when there is none); without: the checks that need one interpreter only.

Usage: check_pytypes.py --shim SO --leakscope EXE --ext leaky.so --plain PROGRAM
                        [--minor X.Y [--kind system|pyenv]]
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_python as cp  # noqa: E402  (its run, markers, interpreters)

SCRIPTS = cp.SCRIPTS
SNAPSHOT_SIGNAL = 60
FREELIST = 80  # dicts and lists reused from CPython's free lists keep their first site
RETAINERS = 8  # the retainers section (format/format.h)
PYUNCHAINED = 15  # sites chosen without a chain: trace, reason, walked
PYU_UNREACHED, PYU_BUDGET = 1, 2
PYOBJECTS_AT_TYPE = 4  # struct lks_pyobjects: trace, type, ...


def leakscope(*args):
    result = subprocess.run([cp.ARGS.leakscope] + list(args), capture_output=True,
                            text=True, timeout=300, check=False)
    return result


def typed_at(snap, type_name, where):
    """Objects of a type whose innermost Python frame is `where`."""
    return sum(blocks for trace, blocks, _ in snap.objects_of(type_name)
               if snap.py_stack(trace)[:1] == [where])


def pytype_entry(diff, key):
    return next((e for e in diff["stats"] if e["key"] == key), None)


def check_listener_growth(py, work, errors):
    """listeners.py: 50 listeners, a snapshot, 150 more: MyListener +150,
    made at subscribe()'s line. In-run chains asked for: the growth's
    holders are checked on the same snapshots."""
    name = py + " listeners typed"
    script = os.path.join(SCRIPTS, "listeners.py")
    line = cp.markers(script)["subscribe"]
    snaps = cp.run([py, script], work, ":python_retainers=2")
    held = snaps["held"]
    cp.expect(errors, name, held.python["flags"] & 0x4 and held.python["typed_blocks"] > 0,
              "no objects typed: %r" % (held.python,))
    at_line = typed_at(held, "MyListener", ("subscribe", script, line))
    cp.expect(errors, name, at_line == 200 and
              sum(b for _, b, _ in held.objects_of("MyListener")) == 200,
              "%d MyListener objects at subscribe(), %d in all: want 200" %
              (at_line, sum(b for _, b, _ in held.objects_of("MyListener"))))
    early, late = cp.snap_path(work, "early"), cp.snap_path(work, "held")
    diff = leakscope("diff", early, late, "--group-by", "pytype", "--format", "json")
    entry = pytype_entry(json.loads(diff.stdout), "MyListener") if diff.returncode == 0 else None
    frame = entry["stack"][0] if entry and entry["stack"] else {}
    cp.expect(errors, name + " diff", entry and entry["count_diff"] == 150 and
              entry["count"] == 200 and entry["pytype"] == "MyListener" and
              (frame.get("function"), frame.get("file"), frame.get("line")) ==
              ("subscribe", script, line),
              "MyListener in the JSON diff: %r (stderr %r)" % (entry, diff.stderr[-300:]))
    text = leakscope("diff", early, late, "--group-by", "pytype").stdout
    want = "at %s:%d subscribe()" % (script, line)
    lines = [t for t in text.splitlines() if t.startswith("MyListener +150 (")]
    cp.expect(errors, name + " text", lines and want in lines[0],
              "no line 'MyListener +150 (...) %s' in:\n%s" % (want, text[:1500]))
    check_growth_holders(py, script, early, late, errors)


def holds_listeners(chain, script, marks):
    """The chain's Python objects go __main__'s dict -> its 'listeners'
    list (made at its line) -> a MyListener made at subscribe()'s line."""
    root = chain["steps"][0]
    objects = [s for s in chain["steps"][2:] if s.get("pytype")]
    where = [(s["pytype"], s.get("pykey"), python_frame(s)) for s in objects]
    return (root["kind"] == "pymodule" and root["module"] == "__main__" and
            root["sys_modules_key"] == "__main__" and
            where[:2] == [("list", "listeners", (script, marks["listeners"])),
                          ("MyListener", None, (script, marks["subscribe"]))])


def check_growth_holders(py, script, early, late, errors):
    """listeners.py's in-run snapshots carry retainer chains: `diff
    --retainers` names the module-level list (its key and line) that holds
    the listeners made between them (their sites, 150 more), and so does
    `report --retainers` of the later one."""
    name = py + " listeners held"
    marks = cp.markers(script)
    diff = leakscope("diff", early, late, "--retainers", "--format", "json")
    grown = json.loads(diff.stdout).get("retainers", []) if diff.returncode == 0 else []
    held = [g for g in grown if holds_listeners(g, script, marks)]
    cp.expect(errors, name + " diff", held and
              all(g["size_diff"] > 0 and g["count_diff"] > 0 for g in held),
              "no chain of diff --retainers through __main__.listeners (line %d) to a "
              "MyListener (line %d) to a site that grew: %r (stderr %r)" %
              (marks["listeners"], marks["subscribe"],
               [(g["count_diff"], python_path(g)) for g in grown], diff.stderr[-300:]))
    want = "sys.modules['__main__'].__dict__['listeners'] -> list (listeners.py:%d " \
           "<module>()) -> MyListener (listeners.py:%d subscribe())" % \
           (marks["listeners"], marks["subscribe"])
    text = leakscope("diff", early, late, "--retainers").stdout
    cp.expect(errors, name + " diff text", "what holds the growth" in text and want in text,
              "no %r in:\n%s" % (want, text[-3000:]))
    report = leakscope("report", late, "--retainers").stdout
    cp.expect(errors, name + " report", want in report, "no %r in:\n%s" % (want, report[-3000:]))


def check_typed_cache(py, work, errors):
    """typed_cache.py: each entry a dict, a list and a str made on one
    line: 300 of each, then 800, there."""
    name = py + " typed cache"
    script = os.path.join(SCRIPTS, "typed_cache.py")
    where = ("handle", script, cp.markers(script)["entry"])
    snaps = cp.run([py, script], work)
    for label, want in (("after300", 300), ("after800", 800)):
        got = {t: typed_at(snaps[label], t, where) for t in ("dict", "list", "str")}
        cp.expect(errors, "%s %s" % (name, label),
                  got["str"] == want and all(want - FREELIST <= got[t] <= want
                                             for t in ("dict", "list")),
                  "at typed_cache.py:%d: %r, want %d str, %d to %d dict and list" %
                  (where[2], got, want, want - FREELIST, want))
    chains = {label: snaps[label].sections.get(RETAINERS, (0, 0, 0))[1]
              for label in ("after300", "after800", "python-exit")}
    cp.expect(errors, name + " chains by default", chains["after300"] == 0 and
              chains["after800"] == 0 and chains["python-exit"] > 0,
              "retainer steps %r: in-run snapshots have none unless python_retainers=2 "
              "(a walk of the heap each), python-exit has them" % (chains,))
    diff = leakscope("diff", cp.snap_path(work, "after300"), cp.snap_path(work, "after800"),
                     "--group-by", "pytypeline", "--format", "json")
    grew = {}
    for entry in json.loads(diff.stdout)["stats"] if diff.returncode == 0 else []:
        frame = entry["stack"][0] if entry["stack"] else {}
        if (frame.get("function"), frame.get("file"), frame.get("line")) == where:
            grew[entry["pytype"]] = entry["count_diff"]
    cp.expect(errors, name + " diff", grew.get("str") == 500 and
              all(500 - FREELIST <= grew.get(t, 0) <= 500 + FREELIST for t in ("dict", "list")),
              "growth at the entry line by pytypeline: %r, want +500 str, about +500 "
              "dict and list (%s)" % (grew, diff.stderr[-300:]))


def check_retyped(py, work, errors):
    """retyped.py: a class freed after a snapshot, another made (most often
    in the same block) before the next: the shim keeps its typing state
    between snapshots, never what it proved."""
    name = py + " retyped"
    snaps = cp.run([py, os.path.join(SCRIPTS, "retyped.py")], work)
    counts = {label: {t: sum(blocks for _, blocks, _ in snaps[label].objects_of(t))
                      for t in ("Before", "After")} for label in ("first", "second")}
    cp.expect(errors, name, counts["first"] == {"Before": 200, "After": 0} and
              counts["second"] == {"Before": 0, "After": 300},
              "instances per class: %r, want 200 Before, then 300 After" % (counts,))


def check_churn(py, work, errors):
    """Objects freed, and big ones unmapped, while `leakscope snapshot`
    reads them from outside: the program runs on to its end, and every
    snapshot reads back."""
    name = py + " churn"
    for entry in os.listdir(work):
        os.unlink(os.path.join(work, entry))
    started_file = os.path.join(work, "started")
    env = dict(os.environ, LD_PRELOAD=cp.ARGS.shim, PYTHONMALLOC="malloc",
               MALLOC_MMAP_THRESHOLD_="65536",
               LEAKSCOPE_OPTIONS="output_dir=%s:summary=0:snapshot_signal=%d" %
               (work, SNAPSHOT_SIGNAL))
    # it churns until its stdin ends: however long the snapshots take
    program = subprocess.Popen([py, os.path.join(SCRIPTS, "churn.py"), started_file], env=env,
                               stdin=subprocess.PIPE)
    while not os.path.exists(started_file) and program.poll() is None:
        time.sleep(0.05)
    asked = [leakscope("snapshot", "--timeout", "120", str(program.pid)) for _ in range(4)]
    program.stdin.close()
    status = program.wait(timeout=300)
    paths = [a.stdout.strip() for a in asked if a.returncode == 0]
    cp.expect(errors, name, status == 0 and len(paths) == 4,
              "exit %d, %d of 4 snapshots: %r" % (status, len(paths),
                                                  [a.stderr[-200:] for a in asked]))
    unreadable, churned = 0, 0
    for path in paths:
        snap = cp.lkspy.Snapshot(path)
        unreadable += snap.python["unreadable_blocks"]
        churned += sum(b for _, b, _ in snap.objects_of("Churned"))
        report = leakscope("report", path, "--group-by", "pytype")
        cp.expect(errors, name + " " + os.path.basename(path),
                  report.returncode == 0 and snap.python["typed_blocks"] > 0,
                  "typed %d, report exit %d: %s" % (snap.python["typed_blocks"],
                                                     report.returncode, report.stderr[-300:]))
    cp.expect(errors, name, churned > 0, "no Churned objects in any snapshot")
    print("%s: %d snapshots, %d Churned objects, %d blocks freed while read" %
          (name, len(paths), churned, unreadable))


def python_frame(step):
    """(file, line) of a block step's innermost Python frame."""
    frame = next((f for f in step["stack"] if f["address"].startswith("0xfe")), {})
    return (frame.get("file"), frame.get("line"))


def python_path(chain):
    """(type, file, line) of each Python object of a chain, after its root."""
    return [(step["pytype"],) + python_frame(step) for step in chain["steps"][1:]
            if step.get("pytype")]


def check_retainers(py, work, errors):
    """retained.py: the python-exit snapshot's chains go from module
    __main__'s dict to the module-level list, then to a MyListener made at
    subscribe()'s line; and through class Cache to its store dict."""
    name = py + " retainers"
    script = os.path.join(SCRIPTS, "retained.py")
    marks = cp.markers(script)
    cp.run([py, script], work)
    path = cp.snap_path(work, "python-exit")
    result = leakscope("report", path, "--retainers", "--format", "json")
    chains = json.loads(result.stdout)["processes"][0]["retainers"] if result.returncode == 0 else []
    paths = [python_path(c) for c in chains if c["steps"][0]["kind"] == "pymodule" and
             c["steps"][0]["module"] == "__main__"]
    listener = [p for p in paths if p and p[-1] == ("MyListener", script, marks["subscribe"])]
    cp.expect(errors, name + " listeners", listener and listener[0][0][0] == "dict" and
              listener[0][1:] == [("list", script, marks["listeners"]),
                                  ("MyListener", script, marks["subscribe"])],
              "no chain module __main__ dict -> list (line %d) -> MyListener (line %d): %r "
              "(stderr %r)" % (marks["listeners"], marks["subscribe"], paths, result.stderr[-300:]))
    cached = [p for p in paths if p and p[-1] == ("str", script, marks["remember"])]
    cp.expect(errors, name + " class cache", cached and [t for t, _, _ in cached[0]] ==
              ["dict", "type", "dict", "dict", "str"] and cached[0][1][2] == marks["store"] - 1,
              "no chain module __main__ dict -> type Cache -> its dict -> store -> str: %r" %
              (cached,))
    bad = os.path.join(work, "bad.lks")
    cp.corrupt(path, bad, cp.lkspy.Snapshot(path).sections[14][0], "<I", 0xFFFFFF)
    refused = leakscope("report", bad, "--retainers")
    cp.expect(errors, name + " reader", refused.returncode != 0 and
              "python retainer 0" in refused.stderr,
              "a python retainer past the chains accepted: %r" % refused.stderr[-300:])
    text = leakscope("report", path, "--retainers").stdout
    want = "sys.modules['__main__'].__dict__['listeners'] -> list (retained.py:%d " \
           "<module>()) -> MyListener (retained.py:%d subscribe())" % \
           (marks["listeners"], marks["subscribe"])
    cp.expect(errors, name + " text", want in text, "no %r in:\n%s" % (want, text[-3000:]))


def unchained(snap):
    """{innermost Python frame: (reason, walked)} of the sites without a chain."""
    if PYUNCHAINED not in snap.sections:
        return {}
    return {tuple(snap.py_stack(trace)[:1]): (reason, walked)
            for trace, reason, walked in snap._records(PYUNCHAINED, struct.Struct("<IIQ"))}


def check_unreached_diff(before, grown, held, marks, name, errors):
    """`diff --retainers` of unreached.py's two snapshots: the chain of the
    site a module holds, and under its growth the site no module reaches,
    in the words of `report --retainers`; in JSON under "unchained"."""
    text = leakscope("diff", before, grown, "--retainers").stdout
    lines = text.splitlines()
    said = [i for i, line in enumerate(lines) if "has no chain" in line and
            "unreached.py:%d" % marks["local"] in line and "no module reaches it" in line]
    cp.expect(errors, name + " diff text", held in text and said and
              lines[said[0] - 1].endswith("blocks) since the older snapshot:"),
              "want the chain %r and, under its growth, work()'s line without one in:\n%s" %
              (held, text[-3000:]))
    data = json.loads(leakscope("diff", before, grown, "--retainers", "--format", "json").stdout)
    none = [u for u in data.get("unchained", []) if u["reason"] == "unreached" and
            u["size_diff"] > 0 and u["count_diff"] > 0 and
            any(f.get("line") == marks["local"] for f in u["stack"])]
    cp.expect(errors, name + " diff json", none,
              "no grown 'unreached' site at line %d in %r" %
              (marks["local"], data.get("unchained")))


def check_unreached(py, work, errors):
    """unreached.py: of two sites that grew, the one only a running
    function's local holds has no chain, and the snapshot says why (every
    block the modules reach was walked), while the other's chain is there;
    with a budget of 50 blocks, neither has one, and the report says the
    walk stopped at its budget."""
    name = py + " unreached"
    script = os.path.join(SCRIPTS, "unreached.py")
    marks = cp.markers(script)
    local = (("work", script, marks["local"]),)
    cp.run([py, script], work, ":python_retainers=2")
    path = cp.snap_path(work, "grown")
    none = unchained(cp.lkspy.Snapshot(path))
    cp.expect(errors, name + " record", none.get(local, (0, 0))[0] == PYU_UNREACHED and
              none[local][1] > 0, "no 'unreached' record for work()'s line %d: %r" %
              (marks["local"], none))
    bad = os.path.join(work, "bad.lks")
    cp.corrupt(path, bad, cp.lkspy.Snapshot(path).sections[PYUNCHAINED][0] + 4, "<I", 9)
    refused = leakscope("report", bad, "--retainers")
    cp.expect(errors, name + " reader", refused.returncode != 0 and
              "python site without a chain 0: reason 9" in refused.stderr,
              "a site without a chain for reason 9 accepted: %r" % refused.stderr[-300:])
    text = leakscope("report", path, "--retainers").stdout
    held = "sys.modules['__main__'].__dict__['kept'] -> list (unreached.py:%d <module>()) " \
           "-> Held (unreached.py:%d hold())" % (marks["kept"], marks["hold"])
    said = [line for line in text.splitlines() if "has no chain" in line]
    cp.expect(errors, name + " text", held in text and any(
        "unreached.py:%d" % marks["local"] in line and "no module reaches it" in line
        for line in said), "want the chain %r and work()'s line without one in:\n%s" %
              (held, text[-3000:]))
    check_unreached_diff(cp.snap_path(work, "before"), path, held, marks, name, errors)
    cp.run([py, script], work, ":python_retainers=2:python_retain_blocks=50")
    path = cp.snap_path(work, "grown")
    none = unchained(cp.lkspy.Snapshot(path))
    text = leakscope("report", path, "--retainers").stdout
    cp.expect(errors, name + " budget", none.get(local, (0, 0)) == (PYU_BUDGET, 50) and
              "stopped at its budget of 50 blocks" in text and held not in text,
              "python_retain_blocks=50: records %r, report:\n%s" % (none, text[-3000:]))


def check_without_types(work, errors, py):
    """No CPython, or python_types=0: no type records, and the report says
    why there are none."""
    plain = cp.run([cp.ARGS.plain], work)["exit"]
    path = cp.snap_path(work, "exit")
    said = leakscope("report", path, "--group-by", "pytype")
    cp.expect(errors, "plain program", not plain.types and not plain.objects and
              said.returncode == 0 and "no CPython in the process" in said.stdout,
              "types %r, report %r" % (plain.types, said.stdout[:500]))
    held = leakscope("report", path, "--retainers")
    cp.expect(errors, "plain program retainers", held.returncode == 0 and
              "what keeps the largest reachable sites alive:" in held.stdout and
              "module " not in held.stdout and plain.sections.get(14, (0, 0))[1] == 0,
              "report --retainers: %r" % held.stdout[-1500:])
    off = cp.run([py, os.path.join(SCRIPTS, "typed_cache.py")], work,
                 ":python_types=0")["after800"]
    report = json.loads(leakscope("report", cp.snap_path(work, "after800"),
                                  "--format", "json").stdout)
    cp.expect(errors, "python_types=0", not off.python["flags"] & 0x4 and not off.objects
              and report["processes"][0]["python"]["objects"] is None and off.sites,
              "python_types=0 still typed: %r" % (off.python,))


def check_reader(py, work, errors):
    """The reporter refuses a snapshot whose typed objects lie."""
    snap = cp.run([py, os.path.join(SCRIPTS, "typed_cache.py")], work)["after300"]
    path = cp.snap_path(work, "after300")
    objects_at = snap.sections[13][0]
    typed_at_offset = snap.sections[9][0] + 64  # lks_python.typed_blocks
    cases = [
        ("unknown type", objects_at + PYOBJECTS_AT_TYPE, "<I", 0xFFFFFF, "python objects"),
        ("typed count", typed_at_offset, "<Q", 1, "were typed"),
    ]
    for case, offset, fmt, value, message in cases:
        bad = os.path.join(work, "bad.lks")
        cp.corrupt(path, bad, offset, fmt, value)
        result = leakscope("report", bad)
        cp.expect(errors, "reader: " + case, result.returncode != 0 and
                  message in result.stderr, "accepted, or said %r" % result.stderr[-300:])


def main():
    import argparse
    parser = argparse.ArgumentParser()
    for option in ("--shim", "--leakscope", "--ext", "--plain"):
        parser.add_argument(option, required=True)
    parser.add_argument("--minor")
    parser.add_argument("--kind", choices=("system", "pyenv"))
    cp.ARGS = args = parser.parse_args()
    for option in ("shim", "leakscope", "ext", "plain"):
        setattr(args, option, os.path.abspath(getattr(args, option)))
    found, skipped = cp.interpreters()
    if args.minor:
        found = [p for p in found if p.endswith("python" + args.minor)]
    if args.kind:
        found = [p for p in found if p.startswith(cp.PYENV) == (args.kind == "pyenv")]
    if not found:
        print("skipped: no %sCPython %s here" % (args.kind + " " if args.kind else "",
                                                  args.minor or "3.11-3.13"))
        return 77
    errors = []
    with tempfile.TemporaryDirectory() as work:
        if args.minor:
            checks = [(py, c) for py in found
                      for c in (check_listener_growth, check_typed_cache, check_retyped,
                                check_churn, check_retainers, check_unreached)]
        else:
            for minor in skipped:
                print("note: no CPython %s on this machine" % minor)
            checks = [(found[0], c) for c in (check_without_types, check_reader)]
        for py, check in checks:
            print("interpreter:", py, check.__name__)
            try:
                if check is check_without_types:
                    check(work, errors, py)
                else:
                    check(py, work, errors)
            except AssertionError as failure:
                errors.append("%s %s: %s" % (py, check.__name__, failure))
    for error in errors:
        print("FAIL:", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
