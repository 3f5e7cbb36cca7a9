# SPDX-License-Identifier: MIT
# Stacks a thread's capture could take from its previous capture, but must
# not (docs/PERFORMANCE.md, "Reusing a thread's Python frames"): each block
# must come out at its own lines. Every block has a size of its own scenario.
import ctypes

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
for k in range(300):
    # freed code objects whose addresses the next ones reuse, called from
    # one line: a stale tag would name another function
    kept.append(fresh(k)(4000 + k))  # @fresh
snapshot(b"reuse")
