/* SPDX-License-Identifier: MIT */
/* Mappings laid out where glibc's thread heaps go, and not heaps: each
 * holds the only pointer to a block, which is reachable. One is a fresh
 * 64 MiB-aligned mapping, partly read-write as a heap would be; the other
 * takes the very address of a heap glibc gave back (a thread's arena grew
 * into a second heap, then freed it all), which the shim saw blocks of. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "reach_fixture.h"

#define SPAN (64ul << 20)  /* glibc's heap size and alignment */
#define GROWN 800          /* blocks of 100,000 bytes: more than one heap */

static uintptr_t g_second_heap;  /* the base of the heap glibc gave back */

/* Allocates past its first heap, then frees it all, newest first. */
static void *grow_and_free(void *unused)
{
	static void *blocks[GROWN];
	uintptr_t first = 0;

	for (int i = 0; i < GROWN; i++) {
		uintptr_t base;

		blocks[i] = malloc(100000);
		base = (uintptr_t)blocks[i] & ~(SPAN - 1);
		if (!first)
			first = base;
		else if (base != first && !g_second_heap)
			g_second_heap = base;
	}
	for (int i = GROWN; i-- > 0; )
		free(blocks[i]);
	return unused;
}

/* Hides a mapping's address from the scan. */
static uintptr_t hidden(void *mapping)
{
	return (uintptr_t)mapping ^ 1;
}

__attribute__((noinline)) static uintptr_t keep_in_aligned_mapping(void)
{
	char *wide = mmap(NULL, 2 * SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	                  -1, 0);
	void **aligned;

	if (wide == MAP_FAILED)
		exit(2);
	aligned = (void **)(((uintptr_t)wide + SPAN - 1) & ~(SPAN - 1));
	/* read-write at first, inaccessible after, as a young heap */
	if (mprotect((char *)aligned + (1 << 20), SPAN - (1 << 20), PROT_NONE))
		exit(2);
	aligned[6] = malloc(4444); /* expect-class: fn=keep_in_aligned_mapping class=reachable blocks=1 bytes=4444 */
	return hidden(aligned);
}

__attribute__((noinline)) static uintptr_t keep_where_a_heap_was(void)
{
	void **mapping = mmap((void *)g_second_heap, SPAN, PROT_READ | PROT_WRITE,
	                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (mapping != (void *)g_second_heap)
		exit(3);  /* glibc kept it: the fixture did not set up its case */
	mapping[6] = malloc(5555); /* expect-class: fn=keep_where_a_heap_was class=reachable blocks=1 bytes=5555 */
	return hidden(mapping);
}

__attribute__((noinline)) static void lose(void)
{
	escape(malloc(666)); /* expect-class: fn=lose class=definite blocks=1 bytes=666 */
}

int main(void)
{
	pthread_t grower;

	if (pthread_create(&grower, NULL, grow_and_free, NULL) || pthread_join(grower, NULL) ||
	    !g_second_heap)
		return 2;
	escape((void *)keep_where_a_heap_was());  /* first: before anything takes the space */
	escape((void *)keep_in_aligned_mapping());
	lose();
	return 0;
}
