/* SPDX-License-Identifier: MIT */
/* The reference for unwind_check=1: libunwind (local, DWARF CFI) started
 * from the same registers as the shim's own walk. Test-only: libunwind
 * opens a pipe for its memory probe and takes its own locks, which is why
 * it is no longer on the recording path. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <string.h>
#include <ucontext.h>

#include "shim.h"
#include "unwind.h"

void lks_reference_init(void)
{
	/* no cache: its global cache holds a mutex across dl_iterate_phdr */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
}

int lks_reference_walk(const struct unwind_regs *start, uint64_t *ips, int max)
{
	ucontext_t context;
	unw_cursor_t cursor;
	int depth = 0;

	memset(&context, 0, sizeof(context));
	context.uc_mcontext.gregs[REG_RIP] = (greg_t)start->r[DW_RA];
	context.uc_mcontext.gregs[REG_RSP] = (greg_t)start->r[DW_RSP];
	context.uc_mcontext.gregs[REG_RBP] = (greg_t)start->r[DW_RBP];
	/* flag 0: the pc is a return address, looked up one byte back */
	if (unw_init_local2(&cursor, &context, 0) < 0)
		return 0;
	do {
		unw_word_t pc;

		if (unw_get_reg(&cursor, UNW_REG_IP, &pc) < 0 || pc == 0)
			break;
		ips[depth++] = pc;
	} while (depth < max && unw_step(&cursor) > 0);
	return depth;
}
