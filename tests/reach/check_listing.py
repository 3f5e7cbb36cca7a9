#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The text report's listing of many sites (docs/REACH.md, "Classes"):
many_sites.c has more sites of each class than the text lists of one.
Every definite site is listed; of the possibly lost (and, with
--show-reachable, the still reachable) the largest --top N (default 20),
the others summed up in one closing line with their count, bytes and
blocks and the option that lists them all; every site of a class the
gate failed on is listed; JSON keeps every site.

Usage: check_listing.py --leakscope EXE --shim SO --source many_sites.c -- PROGRAM
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import lkstest


def read_classes(source):
    """{class: (sites, base size)} from the fixture's `listing:` lines."""
    classes = {}
    with open(source, encoding="utf-8") as text:
        for match in re.finditer(r"listing: (\w+) (\d+) (\d+)", text.read()):
            classes[match[1]] = (int(match[2]), int(match[3]))
    return classes


def sizes(classes, klass):
    """The sizes of a class's sites, largest first."""
    count, base = classes[klass]
    return sorted((base + n * 8 for n in range(count)), reverse=True)


def listed(text, klass):
    """The sizes of the blocks of the fixture's sites of `klass` the text
    lists, in its order ('4232 bytes in 1 block (possible) allocated at:')."""
    return [int(m[1]) for m in re.finditer(
        rf"^(\d+) bytes in 1 block \({klass}\) allocated at:$", text, re.M)]


def closing(noun, left):
    return (f"(not listed: {len(left)} more {noun} {'site' if len(left) == 1 else 'sites'}, "
            f"{sum(left)} B in {len(left)} {'block' if len(left) == 1 else 'blocks'}; "
            "--top 0 lists every one)")


def report(args, snaps, *options, status=0):
    result = subprocess.run([args.leakscope, "report", *options, snaps], capture_output=True,
                            text=True, timeout=120, check=False)
    lkstest.expect(result.returncode == status, f"report {' '.join(options)}: exit "
                   f"{result.returncode}, expected {status}: {result.stderr[-500:]}")
    return result.stdout


def check_listing(text, classes, klass, noun, top, what):
    """`top` largest sites of `klass` listed in order, the others summed up."""
    want = sizes(classes, klass)
    shown = listed(text, klass)
    lkstest.expect(shown == want[:top] if top else shown == want,
                   f"{what}: {klass} sites listed {shown}, expected {want[:top] if top else want}")
    line = closing(noun, want[top:]) if top and len(want) > top else None
    cut = [l for l in text.splitlines() if l.startswith(f"(not listed: ") and noun in l]
    lkstest.expect(cut == ([line] if line else []),
                   f"{what}: closing line {cut}, expected {[line] if line else []}")


def check(args, snaps, classes):
    definite = sizes(classes, "definite")
    text = report(args, snaps)
    lkstest.expect(listed(text, "definite") == definite and definite and len(definite) > 20,
                   f"default: every definite site listed, got {listed(text, 'definite')}")
    check_listing(text, classes, "possible", "possibly lost", 20, "default")
    lkstest.expect(not listed(text, "reachable"), "default: reachable sites listed")
    check_listing(report(args, snaps, "--top", "5"), classes, "possible", "possibly lost",
                  5, "--top 5")
    everything = report(args, snaps, "--top", "0", "--show-reachable")
    check_listing(everything, classes, "possible", "possibly lost", 0, "--top 0")
    check_listing(everything, classes, "reachable", "still reachable", 0, "--top 0")
    shown = report(args, snaps, "--show-reachable", "--top", "7")
    check_listing(shown, classes, "reachable", "still reachable", 7, "--show-reachable --top 7")
    check_listing(shown, classes, "definite", "definitely lost", 0, "--show-reachable --top 7")
    failed = report(args, snaps, "--fail-on", "possible", status=23)
    check_listing(failed, classes, "possible", "possibly lost", 0, "a failed gate on possible")
    passed = report(args, snaps, "--fail-on", "possible", "--max-leaks", "1000")
    check_listing(passed, classes, "possible", "possibly lost", 20, "a passed gate on possible")
    data = json.loads(report(args, snaps, "--top", "3", "--format", "json"))
    got = sorted((leak["bytes"] for proc in data["processes"] for leak in proc["leaks"]
                  if leak["class"] == "possible"), reverse=True)
    lkstest.expect(got == sizes(classes, "possible"),
                   f"JSON --top 3: every possible site, got {got}")


def main(argv):
    parser = lkstest.argument_parser(__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("program", nargs="+")
    args = parser.parse_args(argv)
    classes = read_classes(args.source)
    work = tempfile.mkdtemp(prefix="lks-listing-")
    snaps = os.path.join(work, "snaps")
    errors = []
    try:
        status, output = lkstest.run_logged(lkstest.run_command(
            args, lkstest.absolute_argv(args.program), options=["-d", snaps]), tail=3000)
        lkstest.expect(status == 0, f"leakscope run: exit {status}")
        check_listing(output, classes, "possible", "possibly lost", 20, "run")
        check(args, snaps, classes)
    except lkstest.CheckError as error:
        errors.append(str(error))
    return lkstest.finish(errors, "ok: the listing of many sites", work)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
