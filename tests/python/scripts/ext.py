# SPDX-License-Identifier: MIT
# A C extension leaking under a Python caller, called with the GIL released.
import ctypes
import sys

leaky = ctypes.CDLL(sys.argv[1])
snapshot = ctypes.CDLL(None).leakscope_snapshot


def process(n):
    leaky.ext_fn(1000 + n)  # @process


def main():
    for n in range(5):
        process(n)  # @main


main()
snapshot(b"ext")
