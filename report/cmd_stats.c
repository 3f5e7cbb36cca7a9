/* SPDX-License-Identifier: MIT */
/* `leakscope diff`, and `report`'s statistics (--group-by ...) and
 * --timeline: each snapshot read and grouped on its own (a diff's two may
 * come from one process), written as text or JSON to the output, and the
 * timeline's chart as SVG. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "diff.h"
#include "emit.h"
#include "grown.h"
#include "out.h"
#include "snapset.h"
#include "timeline.h"

/* The command's output and its JSON copy, and the timeline's chart. */
static int write_outputs(const struct cli_args *args, int (*text)(FILE *, const void *),
			 int (*json)(FILE *, const void *), int (*svg)(FILE *, const void *),
			 const void *what, struct errmsg *err)
{
	const struct emit_output outputs[] = {
		{ args->out.path, stdout, args->out.format == FORMAT_JSON ? json : text, what },
		{ args->out.json_path, NULL, json, what },
		{ svg ? args->stats.svg_path : NULL, NULL, svg, what },
	};

	return emit(outputs, sizeof(outputs) / sizeof(outputs[0]), err);
}

struct views {
	const struct stats_view *views;
	size_t count;
	struct stats_listing text_listing, json_listing;
};

static struct stats_listing listing(const struct stats_options *opts, bool is_diff,
				    size_t top_default)
{
	size_t top = opts->top_given ? opts->top : top_default;

	return (struct stats_listing){ top, is_diff && top };
}

static struct views make_views(const struct stats_options *opts,
			       const struct stats_view *views, size_t count, bool is_diff)
{
	return (struct views){ views, count, listing(opts, is_diff, TEXT_TOP_DEFAULT),
			       listing(opts, is_diff, 0) };
}

static int views_text(FILE *out, const void *what)
{
	const struct views *v = what;

	return out_stats_text(out, v->views, v->count, &v->text_listing);
}

static int views_json(FILE *out, const void *what)
{
	const struct views *v = what;

	return out_stats_json(out, v->views, v->count, &v->json_listing);
}

static int group(const struct cli_args *args, const struct model_process *proc,
		 struct stats_table *table, struct errmsg *err)
{
	int r = stats_build(proc, &args->stats.stats, table);

	if (r < 0)
		errmsg_set(err, "grouping the snapshot of pid %d: %s", (int)proc->pid,
			   strerror(-r));
	return r;
}

static int stats_diff(const struct cli_args *args, const char *old_path,
		      const char *new_path, struct errmsg *err)
{
	struct model_process *old_proc = NULL, *new_proc = NULL;
	struct stats_table old_table = { 0 }, new_table = { 0 }, changes = { 0 };
	struct grown_chain *grown = NULL;
	size_t grown_count = 0;
	int r;

	if ((r = model_read_process(old_path, &old_proc, err)) == 0 &&
	    (r = model_read_process(new_path, &new_proc, err)) == 0 &&
	    (r = group(args, old_proc, &old_table, err)) == 0 &&
	    (r = group(args, new_proc, &new_table, err)) == 0 &&
	    (r = diff_tables(&old_table, &new_table, &changes)) == 0 && args->out.retainers)
		r = grown_chains(old_proc, new_proc, &grown, &grown_count);
	if (r == -ENOMEM)
		errmsg_set(err, "out of memory");
	if (r == 0) {
		struct stats_view view = { &changes, old_proc, new_proc, args->out.retainers,
					   grown, grown_count };
		struct views views = make_views(&args->stats.stats, &view, 1, true);

		r = write_outputs(args, views_text, views_json, NULL, &views, err);
	}
	free(grown);
	stats_free(&changes);
	stats_free(&new_table);
	stats_free(&old_table);
	model_free_process(new_proc);
	model_free_process(old_proc);
	return r;
}

static int report_tables(const struct cli_args *args, const struct model_report *report,
			 struct stats_table *tables, struct stats_view *views,
			 struct errmsg *err)
{
	struct views listed = make_views(&args->stats.stats, views, report->count, false);

	for (size_t i = 0; i < report->count; i++) {
		int r = group(args, report->processes[i], &tables[i], err);

		if (r < 0)
			return r;
		views[i] = (struct stats_view){ &tables[i], NULL, report->processes[i] };
	}
	return write_outputs(args, views_text, views_json, NULL, &listed, err);
}

static int stats_report(const struct cli_args *args, char *const *paths, int count,
			struct errmsg *err)
{
	struct model_report report = { 0 };
	struct stats_table *tables = NULL;
	struct stats_view *views = NULL;
	int r = snapset_load_report(paths, count, NULL, (const char *[2]){ NULL, NULL }, &report,
				    err);

	if (r == 0) {
		tables = calloc(report.count + 1, sizeof(*tables));
		views = calloc(report.count + 1, sizeof(*views));
		r = tables && views ? report_tables(args, &report, tables, views, err)
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

static int stats_timeline(const struct cli_args *args, struct errmsg *err)
{
	struct timeline timeline = { 0 };
	int r = timeline_build(args->stats.timeline_dir, &args->stats.stats, &timeline, err);

	if (r == 0)
		r = write_outputs(args, timeline_text, timeline_json, timeline_svg, &timeline,
				  err);
	timeline_free(&timeline);
	return r;
}

/* Operands and options that do not go together: prints why. */
static int check_usage(int operands, bool is_diff, const struct stats_args *stats)
{
	if (stats->stats.cumulative && (stats->stats.key == STATS_KEY_TRACEBACK ||
					stats->stats.key == STATS_KEY_PYTRACEBACK))
		return usage_error("--cumulative cannot be used with --group-by traceback");
	if (stats->stats.cumulative && stats_key_is_pytype(stats->stats.key))
		return usage_error("--cumulative cannot be used with --group-by pytype");
	if (stats->svg_path && !stats->timeline_dir)
		return usage_error("--svg draws a timeline: give --timeline DIR");
	if (is_diff && operands != 2)
		return usage_error("diff: wants two snapshot files, OLD and NEW");
	if (stats->timeline_dir && operands)
		return usage_error("report --timeline: the directory is --timeline's value");
	if (!is_diff && !stats->timeline_dir && !operands)
		return usage_error("%s: no snapshot file or directory given", "report");
	return 0;
}

static int command_stats(char **operands, int count, bool is_diff, struct cli_args *args)
{
	struct errmsg err = { "" };
	int r;

	if (check_usage(count, is_diff, &args->stats) < 0)
		return EXIT_USAGE;
	if (is_diff)
		r = stats_diff(args, operands[0], operands[1], &err);
	else if (args->stats.timeline_dir)
		r = stats_timeline(args, &err);
	else
		r = stats_report(args, operands, count, &err);
	if (r < 0)
		fprintf(stderr, "leakscope: %s\n", err.text);
	return r < 0 ? EXIT_FAILED : 0;
}

int command_diff(char **argv, int first, int argc, struct cli_args *args)
{
	return command_stats(argv + first, argc - first, true, args);
}

int command_statistics(char **argv, int first, int argc, struct cli_args *args)
{
	return command_stats(argv + first, argc - first, false, args);
}
