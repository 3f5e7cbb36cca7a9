# SPDX-License-Identifier: MIT
"""What the Python checkers share: their command line, running programs
under `leakscope run`, the JSON report, the annotations in the test
programs' sources (expect-*, and NAME-site markers), frames matched against
source lines, and the byte layout of a snapshot for the checkers that patch
one. tests/meson.build puts this folder on PYTHONPATH."""

import argparse
import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys

SKIP = 77  # meson's exit status for a skipped test


class CheckError(Exception):
    """A check failed, or its test could not be set up."""


def expect(condition, message):
    if not condition:
        raise CheckError(message)


# ---- command line -------------------------------------------------------------

def argument_parser(description=None, *, shim=True):
    """--leakscope and, unless shim is false, --shim, both made absolute:
    checkers run programs in scratch directories."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leakscope", required=True, type=os.path.abspath,
                        help="the leakscope command")
    if shim:
        parser.add_argument("--shim", required=True, type=os.path.abspath,
                            help="libleakscope.so to preload")
    return parser


def absolute_argv(argv):
    """PROGRAM [ARGS...] with every argument that names an existing file
    made absolute."""
    return [os.path.abspath(arg) if os.path.exists(arg) else arg for arg in argv]


# ---- running --------------------------------------------------------------------

def run_command(args, program, *, json_path=None, options=()):
    """The argv of `leakscope run [--json JSON_PATH] [OPTIONS] [--shim SHIM]
    -- PROGRAM...`, leakscope and shim taken from the parsed arguments."""
    json_option = ["--json", json_path] if json_path else []
    shim_option = ["--shim", args.shim] if getattr(args, "shim", None) else []
    return [args.leakscope, "run", *json_option, *options, *shim_option, "--", *program]


def default_signals():
    """For preexec_fn: the signals a terminal sends at their default action.
    The test runner may ignore some (nohup ignores SIGHUP, a background job
    of a shell without job control SIGINT and SIGQUIT), and `leakscope run`
    keeps ignoring what it was started ignoring, as its program does."""
    for signo in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(signo, signal.SIG_DFL)


def run_logged(command, *, timeout=240, tail=None, **popen):
    """Runs command with stdout and stderr merged and echoed into the test
    log (only its last `tail` characters when given): (status, output)."""
    print("running:", " ".join(command), flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=timeout, check=False, **popen)
    output = result.stdout.decode(errors="replace")
    shown = output if tail is None else output[-tail:]
    print(shown, end="" if shown.endswith("\n") or not shown else "\n", flush=True)
    return result.returncode, output


def load_json(path):
    with open(path, encoding="utf-8") as report:
        return json.load(report)


def finish(errors, ok, kept=None):
    """The checker's verdict: FAIL and each error on stderr (and the
    directory kept for a look), or the ok line and the directory removed.
    Returns the exit status."""
    if errors:
        where = f"\n(files kept in {kept})" if kept else ""
        print("FAIL:\n" + "\n".join(errors) + where, file=sys.stderr)
        return 1
    if kept:
        shutil.rmtree(kept, ignore_errors=True)
    print(ok)
    return 0


# ---- the JSON report --------------------------------------------------------------

class Report:
    """The JSON report, each process given a role: started, child (of the
    started process) or other."""

    def __init__(self, data, sources, modules):
        self.processes = data.get("processes") or []
        if not self.processes:
            raise CheckError("report has no process entry")
        started_pid = self.processes[0].get("pid")
        for proc in self.processes:
            proc["_role"] = "child" if proc.get("ppid") == started_pid else "other"
        self.processes[0]["_role"] = "started"
        self.source_names = {os.path.basename(path) for path in sources}
        self.module_names = {os.path.basename(path) for path in modules}

    def in_sources(self, frame):
        if os.path.basename(frame.get("file") or "") not in self.source_names:
            return False
        module = frame.get("module")
        return not module or os.path.basename(module) in self.module_names

    def leaks(self):
        """Every leak the report counts: the runtime's own (suppressed) are not."""
        for proc in self.processes:
            for leak in proc.get("leaks") or []:
                if not leak.get("suppressed"):
                    yield proc, leak


def bytes_from(proc, function):
    """Bytes of the leaks of proc whose stack passes through function."""
    return sum(leak["bytes"] for leak in proc["leaks"]
               if any(frame.get("function") == function for frame in leak["stack"]))


# ---- frames -----------------------------------------------------------------------

def in_file(frame, source):
    """Whether the frame is in the file source (compared by base name)."""
    return os.path.basename(frame.get("file") or "") == os.path.basename(source)


def at_line(frame, source, line):
    return in_file(frame, source) and frame.get("line") == line


def base_function(name):
    """'(anonymous namespace)::leak_new()' or 'descend.isra.0' -> bare name."""
    if not name:
        return ""
    name = name.replace("(anonymous namespace)::", "")
    name = re.sub(r"\s*\[clone [^\]]*\]", "", name)
    name = name.split("(", 1)[0].split(".", 1)[0]
    return name.rsplit("::", 1)[-1].strip()


def frame_matches(frame, expect_leak):
    return (at_line(frame, expect_leak.file, expect_leak.line)
            and base_function(frame.get("function")) == expect_leak.fn)


def matching_frame(report, leak, expect_leak):
    """Index of the frame for expect_leak, or -1. Frames before it must not
    be in the fixture's sources: the stack is leaf first."""
    for index, frame in enumerate(leak.get("stack") or []):
        if frame_matches(frame, expect_leak) and report.in_sources(frame):
            return index
        if report.in_sources(frame):
            return -1
    return -1


def format_stack(leak, limit=12):
    lines = []
    stack = leak.get("stack") or []
    for index, frame in enumerate(stack[:limit]):
        inl = " [inlined]" if frame.get("inlined") else ""
        lines.append(f"      #{index} {frame.get('function')} {frame.get('file')}:"
                     f"{frame.get('line')} ({os.path.basename(frame.get('module') or '?')}){inl}")
    if len(stack) > limit:
        lines.append(f"      ... {len(stack) - limit} more frames")
    return "\n".join(lines)


def describe(proc, leak):
    return (f"  pid {proc.get('pid')} ({proc['_role']}): {leak.get('class')} "
            f"{leak.get('blocks')} blocks, {leak.get('bytes')} bytes\n{format_stack(leak)}")


# ---- annotations in the test programs' sources ---------------------------------------

def annotations(path, name):
    """(line number, text) of every 'NAME: TEXT' in a source file, TEXT
    ending at '*/' or at the end of the line."""
    pattern = re.compile(re.escape(name) + r":\s*([^*]*?)\s*(?:\*/|$)")
    with open(path, encoding="utf-8") as source:
        for lineno, text in enumerate(source, start=1):
            for match in pattern.finditer(text):
                yield lineno, match.group(1)


def has_flag(path, name):
    """Whether the source holds the bare annotation NAME (expect-clean...)."""
    pattern = re.compile(r"\b" + re.escape(name) + r"\b")
    with open(path, encoding="utf-8") as source:
        return any(pattern.search(text) for text in source)


def annotation_number(path, name):
    """N of the last 'NAME: N' in the source, or None."""
    numbers = [int(text.split()[0]) for _, text in annotations(path, name)
               if text.split() and text.split()[0].isdigit()]
    return numbers[-1] if numbers else None


def annotation_fields(text, where, flags=()):
    """KEY=VALUE fields of an annotation (shell quoting for values with
    spaces) and the bare words of flags that it holds."""
    fields, present = {}, set()
    for item in shlex.split(text):
        if item in flags:
            present.add(item)
        elif "=" in item:
            key, value = item.split("=", 1)
            fields[key] = value
        else:
            raise CheckError(f"{where}: bad annotation field {item!r}")
    return fields, present


def marker_lines(path, tag):
    """{NAME: line} of the 'TAG: NAME' markers (snap-site, diff-site...)."""
    return {match.group(): lineno for lineno, text in annotations(path, tag)
            for match in [re.match(r"\w+", text)] if match}


@dataclasses.dataclass
class ExpectLeak:
    """expect-leak: fn=NAME blocks=N bytes=N [process=started|child]
    [via=libc] [frames=N], on the allocating line."""
    file: str
    line: int
    fn: str
    blocks: int
    bytes: int
    process: str = "started"
    via: str = ""
    frames: int = 0

    def where(self):
        return f"{os.path.basename(self.file)}:{self.line} ({self.fn})"


@dataclasses.dataclass
class LeakExpectations:
    """A memory fixture's annotations: its expect-leak lines, expect-clean,
    expect-no-snapshot and expect-exit: N."""
    leaks: list
    clean: bool = False
    no_snapshot: bool = False
    exit_status: int = 0


def parse_expect_leak(path, lineno, text):
    where = f"{path}:{lineno}"
    fields, _ = annotation_fields(text, where)
    try:
        leak = ExpectLeak(file=path, line=lineno, fn=fields.pop("fn"),
                          blocks=int(fields.pop("blocks")), bytes=int(fields.pop("bytes")),
                          process=fields.pop("process", "started"), via=fields.pop("via", ""),
                          frames=int(fields.pop("frames", "0")))
    except (KeyError, ValueError) as err:
        raise CheckError(f"{where}: bad expect-leak annotation: {err}") from err
    if fields:
        raise CheckError(f"{where}: unknown annotation fields {sorted(fields)}")
    if leak.process not in ("started", "child"):
        raise CheckError(f"{where}: process= is started or child")
    return leak


def read_leak_expectations(sources):
    expectations = LeakExpectations(leaks=[])
    for path in sources:
        expectations.leaks += [parse_expect_leak(path, lineno, text)
                               for lineno, text in annotations(path, "expect-leak")]
        expectations.clean |= has_flag(path, "expect-clean")
        expectations.no_snapshot |= has_flag(path, "expect-no-snapshot")
        status = annotation_number(path, "expect-exit")
        if status is not None:
            expectations.exit_status = status
    if expectations.clean and expectations.leaks:
        raise CheckError("a fixture is either expect-clean or has expect-leak lines, not both")
    if not (expectations.clean or expectations.leaks or expectations.no_snapshot):
        raise CheckError("fixture has no expect-leak or expect-clean annotation")
    return expectations


# ---- snapshot bytes (struct lks_header and lks_section, docs/FORMAT.md) -----------

HEADER_VERSION_AT = 8
HEADER_SECTION_COUNT_AT = 16
HEADER_PID_AT = 24
HEADER_FLAGS_AT = 64
HEADER_FILE_SIZE_AT = 120
HEADER_CHECKSUM_AT = 128
HEADER_RUN_TOKEN_AT = 136  # 16 bytes
HEADER_INSTANCE_AT = 152
HEADER_START_TICKS_AT = 160
SECTION_TABLE_AT = 168  # sizeof(struct lks_header)
SECTION_ENTRY_SIZE = 24
SECTION_OFFSET_AT = 8   # within an entry
SECTION_ENTRY = "<IIQQ"  # kind, record_size, offset, count
SECTION_STRINGS, SECTION_COUNTERS, SECTION_SITES, SECTION_HANDLES = 1, 2, 6, 7  # enum lks_section_kind
COUNTER_HANDLES_OPEN_AT = 96  # within the counters record (format.h's LKS_COUNTERS)


def section_entry_at(index):
    return SECTION_TABLE_AT + index * SECTION_ENTRY_SIZE


def sections(data):
    """(kind, record_size, offset, count) of each entry of the section table."""
    (count,) = struct.unpack_from("<I", data, HEADER_SECTION_COUNT_AT)
    return [struct.unpack_from(SECTION_ENTRY, data, section_entry_at(i)) for i in range(count)]


# format/checksum.h, word for word
_MASK = (1 << 64) - 1
_SEED, _K1, _K2 = 0x4C4B534E41503032, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F


def checksum(data):
    """The checksum of a whole snapshot file, its checksum field read as 0."""
    data = bytearray(data)
    data[HEADER_CHECKSUM_AT:HEADER_CHECKSUM_AT + 8] = bytes(8)
    size = len(data)
    data += bytes(-size % 8)
    state = _SEED
    for (word,) in struct.iter_unpack("<Q", data):
        state ^= (word * _K1) & _MASK
        state = ((state << 31) | (state >> 33)) & _MASK
        state = (state * _K2) & _MASK
    state ^= size
    state ^= state >> 33
    state = (state * _K1) & _MASK
    state ^= state >> 29
    state = (state * _K2) & _MASK
    return state ^ (state >> 32)


def seal(data):
    """A changed snapshot made whole again: its size and checksum in its
    header, as the shim writes them (bytes)."""
    data = bytearray(data)
    struct.pack_into("<Q", data, HEADER_FILE_SIZE_AT, len(data))
    struct.pack_into("<Q", data, HEADER_CHECKSUM_AT, checksum(data))
    return bytes(data)
