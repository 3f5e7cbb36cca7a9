/* SPDX-License-Identifier: MIT */
/* A pointer kept only in a page of a library's .bss that the program then
 * unmapped is no root: its block is lost. A page of the same .bss still
 * mapped keeps its block. The library is dlopen'ed: it then lies below
 * free address space, the hole joins it, and a later mapping may take the
 * hole; the shim's exit tables did on this machine (docs/REACH.md), and
 * the segment, a root by its program headers, must not read them.
 * UNMAPPED_PAGE_MODULE: unmapped_page_lib.c's module (meson). */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reach_fixture.h"

__attribute__((noinline)) static void keep(void **slot)
{
	*slot = malloc(64); /* expect-class: fn=keep class=reachable blocks=1 bytes=64 */
}

__attribute__((noinline)) static void drop(void **slot)
{
	*slot = malloc(777); /* expect-class: fn=drop class=definite blocks=1 bytes=777 */
}

int main(void)
{
	void *module = dlopen(UNMAPPED_PAGE_MODULE, RTLD_NOW);
	char *(*area_of)(size_t *) =
		module ? (char *(*)(size_t *))dlsym(module, "unmapped_page_area") : NULL;
	size_t bytes, page = (size_t)sysconf(_SC_PAGESIZE);
	char *area = area_of ? area_of(&bytes) : NULL;
	uintptr_t last = area ? ((uintptr_t)area + bytes - 1) & ~(uintptr_t)(page - 1) : 0;

	if (!area || (uintptr_t)area + page > last)
		return 2;  /* the area must span a page apart from its last */
	keep((void **)area);
	drop((void **)last);
	return munmap((void *)last, page) ? 3 : 0;
}
