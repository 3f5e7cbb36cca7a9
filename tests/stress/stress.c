/* SPDX-License-Identifier: MIT */
/* Four threads, a million allocations each, most freed by another thread:
 * thread i hands its blocks to thread i+1 through a lock-free ring. Every
 * 1000th block is leaked by whoever releases it, so the report must show
 * exactly 4000 blocks of 100 bytes from one site. Fixed seeds. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../memory/fixture.h"

#define THREADS 4
#define ALLOCS_PER_THREAD 1000000u
#define LEAK_EVERY 1000u
#define LEAKED_SIZE 100u
#define RING_SLOTS 1024u

struct block {
	uint64_t serial;
};

/* One producer (thread i-1) and one consumer (thread i) per ring. */
struct ring {
	_Atomic uint32_t head; /* next slot to read, written by the consumer */
	_Atomic uint32_t tail; /* next slot to write, written by the producer */
	struct block *slots[RING_SLOTS];
};

static struct ring rings[THREADS];
static atomic_bool producer_done[THREADS];
static atomic_uint leaked_blocks;

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64: a fixed sequence per seed */
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static bool ring_push(struct ring *ring, struct block *block)
{
	uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	/* acquire: the consumer has finished reading the slot we reuse */
	uint32_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	if (tail - head == RING_SLOTS)
		return false;
	ring->slots[tail % RING_SLOTS] = block;
	/* release: the slot's content is visible before the new tail */
	atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
	return true;
}

static struct block *ring_pop(struct ring *ring)
{
	uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	/* acquire: pairs with the producer's release of tail */
	uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
	if (head == tail)
		return NULL;
	struct block *block = ring->slots[head % RING_SLOTS];
	atomic_store_explicit(&ring->head, head + 1, memory_order_release);
	return block;
}

/* Leaks every LEAK_EVERY-th block, frees the others (a third of them after
 * a realloc), whichever thread gets it. */
static void release(struct block *block, uint64_t *rng)
{
	if (block->serial % LEAK_EVERY == 0) {
		escape(block);
		atomic_fetch_add_explicit(&leaked_blocks, 1, memory_order_relaxed);
		return;
	}
	if (block->serial % 3 == 0) {
		struct block *moved = realloc(block, 8 + next_random(rng) % 4089);
		if (moved != NULL)
			block = moved;
	}
	free(block);
}

static unsigned drain(struct ring *ring, uint64_t *rng)
{
	struct block *block;
	unsigned count = 0;
	for (; (block = ring_pop(ring)) != NULL; count++)
		release(block, rng);
	return count;
}

static void produce(int self, uint64_t *rng)
{
	struct ring *next = &rings[(self + 1) % THREADS];
	for (uint64_t serial = 0; serial < ALLOCS_PER_THREAD; serial++) {
		size_t size = serial % LEAK_EVERY == 0 ? LEAKED_SIZE : 8 + next_random(rng) % 4089;
		struct block *block = malloc(size); /* expect-leak: fn=produce blocks=4000 bytes=400000 */
		if (block == NULL)
			abort();
		block->serial = serial;
		if (!ring_push(next, block))
			release(block, rng);
		if (serial % 64 == 0)
			drain(&rings[self], rng);
	}
}

static void *worker(void *arg)
{
	int self = (int)(intptr_t)arg;
	uint64_t rng = 0x9e3779b97f4a7c15u + (uint64_t)self;
	int producer = (self + THREADS - 1) % THREADS;
	produce(self, &rng);
	/* release: our pushes are visible before the flag */
	atomic_store_explicit(&producer_done[self], true, memory_order_release);
	while (!atomic_load_explicit(&producer_done[producer], memory_order_acquire))
		if (drain(&rings[self], &rng) == 0)
			sched_yield();
	drain(&rings[self], &rng);
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	unsigned leaked = atomic_load(&leaked_blocks);
	printf("stress: leaked %u blocks, %u bytes\n", leaked, leaked * LEAKED_SIZE);
	return leaked == THREADS * (ALLOCS_PER_THREAD / LEAK_EVERY) ? 0 : 1;
}
