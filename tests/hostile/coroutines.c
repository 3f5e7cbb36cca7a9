// SPDX-License-Identifier: MIT
/* four swapcontext coroutines on 64 KiB stacks, switched round-robin 1000
 * times, allocating and freeing on each turn; each leaks 10 blocks from
 * coroutine_leak. */
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#define COROUTINES 4
#define TURNS 250
#define STACK (64 * 1024)

static ucontext_t scheduler, coroutine[COROUTINES];

static void __attribute__((noinline)) coroutine_leak(void)
{
	void *volatile block = malloc(71);
	(void)block;
}

static void body(int self)
{
	for (int turn = 0; turn < TURNS; turn++) {
		free(malloc(32 + (size_t)turn));
		if (turn % 25 == 0)
			coroutine_leak();
		swapcontext(&coroutine[self], &scheduler);
	}
}

int main(void)
{
	for (int i = 0; i < COROUTINES; i++) {
		getcontext(&coroutine[i]);
		coroutine[i].uc_stack.ss_sp = malloc(STACK);
		coroutine[i].uc_stack.ss_size = STACK;
		coroutine[i].uc_link = &scheduler;
		makecontext(&coroutine[i], (void (*)(void))body, 1, i);
	}
	for (int turn = 0; turn < TURNS; turn++)
		for (int i = 0; i < COROUTINES; i++)
			swapcontext(&scheduler, &coroutine[i]);
	for (int i = 0; i < COROUTINES; i++)
		free(coroutine[i].uc_stack.ss_sp);
	printf("%d coroutines, %d turns each\n", COROUTINES, TURNS);
	return 0;
}
