# SPDX-License-Identifier: MIT
# Reference cycles made per request, one plain and one whose objects have
# __del__, with automatic collection off (as latency-tuned services run):
# they stay in memory until a full collection. Snapshots after 50 and
# 250 requests, through the API, and one from a C thread CPython never saw.
import ctypes
import gc
import sys

leaky = ctypes.CDLL(sys.argv[1])
snapshot = ctypes.CDLL(None).leakscope_snapshot
finalized = [0]


class Session:
    def __init__(self, peer=None):
        self.peer = peer
        self.payload = bytearray(700)


class Handler:
    def __init__(self):
        self.me = self
        self.buffer = bytearray(900)

    def __del__(self):
        finalized[0] += 1


def request():
    first = Session()  # @plain
    first.peer = Session(first)  # @plain_peer
    Handler()  # @finalized


gc.disable()
for _ in range(50):
    request()
snapshot(b"before")
for _ in range(200):
    request()
snapshot(b"after")
leaky.snapshot_in_thread(b"c_thread")
print("finalized", finalized[0])
