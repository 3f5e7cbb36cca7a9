# SPDX-License-Identifier: MIT
# A soak test for the growth gate: 100 requests, snapshot A after 10 and B
# after the last. "grow": each request adds a cache entry that is never
# dropped (all of it reachable); "steady": the same work, nothing kept.
import ctypes
import sys

snapshot = ctypes.CDLL(None).leakscope_snapshot
cache = {}
keep = sys.argv[1] == "grow"


def handle_request(i):
    response = "response-%d" % i + "x" * 300  # @soak
    if keep:
        cache[i] = response
    return len(response)


for round_number in range(100):
    if round_number == 10:
        snapshot(b"A")
    handle_request(round_number)
snapshot(b"B")
