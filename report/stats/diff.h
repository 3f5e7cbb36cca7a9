/* SPDX-License-Identifier: MIT */
/* Two snapshots' statistics compared, as tracemalloc's compare_to. */
#ifndef LEAKSCOPE_DIFF_H
#define LEAKSCOPE_DIFF_H

#include "stats.h"

/* Every key of either table, with the new size and count and their change
 * (a vanished site has size and count 0, a new one diffs from 0), sorted by
 * |size_diff|, size, |count_diff|, count, largest first, then by key.
 * Handles the same way, by count. Both tables must be grouped alike and
 * outlive `out`. 0 or -ENOMEM. */
int diff_tables(const struct stats_table *old_table,
		const struct stats_table *new_table, struct stats_table *out);

#endif
