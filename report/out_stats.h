/* SPDX-License-Identifier: MIT */
/* Statistics, diffs and timelines printed: text (out_stats_text.c), JSON
 * (out_stats_json.c, documented in docs/DIFF.md) and an SVG chart
 * (out_svg.c). Each returns 0 or a negative errno. */
#ifndef LEAKSCOPE_OUT_STATS_H
#define LEAKSCOPE_OUT_STATS_H

#include <stdio.h>

#include "stats.h"

/* One table and the snapshots it comes from: `old_proc` is set for a diff,
 * NULL for one snapshot's statistics. */
struct stats_view {
	const struct stats_table *table;
	const struct model_process *old_proc;
	const struct model_process *proc;
};

/* Where an entry's memory was allocated, in a line, cut to `size`. */
void out_stats_where(const struct stats_entry *e, char *text, size_t size);

int out_stats_text(FILE *out, const struct stats_view *views, size_t count);
int out_stats_json(FILE *out, const struct stats_view *views, size_t count);

struct timeline;
int out_timeline_text(FILE *out, const struct timeline *timeline);
int out_timeline_json(FILE *out, const struct timeline *timeline);
/* The chart (out_svg.c): totals and the growing sites over time. */
int out_timeline_svg(FILE *out, const struct timeline *timeline);

#endif
