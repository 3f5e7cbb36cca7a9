/* SPDX-License-Identifier: MIT */
/* The live block table: address -> {size, trace, seq, family}, lock-free.
 *
 * Open addressing with linear probing in "generations": inserts go to the
 * current generation; when it is 3/4 used (live or tombstone) a new one,
 * sized by the live total, becomes current. Older generations only lose
 * entries and are recycled once empty. No entry ever moves, so a remove or
 * a snapshot reader needs no lock and never waits for another thread.
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
#define MIN_SLOTS (1u << 16)
#define MAX_PROBES 4096        /* insert and remove agree on this bound */
#define RECYCLING (1ull << 62) /* bias on `live` while a generation is reset */
#define SEQ_BATCH 1024

struct entry {
	uint64_t key;
	uint64_t size;     /* low 56 bits; family in the top 8 */
	uint32_t trace;
	uint32_t seq;
};
_Static_assert(sizeof(struct entry) == 24, "24 bytes per slot");

struct generation {
	struct entry *slots;
	uint64_t mask;      /* slots - 1; written before gen_count publishes it */
	uint64_t live;      /* atomic: entries, plus inserts in flight */
	uint64_t used;      /* atomic: slots taken from EMPTY */
	uint64_t inserted;  /* atomic */
	uint64_t removed;   /* atomic */
} __attribute__((aligned(64)));  /* each on its own cache line */

static struct generation generations[MAX_GENERATIONS];
static uint32_t gen_count;     /* atomic: generations[0..gen_count) exist */
static uint32_t current_gen;   /* atomic: where inserts go */
static int rotating;           /* atomic flag: one thread rotates at a time */
static uint64_t missed_allocs, unknown_frees, mismatched_frees; /* atomic */
static uint32_t seq_next;      /* atomic: handed out SEQ_BATCH at a time */
static __thread uint32_t seq_mine, seq_mine_end
	__attribute__((tls_model("initial-exec")));

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
	if (lks_unlikely(seq_mine == seq_mine_end)) {
		/* relaxed: ages only need to be unique and roughly ordered */
		seq_mine = __atomic_fetch_add(&seq_next, SEQ_BATCH, __ATOMIC_RELAXED);
		seq_mine_end = seq_mine + SEQ_BATCH;
	}
	return seq_mine++;
}

static uint64_t total_live(void)
{
	uint32_t count = __atomic_load_n(&gen_count, __ATOMIC_ACQUIRE);
	uint64_t live = 0;

	for (uint32_t i = 0; i < count; i++)
		live += __atomic_load_n(&generations[i].live, __ATOMIC_RELAXED) & ~RECYCLING;
	return live;
}

/* An empty, retired generation big enough is reset and reused. The CAS of
 * live from 0 to RECYCLING fails if an insert already reserved a place in
 * it; an insert arriving later sees the bias and goes elsewhere. */
static bool generation_recycle(uint32_t index, uint64_t slot_count)
{
	struct generation *gen = &generations[index];
	uint64_t zero = 0;

	if (gen->mask + 1 < slot_count ||
	    !__atomic_compare_exchange_n(&gen->live, &zero, RECYCLING, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return false;
	/* zero-fills and gives the pages back; readers see EMPTY slots */
	madvise(gen->slots, (gen->mask + 1) * sizeof(struct entry), MADV_DONTNEED);
	__atomic_store_n(&gen->used, 0, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&gen->live, RECYCLING, __ATOMIC_RELEASE);
	return true;
}

static void rotate(uint32_t full)
{
	uint64_t want = MIN_SLOTS, live = total_live() * 2;
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
		if (key == KEY_EMPTY &&
		    __atomic_add_fetch(&gen->used, 1, __ATOMIC_RELAXED) > gen->mask / 4 * 3)
			maybe_rotate(index);
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

		/* Reserve before claiming, so the generation cannot be recycled
		 * under us (see generation_recycle). */
		if (__atomic_fetch_add(&gen->live, 1, __ATOMIC_ACQ_REL) & RECYCLING) {
			__atomic_fetch_sub(&gen->live, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (claim_slot(index, &fill)) {
			__atomic_fetch_add(&gen->inserted, 1, __ATOMIC_RELAXED);
			return;
		}
		__atomic_fetch_sub(&gen->live, 1, __ATOMIC_RELAXED);
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
		__atomic_fetch_sub(&gen->live, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&gen->removed, 1, __ATOMIC_RELAXED);
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
		if (i != first && __atomic_load_n(&generations[i].live, __ATOMIC_RELAXED) &&
		    remove_from(&generations[i], addr, removed))
			return true;
	__atomic_fetch_add(&unknown_frees, 1, __ATOMIC_RELAXED);
	return false;
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

	for (uint32_t i = 0; i < count; i++) {
		uint64_t live = __atomic_load_n(&generations[i].live, __ATOMIC_ACQUIRE);

		if (live && !(live & RECYCLING))
			visit_generation(&generations[i], visit, ctx);
	}
}

void lks_live_stats(struct lks_live_stats *stats)
{
	uint32_t count = __atomic_load_n(&gen_count, __ATOMIC_ACQUIRE);

	*stats = (struct lks_live_stats){ 0 };
	for (uint32_t i = 0; i < count; i++) {
		stats->allocs += __atomic_load_n(&generations[i].inserted, __ATOMIC_RELAXED);
		stats->frees += __atomic_load_n(&generations[i].removed, __ATOMIC_RELAXED);
	}
	stats->missed_allocs = __atomic_load_n(&missed_allocs, __ATOMIC_RELAXED);
	stats->unknown_frees = __atomic_load_n(&unknown_frees, __ATOMIC_RELAXED);
	stats->mismatched_frees = __atomic_load_n(&mismatched_frees, __ATOMIC_RELAXED);
}

void lks_count_mismatch(void)
{
	__atomic_fetch_add(&mismatched_frees, 1, __ATOMIC_RELAXED);
}
