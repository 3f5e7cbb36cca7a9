/* SPDX-License-Identifier: MIT */
/* The leakscope command: which command runs, its options parsed, and the
 * usage. The commands themselves are cmd_*.c (commands.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "images.h"

/* The options of `command`; prints why they are wrong. The index of the
 * first operand, or -EINVAL. */
static int parse_options(int argc, char **argv, enum cli_command command,
			 struct cli_args *args)
{
	struct errmsg err = { "" };
	int first = cli_parse(argc, argv, command, args, &err);

	if (first < 0)
		return usage_error("%s", err.text);
	return first;
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
		else if (args.help)
			status = cli_usage(stdout) < 0 ? EXIT_FAILED : 0;
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
