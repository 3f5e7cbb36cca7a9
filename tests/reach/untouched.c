/* SPDX-License-Identifier: MIT */
/* The only pointers to two blocks are on the one page the program wrote of
 * a large anonymous mapping and of a large .bss array: both reachable. The
 * scan reads the pages written, not the untouched rest (zeros), which
 * would cost a page fault each: it reads far less than the 96 MiB here.
 * expect-scanned-at-most: 16777216 */
#include <stdlib.h>
#include <sys/mman.h>

#include "reach_fixture.h"

#define MAPPING_BYTES (64ul << 20)
#define BSS_WORDS (4ul << 20) /* 32 MiB */

void *g_bss[BSS_WORDS]; /* not static: the optimizer must keep the store */
static void **g_arena;

__attribute__((noinline)) static void keep_in_mapping(void)
{
	g_arena = mmap(NULL, MAPPING_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_arena == MAP_FAILED)
		exit(2);
	g_arena[MAPPING_BYTES / 16] = malloc(600); /* expect-class: fn=keep_in_mapping class=reachable blocks=1 bytes=600 */
	/* the mapping's address itself is not kept where the scan looks */
	g_arena = (void **)((unsigned long)g_arena ^ 1);
}

__attribute__((noinline)) static void keep_in_bss(void)
{
	g_bss[BSS_WORDS / 2 + 3] = malloc(700); /* expect-class: fn=keep_in_bss class=reachable blocks=1 bytes=700 */
}

__attribute__((noinline)) static void lose(void)
{
	escape(malloc(800)); /* expect-class: fn=lose class=definite blocks=1 bytes=800 */
}

int main(void)
{
	keep_in_mapping();
	keep_in_bss();
	lose();
	return 0;
}
