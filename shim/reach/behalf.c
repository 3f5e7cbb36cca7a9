/* SPDX-License-Identifier: MIT */
/* Blocks the C library allocated while the shim was at work: the FILE
 * inside fopen, the DIR inside opendir, whatever libunwind needs with
 * unwind_check=1 reach the allocator with the thread busy and are
 * forwarded unrecorded. They are not reported, but they may hold the
 * program's pointers (a stream's buffer given with setvbuf; with libunwind
 * on the hot path, glibc's second-level array of pthread keys held the
 * program's values): the exit scan reads them as roots. */
#include "reach.h"

#define BEHALF_SLOTS 4096 /* when full, a block is not noted: as before */

struct behalf_slot {
	uint64_t addr;    /* atomic: 0 = free */
	uint64_t size;
};

static struct behalf_slot slots[BEHALF_SLOTS];
static uint32_t slots_used;  /* atomic: slots below it may be taken */

void lks_behalf_note(void *ptr, size_t size)
{
	for (uint32_t i = 0; i < BEHALF_SLOTS; i++) {
		uint64_t expected = 0;
		uint32_t used = __atomic_load_n(&slots_used, __ATOMIC_RELAXED);

		/* relaxed: the scan reads with the world stopped */
		if (!__atomic_compare_exchange_n(&slots[i].addr, &expected, (uint64_t)(uintptr_t)ptr,
		                                 false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&slots[i].size, size, __ATOMIC_RELAXED);
		while (used < i + 1 &&
		       !__atomic_compare_exchange_n(&slots_used, &used, i + 1, false,
		                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		return;
	}
}

bool lks_behalf_forget(void *ptr)
{
	uint32_t used = __atomic_load_n(&slots_used, __ATOMIC_RELAXED);
	uint64_t addr = (uint64_t)(uintptr_t)ptr;

	for (uint32_t i = 0; i < used; i++) {
		uint64_t expected = addr;

		if (__atomic_load_n(&slots[i].addr, __ATOMIC_RELAXED) == addr &&
		    __atomic_compare_exchange_n(&slots[i].addr, &expected, 0, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

void reach_behalf_foreach(void (*visit)(uint64_t addr, uint64_t size, void *ctx), void *ctx)
{
	uint32_t used = __atomic_load_n(&slots_used, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < used; i++) {
		uint64_t addr = __atomic_load_n(&slots[i].addr, __ATOMIC_RELAXED);

		if (addr)
			visit(addr, __atomic_load_n(&slots[i].size, __ATOMIC_RELAXED), ctx);
	}
}
