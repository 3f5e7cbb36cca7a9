/* SPDX-License-Identifier: MIT */
/* What one malloc and one free cost, in ns: batches of 4,096 blocks of
 * random sizes 8..4096 are allocated (timed apart from drawing the sizes)
 * and then freed (timed), in random order, by the thread that allocated
 * them or, with "cross", by another thread (the two take turns, each
 * freeing the other's batch). Run plain and under the shim: the difference
 * is the shim's recording (capture, insert) and its remove from its table.
 * The heap is kept between batches (no trimming), so that page faults of
 * its regrowth are not what is timed.
 * Usage: free [same|cross] [batches]  (cc -O2 -pthread) */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 4096

struct side {
	void *blocks[BATCH];
	size_t sizes[BATCH];
	unsigned seed;
	double ns, malloc_ns;
	long frees;
};

static pthread_barrier_t turn;
static long batches = 500;

static double now_ns(void)
{
	struct timespec at;

	/* the thread's CPU time: on a loaded machine, time spent waiting for
	 * a core would otherwise be counted */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &at);
	return at.tv_sec * 1e9 + at.tv_nsec;
}

static void fill(struct side *side)
{
	double start;

	for (int i = 0; i < BATCH; i++)
		side->sizes[i] = 8 + rand_r(&side->seed) % 4089;
	start = now_ns();
	for (int i = 0; i < BATCH; i++)
		side->blocks[i] = malloc(side->sizes[i]);
	side->malloc_ns += now_ns() - start;
	for (int i = BATCH - 1; i > 0; i--) {  /* random order of frees */
		int j = rand_r(&side->seed) % (i + 1);
		void *swap = side->blocks[i];

		side->blocks[i] = side->blocks[j];
		side->blocks[j] = swap;
	}
}

static void drain(struct side *side)
{
	double start = now_ns();

	for (int i = 0; i < BATCH; i++)
		free(side->blocks[i]);
	side->ns += now_ns() - start;
	side->frees += BATCH;
}

static struct side sides[2];

/* cross: each thread fills its own side, then frees the other's */
static void *cross(void *arg)
{
	long me = (long)arg;

	for (long b = 0; b < batches; b++) {
		fill(&sides[me]);
		pthread_barrier_wait(&turn);
		drain(&sides[1 - me]);
		pthread_barrier_wait(&turn);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int crossing = argc > 1 && !strcmp(argv[1], "cross");
	pthread_t other;

	if (argc > 2)
		batches = atol(argv[2]);
	/* the heap keeps its pages between batches: no page faults timed */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	sides[0].seed = 1;
	sides[1].seed = 2;
	if (!crossing) {
		for (long b = 0; b < batches; b++) {
			fill(&sides[0]);
			drain(&sides[0]);
		}
		printf("same thread: %.1f ns per malloc, %.1f ns per free\n",
		       sides[0].malloc_ns / sides[0].frees, sides[0].ns / sides[0].frees);
		return 0;
	}
	pthread_barrier_init(&turn, NULL, 2);
	pthread_create(&other, NULL, cross, (void *)1);
	cross((void *)0);
	pthread_join(other, NULL);
	printf("other thread: %.1f ns per malloc, %.1f ns per free\n",
	       (sides[0].malloc_ns + sides[1].malloc_ns) / (sides[0].frees + sides[1].frees),
	       (sides[0].ns + sides[1].ns) / (sides[0].frees + sides[1].frees));
	return 0;
}
