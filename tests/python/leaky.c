/* SPDX-License-Identifier: MIT */
/* A C extension as ctypes loads it: mallocs through its PLT, and a C thread
 * that calls back into Python, and one that asks for a snapshot without
 * ever running Python (tests/python/check_python.py). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "leakscope.h"

void ext_fn(int size);
int call_in_thread(void (*callback)(void));
int snapshot_in_thread(const char *label);

/* Seen by the compiler as used, so the malloc is not optimized away; the
 * next call overwrites it, so earlier blocks are lost. */
void *volatile last_block;

/* Called with the GIL released (ctypes.CDLL): the leak is definite once
 * the pointer is dropped. */
void ext_fn(int size)
{
	char *block = malloc((size_t)size); /* @ext_malloc */

	if (block)
		memset(block, 'x', (size_t)size);
	last_block = block;
}

static void *call_back(void *callback)
{
	((void (*)(void))callback)();
	return NULL;
}

/* Runs `callback` on a new C thread and waits for it. */
int call_in_thread(void (*callback)(void))
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, call_back, (void *)callback))
		return -1;
	return pthread_join(thread, NULL);
}

static void *take_snapshot(void *label)
{
	return (void *)(long)leakscope_snapshot(label);
}

/* leakscope_snapshot(label) on a new C thread CPython never saw. */
int snapshot_in_thread(const char *label)
{
	pthread_t thread;
	void *failed;

	if (pthread_create(&thread, NULL, take_snapshot, (void *)label) ||
	    pthread_join(thread, &failed))
		return -1;
	return (int)(long)failed;
}
