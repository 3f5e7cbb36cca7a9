# SPDX-License-Identifier: MIT
# Run by tests/python/embedder.c through a libpython it dlopened: blocks
# kept where the process ends (the interpreter is never finalized).
import sys


def keep():
    sys.kept = [bytearray(5005) for _ in range(20)]  # @embedded


keep()
