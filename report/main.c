/* SPDX-License-Identifier: MIT */
/* The leakscope command line: options in, one report or one error line out.
 * The only file that prints errors and chooses exit codes (docs/CLI.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "gate.h"
#include "images.h"
#include "out.h"
#include "pyframes.h"
#include "snapcmd.h"
#include "statcmd.h"

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

enum format { FORMAT_TEXT, FORMAT_JSON };
enum colour { COLOUR_AUTO, COLOUR_ALWAYS, COLOUR_NEVER };

struct output_options {
	enum format format;
	enum colour colour;
	const char *path; /* NULL: the command's default stream */
	const char *json_path; /* NULL: no JSON copy besides the main output */
	bool show_reachable;   /* text: list reachable sites, not only the total */
	bool retainers;        /* text: what keeps the largest reachable sites */
};

static const char usage_text[] =
	"usage: leakscope run [OPTIONS] [--] COMMAND [ARGS...]\n"
	"       leakscope report [OPTIONS] SNAPSHOT|DIRECTORY...\n"
	"       leakscope diff [OPTIONS] OLD NEW\n"
	"       leakscope snapshot [--label L] [--timeout SEC] PID\n"
	"       leakscope --help | --version\n"
	"\n"
	"run: runs COMMAND with libleakscope.so preloaded and reports the memory\n"
	"each process of its tree never freed; exits with COMMAND's status.\n"
	"  -d, --snapshot-dir DIR  write the snapshots to DIR and keep them\n"
	"  -k, --keep              keep the temporary snapshot directory\n"
	"      --depth N           frames per stack (1..256, default 64)\n"
	"      --wait-children     also wait for descendants that outlive COMMAND\n"
	"      --shim PATH         the libleakscope.so to preload\n"
	"\n"
	"report: reports snapshots written by LD_PRELOAD=libleakscope.so runs.\n"
	"\n"
	"diff: how live memory and open handles changed from snapshot OLD to NEW,\n"
	"what changed most first. These also make 'report' print statistics:\n"
	"      --group-by KEY      lineno (default), traceback, function, file, module,\n"
	"                          pyline, pytraceback (Python frames only)\n"
	"      --cumulative        every frame of a stack counts, not only the site\n"
	"      --alloc-fn NAME     an allocation wrapper (glob): its caller is the site\n"
	"      --include PATTERN   only sites whose module, file or function matches\n"
	"      --exclude PATTERN   no site whose module, file or function matches\n"
	"      --top N             the first N entries\n"
	"report --timeline DIR: totals of a series of snapshots, fastest-growing sites\n"
	"      --svg FILE          also draw the timeline as an SVG chart\n"
	"\n"
	"snapshot: asks process PID, started with LEAKSCOPE_OPTIONS=snapshot_signal=N,\n"
	"for a snapshot now and prints its path (docs/SNAPSHOTS.md).\n"
	"      --label L           name it L (default: request)\n"
	"      --timeout SEC       wait at most SEC seconds for it (default 10)\n"
	"\n"
	"gate (run and report; docs/CI.md): exit --error-exitcode when new\n"
	"findings of the chosen classes, not suppressed, go over the limits\n"
	"      --fail-on LIST      of definite, indirect, possible, reachable, handles,\n"
	"                          child-fds (default definite,indirect,handles)\n"
	"      --max-leaked-bytes N, --max-leaks N, --max-handles N\n"
	"                          limits (default: any new leak or handle fails)\n"
	"      --error-exitcode N  exit N when the gate fails (default 23)\n"
	"      --started-only      judge the started process, not its whole tree\n"
	"      --suppressions FILE leak:PATTERN and handle:PATTERN lines (repeatable)\n"
	"      --baseline FILE     a JSON report: only sites not in it fail\n"
	"      --write-baseline FILE  write this run's JSON report as a baseline\n"
	"      --print-suppressions   print suppressions for the new sites to stdout\n"
	"      --junit FILE, --sarif FILE  the verdict as JUnit XML or SARIF 2.1.0\n"
	"\n"
	"common options:\n"
	"  -f, --format FORMAT     text (default) or json\n"
	"  -o, --output FILE       write the report to FILE (run: default stderr,\n"
	"                          report: default stdout)\n"
	"      --json FILE         also write the report as JSON to FILE\n"
	"      --show-reachable    list still-reachable sites too, not only their total\n"
	"      --retainers         show what keeps the largest reachable sites alive\n"
	"      --python-internals  keep CPython's own frames around Python frames\n"
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

enum { OPT_DEPTH = 256, OPT_WAIT_CHILDREN, OPT_SHIM, OPT_COLOUR, OPT_JSON, OPT_HELP,
       OPT_SHOW_REACHABLE, OPT_RETAINERS, OPT_PYTHON_INTERNALS };

static const struct option long_options[] = {
	{ "snapshot-dir", required_argument, NULL, 'd' },
	{ "keep", no_argument, NULL, 'k' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "wait-children", no_argument, NULL, OPT_WAIT_CHILDREN },
	{ "shim", required_argument, NULL, OPT_SHIM },
	{ "color", required_argument, NULL, OPT_COLOUR },
	{ "colour", required_argument, NULL, OPT_COLOUR },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "show-reachable", no_argument, NULL, OPT_SHOW_REACHABLE },
	{ "retainers", no_argument, NULL, OPT_RETAINERS },
	{ "python-internals", no_argument, NULL, OPT_PYTHON_INTERNALS },
	{ "group-by", required_argument, NULL, STATCMD_GROUP_BY },
	{ "cumulative", no_argument, NULL, STATCMD_CUMULATIVE },
	{ "alloc-fn", required_argument, NULL, STATCMD_ALLOC_FN },
	{ "include", required_argument, NULL, STATCMD_INCLUDE },
	{ "exclude", required_argument, NULL, STATCMD_EXCLUDE },
	{ "top", required_argument, NULL, STATCMD_TOP },
	{ "timeline", required_argument, NULL, STATCMD_TIMELINE },
	{ "svg", required_argument, NULL, STATCMD_SVG },
	{ "fail-on", required_argument, NULL, GATE_OPT_FAIL_ON },
	{ "max-leaked-bytes", required_argument, NULL, GATE_OPT_MAX_LEAKED_BYTES },
	{ "max-leaks", required_argument, NULL, GATE_OPT_MAX_LEAKS },
	{ "max-handles", required_argument, NULL, GATE_OPT_MAX_HANDLES },
	{ "error-exitcode", required_argument, NULL, GATE_OPT_ERROR_EXITCODE },
	{ "started-only", no_argument, NULL, GATE_OPT_STARTED_ONLY },
	{ "suppressions", required_argument, NULL, GATE_OPT_SUPPRESSIONS },
	{ "baseline", required_argument, NULL, GATE_OPT_BASELINE },
	{ "write-baseline", required_argument, NULL, GATE_OPT_WRITE_BASELINE },
	{ "print-suppressions", no_argument, NULL, GATE_OPT_PRINT_SUPPRESSIONS },
	{ "junit", required_argument, NULL, GATE_OPT_JUNIT },
	{ "sarif", required_argument, NULL, GATE_OPT_SARIF },
	{ NULL, 0, NULL, 0 },
};

static int stats_option(struct statcmd *stats, int c, const char *name)
{
	struct errmsg err;

	if (!stats)
		return usage_error("%s is an option of 'report' and 'diff'", name);
	if (statcmd_option(stats, c, optarg, &err) < 0)
		return usage_error("%s", err.text);
	return 0;
}

static int gate_option_value(struct gate_config *gate, int c, const char *name)
{
	struct errmsg err;

	if (!gate)
		return usage_error("%s is an option of 'run' and 'report'", name);
	if (gate_option(gate, c, optarg, &err) < 0)
		return usage_error("%s", err.text);
	return 0;
}

/* The option as the user named it, for messages: argv[optind - 1] is its
 * value instead when the value came as a separate argument. */
static void option_name(int c, int longindex, char *name, size_t size)
{
	if (longindex >= 0)
		snprintf(name, size, "--%s", long_options[longindex].name);
	else
		snprintf(name, size, "-%c", c);
}

/* Options of all commands; run-only ones are refused for the others, and
 * `stats` is NULL for `run`, which takes no statistics options. '+' stops
 * run's options at the first operand: the program's are not ours. */
static int parse_options(int argc, char **argv, bool is_run,
			 struct output_options *out, struct collect_run *run,
			 struct statcmd *stats, struct gate_config *gate)
{
	int c, longindex = -1;
	char name[40];

	opterr = 0;
	while ((c = getopt_long(argc, argv, is_run ? "+:d:kf:o:" : ":d:kf:o:",
				long_options, &longindex)) != -1) {
		int r = 0;

		option_name(c, longindex, name, sizeof(name));
		longindex = -1;
		if (!is_run && (c == 'd' || c == 'k' || c == OPT_DEPTH || c == OPT_SHIM ||
				c == OPT_WAIT_CHILDREN))
			return usage_error("%s is an option of 'run' only", name);
		switch (c) {
		case 'd': run->snapshot_dir = optarg; break;
		case 'k': run->keep_snapshots = true; break;
		case 'f': r = parse_format(optarg, out); break;
		case 'o': out->path = optarg; break;
		case OPT_DEPTH: r = parse_depth(optarg, &run->depth); break;
		case OPT_WAIT_CHILDREN: run->wait_children = true; break;
		case OPT_SHIM: run->shim = optarg; break;
		case OPT_COLOUR: r = parse_colour(optarg, out); break;
		case OPT_JSON: out->json_path = optarg; break;
		case OPT_HELP: fputs(usage_text, stdout); exit(0);
		case OPT_SHOW_REACHABLE: out->show_reachable = true; break;
		case OPT_RETAINERS: out->retainers = true; break;
		case OPT_PYTHON_INTERNALS: pyframes_show_internals = true; break;
		case STATCMD_GROUP_BY ... STATCMD_SVG:
			r = stats_option(stats, c, name);
			break;
		case GATE_OPT_FAIL_ON ... GATE_OPT_SARIF:
			r = gate_option_value(gate, c, name);
			break;
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
		r = out_text(stream, report, &(struct out_text_options){
			use_colour(opts, stream), opts->show_reachable, opts->retainers });
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

enum gate_file { GATE_FILE_JUNIT, GATE_FILE_SARIF, GATE_FILE_BASELINE };

static int write_gate_file(enum gate_file kind, const char *path,
			   const struct model_report *report,
			   const struct gate_verdict *verdict)
{
	FILE *stream;
	int r;

	if (!path)
		return 0;
	stream = fopen(path, "w");
	if (!stream) {
		r = -errno;
		fprintf(stderr, "leakscope: %s: %s\n", path, strerror(-r));
		return r;
	}
	if (kind == GATE_FILE_JUNIT)
		r = out_junit(stream, report, verdict);
	else if (kind == GATE_FILE_SARIF)
		r = out_sarif(stream, verdict);
	else
		r = out_json(stream, report); /* a baseline is a JSON report */
	if (fclose(stream) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "leakscope: writing %s: %s\n", path, strerror(-r));
	return r;
}

/* The gate's verdict on stderr and in its files, and the exit status it
 * gives: `status` when it passes or was not asked to decide. */
static int gate_outputs(const struct gate_config *gate,
			const struct model_report *report,
			const struct gate_verdict *verdict, int status, int failed)
{
	int r = out_gate_text(stderr, verdict);

	if (write_gate_file(GATE_FILE_JUNIT, gate->junit_path, report, verdict) < 0 ||
	    write_gate_file(GATE_FILE_SARIF, gate->sarif_path, report, verdict) < 0 ||
	    write_gate_file(GATE_FILE_BASELINE, gate->write_baseline, report, verdict) < 0)
		r = -EIO;
	if (gate->print_suppressions && out_gate_suppressions(stdout, verdict) < 0)
		r = -EIO;
	if (r < 0)
		return failed;
	return gate->armed && verdict->failed ? gate->error_exitcode : status;
}

/* Judges the report when a gate option was given (suppressions change the
 * report, so before it is written), then writes the report and the
 * verdict. The exit status: `status`, the gate's exit code, or `failed`
 * when something could not be written. */
static int report_and_judge(struct gate_config *gate, struct model_report *report,
			    const struct output_options *out, bool write_text,
			    FILE *fallback, int status, int failed)
{
	struct gate_verdict verdict = { 0 };

	if (gate->wanted && gate_judge(gate, report, &verdict) < 0) {
		fprintf(stderr, "leakscope: judging the report: %s\n", strerror(ENOMEM));
		return failed;
	}
	if (write_text && write_report(report, out, fallback) < 0)
		status = failed;
	else if (gate->wanted)
		status = gate_outputs(gate, report, &verdict, status, failed);
	report->gate = NULL;
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

/* A run can take hours: an output file that cannot be written fails it
 * before the command starts, not after. The file is created (empty) now,
 * as the report would create it. */
static int check_writable(const char *path)
{
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		fprintf(stderr, "leakscope: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	close(fd);
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
		outcome->still_running, outcome->still_running == 1 ? "process" : "processes",
		command, pids);
}

static int run_command(int argc, char **argv, struct gate_config *gate)
{
	struct output_options out = { 0 };
	struct collect_run run = { 0 };
	struct collect_outcome outcome;
	struct model_report report = { 0 };
	struct errmsg err = { "" };
	int r;

	if (parse_options(argc, argv, true, &out, &run, NULL, gate) < 0)
		return EXIT_TOOL_FAILED;
	if (optind >= argc) {
		usage_error("%s: no command to run", "run");
		return EXIT_TOOL_FAILED;
	}
	if (load_gate(gate) < 0)
		return EXIT_USAGE;
	if (check_writable(out.path) < 0 || check_writable(out.json_path) < 0 ||
	    check_writable(gate->junit_path) < 0 || check_writable(gate->sarif_path) < 0 ||
	    check_writable(gate->write_baseline) < 0)
		return EXIT_TOOL_FAILED;
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
	outcome.exit_code = report_and_judge(gate, &report, &out,
					     report.count || out.json_path, stderr,
					     outcome.exit_code, EXIT_TOOL_FAILED);
	if (gate->armed && outcome.missing[0] && outcome.exit_code == 0) {
		fprintf(stderr, "leakscope: gate FAILED: no snapshot of %s to judge\n",
			run.argv[0]);
		outcome.exit_code = gate->error_exitcode;
	}
	if (outcome.still_running)
		print_still_running(&outcome, run.argv[0]);
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
static int command_stats(int argc, char **argv, bool is_diff,
			 const struct output_options *out, struct statcmd *stats)
{
	struct errmsg err = { "" };
	int operands = argc - optind, r;

	stats->json = out->format == FORMAT_JSON;
	stats->output = out->path;
	stats->json_copy = out->json_path;
	if (check_stats(operands, is_diff, stats) < 0) {
		statcmd_free(stats);
		return EXIT_USAGE;
	}
	if (is_diff)
		r = statcmd_diff(stats, argv[optind], argv[optind + 1], &err);
	else if (stats->timeline_dir)
		r = statcmd_timeline(stats, &err);
	else
		r = statcmd_report(stats, argv + optind, operands, &err);
	statcmd_free(stats);
	if (r < 0)
		fprintf(stderr, "leakscope: %s\n", err.text);
	return r < 0 ? EXIT_FAILED : 0;
}

static int command_run(int argc, char **argv)
{
	struct gate_config gate;
	int status;

	gate_config_init(&gate);
	status = run_command(argc, argv, &gate);
	gate_config_free(&gate);
	return status;
}

static int command_diff(int argc, char **argv)
{
	struct output_options out = { 0 };
	struct collect_run unused = { 0 };
	struct statcmd stats = { 0 };

	if (parse_options(argc, argv, false, &out, &unused, &stats, NULL) < 0) {
		statcmd_free(&stats);
		return EXIT_USAGE;
	}
	return command_stats(argc, argv, true, &out, &stats);
}

static int report_command(int argc, char **argv, struct gate_config *gate)
{
	struct output_options out = { 0 };
	struct collect_run unused = { 0 };
	struct statcmd stats = { 0 };
	struct model_report report = { 0 };
	struct errmsg err = { "" };
	int status = 0;

	if (parse_options(argc, argv, false, &out, &unused, &stats, gate) < 0) {
		statcmd_free(&stats);
		return EXIT_USAGE;
	}
	if ((stats.grouped || stats.timeline_dir || stats.svg_path) && gate->wanted) {
		statcmd_free(&stats);
		usage_error("report: the gate judges leak reports, not statistics");
		return EXIT_USAGE;
	}
	if (stats.grouped || stats.timeline_dir || stats.svg_path)
		return command_stats(argc, argv, false, &out, &stats);
	if (optind >= argc) {
		usage_error("%s: no snapshot file or directory given", "report");
		return EXIT_USAGE;
	}
	if (load_gate(gate) < 0)
		return EXIT_USAGE;
	if (collect_from_files(argv + optind, argc - optind, &report, &err) < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_FAILED;
	}
	status = report_and_judge(gate, &report, &out, true, stdout, status, EXIT_FAILED);
	model_free_report(&report);
	return status;
}

static int command_report(int argc, char **argv)
{
	struct gate_config gate;
	int status;

	gate_config_init(&gate);
	status = report_command(argc, argv, &gate);
	gate_config_free(&gate);
	return status;
}

static int command_snapshot(int argc, char **argv)
{
	struct snapcmd_options opts;
	struct errmsg err = { "" };
	char path[4096];

	if (snapcmd_parse(argc, argv, &opts, &err) < 0) {
		usage_error("%s", err.text);
		return EXIT_USAGE;
	}
	if (snapcmd_request(&opts, path, sizeof(path), &err) < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_FAILED;
	}
	printf("%s\n", path);
	return 0;
}

static int run_named(const char *command, int argc, char **argv)
{
	if (strcmp(command, "run") == 0)
		return command_run(argc, argv);
	if (strcmp(command, "report") == 0)
		return command_report(argc, argv);
	if (strcmp(command, "diff") == 0)
		return command_diff(argc, argv);
	if (strcmp(command, "snapshot") == 0)
		return command_snapshot(argc, argv);
	fprintf(stderr, "leakscope: unknown command '%s' (see leakscope --help)\n",
		command);
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
	return finish(run_named(command, argc - 1, argv + 1));
}
