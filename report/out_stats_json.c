/* SPDX-License-Identifier: MIT */
/* Statistics, diffs and timelines as JSON (docs/DIFF.md). Frames have the same members
 * as in the report's JSON; a member that is not part of the key is null. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include "out.h"
#include "out_stats.h"
#include "timeline.h"

struct json {
	FILE *out;
	int depth;
	bool first; /* no member written yet at this depth */
};

static void member(struct json *j, const char *key)
{
	fprintf(j->out, "%s\n%*s", j->first ? "" : ",", 2 * j->depth, "");
	j->first = false;
	if (key)
		fprintf(j->out, "\"%s\": ", key);
}

static void open_with(struct json *j, const char *key, char bracket)
{
	member(j, key);
	fputc(bracket, j->out);
	j->depth++;
	j->first = true;
}

static void close_with(struct json *j, char bracket)
{
	j->depth--;
	if (!j->first)
		fprintf(j->out, "\n%*s", 2 * j->depth, "");
	fputc(bracket, j->out);
	j->first = false;
}

static void put_uint(struct json *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRIu64, value);
}

static void put_int(struct json *j, const char *key, int64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRId64, value);
}

static void put_bool(struct json *j, const char *key, bool value)
{
	member(j, key);
	fputs(value ? "true" : "false", j->out);
}

static void put_string(struct json *j, const char *key, const char *value)
{
	member(j, key);
	if (value)
		out_json_string(j->out, value);
	else
		fputs("null", j->out);
}

static void put_frame(struct json *j, const struct model_frame *f)
{
	open_with(j, NULL, '{');
	put_string(j, "function", f->function);
	put_string(j, "file", f->file);
	if (f->line)
		put_uint(j, "line", f->line);
	else
		put_string(j, "line", NULL);
	put_string(j, "module", f->module);
	member(j, "address");
	if (f->address)
		fprintf(j->out, "\"0x%" PRIx64 "\"", f->address);
	else
		fputs("null", j->out);
	member(j, "offset");
	if (f->address && f->module)
		fprintf(j->out, "\"0x%" PRIx64 "\"", f->offset);
	else
		fputs("null", j->out);
	put_bool(j, "inlined", f->inlined);
	close_with(j, '}');
}

static void put_entry(struct json *j, const struct stats_entry *e, bool is_diff,
		      bool handle)
{
	open_with(j, NULL, '{');
	if (handle)
		put_string(j, "type", model_handle_type_name(e->type));
	else
		put_uint(j, "size", e->size);
	if (is_diff && !handle)
		put_int(j, "size_diff", e->size_diff);
	put_uint(j, "count", e->count);
	if (is_diff)
		put_int(j, "count_diff", e->count_diff);
	put_string(j, "key", e->key);
	open_with(j, "stack", '[');
	for (size_t i = 0; i < e->stack.count; i++)
		put_frame(j, &e->stack.frames[i]);
	close_with(j, ']');
	close_with(j, '}');
}

static void put_entries(struct json *j, const struct stats_table *t, bool is_diff)
{
	open_with(j, "stats", '[');
	for (size_t i = 0; i < t->memory_count; i++)
		put_entry(j, &t->memory[i], is_diff, false);
	close_with(j, ']');
	open_with(j, "handles", '[');
	for (size_t i = 0; i < t->handle_count; i++)
		put_entry(j, &t->handles[i], is_diff, true);
	close_with(j, ']');
}

static void put_totals(struct json *j, const struct stats_table *t, bool is_diff)
{
	open_with(j, "total", '{');
	put_uint(j, "size", t->total_size);
	if (is_diff)
		put_int(j, "size_diff", t->total_size_diff);
	put_uint(j, "count", t->total_count);
	if (is_diff)
		put_int(j, "count_diff", t->total_count_diff);
	put_uint(j, "handles", t->total_handles);
	if (is_diff)
		put_int(j, "handles_diff", t->total_handles_diff);
	close_with(j, '}');
}

static void put_snapshot(struct json *j, const char *key, const struct model_process *p)
{
	open_with(j, key, '{');
	put_int(j, "pid", p->pid);
	put_string(j, "exe", p->exe);
	put_uint(j, "seq", p->seq);
	put_string(j, "label", p->label);
	put_string(j, "reason", model_reason_name(p->reason));
	put_uint(j, "time_ns", p->time_ns);
	put_uint(j, "uptime_ns", p->uptime_ns);
	close_with(j, '}');
}

static void put_diff(struct json *j, const struct stats_view *v)
{
	put_snapshot(j, "old", v->old_proc);
	put_snapshot(j, "new", v->proc);
	put_totals(j, v->table, true);
	put_entries(j, v->table, true);
}

static void put_processes(struct json *j, const struct stats_view *views, size_t count)
{
	open_with(j, "processes", '[');
	for (size_t i = 0; i < count; i++) {
		open_with(j, NULL, '{');
		put_snapshot(j, "snapshot", views[i].proc);
		put_totals(j, views[i].table, false);
		put_entries(j, views[i].table, false);
		close_with(j, '}');
	}
	close_with(j, ']');
}

/* A diff is one object with "old" and "new"; statistics list processes. */
int out_stats_json(FILE *out, const struct stats_view *views, size_t count)
{
	struct json j = { .out = out, .first = true, .depth = 1 };
	const struct stats_table *t = count ? views[0].table : NULL;

	fputc('{', out);
	put_string(&j, "key_type", t ? stats_key_name(t->key) : NULL);
	put_bool(&j, "cumulative", t && t->cumulative);
	if (count == 1 && views[0].old_proc)
		put_diff(&j, &views[0]);
	else
		put_processes(&j, views, count);
	close_with(&j, '}');
	fputc('\n', out);
	if (fflush(out) != 0 || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}

static void put_point(struct json *j, const struct timeline_point *p)
{
	open_with(j, NULL, '{');
	put_uint(j, "seq", p->proc->seq);
	put_string(j, "label", p->proc->label);
	put_string(j, "reason", model_reason_name(p->proc->reason));
	put_uint(j, "time_ns", p->proc->time_ns);
	put_uint(j, "uptime_ns", p->proc->uptime_ns);
	put_uint(j, "bytes", p->bytes);
	put_uint(j, "blocks", p->blocks);
	put_uint(j, "handles", p->handles);
	close_with(j, '}');
}

static void put_site(struct json *j, const struct timeline_site *site, size_t points)
{
	open_with(j, NULL, '{');
	put_int(j, "size_diff", site->growth->size_diff);
	put_int(j, "count_diff", site->growth->count_diff);
	member(j, "bytes_per_minute");
	fprintf(j->out, "%.1f", site->bytes_per_minute);
	open_with(j, "sizes", '[');
	for (size_t i = 0; i < points; i++)
		put_uint(j, NULL, site->sizes[i]);
	close_with(j, ']');
	put_string(j, "key", site->growth->key);
	open_with(j, "stack", '[');
	for (size_t i = 0; i < site->growth->stack.count; i++)
		put_frame(j, &site->growth->stack.frames[i]);
	close_with(j, ']');
	close_with(j, '}');
}

int out_timeline_json(FILE *out, const struct timeline *t)
{
	struct json j = { .out = out, .first = true, .depth = 1 };

	fputc('{', out);
	put_string(&j, "key_type", stats_key_name(t->key));
	put_int(&j, "pid", t->points[0].proc->pid);
	put_string(&j, "exe", t->points[0].proc->exe);
	put_uint(&j, "other_snapshots", t->other_snapshots);
	put_uint(&j, "growth_from_seq", t->points[0].proc->seq);
	put_uint(&j, "growth_to_seq", t->points[t->growth_end].proc->seq);
	open_with(&j, "snapshots", '[');
	for (size_t i = 0; i < t->count; i++)
		put_point(&j, &t->points[i]);
	close_with(&j, ']');
	open_with(&j, "growth", '[');
	for (size_t i = 0; i < t->site_count; i++)
		put_site(&j, &t->sites[i], t->count);
	close_with(&j, ']');
	close_with(&j, '}');
	fputc('\n', out);
	if (fflush(out) != 0 || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}
