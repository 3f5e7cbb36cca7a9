/* SPDX-License-Identifier: MIT */
/* The live block table: address -> {size, trace, seq, family}, lock-free.
 *
 * Open addressing with linear probing in "generations": inserts go to the
 * current generation; when it is 3/4 used (live or tombstone) another one,
 * sized by its live count, becomes current. Older generations only lose
 * entries and are recycled once empty. No entry ever moves, so a remove or
 * a snapshot reader needs no lock and never waits for another thread, and a
 * free writes one slot and no shared counter.
 *
 * A slot's key goes EMPTY -> CLAIMED -> addr -> TOMB -> CLAIMED -> ... The
 * payload is written between CLAIMED and addr; the release store of addr
 * publishes it. Keys are unique: the program cannot be given an address
 * again before its free, and free un-records before the real free. */
#include <sys/mman.h>

#include "shim.h"

#define KEY_EMPTY 0u
#define KEY_TOMB 1u
#define KEY_CLAIMED 2u
#define MAX_GENERATIONS 64
#define MIN_SLOTS (1u << 14)
#define MAX_PROBES 4096        /* insert and remove agree on this bound */
#define STRIPES 16             /* in-flight insert counters per generation */
#define SEQ_BATCH 1024
#define USED_BATCH 64

struct entry {
	uint64_t key;
	uint64_t size;     /* low 56 bits; family in the top 8 */
	uint32_t trace;
	uint32_t seq;
};
_Static_assert(sizeof(struct entry) == 24, "24 bytes per slot");

struct stripe {
	uint64_t inserting;  /* atomic: inserts in flight from this stripe */
} __attribute__((aligned(64)));

struct generation {
	struct entry *slots;
	uint64_t mask;      /* slots - 1; written before gen_count publishes it */
	uint64_t used;      /* atomic: slots taken from EMPTY, fed in batches */
	int closing;        /* atomic: being checked for recycling; insert elsewhere */
	struct stripe stripes[STRIPES];
} __attribute__((aligned(64)));

static struct generation generations[MAX_GENERATIONS];
static uint32_t gen_count;     /* atomic: generations[0..gen_count) exist */
static uint32_t current_gen;   /* atomic: where inserts go */
static int rotating;           /* atomic flag: one thread rotates at a time */
static uint64_t missed_allocs, unknown_frees, mismatched_frees; /* atomic */
static uint64_t allocs_total, frees_total; /* atomic, fed in batches */
static uint32_t seq_next;      /* atomic: handed out SEQ_BATCH at a time */
static uint32_t stripe_next;   /* atomic */
#define COUNT_BATCH 256

struct thread_state {
	uint32_t seq, seq_end;
	uint32_t allocs, frees, used;
	uint32_t stripe;           /* 0 = not assigned yet, else stripe + 1 */
};
static __thread struct thread_state mine __attribute__((tls_model("initial-exec")));

/* Totals fed every COUNT_BATCH events: exact to within that many per thread,
 * and without a shared cache line written on every malloc. */
static void count_batched(uint32_t *pending, uint64_t *total)
{
	if (lks_unlikely(++*pending == COUNT_BATCH)) {
		__atomic_fetch_add(total, COUNT_BATCH, __ATOMIC_RELAXED);
		*pending = 0;
	}
}

static uint64_t slot_of(uint64_t addr, uint64_t mask)
{
	uint64_t hash = (addr >> 4) * 0x9e3779b97f4a7c15u;

	return (hash ^ (hash >> 31)) & mask;
}

static bool generation_create(uint32_t index, uint64_t slot_count)
{
	struct generation *gen = &generations[index];

	gen->slots = lks_map(slot_count * sizeof(struct entry));
	if (!gen->slots)
		return false;
	gen->mask = slot_count - 1;
	/* release: slots and mask are visible to whoever sees the count */
	__atomic_store_n(&gen_count, index + 1, __ATOMIC_RELEASE);
	return true;
}

bool lks_live_init(void)
{
	return generation_create(0, MIN_SLOTS);
}

static uint32_t next_seq(void)
{
	if (lks_unlikely(mine.seq == mine.seq_end)) {
		/* relaxed: ages only need to be unique and roughly ordered */
		mine.seq = __atomic_fetch_add(&seq_next, SEQ_BATCH, __ATOMIC_RELAXED);
		mine.seq_end = mine.seq + SEQ_BATCH;
	}
	return mine.seq++;
}

static uint64_t *my_stripe(struct generation *gen)
{
	if (lks_unlikely(mine.stripe == 0))
		mine.stripe = __atomic_fetch_add(&stripe_next, 1, __ATOMIC_RELAXED) % STRIPES + 1;
	return &gen->stripes[mine.stripe - 1].inserting;
}

static uint64_t live_in(const struct generation *gen)
{
	uint64_t live = 0;

	for (uint64_t at = 0; at <= gen->mask; at++)
		live += __atomic_load_n(&gen->slots[at].key, __ATOMIC_RELAXED) > KEY_TOMB;
	return live;
}

static bool inserts_in_flight(struct generation *gen)
{
	for (int i = 0; i < STRIPES; i++)
		if (__atomic_load_n(&gen->stripes[i].inserting, __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* A retired generation with no entry left is reset and reused. Setting
 * `closing` before reading the in-flight counters, while an insert raises
 * its counter before reading `closing` (both seq_cst), means that one of the
 * two always sees the other: no insert can land in a generation being reset. */
static bool generation_recycle(uint32_t index, uint64_t slot_count)
{
	struct generation *gen = &generations[index];

	if (gen->mask + 1 < slot_count)
		return false;
	__atomic_store_n(&gen->closing, 1, __ATOMIC_SEQ_CST);
	if (inserts_in_flight(gen) || live_in(gen))
		return false;  /* stays closing: inserts keep going to the current one */
	/* zero-fills and gives the pages back; readers see EMPTY slots */
	madvise(gen->slots, (gen->mask + 1) * sizeof(struct entry), MADV_DONTNEED);
	__atomic_store_n(&gen->used, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&gen->closing, 0, __ATOMIC_SEQ_CST);
	return true;
}

static void rotate(uint32_t full)
{
	uint64_t want = MIN_SLOTS, live = live_in(&generations[full]) * 2;
	uint32_t count = __atomic_load_n(&gen_count, __ATOMIC_ACQUIRE), chosen = count;

	while (want < live)
		want <<= 1;
	for (uint32_t i = 0; i < count && chosen == count; i++)
		if (i != full && generation_recycle(i, want))
			chosen = i;
	if (chosen == count && (count == MAX_GENERATIONS || !generation_create(count, want)))
		return;  /* keep filling the full one; inserts fail when no slot is left */
	/* release: a recycled generation's reset is visible before its use */
	__atomic_store_n(&current_gen, chosen, __ATOMIC_RELEASE);
}

static void maybe_rotate(uint32_t index)
{
	int idle = 0;

	if (__atomic_load_n(&current_gen, __ATOMIC_RELAXED) != index ||
	    !__atomic_compare_exchange_n(&rotating, &idle, 1, false,
	                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (__atomic_load_n(&current_gen, __ATOMIC_RELAXED) == index)
		rotate(index);
	__atomic_store_n(&rotating, 0, __ATOMIC_RELEASE);
}

static bool claim_slot(uint32_t index, const struct entry *fill)
{
	struct generation *gen = &generations[index];
	uint64_t at = slot_of(fill->key, gen->mask);

	for (uint32_t probe = 0; probe < MAX_PROBES; probe++, at = (at + 1) & gen->mask) {
		struct entry *slot = &gen->slots[at];
		uint64_t key = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);

		if (key > KEY_TOMB ||
		    !__atomic_compare_exchange_n(&slot->key, &key, KEY_CLAIMED, false,
		                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		if (key == KEY_EMPTY && ++mine.used == USED_BATCH) {
			mine.used = 0;
			if (__atomic_add_fetch(&gen->used, USED_BATCH, __ATOMIC_RELAXED) >
			    gen->mask / 4 * 3)
				maybe_rotate(index);
		}
		/* relaxed stores: the release store of the key publishes them */
		__atomic_store_n(&slot->size, fill->size, __ATOMIC_RELAXED);
		__atomic_store_n(&slot->trace, fill->trace, __ATOMIC_RELAXED);
		__atomic_store_n(&slot->seq, fill->seq, __ATOMIC_RELAXED);
		__atomic_store_n(&slot->key, fill->key, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

void lks_live_insert(uint64_t addr, uint64_t size, uint32_t trace, uint8_t family)
{
	struct entry fill = { addr, size | (uint64_t)family << 56, trace, next_seq() };

	for (int attempt = 0; attempt < 3; attempt++) {
		uint32_t index = __atomic_load_n(&current_gen, __ATOMIC_ACQUIRE);
		struct generation *gen = &generations[index];
		uint64_t *inserting = my_stripe(gen);
		bool done = false;

		/* seq_cst pair with generation_recycle: see there */
		__atomic_fetch_add(inserting, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&gen->closing, __ATOMIC_SEQ_CST))
			done = claim_slot(index, &fill);
		__atomic_fetch_sub(inserting, 1, __ATOMIC_RELEASE);
		if (done) {
			count_batched(&mine.allocs, &allocs_total);
			return;
		}
		maybe_rotate(index);
	}
	__atomic_fetch_add(&missed_allocs, 1, __ATOMIC_RELAXED);
}

static bool remove_from(struct generation *gen, uint64_t addr, struct lks_block *out)
{
	uint64_t at = slot_of(addr, gen->mask);

	for (uint32_t probe = 0; probe < MAX_PROBES; probe++, at = (at + 1) & gen->mask) {
		struct entry *slot = &gen->slots[at];
		/* acquire: the payload read below is the one published with key */
		uint64_t key = __atomic_load_n(&slot->key, __ATOMIC_ACQUIRE);
		uint64_t size;

		if (key == KEY_EMPTY)
			return false;
		if (key != addr)
			continue;
		size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
		out->trace = __atomic_load_n(&slot->trace, __ATOMIC_RELAXED);
		out->seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
		/* fails only for a double free racing with itself */
		if (!__atomic_compare_exchange_n(&slot->key, &key, KEY_TOMB, false,
		                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return false;
		out->addr = addr;
		out->size = size & ((1ull << 56) - 1);
		out->family = (uint8_t)(size >> 56);
		count_batched(&mine.frees, &frees_total);
		return true;
	}
	return false;
}

bool lks_live_remove(uint64_t addr, struct lks_block *removed)
{
	uint32_t count = __atomic_load_n(&gen_count, __ATOMIC_ACQUIRE);
	uint32_t first = __atomic_load_n(&current_gen, __ATOMIC_RELAXED);

	if (remove_from(&generations[first], addr, removed))
		return true;
	for (uint32_t i = 0; i < count; i++)
		if (i != first && remove_from(&generations[i], addr, removed))
			return true;
	return false;
}

void lks_count_unknown_free(void)
{
	__atomic_fetch_add(&unknown_frees, 1, __ATOMIC_RELAXED);
}

static void visit_generation(struct generation *gen,
                             void (*visit)(const struct lks_block *, void *), void *ctx)
{
	for (uint64_t at = 0; at <= gen->mask; at++) {
		struct entry *slot = &gen->slots[at];
		uint64_t key = __atomic_load_n(&slot->key, __ATOMIC_ACQUIRE);
		struct lks_block block;
		uint64_t size;

		if (key <= KEY_CLAIMED)
			continue;
		size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
		block.trace = __atomic_load_n(&slot->trace, __ATOMIC_RELAXED);
		block.seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		/* freed meanwhile: skip it, the snapshot is per-block atomic */
		if (__atomic_load_n(&slot->key, __ATOMIC_RELAXED) != key)
			continue;
		block.addr = key;
		block.size = size & ((1ull << 56) - 1);
		block.family = (uint8_t)(size >> 56);
		visit(&block, ctx);
	}
}

void lks_live_foreach(void (*visit)(const struct lks_block *, void *), void *ctx)
{
	uint32_t count = __atomic_load_n(&gen_count, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < count; i++)
		visit_generation(&generations[i], visit, ctx);
}

void lks_live_stats(struct lks_live_stats *stats)
{
	*stats = (struct lks_live_stats){ 0 };
	/* this thread's pending batch is known; other threads' are not */
	stats->allocs = __atomic_load_n(&allocs_total, __ATOMIC_RELAXED) + mine.allocs;
	stats->frees = __atomic_load_n(&frees_total, __ATOMIC_RELAXED) + mine.frees;
	stats->missed_allocs = __atomic_load_n(&missed_allocs, __ATOMIC_RELAXED);
	stats->unknown_frees = __atomic_load_n(&unknown_frees, __ATOMIC_RELAXED);
	stats->mismatched_frees = __atomic_load_n(&mismatched_frees, __ATOMIC_RELAXED);
}

void lks_count_mismatch(void)
{
	__atomic_fetch_add(&mismatched_frees, 1, __ATOMIC_RELAXED);
}
