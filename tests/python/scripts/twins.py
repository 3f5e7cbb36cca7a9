# SPDX-License-Identifier: MIT
# Two functions that allocate by the same native path, called in turn from
# one loop: since a call from Python to Python adds no C frame, both run
# the very same native stack, and only their Python frames tell them apart.
import ctypes

snapshot = ctypes.CDLL(None).leakscope_snapshot
kept = []


def alpha():
    return bytearray(1000)  # @alpha


def beta():
    return bytearray(1000)  # @beta


for _ in range(200):
    kept.append(alpha())
    kept.append(beta())
snapshot(b"twins")
