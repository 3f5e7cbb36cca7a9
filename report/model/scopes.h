/* SPDX-License-Identifier: MIT */
#ifndef LKS_SCOPES_H
#define LKS_SCOPES_H

#include <elfutils/libdwfl.h>

/* The lexical chain of scopes around pc (an address of mod's), innermost
 * first, each inlined instance followed by the scopes it was inlined into;
 * *cu is their unit. Returns the count (0: none known) and sets *scopes,
 * which the caller frees. */
int scopes_at(Dwfl_Module *mod, Dwarf_Addr pc, Dwarf_Die **scopes, Dwarf_Die *cu);

#endif
