// SPDX-License-Identifier: MIT
/* 16 threads allocate, then each frees the blocks of its neighbour, for
 * 20 rounds; one block in 100 is dropped instead: exactly 16 * 20 * 10
 * blocks leaked from produce. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 16
#define ROUNDS 20
#define BLOCKS 1000

static void *blocks[THREADS][BLOCKS];
static pthread_barrier_t barrier;

static void __attribute__((noinline)) produce(long self, int round)
{
	for (int i = 0; i < BLOCKS; i++)
		blocks[self][i] = malloc(16 + (size_t)((i + round) % 200));
}

static void *body(void *arg)
{
	long self = (long)arg, neighbour = (self + 1) % THREADS;

	for (int round = 0; round < ROUNDS; round++) {
		produce(self, round);
		pthread_barrier_wait(&barrier);
		for (int i = 0; i < BLOCKS; i++) {
			if (i % 100 != 0)
				free(blocks[neighbour][i]);
			blocks[neighbour][i] = NULL;  /* one in 100 lost */
		}
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&threads[i], NULL, body, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	printf("%d threads, %d rounds of cross-thread frees\n", THREADS, ROUNDS);
	return 0;
}
