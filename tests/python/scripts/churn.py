# SPDX-License-Identifier: MIT
# Threads that make and drop objects as fast as they can (big bytes objects
# too, which malloc maps and unmaps), from when the file argv[1] is made
# until standard input ends (the checker closes it, or ends), while
# `leakscope snapshot` asks for snapshots: they read blocks freed under them.
import sys
import threading

started_file = sys.argv[1]
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
with open(started_file, "w", encoding="utf-8"):
    pass
sys.stdin.read()
stop.set()
for thread in threads:
    thread.join()
