/* SPDX-License-Identifier: MIT */
/* The mapping table alone (shim/handles/maptable.c, included whole): its
 * walks visit the recorded starts through a bitmap of the slots holding
 * one. Threads record and forget mappings in regions of their own, reusing
 * slots, and a walk afterwards finds every live mapping once, with its
 * size and site, and nothing else. A placed range is held only by a
 * recorded mapping holding all of it: also after the mapping that held the
 * last one was cut and a smaller one recorded at its start. A fork child's
 * marking reaches every mapping.
 * Usage: test_maptable (TAP output) */
#include "handles/maptable.c"

#include <pthread.h>
#include <string.h>

#include "tap.h"

#define PAGE 4096ull
#define THREADS 4
#define WINDOW 256u                      /* mappings each thread keeps */
#define ROUNDS 20000u                    /* forget + record per thread */
#define REGION(t) (0x7e0000000000ull + (uint64_t)(t) * (1ull << 32))

static unsigned missed;

void lks_handles_count_missed(void)
{
	__atomic_fetch_add(&missed, 1, __ATOMIC_RELAXED);
}

/* Mapping i of a thread: its start, and a size and site derived from it. */
static uint64_t start_of(unsigned thread, unsigned i)
{
	return REGION(thread) + (uint64_t)i * 16 * PAGE;
}

static uint64_t size_of(uint64_t start)
{
	return ((start / PAGE) % 7 + 1) * PAGE;
}

static uint32_t trace_of(uint64_t start)
{
	return (uint32_t)(start / PAGE) * 2654435761u;
}

static void record(uint64_t start)
{
	lks_mapping_record(start, size_of(start), trace_of(start));
}

/* Keeps WINDOW mappings, forgetting the oldest and recording a new one:
 * mapping i is live at the end when i >= ROUNDS. */
static void *churn(void *arg)
{
	unsigned thread = (unsigned)(uintptr_t)arg;
	struct lks_map_entry old;

	for (unsigned i = 0; i < WINDOW; i++)
		record(start_of(thread, i));
	for (unsigned i = 0; i < ROUNDS; i++) {
		if (!lks_mapping_forget(start_of(thread, i), &old) ||
		    old.size != size_of(old.addr))
			lks_handles_count_missed();
		record(start_of(thread, i + WINDOW));
	}
	return NULL;
}

struct found {
	unsigned live, wrong, inherited;
	uint8_t seen[THREADS][WINDOW];
};

static void check_visit(const struct lks_map_entry *entry, void *ctx)
{
	struct found *found = ctx;
	uint64_t offset = entry->addr - REGION(0);
	unsigned thread = (unsigned)(offset >> 32);
	uint64_t i = (offset & 0xffffffffull) / (16 * PAGE);

	if (thread >= THREADS || i < ROUNDS || i >= ROUNDS + WINDOW ||
	    entry->addr != start_of(thread, (unsigned)i) ||
	    entry->size != size_of(entry->addr) || entry->trace != trace_of(entry->addr) ||
	    found->seen[thread][i - ROUNDS]++) {
		found->wrong++;
		return;
	}
	found->live++;
	found->inherited += (entry->flags & LKS_FD_INHERITED) != 0;
}

static void test_churn_then_walk(void)
{
	static struct found found;
	pthread_t ids[THREADS];

	for (unsigned t = 0; t < THREADS; t++)
		pthread_create(&ids[t], NULL, churn, (void *)(uintptr_t)t);
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(ids[t], NULL);
	ok(missed == 0, "every mapping recorded and forgotten (%u missed)", missed);
	lks_mapping_foreach(check_visit, &found);
	ok(found.live == THREADS * WINDOW && found.wrong == 0,
	   "the walk finds the %u live mappings once each (%u found, %u wrong)",
	   THREADS * WINDOW, found.live, found.wrong);

	lks_mapping_mark_inherited();
	memset(&found, 0, sizeof found);
	lks_mapping_foreach(check_visit, &found);
	ok(found.inherited == THREADS * WINDOW, "a fork child marks every mapping (%u of %u)",
	   found.inherited, THREADS * WINDOW);
}

static void test_contains(void)
{
	uint64_t base = 0x7f0000000000ull, next = base + 64 * PAGE;
	struct lks_map_entry old;

	lks_mapping_record(base, 64 * PAGE, 1);
	lks_mapping_record(next, 16 * PAGE, 2);
	ok(lks_mapping_contains(base + PAGE, base + 2 * PAGE), "a range inside a mapping is held");
	ok(lks_mapping_contains(base + 8 * PAGE, base + 9 * PAGE),
	   "another range inside it is held (the hint)");
	ok(!lks_mapping_contains(base + 63 * PAGE, next + PAGE),
	   "a range across two mappings is not held");
	ok(lks_mapping_contains(next + PAGE, next + 16 * PAGE), "a range in the next one is held");

	lks_mapping_cut(base, base + 64 * PAGE);
	ok(!lks_mapping_contains(base + 8 * PAGE, base + 9 * PAGE),
	   "nothing holds a range once its mapping is cut");
	lks_mapping_record(base, 4 * PAGE, 3);
	lks_mapping_contains(base + PAGE, base + 2 * PAGE);
	ok(!lks_mapping_contains(base + 8 * PAGE, base + 9 * PAGE),
	   "a smaller mapping recorded at the same start does not hold what the old one did");
	ok(lks_mapping_forget(base, &old) && old.size == 4 * PAGE && old.trace == 3 &&
	   lks_mapping_forget(next, &old) && old.trace == 2, "both found by their start");
}

int main(void)
{
	test_churn_then_walk();
	test_contains();
	printf("1..%d\n", tap_run);
	return tap_failed != 0;
}
