/* SPDX-License-Identifier: MIT */
/* Benchmark: the time leakscope_snapshot() takes with many live blocks while
 * other threads keep allocating, and the longest pause those threads see.
 * Usage: LD_PRELOAD=libleakscope.so snapshot [BLOCKS [THREADS [ROUNDS]]]
 * (defaults 1000000, 1, 5). Build: cc -O2 -pthread -Iinclude snapshot.c
 * Prints one line per round (wall time, and the CPU time of the calling
 * thread: on a loaded machine wall time is mostly waiting for a CPU) and the
 * medians. Not a test. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "leakscope.h"

#define SITES 64

static volatile int stop;
static volatile int measuring;

struct churner {
	pthread_t thread;
	uint64_t operations;    /* while measuring */
	uint64_t longest_gap_ns; /* between two operations, while measuring */
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec now;

	clock_gettime(clock, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Each site is its own call stack: blocks are spread over SITES traces. */
__attribute__((noinline)) static void *allocate_at(int site, size_t size)
{
	void *block;

	if (site == 0)
		return malloc(size);
	block = allocate_at(site - 1, size);
	__asm__ volatile("" ::: "memory"); /* no tail call: a frame per level */
	return block;
}

static void *churn(void *arg)
{
	struct churner *self = arg;
	void *window[256] = { 0 };
	uint64_t last = now_ns();

	for (unsigned i = 0; !stop; i++) {
		uint64_t now;

		free(window[i % 256]);
		window[i % 256] = malloc(16 + i % 512);
		now = now_ns();
		if (measuring) {
			self->operations++;
			if (now - last > self->longest_gap_ns)
				self->longest_gap_ns = now - last;
		}
		last = now;
	}
	for (int i = 0; i < 256; i++)
		free(window[i]);
	return NULL;
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long blocks = argc > 1 ? atol(argv[1]) : 1000000;
	int threads = argc > 2 ? atoi(argv[2]) : 1, rounds = argc > 3 ? atoi(argv[3]) : 5;
	void **kept = calloc((size_t)blocks, sizeof(*kept));
	struct churner *churners = calloc((size_t)threads, sizeof(*churners));
	uint64_t *took = calloc((size_t)rounds, sizeof(*took));
	uint64_t *cpu = calloc((size_t)rounds, sizeof(*cpu));

	if (!kept || !churners || !took || !cpu || rounds < 1)
		return 2;
	for (long i = 0; i < blocks; i++)
		kept[i] = allocate_at((int)(i % SITES), 32);
	for (int t = 0; t < threads; t++)
		pthread_create(&churners[t].thread, NULL, churn, &churners[t]);
	if (threads) {
		/* the pauses a churning thread sees anyway, with no snapshot */
		struct timespec quiet = { 0, 300000000 };

		measuring = 1;
		nanosleep(&quiet, NULL);
		measuring = 0;
		for (int t = 0; t < threads; t++)
			printf("no snapshot, 300 ms: thread %d: %lu operations, longest pause %.2f ms\n",
			       t + 1, (unsigned long)churners[t].operations,
			       churners[t].longest_gap_ns / 1e6);
	}
	for (int r = 0; r < rounds; r++) {
		uint64_t started, cpu_started;
		int failed;

		for (int t = 0; t < threads; t++)
			churners[t].operations = churners[t].longest_gap_ns = 0;
		measuring = 1;
		started = now_ns();
		cpu_started = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		failed = leakscope_snapshot("bench");
		took[r] = now_ns() - started;
		cpu[r] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_started;
		measuring = 0;
		if (failed) {
			perror("leakscope_snapshot");
			return 1;
		}
		printf("round %d: %ld live blocks, snapshot %.1f ms (cpu %.1f ms)", r + 1, blocks,
		       took[r] / 1e6, cpu[r] / 1e6);
		for (int t = 0; t < threads; t++)
			printf("; thread %d: %lu operations meanwhile, longest pause %.2f ms", t + 1,
			       (unsigned long)churners[t].operations, churners[t].longest_gap_ns / 1e6);
		printf("\n");
	}
	stop = 1;
	for (int t = 0; t < threads; t++)
		pthread_join(churners[t].thread, NULL);
	qsort(took, (size_t)rounds, sizeof(*took), compare);
	qsort(cpu, (size_t)rounds, sizeof(*cpu), compare);
	printf("median snapshot: %.1f ms (cpu %.1f ms)\n", took[rounds / 2] / 1e6,
	       cpu[rounds / 2] / 1e6);
	for (long i = 0; i < blocks; i++)
		free(kept[i]);
	free(kept);
	free(churners);
	free(took);
	free(cpu);
	return 0;
}
