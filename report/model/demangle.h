/* SPDX-License-Identifier: MIT */
/* C++ symbol names made readable, through the C++ runtime's demangler. */
#ifndef LEAKSCOPE_DEMANGLE_H
#define LEAKSCOPE_DEMANGLE_H

/* A malloc'd readable name for a mangled C++ (Itanium ABI) name, or NULL when
 * `name` is not one (C names, Rust, ...) or cannot be demangled. */
char *demangle(const char *name);

#endif
