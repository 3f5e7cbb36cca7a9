/* SPDX-License-Identifier: MIT */
/* The program's mappings, keyed by address: an open-addressing table where
 * a key is looked for only within a short window, so that churn
 * (tombstones) never makes a probe long. Mapped on the program's first
 * mapping (3 MiB of address space a program that never calls mmap does
 * not pay), never moved. */
#include "maptable.h"
#include "shim.h"

#define MAP_SLOTS (1u << 17)
#define MAP_WINDOW 32u

#define KEY_EMPTY 0u
#define KEY_TOMB 1u  /* mapping addresses are page aligned: never 1 */
#define END_MARK 2u  /* the key of a mapping's end entry (below) */

/* meta: trace << 32 | flags << 8 | 1; 0 while the slot holds nothing */
struct map_slot {
	uint64_t key;  /* start, end | END_MARK, KEY_EMPTY or KEY_TOMB */
	uint64_t size; /* a start's size, an end's start */
	uint64_t meta; /* written last, cleared first */
};

static void *table;           /* atomic: struct map_slot[MAP_SLOTS], or NULL */
/* Which slots hold a mapping's start: the walks (a placement, a cut, a
 * snapshot, a fork child marking what it inherited) visit those only.
 * Hashed, a few hundred starts fall in every part of the 3 MiB table, so
 * a walk of its slots cost a pass over all of them (about 1 M
 * instructions). A bit is set before its slot's meta is published and
 * cleared before its slot is freed. */
static uint64_t live_starts[MAP_SLOTS / 64];           /* atomic bits */
/* Which words of live_starts ever held a bit; never cleared, so that a
 * word a walk skips holds none. */
static uint64_t live_words_used[MAP_SLOTS / 64 / 64];  /* atomic bits */

/* The table, mapped first if map; NULL if it is not (or cannot be). */
static struct map_slot *slots(bool map)
{
	/* acquire: pairs with lks_chunk's install */
	return map ? lks_chunk(&table, (size_t)MAP_SLOTS * sizeof(struct map_slot))
	           : __atomic_load_n(&table, __ATOMIC_ACQUIRE);
}

static uint32_t map_home(uint64_t addr)
{
	return (uint32_t)(((addr >> 12) * 0x9e3779b97f4a7c15ull) >> 40) % MAP_SLOTS;
}

static bool is_start(uint64_t key)
{
	return key > KEY_TOMB && !(key & END_MARK);
}

/* relaxed: a walk reads the slot's meta with acquire before its contents */
static void mark_start(uint32_t slot)
{
	uint32_t word = slot / 64;

	__atomic_fetch_or(&live_words_used[word / 64], 1ull << (word % 64), __ATOMIC_RELAXED);
	__atomic_fetch_or(&live_starts[word], 1ull << (slot % 64), __ATOMIC_RELAXED);
}

static void unmark_start(uint32_t slot)
{
	__atomic_fetch_and(&live_starts[slot / 64], ~(1ull << (slot % 64)), __ATOMIC_RELAXED);
}

/* The starts of one word of live_starts, as it was read: a visit may
 * record or forget others. */
static void visit_word(struct map_slot *maps, uint32_t word,
                       void (*visit)(struct map_slot *slot, void *), void *ctx)
{
	uint64_t live = __atomic_load_n(&live_starts[word], __ATOMIC_RELAXED);

	for (; live; live &= live - 1)
		visit(&maps[word * 64 + (uint32_t)__builtin_ctzll(live)], ctx);
}

/* Calls visit for every slot holding a start, if the table is mapped; a
 * visit checks the slot's meta and key, which may have changed since. */
static void walk_starts(void (*visit)(struct map_slot *slot, void *), void *ctx)
{
	struct map_slot *maps = slots(false);

	for (uint32_t group = 0; maps && group < MAP_SLOTS / 64 / 64; group++) {
		uint64_t used = __atomic_load_n(&live_words_used[group], __ATOMIC_RELAXED);

		for (; used; used &= used - 1)
			visit_word(maps, group * 64 + (uint32_t)__builtin_ctzll(used), visit, ctx);
	}
}

/* Puts key -> value in a free slot of its window; false when none is. */
static bool put(struct map_slot *maps, uint64_t key, uint64_t value, uint64_t meta)
{
	uint32_t home = map_home(key);

	for (uint32_t i = 0; i < MAP_WINDOW; i++) {
		struct map_slot *slot = &maps[(home + i) % MAP_SLOTS];
		uint64_t seen = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);

		if (seen != KEY_EMPTY && seen != KEY_TOMB)
			continue;
		/* acquire: after the take that freed the slot unmarked it; the
		 * slot's contents are published by meta below */
		if (!__atomic_compare_exchange_n(&slot->key, &seen, key, false,
		                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		if (is_start(key))
			mark_start((home + i) % MAP_SLOTS);
		__atomic_store_n(&slot->size, value, __ATOMIC_RELAXED);
		/* release: a reader that sees meta sees key and size */
		__atomic_store_n(&slot->meta, meta, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

/* Takes key's slot out of the table: its value and meta. */
static bool take(uint64_t key, uint64_t *value, uint64_t *meta)
{
	uint32_t home = map_home(key);
	struct map_slot *maps = slots(false);

	for (uint32_t i = 0; maps && i < MAP_WINDOW; i++) {
		struct map_slot *slot = &maps[(home + i) % MAP_SLOTS];

		if (__atomic_load_n(&slot->key, __ATOMIC_ACQUIRE) != key)
			continue;
		/* acq_rel: whoever clears meta owns the slot's contents */
		*meta = __atomic_exchange_n(&slot->meta, 0, __ATOMIC_ACQ_REL);
		if (!*meta)
			continue;
		*value = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
		if (is_start(key))
			unmark_start((home + i) % MAP_SLOTS);
		/* release: the slot is free only after its contents were read */
		__atomic_store_n(&slot->key, KEY_TOMB, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

/* A mapping is two entries: its start, holding its size (an unmap of the
 * whole or of its head finds it), and its end with END_MARK, holding its
 * start (an unmap of its tail finds it). Walks visit starts only. Without
 * its end entry (its window full) a tail unmap walks the starts. */
static void insert(uint64_t addr, uint64_t size, uint32_t trace, uint8_t flags)
{
	uint64_t meta = (uint64_t)trace << 32 | (uint64_t)flags << 8 | 1u;
	struct map_slot *maps = slots(true);

	if (!maps || addr <= KEY_TOMB || !put(maps, addr, size, meta)) {
		lks_handles_count_missed();
		return;
	}
	put(maps, (addr + size) | END_MARK, addr, meta);
}

void lks_mapping_record(uint64_t addr, uint64_t size, uint32_t trace)
{
	insert(addr, size, trace, 0);
}

static void fill_entry(struct lks_map_entry *entry, uint64_t addr, uint64_t size,
                       uint64_t meta)
{
	entry->addr = addr;
	entry->size = size;
	entry->trace = (uint32_t)(meta >> 32);
	entry->flags = (uint8_t)(meta >> 8);
}

static bool forget_start(uint64_t addr, struct lks_map_entry *old)
{
	uint64_t size, meta;

	if (!is_start(addr) || !take(addr, &size, &meta))
		return false;
	fill_entry(old, addr, size, meta);
	return true;
}

bool lks_mapping_forget(uint64_t addr, struct lks_map_entry *old)
{
	uint64_t start, meta;

	if (!forget_start(addr, old))
		return false;
	take((old->addr + old->size) | END_MARK, &start, &meta);
	return true;
}

/* The mapping that ends at `end`. An end entry left behind by a mapping
 * unmapped unseen may name another: then nothing is taken. */
static bool forget_ending(uint64_t end, struct lks_map_entry *old)
{
	uint64_t start, meta;

	if (!take(end | END_MARK, &start, &meta) || !forget_start(start, old))
		return false;
	if (old->addr + old->size == end)
		return true;
	insert(old->addr, old->size, old->trace, old->flags);
	return false;
}

/* What is left of `from`, [start, end), with its site and flags. */
static void record_piece(const struct lks_map_entry *from, uint64_t start, uint64_t end)
{
	insert(start, end - start, from->trace, from->flags);
}

/* ---- unmapping part of the address space -------------------------------- */

struct cutting {
	uint64_t start, end;
};

/* A recorded mapping overlapping the cut range is forgotten; what lies
 * outside the range, before or after it, is recorded again with its site.
 * Those pieces do not overlap the range: meeting one later in the walk is
 * harmless. */
static void cut_slot(struct map_slot *slot, void *ctx)
{
	const struct cutting *cut = ctx;
	/* acquire: the key and size below were written before meta */
	uint64_t meta = __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE);
	uint64_t addr = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);
	uint64_t size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
	struct lks_map_entry entry;

	if (!meta || !is_start(addr) || addr >= cut->end || addr + size <= cut->start ||
	    !lks_mapping_forget(addr, &entry))
		return;
	if (entry.addr < cut->start)
		record_piece(&entry, entry.addr, cut->start);
	if (entry.addr + entry.size > cut->end)
		record_piece(&entry, cut->end, entry.addr + entry.size);
}

/* The common unmaps (a whole mapping, its head, its tail) find it by its
 * start or its end; the others (its middle, several mappings at once, or
 * none recorded) walk the recorded starts. */
void lks_mapping_cut(uint64_t start, uint64_t end)
{
	struct lks_map_entry old;
	struct cutting cut = { start, end };

	if (!slots(false) || start >= end)
		return;
	if (lks_mapping_forget(start, &old) || forget_ending(end, &old)) {
		if (old.addr < start)
			record_piece(&old, old.addr, start);
		if (old.addr + old.size > end)
			record_piece(&old, end, old.addr + old.size);
		if (old.addr <= start && old.addr + old.size >= end)
			return;  /* the range lay within it */
	}
	walk_starts(cut_slot, &cut);
}

/* ---- what a mapping placed in the address space replaces ---------------- */

struct containing {
	uint64_t start, end;
	uint64_t holder;  /* the start of the mapping holding it, 0 if none */
};

static void contain_slot(struct map_slot *slot, void *ctx)
{
	struct containing *want = ctx;
	/* acquire: the key and size below were written before meta */
	uint64_t meta = __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE);
	uint64_t addr = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);
	uint64_t size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);

	if (meta && is_start(addr) && addr <= want->start && addr + size >= want->end)
		want->holder = addr;
}

/* The size recorded for a mapping starting at addr, 0 if none is. */
static uint64_t size_at(uint64_t addr)
{
	uint32_t home = map_home(addr);
	struct map_slot *maps = slots(false);

	for (uint32_t i = 0; maps && i < MAP_WINDOW; i++) {
		struct map_slot *slot = &maps[(home + i) % MAP_SLOTS];
		/* acquire: the key and size below were written before meta */
		uint64_t meta = __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE);

		if (meta && __atomic_load_n(&slot->key, __ATOMIC_RELAXED) == addr)
			return __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
	}
	return 0;
}

/* The start of the mapping the last walk found holding a placed range: a
 * JVM commits into the same reservation, V8 remaps into the same code
 * range, again and again. A hint only, checked against the table. */
static uint64_t last_holder;  /* atomic */

/* Whether a mapping recorded at addr holds all of [start, end). */
static bool holds(uint64_t addr, uint64_t start, uint64_t end)
{
	return is_start(addr) && addr <= start && addr + size_at(addr) >= end;
}

/* One probe when the range starts where the mapping does (a mapping
 * placed again over itself) or lies in the one that held the last range
 * walked for, else a walk of the recorded starts. */
bool lks_mapping_contains(uint64_t start, uint64_t end)
{
	struct containing want = { start, end, 0 };

	if (!slots(false) || start >= end || !is_start(start))
		return false;
	/* relaxed: the hint is checked against the table before it is believed */
	if (holds(start, start, end) ||
	    holds(__atomic_load_n(&last_holder, __ATOMIC_RELAXED), start, end))
		return true;
	walk_starts(contain_slot, &want);
	if (want.holder)
		__atomic_store_n(&last_holder, want.holder, __ATOMIC_RELAXED);
	return want.holder != 0;
}

struct mapping_visit {
	void (*visit)(const struct lks_map_entry *, void *);
	void *ctx;
};

static void visit_mapping(struct map_slot *slot, void *ctx)
{
	struct mapping_visit *walk = ctx;
	/* acquire: the key and size below were written before meta */
	uint64_t meta = __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE);
	uint64_t addr = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);
	struct lks_map_entry entry;

	if (!meta || !is_start(addr))
		return;
	fill_entry(&entry, addr, __atomic_load_n(&slot->size, __ATOMIC_RELAXED), meta);
	walk->visit(&entry, walk->ctx);
}

void lks_mapping_foreach(void (*visit)(const struct lks_map_entry *, void *), void *ctx)
{
	struct mapping_visit walk = { visit, ctx };

	walk_starts(visit_mapping, &walk);
}

/* ---- fork ------------------------------------------------------------------ */

static void mark_inherited(struct map_slot *slot, void *unused)
{
	(void)unused;
	if (slot->meta)
		slot->meta |= (uint64_t)LKS_FD_INHERITED << 8; /* meta's flags byte */
}

/* The fork child is single-threaded here: plain read-modify-writes suffice.
 * Starts only: an end entry's flags are never read. */
void lks_mapping_mark_inherited(void)
{
	walk_starts(mark_inherited, NULL);
}
