/* SPDX-License-Identifier: MIT */
/* The threads' part of the scan's roots: each stopped thread's live stack,
 * registers and TLS pointer, and the stacks glibc keeps of finished threads
 * (roots.c reads /proc/thread-self/maps and gives each mapping here). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "heapnote.h"
#include "reach.h"
#include "roots.h"
#include "sys.h"

#define RED_ZONE 128             /* below sp, the x86-64 ABI lets a leaf keep data */
#define TCB_SEARCH (64u << 10)   /* from a thread stack's top down to its TCB */

/* Of the answered threads whose stack pointer lies in [from, hi), the
 * one with the lowest (a mapping holds few stacks: no array, which the
 * exit path's small stack might not have room for); -1 if none. */
static int64_t lowest_thread_in(const struct reach *reach, uint64_t from, uint64_t hi)
{
	int64_t lowest = -1;

	for (uint32_t i = 0; i < reach->thread_count; i++) {
		const struct reach_thread *t = &reach->threads[i];

		if (t->answered && t->sp >= from && t->sp < hi &&
		    (lowest < 0 || t->sp < reach->threads[lowest].sp))
			lowest = i;
	}
	return lowest;
}

static uint64_t live_from(const struct reach_thread *t, uint64_t lo)
{
	uint64_t from = t->exact_sp ? t->sp : t->sp - RED_ZONE;

	return from < lo ? lo : from;
}

/* glibc lays a thread's descriptor (its thread pointer, x86-64) at the
 * top of the stack block it maps, the guard page at its bottom. */
static bool tcb_on_top(const struct reach_thread *t, const struct map_line *map)
{
	return t->tp >= map->lo && t->tp < map->hi && map->hi - t->tp <= reach_page_size();
}

/* Each stopped thread's stack from its stack pointer up. One mapping may
 * hold several stacks and other data (the kernel merges adjacent stacks
 * mapped alike, as glibc's stacks without a guard page, or any two before
 * Linux 6.7 marked MAP_STACK mappings VM_NOHUGEPAGE; a program carves
 * stacks out of a region of its own): each thread's part runs up to the
 * next one's stack pointer, the last to the mapping's end. Below the
 * lowest lies dead stack only when the mapping is one stack alone: the
 * main thread's [stack], or a thread's whose descriptor tops it with an
 * inaccessible mapping right below (its guard; a thread heap's reserve
 * may lie below any mapping). Otherwise that part is read as the
 * program's memory: a stale word there may hide a leak, a skipped word
 * would make one up. All of the main thread's [stack] is dead once it
 * called pthread_exit: its frames were unwound, and what stays there
 * (arguments, environment, auxiliary vector) is no heap memory's. */
static void add_thread_roots(struct reach *reach, const struct map_line *map,
                             bool guard_below)
{
	int64_t lowest = lowest_thread_in(reach, map->lo, map->hi);
	int64_t index = lowest;
	uint64_t taken_from;  /* the roots' start, or the dead stack's */

	if (lowest < 0 && map->main_stack && reach->main_exited)
		reach_exclude(reach, map->lo, map->hi);
	if (lowest < 0)
		return;
	taken_from = live_from(&reach->threads[lowest], map->lo);
	while (index >= 0) {
		int64_t next = lowest_thread_in(reach, reach->threads[index].sp + 1, map->hi);
		uint64_t hi = next < 0 ? map->hi : live_from(&reach->threads[next], map->lo);

		reach_add_root(reach, live_from(&reach->threads[index], map->lo), hi, LKS_RK_STACK,
		         (uint32_t)index);
		if (next >= 0)
			guard_below = false;  /* more than one stack */
		index = next;
	}
	if (map->main_stack || (guard_below && tcb_on_top(&reach->threads[lowest], map)))
		taken_from = map->lo;
	reach_exclude(reach, taken_from, map->hi);
}

void reach_add_thread_words(struct reach *reach)
{
	for (uint32_t i = 0; i < reach->thread_count; i++) {
		const struct reach_thread *t = &reach->threads[i];
		uint64_t regs = (uint64_t)(uintptr_t)t->regs;

		if (!t->answered)
			continue;
		reach_add_root(reach, regs, regs + sizeof(t->regs), LKS_RK_REGISTER, i);
#if defined(__x86_64__)
		reach_add_root(reach, t->tp + 8, t->tp + 16, LKS_RK_TLS, i); /* tcbhead_t.dtv */
#elif defined(__aarch64__)
		reach_add_root(reach, t->tp, t->tp + 8, LKS_RK_TLS, i);
#endif
	}
}

static uint64_t main_thread_tp; /* set once, before main runs */

void lks_reach_note_main_thread(void)
{
	main_thread_tp = (uint64_t)(uintptr_t)__builtin_thread_pointer();
}

/* glibc keeps the stacks of finished threads for reuse, full of their old
 * words. Such a stack ends with a thread control block (x86-64: its first
 * and third words point at itself) that no live thread has as its thread
 * pointer. The main thread's lies in the loader's memory, never in a
 * thread stack, and stays the main thread's after it called pthread_exit.
 * Only trusted when every thread answered, so all are known. That TCB's
 * dtv is still glibc's (freed when the stack is reused): a root. */
struct tcb_search {
	const struct reach *reach;
	uint64_t lo;       /* of the search: TCB_SEARCH below the mapping's top */
	uint64_t tcb;      /* the highest found so far, 0 if none */
	bool live;         /* ... and it is a live thread's */
};

/* A run of touched pages (never-touched pages hold no TCB), top down. */
static void find_tcb(uint64_t lo, uint64_t hi, void *arg)
{
	struct tcb_search *search = arg;

#if defined(__x86_64__)
	lo = lo > search->lo ? lo : search->lo;
	for (uint64_t at = (hi - 24) & ~7ull; hi >= 24 && at >= lo; at -= 8) {
		const uint64_t *word = (const uint64_t *)(uintptr_t)at;

		if (word[0] != at || word[2] != at)
			continue;
		search->tcb = at;
		search->live = at == main_thread_tp;
		for (uint32_t i = 0; i < search->reach->thread_count; i++)
			search->live |= search->reach->threads[i].answered &&
			                search->reach->threads[i].tp == at;
		return;
	}
#endif
}

bool reach_dead_thread_stack(struct reach *reach, const struct map_line *map,
                              int pagemap_fd)
{
	struct tcb_search search = { reach, 0, 0, false };

	if (reach->missed_threads)
		return false;
	search.lo = map->hi - map->lo > TCB_SEARCH ? map->hi - TCB_SEARCH : map->lo;
	lks_touched_foreach(pagemap_fd, search.lo, map->hi, find_tcb, &search);
	if (!search.tcb || search.live)
		return false;
	reach_add_root(reach, search.tcb + 8, search.tcb + 16, LKS_RK_TLS, LKS_THREAD_FINISHED);
	return true;
}

void reach_add_stacks(struct reach *reach, const char *text, ssize_t len)
{
	struct map_line map, below = { .lo = 0 };

	for (const char *line = text; line < text + len; line += strlen(line) + 1) {
		reach_parse_map_line(line, &map);
		if (map.readable && map.writable && map.anonymous)
			add_thread_roots(reach, &map, below.hi == map.lo && below.inaccessible);
		below = map;
	}
}
