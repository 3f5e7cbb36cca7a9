/* SPDX-License-Identifier: MIT */
/* Benchmark workload for the exit-time reachability scan: BLOCKS blocks
 * (default 10 million) of 16..200 bytes, about 1 GiB, left allocated at
 * exit. A global table reaches nine in ten through chains of eight; every
 * tenth chain is dropped (one definite block, seven indirect). Words that
 * are not pointers hold small integers, as most heap data does. Prints the
 * CLOCK_MONOTONIC time and the CPU time used, in ns, when main returns, so
 * that a driver can measure the exit alone. Usage: reach [BLOCKS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define CHAIN 8

void **g_chains; /* one entry per chain: its first block (not static: kept) */

static void *make_block(uint64_t seed, void *next)
{
	size_t size = 16 + (seed * 2654435761u) % 185;
	uint64_t *words = malloc(size);

	if (!words)
		exit(1);
	words[0] = (uint64_t)(uintptr_t)next;
	for (size_t i = 1; i < size / 8; i++)
		words[i] = seed + i;
	return words;
}

int main(int argc, char **argv)
{
	uint64_t blocks = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	uint64_t chains = blocks / CHAIN;
	struct timespec now;
	struct rusage usage;

	g_chains = calloc(chains, sizeof(*g_chains));
	if (!g_chains)
		return 1;
	for (uint64_t c = 0; c < chains; c++) {
		void *head = NULL;

		for (int i = 0; i < CHAIN; i++)
			head = make_block(c * CHAIN + i, head);
		g_chains[c] = c % 10 == 9 ? NULL : head;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	getrusage(RUSAGE_SELF, &usage);
	printf("%llu %llu\n", (unsigned long long)now.tv_sec * 1000000000ull +
	       (unsigned long long)now.tv_nsec,
	       (unsigned long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) *
	       1000000000ull + (unsigned long long)(usage.ru_utime.tv_usec +
	                                            usage.ru_stime.tv_usec) * 1000ull);
	fflush(stdout);
	return 0;
}
