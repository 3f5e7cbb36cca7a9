# SPDX-License-Identifier: MIT
"""A small reader of a snapshot's raw Python frames, for the tests: the
sites and handles with their stacks, each Python frame decoded to
(qualname, file, line) from the copied line table (docs/FORMAT.md,
docs/PYTHON.md). Independent of the reporter on purpose: it checks the
shim's output, not the reporter's reading of it."""
import struct

HEADER = struct.Struct("<8sIIIIiiIiQQIIII96x")  # version 2: 168 bytes
SECTION = struct.Struct("<IIQQ")
TRACE = struct.Struct("<IIQ")
SITE = struct.Struct("<IBBHQQQQQII")
HANDLE = struct.Struct("<iHHIIQQ")
PYTHON = struct.Struct("<IIIIQQQQQIIQQQQ16x")
PYTYPE = struct.Struct("<IIQII")
PYOBJECTS = struct.Struct("<IIB7xQQ")
PYCODE = struct.Struct("<IIIiQII")
MODULE = struct.Struct("<QQQIII40s4x")

PYFRAME_TAG = 0xFE00000000000000
PY_STATUS = {1: "on", 2: "off", 3: "unsupported", 4: "not started"}
HF_PYTHON = 0x8
PY_GC = {0: "none", 1: "collected", 2: "unavailable", 3: "not started",
         4: "finalizing", 5: "not a Python thread", 6: "pending calls full",
         7: "main thread ran no Python for 1 s", 8: "shim busy"}


def read_varint(table, pos):
    byte = table[pos]
    pos += 1
    value = byte & 63
    shift = 0
    while byte & 64:
        byte = table[pos]
        pos += 1
        shift += 6
        value |= (byte & 63) << shift
    return value, pos


def read_svarint(table, pos):
    value, pos = read_varint(table, pos)
    return (-(value >> 1) if value & 1 else value >> 1), pos


def line_at(table, firstlineno, offset):
    """The line of the instruction at byte `offset` (the location table of
    CPython 3.11 to 3.13), None when it has none."""
    pos, addr, line = 0, 0, firstlineno
    while pos < len(table):
        first = table[pos]
        pos += 1
        code = (first >> 3) & 15
        end = addr + ((first & 7) + 1) * 2
        this_line = line
        if code == 15:
            this_line = None
        elif code == 14:
            delta, pos = read_svarint(table, pos)
            line += delta
            this_line = line
            for _ in range(3):
                _, pos = read_varint(table, pos)
        elif code == 13:
            delta, pos = read_svarint(table, pos)
            line += delta
            this_line = line
        elif code >= 10:
            line += code - 10
            this_line = line
            pos += 2
        else:
            pos += 1
        if addr <= offset < end:
            return this_line
        addr = end
    return None


class Snapshot:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = data = f.read()
        head = HEADER.unpack_from(data, 0)
        assert head[0] == b"LKSNAP\r\n", path
        self.pid, self.flags = head[5], head[13]
        self.label_off = head[12]
        self.sections = {}
        for i in range(head[3]):
            kind, size, offset, count = SECTION.unpack_from(data, HEADER.size + 24 * i)
            self.sections[kind] = (offset, count, size)
        self.label = self.string(self.label_off)
        self._decoded, self._stacks = {}, {}  # decoded once: tables are long
        self.frames = self._array(5, "<Q")
        self.traces = {t[0]: self.frames[t[2]:t[2] + t[1]]
                       for t in self._records(4, TRACE)}
        self.sites = list(self._records(6, SITE))
        self.handles = list(self._records(7, HANDLE))
        self.modules = [(m[1], m[2], self.string(m[3]))
                        for m in self._records(3, MODULE)]
        info = list(self._records(9, PYTHON))
        self.python = None
        if info:
            version, status, reason, flags = info[0][:4]
            self.python = {"version": version, "status": PY_STATUS.get(status),
                           "reason": self.string(reason), "flags": flags,
                           "codes": info[0][4], "missed_codes": info[0][5],
                           "bad_frames": info[0][6], "unpaired": info[0][7],
                           "gc_collected": info[0][8],
                           "gc": PY_GC.get(info[0][9], info[0][9]),
                           "typed_blocks": info[0][11], "untyped_blocks": info[0][12],
                           "unreadable_blocks": info[0][13], "typing_ns": info[0][14]}
        self.types = {t[0]: self.string(t[1]) for t in self._records(12, PYTYPE)}
        self.objects = [(o[0], self.types[o[1]], o[2], o[3], o[4])
                        for o in self._records(13, PYOBJECTS)]
        blob_off = self.sections.get(11, (0, 0, 1))[0]
        self.codes = {}
        for rec in self._records(10, PYCODE):
            cid, qual, fname, first, lt_off, lt_len, code_bytes = rec
            table = data[blob_off + lt_off: blob_off + lt_off + lt_len]
            self.codes[cid] = (self.string(qual), self.string(fname), first,
                               table, code_bytes)

    def _records(self, kind, rec):
        if kind not in self.sections:
            return
        offset, count, size = self.sections[kind]
        assert size == rec.size, (kind, size)
        for i in range(count):
            yield rec.unpack_from(self.data, offset + i * size)

    def _array(self, kind, fmt):
        if kind not in self.sections:
            return []
        offset, count, _ = self.sections[kind]
        return list(struct.unpack_from("<%dQ" % count, self.data, offset))

    def string(self, offset):
        base = self.sections[1][0]
        end = self.data.index(b"\0", base + offset)
        return self.data[base + offset:end].decode("utf-8", "replace")

    def module_of(self, address):
        for start, end, path in self.modules:
            if start <= address < end:
                return path
        return None

    def py_frame(self, value):
        """(qualname, file, line) of a tagged frame, None for native ones."""
        if value & 0xFF00000000000000 != PYFRAME_TAG:
            return None
        known = self._decoded.get(value)
        if known:
            return known
        cid, offset = (value >> 32) & 0xFFFFFF, value & 0xFFFFFFFF
        if cid == 0:
            return ("?", "?", 0)
        qual, fname, first, table, _ = self.codes[cid]
        known = self._decoded[value] = (qual, fname, line_at(table, first, offset))
        return known

    def py_stack(self, trace):
        """The Python frames of a trace, innermost first."""
        known = self._stacks.get(trace)
        if known is None:
            known = self._stacks[trace] = [
                f for f in (self.py_frame(v) for v in self.traces.get(trace, [])) if f]
        return known

    def objects_of(self, type_name):
        """Typed objects (trace, blocks, bytes) of one type, per site."""
        return [(o[0], o[3], o[4]) for o in self.objects if o[1] == type_name]

    def sites_with(self, predicate):
        """Sites (trace, blocks, bytes) whose Python stack satisfies it."""
        return [(s[0], s[4], s[5]) for s in self.sites
                if predicate(self.py_stack(s[0]))]
