# SPDX-License-Identifier: MIT
# Python frames of other threads: a threading.Thread, a thread started
# before the first snapshot and still running, and a C thread calling back.
import ctypes
import sys
import threading

leaky = ctypes.CDLL(sys.argv[1])
snapshot = ctypes.CDLL(None).leakscope_snapshot
kept = []
go_on = threading.Event()


def worker():
    for i in range(50):
        kept.append(bytearray(3001))  # @worker


def early():
    kept.append(bytearray(3002))  # @early_before
    go_on.wait()
    kept.append(bytearray(3003))  # @early_after


def from_c():
    kept.append(bytearray(3004))  # @from_c


callback = ctypes.CFUNCTYPE(None)(from_c)
first = threading.Thread(target=early)
first.start()
snapshot(b"first")
t = threading.Thread(target=worker)
t.start()
t.join()
leaky.call_in_thread(callback)
go_on.set()
first.join()
snapshot(b"threads")
