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

/* meta: trace << 32 | flags << 8 | 1; 0 while the slot holds nothing */
struct map_slot {
	uint64_t key;  /* address, KEY_EMPTY or KEY_TOMB */
	uint64_t size;
	uint64_t meta; /* written last, cleared first */
};

static void *table;           /* atomic: struct map_slot[MAP_SLOTS], or NULL */
/* Which runs of MAP_RUN slots were ever written: the walks (a snapshot,
 * a fork child marking what it inherited) read those only, not the 3 MiB
 * table, whose untouched pages would each cost a fault. */
#define MAP_RUN 512u
static uint64_t map_runs_used[MAP_SLOTS / MAP_RUN / 64]; /* atomic bits */

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

static void mark_run_used(uint32_t slot)
{
	uint32_t run = slot / MAP_RUN;

	/* relaxed: the walks read a run's slots with their own ordering */
	__atomic_fetch_or(&map_runs_used[run / 64], 1ull << (run % 64), __ATOMIC_RELAXED);
}

/* Calls visit for every slot of the runs ever used, if the table is. */
static void walk_used_slots(void (*visit)(struct map_slot *slot, void *), void *ctx)
{
	struct map_slot *maps = slots(false);

	for (uint32_t run = 0; maps && run < MAP_SLOTS / MAP_RUN; run++)
		if (__atomic_load_n(&map_runs_used[run / 64], __ATOMIC_RELAXED) &
		    (1ull << (run % 64)))
			for (uint32_t slot = run * MAP_RUN; slot < (run + 1) * MAP_RUN; slot++)
				visit(&maps[slot], ctx);
}

void lks_mapping_record(uint64_t addr, uint64_t size, uint32_t trace)
{
	uint32_t home = map_home(addr);
	struct map_slot *maps = slots(true);

	if (!maps || addr <= KEY_TOMB) {
		lks_handles_count_missed();
		return;
	}
	for (uint32_t i = 0; i < MAP_WINDOW; i++) {
		struct map_slot *slot = &maps[(home + i) % MAP_SLOTS];
		uint64_t key = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);

		if (key != KEY_EMPTY && key != KEY_TOMB)
			continue;
		/* relaxed CAS: the slot's contents are published by meta below */
		if (!__atomic_compare_exchange_n(&slot->key, &key, addr, false,
		                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		mark_run_used((home + i) % MAP_SLOTS);
		__atomic_store_n(&slot->size, size, __ATOMIC_RELAXED);
		/* release: a reader that sees meta sees key and size */
		__atomic_store_n(&slot->meta, (uint64_t)trace << 32 | 1u, __ATOMIC_RELEASE);
		return;
	}
	lks_handles_count_missed();
}

static bool copy_mapping(struct map_slot *slot, uint64_t meta, struct lks_map_entry *entry)
{
	if (!meta)
		return false;
	entry->addr = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);
	entry->size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
	entry->trace = (uint32_t)(meta >> 32);
	entry->flags = (uint8_t)(meta >> 8);
	return entry->addr > KEY_TOMB;
}

bool lks_mapping_forget(uint64_t addr, struct lks_map_entry *old)
{
	uint32_t home = map_home(addr);
	struct map_slot *maps = slots(false);

	if (!maps)
		return false;
	for (uint32_t i = 0; i < MAP_WINDOW; i++) {
		struct map_slot *slot = &maps[(home + i) % MAP_SLOTS];
		uint64_t meta;

		if (__atomic_load_n(&slot->key, __ATOMIC_ACQUIRE) != addr)
			continue;
		/* acq_rel: whoever clears meta owns the slot's contents */
		meta = __atomic_exchange_n(&slot->meta, 0, __ATOMIC_ACQ_REL);
		if (!copy_mapping(slot, meta, old))
			continue;
		/* release: the slot is free only after its contents were read */
		__atomic_store_n(&slot->key, KEY_TOMB, __ATOMIC_RELEASE);
		return true;
	}
	return false;
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
	struct lks_map_entry entry;

	if (meta && copy_mapping(slot, meta, &entry))
		walk->visit(&entry, walk->ctx);
}

void lks_mapping_foreach(void (*visit)(const struct lks_map_entry *, void *), void *ctx)
{
	struct mapping_visit walk = { visit, ctx };

	walk_used_slots(visit_mapping, &walk);
}

/* ---- fork ------------------------------------------------------------------ */

static void mark_inherited(struct map_slot *slot, void *unused)
{
	(void)unused;
	if (slot->meta)
		slot->meta |= (uint64_t)LKS_FD_INHERITED << 8; /* meta's flags byte */
}

/* The fork child is single-threaded here: plain read-modify-writes suffice. */
void lks_mapping_mark_inherited(void)
{
	walk_used_slots(mark_inherited, NULL);
}
