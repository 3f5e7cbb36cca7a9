# SPDX-License-Identifier: MIT
# Many short-lived functions, each compiled, run once and dropped: their
# code objects are freed and their addresses reused by the next ones.
import ctypes

snapshot = ctypes.CDLL(None).leakscope_snapshot
kept = []

for k in range(300):
    source = "def fn_%d(keep):\n    keep.append(bytes(%d))\n" % (k, 5000 + k)
    scope = {}
    exec(compile(source, "gen_%d.py" % k, "exec"), scope)
    scope["fn_%d" % k](kept)
    del scope
snapshot(b"exec")
