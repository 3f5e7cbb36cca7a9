/* SPDX-License-Identifier: MIT */
/* Leak classes at exit: a conservative mark over the live blocks, as
 * LeakSanitizer and Valgrind do. Roots (roots.c) reach blocks through start
 * pointers (reachable) or only interior ones (possible); of the blocks left,
 * each not reached from another lost block is definite and carries the
 * blocks it alone reaches as indirect. Every memory read happens while the
 * other threads are held still (stopworld.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "reach.h"

#define SAFE_CHUNK 4096 /* bytes copied at a time when a thread still runs */

enum mode { MODE_REACH, MODE_POSSIBLE, MODE_LOST };

/* Blocks outside readable mappings (a free we never saw, of memory since
 * unmapped) are classified but never read. */
static void mark_unreadable(struct reach *reach)
{
	uint32_t map = 0;

	for (uint64_t i = 0; i < reach->count; i++) {
		const struct reach_node *node = &reach->nodes[i];
		uint64_t end = node->addr + NODE_SIZE(node);

		while (map < reach->readable_count && reach->readable[map].hi <= node->addr)
			map++;
		/* readable mappings are merged when adjacent (roots.c) */
		if (map == reach->readable_count || reach->readable[map].lo > node->addr ||
		    reach->readable[map].hi < end)
			reach->state[i] |= STATE_NOSCAN;
	}
}

/* ---- marking -------------------------------------------------------------- */

static void push(struct reach *reach, uint64_t index)
{
	reach->stack[reach->stack_len++] = (uint32_t)index;
}

/* glibc malloc's own pointers (the arena's top, its free lists) point at
 * chunk headers, 16-byte aligned; the next chunk's header overlaps the last
 * 8 bytes of a block whose size is not a multiple of 16. Such a word is not
 * the program's pointer into the block: it must not make it "possible". */
static inline bool chunk_header(const struct reach_node *node, uint64_t value)
{
	return (value & 15) == 0 && value + 8 >= node->addr + NODE_SIZE(node);
}

/* What one word found in scanned memory does. `where` is its address,
 * `leader` the lost block being followed (MODE_LOST). */
static inline void visit_word(struct reach *reach, enum mode mode, uint64_t where,
                              uint64_t value, bool interior_ok, uint64_t leader)
{
	int64_t found = reach_find(reach, value);
	uint8_t heuristic = LKS_HEUR_NONE;
	uint8_t *state;
	uint8_t klass;

	if (found < 0) {
		found = reach_empty_array_end(reach, value);
		if (found < 0)
			return;
		heuristic = LKS_HEUR_EMPTY_ARRAY;
	}
	state = &reach->state[found];
	klass = *state & STATE_CLASS;
	if (mode == MODE_REACH) {
		if (klass) {
			/* a start pointer after all: reachable, no heuristic needed */
			if (value == reach->nodes[found].addr)
				*state &= (uint8_t)~STATE_HEURISTIC;
			return;
		}
		if (!heuristic && value != reach->nodes[found].addr && !interior_ok) {
			if (chunk_header(&reach->nodes[found], value))
				return;
			if (!(*state & STATE_NOSCAN))
				heuristic = reach_heuristic(reach, &reach->nodes[found], value);
			if (!heuristic) {
				if (!(*state & STATE_INTERIOR))
					reach->nodes[found].via = where;
				*state |= STATE_INTERIOR;
				return;
			}
		}
		*state = (uint8_t)((*state & STATE_NOSCAN) | LKS_CLASS_REACHABLE |
		                   heuristic << STATE_HEURISTIC_SHIFT);
	} else if (mode == MODE_POSSIBLE) {
		if (klass)
			return;
		*state |= LKS_CLASS_POSSIBLE;
	} else {
		if (klass == LKS_CLASS_DEFINITE && (uint64_t)found != leader) {
			/* an earlier leader is part of this loss: its blocks follow it */
			*state = (uint8_t)((*state & ~STATE_CLASS) | LKS_CLASS_INDIRECT);
			reach->nodes[found].via = leader;
			return;
		}
		if (klass)
			return;
		*state |= LKS_CLASS_INDIRECT;
		reach->nodes[found].via = leader;
		push(reach, (uint64_t)found);
		return;
	}
	reach->nodes[found].via = where;
	push(reach, (uint64_t)found);
}

/* A word into one of the program's open mappings, found in memory that is
 * not lost: that mapping is still held (mapref.c). */
static inline void check_mapping(struct reach *reach, enum mode mode, uint64_t where,
                                 uint64_t value)
{
	if (value >= reach->maps_lo && value < reach->maps_hi && mode != MODE_LOST)
		reach_note_mapping(reach, where, value);
}

static void scan_words(struct reach *reach, enum mode mode, const uint64_t *words,
                       size_t count, uint64_t where, bool interior_ok, uint64_t leader)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t value = words[i];

		if (value >= reach->lowest && value < reach->highest)
			visit_word(reach, mode, where + i * 8, value, interior_ok, leader);
		check_mapping(reach, mode, where + i * 8, value);
	}
}

/* A stack is read from its outermost frame in: of several copies of a
 * pointer, a live variable of a caller comes before a stale word of a
 * frame beneath it, and the retainer chain names that caller. */
static void scan_words_down(struct reach *reach, const uint64_t *words, size_t count,
                            uint64_t where)
{
	for (size_t i = count; i-- > 0; ) {
		uint64_t value = words[i];

		if (value >= reach->lowest && value < reach->highest)
			visit_word(reach, MODE_REACH, where + i * 8, value, false, 0);
		check_mapping(reach, MODE_REACH, where + i * 8, value);
	}
}

/* When a thread did not stop, memory may be unmapped under us: copy it
 * through the kernel, which fails instead of faulting. */
static void scan_copied(struct reach *reach, enum mode mode, uint64_t lo, uint64_t hi,
                        bool interior_ok, uint64_t leader)
{
	uint64_t buffer[SAFE_CHUNK / 8];

	while (lo < hi) {
		size_t len = hi - lo < SAFE_CHUNK ? hi - lo : SAFE_CHUNK;
		struct iovec local = { buffer, len }, remote = { (void *)(uintptr_t)lo, len };
		ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

		if (got <= 0)
			return;
		scan_words(reach, mode, buffer, (size_t)got / 8, lo, interior_ok, leader);
		lo += (uint64_t)got & ~7ull;
		if ((size_t)got < len)
			return;
	}
}

static void scan_memory(struct reach *reach, enum mode mode, uint64_t lo, uint64_t hi,
                        bool interior_ok, bool downward, uint64_t leader)
{
	lo = (lo + 7) & ~7ull;
	hi &= ~7ull;
	if (lo >= hi)
		return;
	reach->scanned_bytes += hi - lo;
	if (reach->missed_threads)
		scan_copied(reach, mode, lo, hi, interior_ok, leader);
	else if (mode == MODE_REACH && downward)
		scan_words_down(reach, (const uint64_t *)(uintptr_t)lo, (hi - lo) / 8, lo);
	else
		scan_words(reach, mode, (const uint64_t *)(uintptr_t)lo, (hi - lo) / 8, lo,
		           interior_ok, leader);
}

static void flood(struct reach *reach, enum mode mode, uint64_t leader)
{
	while (reach->stack_len) {
		uint64_t index = reach->stack[--reach->stack_len];
		const struct reach_node *node = &reach->nodes[index];

		if (!(reach->state[index] & STATE_NOSCAN))
			scan_memory(reach, mode, node->addr, node->addr + NODE_SIZE(node),
			            false, false, leader);
	}
}

/* Roots in their order (globals first), each followed to the end before the
 * next: the first chain found, kept in `via`, is the one from a name. */
static void mark_from_roots(struct reach *reach)
{
	for (uint32_t i = 0; i < reach->root_count; i++) {
		const struct reach_range *root = &reach->roots[i];

		/* glibc keeps the dtv pointer one entry past the start of its block */
		scan_memory(reach, MODE_REACH, root->lo, root->hi, root->kind == LKS_RK_TLS,
		            root->kind == LKS_RK_STACK, 0);
		flood(reach, MODE_REACH, 0);
	}
}

/* Reached only through interior pointers, and whatever those reach. */
static void mark_possible(struct reach *reach)
{
	for (uint64_t i = 0; i < reach->count; i++)
		if ((reach->state[i] & (STATE_CLASS | STATE_INTERIOR)) == STATE_INTERIOR) {
			reach->state[i] |= LKS_CLASS_POSSIBLE;
			push(reach, i);
		}
	flood(reach, MODE_POSSIBLE, 0);
}

/* Each lost block not yet part of another loss leads one: everything it
 * reaches that nothing else did is its indirect memory. A leader found later
 * from another lost block joins that one (a cycle ends with one leader). */
static void mark_lost(struct lks_reach *scan)
{
	struct reach *reach = &scan->core;

	for (uint64_t i = 0; i < reach->count; i++) {
		if (reach->state[i] & STATE_CLASS)
			continue;
		reach->state[i] |= LKS_CLASS_DEFINITE;
		reach->nodes[i].via = i;
		push(reach, i);
		flood(reach, MODE_LOST, i);
	}
	for (uint64_t i = 0; i < reach->count; i++) {
		uint64_t leader = i;

		if ((reach->state[i] & STATE_CLASS) != LKS_CLASS_INDIRECT)
			continue;
		while ((reach->state[leader] & STATE_CLASS) == LKS_CLASS_INDIRECT)
			leader = reach->nodes[leader].via;
		reach->nodes[i].via = leader;  /* shortens later walks */
		scan->totals[leader].blocks++;
		scan->totals[leader].bytes += NODE_SIZE(&reach->nodes[i]);
	}
}

/* ---- the scan ------------------------------------------------------------- */

static void unmap_all(struct lks_reach *scan)
{
	struct reach *reach = &scan->core;

	lks_unmap(reach->nodes, scan->nodes_bytes);
	lks_unmap(reach->state, scan->nodes_bytes / sizeof(struct reach_node));
	lks_unmap(reach->stack, scan->nodes_bytes / sizeof(struct reach_node) * 4);
	lks_unmap(scan->totals, scan->totals_bytes);
	reach_free_index(scan);
	lks_unmap(reach->roots, MAX_ROOTS * sizeof(struct reach_range));
	lks_unmap(reach->maps, reach->maps_bytes);
	lks_unmap(scan, sizeof(*scan));
}

/* Registers the ABI keeps across calls: what the exiting thread's callers
 * hold there is theirs; the others are scratch of the exit path (ours). */
static void note_callee_saved(struct reach_thread *self)
{
	ucontext_t context;

	if (getcontext(&context) != 0)
		return;
#if defined(__x86_64__)
	static const int kept[] = { REG_RBX, REG_RBP, REG_R12, REG_R13, REG_R14, REG_R15 };

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		self->regs[i] = (uint64_t)context.uc_mcontext.gregs[kept[i]];
#elif defined(__aarch64__)
	for (int i = 19; i <= 29; i++)  /* x19..x29 */
		self->regs[i - 19] = context.uc_mcontext.regs[i];
#endif
}

/* The exiting thread: its stack from `from` up, where its live frames are. */
static void note_self(struct reach_thread *self, uint64_t from, bool exact)
{
	self->tid = gettid();
	self->sp = from;
	self->exact_sp = exact;
	self->answered = 1;
	note_callee_saved(self);
	self->tp = (uint64_t)(uintptr_t)__builtin_thread_pointer();
}

/* No scan: every block stays unfreed, and the report only says "not
 * freed". Said unless asked for (reach=0): a sandbox that refuses read,
 * say, must not pass for a program whose leaks are merely unclassified.
 * error: errno of the call that failed, 0 for none. */
static struct lks_reach *skipped(const char *why, int error)
{
	struct lks_line line = { .len = 0 };

	if (lks_opt.reach || lks_opt.verbose) {
		lks_line_str(&line, "no reachability scan, leaks are not classified: ");
		lks_line_str(&line, why);
		if (error) {
			lks_line_str(&line, ": ");
			lks_line_str(&line, strerrordesc_np(error));
		}
		lks_say(&line);
	}
	return NULL;
}

__attribute__((noinline)) struct lks_reach *lks_reach_scan(void)
{
	struct lks_reach *scan;
	struct reach *reach;
	uint64_t from;
	bool exact;

	if (!lks_opt.reach)
		return skipped("reach=0", 0);
	if (lks_arena_unlisted())  /* a region of ours we could not list would be a root */
		return skipped("a region of the shim's own could not be listed", 0);
	scan = lks_map(sizeof(*scan));
	if (!scan)
		return skipped("no memory", 0);
	reach = &scan->core;
	reach->roots = lks_map(MAX_ROOTS * sizeof(struct reach_range));
	reach->threads = reach_thread_slots();
	if (!reach->roots || reach_collect_modules(reach) < 0) {
		unmap_all(scan);
		return skipped("no memory", 0);
	}
	/* the program's frames on the exiting thread's stack; the scan itself
	 * runs on a stack of the shim's own (ownstack.c) */
	from = reach_exiting_stack_from((uint64_t)(uintptr_t)__builtin_frame_address(0), &exact);
	note_self(&reach->threads[0], from, exact);
	reach->thread_count = 1;
	reach_stop_threads(reach);
	reach_collect_mappings(reach);
	if (reach_collect_blocks(scan) < 0) {
		lks_reach_end(scan);
		return skipped("no memory", 0);
	}
	if (reach_collect_maps(reach) < 0) {
		int error = errno;

		lks_reach_end(scan);
		return skipped("/proc/self/maps could not be read", error);
	}
	if (reach->overflow) {
		lks_reach_end(scan);
		return skipped("more roots or mappings than its tables hold", 0);
	}
	reach_build_index(scan);
	mark_unreadable(reach);
	mark_from_roots(reach);
	mark_possible(reach);
	mark_lost(scan);
	return scan;
}

/* Definite, indirect or possible: not reached from a root by a start pointer */
static bool is_lost(uint8_t state)
{
	uint8_t klass = state & STATE_CLASS;

	return klass == LKS_CLASS_DEFINITE || klass == LKS_CLASS_INDIRECT ||
	       klass == LKS_CLASS_POSSIBLE;
}

/* Each lost block is asked about alone, by its own content: a block of the
 * program's that a runtime's block happens to reach stays the program's.
 * Only memory read in place is asked about: with a thread not held, none. */
void lks_reach_set_apart(struct lks_reach *scan, lks_reach_apart *is_apart)
{
	struct reach *reach = &scan->core;

	if (reach->missed_threads)
		return;
	for (uint64_t i = 0; i < reach->count; i++) {
		const struct reach_node *node = &reach->nodes[i];

		if (is_lost(reach->state[i]) && !(reach->state[i] & STATE_NOSCAN) &&
		    is_apart((const void *)(uintptr_t)node->addr, NODE_SIZE(node)))
			reach->state[i] |= STATE_APART;
	}
}

void lks_reach_foreach(const struct lks_reach *scan, lks_reach_visit *visit, void *ctx)
{
	const struct reach *reach = &scan->core;

	for (uint64_t i = 0; i < reach->count; i++) {
		const struct reach_node *node = &reach->nodes[i];
		struct lks_block block = { node->addr, NODE_SIZE(node), node->trace,
		                           node->seq, (uint8_t)(node->size_family >> 56) };
		uint8_t state = reach->state[i];
		uint8_t klass = state & STATE_CLASS;
		bool apart = is_lost(state) && (state & STATE_APART) == STATE_APART;
		uint8_t heuristic = is_lost(state) ? LKS_HEUR_NONE :
		                    (state & STATE_HEURISTIC) >> STATE_HEURISTIC_SHIFT;
		struct lost_total none = { 0, 0 };
		const struct lost_total *lost =
			klass == LKS_CLASS_DEFINITE ? &scan->totals[i] : &none;

		visit(&block, klass, heuristic, apart, lost->blocks, lost->bytes, ctx);
	}
}

uint64_t lks_reach_scanned_bytes(const struct lks_reach *scan)
{
	return scan->core.scanned_bytes;
}

uint64_t lks_reach_missed_threads(const struct lks_reach *scan)
{
	return scan->core.missed_threads;
}

uint64_t lks_reach_unreadable_root_bytes(const struct lks_reach *scan)
{
	return scan->core.unreadable_root_bytes;
}

void lks_reach_end(struct lks_reach *scan)
{
	if (!scan)
		return;
	reach_resume_threads(&scan->core);
	lks_unmap(scan->core.readable, scan->core.mapped_bytes);
	unmap_all(scan);
}
