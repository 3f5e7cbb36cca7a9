/* SPDX-License-Identifier: MIT */
/* A program linked with its own allocator (own_alloc.c), whose start-up
 * maps memory before the shim's constructor runs. It must run as without
 * the shim, and its malloc, which reaches the shim first, is recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *keep(size_t size)
{
	char *block = malloc(size);  /* expect-leak: fn=keep blocks=1 bytes=4242 */

	if (block)
		memset(block, 'x', size);
	return block;
}

int main(void)
{
	char *lost = keep(4242);
	char *freed = malloc(100);

	free(freed);
	printf("own allocator: main ran, %s\n", lost ? "allocated" : "no memory");
	lost = NULL;
	return 0;
}
