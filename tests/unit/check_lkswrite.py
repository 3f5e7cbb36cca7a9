#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/lib/lkswrite.py packs snapshot files by hand: every record it
packs must have format.h's size, and each field its offset, size, sign and
name; its section and reason numbers and constants must be format.h's. The
C side comes from format_layout, built against format.h.

Usage: check_lkswrite.py FORMAT_LAYOUT LKSWRITE_PY"""

import importlib.util
import json
import re
import struct
import subprocess
import sys


def load_module(path):
    spec = importlib.util.spec_from_file_location("lkswrite", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def items(layout):
    """(offset, size, kind) of each item of a struct format, in order."""
    order, body = layout.format[0], layout.format[1:]
    found, prefix = [], order
    for count, code in re.findall(r"(\d*)([a-zA-Z?])", body):
        offset = struct.calcsize(prefix)
        prefix += count + code
        size = struct.calcsize(prefix) - offset
        kind = ("pad" if code == "x" else "bytes" if code == "s"
                else "signed" if code.islower() else "unsigned")
        found.append((offset, size, kind))
    return found


def check_record(name, layout, fields, c_record, problems):
    by_name = {field["name"]: field for field in c_record["fields"]}
    packed = items(layout)
    if len(packed) != len(fields):
        problems.append(f"{name}: {len(packed)} items in the format, {len(fields)} names")
        return
    if name != "counters" and layout.size != c_record["size"]:
        problems.append(f"{name}: {layout.size} bytes, format.h says {c_record['size']}")
    for (offset, size, kind), field in zip(packed, fields):
        if field is None:  # the compiler's tail padding
            if kind != "pad" or offset + size != c_record["size"]:
                problems.append(f"{name}: unnamed item at {offset} is not the tail padding")
            continue
        c_field = by_name.get(field)
        if c_field is None:
            problems.append(f"{name}.{field}: not a field in format.h")
            continue
        want = "bytes" if kind == "pad" else kind
        got = (offset, size, want)
        expected = (c_field["offset"], c_field["size"], c_field["kind"])
        if got != expected:
            problems.append(f"{name}.{field}: (offset, size, kind) {got}, format.h {expected}")


def main():
    layout_exe, lkswrite_path = sys.argv[1:3]
    c_side = json.loads(subprocess.run([layout_exe], check=True, capture_output=True,
                                       text=True).stdout)
    lkswrite = load_module(lkswrite_path)
    problems = []
    for name, (layout, fields) in lkswrite.RECORDS.items():
        check_record(name, layout, fields, c_side[name], problems)
    if lkswrite.COUNTERS_SIZE != c_side["counters"]["size"]:
        problems.append(f"COUNTERS_SIZE {lkswrite.COUNTERS_SIZE}, "
                        f"format.h {c_side['counters']['size']}")
    for kind, number in c_side["sections"].items():
        mine = getattr(lkswrite, "SEC_" + kind, None)
        if mine is not None and mine != number:
            problems.append(f"SEC_{kind} is {mine}, format.h says {number}")
    for reason, number in c_side["reasons"].items():
        mine = getattr(lkswrite, "REASON_" + reason, None)
        if mine is not None and mine != number:
            problems.append(f"REASON_{reason} is {mine}, format.h says {number}")
    named = [attr for attr in dir(lkswrite) if attr.startswith(("SEC_", "REASON_"))]
    for attr in named:
        key = attr.split("_", 1)[1]
        table = c_side["sections"] if attr.startswith("SEC_") else c_side["reasons"]
        if key not in table:
            problems.append(f"{attr}: format.h has no such number")
    constants = c_side["constants"]
    if list(lkswrite.MAGIC) != constants["MAGIC"]:
        problems.append("MAGIC differs from format.h's")
    for constant in ("VERSION", "MODULE_MAIN", "HANDLE_SOCKET"):
        if getattr(lkswrite, constant) != constants[constant]:
            problems.append(f"{constant} is {getattr(lkswrite, constant)}, "
                            f"format.h says {constants[constant]}")
    for problem in problems:
        print(f"lkswrite.py: {problem}")
    if not problems:
        print(f"lkswrite.py matches format.h: {len(lkswrite.RECORDS)} records, "
              f"{len(named)} numbers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
