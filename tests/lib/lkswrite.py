# SPDX-License-Identifier: MIT
"""A test-only writer of snapshot files (format/format.h, version 2), for
series the shim cannot produce on demand: several snapshots of one pid at
chosen times. Frames are return addresses inside a real module, so the
reporter symbolizes them as it would a real snapshot."""

import struct
import subprocess

import lkstest

MAGIC = b"LKSNAP\r\n"
VERSION = 2
# Each record's layout and its fields' names in format.h, field by field
# ("x" padding named for the reserved array it stands for, or None for the
# compiler's tail padding); tests/unit/check_lkswrite.py compares both with
# the C definitions.
HEADER = struct.Struct("<8sIIIIiiIiQQIIIIiI40xQQ16sQQ")
HEADER_FIELDS = ("magic", "version", "header_size", "section_count", "reason", "pid", "ppid",
                 "seq", "exit_status", "time_ns", "uptime_ns", "exe", "label", "flags",
                 "max_depth", "signal", "reserved32", "reserved", "file_size", "checksum", "run_token", "instance",
                 "start_ticks")
SECTION = struct.Struct("<IIQQ")
SECTION_FIELDS = ("kind", "record_size", "offset", "count")
COUNTERS_SIZE = 256
COUNTERS_HEAD = struct.Struct("<QQQQQQQQQQQQQ")
COUNTERS_HEAD_FIELDS = ("allocs", "frees", "live_blocks", "live_bytes", "tool_resident_bytes",
                        "missed_allocs", "missed_stacks", "unknown_frees", "mismatched_frees",
                        "bootstrap_allocs", "traces", "tool_bytes", "handles_open")
MODULE = struct.Struct("<QQQIII40s4x")
MODULE_FIELDS = ("bias", "start", "end", "path", "flags", "build_id_len", "build_id", None)
TRACE = struct.Struct("<IIQ")
TRACE_FIELDS = ("id", "depth", "first")
SITE = struct.Struct("<IBBBBQQQQQII")
SITE_FIELDS = ("trace", "klass", "family", "heuristic", "apart", "blocks", "bytes", "indirect_blocks",
               "indirect_bytes", "largest", "oldest_seq", "reserved2")
HANDLE = struct.Struct("<iHHIIQQ")
HANDLE_FIELDS = ("fd", "type", "flags", "trace", "description", "addr", "size")
RECORDS = {"header": (HEADER, HEADER_FIELDS), "section": (SECTION, SECTION_FIELDS),
           "counters": (COUNTERS_HEAD, COUNTERS_HEAD_FIELDS), "module": (MODULE, MODULE_FIELDS),
           "trace": (TRACE, TRACE_FIELDS), "site": (SITE, SITE_FIELDS),
           "handle": (HANDLE, HANDLE_FIELDS)}

(SEC_STRINGS, SEC_COUNTERS, SEC_MODULES, SEC_TRACES, SEC_FRAMES, SEC_SITES, SEC_HANDLES,
 SEC_RETAINERS, SEC_PYTHON, SEC_PYCODES, SEC_PYBYTES, SEC_PYTYPES, SEC_PYOBJECTS) = range(1, 14)
RETAINER_SIZE = 48
PYTHON_SIZE, PYCODE_SIZE, PYTYPE_SIZE, PYOBJECTS_SIZE = 112, 32, 24, 32
REASON_EXIT, REASON_TIMER = 1, 4
MODULE_MAIN = 0x1
HANDLE_SOCKET = 2


class Strings:
    def __init__(self):
        self.data = bytearray(b"\0")

    def add(self, text):
        offset = len(self.data)
        self.data += text.encode() + b"\0"
        return offset


def function_address(binary, name):
    """The address of function `name` in `binary` as linked (nm)."""
    out = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] == name and fields[1] in "tT":
            return int(fields[0], 16)
    raise lkstest.CheckError(f"{binary}: no symbol {name}")


def load_bias(binary):
    """Where a snapshot says `binary` was loaded: a PIE (ELF type 3) where
    the kernel puts one without ASLR, anything else at its link address."""
    with open(binary, "rb") as elf:
        is_pie = elf.read(18)[16] == 3
    return 0x555555554000 if is_pie else 0


def pad8(data):
    return bytes(data) + b"\0" * (-len(data) % 8)


def write_snapshot(path, *, pid, seq, uptime_ns, label, exe, module, bias, start, end,
                   stacks, sites, handles=(), reason=REASON_TIMER, instance=None,
                   start_ticks=1000, run_token=bytes(16), counters=None):
    """stacks: lists of addresses, leaf first (trace ids 1..); sites:
    (trace, blocks, bytes); handles: (trace, type, fd). instance tells two
    processes of one pid apart (default: the pid); counters: {name: value}
    set over the sums of the records."""
    strings = Strings()
    exe_at, label_at, module_at = strings.add(exe), strings.add(label), strings.add(module)
    frames, traces = [], []
    for index, stack in enumerate(stacks, start=1):
        traces.append(TRACE.pack(index, len(stack), len(frames)))
        frames += stack
    live_blocks = sum(blocks for _, blocks, _ in sites)
    live_bytes = sum(size for _, _, size in sites)
    values = dict(zip(COUNTERS_HEAD_FIELDS, [0] * len(COUNTERS_HEAD_FIELDS)),
                  allocs=live_blocks, live_blocks=live_blocks, live_bytes=live_bytes,
                  traces=len(stacks), handles_open=len(handles))
    values.update(counters or {})
    counters_record = COUNTERS_HEAD.pack(*(values[name] for name in COUNTERS_HEAD_FIELDS))
    sections = [
        (SEC_STRINGS, 1, bytes(strings.data), len(strings.data)),
        (SEC_COUNTERS, COUNTERS_SIZE, counters_record.ljust(COUNTERS_SIZE, b"\0"), 1),
        (SEC_MODULES, MODULE.size, MODULE.pack(bias, start, end, module_at, MODULE_MAIN, 0,
                                               b""), 1),
        (SEC_TRACES, TRACE.size, b"".join(traces), len(traces)),
        (SEC_FRAMES, 8, struct.pack(f"<{len(frames)}Q", *frames), len(frames)),
        (SEC_SITES, SITE.size, b"".join(SITE.pack(trace, 0, 0, 0, 0, blocks, size, 0, 0, size, 1, 0)
                                        for trace, blocks, size in sites), len(sites)),
        (SEC_HANDLES, HANDLE.size, b"".join(HANDLE.pack(fd, kind, 0, trace, 0, 0, 0)
                                            for trace, kind, fd in handles), len(handles)),
        (SEC_RETAINERS, RETAINER_SIZE, b"", 0),
        (SEC_PYTHON, PYTHON_SIZE, b"", 0),  # no CPython: the five are empty
        (SEC_PYCODES, PYCODE_SIZE, b"", 0),
        (SEC_PYBYTES, 1, b"", 0),
        (SEC_PYTYPES, PYTYPE_SIZE, b"", 0),
        (SEC_PYOBJECTS, PYOBJECTS_SIZE, b"", 0),
    ]
    offset = HEADER.size + SECTION.size * len(sections)
    table, body = b"", b""
    for kind, record_size, data, count in sections:
        table += SECTION.pack(kind, record_size, offset + len(body), count)
        body += pad8(data)
    header = HEADER.pack(MAGIC, VERSION, HEADER.size, len(sections), reason, pid, 1, seq,
                         -1, 1_700_000_000_000_000_000 + uptime_ns, uptime_ns, exe_at,
                         label_at, 0, 64, 0, 0, 0, 0, run_token,
                         pid if instance is None else instance, start_ticks)
    with open(path, "wb") as out:
        out.write(lkstest.seal(header + table + body))
