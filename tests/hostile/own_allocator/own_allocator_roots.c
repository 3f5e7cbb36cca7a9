/* SPDX-License-Identifier: MIT */
/* The program's malloc is its own (own_alloc.c), not glibc's: the word
 * before its blocks is no chunk header, and its arena is no glibc heap.
 * Memory of that arena that no block holds (the allocator's own, handed
 * out without malloc) keeps the only pointer to a block: reachable. A
 * shim that read the word before a block as glibc's header would leave
 * out 64 MiB around it, and call that block lost. */
#include <stdint.h>
#include <stdlib.h>

#include "reach_fixture.h"

void *own_alloc_unrecorded(size_t size);

__attribute__((noinline)) static uintptr_t keep_in_allocator_memory(void)
{
	void **own = own_alloc_unrecorded(64);

	if (!own)
		exit(2);
	own[2] = malloc(777); /* expect-class: fn=keep_in_allocator_memory class=reachable blocks=1 bytes=777 */
	return (uintptr_t)own ^ 1;  /* its address is not kept where the scan looks */
}

__attribute__((noinline)) static void lose(void)
{
	escape(malloc(888)); /* expect-class: fn=lose class=definite blocks=1 bytes=888 */
}

int main(void)
{
	escape((void *)keep_in_allocator_memory());
	lose();
	return 0;
}
