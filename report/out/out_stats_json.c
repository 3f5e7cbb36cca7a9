/* SPDX-License-Identifier: MIT */
/* Statistics, diffs and timelines as JSON (docs/DIFF.md). Frames have the same members
 * as in the report's JSON; a member that is not part of the key is null. */
#include <inttypes.h>
#include <stdbool.h>

#include "jsonw.h"
#include "out.h"
#include "timeline.h"

static void put_entry(struct json *j, const struct stats_entry *e, bool is_diff,
		      bool handle)
{
	jw_open(j, NULL, '{');
	if (handle)
		jw_str(j, "type", model_handle_type_name(e->type));
	else
		jw_uint(j, "size", e->size);
	if (is_diff && !handle)
		jw_int(j, "size_diff", e->size_diff);
	jw_uint(j, "count", e->count);
	if (is_diff)
		jw_int(j, "count_diff", e->count_diff);
	jw_str(j, "key", e->key);
	if (e->pytype)
		jw_str(j, "pytype", e->pytype);
	jw_open(j, "stack", '[');
	for (size_t i = 0; i < e->stack.count; i++)
		jw_frame(j, &e->stack.frames[i]);
	jw_close(j, ']');
	jw_close(j, '}');
}

static size_t put_list(struct json *j, const struct stats_table *t, bool handles,
		       bool is_diff, const struct stats_listing *listing)
{
	const struct stats_entry *entries = handles ? t->handles : t->memory;
	size_t count = handles ? t->handle_count : t->memory_count, listed = 0;
	struct stats_left_out left = { 0 };

	jw_open(j, handles ? "handles" : "stats", '[');
	for (size_t i = 0; i < count; i++)
		if (stats_listed(listing, &entries[i], &listed, &left))
			put_entry(j, &entries[i], is_diff, handles);
	jw_close(j, ']');
	return left.entries + left.unchanged;
}

/* The lists as the listing says, and how many entries of each it left
 * out, so that a cut list never reads as the whole. */
static void put_entries(struct json *j, const struct stats_table *t, bool is_diff,
			const struct stats_listing *listing)
{
	size_t memory_left, handles_left;

	memory_left = put_list(j, t, false, is_diff, listing);
	handles_left = put_list(j, t, true, is_diff, listing);
	jw_open(j, "left_out", '{');
	jw_uint(j, "stats", memory_left);
	jw_uint(j, "handles", handles_left);
	jw_close(j, '}');
}

static void put_totals(struct json *j, const struct stats_table *t, bool is_diff)
{
	jw_open(j, "total", '{');
	jw_uint(j, "size", t->total_size);
	if (is_diff)
		jw_int(j, "size_diff", t->total_size_diff);
	jw_uint(j, "count", t->total_count);
	if (is_diff)
		jw_int(j, "count_diff", t->total_count_diff);
	jw_uint(j, "handles", t->total_handles);
	if (is_diff)
		jw_int(j, "handles_diff", t->total_handles_diff);
	jw_close(j, '}');
}

static void put_snapshot(struct json *j, const char *key, const struct model_process *p)
{
	jw_open(j, key, '{');
	jw_int(j, "pid", p->pid);
	jw_str(j, "exe", p->exe);
	jw_uint(j, "seq", p->seq);
	jw_str(j, "label", p->label);
	jw_str(j, "reason", model_reason_name(p->reason));
	jw_uint(j, "time_ns", p->time_ns);
	jw_uint(j, "uptime_ns", p->uptime_ns);
	jw_open(j, "warnings", '[');
	for (size_t i = 0; i < p->warning_count; i++)
		jw_str(j, NULL, p->warnings[i]);
	jw_close(j, ']');
	jw_close(j, '}');
}

/* diff --retainers: the newer snapshot's chains to sites that grew, and
 * the sites that grew with no chain. */
static void put_grown(struct json *j, const struct stats_view *v)
{
	for (int with_chain = 1; with_chain >= 0; with_chain--) {
		jw_open(j, with_chain ? "retainers" : "unchained", '[');
		for (size_t i = 0; i < v->grown_count; i++) {
			const struct grown_chain *g = &v->grown[i];

			if ((g->chain != NULL) != with_chain)
				continue;
			jw_open(j, NULL, '{');
			jw_int(j, "size_diff", g->bytes_diff);
			jw_int(j, "count_diff", g->blocks_diff);
			if (g->chain)
				out_json_chain(j, g->chain);
			else
				out_json_unchained(j, g->unchained);
			jw_close(j, '}');
		}
		jw_close(j, ']');
	}
}

static void put_diff(struct json *j, const struct stats_view *v,
		     const struct stats_listing *listing)
{
	put_snapshot(j, "old", v->old_proc);
	put_snapshot(j, "new", v->proc);
	put_totals(j, v->table, true);
	put_entries(j, v->table, true, listing);
	if (v->retainers)
		put_grown(j, v);
}

static void put_processes(struct json *j, const struct stats_view *views, size_t count,
			  const struct stats_listing *listing)
{
	jw_open(j, "processes", '[');
	for (size_t i = 0; i < count; i++) {
		jw_open(j, NULL, '{');
		put_snapshot(j, "snapshot", views[i].proc);
		put_totals(j, views[i].table, false);
		put_entries(j, views[i].table, false, listing);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

/* A diff is one object with "old" and "new"; statistics list processes. */
int out_stats_json(FILE *out, const struct stats_view *views, size_t count,
		   const struct stats_listing *listing)
{
	struct json j = { .out = out, .first = true, .depth = 1 };
	const struct stats_table *t = count ? views[0].table : NULL;

	fputc('{', out);
	jw_str(&j, "key_type", t ? stats_key_name(t->key) : NULL);
	jw_bool(&j, "cumulative", t && t->cumulative);
	if (count == 1 && views[0].old_proc)
		put_diff(&j, &views[0], listing);
	else
		put_processes(&j, views, count, listing);
	jw_close(&j, '}');
	fputc('\n', out);
	return 0;
}

static void put_point(struct json *j, const struct timeline_point *p)
{
	jw_open(j, NULL, '{');
	jw_uint(j, "seq", p->proc->seq);
	jw_str(j, "label", p->proc->label);
	jw_str(j, "reason", model_reason_name(p->proc->reason));
	jw_uint(j, "time_ns", p->proc->time_ns);
	jw_uint(j, "uptime_ns", p->proc->uptime_ns);
	jw_uint(j, "bytes", p->bytes);
	jw_uint(j, "blocks", p->blocks);
	jw_uint(j, "handles", p->handles);
	jw_close(j, '}');
}

static void put_site(struct json *j, const struct timeline_site *site, size_t points)
{
	jw_open(j, NULL, '{');
	jw_int(j, "size_diff", site->growth->size_diff);
	jw_int(j, "count_diff", site->growth->count_diff);
	jw_member(j, "bytes_per_minute");
	fprintf(j->out, "%.1f", site->bytes_per_minute);
	jw_open(j, "sizes", '[');
	for (size_t i = 0; i < points; i++)
		jw_uint(j, NULL, site->sizes[i]);
	jw_close(j, ']');
	jw_str(j, "key", site->growth->key);
	jw_open(j, "stack", '[');
	for (size_t i = 0; i < site->growth->stack.count; i++)
		jw_frame(j, &site->growth->stack.frames[i]);
	jw_close(j, ']');
	jw_close(j, '}');
}

int out_timeline_json(FILE *out, const struct timeline *t)
{
	struct json j = { .out = out, .first = true, .depth = 1 };

	fputc('{', out);
	jw_str(&j, "key_type", stats_key_name(t->key));
	jw_int(&j, "pid", t->points[0].proc->pid);
	jw_str(&j, "exe", t->points[0].proc->exe);
	jw_uint(&j, "other_snapshots", t->other_snapshots);
	jw_uint(&j, "growth_from_seq", t->points[0].proc->seq);
	jw_uint(&j, "growth_to_seq", t->points[t->growth_end].proc->seq);
	jw_open(&j, "snapshots", '[');
	for (size_t i = 0; i < t->count; i++)
		put_point(&j, &t->points[i]);
	jw_close(&j, ']');
	jw_open(&j, "growth", '[');
	for (size_t i = 0; i < t->site_count; i++)
		put_site(&j, &t->sites[i], t->count);
	jw_close(&j, ']');
	jw_uint(&j, "growth_left_out", t->left_out.entries);
	jw_close(&j, '}');
	fputc('\n', out);
	return 0;
}
