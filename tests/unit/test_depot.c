/* SPDX-License-Identifier: MIT */
/* The stack depot alone (shim/stackdepot.c): a stack is stored once and
 * named by one id, its frames come back as given, an empty stack is
 * counted missed; threads interning overlapping stacks with fixed seeds all
 * get the same id for the same stack.
 * Usage: test_depot (TAP output) */
#include <pthread.h>
#include <string.h>

#include "shim.h"
#include "tap.h"

#define STACKS 5000
#define MAX_DEPTH 40
#define THREADS 4

static void *frames[STACKS][MAX_DEPTH];
static uint32_t depths[STACKS];
static uint32_t first_ids[STACKS];

/* Stack s: depth 1..MAX_DEPTH, return addresses derived from s; stacks
 * sharing their leaf frames differ further up. */
static void make_stacks(void)
{
	for (uint32_t s = 0; s < STACKS; s++) {
		depths[s] = s % MAX_DEPTH + 1;
		for (uint32_t f = 0; f < depths[s]; f++)
			frames[s][f] = (void *)(uintptr_t)(0x400000u + f * 0x10u +
			                                   (f + 1 == depths[s] ? s * 0x1000u : 0));
	}
}

static bool same_frames(uint32_t id, uint32_t s)
{
	uint32_t depth = 0;
	const uint64_t *got = lks_depot_frames(id, &depth);

	if (!got || depth != depths[s])
		return false;
	for (uint32_t f = 0; f < depth; f++)
		if (got[f] != (uint64_t)(uintptr_t)frames[s][f])
			return false;
	return true;
}

static void one_thread(void)
{
	uint32_t wrong = 0, depth, missed_before = (uint32_t)lks_depot_missed();

	for (uint32_t s = 0; s < STACKS; s++)
		first_ids[s] = lks_depot_intern(frames[s], depths[s]);
	ok(lks_depot_count() == STACKS + 1, "%u distinct stacks get ids 1..%u (count %u)",
	   STACKS, STACKS, lks_depot_count());
	for (uint32_t s = 0; s < STACKS; s++)
		wrong += first_ids[s] == 0 || lks_depot_intern(frames[s], depths[s]) != first_ids[s] ||
		         !same_frames(first_ids[s], s);
	ok(wrong == 0, "each stack again gets its id, and its frames back: %u wrong", wrong);
	ok(lks_depot_count() == STACKS + 1, "interning again adds nothing (count %u)",
	   lks_depot_count());
	ok(lks_depot_intern(NULL, 0) == 0 && lks_depot_missed() == missed_before + 1u,
	   "an empty stack gets id 0 and is counted missed");
	ok(lks_depot_frames(0, &depth) == NULL && lks_depot_frames(STACKS + 7, &depth) == NULL,
	   "ids 0 and past the last have no frames");
}

/* ---- threads: overlapping new stacks, each interned by all of them ------ */

static void *new_frames[THREADS * 1000][MAX_DEPTH];
static uint32_t thread_ids[THREADS][THREADS * 1000];

struct worker {
	int index;
	uint64_t rng;
};

static void *intern_all(void *arg)
{
	struct worker *worker = arg;

	/* every stack, from a start of the thread's own and a step of its seed */
	for (uint32_t n = 0; n < THREADS * 1000; n++) {
		uint32_t s;

		worker->rng ^= worker->rng << 13;
		worker->rng ^= worker->rng >> 7;
		worker->rng ^= worker->rng << 17;
		s = (uint32_t)((n + (uint64_t)worker->index * 997) % (THREADS * 1000));
		thread_ids[worker->index][s] = lks_depot_intern(new_frames[s],
		                                                (uint32_t)(worker->rng % 2) + 8);
	}
	return NULL;
}

static void threads(void)
{
	struct worker workers[THREADS];
	pthread_t ids[THREADS];
	uint32_t disagree = 0, zero = 0;

	for (uint32_t s = 0; s < THREADS * 1000; s++)
		for (uint32_t f = 0; f < MAX_DEPTH; f++)
			new_frames[s][f] = (void *)(uintptr_t)(0x900000u + s * 0x100u + f);
	for (int t = 0; t < THREADS; t++) {
		workers[t] = (struct worker){ t, 0x9e3779b97f4a7c15ull + (uint64_t)t };
		pthread_create(&ids[t], NULL, intern_all, &workers[t]);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(ids[t], NULL);
	/* the depth (8 or 9) is part of the stack: compare like with like */
	for (uint32_t s = 0; s < THREADS * 1000; s++) {
		uint32_t eight = lks_depot_intern(new_frames[s], 8);
		uint32_t nine = lks_depot_intern(new_frames[s], 9);

		for (int t = 0; t < THREADS; t++) {
			uint32_t id = thread_ids[t][s], depth = 0;

			zero += id == 0;
			lks_depot_frames(id, &depth);
			disagree += id != (depth == 8 ? eight : nine);
		}
	}
	ok(zero == 0 && disagree == 0,
	   "%d threads interning the same stacks at once agree on every id: %u differ, %u missed",
	   THREADS, disagree, zero);
}

int main(void)
{
	ok(lks_depot_init(), "the depot reserves its tables");
	make_stacks();
	one_thread();
	threads();
	return tap_done();
}
