/* SPDX-License-Identifier: MIT */
/* `leakscope run`: every output checked writable first, the program run
 * under the shim (session.c), then its report, the gate's verdict, and
 * what the user must know about the run itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "emit.h"
#include "frame.h"
#include "session.h"

static int spawn_failure(const char *command, int error)
{
	fprintf(stderr, "leakscope: %s: %s\n", command, strerror(error));
	return error == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}

/* Every output file of a run, before the run. */
static int check_writable(const struct output_options *out, const struct gate_config *gate)
{
	const char *paths[] = { out->path, out->json_path, gate->junit_path, gate->sarif_path,
				gate->write_baseline, gate->suppressions_out };
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
static void print_still_running(const struct session_outcome *outcome, const char *command)
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

/* Before the report: the snapshots it lacks, so that a short report is
 * not read as a clean one. */
static void print_snapshots_missing(const struct session_outcome *outcome,
				    const char *command)
{
	if (outcome->ignored)
		fprintf(stderr, "leakscope: ignored %zu %s not written by this run (without its "
			"token): %s%s\n", outcome->ignored,
			plural(outcome->ignored, "snapshot", "snapshots"), outcome->ignored_name,
			outcome->ignored > 1 ? ", ..." : "");
	if (outcome->missing[0])
		fprintf(stderr, "leakscope: %s left no snapshot: %s\n", command,
			outcome->missing);
	if (outcome->no_exit[0])
		fprintf(stderr, "leakscope: %s ended without an exit snapshot (the report is of "
			"its last snapshot, taken while it ran): %s\n", command, outcome->no_exit);
}

/* After the report and the verdict, where the user looks last: what the
 * run left behind. */
static void print_after_report(const struct session_outcome *outcome, const char *command)
{
	if (outcome->symbols_error[0])
		fprintf(stderr, "leakscope: warning: %s\n", outcome->symbols_error);
	if (outcome->still_running)
		print_still_running(outcome, command);
	if (outcome->kept_dir)
		fprintf(stderr, "leakscope: snapshots kept in %s%s\n", outcome->kept_dir,
			outcome->still_running ? " (the running ones' go there when they end)" : "");
}

/* Operands start at argv[first]; options were parsed into `args`. */
int command_run(char **argv, int first, int argc, struct cli_args *args)
{
	const struct output_options *out = &args->out;
	struct gate_config *gate = &args->gate;
	struct session_outcome outcome;
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
	args->run.exe_filter = &args->exe;
	args->run.between = gate->between;
	r = session_run(&args->run, &report, &outcome, &err);
	if (r < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_TOOL_FAILED;
	}
	if (outcome.spawn_error)
		return spawn_failure(argv[first], outcome.spawn_error);
	print_snapshots_missing(&outcome, argv[first]);
	outcome.exit_code = report_and_judge(gate, &report, out,
					     report.count || out->json_path, stderr,
					     outcome.exit_code, EXIT_TOOL_FAILED);
	if (gate->armed && outcome.missing[0] && outcome.exit_code == 0 &&
	    !(gate->allow_killed && outcome.killed)) {
		fprintf(stderr, "leakscope: gate FAILED: no snapshot of %s to judge\n",
			argv[first]);
		outcome.exit_code = gate->error_exitcode;
	}
	print_after_report(&outcome, argv[first]);
	free(outcome.kept_dir);
	model_free_report(&report);
	return outcome.exit_code;
}
