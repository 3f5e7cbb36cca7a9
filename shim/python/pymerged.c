/* SPDX-License-Identifier: MIT */
/* Merged stacks already made: (native trace, Python frames) -> the merged
 * trace, so a capture whose pair was merged before skips the merge and the
 * interning of a long stack. Exact: both ids name frames that never change
 * (the depot is insert-only), and the merge is a function of those frames.
 * Insert-only and lock-free; a full table only means merging again. */
#include "../shim.h"
#include "pyroom.h"

#define SLOT_BITS 18                /* 4 MiB reserved, touched as used */
#define SLOTS (1u << SLOT_BITS)
#define MAX_PROBES 16
#define UNPAIRED 0x80000000u        /* depot ids stay far below */

struct merged_slot {
	uint64_t key;       /* atomic: pyseq << 32 | native; 0 empty */
	uint32_t merged;    /* atomic: the trace | UNPAIRED; 0 not yet written */
	uint32_t unused;
};

static struct merged_slot *slots;

bool lks_pymerged_init(void)
{
	slots = lks_reserve(SLOTS * sizeof(*slots));
	return slots != NULL;
}

static uint32_t slot_of(uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15u) >> (64 - SLOT_BITS));
}

uint32_t lks_pymerged_find(uint32_t native, uint32_t pyseq, bool *unpaired)
{
	uint64_t key = (uint64_t)pyseq << 32 | native;
	uint32_t at = slot_of(key);

	for (uint32_t probe = 0; probe < MAX_PROBES; probe++) {
		struct merged_slot *slot = &slots[(at + probe) & (SLOTS - 1)];
		/* relaxed: the key says only where to look; merged is acquired */
		uint64_t have = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);
		uint32_t merged;

		if (have == 0)
			return 0;
		if (have != key)
			continue;
		/* acquire: pairs with the release in lks_pymerged_put; the trace
		 * behind it was published by the depot before that */
		merged = __atomic_load_n(&slot->merged, __ATOMIC_ACQUIRE);
		*unpaired = merged & UNPAIRED;
		return merged & ~UNPAIRED;
	}
	return 0;
}

void lks_pymerged_put(uint32_t native, uint32_t pyseq, uint32_t merged, bool unpaired)
{
	uint64_t key = (uint64_t)pyseq << 32 | native;
	uint32_t at = slot_of(key);

	if (!native || !pyseq || !merged)
		return;
	for (uint32_t probe = 0; probe < MAX_PROBES; probe++) {
		struct merged_slot *slot = &slots[(at + probe) & (SLOTS - 1)];
		uint64_t have = 0;

		/* relaxed: claiming the slot publishes nothing; merged does */
		if (__atomic_compare_exchange_n(&slot->key, &have, key, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			/* release: a reader that sees it sees the trace's frames */
			__atomic_store_n(&slot->merged, merged | (unpaired ? UNPAIRED : 0),
			                 __ATOMIC_RELEASE);
			return;
		}
		if (have == key)
			return;  /* another thread merged the same pair */
	}
}
