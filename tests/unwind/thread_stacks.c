/* SPDX-License-Identifier: MIT */
/* Threads on stacks of every origin the walk must bound right: glibc's
 * default, a small one (PTHREAD_STACK_MIN), and one the program gives
 * (pthread_attr_setstack; glibc puts the thread's descriptor at its top
 * too). Each leaks one block from a few frames down. */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "unwind_test.h"

static volatile int calls;

__attribute__((noinline)) static void leak_below(int level)
{
	if (level > 0) {
		leak_below(level - 1);
		calls = calls + 1;
		return;
	}
	escape(malloc(24));
}

static void *thread_body(void *unused)
{
	for (int i = 0; i < 100; i++)
		free(malloc(16 + i));
	leak_below(5);
	return NULL;
}

static int run_on(pthread_attr_t *attr)
{
	pthread_t thread;

	if (pthread_create(&thread, attr, thread_body, NULL) != 0)
		return 1;
	return pthread_join(thread, NULL) != 0;
}

int main(void)
{
	size_t given = 256 * 1024;
	void *stack = malloc(given);
	pthread_attr_t attr;
	int failed = run_on(NULL);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
	failed |= run_on(&attr);
	pthread_attr_destroy(&attr);
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, given);
	failed |= run_on(&attr);
	pthread_attr_destroy(&attr);
	free(stack);
	return failed;
}
