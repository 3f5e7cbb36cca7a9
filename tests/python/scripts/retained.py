# SPDX-License-Identifier: MIT
# Held until the interpreter ends (docs/PYTHON.md, "Retainers"): listeners
# in a module-level list, and a cache dict in a class attribute. CPython
# reuses freed lists and dicts from free lists (80 each), where a reused one
# keeps the site it was first made at: these use them up first.
drained = [[{}] for _ in range(200)]
listeners = []  # @listeners


class MyListener:
    def __init__(self, n):
        self.n = n


class Cache:
    store = {}  # @store


def subscribe(n):
    listeners.append(MyListener(n))  # @subscribe


def remember(n):
    Cache.store[n] = str(n) * 40  # @remember


for n in range(20000):
    subscribe(n)
for n in range(5000):
    remember(n)
