#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One case of the CI gate's tests (docs/CI.md), named on the command line.

Most cases run gate_prog under `leakscope run`; the class cases rewrite the
class byte of each site in a real snapshot (and the flags of a handle), so
that every class of --fail-on is tested whatever the reachability scan
decides.

Usage: test_gate.py --leakscope EXE --shim SO --prog EXE --prog-o2 EXE
                    --source gate_prog.c CASE
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import lkstest
from lkstest import CheckError, expect

GATE_FAILED = 23
SITES = ("leak_definite", "leak_new", "keep_reachable", "other_leak", "lib_leak",
         "open_handle")
CLASS = {"unfreed": 0, "definite": 1, "indirect": 2, "possible": 3, "reachable": 4}
SECTION_RETAINERS = 8  # enum lks_section_kind
LEAK_CLASSES = "definite,indirect,possible"  # whatever the scan says of a lost block


class Gate:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.count = 0
        self.lines = {}
        srcdir = os.path.dirname(args.source)
        for name in os.listdir(srcdir):
            if name.endswith(".c"):
                markers = lkstest.marker_lines(os.path.join(srcdir, name), "gate-site")
                self.lines.update({site: (name, line) for site, line in markers.items()})

    def path(self, name):
        self.count += 1
        return os.path.join(self.tmp, f"{self.count}-{name}")

    def leakscope(self, args, cwd=None):
        return subprocess.run([self.args.leakscope] + args, capture_output=True,
                              text=True, cwd=cwd, timeout=100)

    def run(self, gate_args, prog_args, prog=None, cwd=None):
        """`leakscope run`: (exit status, JSON report, stderr)."""
        report = self.path("run.json")
        done = self.leakscope(["run", "--shim", self.args.shim, "--json", report]
                              + gate_args + ["--", prog or self.args.prog] + prog_args,
                              cwd=cwd)
        return done.returncode, load_json(report), done.stderr

    def leakscope_run_tree(self, gate_args, argv):
        """`leakscope run` of a command line: (exit status, JSON, stderr)."""
        report = self.path("tree.json")
        done = self.leakscope(["run", "--shim", self.args.shim, "--json", report]
                              + gate_args + ["--"] + argv)
        return done.returncode, load_json(report), done.stderr

    def report(self, gate_args, snapshots):
        report = self.path("report.json")
        done = self.leakscope(["report", "-o", os.devnull, "--json", report]
                              + gate_args + snapshots)
        return done.returncode, load_json(report), done.stderr

    def snapshot(self, mode="leaks"):
        """A snapshot of gate_prog in `mode` and its JSON report."""
        directory = self.path("snapshots")
        report = self.path("snapshot.json")
        done = self.leakscope(["run", "--shim", self.args.shim, "-d", directory,
                               "--json", report, "--", self.args.prog, mode])
        expect(done.returncode == 0, f"run for a snapshot: {done.stderr}")
        files = sorted(f for f in os.listdir(directory) if f.endswith(".lks"))
        expect(len(files) == 1, f"one snapshot expected, found {files}")
        return os.path.join(directory, files[0]), load_json(report)


def load_json(path):
    return lkstest.load_json(path) if os.path.exists(path) else None


def site_of(stack):
    for frame in stack:
        if frame["function"] in SITES:
            return frame["function"]
    return None


def gate_sites(report, new_only=True):
    """{(rule, site function)} of the gate's verdict."""
    return {(s["rule"], s["function"]) for s in report["gate"]["sites"]
            if s["new"] or not new_only}


def traces_by_site(report):
    traces = {}
    proc = report["processes"][0]
    for group in proc["leaks"] + proc["handles"] + proc.get("leaked_into_child", []):
        name = site_of(group["stack"])
        if name:
            traces[group["trace"]] = name
    return traces


def patch_snapshot(gate, snapshot, report, classes, child_fds=False):
    """A copy of `snapshot` whose sites have the classes {function: class}
    (others untouched); child_fds marks open_handle's fd as inherited."""
    traces = traces_by_site(report)
    with open(snapshot, "rb") as f:
        data = bytearray(f.read())
    flags = struct.unpack_from("<I", data, lkstest.HEADER_FLAGS_AT)[0]
    unclassified = all(c == CLASS["unfreed"] for c in classes.values())
    struct.pack_into("<I", data, lkstest.HEADER_FLAGS_AT,
                     flags & ~1 if unclassified else flags | 1)
    open_handles = 0
    for kind, size, offset, count in lkstest.sections(data):
        for k in range(count):
            record = offset + k * size
            name = traces.get(struct.unpack_from(
                "<I", data, record + 8 if kind == lkstest.SECTION_HANDLES else record)[0])
            if kind == lkstest.SECTION_SITES and (name in classes or unclassified):
                data[record + 4] = classes.get(name, CLASS["unfreed"])
            if kind == lkstest.SECTION_HANDLES and child_fds and name == "open_handle":
                struct.pack_into("<H", data, record + 6, 1)
                open_handles -= 1  # handles_open counts no inherited fd
    (counters,) = [s[2] for s in lkstest.sections(data) if s[0] == lkstest.SECTION_COUNTERS]
    at = counters + lkstest.COUNTER_HANDLES_OPEN_AT
    struct.pack_into("<Q", data, at, struct.unpack_from("<Q", data, at)[0] + open_handles)
    if unclassified:  # retainer chains come only with a scan: cut them out
        table = lkstest.sections(data)
        (index,) = [i for i, s in enumerate(table) if s[0] == SECTION_RETAINERS]
        _, size, offset, count = table[index]
        removed = -(-size * count // 8) * 8
        struct.pack_into("<Q", data, lkstest.section_entry_at(index) + 16, 0)
        for later in range(index + 1, len(table)):  # the sections after move down
            struct.pack_into("<Q", data, lkstest.section_entry_at(later) + 8,
                             table[later][2] - removed)
        del data[offset:offset + removed]
    patched = gate.path(os.path.basename(snapshot))
    with open(patched, "wb") as f:
        f.write(lkstest.seal(data))
    return patched


def write(gate, name, text):
    path = gate.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


# --- cases -------------------------------------------------------------------

def case_exit_codes(gate):
    rc, report, _ = gate.run(["--error-exitcode", "42"], ["clean"])
    expect(rc == 0 and not report["gate"]["failed"], f"clean program: exit {rc}")
    rc, report, _ = gate.run(["--error-exitcode", "42"], ["clean", "3"])
    expect(rc == 3, f"clean program exiting 3, gate passing: exit {rc}, not 3")
    rc, report, _ = gate.run(["--error-exitcode", "42"], ["leaks"])
    expect(rc == 42 and report["gate"]["failed"], f"leaks, --error-exitcode 42: exit {rc}")
    rc, report, _ = gate.run(["--fail-on", LEAK_CLASSES], ["leaks", "5"])
    expect(rc == GATE_FAILED, f"failing gate, no --error-exitcode: exit {rc}, not 23")
    rc, report, _ = gate.run([], ["leaks"])
    expect(rc == 0 and "gate" not in report, f"no gate option: exit {rc}, not 0")
    rc, report, err = gate.run(["--junit", gate.path("x.xml")], ["leaks"])
    expect(rc == 0 and report["gate"]["failed"] and "would fail" in err,
           f"--junit alone reports but does not decide: exit {rc}")
    snapshot, _ = gate.snapshot("leaks")
    rc, report, _ = gate.report(["--fail-on", "reachable", "--max-leaks", "1"], [snapshot])
    expect(rc == 0, f"report, gate passing: exit {rc}")
    rc, report, _ = gate.report(["--fail-on", "handles"], [snapshot])
    expect(rc == GATE_FAILED, f"report, gate failing: exit {rc}")


def class_snapshot(gate):
    snapshot, report = gate.snapshot("leaks")
    return patch_snapshot(gate, snapshot, report, {
        "leak_definite": CLASS["definite"], "other_leak": CLASS["indirect"],
        "lib_leak": CLASS["possible"], "keep_reachable": CLASS["reachable"]})


def case_fail_on_classes(gate):
    snapshot = class_snapshot(gate)
    for klass, site in (("definite", "leak_definite"), ("indirect", "other_leak"),
                        ("possible", "lib_leak"), ("reachable", "keep_reachable")):
        rc, report, _ = gate.report(["--fail-on", klass], [snapshot])
        expect(rc == GATE_FAILED, f"--fail-on {klass}: exit {rc}")
        sites = gate_sites(report)
        expect(sites == {("leak/" + klass, site)}, f"--fail-on {klass}: {sites}")
    rc, report, _ = gate.report(["--error-exitcode", "7"], [snapshot])
    sites = gate_sites(report)
    expect(rc == 7 and sites == {("leak/definite", "leak_definite"),
                                 ("leak/indirect", "other_leak"),
                                 ("handle/open", "open_handle")},
           f"default --fail-on (definite,indirect,handles): exit {rc}, {sites}")


def case_unfreed_is_definite(gate):
    snapshot, report = gate.snapshot("leaks")
    snapshot = patch_snapshot(gate, snapshot, report, {"leak_definite": CLASS["unfreed"]})
    rc, report, _ = gate.report(["--fail-on", "definite"], [snapshot])
    sites = gate_sites(report)
    expect(rc == GATE_FAILED and ("leak/unfreed", "leak_definite") in sites and
           ("leak/unfreed", "keep_reachable") in sites,
           f"unfreed sites with --fail-on definite: exit {rc}, {sites}")
    rc, report, _ = gate.report(["--fail-on", "indirect,possible,reachable"], [snapshot])
    expect(rc == 0 and not report["gate"]["sites"],
           f"unfreed sites without definite in --fail-on: exit {rc}")


def case_handles(gate):
    snapshot = class_snapshot(gate)
    rc, report, _ = gate.report(["--fail-on", "handles"], [snapshot])
    sites = gate_sites(report)
    expect(rc == GATE_FAILED and sites == {("handle/open", "open_handle")},
           f"--fail-on handles: exit {rc}, {sites}")
    expect(report["gate"]["new_handles"] == 1, "one open handle counted")
    rc, report, _ = gate.report(["--fail-on", "definite"], [snapshot])
    expect(("handle/open", "open_handle") not in gate_sites(report),
           "a handle failing without handles in --fail-on")


def case_child_fds(gate):
    snapshot, report = gate.snapshot("leaks")
    snapshot = patch_snapshot(gate, snapshot, report, {}, child_fds=True)
    rc, report, _ = gate.report(["--fail-on", "child-fds"], [snapshot])
    sites = gate_sites(report)
    expect(rc == GATE_FAILED and sites == {("handle/child-fd", "open_handle")},
           f"--fail-on child-fds: exit {rc}, {sites}")
    rc, report, _ = gate.report(["--fail-on", "handles"], [snapshot])
    expect(rc == 0, f"an inherited fd is not an open handle: exit {rc}")
    baseline = gate.path("baseline.json")
    gate.leakscope(["report", "-o", os.devnull, "--write-baseline", baseline, snapshot])
    rc, report, _ = gate.report(["--fail-on", "child-fds", "--baseline", baseline],
                                [snapshot])
    expect(rc == 0 and report["gate"]["known_sites"] == 1,
           f"an inherited fd in the baseline: exit {rc}, {report['gate']}")


def case_thresholds(gate):
    snapshot = class_snapshot(gate)
    leaks = ["--fail-on", LEAK_CLASSES]  # 100 + 30 + 20 bytes from 3 sites
    for option, limit, over in (("--max-leaked-bytes", 150, "over_max_leaked_bytes"),
                                ("--max-leaks", 3, "over_max_leaks")):
        rc, report, _ = gate.report(leaks + [option, str(limit)], [snapshot])
        expect(rc == 0 and not report["gate"][over], f"{option} {limit} (at): exit {rc}")
        rc, report, _ = gate.report(leaks + [option, str(limit - 1)], [snapshot])
        expect(rc == GATE_FAILED and report["gate"][over],
               f"{option} {limit - 1} (over): exit {rc}")
    rc, report, _ = gate.report(["--fail-on", "handles", "--max-handles", "1"], [snapshot])
    expect(rc == 0, f"--max-handles 1 with one handle: exit {rc}")
    rc, report, _ = gate.report(["--fail-on", "handles", "--max-handles", "0"], [snapshot])
    expect(rc == GATE_FAILED and report["gate"]["over_max_handles"],
           f"--max-handles 0 with one handle: exit {rc}")


def case_started_only(gate):
    rc, report, _ = gate.run(["--fail-on", LEAK_CLASSES], ["fork"])
    pids = {s["pid"] for s in report["gate"]["sites"]}
    child = report["processes"][1]["pid"]
    expect(rc == GATE_FAILED and child in pids and
           ("leak/definite", "leak_new") in gate_sites(report),
           f"whole tree: the child's leak must count ({pids})")
    rc, report, _ = gate.run(["--fail-on", LEAK_CLASSES, "--started-only"], ["fork"])
    pids = {s["pid"] for s in report["gate"]["sites"]}
    expect(pids == {report["processes"][0]["pid"]} and
           all(name != "leak_new" for _, name in gate_sites(report)),
           f"--started-only: only the started process ({pids})")


def suppressed(report):
    return {site_of(leak["stack"]) for leak in report["processes"][0]["leaks"]
            if leak["suppressed"] and not leak["suppressed"].startswith("builtin:")}


def check_suppression(gate, rule, site, size):
    supp = write(gate, "supp", f"# {site}\n{rule}\nleak:no_such_function\n")
    rc, report, err = gate.run(["--fail-on", LEAK_CLASSES, "--suppressions", supp],
                               ["leaks"])
    names = suppressed(report)
    expect(names == {site}, f"{rule}: suppressed {names}, expected {{{site}}}")
    expect(site not in {name for _, name in gate_sites(report)}, f"{rule}: still failing")
    used, unused = report["gate"]["suppressions"]
    expect(used["sites"] == 1 and used["bytes"] == size and not used["unused"],
           f"{rule}: counted {used}")
    expect(unused["unused"] and "unused suppression" in err and "no_such_function" in err,
           "the unused suppression must be listed")
    expect(f"{rule} matched 1 site, {size} bytes" in err, f"{rule}: match not reported")


def case_suppress_function(gate):
    check_suppression(gate, "leak:leak_def*", "leak_definite", 100)


def case_suppress_file(gate):
    check_suppression(gate, "leak:gate_other.c", "other_leak", 30)


def case_suppress_module(gate):
    check_suppression(gate, "leak:^libgatelib*.so$", "lib_leak", 20)


def case_suppress_lsan_file(gate):
    supp = write(gate, "lsan.supp", "# LeakSanitizer suppressions\n"
                 "leak:leak_definite\nleak:gate_other.c\nleak:libgatelib.so\n")
    rc, report, _ = gate.run(["--fail-on", LEAK_CLASSES, "--suppressions", supp],
                             ["leaks"])
    names = suppressed(report)
    expect(rc == 0 and names == {"leak_definite", "other_leak", "lib_leak"},
           f"LSan file: exit {rc}, suppressed {names}")


def case_suppress_handle(gate):
    supp = write(gate, "supp", "handle:open_h?ndle\n")
    rc, report, err = gate.run(["--fail-on", "handles", "--suppressions", supp], ["leaks"])
    expect(rc == 0 and not report["gate"]["sites"], f"handle suppression: exit {rc}")
    expect(report["processes"][0]["handles"][0]["suppressed"], "handle not marked")
    expect("matched 1 handle" in err, "handle match not reported")


def case_baseline(gate):
    baseline = gate.path("baseline.json")
    rc, _, _ = gate.run(["--write-baseline", baseline], ["leaks"])
    expect(rc == 0 and os.path.exists(baseline), "--write-baseline")
    # another build (-O2) of the same code: every site is still known
    rc, report, err = gate.run(["--baseline", baseline], ["leaks"], prog=gate.args.prog_o2)
    expect(rc == 0 and report["gate"]["known_sites"] >= 4 and not gate_sites(report),
           f"baseline, same leaks, -O2 build: exit {rc}, new {gate_sites(report)}\n{err}")
    rc, report, _ = gate.run(["--baseline", baseline, "--error-exitcode", "9"], ["new"],
                             prog=gate.args.prog_o2)
    sites = gate_sites(report)
    expect(rc == 9 and {name for _, name in sites} == {"leak_new"},
           f"baseline, one new leak: exit {rc}, new {sites}")


def case_print_suppressions(gate):
    snapshot, _ = gate.snapshot("leaks")
    supp = gate.path("printed.supp")
    done = gate.leakscope(["report", "-o", os.devnull, "--print-suppressions", supp,
                           snapshot])
    with open(supp) as f:
        lines = f.read().splitlines()
    expect(done.returncode == 0 and not done.stdout and
           "leak:^leak_definite$" in lines and "handle:^open_handle$" in lines,
           f"--print-suppressions FILE: exit {done.returncode}, stdout {done.stdout!r}, "
           f"file {lines}")
    # under `run`, the program's stdout stays the program's own
    printed = gate.path("run.supp")
    done = gate.leakscope(["run", "--shim", gate.args.shim, "--print-suppressions", printed,
                           "--", "/bin/sh", "-c", f"echo program output; {gate.args.prog} leaks"])
    with open(printed) as f:
        text = f.read()
    expect(done.stdout == "program output\n" and "leak:^leak_definite$" in text,
           f"run --print-suppressions FILE: stdout {done.stdout!r}, file {text!r}")
    rc, report, err = gate.report(["--error-exitcode", "4", "--suppressions", supp],
                                  [snapshot])
    expect(rc == 0 and "unused" not in err, f"printed suppressions: exit {rc}\n{err}")


def case_junit(gate):
    junit = gate.path("gate.xml")
    rc, report, _ = gate.run(["--fail-on", LEAK_CLASSES, "--junit", junit], ["fork"])
    expect(rc == GATE_FAILED, f"exit {rc}")
    root = ET.parse(junit).getroot()
    expect(root.tag == "testsuites" and root.get("tests") == "2" and
           root.get("failures") == "2", f"testsuites {root.attrib}")
    cases = root.findall("./testsuite/testcase")
    pids = [p["pid"] for p in report["processes"]]
    name = os.path.basename(gate.args.prog)
    # no pid in a name: CI servers match test cases by name across pipelines
    expect([c.get("name") for c in cases] == [f"{name} #1", f"{name} #2"],
           f"one testcase per process: {[c.get('name') for c in cases]}")
    expect(all(c.find("system-out").text.startswith(f"pid {pid}: ")
               for c, pid in zip(cases, pids)), "each testcase's pid in its system-out")
    again = gate.path("again.xml")
    gate.run(["--fail-on", LEAK_CLASSES, "--junit", again], ["fork"])
    expect([c.get("name") for c in ET.parse(again).getroot().iter("testcase")] ==
           [c.get("name") for c in cases], "the same names in a second run")
    file, line = gate.lines["leak_definite"]
    parent = {f.get("message"): f for f in cases[0].findall("failure")}
    message = f"100 bytes in 1 block definitely lost at leak_definite ({file}:{line})"
    expect(message in parent, f"parent failures: {list(parent)}")
    stack = parent[message].text.splitlines()
    expect(parent[message].get("type") == "leak/definite" and
           re.fullmatch(rf"#0 leak_definite \(.*/{file}:{line}\)", stack[0]) and
           stack[1].startswith("#1 main ("), f"failure text: {stack[:2]}")
    child = [f.get("message") for f in cases[1].findall("failure")]
    expect(any("leak_new" in m for m in child), f"child failures: {child}")
    expect(len(cases[0].findall("failure")) == len(
        [s for s in report["gate"]["sites"] if s["pid"] == pids[0]]),
        "one failure per failing site")
    baseline, junit = gate.path("baseline.json"), gate.path("passing.xml")
    gate.run(["--write-baseline", baseline], ["leaks"])
    rc, _, _ = gate.run(["--baseline", baseline, "--junit", junit], ["leaks"])
    root = ET.parse(junit).getroot()
    out = root.find("./testsuite/testcase/system-out")
    expect(rc == 0 and root.get("failures") == "0" and not list(root.iter("failure"))
           and out is not None and "known from the baseline: 100 bytes in 1 block"
           in out.text,
           f"passing gate: exit {rc}, {ET.tostring(root)[:400]}")


def check_sarif_required(log):
    """The SARIF 2.1.0 schema's required properties, for what we write."""
    expect(log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"], "sarifLog")
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        expect(isinstance(driver["name"], str), "toolComponent.name")
        ids = [rule["id"] for rule in driver["rules"]]
        expect(len(ids) == len(set(ids)), "reportingDescriptor ids unique")
        for rule in driver["rules"]:
            # multiformatMessageString: text is required; code scanning shows help
            for member in ("shortDescription", "fullDescription", "help"):
                expect(isinstance(rule.get(member, {}).get("text"), str) and
                       len(rule[member]["text"]) > 20, f"rule {rule['id']}: {member}")
        for result in run["results"]:
            expect(isinstance(result["message"]["text"], str), "result.message.text")
            expect(ids[result["ruleIndex"]] == result["ruleId"], "ruleIndex")
            expect(result["level"] in ("none", "note", "warning", "error"), "level")
            expect(result["locations"], "GitHub code scanning wants a location")
            for flow in result.get("codeFlows", []):
                for thread in flow["threadFlows"]:
                    expect(thread["locations"], "threadFlow.locations")
                    for step in thread["locations"]:
                        check_physical(step["location"]["physicalLocation"])
            for stack in result.get("stacks", []):
                expect(isinstance(stack["frames"], list), "stack.frames")
            check_physical(result["locations"][0]["physicalLocation"])


def check_physical(physical):
    """The schema wants an artifactLocation or an address; code scanning
    wants a non-empty uri in every location; a region, when there is one,
    starts at a line."""
    expect(physical["artifactLocation"]["uri"], "artifactLocation.uri")
    if "region" in physical:
        expect(physical["region"]["startLine"] >= 1, "region.startLine >= 1")


def case_sarif(gate):
    srcdir = os.path.dirname(os.path.abspath(gate.args.source))
    paths = [gate.path("o0.sarif"), gate.path("o2.sarif")]
    results = []
    for prog, path in zip((gate.args.prog, gate.args.prog_o2), paths):
        rc, _, _ = gate.run(["--fail-on", LEAK_CLASSES, "--sarif", path], ["leaks"],
                            prog=prog, cwd=srcdir)
        expect(rc == GATE_FAILED, f"exit {rc}")
        log = lkstest.load_json(path)
        check_sarif_required(log)
        run = log["runs"][0]
        expect(run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == f"file://{srcdir}/",
               f"%SRCROOT%: {run['originalUriBaseIds']}")
        results.append({r["message"]["text"].split(" at ")[1].split()[0]: r
                        for r in run["results"]})
    for name in ("leak_definite", "other_leak", "lib_leak"):
        file, line = gate.lines[name]
        result = results[0][name]
        where = result["locations"][0]["physicalLocation"]
        expect(where["artifactLocation"] == {"uri": file, "uriBaseId": "%SRCROOT%"} and
               where["region"]["startLine"] == line,
               f"{name}: located at {where}, expected {file}:{line}")
        expect(result["ruleId"].startswith("leak/") and result["level"] == "error",
               f"{name}: {result['ruleId']} {result['level']}")
        steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
        first = steps[0]["location"]
        expect(first["physicalLocation"]["region"]["startLine"] == line and
               first["message"]["text"].startswith(name), f"{name}: code flow {first}")
        expect(any(s["location"]["message"]["text"].startswith("main ") for s in steps),
               f"{name}: main missing from the code flow")
        expect(result["partialFingerprints"] == results[1][name]["partialFingerprints"],
               f"{name}: fingerprint differs between -O0 and -O2 builds")


def case_sarif_no_source(gate):
    """A site in code without source lines is shown at the first frame that
    has one, system code included; with none, at the executable, with no
    made-up line."""
    results = {}
    for mode in ("header", "plain"):
        path = gate.path(mode + ".sarif")
        rc, _, err = gate.run(["--fail-on", LEAK_CLASSES, "--sarif", path], [mode],
                              prog=gate.args.nosource, cwd=gate.tmp)
        expect(rc == GATE_FAILED, f"{mode}: exit {rc}\n{err}")
        log = lkstest.load_json(path)
        check_sarif_required(log)
        ours = [r for r in log["runs"][0]["results"]
                if r["properties"].get("bytes") in (48, 64)]
        expect(len(ours) == 1, f"{mode}: results {log['runs'][0]['results']}")
        results[mode] = ours[0]["locations"][0]["physicalLocation"]
    header = results["header"]
    expect(header["artifactLocation"]["uri"] ==
           "file:///usr/include/leakscope-test/inline-alloc.h" and
           header.get("region", {}).get("startLine") == 42,
           f"a site with source only in a system header: located at {header}")
    plain = results["plain"]
    expect(plain["artifactLocation"]["uri"] == "file://" + gate.args.nosource and
           "region" not in plain,
           f"a site without any source line: located at {plain} (want the executable, "
           "no line)")


SURVIVE_EDITS = {
    "ABOVE": "static int unused_above(int x)\n{\n\treturn x * 3 + 1;\n}\n\n"
             "/* more lines above the function */\n",
    "INSIDE": "int spacer = n * 2;\n\n\tescape(&spacer);\n\t/* and a comment */",
    "SECOND": "escape(malloc(40 + (size_t)n)); /* survive-site: second */",
    "CALLER": "relay(argc);",
}


# whether a stale copy of the pointer keeps the block reachable is not
# what this case is about
SURVIVE_CLASSES = LEAK_CLASSES + ",reachable"


def build_survive(gate, name, edits=(), optimize="-O0", directory=None):
    """tests/gate/survive.c with the markers in `edits` replaced, built
    with -g in a directory of its own (another checkout), or `directory`."""
    with open(os.path.join(os.path.dirname(gate.args.source), "survive.c")) as f:
        text = f.read()
    for marker in edits:
        text = text.replace(f"/*@{marker}@*/", SURVIVE_EDITS[marker])
    where = directory or gate.path(name)
    os.makedirs(where, exist_ok=True)
    source, program = os.path.join(where, "survive.c"), os.path.join(where, "survive")
    with open(source, "w") as f:
        f.write(text)
    subprocess.run([gate.args.cc, "-g", optimize, "-o", program, source], check=True,
                   cwd=where, timeout=60)
    return program


def survive_fingerprints(gate, program):
    """{site marker: {SARIF fingerprints}} of the leaks of `program`."""
    sarif = gate.path("all.sarif")
    gate.run(["--fail-on", SURVIVE_CLASSES, "--sarif", sarif], [], prog=program)
    lines = {}
    with open(os.path.join(os.path.dirname(program), "survive.c")) as f:
        for number, text in enumerate(f, 1):
            found = re.search(r"survive-site: (\w+)", text)
            if found:
                lines[number] = found.group(1)
    prints = {}
    for result in lkstest.load_json(sarif)["runs"][0]["results"]:
        region = result["locations"][0]["physicalLocation"].get("region", {})
        if region.get("startLine") in lines:
            prints.setdefault(lines[region["startLine"]], set()).add(
                result["partialFingerprints"]["leakscopeSite/v2"])
    return prints


def case_baseline_survives(gate):
    """docs/CI.md's "What a baseline survives", measured: a baseline of
    survive.c (-O0 -g) against variants of it."""
    baseline = gate.path("baseline.json")
    base = build_survive(gate, "base")
    rc, _, err = gate.run(["--write-baseline", baseline], [], prog=base)
    expect(rc == 0, f"writing the baseline: exit {rc}\n{err}")
    first, = survive_fingerprints(gate, base)["first"]
    variants = [  # name, edits, -O, the new sites expected
        ("lines above the function", ("ABOVE",), "-O0", set()),
        ("lines inside the function, above the leak", ("INSIDE",), "-O0", set()),
        ("another checkout path", (), "-O0", set()),
        ("-O2", (), "-O2", set()),
        ("-O2, lines above and inside", ("ABOVE", "INSIDE"), "-O2", set()),
        ("a second leak in the same function", ("SECOND",), "-O0", {"second"}),
        ("a second leak, -O2 and lines above", ("SECOND", "ABOVE"), "-O2", {"second"}),
        ("a second call path to the leak", ("CALLER",), "-O0", {"first"}),
        # the limit: lines inserted above both, the known leak moved too
        ("a second leak and lines inside above both", ("SECOND", "INSIDE"), "-O0",
         {"first", "second"}),
    ]
    for number, (name, edits, optimize, new) in enumerate(variants):
        program = build_survive(gate, f"variant{number}", edits, optimize)
        rc, report, err = gate.run(["--baseline", baseline, "--error-exitcode", "9",
                                    "--fail-on", SURVIVE_CLASSES], [], prog=program)
        sites = [s for s in report["gate"]["sites"] if s["new"]]
        with open(os.path.join(os.path.dirname(program), "survive.c")) as f:
            markers = {n: m.group(1) for n, t in enumerate(f, 1)
                       for m in [re.search(r"survive-site: (\w+)", t)] if m}
        named = {markers.get(s["line"], s["function"]) for s in sites}
        expect(rc == (9 if new else 0) and named == new,
               f"{name}: exit {rc}, new sites {named}, expected {new or 'none'}\n{err}")
        # a fingerprint is the chain and the order in it: a second leak
        # above the first would take the first's, so the test adds it below
        prints = survive_fingerprints(gate, program)
        expect(first in prints.get("first", ()),
               f"{name}: the known leak's fingerprint changed ({prints} vs {first})")
        if "SECOND" in edits:
            expect(prints.get("second") and not prints["second"] & prints["first"],
                   f"{name}: two leaks of one function share a fingerprint {prints}")
        if "CALLER" in edits:
            expect(len(prints["first"]) == 2,
                   f"{name}: two call paths share a fingerprint {prints}")


def case_skip_exe(gate):
    """--skip-exe and --only-exe choose the judged processes of a tree by
    executable path or name; the others are listed as skipped."""
    prog, prog_o2 = gate.args.prog, gate.args.prog_o2
    tree = ["/bin/sh", "-c", f"{prog} leaks; {prog_o2} clean"]

    def skipped(report):
        return {os.path.basename(p["exe"]): p["skipped"] for p in report["processes"]
                if p["skipped"]}

    rc, report, err = gate.leakscope_run_tree(["--fail-on", LEAK_CLASSES], tree)
    expect(rc == GATE_FAILED and not skipped(report), f"no filter: exit {rc}")
    name = os.path.basename(prog)
    rc, report, err = gate.leakscope_run_tree(["--fail-on", LEAK_CLASSES, "--skip-exe", name],
                                              tree)
    expect(rc == 0 and skipped(report) == {name: f"--skip-exe {name}"} and
           report["gate"]["skipped_processes"] == 1 and
           f"{prog} (pid " in err and f"skipped (--skip-exe {name}), not judged" in err,
           f"--skip-exe NAME: exit {rc}, skipped {skipped(report)}\n{err}")
    leaks = [p for p in report["processes"] if p["skipped"]][0]["leaks"]
    expect(not leaks, "a skipped process is listed, not read")
    glob = os.path.join(os.path.dirname(prog), "gate_prog_O*")
    rc, report, _ = gate.leakscope_run_tree(["--fail-on", LEAK_CLASSES, "--skip-exe", glob],
                                            tree)
    expect(rc == 0 and set(skipped(report)) == {name, os.path.basename(prog_o2)},
           f"--skip-exe PATH-GLOB: exit {rc}, skipped {skipped(report)}")
    junit = gate.path("only.xml")
    rc, report, _ = gate.leakscope_run_tree(["--fail-on", LEAK_CLASSES, "--only-exe",
                                             "*/gate_prog_O2", "--junit", junit], tree)
    root = ET.parse(junit).getroot()
    marked = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    shell = os.path.basename(os.path.realpath("/bin/sh"))
    expect(rc == 0 and set(skipped(report)) == {shell, name} and
           set(skipped(report).values()) == {"not matched by --only-exe"} and
           root.find("testsuite").get("skipped") == "2" and len(marked) == 2,
           f"--only-exe: exit {rc}, skipped {skipped(report)}, junit {marked}")
    rc, report, _ = gate.leakscope_run_tree(["--fail-on", LEAK_CLASSES, "--only-exe", name,
                                             "--only-exe", "nothing*"], tree)
    expect(rc == GATE_FAILED and {s["pid"] for s in report["gate"]["sites"]} ==
           {p["pid"] for p in report["processes"] if p["exe"] == prog},
           f"--only-exe the leaking one: exit {rc}")
    if shutil.which("perl"):
        # meson's and make's helper scripts: perl leaks by design at exit
        script = ["/bin/sh", "-c", f"perl -e 'print 1' >/dev/null; {prog_o2} clean"]
        rc, _, _ = gate.leakscope_run_tree(["--error-exitcode", "9"], script)
        expect(rc == 9, f"perl under the gate: exit {rc} (it leaks: the test needs it to)")
        rc, report, err = gate.leakscope_run_tree(["--error-exitcode", "9", "--skip-exe",
                                                   "perl"], script)
        expect(rc == 0 and "perl" in skipped(report), f"--skip-exe perl: exit {rc}\n{err}")


def case_growth(gate):
    """--between A,B with --max-growth and --max-total-growth: a loop run 10
    times, then 90 more, between two API snapshots. A cache that keeps
    every entry (all reachable: the leak gate passes) fails; constant
    memory passes. Every output says so."""
    prog, entry = gate.args.growth, 128
    srcdir = os.path.dirname(gate.args.source)
    line = lkstest.marker_lines(os.path.join(srcdir, "growth.c"), "growth-site")["cache_add"]
    rc, report, _ = gate.run(["--error-exitcode", "9"], ["grow"], prog=prog)
    expect(rc == 0, f"the leak gate alone: exit {rc} (everything is reachable)")
    junit, sarif = gate.path("growth.xml"), gate.path("growth.sarif")
    rc, report, err = gate.run(["--between", "A,B", "--max-growth", "1000", "--junit", junit,
                                "--sarif", sarif], ["grow"], prog=prog, cwd=srcdir)
    growth = report["gate"]["growth"]
    site = growth["sites"][0] if growth["sites"] else {}
    expect(rc == GATE_FAILED and growth["failed"] and site.get("function") == "cache_add" and
           site.get("line") == line and site["growth"] == 90 * entry and
           site["from_bytes"] == 10 * entry and site["to_blocks"] == 100 and
           site["over_max_growth"] and site["rule"] == "growth/site",
           f"a growing cache, --max-growth 1000: exit {rc}, growth {growth}\n{err}")
    expect(f"grew: {90 * entry} bytes (+90 blocks) more from \"A\" to \"B\" at cache_add "
           f"(growth.c:{line})" in err and "over --max-growth 1000" in err,
           f"text verdict:\n{err}")
    failures = [f for f in ET.parse(junit).getroot().iter("failure")]
    expect([f.get("type") for f in failures] == ["growth/site"] and
           failures[0].text.startswith("#0 cache_add ("),
           f"JUnit: {[(f.get('type'), f.get('message')) for f in failures]}")
    log = lkstest.load_json(sarif)
    check_sarif_required(log)
    results = log["runs"][0]["results"]
    where = results[0]["locations"][0]["physicalLocation"] if results else {}
    expect(len(results) == 1 and results[0]["ruleId"] == "growth/site" and
           where["artifactLocation"]["uri"] == "growth.c" and
           where["region"]["startLine"] == line,
           f"SARIF: {[(r['ruleId'], r['locations']) for r in results]}")
    rc, report, _ = gate.run(["--between", "A,B", "--max-growth", str(90 * entry)], ["grow"],
                             prog=prog)
    expect(rc == 0, f"growth equal to --max-growth: exit {rc}")
    rc, report, err = gate.run(["--between", "A,B", "--max-total-growth", "1000"], ["grow"],
                               prog=prog)
    processes = report["gate"]["growth"]["processes"]
    expect(rc == GATE_FAILED and processes[0]["over_max_total_growth"] and
           processes[0]["growth"] == 90 * entry and "over --max-total-growth 1000" in err,
           f"--max-total-growth 1000: exit {rc}, {processes}\n{err}")
    for limits in (["--max-growth", "0"], ["--max-total-growth", "0"]):
        rc, report, err = gate.run(["--between", "A,B"] + limits, ["steady"], prog=prog)
        expect(rc == 0 and not report["gate"]["growth"]["sites"] and
               report["gate"]["growth"]["processes"][0]["growth"] == 0,
               f"constant memory, {limits}: exit {rc}\n{err}")
    # the same from a kept directory, with `report`
    directory = gate.path("kept")
    gate.leakscope(["run", "--shim", gate.args.shim, "-d", directory, "--", prog, "grow"])
    done = gate.leakscope(["report", "-o", os.devnull, "--between", "A,B", "--max-growth",
                           "1000", directory])
    expect(done.returncode == GATE_FAILED, f"report DIR --between: exit {done.returncode}")
    # a leak within --max-leaks is no JUnit failure when growth alone fails
    rc, report, err = gate.run(["--between", "A,B", "--max-growth", "1000", "--max-leaks", "1",
                                "--junit", junit], ["grow", "leak"], prog=prog)
    failures = [f.get("type") for f in ET.parse(junit).getroot().iter("failure")]
    out = "".join(e.text or "" for e in ET.parse(junit).getroot().iter("system-out"))
    expect(rc == GATE_FAILED and report["gate"]["new_leak_sites"] == 1 and
           failures == ["growth/site"] and "within the limits: 64 bytes" in out,
           f"growth failing, one leak within --max-leaks 1: exit {rc}, JUnit {failures}\n{out}")
    rc, report, err = gate.run(["--between", "A,C", "--max-growth", "1000"], ["grow"],
                               prog=prog)
    expect(rc == GATE_FAILED and report["gate"]["growth"]["no_pair"] and
           'labelled "A" and then "C"' in err,
           f"no snapshot labelled C: exit {rc}\n{err}")
    done = gate.leakscope(["run", "--shim", gate.args.shim, "--max-growth", "10", "--", prog])
    expect(done.returncode == 2 and "--between" in done.stderr,
           f"--max-growth without --between: exit {done.returncode}: {done.stderr}")


def check_bad_input(gate, option, content, *, expect_in):
    path = gate.path("bad")
    if content is not None:
        with open(path, "wb") as f:
            f.write(content)
    snapshot = gate.snap if hasattr(gate, "snap") else None
    if snapshot is None:
        gate.snap, _ = gate.snapshot("leaks")
    done = gate.leakscope(["report", "-o", os.devnull, option, path, gate.snap])
    lines = done.stderr.splitlines()
    expect(done.returncode == 2, f"{option} {content!r}: exit {done.returncode}, not 2")
    expect(len(lines) == 1 and path in lines[0] and expect_in in lines[0],
           f"{option} {content!r}: want one line naming the file and '{expect_in}', "
           f"got {lines}")
    marker = gate.path("ran")
    done = gate.leakscope(["run", "--shim", gate.args.shim, option, path, "--",
                           "/usr/bin/touch", marker])
    expect(done.returncode == 2 and not os.path.exists(marker),
           f"run {option} bad file: exit {done.returncode}; the program must not run")


def case_bad_suppressions(gate):
    for content, why in ((None, "No such file"), (b"race:foo\n", ":1: unknown suppression"),
                         (b"# ok\nleak_definite\n", ":2: not a suppression"),
                         (b"leak:\n", ":1: leak: with no pattern"),
                         (b"\x7fELF\x00\x01", ":1: a NUL byte")):
        check_bad_input(gate, "--suppressions", content, expect_in=why)


def case_bad_baseline(gate):
    for content, why in ((None, "No such file"), (b'{"version": 1, "proc', "line 1"),
                         (b"[]", "not a leakscope JSON report"),
                         (b'{"version": 1, "processes": [{"leaks": [{}]}]}',
                          "without a \"stack\""),
                         (b"\x7fELF\x00\x01", "NUL byte"),
                         (b'{"version": 2, "processes": []}', "version 2 of the JSON report"),
                         (b'{"version": 0.5, "processes": []}', "version 0.5 of the")):
        check_bad_input(gate, "--baseline", content, expect_in=why)


def case_dogfood_reporter(gate):
    """leakscope report, with every gate option, under its own shim and gate."""
    snapshot, _ = gate.snapshot("leaks")
    baseline = gate.path("baseline.json")
    rc, _, _ = gate.run(["--write-baseline", baseline], ["leaks"])
    supp = write(gate, "supp", "leak:leak_definite\nhandle:open_handle\nleak:unused\n")
    inner = ["report", "--suppressions", supp, "--baseline", baseline,
             "--junit", gate.path("j.xml"), "--sarif", gate.path("s.sarif"),
             "--print-suppressions", gate.path("p.supp"), "--json", gate.path("inner.json"),
             snapshot]
    outer = ["--fail-on", "definite,handles", "--error-exitcode", "99"]
    rc, report, err = gate.run(outer, inner, prog=gate.args.leakscope)
    expect(rc == 0 and not report["gate"]["failed"],
           f"the reporter under its gate: exit {rc}, sites {report['gate']['sites']}\n{err}")
    bad = write(gate, "bad.json", "{")
    rc, report, err = gate.run(outer, ["report", "--baseline", bad, snapshot],
                               prog=gate.args.leakscope)
    expect(rc == 2 and not report["gate"]["failed"],
           f"the reporter's error path under its gate: exit {rc}\n{err}")


def case_fixtures(gate):
    """tests/memory fixtures under the gate, every class but reachable
    failing it: a clean fixture passes, a leaking one fails at exactly the
    functions its expect-leak annotations name."""
    for program, source in gate.args.fixture:
        fixture = lkstest.read_leak_expectations([source])
        want = {leak.fn for leak in fixture.leaks}
        rc, report, err = gate.run(["--fail-on", "definite,indirect,possible,handles,"
                                    "child-fds", "--error-exitcode", "99"], [],
                                   prog=os.path.abspath(program))
        names = {s["function"] for s in report["gate"]["sites"]}
        name = os.path.basename(source)
        if fixture.clean:
            expect(rc == fixture.exit_status and not names,
                   f"{name}: clean fixture under the gate: exit {rc}, sites {names}\n{err}")
        else:
            expect(rc == 99 and names == want,
                   f"{name}: exit {rc}, failing sites {names}, expected {want}\n{err}")


def main():
    parser = lkstest.argument_parser()
    for option in ("--prog", "--prog-o2", "--source"):
        parser.add_argument(option, required=True, type=os.path.abspath)
    parser.add_argument("--nosource", type=os.path.abspath)
    parser.add_argument("--growth", type=os.path.abspath)
    parser.add_argument("--cc", default="cc", help="compiler for programs built by a case")
    parser.add_argument("--fixture", nargs=2, action="append", default=[],
                        metavar=("PROGRAM", "SOURCE"))
    parser.add_argument("case")
    args = parser.parse_args()
    case = globals().get("case_" + args.case)
    if not case:
        print(f"unknown case {args.case}", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="leakscope-gate-")
    try:
        case(Gate(args, tmp))
    except CheckError as failure:
        print(f"FAIL {args.case}: {failure}", file=sys.stderr)
        print(f"(files kept in {tmp})", file=sys.stderr)
        return 1
    shutil.rmtree(tmp)
    print(f"ok {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
