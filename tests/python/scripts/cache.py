# SPDX-License-Identifier: MIT
# A cache that grows per request; snapshots after 300 and 600 requests.
import ctypes
import sys

snapshot = ctypes.CDLL(None).leakscope_snapshot
cache = {}


def handle_request(i):
    cache[i] = "response-%d" % i + "x" * 200  # @cache


def serve(count):
    for i in range(len(cache), count):
        handle_request(i)


serve(300)
snapshot(b"after300")
serve(600)
snapshot(b"after600")
