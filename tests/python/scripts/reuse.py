# SPDX-License-Identifier: MIT
# Stacks a thread's capture could take from a chain one of its recent
# captures read, but must not (docs/PERFORMANCE.md, "Reusing a thread's
# Python frames"): each block must come out at its own lines. Every block
# has a size of its own scenario.
import ctypes
import functools
import threading

snapshot = ctypes.CDLL(None).leakscope_snapshot
kept = []


def make(size):
    return bytearray(size)  # @make


def nested(depth, size):
    if depth:
        return nested(depth - 1, size)  # @nested
    return bytearray(size)  # @nested_leaf


def numbers():
    while True:
        yield bytearray(3000)  # @gen


counter = numbers()


def resume_a():
    return next(counter)  # @resume_a


def resume_b():
    return next(counter)  # @resume_b


def deep_bytes(depth, size):
    if depth:
        return deep_bytes(depth - 1, size)  # @deep_bytes
    return bytes(size)  # @deep_bytes_leaf


def twice(size):
    return bytes(size)  # @twice


def via_leaf(size):
    return bytearray(size)  # @via_leaf


# the same function called by the same instruction, directly or through C:
# 3.11 tells the two apart only by the frame's is_entry, 3.12 on by a
# C-stack frame between the two
via = [via_leaf, functools.partial(via_leaf)]


def worker(t):
    for _ in range(200):
        # two chains in turn on each of two threads
        kept.append(twice(7000 + 10 * t))  # @thread_first
        kept.append(twice(7001 + 10 * t))  # @thread_second


def maker(made, ready, done):
    """Functions made and freed on this thread, each run by the main thread
    from one line: their code objects' addresses come back here first."""
    for k in range(100):
        scope = {}
        exec(compile("def tfn_%d(size):\n    return bytes(size)\n" % k,
                     "reuse_t%d.py" % k, "exec"), scope)
        made.append(scope.pop("tfn_%d" % k))
        ready.set()
        done.wait()
        done.clear()
        made.clear()  # the last reference: the code object is freed here


def fresh(k):
    source = "def fn_%d(size):\n    return bytes(size)\n" % k
    scope = {}
    exec(compile(source, "reuse_%d.py" % k, "exec"), scope)
    return scope["fn_%d" % k]


for _ in range(200):
    # one function, the very same frame, called from two lines in turn
    kept.append(make(1000))  # @first
    kept.append(make(1001))  # @second
    # the same function at two depths: a frame more is another stack
    kept.append(nested(1, 2000))  # @shallow
    kept.append(nested(2, 2001))  # @deep
    # a generator's frame (same address) resumed by two callers in turn
    kept.append(resume_a())
    kept.append(resume_b())
for _ in range(200):
    for n, call in enumerate(via):
        kept.append(call(9000 + 10 * n))  # @via
for k in range(300):
    # freed code objects whose addresses the next ones reuse, called from
    # one line: a stale tag would name another function
    kept.append(fresh(k)(4000 + k))  # @fresh
for _ in range(200):
    # ten chains in turn, more than a thread keeps: a chain read again
    # after the others must come out at its own depth
    for j in range(10):
        kept.append(deep_bytes(j, 6000 + j))  # @rotation
threads = [threading.Thread(target=worker, args=(t,)) for t in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
made, ready, done = [], threading.Event(), threading.Event()
thread = threading.Thread(target=maker, args=(made, ready, done))
thread.start()
for k in range(100):
    ready.wait()
    ready.clear()
    kept.append(made[0](8000 + k))  # @cross
    done.set()
thread.join()
snapshot(b"reuse")
