/* SPDX-License-Identifier: MIT */
/* Functions whose return addresses test_symbols looks up: each returns the
 * address a call made at a marked line of symtarget.c or symtarget_cxx.cpp
 * returns to, as a stack of the shim would record it. */
#ifndef LEAKSCOPE_SYMTARGET_H
#define LEAKSCOPE_SYMTARGET_H

#ifdef __cplusplus
extern "C" {
#endif

void *symtarget_here(void);
void *symtarget_plain(void);
void *symtarget_inlined(void);
void *symtarget_cxx(void);

#ifdef __cplusplus
}
#endif

#endif
