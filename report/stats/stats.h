/* SPDX-License-Identifier: MIT */
/* One snapshot's statistics, as tracemalloc's Snapshot.statistics: live
 * memory and open handles grouped by a symbolic key (traceback, source line,
 * function, file or module of the allocation site), largest first. */
#ifndef LEAKSCOPE_STATS_H
#define LEAKSCOPE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "model.h"

enum stats_key {
	STATS_KEY_LINENO, /* the default */
	STATS_KEY_TRACEBACK,
	STATS_KEY_FUNCTION,
	STATS_KEY_FILE,
	STATS_KEY_MODULE,
	STATS_KEY_PYLINE,      /* the innermost Python file:line (pyframes.c) */
	STATS_KEY_PYTRACEBACK, /* the Python frames only */
	STATS_KEY_PYTYPE,      /* typed Python objects by type (docs/PYTHON.md) */
	STATS_KEY_PYTYPELINE,  /* ... by type and innermost Python line */
};

/* Grouped by a Python object's type: entries are typed objects only. */
static inline bool stats_key_is_pytype(enum stats_key key)
{
	return key == STATS_KEY_PYTYPE || key == STATS_KEY_PYTYPELINE;
}

struct stats_options {
	enum stats_key key;
	bool cumulative;          /* every frame of a stack counts (not traceback) */
	const char **alloc_fns;   /* globs: allocation wrappers besides malloc's family */
	size_t alloc_fn_count, alloc_fn_capacity;
	struct filters filters;
	size_t top;               /* 0: every entry */
};

struct stats_entry {
	/* Symbolic (no runtime address): equal keys name the same site in two
	 * runs of one binary. Handle keys start with the handle type. */
	const char *key;
	uint64_t size, count;     /* memory: bytes, blocks; handles: 0, open */
	int64_t size_diff, count_diff; /* set by diff_tables(), else 0 */
	enum lks_handle_type type;     /* handles only */
	const char *pytype;            /* pytype keys: the objects' type */
	/* The key's frames, innermost first; fields that are not part of the
	 * key are NULL, and address is 0 where the key says nothing of it.
	 * pytype: the innermost Python line (else the native site) of the
	 * stack that made most of them. */
	struct model_stack stack;
};

struct stats_table {
	enum stats_key key;
	bool cumulative;
	struct stats_entry *memory;
	size_t memory_count;
	struct stats_entry *handles;
	size_t handle_count;
	/* Over the sites the filters kept, each block counted once. */
	uint64_t total_size, total_count, total_handles;
	int64_t total_size_diff, total_count_diff, total_handles_diff;
	struct pool *pool;
};

/* The table points into `proc`'s strings and frames: free it first.
 * Entries come sorted by size, then count (handles: by count). 0 or a
 * negative errno. */
int stats_build(const struct model_process *proc, const struct stats_options *opts,
		struct stats_table *out);
void stats_free(struct stats_table *table);
/* Keeps the first `top` entries of each list; 0 keeps all. */
void stats_keep_top(struct stats_table *table, size_t top);

/* "traceback", "lineno", ... and back; parse returns 0 or -EINVAL. */
const char *stats_key_name(enum stats_key key);
int stats_key_parse(const char *name, enum stats_key *out);

#endif
