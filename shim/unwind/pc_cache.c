/* SPDX-License-Identifier: MIT */
/* The rows already worked out, for every thread: pc -> row, open
 * addressing in a table reserved once (untouched pages cost nothing),
 * lock-free. A slot is claimed with a CAS (the pc with its top bit set),
 * filled, then published by a release store of the pc; the lookup
 * (lks_pc_cache_get, inline in unwind.h) checks the pc again after the
 * row. A miss only costs working the row out again. */
#include "shim.h"
#include "unwind.h"

#define CLAIMED (1ull << 63)     /* no user-space pc has it */

struct pc_slot *lks_pc_slots;
static uint64_t used;            /* atomic: slots filled */
uint64_t lks_pc_rows_generation;

bool lks_pc_cache_init(void)
{
	lks_pc_slots = lks_reserve(PC_SLOTS * sizeof(*lks_pc_slots));
	return lks_pc_slots != NULL;
}

static uint64_t pack(const struct cfi_row *row)
{
	return (uint64_t)(uint32_t)row->cfa_off | (uint64_t)(uint16_t)row->rbp_off << 32 |
	       (uint64_t)(uint8_t)row->ra_off << 48 | (uint64_t)(row->cfa_kind & 7) << 56 |
	       (uint64_t)(row->rbp_kind & 3) << 59;
}

void lks_pc_cache_put(uint64_t pc, const struct cfi_row *row)
{
	struct pc_slot *const slots = lks_pc_slots, *slot;

	/* the packed form holds a row whose return-address offset fits a byte */
	if (row->ra_off < INT8_MIN || row->ra_off > INT8_MAX || !slots)
		return;
	slot = lks_pc_first_slot(pc);
	for (int probe = 0; probe < PC_PROBES; probe++) {
		uint64_t empty = 0;

		/* relaxed: nothing is published by the claim itself */
		if (__atomic_compare_exchange_n(&slot->pc, &empty, pc | CLAIMED, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_store_n(&slot->packed, pack(row), __ATOMIC_RELAXED);
			/* release: the row is visible to whoever sees the pc */
			__atomic_store_n(&slot->pc, pc, __ATOMIC_RELEASE);
			__atomic_fetch_add(&used, 1, __ATOMIC_RELAXED);
			return;
		}
		if ((empty & ~CLAIMED) == pc)
			return;  /* there already, or being put by another thread */
		slot = slot + 1 == slots + PC_SLOTS ? slots : slot + 1;
	}
}

/* dlclose: the rows of an unloaded object must not describe what is
 * loaded there next. */
void lks_pc_cache_forget(uint64_t start, uint64_t end)
{
	struct pc_slot *const slots = lks_pc_slots;

	for (uint32_t i = 0; i < PC_SLOTS && slots; i++) {
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
