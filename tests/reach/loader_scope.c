/* SPDX-License-Identifier: MIT */
/* dlopen(RTLD_GLOBAL) of an object not loaded yet makes glibc malloc a new
 * global scope array (add_to_global_resize), whose only pointer is kept in
 * the main program's link map, which ld.so's minimal malloc placed in the
 * rest of the page past ld.so's .bss: reachable, as Valgrind says, once
 * that page's tail is a root. The program's own dropped block stays lost.
 * LOADER_SCOPE_MODULE: the path of loader_scope_lib.c's module (meson). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "reach_fixture.h"

static void *g_module;

/* No tail call: this frame stays on the loader's stacks. */
__attribute__((noinline)) static int open_global(void)
{
	g_module = dlopen(LOADER_SCOPE_MODULE, RTLD_NOW | RTLD_GLOBAL); /* expect-inside: fn=open_global inside=add_to_global_resize class=reachable */
	return g_module != NULL;
}

__attribute__((noinline)) static void drop(void)
{
	void *block = malloc(48); /* expect-class: fn=drop class=definite blocks=1 bytes=48 */

	escape(block);
}

int main(void)
{
	if (!open_global()) {
		fprintf(stderr, "loader_scope: %s\n", dlerror());
		return 2;
	}
	drop();
	return 0;
}
