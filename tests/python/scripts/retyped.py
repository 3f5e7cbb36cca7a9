# SPDX-License-Identifier: MIT
# A class freed after one snapshot and another made, most likely in its
# block, before the next: the second snapshot must name the new class.
import ctypes
import gc
import sys

snapshot = ctypes.CDLL(None).leakscope_snapshot


class Before:
    def __init__(self, n):
        self.n = n


held = [Before(i) for i in range(200)]
snapshot(b"first")
old_address = id(Before)
del held, Before
gc.collect()


class After:
    def __init__(self, n):
        self.n = n


held = [After(i) for i in range(300)]
snapshot(b"second")
print("same block" if id(After) == old_address else "another block", file=sys.stderr)
