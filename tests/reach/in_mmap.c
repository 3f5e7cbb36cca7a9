/* SPDX-License-Identifier: MIT */
/* The only pointer to a block is in an anonymous mapping of the program's
 * own (as a custom allocator's arena would hold it): reachable. A block
 * whose only pointer was in a mapping since unmapped is definitely lost. */
#include <stdlib.h>
#include <sys/mman.h>

#include "reach_fixture.h"

static void **g_arena;

__attribute__((noinline)) static void keep_in_mapping(void)
{
	g_arena = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_arena == MAP_FAILED)
		exit(2);
	g_arena[1000] = malloc(600); /* expect-class: fn=keep_in_mapping class=reachable blocks=1 bytes=600 */
	/* the mapping's address itself is not kept where the scan looks */
	g_arena = (void **)((unsigned long)g_arena ^ 1);
}

__attribute__((noinline)) static void lose_with_mapping(void)
{
	void **gone = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (gone == MAP_FAILED)
		exit(2);
	gone[7] = malloc(700); /* expect-class: fn=lose_with_mapping class=definite blocks=1 bytes=700 */
	munmap(gone, 1 << 16);
}

int main(void)
{
	keep_in_mapping();
	lose_with_mapping();
	return 0;
}
