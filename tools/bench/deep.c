/* SPDX-License-Identifier: MIT */
/* Benchmark workload: every allocation is made about 30 frames deep, from
 * a few different call paths. Usage: deep ALLOCATIONS */
#include <stdlib.h>

#define DEPTH 30

static volatile unsigned long sink;

__attribute__((noinline)) static void descend(int level, unsigned long serial)
{
	if (level == 0) {
		char *block = malloc(16 + serial % 256);
		if (block != NULL)
			block[0] = (char)serial;
		sink = sink + (unsigned long)(block != NULL);
		free(block);
		return;
	}
	/* two callees per level give a handful of distinct stacks */
	if ((serial >> level) & 1)
		descend(level - 1, serial);
	else
		descend(level - 1, serial + 1);
	sink = sink + 1;
}

int main(int argc, char **argv)
{
	unsigned long allocations = argc > 1 ? strtoul(argv[1], NULL, 10) : 500000;
	for (unsigned long i = 0; i < allocations; i++)
		descend(DEPTH, i % 8);
	return 0;
}
