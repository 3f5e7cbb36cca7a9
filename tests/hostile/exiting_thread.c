/* SPDX-License-Identifier: MIT */
/* A thread still on its way out when the process exits: the worker returns
 * after touching 6 MiB of its stack (glibc gives that back with madvise as
 * the thread ends, every signal blocked), and main, which waited for it,
 * calls pthread_exit at once: main is then most often the last thread and
 * runs the exit scan while the worker may still be there. A thread that
 * ended meanwhile is no missed thread, and its thread control block's dtv
 * keeps glibc's block of its TLS reachable. Run many times. */
#include <alloca.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STACK_BYTES (16 << 20)
#define STACK_TOUCHED (6 << 20)

static int finished; /* atomic */

static inline void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

__attribute__((noinline)) static void touch_stack(void)
{
	char *bytes = alloca(STACK_TOUCHED);

	memset(bytes, 1, STACK_TOUCHED);
	escape(bytes);
}

__attribute__((noinline)) static void leak_in_worker(void)
{
	for (int i = 0; i < 3; i++)
		escape(malloc(40));
}

static void *worker(void *unused)
{
	leak_in_worker();
	touch_stack();
	__atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
	return unused;
}

int main(void)
{
	pthread_attr_t attr;
	pthread_t thread;

	if (pthread_attr_init(&attr) || pthread_attr_setstacksize(&attr, STACK_BYTES) ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) ||
	    pthread_create(&thread, &attr, worker, NULL))
		return 1;
	while (!__atomic_load_n(&finished, __ATOMIC_ACQUIRE))
		;
	pthread_exit(NULL);
}
