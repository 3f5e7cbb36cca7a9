/* SPDX-License-Identifier: MIT */
/* Stack capture with libunwind (local, DWARF CFI: correct without frame
 * pointers). The shim's own frames are dropped by address, not by count, so
 * inlining decisions of the compiler cannot shift the stack. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "python/python.h"
#include "shim.h"

#define SHIM_FRAMES_MAX 8 /* interposer + capture + libunwind's own */

void lks_unwind_init(void)
{
	/* Per-thread cache: no lock inside libunwind, and safe when a signal
	 * handler unwinds on a thread that was itself unwinding. */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

/* Called with lks_busy set: libunwind allocates its per-thread state on a
 * thread's first unwind, and those calls must not be recorded. */
uint32_t lks_capture_trace(void)
{
	void *ips[256 + SHIM_FRAMES_MAX];
	int depth = unw_backtrace(ips, lks_opt.depth + SHIM_FRAMES_MAX);
	int first = 0;

	while (first < depth && lks_in_shim((uint64_t)ips[first]))
		first++;
	if (depth - first > lks_opt.depth)
		depth = first + lks_opt.depth;
	if (first >= depth)
		return lks_depot_intern(NULL, 0);  /* counted as missed */
	return lks_py_intern(ips + first, (uint32_t)(depth - first));  /* python/ */
}
