/* SPDX-License-Identifier: MIT */
/* glibc's thread heaps are never roots, even once no live block is left in
 * one: a thread that freed all it allocated leaves stale copies of a
 * pointer in its heap, and the block the process then drops is definitely
 * lost all the same. Blocks are still read when reached: a block held
 * only by a live block of another thread's heap is reachable, one held
 * only by a lost block there is indirectly lost. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reach_fixture.h"

#define COPIES 8
#define COPY_WORDS 64

static pthread_barrier_t both_have_arenas; /* two threads, two heaps */
static void *g_handoff;  /* the lost block's address, for a thread to copy */
void **g_holder;  /* a live block in a thread's heap; not static: the store stays */

__attribute__((noinline)) static void *lose_later(void)
{
	void *block = malloc(1111); /* expect-class: fn=lose_later class=definite blocks=1 bytes=1111 */

	escape(block);  /* not a tail call: this function is the site */
	return block;
}

/* Copies the address into blocks of its own heap, then frees them all. */
static void *copy_and_free(void *unused)
{
	void **copies[COPIES];

	for (int i = 0; i < COPIES; i++) {
		copies[i] = malloc(COPY_WORDS * sizeof(void *));
		for (int word = 4; word < COPY_WORDS; word++)
			copies[i][word] = g_handoff;
		escape(copies[i]);
	}
	pthread_barrier_wait(&both_have_arenas);
	for (int i = 0; i < COPIES; i++)
		free(copies[i]);
	memset(copies, 0, sizeof(copies));
	escape(copies);
	return unused;
}

__attribute__((noinline)) static void *held_by_heap_block(void)
{
	void *block = malloc(2222); /* expect-class: fn=held_by_heap_block class=reachable blocks=1 bytes=2222 */

	escape(block);  /* not a tail call: this function is the site */
	return block;
}

__attribute__((noinline)) static void *held_by_lost_block(void)
{
	void *block = malloc(3333); /* expect-class: fn=held_by_lost_block class=indirect blocks=1 bytes=3333 */

	escape(block);  /* not a tail call: this function is the site */
	return block;
}

__attribute__((noinline)) static void lose_holder(void)
{
	void **holder = malloc(48); /* expect-class: fn=lose_holder class=definite blocks=1 bytes=48 indirect_blocks=1 indirect_bytes=3333 */

	holder[3] = held_by_lost_block();
	escape(holder);
}

/* Keeps a block of its heap, holding another, in a global; loses another. */
static void *hold_in_heap(void *unused)
{
	g_holder = malloc(64); /* expect-class: fn=hold_in_heap class=reachable blocks=1 bytes=64 */
	g_holder[5] = held_by_heap_block();
	lose_holder();
	pthread_barrier_wait(&both_have_arenas);
	return unused;
}

int main(void)
{
	pthread_t copier, holder;

	g_handoff = lose_later();
	if (pthread_barrier_init(&both_have_arenas, NULL, 2) ||
	    pthread_create(&copier, NULL, copy_and_free, NULL) ||
	    pthread_create(&holder, NULL, hold_in_heap, NULL) ||
	    pthread_join(copier, NULL) || pthread_join(holder, NULL))
		return 2;
	g_handoff = NULL;
	return 0;
}
