#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shim's file graph, read from its objects with nm: file A calls (or
reads) file B when A leaves a symbol undefined that B defines, libc names
the shim interposes included (a call to its own `mmap` lands in its own
interposer). Prints every edge, the groups of files that reach each other
(strongly connected components) and the longest loop in each.

Usage: tools/shimgraph.py BUILD-DIR [--max-loop N] [--no-own-interposers]
With --max-loop, exits 1 when a loop is longer than N files; with
--no-own-interposers, when a file calls a name another file of the shim
interposes (its own work must go through sys.c, never its interposers)."""

import argparse
import glob
import os
import subprocess
import sys


def symbols(objects):
    """{object: (defined global names, undefined names)}, from one nm run
    (one per object took a minute on a loaded machine)."""
    out = subprocess.run(["nm", "-P", "-A"] + objects, check=True, capture_output=True,
                         text=True).stdout
    table = {obj: (set(), set()) for obj in objects}
    for line in out.splitlines():
        obj, _, rest = line.partition(": ")
        fields = rest.split()
        if obj not in table or len(fields) < 2:
            continue
        name, kind = fields[0], fields[1]
        if kind in ("U", "w"):
            table[obj][1].add(name)
        elif kind.isupper():
            table[obj][0].add(name)
    return table


SHIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shim")


def file_name(obj):
    """handles/fdtable.c from meson's handles_fdtable.c.o: object names keep
    the folder with '_' for '/', which a file name may also hold, so the
    name is matched against the sources that exist."""
    base = os.path.basename(obj)[:-len(".o")]
    for at in range(len(base)):
        if base[at] == "_":
            path = base[:at] + "/" + base[at + 1:]
            if os.path.exists(os.path.join(SHIM, path)):
                return path
    return base


def exported(build):
    """The names the built shim exports: the interposed libc names and its API."""
    out = subprocess.run(["nm", "-D", "--defined-only", os.path.join(build, "shim",
                                                                     "libleakscope.so")],
                         check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split()}


def build_graph(build):
    objects = sorted(glob.glob(os.path.join(build, "shim", "libleakscope.so.p", "*.o")))
    if not objects:
        sys.exit(f"shimgraph: no shim objects under {build}/shim/libleakscope.so.p")
    table = {file_name(obj): names for obj, names in symbols(objects).items()}
    owner = {}
    for name, (defined, _) in table.items():
        for symbol in defined:
            owner.setdefault(symbol, name)
    edges = {name: {} for name in table}
    for name, (_, undefined) in table.items():
        for symbol in undefined:
            target = owner.get(symbol)
            if target and target != name:
                edges[name].setdefault(target, []).append(symbol)
    return edges


def components(edges):
    """Tarjan's strongly connected components, largest first."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in edges[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            found.append(sorted(group))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found, key=len, reverse=True)


def longest_loop(edges, group):
    """The longest simple cycle inside one component (small: a plain search)."""
    members = set(group)
    best = []

    def walk(path, seen):
        nonlocal best
        for succ in edges[path[-1]]:
            if succ not in members:
                continue
            if succ == path[0] and len(path) > len(best):
                best = list(path)
            elif succ not in seen and succ > path[0]:
                seen.add(succ)
                path.append(succ)
                walk(path, seen)
                path.pop()
                seen.discard(succ)

    for start in group:
        walk([start], {start})
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build")
    parser.add_argument("--max-loop", type=int)
    parser.add_argument("--no-own-interposers", action="store_true")
    args = parser.parse_args()
    edges = build_graph(args.build)
    interposed = exported(args.build)
    own_calls = [f"{name} -> {target} ({symbol})" for name in sorted(edges)
                 for target in sorted(edges[name]) for symbol in sorted(edges[name][target])
                 if symbol in interposed]
    for name in sorted(edges):
        for target in sorted(edges[name]):
            print(f"{name} -> {target}  ({', '.join(sorted(edges[name][target])[:4])})")
    longest = []
    for group in components(edges):
        if len(group) < 2:
            continue
        loop = longest_loop(edges, group)
        print(f"loop group of {len(group)}: {' '.join(group)}")
        print(f"  longest loop ({len(loop)}): {' -> '.join(loop + loop[:1])}")
        if len(loop) > len(longest):
            longest = loop
    print(f"longest loop: {len(longest)} files")
    for call in own_calls:
        print(f"calls its own interposer: {call}")
    failed = 0
    if args.max_loop is not None and len(longest) > args.max_loop:
        print(f"shimgraph: a loop of {len(longest)} files, more than {args.max_loop}",
              file=sys.stderr)
        failed = 1
    if args.no_own_interposers and own_calls:
        print(f"shimgraph: {len(own_calls)} calls into the shim's own interposers",
              file=sys.stderr)
        failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
