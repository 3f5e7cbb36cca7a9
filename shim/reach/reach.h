/* SPDX-License-Identifier: MIT */
/* Shared by the files of the reachability scan (reach.c: marking and the
 * classes, blocks.c: the sorted block array, roots.c: where roots are,
 * stacks.c: the threads' roots,
 * stopworld.c and ptrace_hold.c: other threads held still, heaps.c: glibc's
 * thread heaps, behalf.c: blocks
 * the C library allocated for the shim, exitframe.c: the
 * exiting thread's live stack, retain.c: retainer chains, mapref.c: the
 * program's mappings still pointed at).
 * Nothing here is used outside them. */
#ifndef LEAKSCOPE_REACH_H
#define LEAKSCOPE_REACH_H

#include "shim.h"

/* One live block, sorted by address. `via` is the address of the word that
 * first reached it (a root word or a word inside another block), or for
 * lost blocks the index of the block whose loss it is part of. */
struct reach_node {
	uint64_t addr;
	uint64_t size_family; /* size in the low 56 bits, family above */
	uint64_t via;
	uint32_t trace;
	uint32_t seq;
};

#define NODE_SIZE(node) ((node)->size_family & ((1ull << 56) - 1))

/* node state: the class (enum lks_class) in the low bits, flags above, and
 * for a reachable block the heuristic that alone reached it (enum
 * lks_heuristic) in the top bits */
#define STATE_CLASS 0x07u
#define STATE_INTERIOR 0x08u /* an interior pointer from reached memory */
#define STATE_NOSCAN 0x10u   /* not in readable memory: never read */
#define STATE_HEURISTIC_SHIFT 5
#define STATE_HEURISTIC (7u << STATE_HEURISTIC_SHIFT)
/* on a lost block, whose heuristic bits are free: counted apart, the
 * runtime's own (lks_reach_set_apart) */
#define STATE_APART (7u << STATE_HEURISTIC_SHIFT)

#define MAX_THREADS 1024
#define MAX_ROOTS 8192
#define THREAD_WORDS 40      /* saved registers per thread */

struct reach_thread {
	int32_t tid;
	uint32_t answered;   /* atomic: 1 once its context is saved */
	uint32_t blocks_stop; /* blocks the stop signal: left to ptrace_hold.c */
	uint32_t exact_sp;   /* sp is a caller's at a call: no red zone below */
	uint64_t sp;         /* interrupted stack pointer */
	uint64_t tp;         /* thread pointer: the TCB, whose dtv leads to TLS */
	uint64_t regs[THREAD_WORDS];
};

struct reach_range {
	uint64_t lo, hi;
	uint32_t kind;       /* LKS_RK_* */
	uint32_t thread;     /* stacks and registers: index in threads[] */
};

/* One of the program's own open mappings (mapref.c). */
struct reach_mapping {
	uint64_t lo, hi;
	uint32_t referenced; /* a word outside it, not lost, points into it */
};

struct reach {
	struct reach_node *nodes;
	uint8_t *state;
	uint64_t count;
	uint64_t lowest, highest; /* [lowest, highest): every block inside */
	uint32_t *stack;          /* marking work list, one entry per block */
	uint64_t stack_len;
	uint64_t scanned_bytes;

	struct reach_range *roots; /* in scan order: globals first */
	uint32_t root_count;
	uint64_t unreadable_root_bytes; /* of globals, not readable at exit */
	struct reach_range *readable; /* readable mappings, by address */
	uint32_t readable_count;
	struct reach_range *code;     /* executable segments of modules */
	uint32_t code_count;
	struct reach_range *images;   /* every loaded segment of modules */
	uint32_t image_count;
	uint32_t excluded_count;      /* never roots: modules, ours, stacks taken */
	bool overflow;                /* a table above was full: no classes */

	struct reach_mapping *maps;   /* by address; none when too many */
	uint32_t map_count;
	uint64_t maps_lo, maps_hi;    /* [maps_lo, maps_hi): every mapping inside */
	size_t maps_bytes;
	uint64_t loader_lo, loader_hi; /* the dynamic loader's writable segment, to its page end */

	struct reach_thread *threads; /* [0] is the scanning thread */
	uint32_t thread_count;
	uint32_t missed_threads;
	bool main_exited;             /* the main thread called pthread_exit */
	uint64_t mapped_bytes;        /* of readable[], code[] and the excluded
	                               * ranges: one mapping (roots.c) */
};

/* Defines `static void name(type *items, uint64_t count)`, sorting by the
 * field `key` ascending: an insertion sort, as the exit scan may call no
 * libc sort (qsort may allocate) and sorts only short or nearly sorted
 * arrays. shim/python/pytypes.c has one more of its own. */
#define REACH_DEFINE_SORT(name, type, key)                                      \
	static void name(type *items, uint64_t count)                           \
	{                                                                       \
		for (uint64_t i = 1; i < count; i++) {                          \
			type moving = items[i];                                 \
			uint64_t at = i;                                        \
                                                                                \
			for (; at > 0 && items[at - 1].key > moving.key; at--)  \
				items[at] = items[at - 1];                      \
			items[at] = moving;                                     \
		}                                                               \
	}

#define REACH_INDEXED_GRANULES 64 /* more granules: searched without pages */

struct lost_total {
	uint64_t blocks, bytes;
};

struct lks_reach {
	struct reach core;
	struct lost_total *totals; /* by leader index; reserved, mostly untouched */
	uint32_t **granules;       /* page index by 1 GiB granule (blocks.c) */
	uint32_t indexed[REACH_INDEXED_GRANULES]; /* granules it has pages for */
	uint32_t indexed_count;
	size_t nodes_bytes, totals_bytes;
};

/* blocks.c: 0 or -1; then the index (optional: lookups work without) */
int reach_collect_blocks(struct lks_reach *scan);
void reach_build_index(struct lks_reach *scan);
void reach_free_index(struct lks_reach *scan);
int64_t reach_find(const struct reach *reach, uint64_t addr); /* block index or -1 */
uint64_t reach_first_from(const struct reach *reach, uint64_t addr); /* or count */

/* heuristics.c: the lks_heuristic by which an interior pointer `value`
 * into node is one made on purpose (LKS_HEUR_NONE: none); the new[]
 * block of no elements that `value` is one past the end of, or -1 */
uint8_t reach_heuristic(const struct reach *reach, const struct reach_node *node,
                        uint64_t value);
int64_t reach_empty_array_end(const struct reach *reach, uint64_t value);

/* roots.c: fills readable, code, images and roots; 0 or -1 (collect_maps:
 * with errno when /proc/self/maps could not be read, EFBIG: too large) */
int reach_collect_modules(struct reach *reach);
int reach_collect_maps(struct reach *reach);

/* heaps.c: glibc's thread heaps. Between begin and foreach, each
 * read-write anonymous mapping [lo, hi) whose next mapping is inaccessible
 * up to none_end (else none_end == hi); foreach gives the proven heaps. */
void reach_heaps_begin(void);
void reach_heaps_in(const struct reach *reach, uint64_t lo, uint64_t hi, uint64_t none_end);
void reach_heaps_foreach(void (*visit)(uint64_t start, uint64_t bytes, void *ctx), void *ctx);

/* mapref.c: the open mappings, then which of them words point into */
void reach_collect_mappings(struct reach *reach);
void reach_note_mapping(struct reach *reach, uint64_t where, uint64_t value);

/* behalf.c: the blocks the C library allocated while the shim worked */
void reach_behalf_foreach(void (*visit)(uint64_t addr, uint64_t size, void *ctx), void *ctx);

/* exitframe.c: where the exiting thread's stack is read from, and whether
 * that is a caller's stack pointer exactly (no red zone below it to keep) */
uint64_t reach_exiting_stack_from(uint64_t scan_frame, bool *exact);

/* stopworld.c: reach->threads must be reach_thread_slots() */
struct reach_thread *reach_thread_slots(void);
int reach_stop_threads(struct reach *reach);
void reach_resume_threads(struct reach *reach);

/* ptrace_hold.c: holds the threads marked blocks_stop with ptrace, if it may;
 * those it cannot hold stay unanswered */
void reach_trace_threads(struct reach *reach);
void reach_untrace_threads(void);

#endif
