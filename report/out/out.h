/* SPDX-License-Identifier: MIT */
/* Every output format, one file each. A format takes the report model (and
 * the gate's verdict, statistics tables or a timeline made from it), never
 * the raw file, and returns 0 or a negative errno; emit.c opens and closes
 * what they write to, and finds their write errors on `out`. */
#ifndef LEAKSCOPE_OUT_H
#define LEAKSCOPE_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "gate.h"
#include "grown.h"
#include "model.h"
#include "stats.h"

/* ---- the report (out_text.c, out_json.c) ---- */

struct out_text_options {
	bool colour;
	bool show_reachable; /* list reachable sites, not only their total */
	bool retainers;      /* what keeps the largest reachable sites alive */
	/* possibly lost and still reachable sites listed of each process, the
	 * others summed up (0: all); every site the gate failed on is listed */
	size_t top;
	const struct gate_verdict *verdict; /* NULL: no gate option */
};

int out_text(FILE *out, const struct model_report *report,
	     const struct out_text_options *opts);
/* With the gate's verdict as its "gate" member when `verdict` is not NULL. */
int out_json(FILE *out, const struct model_report *report,
	     const struct gate_verdict *verdict);
/* One retainer chain as `report --retainers` prints it (without colour),
 * and its JSON members "site_bytes", "site_blocks", "suppressed" and
 * "steps". */
void out_text_chain(FILE *out, const struct model_retainer *chain);
struct json;
void out_json_chain(struct json *j, const struct model_retainer *chain);
/* A site with no chain, and why, as `report --retainers` prints it, and
 * its JSON members "site_bytes", "site_blocks", "suppressed", "reason",
 * "walked" and "stack". */
void out_text_unchained(FILE *out, const struct model_unchained *none);
void out_json_unchained(struct json *j, const struct model_unchained *none);

/* ---- the gate's verdict (out_gate.c, out_junit.c, out_sarif.c) ---- */

int out_gate_text(FILE *out, const struct gate_verdict *verdict);
int out_gate_suppressions(FILE *out, const struct gate_verdict *verdict);
int out_junit(FILE *out, const struct model_report *report,
	      const struct gate_verdict *verdict);
int out_sarif(FILE *out, const struct gate_verdict *verdict);
/* One line on a site: "100 bytes in 1 block definitely lost at f (a.c:9)". */
void gate_site_text(const struct gate_site *site, char *buf, size_t size);
/* One line on a site that grew: "9000 bytes (90 blocks) more from "A" to
 * "B" at f (a.c:9)". */
void growth_site_text(const struct gate_verdict *v, const struct growth_site *site,
		      char *buf, size_t size);
/* One line on a process that grew: "live memory grew by 9000 bytes from
 * "A" to "B" (1000 -> 10000)". */
void growth_process_text(const struct gate_verdict *v, const struct growth_process *p,
			 char *buf, size_t size);

/* ---- statistics, diffs and timelines (out_stats_text.c, out_stats_json.c
 * documented in docs/DIFF.md, out_svg.c) ---- */

/* One table and the snapshots it comes from: `old_proc` is set for a diff,
 * NULL for one snapshot's statistics. */
struct stats_view {
	const struct stats_table *table;
	const struct model_process *old_proc;
	const struct model_process *proc;
	/* diff --retainers: the chains to sites that grew (retainers set) */
	bool retainers;
	const struct grown_chain *grown;
	size_t grown_count;
};

/* What a list's entries are, for the line on those left out. */
struct list_nouns {
	const char *one, *many; /* "site", "sites" */
	const char *which;      /* after them: " that changed", or "" */
	const char *unit;       /* of an entry's count; NULL: handles, no bytes */
};

/* "(not listed: 37 more sites that changed, +1200 B and +30 blocks in all,
 * and 3611 that did not; --top 0 lists every one)", or nothing when
 * `left` is empty: a cut list must never read as the whole. The sums are
 * the diffs' when `is_diff`. */
void out_left_out(FILE *out, const struct stats_left_out *left, bool is_diff,
		  const struct list_nouns *nouns);

/* Where an entry's memory was allocated, in a line, cut to `size`. */
void out_stats_where(const struct stats_entry *e, char *text, size_t size);

/* Each view's lists as `listing` says, each cut list closed by a line on
 * what it left out. */
int out_stats_text(FILE *out, const struct stats_view *views, size_t count,
		   const struct stats_listing *listing);
/* out_pytype.c: statistics by Python type, objgraph's way. */
void out_pytype_entry(FILE *out, const struct stats_entry *e, bool is_diff);
void out_pytype_where(const struct stats_entry *e, char *text, size_t size);
void out_pytype_coverage(FILE *out, const struct model_process *p);
int out_stats_json(FILE *out, const struct stats_view *views, size_t count,
		   const struct stats_listing *listing);

struct timeline;
int out_timeline_text(FILE *out, const struct timeline *timeline);
int out_timeline_json(FILE *out, const struct timeline *timeline);
/* The chart: totals and the growing sites over time. */
int out_timeline_svg(FILE *out, const struct timeline *timeline);

#endif
