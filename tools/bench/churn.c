/* SPDX-License-Identifier: MIT */
/* Benchmark workload: malloc/free churn with random sizes 8..4096 over a
 * window of live blocks. Usage: churn THREADS OPERATIONS-PER-THREAD */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define WINDOW 4096

static unsigned long operations;

static void *churn(void *arg)
{
	uint64_t rng = 0x2545f4914f6cdd1dULL + (uintptr_t)arg;
	void *window[WINDOW] = { 0 };
	for (unsigned long i = 0; i < operations; i++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17; /* xorshift64 */
		size_t slot = rng % WINDOW;
		free(window[slot]);
		window[slot] = malloc(8 + (rng >> 32) % 4089);
		if (window[slot] != NULL)
			*(volatile char *)window[slot] = 1;
	}
	for (size_t slot = 0; slot < WINDOW; slot++)
		free(window[slot]);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	operations = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	pthread_t ids[64];
	if (threads < 1 || threads > 64)
		return 2;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&ids[i], NULL, churn, (void *)(uintptr_t)i) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(ids[i], NULL);
	return 0;
}
