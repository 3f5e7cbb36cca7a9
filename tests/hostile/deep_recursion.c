// SPDX-License-Identifier: MIT
/* a recursion 50,000 frames deep allocating at every level and freeing on
 * the way back, except every 1000th level's block, which is leaked from
 * deep_leak: 50 blocks. */
#include <stdio.h>
#include <stdlib.h>

static void __attribute__((noinline)) deep_leak(void)
{
	void *volatile block = malloc(123);
	(void)block;
}

static long __attribute__((noinline)) descend(int depth)
{
	char *block = malloc(16);
	long below = 0;

	if (depth % 1000 == 0)
		deep_leak();
	if (depth > 1)
		below = descend(depth - 1);
	free(block);
	return below + 1;
}

int main(void)
{
	printf("%ld levels\n", descend(50000));
	return 0;
}
