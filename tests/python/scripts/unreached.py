# SPDX-License-Identifier: MIT
# Two sites grow between two in-run snapshots (docs/PYTHON.md, "Retainers"):
# one in a module-level list, one in a list only a running function's
# local variable holds (a frame's locals live in the interpreter's own
# stack, which is no heap block): no module reaches the second.
import ctypes

snapshot = ctypes.CDLL(None).leakscope_snapshot
drained = [[{}] for _ in range(200)]
kept = []  # @kept


class Held:
    def __init__(self, n):
        self.n = n


class Local:
    def __init__(self, n):
        self.n = n


def hold(n):
    kept.append(Held(n))  # @hold


def work():
    mine = []
    snapshot(b"before")
    for n in range(3000):
        hold(n)
        mine.append(Local(n))  # @local
    snapshot(b"grown")
    return len(mine)


work()
