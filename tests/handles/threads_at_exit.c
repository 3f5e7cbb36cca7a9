/* SPDX-License-Identifier: MIT */
/* Threads still running when the program exits, mapping and unmapping.
 * One holds a mapping in a local and sleeps; each time a signal wakes it
 * (the exit scan holds threads still with one) it maps another at once.
 * One maps and unmaps in a loop. What a running thread still points at
 * is held, like reachable memory; what it maps after the exit scan let
 * it go is not in the snapshot: no mapping is ever listed open.
 * expect-no-handles
 * expect-held-mappings-at-most: 2 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BYTES (1 << 16)

static int running;  /* atomic: threads that mapped once */

static char *map_or_die(void)
{
	char *mapping = mmap(NULL, BYTES, PROT_READ | PROT_WRITE,
	                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mapping == MAP_FAILED)
		abort();
	mapping[0] = 1;
	return mapping;
}

static void *map_when_woken(void *unused)
{
	struct timespec hour = { 3600, 0 };
	char *volatile held = map_or_die();

	(void)unused;
	__atomic_add_fetch(&running, 1, __ATOMIC_RELEASE);
	while (nanosleep(&hour, NULL) == -1 && errno == EINTR)
		held = map_or_die();
	return (void *)held;
}

static void *map_and_unmap(void *unused)
{
	(void)unused;
	munmap(map_or_die(), BYTES);
	__atomic_add_fetch(&running, 1, __ATOMIC_RELEASE);
	for (;;)
		munmap(map_or_die(), BYTES);
	return NULL;
}

int main(void)
{
	pthread_t waker, churner;

	if (pthread_create(&waker, NULL, map_when_woken, NULL) != 0 ||
	    pthread_create(&churner, NULL, map_and_unmap, NULL) != 0)
		return 2;
	while (__atomic_load_n(&running, __ATOMIC_ACQUIRE) < 2)
		usleep(1000);
	return 0;
}
