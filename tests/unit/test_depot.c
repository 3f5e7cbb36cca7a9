/* SPDX-License-Identifier: MIT */
/* The stack depot alone (shim/stackdepot.c): a stack is stored once and
 * named by one id, its frames come back as given, an empty stack is
 * counted missed; threads interning overlapping stacks with fixed seeds all
 * get the same id for the same stack; records and frames grow chunk by
 * chunk while threads intern, mapping only what they hold.
 * Usage: test_depot (TAP output) */
#include <pthread.h>
#include <stdlib.h>
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

/* ---- growth: records and frames across chunks, threads at once --------- */

#define GROWTH_STACKS 20000   /* ids past records chunks 0 and 1 */
#define GROWTH_DEPTH 48       /* 960,000 frames: past frames chunks 0 to 2 */

static uint32_t growth_ids[THREADS][GROWTH_STACKS];

static void growth_frames(uint32_t s, void **out)
{
	for (uint32_t f = 0; f < GROWTH_DEPTH; f++)
		out[f] = (void *)(uintptr_t)(0x40000000u + (uint64_t)s * 0x1000u + f * 8u);
}

static int compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void *intern_growth(void *arg)
{
	int index = (int)(intptr_t)arg;
	void *ips[GROWTH_DEPTH];

	/* each thread its own order: every stack is new to some thread */
	for (uint32_t n = 0; n < GROWTH_STACKS; n++) {
		uint32_t s = (uint32_t)((n * 7919u + (uint32_t)index * 4999u) % GROWTH_STACKS);

		growth_frames(s, ips);
		growth_ids[index][s] = lks_depot_intern(ips, GROWTH_DEPTH);
	}
	return NULL;
}

static void growth(void)
{
	uint64_t mapped = lks_mapped_bytes(), grew;
	uint32_t count = lks_depot_count(), disagree = 0, wrong = 0, same = 0;
	pthread_t ids[THREADS];

	for (intptr_t t = 0; t < THREADS; t++)
		pthread_create(&ids[t], NULL, intern_growth, (void *)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(ids[t], NULL);
	for (uint32_t s = 0; s < GROWTH_STACKS; s++) {
		void *ips[GROWTH_DEPTH];
		uint32_t depth = 0;
		const uint64_t *got = lks_depot_frames(growth_ids[0][s], &depth);

		growth_frames(s, ips);
		for (int t = 1; t < THREADS; t++)
			disagree += growth_ids[t][s] != growth_ids[0][s];
		wrong += !got || depth != GROWTH_DEPTH ||
		         memcmp(got, ips, sizeof(ips)) != 0 || growth_ids[0][s] == 0;
	}
	ok(disagree == 0 && wrong == 0,
	   "%d threads intern %u new stacks across chunks: %u ids differ, %u frames wrong",
	   THREADS, GROWTH_STACKS, disagree, wrong);
	qsort(growth_ids[0], GROWTH_STACKS, sizeof(uint32_t), compare_ids);
	for (uint32_t s = 1; s < GROWTH_STACKS; s++)
		same += growth_ids[0][s] == growth_ids[0][s - 1];
	ok(same == 0 && growth_ids[0][0] >= count,
	   "distinct stacks, distinct new ids: %u shared (%u ids used, racing threads' "
	   "spare records included)", same, lks_depot_count() - count);
	grew = lks_mapped_bytes() - mapped;
	ok(grew >= (uint64_t)GROWTH_STACKS * GROWTH_DEPTH * 8 && grew < 32u << 20,
	   "the depot grew by %.1f MiB for %.1f MiB of frames", grew / 1048576.0,
	   GROWTH_STACKS * GROWTH_DEPTH * 8 / 1048576.0);
}

int main(void)
{
	uint64_t before = lks_mapped_bytes();

	ok(lks_depot_init(), "the depot reserves its tables");
	ok(lks_mapped_bytes() - before < 6u << 20,
	   "at start it maps %.1f MiB (slots, first records and frames)",
	   (lks_mapped_bytes() - before) / 1048576.0);
	make_stacks();
	one_thread();
	threads();
	growth();
	return tap_done();
}
