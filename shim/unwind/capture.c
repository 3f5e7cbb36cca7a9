/* SPDX-License-Identifier: MIT */
/* Stack capture: the interposer's caller is found on the shim's own frame
 * pointers (all its code keeps them), so the walk starts there with that
 * frame's registers and never steps through the shim; then one CFI step
 * per frame. With unwind_check=1 every stack is also taken by libunwind
 * from the same registers, and the differences are counted. The thread's
 * Python frames are merged into the native stack last (shim/python/). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "python/python.h"
#include "shim.h"
#include "unwind.h"

#define MAX_SHIM_FRAMES 16
#define MAX_FRAMES 256
#define SAY_DIFFERENCES 10  /* verbose: the first ones, frame by frame */

static uint64_t truncated, slow_frames, checked, differences; /* atomic */

static uint64_t shim_lo, shim_hi;  /* this library's own mapping */

static bool in_shim(uint64_t pc)
{
	return pc - shim_lo < shim_hi - shim_lo;
}

/* Called with lks_busy set, under the interposer. */
static __attribute__((noinline)) bool interposer_caller(struct unwind_regs *regs)
{
	const uint64_t *frame = __builtin_frame_address(0);

	for (int i = 0; i < MAX_SHIM_FRAMES; i++) {
		const uint64_t *up = (const uint64_t *)(uintptr_t)frame[0];

		if (!in_shim(frame[1])) {
			/* the other registers are unknown (their bits clear) and
			 * zero: left as they were, they would be stale words of
			 * the dead stack, copied deeper by the walk, where the
			 * exit scan could meet them under a frame of the program's */
			*regs = (struct unwind_regs){ .known = 1u << DW_RA | 1u << DW_RSP | 1u << DW_RBP };
			regs->r[DW_RA] = frame[1];
			regs->r[DW_RSP] = (uint64_t)(uintptr_t)(frame + 2);
			regs->r[DW_RBP] = frame[0];
			return true;
		}
		/* the shim's frames are small and go up the same stack */
		if (up <= frame || (uint64_t)(up - frame) > (1u << 16))
			return false;
		frame = up;
	}
	return false;
}

static void say_truncated(uint64_t pc, int depth)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, "unwind: stack cut short after ");
	lks_line_u64(&line, (uint64_t)depth);
	lks_line_str(&line, " frames, no way to step out of pc ");
	lks_line_u64(&line, pc);
	lks_say(&line);
}

static int walk(struct unwind_regs *regs, uint64_t *ips, int max, struct stack_reads *reads)
{
	unsigned slow = 0;
	bool stuck;
	int depth;

	ips[0] = regs->r[DW_RA];
	depth = lks_cfi_walk(regs, ips, 1, max, &slow, &stuck, reads);
	if (lks_unlikely(stuck) &&
	    __atomic_fetch_add(&truncated, 1, __ATOMIC_RELAXED) < SAY_DIFFERENCES &&
	    lks_opt.verbose)
		say_truncated(ips[depth - 1], depth);
	if (lks_unlikely(slow))
		__atomic_fetch_add(&slow_frames, slow, __ATOMIC_RELAXED);
	return depth;
}

static void say_difference(const uint64_t *ours, int depth, const uint64_t *theirs,
                           int their_depth)
{
	struct lks_line line = { .len = 0 };
	int at = 0;

	while (at < depth && at < their_depth && ours[at] == theirs[at])
		at++;
	lks_line_str(&line, "unwind check: stacks differ at frame ");
	lks_line_u64(&line, (uint64_t)at);
	lks_line_str(&line, " of ");
	lks_line_u64(&line, (uint64_t)depth);
	lks_line_str(&line, " (libunwind: ");
	lks_line_u64(&line, (uint64_t)their_depth);
	lks_line_str(&line, "), pc ");
	lks_line_u64(&line, at < depth ? ours[at] : 0);
	lks_line_str(&line, " against ");
	lks_line_u64(&line, at < their_depth ? theirs[at] : 0);
	lks_say(&line);
}

static void check(const struct unwind_regs *start, uint32_t trace, int max)
{
	uint64_t theirs[MAX_FRAMES];
	int their_depth = lks_reference_walk(start, theirs, max);
	uint32_t depth = 0;
	const uint64_t *ips = lks_depot_frames(trace, &depth);
	uint64_t seen;

	__atomic_fetch_add(&checked, 1, __ATOMIC_RELAXED);
	if (ips && their_depth == (int)depth &&
	    !memcmp(ips, theirs, (size_t)depth * sizeof(*ips)))
		return;
	seen = __atomic_fetch_add(&differences, 1, __ATOMIC_RELAXED);
	if (lks_opt.verbose && seen < SAY_DIFFERENCES)
		say_difference(ips, (int)depth, theirs, their_depth);
}

/* A stack walked from start (left unchanged) and interned. Its buffers
 * are on the stack only on a miss of the stack cache, sized by the depth
 * option (1.3 KiB at the default 64): a capture may run in a handler on a
 * small sigaltstack. Not in TLS: glibc puts static TLS inside every
 * thread's stack, and refuses a PTHREAD_STACK_MIN thread when it grows by
 * a few KiB. */
static __attribute__((noinline)) uint32_t walk_and_keep(const struct unwind_regs *start)
{
	/* depth is 1..256 (options.c) */
	uint64_t *ips = __builtin_alloca((size_t)lks_opt.depth * sizeof(*ips));
	struct stack_reads reads;
	struct unwind_regs regs = *start;
	uint32_t trace;
	int depth;

	depth = walk(&regs, ips, lks_opt.depth, &reads);
	trace = lks_depot_intern((void *const *)ips, (uint32_t)depth);
	lks_stack_cache_store(start, lks_opt.depth, &reads, trace);
	return trace;
}

/* The native stack: what the stack cache and unwind_check work on. */
static uint32_t native_trace(void)
{
	struct unwind_regs regs;
	uint32_t trace;

	if (!interposer_caller(&regs)) {
		__atomic_fetch_add(&truncated, 1, __ATOMIC_RELAXED);
		return lks_depot_intern(NULL, 0);  /* counted as missed */
	}
	if (!lks_stack_region(regs.r[DW_RSP], &regs.region)) {
		/* a stack of unknown extent: only what registers say */
		__atomic_fetch_add(&truncated, 1, __ATOMIC_RELAXED);
		return lks_depot_intern((void *const *)&regs.r[DW_RA], 1);
	}
	if (!lks_stack_cache_find(&regs, lks_opt.depth, &trace))
		trace = walk_and_keep(&regs);
	if (lks_unlikely(lks_opt.unwind_check))
		check(&regs, trace, lks_opt.depth);
	return trace;
}

/* The canonical frame address of the innermost frame whose pc lies in
 * [lo, hi) (a function's code), walked from the shim's caller as a capture
 * is; 0 when none is found. For the exit scan, which looks for exit()'s
 * frame: libgcc's _Unwind_Backtrace would bind to libunwind's (the shim
 * links it), whose memory probe takes a pipe on the program's lowest fds. */
uint64_t lks_unwind_frame_cfa(uint64_t lo, uint64_t hi)
{
	struct unwind_regs regs;
	unsigned slow = 0;

	if (!interposer_caller(&regs) || !lks_stack_region(regs.r[DW_RSP], &regs.region))
		return 0;
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		/* a return address: the call lies just before it */
		uint64_t pc = regs.r[DW_RA] - !regs.exact_pc;
		bool inside = pc - lo < hi - lo;

		if (lks_cfi_step(&regs, &slow) != STEP_OK)
			return 0;
		if (inside)
			return regs.r[DW_RSP];  /* the caller's stack pointer */
	}
	return 0;
}

/* The Python frames are merged after the cache: one native stack (one
 * cache entry) runs many different Python stacks, since a call from Python
 * to Python adds no C frame. */
uint32_t lks_capture_trace(void)
{
	return lks_py_merge(native_trace());
}

void lks_unwind_init(void)
{
	struct dl_find_object self;

	if (_dl_find_object((void *)(uintptr_t)&lks_capture_trace, &self) == 0) {
		shim_lo = (uint64_t)(uintptr_t)self.dlfo_map_start;
		shim_hi = (uint64_t)(uintptr_t)self.dlfo_map_end;
	}
	lks_stack_bounds_init();
	lks_pc_cache_init();  /* without it, rows are worked out every time */
}

/* From the initializer, once the options are read: the shim may have
 * started before, from another library's initializer, with the defaults. */
void lks_unwind_check_start(void)
{
	if (lks_opt.unwind_check)
		lks_reference_init();
}

void lks_unwind_stats(struct lks_unwind_stats *stats)
{
	stats->truncated = __atomic_load_n(&truncated, __ATOMIC_RELAXED);
	stats->slow_frames = __atomic_load_n(&slow_frames, __ATOMIC_RELAXED);
	stats->table_bytes = lks_unwind_table_bytes();
	stats->checked = __atomic_load_n(&checked, __ATOMIC_RELAXED);
	stats->differences = __atomic_load_n(&differences, __ATOMIC_RELAXED);
}
