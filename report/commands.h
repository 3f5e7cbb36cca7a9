/* SPDX-License-Identifier: MIT */
/* The commands (cmd_*.c), what they share, and their exit codes. The
 * commands and main.c are the only code that prints errors. */
#ifndef LEAKSCOPE_COMMANDS_H
#define LEAKSCOPE_COMMANDS_H

#include <stdio.h>

#include "gate.h"
#include "options.h"

/* `report` fails with these; `run` exits with the program's own status, or
 * with EXIT_TOOL_FAILED (as env(1) and timeout(1) do) when leakscope failed.
 * Both exit EXIT_USAGE for an unreadable or malformed suppression or
 * baseline file, and the gate's --error-exitcode (GATE_DEFAULT_EXIT_CODE)
 * when it fails (docs/CI.md, docs/CLI.md). */
enum {
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_TOOL_FAILED = 125,
	EXIT_CANNOT_EXECUTE = 126,
	EXIT_NOT_FOUND = 127,
};

/* Each command's operands start at argv[first]; its options were parsed
 * into `args`. It returns the exit status. */
int command_run(char **argv, int first, int argc, struct cli_args *args);
int command_report(char **argv, int first, int argc, struct cli_args *args);
int command_diff(char **argv, int first, int argc, struct cli_args *args);
/* `report` with a statistics or timeline option (cmd_stats.c). */
int command_statistics(char **argv, int first, int argc, struct cli_args *args);
int command_snapshot(char **argv, int first, int argc, struct cli_args *args);

/* cmd_report.c, for `run` too: reads the suppression and baseline files
 * (a bad one must stop the gate, never let it pass); prints why not. */
int load_gate(struct gate_config *gate);
/* Judges the report when a gate option asked for it, then writes the report
 * (when `write_report`, else only the verdict) to out->path or `fallback`.
 * The exit status: `status` (or the gate's exit code when it is armed and
 * fails), or `failed` when something could not be written. */
int report_and_judge(struct gate_config *gate, struct model_report *report,
		     const struct output_options *out, bool write_report, FILE *fallback,
		     int status, int failed);

/* cmd_snapshot.c: a label a snapshot request can carry. 0, or -EINVAL with
 * the reason in `err`. */
int snapshot_check_label(const char *label, struct errmsg *err);

#endif
