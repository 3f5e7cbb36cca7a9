#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cuts a real snapshot down to a small one the reader still accepts, for
the fuzz corpus: its first CHAINS retainer chains with their Python names,
the sites, traces and frames those chains use, the code copies their Python
frames name (line tables packed again), the typed objects of those traces
and their types, no handles; every string written again for the one record
that names it, the counters and the typed count summed again, sealed.

Usage: shrink.py IN.lks OUT.lks [CHAINS]   (default 3)
How tests/fuzz/corpus/python_retainers.lks was made is in
tests/fuzz/meson.build."""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lkstest  # noqa: E402

HEADER_SIZE, SECTION = 168, struct.Struct("<IIQQ")
STRINGS, COUNTERS, MODULES, TRACES, FRAMES, SITES, HANDLES, RETAINERS, PYTHON, PYCODES, \
    PYBYTES, PYTYPES, PYOBJECTS, PYRETAINERS = range(1, 15)
TAG, TAG_MASK = 0xfe00000000000000, 0xff00000000000000


def read(path):
    data = open(path, "rb").read()
    count = struct.unpack_from("<I", data, 16)[0]
    sections = {}
    for i in range(count):
        kind, size, offset, n = SECTION.unpack_from(data, HEADER_SIZE + i * SECTION.size)
        sections[kind] = (size, [bytearray(data[offset + k * size:offset + (k + 1) * size])
                                 for k in range(n)])
    return data, count, sections


def string(data, sections, offset):
    raw = bytes(b for rec in sections[STRINGS][1] for b in rec)
    return raw[offset:raw.index(b"\0", offset)]


class Strings:
    def __init__(self):
        self.data = bytearray(b"\0")

    def add(self, text):
        if not text:
            return 0
        at = len(self.data)
        self.data += text + b"\0"
        return at


def u32(rec, at):
    return struct.unpack_from("<I", rec, at)[0]


def put32(rec, at, value):
    struct.pack_into("<I", rec, at, value)


def keep_chains(sections, chains):
    """The first `chains` chains and the Python records of their steps,
    renumbered; the traces they use."""
    steps = [s for s in sections[RETAINERS][1] if u32(s, 0) < chains]
    python = [p for p in sections[PYRETAINERS][1] if u32(p, 0) < len(steps)]
    return steps, python, {u32(s, 24) for s in steps if u32(s, 24)}


def shrink(src, out, chains):
    data, count, sec = read(src)
    text = lambda off: string(data, sec, off)  # noqa: E731
    steps, pysteps, traces = keep_chains(sec, chains)
    sites = [s for s in sec[SITES][1] if u32(s, 0) in traces]
    trace_recs, frames = [], []
    for t in sec[TRACES][1]:
        tid, depth, first = struct.unpack("<IIQ", t)
        if tid in traces:
            trace_recs.append(bytearray(struct.pack("<IIQ", tid, depth, len(frames))))
            frames += [struct.unpack("<Q", sec[FRAMES][1][first + d])[0] for d in range(depth)]
    codes_used = {(f >> 32) & 0xffffff for f in frames if f & TAG_MASK == TAG}
    objects = [o for o in sec[PYOBJECTS][1] if u32(o, 0) in traces]
    types_used = {u32(o, 4) for o in objects}
    strings = Strings()
    header = bytearray(data[:HEADER_SIZE])
    put32(header, 56, strings.add(text(u32(header, 56))))   # exe
    put32(header, 60, strings.add(text(u32(header, 60))))   # label
    modules = []
    for m in sec[MODULES][1]:
        put32(m, 24, strings.add(text(u32(m, 24))))
        modules.append(m)
    python = sec[PYTHON][1][0]
    put32(python, 8, strings.add(text(u32(python, 8))))
    codes, line_tables = [], bytearray()
    for c in sec[PYCODES][1]:
        if u32(c, 0) not in codes_used:
            continue
        start, length = struct.unpack_from("<QI", c, 16)
        put32(c, 4, strings.add(text(u32(c, 4))))
        put32(c, 8, strings.add(text(u32(c, 8))))
        struct.pack_into("<Q", c, 16, len(line_tables))
        line_tables += bytes(b for rec in sec[PYBYTES][1][start:start + length] for b in rec)
        codes.append(c)
    types = []
    for t in sec[PYTYPES][1]:
        if u32(t, 0) in types_used:
            put32(t, 4, strings.add(text(u32(t, 4))))
            types.append(t)
    for p in pysteps:
        for at in (4, 8, 12):
            put32(p, at, strings.add(text(u32(p, at))))
    struct.pack_into("<Q", python, 64, sum(struct.unpack_from("<Q", o, 16)[0] for o in objects))
    counters = sec[COUNTERS][1][0]
    struct.pack_into("<QQ", counters, 16, sum(struct.unpack_from("<Q", s, 8)[0] for s in sites),
                     sum(struct.unpack_from("<Q", s, 16)[0] for s in sites))
    struct.pack_into("<Q", counters, 96, 0)  # handles_open: none kept
    parts = {STRINGS: (1, [strings.data]), COUNTERS: (256, [counters]), MODULES: (80, modules),
             TRACES: (16, trace_recs), FRAMES: (8, [struct.pack("<Q", f) for f in frames]),
             SITES: (56, sites), HANDLES: (32, []), RETAINERS: (48, steps), PYTHON: (112, [python]),
             PYCODES: (32, codes), PYBYTES: (1, [line_tables]), PYTYPES: (24, types),
             PYOBJECTS: (32, objects), PYRETAINERS: (16, pysteps)}
    body, table, at = bytearray(), bytearray(), HEADER_SIZE + count * SECTION.size
    for kind in range(1, count + 1):
        size, recs = parts[kind]
        blob = b"".join(bytes(r) for r in recs)
        n = len(blob) // size
        table += SECTION.pack(kind, size, at, n)
        blob += b"\0" * (-len(blob) % 8)
        body += blob
        at += len(blob)
    with open(out, "wb") as f:
        f.write(lkstest.seal(header + table + body))


if __name__ == "__main__":
    shrink(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
