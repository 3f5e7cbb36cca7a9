/* SPDX-License-Identifier: MIT */
/* Stack capture alone, in ns per stack at a given depth: libunwind's
 * unw_backtrace, the shim's CFI walk (its unwind/ files linked in) alone
 * and behind its whole-stack cache, and a frame-pointer walk, the floor (this program is built with frame
 * pointers so that the walk is possible at all). Not a test; built by meson
 * only when asked for (tools/bench/meson.build):
 *
 * ninja -C build tools/bench/capture && build/tools/bench/capture 5 10 30 100 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "python/python.h"
#include "unwind.h"

#define LOOPS 200000

/* The unwinder tells the Python frame reader of a libpython it finds late;
 * this program has none. */
void lks_py_object_learned(const struct link_map *map)
{
	(void)map;
}

/* The caller's registers, as the shim's capture finds them. */
static __attribute__((always_inline)) inline bool start_regs(struct unwind_regs *regs,
                                                            const uint64_t *frame)
{
	*regs = (struct unwind_regs){ .known = 1u << DW_RA | 1u << DW_RSP | 1u << DW_RBP };
	regs->r[DW_RA] = frame[1];
	regs->r[DW_RSP] = (uint64_t)(uintptr_t)(frame + 2);
	regs->r[DW_RBP] = frame[0];
	return lks_stack_region(regs->r[DW_RSP], &regs->region);
}

static __attribute__((noinline)) int ours(void **ips, int max)
{
	struct unwind_regs regs;
	unsigned slow = 0;
	bool stuck;

	if (!start_regs(&regs, __builtin_frame_address(0)))
		return 0;
	ips[0] = (void *)(uintptr_t)regs.r[DW_RA];
	return lks_cfi_walk(&regs, (uint64_t *)ips, 1, max, &slow, &stuck, NULL);
}

/* With the whole-stack cache in front, as the shim runs it: a hit checks
 * the words the last walk read and returns its trace (here: its depth). */
static __attribute__((noinline)) int ours_cached(void **ips, int max)
{
	struct unwind_regs regs, start;
	struct stack_reads reads;
	uint32_t depth;
	unsigned slow = 0;
	bool stuck;

	if (!start_regs(&regs, __builtin_frame_address(0)))
		return 0;
	if (lks_stack_cache_find(&regs, max, &depth))
		return (int)depth;
	start = regs;
	ips[0] = (void *)(uintptr_t)regs.r[DW_RA];
	depth = (uint32_t)lks_cfi_walk(&regs, (uint64_t *)ips, 1, max, &slow, &stuck, &reads);
	lks_stack_cache_store(&start, max, &reads, depth);
	return (int)depth;
}

static __attribute__((noinline)) int frame_pointers(void **ips, int max)
{
	const uint64_t *frame = __builtin_frame_address(0);
	int depth = 0;

	while (depth < max && frame && frame[1]) {
		ips[depth++] = (void *)(uintptr_t)frame[1];
		if ((const uint64_t *)(uintptr_t)frame[0] <= frame)
			break;
		frame = (const uint64_t *)(uintptr_t)frame[0];
	}
	return depth;
}

static __attribute__((noinline)) int libunwind(void **ips, int max)
{
	return unw_backtrace(ips, max);
}

static double now_ns(void)
{
	struct timespec at;

	clock_gettime(CLOCK_MONOTONIC, &at);
	return at.tv_sec * 1e9 + at.tv_nsec;
}

static volatile int sink;

static void measure(const char *name, int (*walk)(void **, int), int want)
{
	void *ips[256];
	int depth = walk(ips, 256);
	double start = now_ns();

	for (int i = 0; i < LOOPS; i++)
		sink += walk(ips, 256);
	printf("  %-15s %3d frames  %7.1f ns\n", name, depth, (now_ns() - start) / LOOPS);
	(void)want;
}

__attribute__((noinline)) static void at_depth(int left, int want)
{
	if (left > 0) {
		at_depth(left - 1, want);
		sink = sink + 1;
		return;
	}
	printf("%d frames deep:\n", want);
	measure("frame pointers", frame_pointers, want);
	measure("ours (CFI)", ours, want);
	measure("ours, cached", ours_cached, want);
	measure("libunwind", libunwind, want);
}

int main(int argc, char **argv)
{
	lks_stack_bounds_init();
	lks_pc_cache_init();
	for (int i = 1; i < argc; i++) {
		int want = atoi(argv[i]);

		/* main, __libc_start_call_main, __libc_start_main, _start: 4 */
		at_depth(want > 5 ? want - 5 : 0, want);
	}
	return 0;
}
