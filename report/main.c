/* SPDX-License-Identifier: MIT */
/* The leakscope command line: options in, one report or one error line out.
 * The only file that prints errors and chooses exit codes (docs/CLI.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "gate.h"
#include "images.h"
#include "emit.h"
#include "frame.h"
#include "options.h"
#include "outputs.h"

/* `report` fails with these; `run` exits with the program's own status, or
 * with EXIT_TOOL_FAILED (as env(1) and timeout(1) do) when leakscope failed.
 * Both exit EXIT_USAGE for an unreadable or malformed suppression or
 * baseline file, and the gate's --error-exitcode (GATE_DEFAULT_EXIT_CODE)
 * when it fails (docs/CI.md). */
enum {
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_TOOL_FAILED = 125,
	EXIT_CANNOT_EXECUTE = 126,
	EXIT_NOT_FOUND = 127,
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "leakscope: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see leakscope --help)\n");
	return -EINVAL;
}

/* The options of `command`; prints why they are wrong. The index of the
 * first operand, or -EINVAL. */
static int parse_options(int argc, char **argv, enum cli_command command,
			 struct cli_args *args)
{
	struct errmsg err = { "" };
	int first = cli_parse(argc, argv, command, args, &err);

	if (first < 0)
		return usage_error("%s", err.text);
	if (args->help) {
		cli_usage(stdout);
		exit(0);
	}
	return first;
}

static int spawn_failure(const char *command, int error)
{
	fprintf(stderr, "leakscope: %s: %s\n", command, strerror(error));
	return error == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}

/* Judges the report when a gate option was given (suppressions change the
 * report, so before it is written), then writes the report and the
 * verdict. The exit status: `status` (or the gate's exit code when it is
 * armed and fails), or `failed` when something could not be written. */
static int report_and_judge(struct gate_config *gate, struct model_report *report,
			    const struct output_options *out, bool write_report,
			    FILE *fallback, int status, int failed)
{
	struct gate_verdict verdict = { 0 };
	struct report_outputs outputs = { report, gate->wanted ? &verdict : NULL, out };
	struct errmsg err = { "" };

	if (gate->wanted && gate_judge(gate, report, &verdict) < 0) {
		fprintf(stderr, "leakscope: judging the report: %s\n", strerror(ENOMEM));
		return failed;
	}
	if ((write_report && outputs_write_report(&outputs, fallback, &err) < 0) ||
	    (gate->wanted && outputs_write_verdict(&outputs, gate, &err) < 0)) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		status = failed;
	} else if (gate->armed && verdict.failed) {
		status = gate->error_exitcode;
	}
	gate_verdict_free(&verdict);
	return status;
}

/* A bad suppression or baseline file must stop the gate, never let it
 * pass: checked before a program is run. */
static int load_gate(struct gate_config *gate)
{
	struct errmsg err = { "" };

	if (gate_load(gate, &err) == 0)
		return 0;
	fprintf(stderr, "leakscope: %s\n", err.text);
	return -EINVAL;
}

/* Every output file of a run, before the run. */
static int check_writable(const struct output_options *out, const struct gate_config *gate)
{
	const char *paths[] = { out->path, out->json_path, gate->junit_path, gate->sarif_path,
				gate->write_baseline };
	struct errmsg err = { "" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (emit_check_writable(paths[i], &err) < 0) {
			fprintf(stderr, "leakscope: %s\n", err.text);
			return -EIO;
		}
	return 0;
}

/* Descendants that outlived the command; their pids may be unknown (no
 * /proc/PID/task/TID/children in this kernel). */
static void print_still_running(const struct collect_outcome *outcome, const char *command)
{
	char pids[64] = "";

	if (outcome->first_running)
		snprintf(pids, sizeof(pids), " (pid %d%s)", (int)outcome->first_running,
			 outcome->still_running > 1 ? ", ..." : "");
	fprintf(stderr, "leakscope: %u %s of the tree still running when %s ended%s: "
		"not in this report; --wait-children waits for them\n",
		outcome->still_running, plural(outcome->still_running, "process", "processes"),
		command, pids);
}

/* Operands start at argv[first]; options were parsed into `args`. */
static int command_run(char **argv, int first, int argc, struct cli_args *args)
{
	const struct output_options *out = &args->out;
	struct gate_config *gate = &args->gate;
	struct collect_outcome outcome;
	struct model_report report = { 0 };
	struct errmsg err = { "" };
	int r;

	if (first >= argc) {
		usage_error("%s: no command to run", "run");
		return EXIT_TOOL_FAILED;
	}
	if (load_gate(gate) < 0)
		return EXIT_USAGE;
	if (check_writable(out, gate) < 0)
		return EXIT_TOOL_FAILED;
	args->run.argv = argv + first;
	r = collect_from_run(&args->run, &report, &outcome, &err);
	if (r < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_TOOL_FAILED;
	}
	if (outcome.spawn_error)
		return spawn_failure(argv[first], outcome.spawn_error);
	if (outcome.missing[0])
		fprintf(stderr, "leakscope: %s left no snapshot: %s\n", argv[first],
			outcome.missing);
	outcome.exit_code = report_and_judge(gate, &report, out,
					     report.count || out->json_path, stderr,
					     outcome.exit_code, EXIT_TOOL_FAILED);
	if (gate->armed && outcome.missing[0] && outcome.exit_code == 0) {
		fprintf(stderr, "leakscope: gate FAILED: no snapshot of %s to judge\n",
			argv[first]);
		outcome.exit_code = gate->error_exitcode;
	}
	if (outcome.still_running)
		print_still_running(&outcome, argv[first]);
	if (outcome.kept_dir)
		fprintf(stderr, "leakscope: snapshots kept in %s%s\n", outcome.kept_dir,
			outcome.still_running ? " (the running ones' go there when they end)" : "");
	free(outcome.kept_dir);
	model_free_report(&report);
	return outcome.exit_code;
}

/* Operands and options that do not go together: prints why. */
static int check_stats(int operands, bool is_diff, const struct statcmd *stats)
{
	struct errmsg err = { "" };

	if (statcmd_check(stats, is_diff, &err) < 0)
		return usage_error("%s", err.text);
	if (is_diff && operands != 2)
		return usage_error("diff: wants two snapshot files, OLD and NEW");
	if (stats->timeline_dir && operands)
		return usage_error("report --timeline: the directory is --timeline's value");
	if (!is_diff && !stats->timeline_dir && !operands)
		return usage_error("%s: no snapshot file or directory given", "report");
	return 0;
}

/* diff, report --group-by ... and report --timeline. */
static int command_stats(char **operands, int count, bool is_diff, struct cli_args *args)
{
	struct statcmd *stats = &args->stats;
	struct errmsg err = { "" };
	int r;

	stats->json = args->out.format == FORMAT_JSON;
	stats->output = args->out.path;
	stats->json_copy = args->out.json_path;
	if (check_stats(count, is_diff, stats) < 0)
		return EXIT_USAGE;
	if (is_diff)
		r = statcmd_diff(stats, operands[0], operands[1], &err);
	else if (stats->timeline_dir)
		r = statcmd_timeline(stats, &err);
	else
		r = statcmd_report(stats, operands, count, &err);
	if (r < 0)
		fprintf(stderr, "leakscope: %s\n", err.text);
	return r < 0 ? EXIT_FAILED : 0;
}

static int command_diff(char **argv, int first, int argc, struct cli_args *args)
{
	return command_stats(argv + first, argc - first, true, args);
}

static int command_report(char **argv, int first, int argc, struct cli_args *args)
{
	struct model_report report = { 0 };
	struct errmsg err = { "" };
	int status;

	if (args->stats.grouped && args->gate.wanted) {
		usage_error("report: the gate judges leak reports, not statistics");
		return EXIT_USAGE;
	}
	if (args->stats.grouped)
		return command_stats(argv + first, argc - first, false, args);
	if (first >= argc) {
		usage_error("%s: no snapshot file or directory given", "report");
		return EXIT_USAGE;
	}
	if (load_gate(&args->gate) < 0)
		return EXIT_USAGE;
	if (collect_from_files(argv + first, argc - first, &report, &err) < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_FAILED;
	}
	status = report_and_judge(&args->gate, &report, &args->out, true, stdout, 0,
				  EXIT_FAILED);
	model_free_report(&report);
	return status;
}

static int command_snapshot(char **argv, int first, int argc, struct cli_args *args)
{
	struct errmsg err = { "" };
	uint64_t pid;
	char path[4096];

	if (first + 1 != argc ||
	    parse_count("process id", argv[first], 1, INT32_MAX, &pid, &err) < 0) {
		usage_error("snapshot: wants one process id");
		return EXIT_USAGE;
	}
	args->snapshot.pid = (pid_t)pid;
	if (snapcmd_request(&args->snapshot, path, sizeof(path), &err) < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_FAILED;
	}
	printf("%s\n", path);
	return 0;
}

static const struct {
	const char *name;
	enum cli_command command;
	int (*run)(char **argv, int first, int argc, struct cli_args *args);
	int usage_status; /* the exit status of a usage error */
} commands[] = {
	{ "run", CMD_RUN, command_run, EXIT_TOOL_FAILED },
	{ "report", CMD_REPORT, command_report, EXIT_USAGE },
	{ "diff", CMD_DIFF, command_diff, EXIT_USAGE },
	{ "snapshot", CMD_SNAPSHOT, command_snapshot, EXIT_USAGE },
};

static int run_named(const char *name, int argc, char **argv)
{
	struct cli_args args;
	int first, status;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(name, commands[i].name) != 0)
			continue;
		cli_args_init(&args);
		first = parse_options(argc, argv, commands[i].command, &args);
		if (first < 0)
			status = commands[i].usage_status;
		else
			status = commands[i].run(argv, first, argc, &args);
		cli_args_free(&args);
		return status;
	}
	fprintf(stderr, "leakscope: unknown command '%s' (see leakscope --help)\n", name);
	return EXIT_USAGE;
}

/* The object files the reports shared stay open until every report is
 * written (images.c). */
static int finish(int status)
{
	images_release();
	return status;
}

int main(int argc, char **argv)
{
	const char *command = argc > 1 ? argv[1] : NULL;

	if (!command) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
		cli_usage(stdout);
		return 0;
	}
	if (strcmp(command, "--version") == 0) {
		printf("leakscope %s\n", LEAKSCOPE_VERSION);
		return 0;
	}
	return finish(run_named(command, argc - 1, argv + 1));
}
