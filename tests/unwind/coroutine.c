/* SPDX-License-Identifier: MIT */
/* A ucontext coroutine on a stack of the program's own allocates: the
 * walk does not know how far that stack goes, so it keeps the frame the
 * registers give (the coroutine's function) and reads nothing else. No
 * crash, the same exit status, the leak reported at its function. */
#include <stdlib.h>
#include <ucontext.h>

#include "unwind_test.h"

static ucontext_t main_context, coroutine_context;

static void coroutine(void)
{
	for (int i = 0; i < 100; i++)
		free(malloc(16 + i));
	escape(malloc(72));
}

int main(void)
{
	size_t size = 64 * 1024;
	void *stack = malloc(size);

	getcontext(&coroutine_context);
	coroutine_context.uc_stack.ss_sp = stack;
	coroutine_context.uc_stack.ss_size = size;
	coroutine_context.uc_link = &main_context;
	makecontext(&coroutine_context, coroutine, 0);
	swapcontext(&main_context, &coroutine_context);
	free(stack);
	return 0;
}
