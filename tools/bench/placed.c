/* SPDX-License-Identifier: MIT */
/* Benchmark workload: pages placed with MAP_FIXED inside a reservation, as
 * a JVM commits and uncommits its heap, while other mappings stay
 * recorded. Maps KEPT mappings of 64 KiB and keeps them, reserves 64 MiB
 * (PROT_NONE) and places PLACED read-write mappings of 64 KiB at rotating
 * places inside it, then unmaps the reservation; the kept mappings stay
 * mapped until exit.
 * Usage: placed KEPT PLACED */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PIECE (64ul << 10)
#define RESERVED (64ul << 20)
#define KEPT_MAX 4096ul

static void *map_anonymous(void *addr, size_t len, int prot, int flags)
{
	return mmap(addr, len, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

int main(int argc, char **argv)
{
	unsigned long kept = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	unsigned long placed = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
	static char *kept_maps[KEPT_MAX];
	char *reservation;

	if (kept > KEPT_MAX)
		return 2;
	for (unsigned long i = 0; i < kept; i++)
		if ((kept_maps[i] = map_anonymous(NULL, PIECE, PROT_READ | PROT_WRITE, 0)) ==
		    MAP_FAILED)
			return 1;
	reservation = map_anonymous(NULL, RESERVED, PROT_NONE, MAP_NORESERVE);
	if (reservation == MAP_FAILED)
		return 1;
	for (unsigned long i = 0; i < placed; i++) {
		char *at = reservation + (i * PIECE) % RESERVED;

		if (map_anonymous(at, PIECE, PROT_READ | PROT_WRITE, MAP_FIXED) != at)
			return 1;
		at[0] = 1;
	}
	munmap(reservation, RESERVED);
	puts("placed");
	return 0;
}
