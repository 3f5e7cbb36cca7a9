/* SPDX-License-Identifier: MIT */
/* Stack capture with libunwind (local, DWARF CFI: correct without frame
 * pointers). The shim's own frames are dropped by address, not by count, so
 * inlining decisions of the compiler cannot shift the stack. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "shim.h"

#define SHIM_FRAMES_MAX 8 /* interposer + capture + libunwind's own */

void lks_unwind_init(void)
{
	/* Per-thread cache: no lock inside libunwind, and safe when a signal
	 * handler unwinds on a thread that was itself unwinding. */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

/* The return addresses of a capture, per thread rather than on the stack:
 * 2 KiB less stack for every malloc (a coroutine's or a signal stack's may
 * be 4 KiB in all). Captures on a thread never nest: nested allocations
 * are forwarded. */
static __thread void *capture_ips[256 + SHIM_FRAMES_MAX]
	__attribute__((tls_model("initial-exec")));

/* Called with lks_busy set: libunwind allocates its per-thread state on a
 * thread's first unwind, and those calls must not be recorded. */
uint32_t lks_capture_trace(void)
{
	void **ips = capture_ips;
	int depth = unw_backtrace(ips, lks_opt.depth + SHIM_FRAMES_MAX);
	int first = 0;

	while (first < depth && lks_in_shim((uint64_t)ips[first]))
		first++;
	if (depth - first > lks_opt.depth)
		depth = first + lks_opt.depth;
	if (first >= depth)
		return lks_depot_intern(NULL, 0);  /* counted as missed */
	return lks_depot_intern(ips + first, (uint32_t)(depth - first));
}
