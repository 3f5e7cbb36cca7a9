// SPDX-License-Identifier: MIT
/* issue 10 item 7: a ucontext coroutine on a small stack (argv[1] bytes,
 * 4-7 KiB in the tests) calls malloc and free; glibc alone needs far less. */
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

static ucontext_t main_context, coroutine;
static void *blocks[8];

static void body(void)
{
	for (int i = 0; i < 8; i++)
		blocks[i] = malloc(16 + 8 * (size_t)i);
	free(blocks[7]);
	blocks[7] = NULL;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 4096;
	char *stack = malloc(size);

	getcontext(&coroutine);
	coroutine.uc_stack.ss_sp = stack;
	coroutine.uc_stack.ss_size = size;
	coroutine.uc_link = &main_context;
	makecontext(&coroutine, body, 0);
	swapcontext(&main_context, &coroutine);
	for (int i = 0; i < 7; i++)
		free(blocks[i]);
	printf("coroutine on a %zu-byte stack allocated 8 blocks\n", size);
	free(stack);
	return 0;
}
