/* SPDX-License-Identifier: MIT */
/* The statistics commands from options to output: each snapshot read and
 * grouped on its own (a diff's two may come from one process), written as
 * text or JSON to the output, and the timeline's chart as SVG. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "diff.h"
#include "out_stats.h"
#include "statcmd.h"
#include "timeline.h"

int statcmd_check(const struct statcmd *cmd, bool is_diff, struct errmsg *err)
{
	if (cmd->stats.cumulative && cmd->stats.key == STATS_KEY_TRACEBACK)
		errmsg_set(err, "--cumulative cannot be used with --group-by traceback");
	else if (cmd->svg_path && !cmd->timeline_dir)
		errmsg_set(err, "--svg draws a timeline: give --timeline DIR");
	else
		return 0;
	return -EINVAL;
}

/* What one output file gets: the caller's text and JSON writers. */
struct output {
	int (*text)(FILE *out, const void *what);
	int (*json)(FILE *out, const void *what);
	const void *what;
};

static int write_file(const char *path, bool json, const struct output *o,
		      struct errmsg *err)
{
	FILE *stream = path ? fopen(path, "w") : stdout;
	int r;

	if (!stream) {
		r = -errno;
		errmsg_set(err, "%s: %s", path, strerror(-r));
		return r;
	}
	r = json ? o->json(stream, o->what) : o->text(stream, o->what);
	if (path && fclose(stream) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		errmsg_set(err, "writing to %s: %s", path ? path : "the output",
			   strerror(-r));
	return r;
}

static int write_outputs(const struct statcmd *cmd, const struct output *o,
			 struct errmsg *err)
{
	int r = write_file(cmd->output, cmd->json, o, err);

	if (r == 0 && cmd->json_copy)
		r = write_file(cmd->json_copy, true, o, err);
	return r;
}

struct views {
	const struct stats_view *views;
	size_t count;
};

static int views_text(FILE *out, const void *what)
{
	const struct views *v = what;

	return out_stats_text(out, v->views, v->count);
}

static int views_json(FILE *out, const void *what)
{
	const struct views *v = what;

	return out_stats_json(out, v->views, v->count);
}

static int group(const struct statcmd *cmd, const struct model_process *proc,
		 struct stats_table *table, struct errmsg *err)
{
	int r = stats_build(proc, &cmd->stats, table);

	if (r < 0)
		errmsg_set(err, "grouping the snapshot of pid %d: %s", (int)proc->pid,
			   strerror(-r));
	return r;
}

int statcmd_diff(const struct statcmd *cmd, const char *old_path,
		 const char *new_path, struct errmsg *err)
{
	struct model_process *old_proc = NULL, *new_proc = NULL;
	struct stats_table old_table = { 0 }, new_table = { 0 }, changes = { 0 };
	int r;

	if ((r = model_read_process(old_path, &old_proc, err)) == 0 &&
	    (r = model_read_process(new_path, &new_proc, err)) == 0 &&
	    (r = group(cmd, old_proc, &old_table, err)) == 0 &&
	    (r = group(cmd, new_proc, &new_table, err)) == 0 &&
	    (r = diff_tables(&old_table, &new_table, &changes)) < 0)
		errmsg_set(err, "out of memory");
	if (r == 0) {
		struct stats_view view = { &changes, old_proc, new_proc };
		struct views views = { &view, 1 };

		stats_keep_top(&changes, cmd->stats.top);
		r = write_outputs(cmd, &(struct output){ views_text, views_json, &views },
				  err);
	}
	stats_free(&changes);
	stats_free(&new_table);
	stats_free(&old_table);
	model_free_process(new_proc);
	model_free_process(old_proc);
	return r;
}

static int report_tables(const struct statcmd *cmd, const struct model_report *report,
			 struct stats_table *tables, struct stats_view *views,
			 struct errmsg *err)
{
	for (size_t i = 0; i < report->count; i++) {
		int r = group(cmd, report->processes[i], &tables[i], err);

		if (r < 0)
			return r;
		stats_keep_top(&tables[i], cmd->stats.top);
		views[i] = (struct stats_view){ &tables[i], NULL, report->processes[i] };
	}
	return write_outputs(cmd, &(struct output){ views_text, views_json,
			     &(struct views){ views, report->count } }, err);
}

int statcmd_report(const struct statcmd *cmd, char *const *paths, int count,
		   struct errmsg *err)
{
	struct model_report report = { 0 };
	struct stats_table *tables = NULL;
	struct stats_view *views = NULL;
	int r = collect_from_files(paths, count, &report, err);

	if (r == 0) {
		tables = calloc(report.count + 1, sizeof(*tables));
		views = calloc(report.count + 1, sizeof(*views));
		r = tables && views ? report_tables(cmd, &report, tables, views, err)
				    : -ENOMEM;
		if (r == -ENOMEM)
			errmsg_set(err, "out of memory");
	}
	for (size_t i = 0; tables && i < report.count; i++)
		stats_free(&tables[i]);
	free(tables);
	free(views);
	model_free_report(&report);
	return r;
}

static int timeline_text(FILE *out, const void *what)
{
	return out_timeline_text(out, what);
}

static int timeline_json(FILE *out, const void *what)
{
	return out_timeline_json(out, what);
}

static int timeline_svg(FILE *out, const void *what)
{
	return out_timeline_svg(out, what);
}

int statcmd_timeline(const struct statcmd *cmd, struct errmsg *err)
{
	struct timeline timeline = { 0 };
	int r = timeline_build(cmd->timeline_dir, &cmd->stats, &timeline, err);

	if (r == 0)
		r = write_outputs(cmd, &(struct output){ timeline_text, timeline_json,
				  &timeline }, err);
	if (r == 0 && cmd->svg_path)
		r = write_file(cmd->svg_path, true, &(struct output){ NULL, timeline_svg,
			       &timeline }, err);
	timeline_free(&timeline);
	return r;
}

void statcmd_free(struct statcmd *cmd)
{
	free(cmd->stats.alloc_fns);
	filter_free(&cmd->stats.filters);
}
