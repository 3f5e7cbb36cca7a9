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

static int parse_top(const char *arg, size_t *top, struct errmsg *err)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || value == 0) {
		errmsg_set(err, "--top wants a positive number, not '%s'", arg);
		return -EINVAL;
	}
	*top = (size_t)value;
	return 0;
}

static int add_alloc_fn(struct stats_options *opts, const char *name)
{
	const char **grown = realloc(opts->alloc_fns,
				     (opts->alloc_fn_count + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	grown[opts->alloc_fn_count++] = name;
	opts->alloc_fns = grown;
	return 0;
}

int statcmd_option(struct statcmd *cmd, int option, const char *arg,
		   struct errmsg *err)
{
	struct stats_options *opts = &cmd->stats;
	int r = 0;

	cmd->grouped |= option != STATCMD_TIMELINE && option != STATCMD_SVG;
	switch (option) {
	case STATCMD_GROUP_BY:
		if (stats_key_parse(arg, &opts->key) < 0) {
			errmsg_set(err, "unknown --group-by key '%s' (traceback, lineno, pyline, pytraceback, "
				   "function, file or module)", arg);
			return -EINVAL;
		}
		return 0;
	case STATCMD_CUMULATIVE: opts->cumulative = true; return 0;
	case STATCMD_ALLOC_FN: r = add_alloc_fn(opts, arg); break;
	case STATCMD_INCLUDE: r = filter_add(&opts->filters, true, arg); break;
	case STATCMD_EXCLUDE: r = filter_add(&opts->filters, false, arg); break;
	case STATCMD_TOP: return parse_top(arg, &opts->top, err);
	case STATCMD_TIMELINE: cmd->timeline_dir = arg; return 0;
	case STATCMD_SVG: cmd->svg_path = arg; return 0;
	default: break;
	}
	if (r < 0)
		errmsg_set(err, "out of memory");
	return r;
}

int statcmd_check(const struct statcmd *cmd, bool is_diff, struct errmsg *err)
{
	if (cmd->stats.cumulative && (cmd->stats.key == STATS_KEY_TRACEBACK ||
				      cmd->stats.key == STATS_KEY_PYTRACEBACK))
		errmsg_set(err, "--cumulative cannot be used with --group-by traceback");
	else if (is_diff && (cmd->timeline_dir || cmd->svg_path))
		errmsg_set(err, "--timeline and --svg are options of 'report'");
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
