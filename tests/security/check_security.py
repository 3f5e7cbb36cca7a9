#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 15: a report nobody can forge, a reader nobody can exhaust. Each
case is one function, named on the command line; docs/TRUST.md says what
they guard.

Usage: check_security.py --leakscope L --shim S --waiter W --spawner P
       --static-child C --secure-prog X --own-malloc O CASE"""

import os
import resource
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

import lkstest
import lkswrite
from lkstest import CheckError, expect

GATE_FAILED = 23
RUN_FAILED = 125
USAGE = 2
RUN_TIMEOUT = 120
HEADER_SEQ_AT = 32


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.count = 0

    def path(self, name):
        self.count += 1
        return os.path.join(self.tmp, f"{self.count}-{name}")

    def directory(self, name, mode=0o700):
        path = self.path(name)
        os.mkdir(path)
        os.chmod(path, mode)
        return path

    def leakscope(self, args, **kwargs):
        kwargs.setdefault("timeout", RUN_TIMEOUT)
        return subprocess.run([self.args.leakscope] + args, capture_output=True, text=True,
                              **kwargs)

    def start_run(self, options, program, env=None):
        """`leakscope run OPTIONS -- PROGRAM` started, its program's stdin a
        pipe: (leakscope's Popen, the program's pid from its ready line)."""
        run = subprocess.Popen([self.args.leakscope, "run", "--shim", self.args.shim]
                               + options + ["--"] + program, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
        return run, ready_pid(run)

    def shim_env(self, options):
        env = dict(os.environ, LD_PRELOAD=self.args.shim, LEAKSCOPE_OPTIONS=options)
        return env


def ready_pid(process):
    line = process.stdout.readline()
    expect(line.startswith("ready "), f"the program did not get ready: {line!r}")
    return int(line.split()[1])


def finish_run(run):
    """Ends the program's stdin (communicate closes it) and waits."""
    out, err = run.communicate(timeout=RUN_TIMEOUT)
    return run.returncode, out, err


def only_snapshot(directory):
    names = [n for n in os.listdir(directory) if n.endswith(".lks")]
    expect(len(names) == 1, f"one snapshot expected in {directory}, found {names}")
    return os.path.join(directory, names[0])


def gone(pid):
    """No such process, or only its zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_until(condition, what, limit=60):
    """Polls until `condition` holds; a bound against a hang, not a timed
    assertion: every case waits for an event that must come."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise CheckError(f"waited {limit} s for {what}")
        time.sleep(0.05)


# --- a verdict comes only from what the run wrote -----------------------------------

def case_planted(env):
    """A clean snapshot planted in the run's directory, as the started
    process's (its pid, seq 99), while the program runs: ignored, said, and
    the gate still fails on the real leak."""
    clean_dir = env.directory("clean")
    done = env.leakscope(["run", "--shim", env.args.shim, "-d", clean_dir, "-o", os.devnull,
                          "--", env.args.waiter, "clean"], stdin=subprocess.DEVNULL)
    expect(done.returncode == 0, f"a clean run: {done.stderr}")
    with open(only_snapshot(clean_dir), "rb") as f:
        clean = bytearray(f.read())
    snapshots = env.directory("snapshots")
    report = env.path("report.json")
    run, pid = env.start_run(["-d", snapshots, "--fail-on", "definite", "--json", report,
                              "-o", os.devnull], [env.args.waiter, "leak"])
    struct.pack_into("<i", clean, lkstest.HEADER_PID_AT, pid)
    struct.pack_into("<I", clean, HEADER_SEQ_AT, 99)
    planted = os.path.join(snapshots, f"{os.path.basename(env.args.waiter)}.{pid}.99.exit.lks")
    with open(planted, "wb") as f:
        f.write(lkstest.seal(clean))
    rc, _, err = finish_run(run)
    expect(rc == GATE_FAILED, f"the gate must fail on the leak: exit {rc}\n{err}")
    expect(f"ignored 1 snapshot not written by this run (without its token): {planted}" in err,
           f"the planted snapshot is named as ignored:\n{err}")
    data = lkstest.load_json(report)
    leaks = [leak for proc in data["processes"] if proc["pid"] == pid for leak in proc["leaks"]]
    expect(any(leak["bytes"] == 100 and leak["class"] == "definite" for leak in leaks),
           f"the report is the program's own: {leaks}")


def case_shared_dir(env):
    """A snapshot directory others can write is refused unless --shared-dir;
    so is one of another user."""
    shared = env.directory("shared", 0o777)
    done = env.leakscope(["run", "--shim", env.args.shim, "-d", shared, "--", env.args.waiter,
                          "clean"], stdin=subprocess.DEVNULL)
    expect(done.returncode == RUN_FAILED and "others than you can write to this snapshot "
           "directory" in done.stderr and "--shared-dir" in done.stderr,
           f"a world-writable directory is refused: exit {done.returncode}\n{done.stderr}")
    expect(not os.listdir(shared), "and nothing ran")
    done = env.leakscope(["run", "--shim", env.args.shim, "-d", shared, "--shared-dir", "-o",
                          os.devnull, "--", env.args.waiter, "clean"], stdin=subprocess.DEVNULL)
    snapshots = [name for name in os.listdir(shared) if name.endswith(".lks")]
    expect(done.returncode == 0 and len(snapshots) == 1,
           f"--shared-dir uses it: exit {done.returncode}\n{done.stderr}")
    if os.geteuid() == 0:
        theirs = env.directory("theirs", 0o755)
        os.chown(theirs, 65534, 65534)
        done = env.leakscope(["run", "--shim", env.args.shim, "-d", theirs, "--",
                              env.args.waiter, "clean"], stdin=subprocess.DEVNULL)
        expect(done.returncode == RUN_FAILED and "another user can write" in done.stderr,
               f"another user's directory is refused: {done.stderr}")


def guard_pids(tag):
    """The watchers of the runs whose environment has `tag` as an entry:
    other tests' runs, at the same time, have watchers too."""
    pids = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm") as f:
                    if f.read().strip() != "leakscope-guard":
                        continue
                with open(f"/proc/{name}/environ", "rb") as f:
                    if tag.encode() in f.read().split(b"\0"):
                        pids.add(int(name))
            except OSError:
                pass
    return pids


def case_guard_collision(env):
    """Two runs of one command with the same options (one snapshot
    directory) at once; one leakscope is killed (SIGKILL): its tree ends,
    the other run's program lives on and that run ends normally."""
    program = ["/bin/sh", "-c", f"{env.args.waiter} clean; exit 0"]
    options = ["-d", env.directory("snapshots"), "-o", os.devnull]
    value = f"first-{os.getpid()}"
    tag = f"LKS_TEST_RUN={value}"
    first, first_pid = env.start_run(options, program, dict(os.environ, LKS_TEST_RUN=value))
    watchers = guard_pids(tag)
    second, second_pid = env.start_run(options, program)
    first.kill()
    first.wait()
    # the waiter is sh's child: only the watcher's sweep ends it
    wait_until(lambda: gone(first_pid), "the killed run's program to end")
    wait_until(lambda: not (watchers & guard_pids(tag)), "the killed run's watcher to finish")
    expect(not gone(second_pid), "the other run's program was killed with the first run")
    rc, _, err = finish_run(second)
    expect(rc == 0, f"the other run ends normally: exit {rc}\n{err}")


def crafted(env, name, **fields):
    """A snapshot of `waiter` written by lkswrite: its `leak` and `main` as
    the one stack."""
    binary = env.args.waiter
    bias = lkswrite.load_bias(binary)
    leak, main = (bias + lkswrite.function_address(binary, f) + 8 for f in ("leak", "main"))
    common = dict(exe=binary, module=binary, bias=bias, start=min(leak, main) - 0x10000,
                  end=max(leak, main) + 0x10000, stacks=[[leak, main]], seq=1, uptime_ns=0,
                  label="exit", reason=lkswrite.REASON_EXIT)
    common.update(fields)
    path = env.path(name)
    lkswrite.write_snapshot(path, **common)
    return path


def case_colliding_pids(env):
    """Two processes with pid 1 (two containers): both reported."""
    directory = env.directory("pid1")
    for instance, ticks, size in ((0x1111, 500, 10), (0x2222, 900, 20)):
        os.rename(crafted(env, "one.lks", pid=1, instance=instance, start_ticks=ticks,
                          sites=[(1, 1, size)]),
                  os.path.join(directory, f"waiter.1.1.exit.{instance}.lks"))
    report = env.path("report.json")
    done = env.leakscope(["report", "-o", os.devnull, "--json", report, directory])
    expect(done.returncode == 0, f"report: {done.stderr}")
    processes = lkstest.load_json(report)["processes"]
    sizes = sorted(leak["bytes"] for proc in processes for leak in proc["leaks"])
    expect([p["pid"] for p in processes] == [1, 1] and sizes == [10, 20],
           f"both processes with pid 1 are reported: {[(p['pid'], p['leaks']) for p in processes]}")


def gate_incomplete(data):
    return [(entry["reason"], entry["count"]) for entry in data["gate"]["incomplete"]]


def case_incomplete(env):
    """Reports that say they are incomplete fail the gate, with the reason,
    unless --accept-incomplete names it."""
    own = env.path("own.json")
    done = env.leakscope(["run", "--shim", env.args.shim, "--fail-on", "definite", "--json",
                          own, "-o", os.devnull, "--", env.args.own_malloc])
    expect(done.returncode == GATE_FAILED and "report incomplete, pid" in done.stderr and
           "own_malloc" in done.stderr and gate_incomplete(lkstest.load_json(own)) ==
           [("own_malloc", 1)],
           f"the program's own malloc fails the gate: exit {done.returncode}\n{done.stderr}")
    for accept in ("own_malloc", "all", "missed_stacks,own_malloc"):
        done = env.leakscope(["run", "--shim", env.args.shim, "--fail-on", "definite",
                              "--accept-incomplete", accept, "-o", os.devnull, "--",
                              env.args.own_malloc])
        expect(done.returncode == 0, f"--accept-incomplete {accept}: exit {done.returncode}")
    done = env.leakscope(["report", "--accept-incomplete", "own_mallocs", own])
    expect(done.returncode == USAGE and "missed_children" in done.stderr,
           f"an unknown reason is refused, the known ones listed: {done.stderr}")

    missed = crafted(env, "missed.lks", pid=4242, sites=[],
                     counters={"missed_stacks": 3, "missed_allocs": 2})
    report = env.path("missed.json")
    done = env.leakscope(["report", "--fail-on", "definite", "--json", report, "-o", os.devnull,
                          missed])
    expect(done.returncode == GATE_FAILED and
           gate_incomplete(lkstest.load_json(report)) == [("missed_allocs", 2),
                                                           ("missed_stacks", 3)] and
           "missed_allocs 2, missed_stacks 3" in done.stderr,
           f"missed counters fail the gate: exit {done.returncode}\n{done.stderr}")
    done = env.leakscope(["report", "--fail-on", "definite", "--accept-incomplete",
                          "missed_allocs", "-o", os.devnull, missed])
    expect(done.returncode == GATE_FAILED and "missed_allocs" not in done.stderr,
           f"accepting one reason leaves the other: {done.stderr}")

    children = env.path("children.json")
    done = env.leakscope(["run", "--shim", env.args.shim, "--fail-on", "definite", "--json",
                          children, "-o", os.devnull, "--", env.args.spawner,
                          env.args.static_child])
    expect(done.returncode == GATE_FAILED and
           ("missed_children", 1) in gate_incomplete(lkstest.load_json(children)),
           f"a child the shim cannot enter fails the gate: exit {done.returncode}\n{done.stderr}")


def closed_to_others(path):
    """The first folder on the way to path that others may not enter, or None."""
    while True:
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def case_setuid(env):
    """A set-user-ID program that loads the shim (linked against it, as
    /etc/ld.so.preload would load it): LEAKSCOPE_OPTIONS is not read,
    nothing is written, and it says so."""
    if os.geteuid() != 0:
        print("SKIP: making a set-user-ID program of another user needs root")
        sys.exit(lkstest.SKIP)
    blocked = closed_to_others(os.path.dirname(os.path.abspath(env.args.shim)))
    if blocked:
        # the loader runs as that user and finds the shim only by the
        # program's absolute RUNPATH (AT_SECURE ignores LD_LIBRARY_PATH)
        print(f"SKIP: user 65534 cannot reach the shim: {blocked} is closed to others")
        sys.exit(lkstest.SKIP)
    place = env.directory("setuid", 0o755)
    program = os.path.join(place, "secure_prog")
    shutil.copy(env.args.secure_prog, program)
    os.chown(program, 65534, 65534)
    os.chmod(program, 0o4755)
    chosen = env.directory("chosen", 0o777)
    try:
        done = subprocess.run([program], capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              env=dict(os.environ, LEAKSCOPE_OPTIONS=f"output_dir={chosen}"))
    except PermissionError as error:
        print(f"SKIP: the set-user-ID program cannot run here: {error}")
        sys.exit(lkstest.SKIP)
    expect(done.returncode == 0, f"the program runs: {done.stderr}")
    expect(os.listdir(chosen) == [], f"nothing written where the caller said: "
           f"{os.listdir(chosen)}")
    expect("AT_SECURE" in done.stderr and "LEAKSCOPE_OPTIONS ignored" in done.stderr,
           f"and it says so: {done.stderr!r}")


def case_empty_output_dir(env):
    """output_dir= (empty) keeps the default, the current directory, and
    says so; it never writes into /."""
    cwd = env.directory("cwd")
    before = set(os.listdir("/"))
    done = subprocess.run([env.args.waiter, "clean"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, cwd=cwd, timeout=RUN_TIMEOUT,
                          env=env.shim_env("output_dir=:summary=0"))
    written = [n for n in set(os.listdir("/")) - before if n.endswith(".lks")]
    for name in written:
        os.unlink(os.path.join("/", name))
    expect(not written, f"a snapshot in /: {written}")
    expect("empty value in LEAKSCOPE_OPTIONS: 'output_dir' (ignored)" in done.stderr,
           f"the empty value is named: {done.stderr!r}")
    only_snapshot(cwd)


def case_temp_name(env):
    """The temporary file's name cannot be guessed: a file planted under
    the name it used to have does not stop the snapshot."""
    out = env.directory("out")
    waiter = subprocess.Popen([env.args.waiter, "leak"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env.shim_env(f"output_dir={out}:summary=0"))
    pid = ready_pid(waiter)
    name = f"{os.path.basename(env.args.waiter)}.{pid}.1.exit"
    with open(os.path.join(out, f".{name}.tmp"), "w") as planted:
        planted.write("taken\n")
    rc, _, err = finish_run(waiter)
    expect(rc == 0 and "cannot write" not in err, f"the program ends well: {rc} {err!r}")
    expect(sorted(os.listdir(out)) == [f".{name}.tmp", f"{name}.lks"],
           f"its snapshot is written, no temporary file left: {os.listdir(out)}")


# --- the reader and the command stay bounded -----------------------------------------

SANITIZED = False  # --sanitized: ASan maps terabytes of shadow, no RLIMIT_AS


def limited(megabytes):
    """Runs the child within `megabytes` of address space."""
    def set_limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    return None if SANITIZED else set_limit


def case_input_files(env):
    """--suppressions and --baseline: regular files of bounded size only,
    each refusal one clear line; a baseline of empty frames is refused
    before it takes memory."""
    snapshot = crafted(env, "good.lks", pid=4242, sites=[(1, 1, 10)])
    fifo = env.path("fifo")
    os.mkfifo(fifo)
    directory = env.directory("dir")
    huge = env.path("huge")
    with open(huge, "wb") as f:
        f.truncate(300 << 20)  # sparse: no disk
    for option, word in (("--suppressions", "suppressions"), ("--baseline", "baseline")):
        for path, what in ((fifo, "a FIFO"), ("/dev/zero", "/dev/zero"),
                           (directory, "a directory"), (huge, "300 MiB")):
            done = env.leakscope(["report", option, path, snapshot], timeout=60,
                                 preexec_fn=limited(1024))
            expect(done.returncode == USAGE and
                   f"{word} {path}: not a regular file of at most" in done.stderr and
                   done.stderr.count("\n") == 1,
                   f"{option} {what}: exit {done.returncode}, {done.stderr!r}")
    empty_frames = env.path("empty_frames.json")
    count = 20_000_000
    with open(empty_frames, "w") as f:
        f.write('{"version": 1, "processes": [{"leaks": [{"stack": [')
        f.write("{}," * (count - 1) + "{}")
        f.write("]}]}]}")
    done = env.leakscope(["report", "--baseline", empty_frames, snapshot], timeout=120,
                         preexec_fn=limited(1024))
    expect(done.returncode == USAGE and "values: leakscope's reports of this size hold fewer"
           in done.stderr, f"60 MB of empty frames in 1 GiB: exit {done.returncode}, "
           f"{done.stderr!r}")


def pack_snapshot(*, strings=b"\0", modules=(), traces=(), frames=(), sites=(), handles=(),
                  counters=None, flags=0):
    """A snapshot of any records (lkswrite's layouts), sealed."""
    counters = counters or {}
    values = [counters.get(name, 0) for name in lkswrite.COUNTERS_HEAD_FIELDS]
    sections = [
        (lkswrite.SEC_STRINGS, 1, strings, len(strings)),
        (lkswrite.SEC_COUNTERS, lkswrite.COUNTERS_SIZE,
         lkswrite.COUNTERS_HEAD.pack(*values).ljust(lkswrite.COUNTERS_SIZE, b"\0"), 1),
        (lkswrite.SEC_MODULES, lkswrite.MODULE.size, b"".join(modules), len(modules)),
        (lkswrite.SEC_TRACES, lkswrite.TRACE.size, b"".join(traces), len(traces)),
        (lkswrite.SEC_FRAMES, 8, struct.pack(f"<{len(frames)}Q", *frames), len(frames)),
        (lkswrite.SEC_SITES, lkswrite.SITE.size, b"".join(sites), len(sites)),
        (lkswrite.SEC_HANDLES, lkswrite.HANDLE.size, b"".join(handles), len(handles)),
        (lkswrite.SEC_RETAINERS, lkswrite.RETAINER_SIZE, b"", 0),
        (lkswrite.SEC_PYTHON, lkswrite.PYTHON_SIZE, b"", 0),
        (lkswrite.SEC_PYCODES, lkswrite.PYCODE_SIZE, b"", 0),
        (lkswrite.SEC_PYBYTES, 1, b"", 0),
        (lkswrite.SEC_PYTYPES, lkswrite.PYTYPE_SIZE, b"", 0),
        (lkswrite.SEC_PYOBJECTS, lkswrite.PYOBJECTS_SIZE, b"", 0),
    ]
    offset = lkswrite.HEADER.size + lkswrite.SECTION.size * len(sections)
    table, body = b"", b""
    for kind, size, data, count in sections:
        table += lkswrite.SECTION.pack(kind, size, offset + len(body), count)
        body += lkswrite.pad8(data)
    header = lkswrite.HEADER.pack(lkswrite.MAGIC, lkswrite.VERSION, lkswrite.HEADER.size,
                                  len(sections), lkswrite.REASON_EXIT, 4242, 1, 1, 0,
                                  1_700_000_000_000_000_000, 1, 0, 0, flags, 64, 0, 0, 0, 0,
                                  bytes(16), 1, 1)
    return lkstest.seal(header + table + body)


def site(trace, blocks, size, klass=0, family=0):
    return lkswrite.SITE.pack(trace, klass, family, 0, 0, blocks, size, 0, 0, size, 1, 0)


def write_bytes(env, name, data):
    path = env.path(name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def report_size(env, path, fmt):
    """`leakscope report -f FMT` of path within 512 MiB: (exit, output bytes, stderr)."""
    out = env.path("out")
    done = env.leakscope(["report", "-f", fmt, "-o", out, path], timeout=120,
                         preexec_fn=limited(512))
    return done.returncode, os.path.getsize(out) if os.path.exists(out) else 0, done.stderr


def case_bounded(env):
    """What made the reader's memory, time or output grow faster than its
    input is refused; the worst input it still accepts gives output
    proportional to its size."""
    addresses = [0x400000 + 16 * i for i in range(4000)]
    overlap = pack_snapshot(
        traces=[lkswrite.TRACE.pack(i + 1, 4000, 0) for i in range(4000)], frames=addresses,
        sites=[site(i + 1, 1, 1) for i in range(4000)],
        counters={"live_blocks": 4000, "live_bytes": 4000, "traces": 4000})
    long_text = b"\0" + b"x" * (1 << 20) + b"\0"
    shared = pack_snapshot(
        strings=long_text,
        handles=[lkswrite.HANDLE.pack(3 + i, 1, 0, 0, 1, 0, 0) for i in range(20000)],
        counters={"handles_open": 20000})
    for name, data, why in (("overlap.lks", overlap, "trace 1: depth 4000"),
                            ("shared.lks", shared, "more than 4095 bytes")):
        path = write_bytes(env, name, data)
        for fmt in ("text", "json"):
            rc, size, err = report_size(env, path, fmt)
            expect(rc == 1 and why in err and size == 0 and err.count("\n") == 1,
                   f"{name} ({len(data)} bytes, -f {fmt}): refused in one line, not "
                   f"{size} bytes of output: exit {rc}, {err!r}")
    # the most output per byte the rules allow: every trace of the deepest
    # stack named by twelve sites, every frame in the module
    binary = env.args.waiter
    module = lkswrite.MODULE.pack(0, 0x400000, 0x800000, 1, lkswrite.MODULE_MAIN, 0, b"")
    traces, frames, sites = [], [], []
    for t in range(1, 400):
        traces.append(lkswrite.TRACE.pack(t, 64, len(frames)))
        frames += [0x401000 + 4 * (t * 64 + d) for d in range(64)]
        sites += [site(t, 1, 1, klass, family) for klass in (1, 2, 3, 4) for family in (0, 1, 2)]
    dense = pack_snapshot(strings=b"\0" + binary.encode() + b"\0", modules=[module],
                          traces=traces, frames=frames, sites=sites, flags=1,
                          counters={"live_blocks": len(sites), "live_bytes": len(sites),
                                    "traces": len(traces)})
    path = write_bytes(env, "dense.lks", dense)
    for fmt, bound in (("text", 64), ("json", 256)):
        rc, size, err = report_size(env, path, fmt)
        print(f"dense.lks: {len(dense)} bytes, -f {fmt}: {size} bytes ({size / len(dense):.0f}x)")
        expect(rc == 0 and size <= bound * len(dense),
               f"-f {fmt}: {size} bytes from {len(dense)}, more than {bound}x: exit {rc} {err}")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    parser = lkstest.argument_parser(__doc__)
    for option in ("--waiter", "--spawner", "--static-child", "--secure-prog", "--own-malloc"):
        parser.add_argument(option, type=os.path.abspath)
    parser.add_argument("--sanitized", action="store_true",
                        help="leakscope is built with AddressSanitizer")
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    global SANITIZED
    SANITIZED = args.sanitized
    tmp = tempfile.mkdtemp(prefix="lks-security-")
    os.chmod(tmp, 0o755)  # the set-user-ID case runs as another user in it
    errors = []
    try:
        CASES[args.case](Env(args, tmp))
    except (CheckError, subprocess.TimeoutExpired, OSError) as error:
        errors.append(f"{args.case}: {error}")
    return lkstest.finish(errors, f"ok {args.case}", kept=tmp)


if __name__ == "__main__":
    sys.exit(main())
