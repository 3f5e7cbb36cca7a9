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

/* The registers the walk starts from: the interposer's caller's pc, stack
 * pointer and rbp, nothing else known. The other registers are left
 * unwritten here (a capture the stack cache answers reads no other);
 * start_regs zeroes them for a walk. The stack's region is unknown yet. */
static void caller_regs(struct unwind_regs *regs, const uint64_t *cfa)
{
	regs->known = 1u << DW_RA | 1u << DW_RSP | 1u << DW_RBP;
	regs->exact_pc = false;
	regs->region.hi = 0;
	regs->r[DW_RA] = cfa[-1];
	regs->r[DW_RSP] = (uint64_t)(uintptr_t)cfa;
	regs->r[DW_RBP] = cfa[-2];  /* pushed first by the shim's frame-pointer prologue */
}

/* The same, found by following the shim's own frame pointers to the first
 * return address outside it: for a capture whose scope was not set by the
 * interposer the program called (realloc(NULL) calls malloc). */
static __attribute__((noinline)) bool caller_by_frames(struct unwind_regs *regs)
{
	const uint64_t *frame = __builtin_frame_address(0);

	for (int i = 0; i < MAX_SHIM_FRAMES; i++) {
		const uint64_t *up = (const uint64_t *)(uintptr_t)frame[0];

		if (!in_shim(frame[1])) {
			caller_regs(regs, frame + 2);
			return true;
		}
		/* the shim's frames are small and go up the same stack */
		if (up <= frame || (uint64_t)(up - frame) > (1u << 16))
			return false;
		frame = up;
	}
	return false;
}

/* Called with lks_busy set, under the interposer. The scope's frame
 * (lks_enter's LKS_FRAME) is the interposer's CFA: when the return address
 * below it is the program's, that is the caller, without a walk through the
 * shim's frames. unwind_check=1 checks it against the walk. */
static bool interposer_caller(struct unwind_regs *regs)
{
	const uint64_t *cfa = (const uint64_t *)lks_busy_frame;

	if (lks_likely((lks_busy == LKS_BUSY_RECORDING || lks_busy == LKS_BUSY_INNER) &&
	               (uintptr_t)cfa > (uintptr_t)__builtin_frame_address(0) &&
	               !in_shim(cfa[-1]))) {
		caller_regs(regs, cfa);
		return true;
	}
	return caller_by_frames(regs);
}

/* A walk's own copy of the start: the registers not known are zero. Left
 * as they were, they would be stale words of the dead stack, copied deeper
 * by the walk, where the exit scan could meet them under a frame of the
 * program's. */
static void start_regs(struct unwind_regs *regs, const struct unwind_regs *start)
{
	*regs = (struct unwind_regs){ .known = start->known, .exact_pc = start->exact_pc,
	                              .region = start->region };
	regs->r[DW_RA] = start->r[DW_RA];
	regs->r[DW_RSP] = start->r[DW_RSP];
	regs->r[DW_RBP] = start->r[DW_RBP];
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

/* The start taken from the scope's frame is the one the shim's frame
 * pointers lead to. */
static bool start_as_walked(const struct unwind_regs *start)
{
	struct unwind_regs walked;

	return caller_by_frames(&walked) && walked.r[DW_RA] == start->r[DW_RA] &&
	       walked.r[DW_RSP] == start->r[DW_RSP] && walked.r[DW_RBP] == start->r[DW_RBP];
}

/* Both the start and the stack, against the frame walk and libunwind. */
static void check(const struct unwind_regs *start, uint32_t trace, int max)
{
	uint64_t theirs[MAX_FRAMES];
	int their_depth = lks_reference_walk(start, theirs, max);
	uint32_t depth = 0;
	const uint64_t *ips = lks_depot_frames(trace, &depth);
	uint64_t seen;

	__atomic_fetch_add(&checked, 1, __ATOMIC_RELAXED);
	if (start_as_walked(start) && ips && their_depth == (int)depth &&
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
	struct unwind_regs regs;
	uint32_t trace;
	int depth;

	start_regs(&regs, start);
	depth = walk(&regs, ips, lks_opt.depth, &reads);
	trace = lks_depot_intern((void *const *)ips, (uint32_t)depth);
	lks_stack_cache_store(start, lks_opt.depth, &reads, trace);
	return trace;
}

/* A stack the cache did not answer (or any stack, with unwind_check=1):
 * its region, then the cache again or the walk. */
static __attribute__((noinline)) uint32_t walked_trace(struct unwind_regs *regs)
{
	uint32_t trace;

	if (!lks_stack_region(regs->r[DW_RSP], &regs->region)) {
		/* a stack of unknown extent: only what registers say */
		__atomic_fetch_add(&truncated, 1, __ATOMIC_RELAXED);
		return lks_depot_intern((void *const *)&regs->r[DW_RA], 1);
	}
	if (!lks_stack_cache_find(regs, lks_opt.depth, &trace))
		trace = walk_and_keep(regs);
	if (lks_unlikely(lks_opt.unwind_check))
		check(regs, trace, lks_opt.depth);
	return trace;
}

/* The native stack: what the stack cache and unwind_check work on. The
 * stack's region is worked out only for a walk: a hit needs none. */
static uint32_t native_trace(void)
{
	struct unwind_regs regs;
	uint32_t trace;

	if (!interposer_caller(&regs)) {
		__atomic_fetch_add(&truncated, 1, __ATOMIC_RELAXED);
		return lks_depot_intern(NULL, 0);  /* counted as missed */
	}
	if (lks_likely(lks_stack_cache_find(&regs, lks_opt.depth, &trace)) &&
	    lks_likely(!lks_opt.unwind_check))
		return trace;
	return walked_trace(&regs);
}

/* The canonical frame address of the innermost frame whose pc lies in
 * [lo, hi) (a function's code), walked from the shim's caller as a capture
 * is; 0 when none is found. For the exit scan, which looks for exit()'s
 * frame: libgcc's _Unwind_Backtrace would bind to libunwind's (the shim
 * links it), whose memory probe takes a pipe on the program's lowest fds. */
uint64_t lks_unwind_frame_cfa(uint64_t lo, uint64_t hi)
{
	struct unwind_regs found, regs;
	unsigned slow = 0;

	if (!caller_by_frames(&found) || !lks_stack_region(found.r[DW_RSP], &found.region))
		return 0;
	start_regs(&regs, &found);
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
