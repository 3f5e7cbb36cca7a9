/* SPDX-License-Identifier: MIT */
/* A series of snapshots of one process (the interval option): totals at
 * each, and the sites that grew most between the first and the last one
 * taken while the program ran (not its exit snapshot). */
#ifndef LEAKSCOPE_TIMELINE_H
#define LEAKSCOPE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "stats.h"

struct timeline_point {
	const struct model_process *proc; /* seq, label, times */
	uint64_t bytes, blocks, handles;   /* after the filters */
};

struct timeline_site {
	/* from the first snapshot to growth_end: size_diff, stack */
	const struct stats_entry *growth;
	double bytes_per_minute;
	uint64_t *sizes;                  /* bytes at each point */
};

struct timeline {
	struct timeline_point *points; /* by seq */
	size_t count;
	struct timeline_site *sites;   /* most growth first, only growing ones */
	size_t site_count;
	struct stats_left_out left_out; /* growing sites past --top */
	size_t growth_end; /* the last point taken while the program ran */
	enum stats_key key;
	size_t other_snapshots; /* of other processes, left out */
	/* what the points and sites refer to */
	struct model_process **procs;
	struct stats_table *tables;
	struct stats_table growth;
};

/* The snapshots in `dir` of the process with the most of them (the first
 * started on a tie), at least two. --top caps the growing sites (default
 * ten, 0: all). */
int timeline_build(const char *dir, const struct stats_options *opts,
		   struct timeline *out, struct errmsg *err);
void timeline_free(struct timeline *timeline);

#endif
