/* SPDX-License-Identifier: MIT */
/* The leakscope command line: options in, one report or one error line out.
 * The only file that prints errors and chooses exit codes (docs/CLI.md). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "out.h"

/* `report` fails with these; `run` exits with the program's own status, or
 * with EXIT_TOOL_FAILED (as env(1) and timeout(1) do) when leakscope failed. */
enum {
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_TOOL_FAILED = 125,
	EXIT_CANNOT_EXECUTE = 126,
	EXIT_NOT_FOUND = 127,
};

enum format { FORMAT_TEXT, FORMAT_JSON };
enum colour { COLOUR_AUTO, COLOUR_ALWAYS, COLOUR_NEVER };

struct output_options {
	enum format format;
	enum colour colour;
	const char *path; /* NULL: the command's default stream */
	const char *json_path; /* NULL: no JSON copy besides the main output */
};

static const char usage_text[] =
	"usage: leakscope run [OPTIONS] [--] COMMAND [ARGS...]\n"
	"       leakscope report [OPTIONS] SNAPSHOT|DIRECTORY...\n"
	"       leakscope --help | --version\n"
	"\n"
	"run: runs COMMAND with libleakscope.so preloaded and reports the memory\n"
	"each process of its tree never freed; exits with COMMAND's status.\n"
	"  -d, --snapshot-dir DIR  write the snapshots to DIR and keep them\n"
	"  -k, --keep              keep the temporary snapshot directory\n"
	"      --depth N           frames per stack (1..256, default 64)\n"
	"      --shim PATH         the libleakscope.so to preload\n"
	"\n"
	"report: reports snapshots written by LD_PRELOAD=libleakscope.so runs.\n"
	"\n"
	"common options:\n"
	"  -f, --format FORMAT     text (default) or json\n"
	"  -o, --output FILE       write the report to FILE (run: default stderr,\n"
	"                          report: default stdout)\n"
	"      --json FILE         also write the report as JSON to FILE\n"
	"      --color WHEN        auto (default), always or never\n";

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

static int parse_format(const char *arg, struct output_options *out)
{
	if (strcmp(arg, "text") == 0)
		out->format = FORMAT_TEXT;
	else if (strcmp(arg, "json") == 0)
		out->format = FORMAT_JSON;
	else
		return usage_error("unknown format '%s' (text or json)", arg);
	return 0;
}

static int parse_colour(const char *arg, struct output_options *out)
{
	static const char *const names[] = { "auto", "always", "never" };

	for (int i = 0; i < 3; i++)
		if (strcmp(arg, names[i]) == 0) {
			out->colour = (enum colour)i;
			return 0;
		}
	return usage_error("unknown --color value '%s' (auto, always or never)", arg);
}

static int parse_depth(const char *arg, unsigned *depth)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(arg, &end, 10);
	if (errno || *end || end == arg || value < 1 || value > 256)
		return usage_error("--depth wants a number from 1 to 256, not '%s'", arg);
	*depth = (unsigned)value;
	return 0;
}

enum { OPT_DEPTH = 256, OPT_SHIM, OPT_COLOUR, OPT_JSON, OPT_HELP };

static const struct option long_options[] = {
	{ "snapshot-dir", required_argument, NULL, 'd' },
	{ "keep", no_argument, NULL, 'k' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "shim", required_argument, NULL, OPT_SHIM },
	{ "color", required_argument, NULL, OPT_COLOUR },
	{ "colour", required_argument, NULL, OPT_COLOUR },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Options of both commands; run-only ones are refused for `report`. '+'
 * stops at the first operand: the program's own options are not ours. */
static int parse_options(int argc, char **argv, bool is_run,
			 struct output_options *out, struct collect_run *run)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:kf:o:", long_options, NULL)) != -1) {
		int r = 0;

		if (!is_run && (c == 'd' || c == 'k' || c == OPT_DEPTH || c == OPT_SHIM))
			return usage_error("%s is an option of 'run' only", argv[optind - 1]);
		switch (c) {
		case 'd': run->snapshot_dir = optarg; break;
		case 'k': run->keep_snapshots = true; break;
		case 'f': r = parse_format(optarg, out); break;
		case 'o': out->path = optarg; break;
		case OPT_DEPTH: r = parse_depth(optarg, &run->depth); break;
		case OPT_SHIM: run->shim = optarg; break;
		case OPT_COLOUR: r = parse_colour(optarg, out); break;
		case OPT_JSON: out->json_path = optarg; break;
		case OPT_HELP: fputs(usage_text, stdout); exit(0);
		case ':': return usage_error("%s needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static bool use_colour(const struct output_options *opts, FILE *stream)
{
	if (opts->colour != COLOUR_AUTO)
		return opts->colour == COLOUR_ALWAYS;
	return !opts->path && isatty(fileno(stream)) && !getenv("NO_COLOR");
}

/* One report in one format to `path`, or to `fallback` when path is NULL. */
static int write_one(const struct model_report *report, enum format format,
		     const struct output_options *opts, const char *path,
		     FILE *fallback)
{
	FILE *stream = path ? fopen(path, "w") : fallback;
	int r;

	if (!stream) {
		r = -errno;
		fprintf(stderr, "leakscope: %s: %s\n", path, strerror(-r));
		return r;
	}
	if (format == FORMAT_JSON)
		r = out_json(stream, report);
	else
		r = out_text(stream, report, use_colour(opts, stream));
	if (path && fclose(stream) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "leakscope: writing the report to %s: %s\n",
			path ? path : "the terminal", strerror(-r));
	return r;
}

static int write_report(const struct model_report *report,
			const struct output_options *opts, FILE *fallback)
{
	int r = write_one(report, opts->format, opts, opts->path, fallback);

	if (opts->json_path) {
		int json = write_one(report, FORMAT_JSON, opts, opts->json_path, NULL);

		if (r == 0)
			r = json;
	}
	return r;
}

static int spawn_failure(const char *command, int error)
{
	fprintf(stderr, "leakscope: %s: %s\n", command, strerror(error));
	return error == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}

static int command_run(int argc, char **argv)
{
	struct output_options out = { 0 };
	struct collect_run run = { 0 };
	struct collect_outcome outcome;
	struct model_report report = { 0 };
	struct errmsg err = { "" };
	int r;

	if (parse_options(argc, argv, true, &out, &run) < 0)
		return EXIT_TOOL_FAILED;
	if (optind >= argc) {
		usage_error("%s: no command to run", "run");
		return EXIT_TOOL_FAILED;
	}
	run.argv = argv + optind;
	r = collect_from_run(&run, &report, &outcome, &err);
	if (r < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_TOOL_FAILED;
	}
	if (outcome.spawn_error)
		return spawn_failure(run.argv[0], outcome.spawn_error);
	if (outcome.missing[0])
		fprintf(stderr, "leakscope: %s left no snapshot: %s\n", run.argv[0],
			outcome.missing);
	if ((report.count || out.json_path) && write_report(&report, &out, stderr) < 0)
		outcome.exit_code = EXIT_TOOL_FAILED;
	if (outcome.kept_dir)
		fprintf(stderr, "leakscope: snapshots kept in %s\n", outcome.kept_dir);
	free(outcome.kept_dir);
	model_free_report(&report);
	return outcome.exit_code;
}

static int command_report(int argc, char **argv)
{
	struct output_options out = { 0 };
	struct collect_run unused = { 0 };
	struct model_report report = { 0 };
	struct errmsg err = { "" };
	int status = 0;

	if (parse_options(argc, argv, false, &out, &unused) < 0)
		return EXIT_USAGE;
	if (optind >= argc) {
		usage_error("%s: no snapshot file or directory given", "report");
		return EXIT_USAGE;
	}
	if (collect_from_files(argv + optind, argc - optind, &report, &err) < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_FAILED;
	}
	if (write_report(&report, &out, stdout) < 0)
		status = EXIT_FAILED;
	model_free_report(&report);
	return status;
}

int main(int argc, char **argv)
{
	const char *command = argc > 1 ? argv[1] : NULL;

	if (!command) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(command, "--version") == 0) {
		printf("leakscope %s\n", LEAKSCOPE_VERSION);
		return 0;
	}
	if (strcmp(command, "run") == 0)
		return command_run(argc - 1, argv + 1);
	if (strcmp(command, "report") == 0)
		return command_report(argc - 1, argv + 1);
	fprintf(stderr, "leakscope: unknown command '%s' (see leakscope --help)\n",
		command);
	return EXIT_USAGE;
}
