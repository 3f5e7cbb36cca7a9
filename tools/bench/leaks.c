/* SPDX-License-Identifier: MIT */
/* Benchmark workload for the report step: leaks BLOCKS blocks spread evenly
 * over STACKS distinct stacks (at most 4096). A stack is a path through a
 * binary tree of calls: at each of 12 levels one of two call sites is taken,
 * chosen by a bit of the stack's number. Usage: leaks STACKS BLOCKS */
#include <stdlib.h>

#define LEVELS 12

static volatile unsigned long sink;

__attribute__((noinline)) static void branch(int level, unsigned path, unsigned long count);

__attribute__((noinline)) static void allocate(unsigned long count)
{
	for (unsigned long i = 0; i < count; i++)
		sink += (unsigned long)malloc(32 + i % 64) & 1; /* never freed */
}

__attribute__((noinline)) static void left(int level, unsigned path, unsigned long count)
{
	branch(level - 1, path, count);
	sink++;
}

__attribute__((noinline)) static void right(int level, unsigned path, unsigned long count)
{
	branch(level - 1, path, count);
	sink++;
}

static void branch(int level, unsigned path, unsigned long count)
{
	if (level == 0)
		allocate(count);
	else if ((path >> (level - 1)) & 1)
		right(level, path, count);
	else
		left(level, path, count);
	sink++;
}

int main(int argc, char **argv)
{
	unsigned stacks = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	unsigned long blocks = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;

	if (stacks == 0 || stacks > 1u << LEVELS)
		return 2;
	for (unsigned path = 0; path < stacks; path++)
		branch(LEVELS, path, blocks / stacks + (path < blocks % stacks));
	return 0;
}
