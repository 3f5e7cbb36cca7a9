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
	size_t top;               /* --top N: entries listed; 0: every entry */
	bool top_given;           /* else each listing has its own default */
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

/* What a listing shows of one list: the first `top` entries (0: every
 * one), and, for a diff with a limit, only entries that changed: the sites
 * that did not are most of a diff and say nothing of its growth. The
 * table itself keeps every entry. */
struct stats_listing {
	size_t top;
	bool changed_only;
};

/* What a listing left out of one list. */
struct stats_left_out {
	size_t entries;                /* past the limit (of a diff: changed ones) */
	size_t unchanged;              /* of a diff: entries with no change */
	uint64_t size, count;          /* of the `entries` left out */
	int64_t size_diff, count_diff; /* of the `entries` left out */
};

/* Asked of each entry of a list in order: whether the listing shows it;
 * `listed` counts those it showed, `left` sums up the others. */
bool stats_listed(const struct stats_listing *listing, const struct stats_entry *e,
		  size_t *listed, struct stats_left_out *left);

/* "traceback", "lineno", ... and back; parse returns 0 or -EINVAL. */
const char *stats_key_name(enum stats_key key);
int stats_key_parse(const char *name, enum stats_key *out);

#endif
