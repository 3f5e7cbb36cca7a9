/* SPDX-License-Identifier: MIT */
/* The growth gate's program: one loop run 100 times, a snapshot "A" after
 * its 10th round and "B" after its last (include/leakscope.h). MODE grow:
 * each round adds an entry to a cache that keeps them all, reachable to
 * the end; steady: each round replaces the one entry, memory stays
 * constant. A second argument "leak" also loses one block before exit. */
#include <stdlib.h>
#include <string.h>

#include "leakscope.h"

#define ENTRY_BYTES 128

struct entry {
	struct entry *next;
	char payload[ENTRY_BYTES - sizeof(struct entry *)];
};

static struct entry *cache;

__attribute__((noinline)) static void cache_add(int round, int grow)
{
	struct entry *e = malloc(sizeof(*e)); /* growth-site: cache_add */

	memset(e->payload, round, sizeof(e->payload));
	if (grow) {
		e->next = cache;
		cache = e;
	} else {
		free(cache);
		e->next = NULL;
		cache = e;
	}
}

/* Hides a pointer from the optimizer without storing it anywhere a
 * reachability scan could find it (as gate_prog.c). */
static void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

__attribute__((noinline)) static void lose_one(void)
{
	escape(malloc(64));
}

int main(int argc, char **argv)
{
	int grow = argc > 1 && strcmp(argv[1], "grow") == 0;

	/* one loop, one call site: the rounds before and after "A" are one site */
	for (int round = 0; round < 100; round++) {
		if (round == 10)
			leakscope_snapshot("A");
		cache_add(round, grow);
	}
	leakscope_snapshot("B");
	if (argc > 2 && strcmp(argv[2], "leak") == 0)
		lose_one();
	return 0;
}
