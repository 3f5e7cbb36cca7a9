/* SPDX-License-Identifier: MIT */
/* The rows already worked out, for every thread: pc -> row, open
 * addressing, lock-free. A slot is claimed with a CAS (the pc with its top
 * bit set), filled, then published by a release store of the pc; the
 * lookup (lks_pc_cache_get, inline in unwind.h) checks the pc again after
 * the row. A miss only costs working the row out again.
 *
 * The table starts small and is replaced by one eight times larger when
 * half full: a short process works out a hundred rows or so, and each one
 * put at random in a large table touched a page of its own (two faults:
 * the lookup reads the page before the put writes it). A replaced table
 * stays mapped (a reader may still be probing it) and its rows are not
 * carried over: being a cache, the new one fills again from misses. */
#include "shim.h"
#include "unwind.h"

#define CLAIMED (1ull << 63)     /* no user-space pc has it */
#define GROW_BY_BITS 3

uintptr_t lks_pc_table;
static uint64_t used;            /* atomic: slots filled in the current table */
static int growing;              /* atomic: 1 while a thread maps the next table */
uint64_t lks_pc_rows_generation; /* unwind.h */

static uintptr_t table_new(unsigned bits)
{
	void *slots = lks_map_growth(sizeof(struct pc_slot) << bits);

	return slots ? (uintptr_t)slots | bits : 0;
}

bool lks_pc_cache_init(void)
{
	uintptr_t table = table_new(PC_FIRST_BITS);

	/* release: the mapping before the word that names it */
	__atomic_store_n(&lks_pc_table, table, __ATOMIC_RELEASE);
	return table != 0;
}

/* Half full: the next table, by one thread; the others go on meanwhile. A
 * table that cannot be mapped leaves the current one in use. */
static void grow(uintptr_t table)
{
	unsigned bits = (unsigned)(table & PC_BITS_MASK) + GROW_BY_BITS;
	uintptr_t next;

	if (bits > PC_MAX_BITS || __atomic_exchange_n(&growing, 1, __ATOMIC_ACQUIRE))
		return;
	if (__atomic_load_n(&lks_pc_table, __ATOMIC_RELAXED) == table && (next = table_new(bits))) {
		__atomic_store_n(&used, 0, __ATOMIC_RELAXED);
		/* release: the mapping before the word that names it */
		__atomic_store_n(&lks_pc_table, next, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&growing, 0, __ATOMIC_RELEASE);
}

static uint64_t pack(const struct cfi_row *row)
{
	return (uint64_t)(uint32_t)row->cfa_off | (uint64_t)(uint16_t)row->rbp_off << 32 |
	       (uint64_t)(uint8_t)row->ra_off << 48 | (uint64_t)(row->cfa_kind & 7) << 56 |
	       (uint64_t)(row->rbp_kind & 3) << 59;
}

void lks_pc_cache_put(uint64_t pc, const struct cfi_row *row)
{
	/* acquire: as lks_pc_cache_get's */
	uintptr_t table = __atomic_load_n(&lks_pc_table, __ATOMIC_ACQUIRE);
	struct pc_slot *const slots = lks_pc_slots_of(table);
	uint64_t mask = lks_pc_mask_of(table), at;

	/* the packed form holds a row whose return-address offset fits a byte */
	if (row->ra_off < INT8_MIN || row->ra_off > INT8_MAX || !table)
		return;
	at = lks_pc_home(table, pc);
	for (int probe = 0; probe < PC_PROBES; probe++, at = (at + 1) & mask) {
		struct pc_slot *slot = &slots[at];
		uint64_t empty = 0;

		/* relaxed: nothing is published by the claim itself */
		if (__atomic_compare_exchange_n(&slot->pc, &empty, pc | CLAIMED, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_store_n(&slot->packed, pack(row), __ATOMIC_RELAXED);
			/* release: the row is visible to whoever sees the pc */
			__atomic_store_n(&slot->pc, pc, __ATOMIC_RELEASE);
			if (__atomic_add_fetch(&used, 1, __ATOMIC_RELAXED) > mask / 2)
				grow(table);
			return;
		}
		if ((empty & ~CLAIMED) == pc)
			return;  /* there already, or being put by another thread */
	}
}

/* dlclose: the rows of an unloaded object must not describe what is
 * loaded there next. Only the current table: the ones before it are
 * read by no lookup begun after this. */
void lks_pc_cache_forget(uint64_t start, uint64_t end)
{
	/* acquire: as lks_pc_cache_get's */
	uintptr_t table = __atomic_load_n(&lks_pc_table, __ATOMIC_ACQUIRE);
	struct pc_slot *const slots = lks_pc_slots_of(table);

	for (uint64_t i = 0; table && i <= lks_pc_mask_of(table); i++) {
		uint64_t seen = __atomic_load_n(&slots[i].pc, __ATOMIC_RELAXED);
		uint64_t pc = seen & ~CLAIMED;

		if (seen && pc >= start && pc < end &&
		    __atomic_compare_exchange_n(&slots[i].pc, &seen, 0, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			__atomic_fetch_sub(&used, 1, __ATOMIC_RELAXED);
	}
	/* release: the slots above are cleared for whoever sees the new one */
	__atomic_fetch_add(&lks_pc_rows_generation, 1, __ATOMIC_RELEASE);
}

uint64_t lks_unwind_table_bytes(void)
{
	return __atomic_load_n(&used, __ATOMIC_RELAXED) * sizeof(struct pc_slot);
}
