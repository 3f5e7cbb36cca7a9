/* SPDX-License-Identifier: MIT */
/* Several thread stacks in one mapping: the kernel merges adjacent stacks
 * glibc maps without a guard page, and a program may carve stacks and data
 * out of one region of its own. Each thread's live frames and the data
 * below them are roots, whichever thread the scan meets first. Valgrind
 * 3.19 calls every block still reachable. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reach_fixture.h"

#define DATA_BYTES (64u << 10)
#define STACK_BYTES (256u << 10)

static int ready_pipe[2], never_pipe[2];

/* Blocks until the process exits with `block` live in its frame. */
static void hold_until_exit(char *block)
{
	char *volatile kept = block;
	char byte;

	memset(block, 1, 16);
	if (write(ready_pipe[1], "r", 1) != 1)
		abort();
	while (read(never_pipe[0], &byte, 1) != 0)
		kept[0] = byte;
	escape(kept);
}

static void *hold_low(void *unused)
{
	hold_until_exit(malloc(300)); /* expect-class: fn=hold_low class=reachable blocks=1 bytes=300 */
	return unused;
}

static void *hold_high(void *unused)
{
	hold_until_exit(malloc(500)); /* expect-class: fn=hold_high class=reachable blocks=1 bytes=500 */
	return unused;
}

/* glibc maps these stacks one below the other, and without guard pages
 * the kernel merges them into one mapping */
static void *hold_first(void *unused)
{
	hold_until_exit(malloc(310)); /* expect-class: fn=hold_first class=reachable blocks=1 bytes=310 */
	return unused;
}

static void *hold_second(void *unused)
{
	hold_until_exit(malloc(510)); /* expect-class: fn=hold_second class=reachable blocks=1 bytes=510 */
	return unused;
}

/* A thread on [stack, stack + STACK_BYTES), or without a guard page on a
 * stack of glibc's if stack is NULL, waited for until it holds its block. */
static int start_on(char *stack, void *(*run)(void *))
{
	pthread_attr_t attr;
	pthread_t thread;
	char byte;

	if (pthread_attr_init(&attr) ||
	    (stack ? pthread_attr_setstack(&attr, stack, STACK_BYTES)
	           : pthread_attr_setguardsize(&attr, 0) ||
	             pthread_attr_setstacksize(&attr, STACK_BYTES)) ||
	    pthread_create(&thread, &attr, run, NULL))
		return -1;
	pthread_attr_destroy(&attr);
	return read(ready_pipe[0], &byte, 1) == 1 ? 0 : -1;
}

int main(void)
{
	/* [data][low thread's stack][high thread's stack]: one mapping */
	char *region = mmap(NULL, DATA_BYTES + 2 * STACK_BYTES, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void **data = (void **)region;

	if (region == MAP_FAILED || pipe(ready_pipe) || pipe(never_pipe))
		return 2;
	data[100] = malloc(700); /* expect-class: fn=main class=reachable blocks=1 bytes=700 */
	if (start_on(region + DATA_BYTES + STACK_BYTES, hold_high) ||
	    start_on(region + DATA_BYTES, hold_low) ||
	    start_on(NULL, hold_first) || start_on(NULL, hold_second))
		return 2;
	return 0;
}
