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
#include "emit.h"
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

/* The command's output and its JSON copy, and the timeline's chart. */
static int write_outputs(const struct statcmd *cmd, int (*text)(FILE *, const void *),
			 int (*json)(FILE *, const void *), int (*svg)(FILE *, const void *),
			 const void *what, struct errmsg *err)
{
	const struct emit_output outputs[] = {
		{ cmd->output, stdout, cmd->json ? json : text, what },
		{ cmd->json_copy, NULL, json, what },
		{ svg ? cmd->svg_path : NULL, NULL, svg, what },
	};

	return emit(outputs, sizeof(outputs) / sizeof(outputs[0]), err);
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
		r = write_outputs(cmd, views_text, views_json, NULL, &views, err);
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
	return write_outputs(cmd, views_text, views_json, NULL,
			     &(struct views){ views, report->count }, err);
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
		r = write_outputs(cmd, timeline_text, timeline_json, timeline_svg, &timeline,
				  err);
	timeline_free(&timeline);
	return r;
}

void statcmd_free(struct statcmd *cmd)
{
	free(cmd->stats.alloc_fns);
	filter_free(&cmd->stats.filters);
}
