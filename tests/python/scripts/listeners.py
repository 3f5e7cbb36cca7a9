# SPDX-License-Identifier: MIT
# Listeners subscribed and never removed (50, a snapshot, 150 more); a file
# dropped (closed by its refcount) and files kept open in a list. The free
# lists of lists and dicts (80 each) are used up first, so the listeners'
# list keeps the line that made it (docs/PYTHON.md, "Retainers").
import ctypes
import os
import sys

snapshot = ctypes.CDLL(None).leakscope_snapshot
drained = [[{}] for _ in range(200)]
listeners = []  # @listeners
open_files = []


class MyListener:
    def __init__(self, n):
        self.n = n
        self.payload = [n] * 20


def subscribe(n):
    listeners.append(MyListener(n))  # @subscribe


def keep_open(path):
    open_files.append(open(path))  # @keep_open


def read_once(path):
    f = open(path)  # @read_once
    return f.read(1)


for n in range(50):
    subscribe(n)
snapshot(b"early")
for n in range(50, 200):
    subscribe(n)
for _ in range(5):
    keep_open(sys.argv[0])
for _ in range(5):
    read_once(sys.argv[0])
snapshot(b"held")
