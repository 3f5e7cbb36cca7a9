/* SPDX-License-Identifier: MIT */
/* The allocation lto_inline.c inlines across files at link time. */
#include <stdlib.h>
#include <string.h>

void *make_block(int size);

void *make_block(int size)
{
	char *block = malloc((size_t)size); /* expect-leak: fn=make_block blocks=1 bytes=24 */

	if (block)
		memset(block, 1, (size_t)size);
	return block;
}
