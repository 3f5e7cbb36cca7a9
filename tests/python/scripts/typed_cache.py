# SPDX-License-Identifier: MIT
# A cache of responses, each a dict holding a list and a str, made on one
# line; snapshots after 300 and 800 requests.
import ctypes

snapshot = ctypes.CDLL(None).leakscope_snapshot
cache = {}


def handle(i):
    cache[i] = {"items": [i, i + 1], "body": "x" * 100 + str(i)}  # @entry


def serve(count):
    for i in range(len(cache), count):
        handle(i)


serve(300)
snapshot(b"after300")
serve(800)
snapshot(b"after800")
