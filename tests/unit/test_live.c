/* SPDX-License-Identifier: MIT */
/* The live block table alone (shim/live.c, included whole so that the test
 * can see its generations): one thread forcing a rotation and then the
 * recycling of the emptied generation, then threads inserting and removing
 * with fixed seeds in one shard, each removing blocks another inserted.
 * Every block must be found again exactly, and the counts must be exact:
 * also for threads that end with counts of any size, and for threads still
 * running when the counts are read. A slot claimed and a rotation held by
 * an insert that a jump abandoned are given back. A free finds a block in
 * the generation it went to, and only once, and a free learns the block's
 * family from its key alone. An address with its top byte set (a tagged
 * pointer) is counted as not recorded, never confused with its untagged
 * twin. A watched block's free, and only its, gets the watch back.
 * Usage: test_live (TAP output) */
#include "live.c"

#include <pthread.h>
#include <stdlib.h>

#include "tap.h"

#define THREADS 4
#define WINDOW 1024                   /* blocks each thread keeps live */
#define CHURN (256 * 300)             /* remove + insert rounds per thread */
#define REGION_A 0x7e0000000000ull    /* 64 MiB aligned: one shard each */
#define REGION_B 0x7e0100000000ull

/* What a block records, derived from its address: checkable later. */
static uint64_t size_of_key(uint64_t key)
{
	return (key >> 4) % 4093 + 1;
}

static uint32_t trace_of_key(uint64_t key)
{
	return (uint32_t)(key >> 4) * 2654435761u;
}

static uint8_t family_of_key(uint64_t key)
{
	return (uint8_t)((key >> 4) % 3);
}

static void insert_key(uint64_t key)
{
	lks_live_insert(key, size_of_key(key), trace_of_key(key), family_of_key(key));
}

static bool remove_key(uint64_t key)
{
	struct lks_block removed;

	return lks_live_remove(key, &removed) && removed.addr == key &&
	       removed.size == size_of_key(key) && removed.trace == trace_of_key(key) &&
	       removed.family == family_of_key(key);
}

/* ---- what a walk of the table finds ------------------------------------- */

struct expected {
	const uint64_t *keys;  /* ascending */
	size_t count;
	size_t found, unexpected, wrong, twice;
	uint8_t *seen;
};

static int compare_keys(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void check_block(const struct lks_block *block, void *ctx)
{
	struct expected *want = ctx;
	const uint64_t *at = bsearch(&block->addr, want->keys, want->count,
	                             sizeof(uint64_t), compare_keys);

	if (!at) {
		want->unexpected++;
		return;
	}
	if (want->seen[at - want->keys]++)
		want->twice++;
	if (block->size != size_of_key(block->addr) || block->trace != trace_of_key(block->addr) ||
	    block->family != family_of_key(block->addr))
		want->wrong++;
	want->found++;
}

/* The table holds exactly keys[0..count), each once with its payload. */
static bool table_holds(uint64_t *keys, size_t count, const char *when)
{
	struct expected want = { keys, count, 0, 0, 0, 0, calloc(count + 1, 1) };

	qsort(keys, count, sizeof(uint64_t), compare_keys);
	lks_live_foreach(check_block, &want);
	free(want.seen);
	return ok(want.found == count && !want.unexpected && !want.wrong && !want.twice,
	          "%s: %zu blocks found of %zu, %zu unexpected, %zu wrong, %zu twice", when,
	          want.found, count, want.unexpected, want.wrong, want.twice);
}

static uint32_t recycles(const struct shard *shard)
{
	uint32_t count = 0;

	for (uint32_t i = 0; i < shard->gen_count; i++)
		count += shard->generations[i].epoch / 2;
	return count;
}

/* ---- one thread: a rotation, then the recycling it makes possible -------- */

static uint64_t inserted, removed_count;  /* this phase's, one thread */

/* Churn with 256 live blocks until the shard's current generation is no
 * longer `from`: the next rotation. *rounds counts on across calls, so
 * the window's blocks from the call before are freed in turn. */
static void churn_until_rotated(struct shard *shard, uint32_t from, uint64_t window[256],
                                uint64_t *next, size_t *rounds)
{
	for (size_t limit = *rounds + 4000000; shard->current_gen == from && *rounds < limit;
	     ++*rounds) {
		if (*rounds >= 256)
			removed_count += remove_key(window[*rounds % 256]);
		window[*rounds % 256] = REGION_A + (*next)++ * 16;
		insert_key(window[*rounds % 256]);
		inserted++;
	}
}

static void rotate_then_recycle(void)
{
	struct shard *shard = shard_of(REGION_A);
	uint64_t window[256], next = 0, mapped;
	size_t rounds = 0;

	for (; next < 13000; next++)
		insert_key(REGION_A + next * 16);
	ok(shard->gen_count == 2 && shard->current_gen == 1 &&
	   shard->generations[0].count == FIRST_SLOTS && shard->generations[1].count == MIN_SLOTS,
	   "13000 blocks outgrow the first generation (%u slots) into one of %u: %u generations, "
	   "current %u", FIRST_SLOTS, MIN_SLOTS, shard->gen_count, shard->current_gen);
	for (uint64_t i = 0; i < next; i++)
		removed_count += remove_key(REGION_A + i * 16);
	inserted = next;
	/* the first generation is too small to take the next one's place */
	churn_until_rotated(shard, 1, window, &next, &rounds);
	ok(shard->current_gen == 2 && shard->gen_count == 3 && recycles(shard) == 0,
	   "the next rotation maps a third generation: current %u of %u", shard->current_gen,
	   shard->gen_count);
	mapped = lks_mapped_bytes();
	/* the one after must reuse the emptied generation 1 rather than map another */
	churn_until_rotated(shard, 2, window, &next, &rounds);
	ok(shard->current_gen == 1 && shard->gen_count == 3 && recycles(shard) == 1 &&
	   lks_mapped_bytes() == mapped,
	   "the emptied generation is recycled: current %u of %u, %u recycled, %llu bytes mapped "
	   "meanwhile", shard->current_gen, shard->gen_count, recycles(shard),
	   (unsigned long long)(lks_mapped_bytes() - mapped));
	table_holds(window, 256, "after the recycling");
	for (int i = 0; i < 256; i++)
		removed_count += remove_key(window[i]);
}

/* ---- threads ------------------------------------------------------------ */

struct worker {
	int index;
	uint64_t rng;
	uint64_t window[WINDOW];
	uint64_t next;             /* keys made so far */
	uint64_t inserts, removes, failed_removes;
	struct worker *neighbour;  /* whose blocks this one removes at the end */
};

static pthread_barrier_t barrier;

static uint64_t next_random(uint64_t *rng)
{
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return *rng;
}

/* Keys of thread t interleave with the others' in one region: one shard. */
static uint64_t key_of(const struct worker *worker, uint64_t n)
{
	return REGION_B + (n * THREADS + (uint64_t)worker->index) * 16;
}

static void track_remove(struct worker *worker, uint64_t key)
{
	if (remove_key(key))
		worker->removes++;
	else
		worker->failed_removes++;
}

static void *work(void *arg)
{
	struct worker *worker = arg;

	for (int i = 0; i < WINDOW; i++) {
		worker->window[i] = key_of(worker, worker->next++);
		insert_key(worker->window[i]);
		worker->inserts++;
	}
	for (int round = 0; round < CHURN; round++) {
		uint64_t slot = next_random(&worker->rng) % WINDOW;

		track_remove(worker, worker->window[slot]);
		worker->window[slot] = key_of(worker, worker->next++);
		insert_key(worker->window[slot]);
		worker->inserts++;
	}
	pthread_barrier_wait(&barrier);
	/* frees of another thread's blocks: every second one of its window */
	for (int i = 0; i < WINDOW; i += 2)
		track_remove(worker, worker->neighbour->window[i]);
	return NULL;
}

static void threads_churn(void)
{
	static struct worker workers[THREADS];
	static uint64_t left[THREADS * WINDOW / 2];
	pthread_t ids[THREADS];
	struct lks_live_stats stats;
	uint64_t inserts = inserted, removes = removed_count, failed = 0;
	size_t kept = 0;

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (int t = 0; t < THREADS; t++)
		workers[t] = (struct worker){ .index = t, .rng = 0x2545f4914f6cdd1dull + (uint64_t)t,
		                              .neighbour = &workers[(t + 1) % THREADS] };
	for (int t = 0; t < THREADS; t++)
		pthread_create(&ids[t], NULL, work, &workers[t]);
	for (int t = 0; t < THREADS; t++)
		pthread_join(ids[t], NULL);
	for (int t = 0; t < THREADS; t++) {
		inserts += workers[t].inserts;
		removes += workers[t].removes;
		failed += workers[t].failed_removes;
		for (int i = 1; i < WINDOW; i += 2)
			left[kept++] = workers[t].window[i];
	}
	ok(failed == 0, "every remove found its block: %llu not found", (unsigned long long)failed);
	ok(shard_of(REGION_B)->gen_count > 1 && recycles(shard_of(REGION_B)) > 0,
	   "the threads' shard rotated (%u generations) and recycled (%u times)",
	   shard_of(REGION_B)->gen_count, recycles(shard_of(REGION_B)));
	table_holds(left, kept, "after the threads");
	/* the threads ended: their counts stay in the slots they held */
	lks_live_stats(&stats);
	ok(stats.allocs == inserts && stats.frees == removes && stats.missed_allocs == 0,
	   "counts exact: %llu allocs (want %llu), %llu frees (want %llu), %llu missed",
	   (unsigned long long)stats.allocs, (unsigned long long)inserts,
	   (unsigned long long)stats.frees, (unsigned long long)removes,
	   (unsigned long long)stats.missed_allocs);
}

/* ---- counts of threads that end, and of threads still running ---------- */

#define SHORT_THREADS 3000
#define REGION_C 0x7e0200000000ull

static uint64_t short_next;  /* atomic: keys handed to short threads */

/* One block inserted and removed, and every 7th thread one more kept:
 * counts far from any batch size. */
static void *short_thread(void *unused)
{
	uint64_t n = __atomic_fetch_add(&short_next, 2, __ATOMIC_RELAXED);

	(void)unused;
	insert_key(REGION_C + n * 16);
	remove_key(REGION_C + n * 16);
	if (n % 14 == 0)
		insert_key(REGION_C + (n + 1) * 16);
	return NULL;
}

static void short_threads(void)
{
	struct lks_live_stats before, after;
	uint64_t kept = 0;

	lks_live_stats(&before);
	for (int t = 0; t < SHORT_THREADS; t++) {
		pthread_t id;

		pthread_create(&id, NULL, short_thread, NULL);
		pthread_join(id, NULL);
	}
	for (uint64_t n = 0; n < 2 * SHORT_THREADS; n += 2)
		kept += n % 14 == 0;
	lks_live_stats(&after);
	ok(after.allocs - before.allocs == SHORT_THREADS + kept &&
	   after.frees - before.frees == SHORT_THREADS,
	   "%d threads that ended: %llu allocs (want %llu), %llu frees (want %d)", SHORT_THREADS,
	   (unsigned long long)(after.allocs - before.allocs),
	   (unsigned long long)(SHORT_THREADS + kept),
	   (unsigned long long)(after.frees - before.frees), SHORT_THREADS);
}

#define RUNNING_THREADS 8
#define RUNNING_BLOCKS 77  /* each: not a batch of anything */

static void *running_thread(void *arg)
{
	uint64_t base = REGION_C + 0x1000000ull + (uint64_t)(uintptr_t)arg * 0x10000;

	for (uint64_t i = 0; i < RUNNING_BLOCKS; i++)
		insert_key(base + i * 16);
	remove_key(base);
	pthread_barrier_wait(&barrier);  /* counted... */
	pthread_barrier_wait(&barrier);  /* ...and read while this thread lives */
	return NULL;
}

static void running_threads(void)
{
	pthread_t ids[RUNNING_THREADS];
	struct lks_live_stats before, during;

	lks_live_stats(&before);
	pthread_barrier_init(&barrier, NULL, RUNNING_THREADS + 1);
	for (long t = 0; t < RUNNING_THREADS; t++)
		pthread_create(&ids[t], NULL, running_thread, (void *)t);
	pthread_barrier_wait(&barrier);
	lks_live_stats(&during);
	pthread_barrier_wait(&barrier);
	for (int t = 0; t < RUNNING_THREADS; t++)
		pthread_join(ids[t], NULL);
	ok(during.allocs - before.allocs == RUNNING_THREADS * RUNNING_BLOCKS &&
	   during.frees - before.frees == RUNNING_THREADS,
	   "%d threads still running: %llu allocs (want %d), %llu frees (want %d)",
	   RUNNING_THREADS, (unsigned long long)(during.allocs - before.allocs),
	   RUNNING_THREADS * RUNNING_BLOCKS, (unsigned long long)(during.frees - before.frees),
	   RUNNING_THREADS);
}

/* ---- a free's two paths: the current generation, then the older ones ---- */

/* A shard no earlier phase used, so that its generations are this phase's. */
static uint64_t unused_region(void)
{
	for (uint64_t region = 0x7e1000000000ull;; region += 1ull << REGION_SHIFT)
		if (shard_of(region)->gen_count == 0)
			return region;
}

/* A block inserted before a rotation is removed from the generation it
 * went to, with what it recorded; one removed already, or never inserted
 * though inside every generation's range, is found nowhere. */
static void older_generation_removes(void)
{
	uint64_t region = unused_region();
	struct shard *shard = shard_of(region);
	struct lks_block removed;
	uint64_t next = 0, newest;

	for (; shard->gen_count < 2; next++)
		insert_key(region + next * 16);
	newest = region + next * 16;
	insert_key(newest);  /* into the new current generation */
	ok(shard->current_gen == 1 && remove_key(region) && remove_key(newest),
	   "a block of the older generation and one of the current one are removed "
	   "with their size, trace and family (current %u of %u)",
	   shard->current_gen, shard->gen_count);
	ok(!lks_live_remove(region, &removed) && !lks_live_remove(newest, &removed),
	   "a second remove of either finds nothing");
	ok(!lks_live_remove(region + 8, &removed) && !lks_live_remove(newest - 8, &removed),
	   "an address never inserted, inside both generations' ranges, finds nothing");
	for (uint64_t i = 1; i < next; i++)
		if (!remove_key(region + i * 16)) {
			ok(false, "block %llu of %llu removed", (unsigned long long)i,
			   (unsigned long long)next);
			return;
		}
	ok(!holds_any(&shard->generations[0]) && !holds_any(&shard->generations[1]),
	   "every one of the %llu blocks removed once leaves both generations empty",
	   (unsigned long long)next + 1);
}

/* ---- a free reads the key alone ------------------------------------------- */

/* A free (lks_live_forget) gets each block's family from the key's top
 * byte, in the current generation and in an older one, and only once. */
static void free_reads_family(void)
{
	uint64_t region = unused_region();
	struct shard *shard = shard_of(region);
	uint64_t next = 0, wrong = 0;

	for (; shard->gen_count < 2; next++)
		insert_key(region + next * 16);
	for (uint64_t i = 0; i < next; i++)
		wrong += lks_live_forget(region + i * 16) != family_of_key(region + i * 16);
	ok(shard->gen_count == 2 && wrong == 0,
	   "a free finds each of %llu blocks over 2 generations with its family (%llu wrong)",
	   (unsigned long long)next, (unsigned long long)wrong);
	ok(lks_live_forget(region) == -1 && lks_live_forget(region + (next - 1) * 16) == -1,
	   "a second free of a block finds nothing");
}

/* Bits above 2^56 carry the family in a key: a block whose address uses
 * them cannot be recorded, and says so. */
static void tagged_address(void)
{
	uint64_t plain = unused_region(), tagged = plain | 1ull << 57;
	struct lks_live_stats before, after;

	lks_live_stats(&before);
	insert_key(plain);
	insert_key(tagged);
	lks_live_stats(&after);
	ok(after.missed_allocs - before.missed_allocs == 1 &&
	   after.allocs - before.allocs == 1,
	   "a tagged address is counted as not recorded (missed %llu, recorded %llu)",
	   (unsigned long long)(after.missed_allocs - before.missed_allocs),
	   (unsigned long long)(after.allocs - before.allocs));
	ok(lks_live_forget(tagged) == -1 && lks_live_forget(plain) == family_of_key(plain),
	   "its free finds nothing, and the untagged block is found as itself");
}

/* ---- watched blocks --------------------------------------------------------- */

struct watched_walk {
	uint64_t region, end;
	uint64_t seen, wrong;
};

static void check_watched_block(const struct lks_block *block, void *ctx)
{
	struct watched_walk *walk = ctx;

	if (block->addr < walk->region || block->addr >= walk->end)
		return;
	walk->seen++;
	walk->wrong += block->family != family_of_key(block->addr);
}

/* A watch is set on a live block, in the current generation or an older
 * one, and on nothing else; a snapshot's walk never sees it; the free (or
 * remove) that takes the block gets it with the family, once; a block
 * not watched frees as before. */
static void watched_blocks(void)
{
	uint64_t region = unused_region(), next = 0, newest, wrong = 0, watched = 0;
	struct shard *shard = shard_of(region);
	struct watched_walk walk = { region, 0, 0, 0 };
	struct lks_block removed;

	for (; shard->gen_count < 2; next++)
		insert_key(region + next * 16);
	newest = region + next * 16;
	insert_key(newest);
	walk.end = newest + 16;
	ok(lks_live_watch(region) && lks_live_watch(newest) && lks_live_watch(newest) &&
	   !lks_live_watch(region + 8) && !lks_live_watch(newest + 16),
	   "a block of the older generation and one of the current are watched (twice is "
	   "once); an address inside them, or past them, is not");
	for (uint64_t i = 2; i < next; i += 2)
		watched += lks_live_watch(region + i * 16);
	lks_live_foreach(check_watched_block, &walk);
	ok(walk.seen == next + 1 && walk.wrong == 0,
	   "a walk sees the %llu blocks with their own family (%llu wrong)",
	   (unsigned long long)walk.seen, (unsigned long long)walk.wrong);
	ok(lks_live_forget(newest) == (family_of_key(newest) | LKS_LIVE_WATCHED) &&
	   lks_live_remove(region, &removed) &&
	   removed.family == (family_of_key(region) | LKS_LIVE_WATCHED) &&
	   removed.size == size_of_key(region) && lks_live_forget(region) == -1,
	   "the free of a watched block gets the watch with its family, once");
	for (uint64_t i = 1; i < next; i++)
		wrong += lks_live_forget(region + i * 16) !=
		         (family_of_key(region + i * 16) | (i % 2 ? 0 : LKS_LIVE_WATCHED));
	ok(watched == (next - 1) / 2 && wrong == 0,
	   "of %llu more blocks, the %llu watched free with the watch, the rest without "
	   "(%llu wrong)", (unsigned long long)next - 1, (unsigned long long)watched,
	   (unsigned long long)wrong);
}

/* ---- what a jump out of an insert leaves behind --------------------------- */

#define REGION_D 0x7e0300000000ull

/* A slot left CLAIMED (the jump came between claim and publish) keeps its
 * generation from ever being recycled; the thread's next insert gives it
 * back. A rotation left held is this thread's to take again. */
static void abandoned_insert(void)
{
	struct shard *shard = shard_of(REGION_D);
	struct generation *gen;
	uint64_t *key;

	insert_key(REGION_D);
	remove_key(REGION_D);
	gen = &shard->generations[shard->current_gen];
	key = &gen->keys[slot_of(REGION_D + 16, gen->count)];
	*key = KEY_CLAIMED;
	mine.claimed = key;
	ok(holds_any(gen), "a slot left claimed holds its generation");
	insert_key(REGION_D + 32);
	ok(*key == KEY_TOMB && !mine.claimed,
	   "the next insert gives the claimed slot back (key %llu)", (unsigned long long)*key);
	remove_key(REGION_D + 32);
	ok(!holds_any(gen), "the generation can be recycled again");
	shard->rotating = getpid();
	mine.rotating = shard;
	ok(rotation_begin(shard), "a rotation this thread left held is taken again");
	rotation_end(shard);
	shard->rotating = getpid();
	mine.rotating = NULL;
	ok(!rotation_begin(shard), "one another thread of this process holds is not");
	shard->rotating = 0;
}

int main(void)
{
	ok(lks_live_init(), "the table starts");
	rotate_then_recycle();
	ok(removed_count == inserted, "one thread: every block inserted was removed (%llu of %llu)",
	   (unsigned long long)removed_count, (unsigned long long)inserted);
	threads_churn();
	short_threads();
	running_threads();
	abandoned_insert();
	older_generation_removes();
	free_reads_family();
	tagged_address();
	watched_blocks();
	return tap_done();
}
