/* SPDX-License-Identifier: MIT */
/* The growth gate (--between A,B with --max-growth, --max-total-growth):
 * how the live memory of each process grew, per site and in all, from its
 * snapshot labelled A to its snapshot labelled B, so that a loop run N
 * times is a leak test even when everything stays reachable. */
#ifndef LEAKSCOPE_GROWTH_H
#define LEAKSCOPE_GROWTH_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "siteid.h"
#include "suppress.h"

/* One site of one process that grew from A to B. */
struct growth_site {
	const struct model_pair *pair;
	struct site_id id;
	const struct model_stack *stack; /* in B */
	uint64_t from_bytes, from_blocks, to_bytes, to_blocks;
	uint64_t growth;                 /* to_bytes - from_bytes, above 0 */
	bool over;                       /* above --max-growth */
	uint64_t fingerprint;            /* SARIF */
};

/* One process's live memory from A to B, its suppressed sites left out. */
struct growth_process {
	const struct model_pair *pair;
	uint64_t from_bytes, to_bytes;
	int64_t growth;
	bool over;                       /* above --max-total-growth */
	const struct growth_site *largest; /* the site that grew most, or NULL */
};

struct growth_verdict {
	bool wanted;               /* --between was given */
	struct growth_site *sites; /* every site that grew, most first */
	size_t site_count, site_capacity;
	struct growth_process *processes;
	size_t process_count;
	size_t over_sites, over_processes;
	bool no_pair;              /* no judged process has both snapshots */
	bool failed;
};

/* Judges the report's pairs (the first `judged_pid`'s only when it is not
 * 0: --started-only) with the limits, the user's leak suppressions left
 * out. 0 or -ENOMEM. */
int growth_judge(struct growth_verdict *verdict, const struct model_report *report,
		 const struct suppress_rules *rules, uint64_t max_growth,
		 uint64_t max_total_growth, int32_t judged_pid);
void growth_verdict_free(struct growth_verdict *verdict);

#endif
