# SPDX-License-Identifier: MIT
# A str a C call keeps a reference to and never gives back (Py_IncRef without
# its Py_DecRef): a mortal object, lost at exit like any leak of the program.
import ctypes


def leak(n):
    text = "leaked text %d " % n * 40  # @leak
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(text))


for n in range(3):
    leak(n)
