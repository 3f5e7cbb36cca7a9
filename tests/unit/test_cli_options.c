/* SPDX-License-Identifier: MIT */
/* The command line parser alone: each command takes its own options and
 * refuses another's by naming its commands, run stops at the program,
 * numbers are checked against their range, and docs/CLI.md names every
 * option of report/options.inc under the heading of its commands. TAP
 * output.
 *
 * Usage: test_options docs/CLI.md */
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tap.h"


/* Parses a NULL-terminated argv (argv[0] is the command's name). */
static int parse(enum cli_command command, char **argv, struct cli_args *args,
		 struct errmsg *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	cli_args_init(args);
	err->text[0] = '\0';
	return cli_parse(argc, argv, command, args, err);
}

static void expect_error(enum cli_command command, char **argv, const char *want)
{
	struct cli_args args;
	struct errmsg err;
	int r = parse(command, argv, &args, &err);

	if (!ok(r < 0 && strcmp(err.text, want) == 0, "%s %s: \"%s\"", argv[0], argv[1], want))
		diag("got %d, \"%s\"", r, err.text);
	cli_args_free(&args);
}

static void check_commands(void)
{
	expect_error(CMD_REPORT, (char *[]){ "report", "--depth", "8", "x", NULL },
		     "--depth is an option of 'run' only");
	expect_error(CMD_REPORT, (char *[]){ "report", "-k", "x", NULL },
		     "-k is an option of 'run' only");
	expect_error(CMD_RUN, (char *[]){ "run", "--group-by=file", "--", "true", NULL },
		     "--group-by is an option of 'report' and 'diff'");
	expect_error(CMD_DIFF, (char *[]){ "diff", "--junit", "j", "a", "b", NULL },
		     "--junit is an option of 'run' and 'report'");
	expect_error(CMD_DIFF, (char *[]){ "diff", "--svg", "f", "a", "b", NULL },
		     "--svg is an option of 'report' only");
	expect_error(CMD_SNAPSHOT, (char *[]){ "snapshot", "-f", "json", "1", NULL },
		     "-f is an option of 'run', 'report' and 'diff'");
	expect_error(CMD_REPORT, (char *[]){ "report", "--bogus", NULL },
		     "unknown option '--bogus'");
	expect_error(CMD_REPORT, (char *[]){ "report", "--output", NULL },
		     "--output needs a value");
	expect_error(CMD_REPORT, (char *[]){ "report", "-f", "xml", "x", NULL },
		     "unknown format 'xml' (text or json)");
}

static void check_counts(void)
{
	expect_error(CMD_RUN, (char *[]){ "run", "--depth", "257", "true", NULL },
		     "--depth wants a number from 1 to 256, not '257'");
	expect_error(CMD_RUN, (char *[]){ "run", "--depth", " 5", "true", NULL },
		     "--depth wants a number from 1 to 256, not ' 5'");
	expect_error(CMD_REPORT, (char *[]){ "report", "--top", "-1", "x", NULL },
		     "--top wants a number, not '-1'");
	expect_error(CMD_REPORT, (char *[]){ "report", "--top", "20k", "x", NULL },
		     "--top wants a number, not '20k'");
	expect_error(CMD_REPORT,
		     (char *[]){ "report", "--max-leaks", "18446744073709551615", "x", NULL },
		     "--max-leaks wants a number from 0 to 18446744073709551614, not "
		     "'18446744073709551615'");
	expect_error(CMD_REPORT, (char *[]){ "report", "--error-exitcode", "0", "x", NULL },
		     "--error-exitcode 0 would let a failing gate pass");
	expect_error(CMD_SNAPSHOT, (char *[]){ "snapshot", "--timeout", "3601", "1", NULL },
		     "--timeout wants a number from 1 to 3600, not '3601'");
}

static void check_values(void)
{
	struct cli_args args;
	struct errmsg err;
	char *run[] = { "run", "-k", "--depth=256", "--col", "never", "prog", "-k", NULL };
	char *diff[] = { "diff", "old", "--top", "3", "new", "--suppr", NULL };
	int first = parse(CMD_RUN, run, &args, &err);

	ok(first == 5 && args.run.keep_snapshots && args.run.depth == 256 &&
	   args.out.colour == COLOUR_NEVER, "run: its options, up to the program's");
	cli_args_free(&args);
	first = parse(CMD_DIFF, diff, &args, &err);
	ok(first < 0 && strcmp(err.text, "unknown option '--suppr'") == 0,
	   "diff: an abbreviation of another command's option is unknown");
	cli_args_free(&args);
	diff[5] = NULL;
	first = parse(CMD_DIFF, diff, &args, &err);
	ok(first == 3 && args.stats.stats.top == 3 && strcmp(diff[first], "old") == 0 &&
	   strcmp(diff[first + 1], "new") == 0, "diff: options between the operands");
	cli_args_free(&args);
	first = parse(CMD_DIFF, (char *[]){ "diff", "--top", "0", "a", "b", NULL }, &args, &err);
	ok(first == 3 && args.stats.stats.top == 0 && args.stats.stats.top_given,
	   "diff --top 0: every entry, told apart from no --top");
	cli_args_free(&args);
	first = parse(CMD_RUN, (char *[]){ "run", "--top", "0", "prog", NULL }, &args, &err);
	ok(first == 3 && args.out.top == 0, "run --top 0: every possibly lost site listed");
	cli_args_free(&args);
	first = parse(CMD_REPORT, (char *[]){ "report", "--top", "5", "x", NULL }, &args, &err);
	ok(first == 3 && args.out.top == 5 && !args.stats.wanted,
	   "report --top 5: a leak report listing 5 of a class, not statistics");
	cli_args_free(&args);
	first = parse(CMD_REPORT, (char *[]){ "report", "x", NULL }, &args, &err);
	ok(first == 1 && args.out.top == TEXT_TOP_DEFAULT, "report: 20 of a class by default");
	cli_args_free(&args);
	first = parse(CMD_REPORT, (char *[]){ "report", "--suppressions", "s", "x", NULL },
		      &args, &err);
	ok(first == 3 && args.gate.wanted && !args.gate.armed &&
	   args.gate.suppression_file_count == 1, "--suppressions: a verdict, not armed");
	cli_args_free(&args);
	first = parse(CMD_REPORT, (char *[]){ "report", "--max-leaks", "2", "x", NULL },
		      &args, &err);
	ok(first == 3 && args.gate.armed && args.gate.max_leaks == 2, "--max-leaks arms the gate");
	cli_args_free(&args);
}

/* The part of `text` from `start` to the next `end` (or its end). */
static char *between(const char *text, const char *start, const char *end)
{
	const char *from = strstr(text, start), *to;

	if (!from)
		return NULL;
	to = strstr(from + strlen(start), end);
	return strndup(from, to ? (size_t)(to - from) : strlen(from));
}

static const char *heading_of(unsigned commands)
{
	switch (commands) {
	case CMD_RUN: return "### `run` only";
	case CMD_REPORT | CMD_DIFF: case CMD_REPORT: return "### `report` and `diff`";
	case CMD_RUN | CMD_REPORT: return "### `run` and `report`";
	case CMD_SNAPSHOT: return "### `snapshot`";
	default: return "### Common to `run`, `report` and `diff`";
	}
}

/* "`--name" followed by something that cannot continue the name. */
static bool names(const char *section, const char *prefix, const char *name)
{
	char quoted[64];
	size_t len = (size_t)snprintf(quoted, sizeof(quoted), "`%s%s", prefix, name);

	for (const char *at = strstr(section, quoted); at; at = strstr(at + 1, quoted))
		if (at[len] == ' ' || at[len] == '`' || at[len] == '=')
			return true;
	return false;
}

static void check_docs(const char *docs)
{
	char *options = between(docs, "\n## Options", "\n## ");

	for (int id = 0; options && id < OPT_COUNT; id++) {
		const struct cli_option *opt = &cli_options[id];
		char *section = between(options, heading_of(opt->commands), "\n### ");
		char short_name[2] = { opt->short_name, '\0' };

		ok(section && names(section, "--", opt->name) &&
		   (!opt->short_name || names(section, "-", short_name)),
		   "docs/CLI.md: --%s under \"%s\"", opt->name, heading_of(opt->commands));
		free(section);
	}
	/* and nothing there that the table lacks */
	for (const char *at = options ? strstr(options, "`--") : NULL; at;
	     at = strstr(at + 1, "`--")) {
		size_t len = strcspn(at + 3, " `=");
		bool known = false;

		for (int id = 0; id < OPT_COUNT; id++)
			known |= strlen(cli_options[id].name) == len &&
				 strncmp(cli_options[id].name, at + 3, len) == 0;
		if (!known)
			ok(false, "docs/CLI.md: --%.*s is not in options.inc", (int)len, at + 3);
	}
	ok(options != NULL, "docs/CLI.md has an Options section");
	free(options);
}

static void check_usage(void)
{
	char *usage = NULL, *line;
	size_t size = 0, longest = 0;
	FILE *out = open_memstream(&usage, &size);
	bool listed = true;

	cli_usage(out);
	fclose(out);
	for (int id = 0; id < OPT_COUNT; id++) {
		char name[64];

		snprintf(name, sizeof(name), " --%s%s", cli_options[id].name,
			 cli_options[id].arg ? " " : "");
		if (cli_options[id].help && !strstr(usage, name)) {
			listed = false;
			diag("--%s is not in the usage", cli_options[id].name);
		}
	}
	ok(listed, "the usage lists every option with a help text");
	for (char *at = usage; (line = strsep(&at, "\n"));)
		longest = strlen(line) > longest ? strlen(line) : longest;
	ok(longest <= 80, "no usage line is wider than 80 columns (%zu)", longest);
	free(usage);
}

static char *read_all(const char *path)
{
	FILE *file = fopen(path, "r");
	char *text = calloc(1, 1 << 20);

	if (file && text)
		text[fread(text, 1, (1 << 20) - 1, file)] = '\0';
	if (file)
		fclose(file);
	return text;
}

int main(int argc, char **argv)
{
	char *docs = argc > 1 ? read_all(argv[1]) : NULL;

	check_commands();
	check_counts();
	check_values();
	check_usage();
	if (ok(docs && docs[0], "docs/CLI.md read"))
		check_docs(docs);
	free(docs);
	return tap_done();
}
