/* SPDX-License-Identifier: MIT */
/* The rows already worked out, for every thread: pc -> row, open
 * addressing in a table reserved once (untouched pages cost nothing),
 * lock-free. A slot is claimed with a CAS (the pc with its top bit set),
 * filled, then published by a release store of the pc; a reader checks
 * the pc again after reading the row, so a slot cleared by a dlclose and
 * taken by another pc meanwhile reads as a miss. A miss only costs working
 * the row out again. */
#include "shim.h"
#include "unwind.h"

#define SLOT_BITS 16             /* 65,536 rows, 1 MiB reserved */
#define SLOTS (1u << SLOT_BITS)
#define MAX_PROBES 8
#define CLAIMED (1ull << 63)     /* no user-space pc has it */

struct pc_slot {
	uint64_t pc;                 /* atomic: 0 empty, pc | CLAIMED filling */
	uint64_t packed;             /* the row, see pack() */
};

static struct pc_slot *slots;
static uint64_t used;            /* atomic: slots filled */

bool lks_pc_cache_init(void)
{
	slots = lks_reserve(SLOTS * sizeof(*slots));
	return slots != NULL;
}

static uint64_t pack(const struct cfi_row *row)
{
	return (uint64_t)(uint32_t)row->cfa_off | (uint64_t)(uint16_t)row->rbp_off << 32 |
	       (uint64_t)(uint8_t)row->ra_off << 48 | (uint64_t)(row->cfa_kind & 7) << 56 |
	       (uint64_t)(row->rbp_kind & 3) << 59;
}

static void unpack(uint64_t packed, struct cfi_row *row)
{
	*row = (struct cfi_row){
		.cfa_off = (int32_t)(uint32_t)packed,
		.rbp_off = (int16_t)(uint16_t)(packed >> 32),
		.ra_off = (int8_t)(uint8_t)(packed >> 48),
		.cfa_kind = (uint8_t)(packed >> 56 & 7),
		.rbp_kind = (uint8_t)(packed >> 59 & 3),
	};
}

static struct pc_slot *first_slot(uint64_t pc)
{
	return &slots[(pc * 0x9e3779b97f4a7c15u) >> (64 - SLOT_BITS)];
}

bool lks_pc_cache_get(uint64_t pc, struct cfi_row *row)
{
	struct pc_slot *slot = first_slot(pc);

	for (int probe = 0; probe < MAX_PROBES && slots; probe++) {
		/* acquire: the row was written before the pc was published */
		uint64_t seen = __atomic_load_n(&slot->pc, __ATOMIC_ACQUIRE);
		uint64_t packed;

		if (seen == 0)
			return false;
		if (seen == pc) {
			packed = __atomic_load_n(&slot->packed, __ATOMIC_RELAXED);
			/* acquire fence: the row read is ordered before the check */
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&slot->pc, __ATOMIC_RELAXED) != pc)
				return false;
			unpack(packed, row);
			return true;
		}
		slot = slot + 1 == slots + SLOTS ? slots : slot + 1;
	}
	return false;
}

void lks_pc_cache_put(uint64_t pc, const struct cfi_row *row)
{
	struct pc_slot *slot = first_slot(pc);

	/* the packed form holds a row whose return-address offset fits a byte */
	if (row->ra_off < INT8_MIN || row->ra_off > INT8_MAX || !slots)
		return;
	for (int probe = 0; probe < MAX_PROBES; probe++) {
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
		slot = slot + 1 == slots + SLOTS ? slots : slot + 1;
	}
}

/* dlclose: the rows of an unloaded object must not describe what is
 * loaded there next. */
void lks_pc_cache_forget(uint64_t start, uint64_t end)
{
	for (uint32_t i = 0; i < SLOTS && slots; i++) {
		uint64_t seen = __atomic_load_n(&slots[i].pc, __ATOMIC_RELAXED);
		uint64_t pc = seen & ~CLAIMED;

		if (seen && pc >= start && pc < end &&
		    __atomic_compare_exchange_n(&slots[i].pc, &seen, 0, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			__atomic_fetch_sub(&used, 1, __ATOMIC_RELAXED);
	}
}

uint64_t lks_unwind_table_bytes(void)
{
	return __atomic_load_n(&used, __ATOMIC_RELAXED) * sizeof(struct pc_slot);
}
