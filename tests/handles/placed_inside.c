/* SPDX-License-Identifier: MIT */
/* node's V8 code range: a reservation, a mapping placed inside it with
 * MAP_FIXED (V8 remaps its embedded builtins there), and one munmap of the
 * whole reservation at teardown, on a thread. The placed mapping went with
 * it: once the kernel gives the range to someone else (here the program
 * maps it again and keeps it), it must not be listed as still open.
 * expect-no-handles
 * expect-held-mappings: 1 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define RANGE_PAGES 64
#define PLACED_PAGES 4

char *g_reused;  /* not static: the optimizer must keep the store */

static void *reserve_place_release(void *unused)
{
	long page = sysconf(_SC_PAGESIZE);
	char *range = mmap(NULL, RANGE_PAGES * page, PROT_NONE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *inside = range + (RANGE_PAGES - PLACED_PAGES - 8) * page;

	(void)unused;
	if (range == MAP_FAILED ||
	    mmap(inside, PLACED_PAGES * page, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != inside)
		exit(2);
	inside[0] = 1;
	if (munmap(range, RANGE_PAGES * page) != 0)
		exit(2);
	return range;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	pthread_t worker;
	void *range;

	if (pthread_create(&worker, NULL, reserve_place_release, NULL) != 0 ||
	    pthread_join(worker, &range) != 0)
		return 2;
	/* the freed range, taken again: nothing else can be mapped there now */
	g_reused = mmap(range, RANGE_PAGES * page, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (g_reused != range)
		return 2;
	g_reused[0] = 1;
	return 0;
}
