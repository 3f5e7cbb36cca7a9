/* SPDX-License-Identifier: MIT */
/* The scopes around an address, for the symbolizer's inline frames. */
#include <dwarf.h>
#include <stdbool.h>
#include <stdlib.h>

#include "scopes.h"

/* Containers that hold functions without covering addresses themselves. */
static bool holds_functions(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_module ||
	       tag == DW_TAG_structure_type || tag == DW_TAG_class_type ||
	       tag == DW_TAG_union_type || tag == DW_TAG_enumeration_type;
}

/* The innermost DIE under parent whose ranges hold pc, through the
 * containers above: what dwarf_getscopes finds first, without following
 * abstract origins, which is where it fails on Rust's units (elfutils
 * 0.188: "no address value" for every address of a function that inlined
 * the standard library's, whose origins lie in other units). */
static bool innermost_at(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *found, int depth)
{
	Dwarf_Die child;

	if (depth > 64 || dwarf_child(parent, &child) != 0)
		return false;
	do {
		if (dwarf_haspc(&child, pc) > 0) {
			*found = child;
			innermost_at(&child, pc, found, depth + 1);
			return true;
		}
		if (holds_functions(dwarf_tag(&child)) &&
		    innermost_at(&child, pc, found, depth + 1))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* The innermost scope as dwarf_getscopes finds it, which also reads
 * imported partial units (dwz). */
static bool innermost_by_libdw(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die *innermost)
{
	Dwarf_Die *found = NULL;
	int count = dwarf_getscopes(cudie, pc, &found);

	if (count > 0)
		*innermost = found[0];
	free(found);
	return count > 0;
}

/* As eu-addr2line -i: dwarf_getscopes alone would continue into the
 * abstract definition, so only the innermost scope is found and the chain
 * is made from it by dwarf_getscopes_die. Our own walk comes first:
 * where dwarf_getscopes fails it also leaks (elfutils 0.188, 32 bytes a
 * call), and it is left for what the walk cannot see. */
int scopes_at(Dwfl_Module *mod, Dwarf_Addr pc, Dwarf_Die **scopes, Dwarf_Die *cu)
{
	Dwarf_Addr bias;
	Dwarf_Die *cudie = dwfl_module_addrdie(mod, pc, &bias);
	Dwarf_Die innermost;
	int count;

	*scopes = NULL;
	if (!cudie)
		return 0;
	if (!innermost_at(cudie, pc - bias, &innermost, 0) &&
	    !innermost_by_libdw(cudie, pc - bias, &innermost))
		return 0;
	if (!dwarf_diecu(&innermost, cu, NULL, NULL))
		return 0;
	count = dwarf_getscopes_die(&innermost, scopes);
	return count > 0 ? count : 0;
}
