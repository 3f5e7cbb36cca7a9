/* SPDX-License-Identifier: MIT */
/* C++ and Rust (legacy) symbol names made readable, through the C++
 * runtime's demangler. */
#ifndef LEAKSCOPE_DEMANGLE_H
#define LEAKSCOPE_DEMANGLE_H

/* A malloc'd readable name for a mangled C++ (Itanium ABI) name, Rust's
 * legacy ones without their hash, or NULL when `name` is not one (C names,
 * Rust v0) or cannot be demangled. */
char *demangle(const char *name);

#endif
