/* SPDX-License-Identifier: MIT */
/* The reference for unwind_check=1: libunwind (local, DWARF CFI) started
 * from the same registers as the shim's own walk. Test-only: libunwind
 * opens a pipe for its memory probe and takes its own locks, which is why
 * it is no longer on the recording path. It is loaded only when asked
 * for: linked, it and liblzma were mapped and relocated in every process
 * (14 page faults of each short one). */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <string.h>
#include <ucontext.h>

#include "shim.h"
#include "unwind.h"

#define LIBUNWIND "libunwind.so.8"
/* the exported name behind one of libunwind.h's macros (_ULx86_64_step) */
#define EXPORTED(name) EXPORTED_(name)
#define EXPORTED_(name) #name

static struct {
	__typeof__(unw_init_local2) *init_local2;
	__typeof__(unw_get_reg) *get_reg;
	__typeof__(unw_step) *step;
} libunwind;

/* Called once, from the shim's initializer, with unwind_check=1 only. */
void lks_reference_init(void)
{
	void *lib = dlopen(LIBUNWIND, RTLD_NOW | RTLD_LOCAL);
	__typeof__(unw_set_caching_policy) *set_caching_policy;
	unw_addr_space_t *local_space;

	if (!lib)
		return;  /* every stack then differs: the check says so */
	set_caching_policy = (__typeof__(set_caching_policy))dlsym(lib,
		EXPORTED(unw_set_caching_policy));
	local_space = dlsym(lib, EXPORTED(unw_local_addr_space));
	libunwind.get_reg = (__typeof__(libunwind.get_reg))dlsym(lib, EXPORTED(unw_get_reg));
	libunwind.step = (__typeof__(libunwind.step))dlsym(lib, EXPORTED(unw_step));
	if (!set_caching_policy || !local_space || !libunwind.get_reg || !libunwind.step)
		return;
	/* no cache: its global cache holds a mutex across dl_iterate_phdr */
	set_caching_policy(*local_space, UNW_CACHE_NONE);
	/* release: the others are set before a walk sees this one */
	__atomic_store_n(&libunwind.init_local2,
	                 (__typeof__(libunwind.init_local2))dlsym(lib, EXPORTED(unw_init_local2)),
	                 __ATOMIC_RELEASE);
}

int lks_reference_walk(const struct unwind_regs *start, uint64_t *ips, int max)
{
	/* acquire: pairs with the release in lks_reference_init */
	__typeof__(unw_init_local2) *init_local2 =
		__atomic_load_n(&libunwind.init_local2, __ATOMIC_ACQUIRE);
	ucontext_t context;
	unw_cursor_t cursor;
	int depth = 0;

	if (!init_local2)
		return 0;
	memset(&context, 0, sizeof(context));
	context.uc_mcontext.gregs[REG_RIP] = (greg_t)start->r[DW_RA];
	context.uc_mcontext.gregs[REG_RSP] = (greg_t)start->r[DW_RSP];
	context.uc_mcontext.gregs[REG_RBP] = (greg_t)start->r[DW_RBP];
	/* flag 0: the pc is a return address, looked up one byte back */
	if (init_local2(&cursor, &context, 0) < 0)
		return 0;
	do {
		unw_word_t pc;

		if (libunwind.get_reg(&cursor, UNW_REG_IP, &pc) < 0 || pc == 0)
			break;
		ips[depth++] = pc;
	} while (depth < max && libunwind.step(&cursor) > 0);
	return depth;
}
