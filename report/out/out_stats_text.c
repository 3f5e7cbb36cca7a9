/* SPDX-License-Identifier: MIT */
/* Statistics as text, one line per entry as tracemalloc prints them:
 * "where: size=..., count=..., average=...", with the change for diffs
 * and the whole stack under the line when grouped by traceback; and a
 * timeline as a table of totals and its fastest-growing sites. */
#include <inttypes.h>

#include "frame.h"
#include "out.h"
#include "timeline.h"

static void print_frame(FILE *out, const struct model_frame *f)
{
	char text[2048];

	frame_key_text(f, text, sizeof(text));
	fputs(text, out);
}

void out_stats_where(const struct stats_entry *e, char *text, size_t size)
{
	char where[2048];

	if (e->pytype) {
		out_pytype_where(e, where, sizeof(where));
		snprintf(text, size, "%s at %s", e->pytype, where);
	} else if (e->stack.count)
		frame_key_text(&e->stack.frames[0], text, size);
	else
		snprintf(text, size, "(no stack)");
}

static void print_diff(FILE *out, bool is_diff, int64_t diff, const char *unit)
{
	if (is_diff)
		fprintf(out, " (%+" PRId64 "%s)", diff, unit);
}

static void print_entry(FILE *out, const struct stats_table *t, bool is_diff,
			const struct stats_entry *e, bool handles)
{
	if (e->pytype) {
		out_pytype_entry(out, e, is_diff);
		return;
	}
	if (handles)
		fprintf(out, "%s at ", model_handle_type_name(e->type));
	if (e->stack.count)
		print_frame(out, &e->stack.frames[0]);
	else
		fprintf(out, "(no stack)");
	if (handles) {
		fprintf(out, ": count=%" PRIu64, e->count);
		print_diff(out, is_diff, e->count_diff, "");
	} else {
		fprintf(out, ": size=%" PRIu64 " B", e->size);
		print_diff(out, is_diff, e->size_diff, " B");
		fprintf(out, ", count=%" PRIu64, e->count);
		print_diff(out, is_diff, e->count_diff, "");
		if (e->count)
			fprintf(out, ", average=%" PRIu64 " B", e->size / e->count);
	}
	fprintf(out, "\n");
	for (size_t i = 1; t->key == STATS_KEY_TRACEBACK && i < e->stack.count; i++) {
		fprintf(out, "    ");
		print_frame(out, &e->stack.frames[i]);
		fprintf(out, "%s\n", e->stack.frames[i].inlined ? " [inlined]" : "");
	}
}

static void print_snapshot(FILE *out, const struct model_process *p)
{
	fprintf(out, "%s (pid %" PRId32 ", snapshot %" PRIu32 " \"%s\", %s, %.3f s)",
		p->exe[0] ? p->exe : "?", p->pid, p->seq, p->label,
		model_reason_name(p->reason), (double)p->uptime_ns / 1e9);
	if (p->has_python && p->python.gc == LKS_PYGC_COLLECTED)
		fprintf(out, " [gc collected %" PRIu64 "]", p->python.gc_collected);
}

/* Why frames of a snapshot are less precise (an object rebuilt since):
 * a diff of two snapshots says it for both. */
static void print_warnings(FILE *out, const struct model_process *p)
{
	for (size_t i = 0; p && i < p->warning_count; i++)
		fprintf(out, "warning: %s\n", p->warnings[i]);
}

/* The sum of the entries left out: "+1200 B and +30 blocks in all" for a
 * diff, "4800 B in 30 blocks" for statistics. */
static void print_left_sum(FILE *out, const struct stats_left_out *left, bool is_diff,
			   const char *unit)
{
	if (is_diff && !unit)
		fprintf(out, "%+" PRId64 " handles in all", left->count_diff);
	else if (is_diff)
		fprintf(out, "%+" PRId64 " B and %+" PRId64 " %s in all", left->size_diff,
			left->count_diff, unit);
	else if (!unit)
		fprintf(out, "%" PRIu64 " handles", left->count);
	else
		fprintf(out, "%" PRIu64 " B in %" PRIu64 " %s", left->size, left->count, unit);
}

void out_left_out(FILE *out, const struct stats_left_out *left, bool is_diff,
		  const struct list_nouns *nouns)
{
	if (!left->entries && !left->unchanged)
		return;
	fprintf(out, "(not listed: ");
	if (left->entries) {
		fprintf(out, "%zu more %s%s, ", left->entries,
			plural(left->entries, nouns->one, nouns->many), nouns->which);
		print_left_sum(out, left, is_diff, nouns->unit);
	}
	if (left->entries && left->unchanged)
		fprintf(out, ", and %zu that did not", left->unchanged);
	else if (left->unchanged)
		fprintf(out, "%zu %s that did not change", left->unchanged,
			plural(left->unchanged, nouns->one, nouns->many));
	fprintf(out, "; --top 0 lists every one)\n");
}

static void print_list(FILE *out, const struct stats_table *t, bool is_diff,
		       const struct stats_listing *listing, bool handles)
{
	const char *which = is_diff ? " that changed" : "";
	const struct list_nouns sites = { "site", "sites", which, "blocks" },
				types = { "type", "types", which, "objects" },
				handle_sites = { "handle site", "handle sites", which, NULL };
	const struct stats_entry *entries = handles ? t->handles : t->memory;
	size_t count = handles ? t->handle_count : t->memory_count, listed = 0;
	struct stats_left_out left = { 0 };

	for (size_t i = 0; i < count; i++)
		if (stats_listed(listing, &entries[i], &listed, &left))
			print_entry(out, t, is_diff, &entries[i], handles);
	out_left_out(out, &left, is_diff, handles ? &handle_sites
					   : stats_key_is_pytype(t->key) ? &types : &sites);
}

/* diff --retainers: who holds what grew, by the newer snapshot's chains,
 * and the sites that grew with none. */
static void print_grown(FILE *out, const struct stats_view *v)
{
	fprintf(out, "\nwhat holds the growth (the newer snapshot's retainer chains):\n");
	if (!v->proc->retainer_count && !v->proc->unchained_count)
		fprintf(out, "  nothing: the newer snapshot has no retainer chains (a CPython "
			"program's in-run snapshots have them with python_retainers=2: "
			"docs/DIFF.md)\n");
	else if (!v->grown_count)
		fprintf(out, "  no chain leads to a site that grew\n");
	for (size_t i = 0; i < v->grown_count; i++) {
		const struct grown_chain *g = &v->grown[i];

		fprintf(out, "  %+" PRId64 " B (%+" PRId64 " blocks) since the older snapshot:\n",
			g->bytes_diff, g->blocks_diff);
		if (g->chain)
			out_text_chain(out, g->chain);
		else
			out_text_unchained(out, g->unchained);
	}
}

static void print_view(FILE *out, const struct stats_view *v,
		       const struct stats_listing *listing)
{
	const struct stats_table *t = v->table;
	bool is_diff = v->old_proc != NULL;

	fprintf(out, "%s by %s%s: ", is_diff ? "Changes" : "Statistics",
		stats_key_name(t->key), t->cumulative ? " (cumulative)" : "");
	if (is_diff) {
		print_snapshot(out, v->old_proc);
		fprintf(out, "\n  -> ");
	}
	print_snapshot(out, v->proc);
	fprintf(out, "\n");
	print_warnings(out, v->old_proc);
	print_warnings(out, v->proc);
	fprintf(out, "total: size=%" PRIu64 " B", t->total_size);
	print_diff(out, is_diff, t->total_size_diff, " B");
	fprintf(out, ", count=%" PRIu64, t->total_count);
	print_diff(out, is_diff, t->total_count_diff, "");
	fprintf(out, ", handles=%" PRIu64, t->total_handles);
	print_diff(out, is_diff, t->total_handles_diff, "");
	fprintf(out, "\n");
	if (stats_key_is_pytype(t->key) && is_diff)
		out_pytype_coverage(out, v->old_proc);
	if (stats_key_is_pytype(t->key))
		out_pytype_coverage(out, v->proc);
	fprintf(out, "\n");
	print_list(out, t, is_diff, listing, false);
	if (t->handle_count)
		fprintf(out, "%shandles:\n", t->memory_count ? "\n" : "");
	print_list(out, t, is_diff, listing, true);
	if (is_diff && v->retainers)
		print_grown(out, v);
}

int out_stats_text(FILE *out, const struct stats_view *views, size_t count,
		   const struct stats_listing *listing)
{
	for (size_t i = 0; i < count; i++) {
		if (i)
			fprintf(out, "\n");
		print_view(out, &views[i], listing);
	}
	return 0;
}

static void print_point(FILE *out, const struct timeline_point *p, uint64_t start_ns)
{
	fprintf(out, "%5" PRIu32 " %10.3f  %-12s %14" PRIu64 " %10" PRIu64 " %8" PRIu64 "\n",
		p->proc->seq, (double)(p->proc->uptime_ns - start_ns) / 1e9,
		p->proc->label, p->bytes, p->blocks, p->handles);
}

int out_timeline_text(FILE *out, const struct timeline *t)
{
	static const struct list_nouns growing = { "site", "sites", " that grew", "blocks" };
	const struct model_process *first = t->points[0].proc;
	uint64_t start = first->uptime_ns;
	char where[512];

	fprintf(out, "Timeline of %s (pid %" PRId32 "): %zu snapshots over %.3f s, "
		"sites by %s\n\n", first->exe[0] ? first->exe : "?", first->pid,
		t->count, (double)(t->points[t->count - 1].proc->uptime_ns - start) / 1e9,
		stats_key_name(t->key));
	fprintf(out, "%5s %10s  %-12s %14s %10s %8s\n", "seq", "time (s)", "label",
		"bytes", "blocks", "handles");
	for (size_t i = 0; i < t->count; i++)
		print_point(out, &t->points[i], start);
	fprintf(out, "\n%s from snapshot %" PRIu32 " to %" PRIu32 "%s\n",
		t->site_count ? "Sites that grew most" : "No site grew", first->seq,
		t->points[t->growth_end].proc->seq, t->site_count ? ":" : ".");
	for (size_t i = 0; i < t->site_count; i++) {
		const struct timeline_site *site = &t->sites[i];

		out_stats_where(site->growth, where, sizeof(where));
		fprintf(out, "  %+" PRId64 " B (%+.1f B/min), %+" PRId64 " blocks: %s\n",
			site->growth->size_diff, site->bytes_per_minute,
			site->growth->count_diff, where);
	}
	out_left_out(out, &t->left_out, true, &growing);
	if (t->other_snapshots)
		fprintf(out, "(%zu %s of other processes left out)\n",
			t->other_snapshots, plural(t->other_snapshots, "snapshot", "snapshots"));
	return 0;
}
