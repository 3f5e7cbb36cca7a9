# SPDX-License-Identifier: MIT
# Threads that make and drop objects as fast as they can (big bytes objects
# too, which malloc maps and unmaps), from when argv[1].started is made until
# the file argv[1] exists, while `leakscope snapshot` asks for snapshots:
# they read blocks freed under them.
import os
import sys
import threading
import time

stop_file = sys.argv[1]
stop = threading.Event()


class Churned:
    def __init__(self, n):
        self.n = n
        self.items = [n] * 8


def churn(seed):
    kept = []
    n = seed
    while not stop.is_set():
        kept.append(Churned(n))
        kept.append({"n": n, "s": "v%d" % n})
        kept.append(bytes(100000 + n % 7))  # mapped, then unmapped, by malloc
        if len(kept) > 300:
            del kept[:150]
        n += 1


threads = [threading.Thread(target=churn, args=(k * 1000,)) for k in range(3)]
for thread in threads:
    thread.start()
with open(stop_file + ".started", "w", encoding="utf-8"):
    pass
# no clock of its own: four snapshots of a typed heap take minutes on a
# loaded machine; it runs until told, or until the test that started it is
# gone (then it is no longer its parent's child)
parent = os.getppid()
while not os.path.exists(stop_file) and os.getppid() == parent:
    time.sleep(0.05)
stop.set()
for thread in threads:
    thread.join()
