/* SPDX-License-Identifier: MIT */
/* The C half of gccgo_leak.go, called on goroutines' split stacks. */
#include <stdlib.h>
#include <string.h>

void *leak_block(int size);
void free_block(void *block);
int churn(int count);

void *leak_block(int size)
{
	char *block = malloc((size_t)size); /* expect-leak: fn=leak_block blocks=1 bytes=56 */

	if (block)
		memset(block, 1, (size_t)size);
	return block;
}

void free_block(void *block)
{
	free(block);
}

int churn(int count)
{
	int sum = 0;

	for (int i = 0; i < count; i++) {
		char *volatile block = malloc((size_t)(32 + i % 64));

		block[0] = (char)i;
		sum += block[0];
		free(block);
	}
	return sum;
}
