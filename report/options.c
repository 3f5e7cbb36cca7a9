/* SPDX-License-Identifier: MIT */
/* The option table made into getopt's long options, the usage text and
 * the check that an option belongs to the command; the values that need
 * more than a flag, a text or a number are parsed here too. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "commands.h"
#include "options.h"
#include "pyframes.h"

/* ---- values that need parsing ----------------------------------------- */

static int set_format(struct cli_args *args, const char *name, const char *arg,
		      struct errmsg *err)
{
	if (strcmp(arg, "text") == 0)
		args->out.format = FORMAT_TEXT;
	else if (strcmp(arg, "json") == 0)
		args->out.format = FORMAT_JSON;
	else {
		errmsg_set(err, "unknown format '%s' (text or json)", arg);
		return -EINVAL;
	}
	return 0;
}

static int set_colour(struct cli_args *args, const char *name, const char *arg,
		      struct errmsg *err)
{
	static const char *const names[] = { "auto", "always", "never" };

	for (int i = 0; i < 3; i++)
		if (strcmp(arg, names[i]) == 0) {
			args->out.colour = (enum cli_colour)i;
			return 0;
		}
	errmsg_set(err, "unknown --color value '%s' (auto, always or never)", arg);
	return -EINVAL;
}

static int set_group_by(struct cli_args *args, const char *name, const char *arg,
			struct errmsg *err)
{
	if (stats_key_parse(arg, &args->stats.stats.key) == 0)
		return 0;
	errmsg_set(err, "unknown --group-by key '%s' (traceback, lineno, function, file, "
		   "module, pyline or pytraceback)", arg);
	return -EINVAL;
}

static int set_top(struct cli_args *args, const char *name, const char *arg,
		   struct errmsg *err)
{
	uint64_t top;
	int r = parse_count(name, arg, 0, SIZE_MAX, &top, err);

	args->stats.stats.top = args->out.top = (size_t)top;
	args->stats.stats.top_given = r == 0;
	return r;
}

/* A setting of the model's, for every snapshot this command reads. */
static int keep_python_internals(struct cli_args *args, const char *name, const char *arg,
				 struct errmsg *err)
{
	pyframes_keep_internals();
	return 0;
}

/* Repeatable options keep every value, in the order given; `r` is how
 * keeping one went. */
static int kept(int r, struct errmsg *err)
{
	if (r < 0)
		errmsg_set(err, "out of memory");
	return r;
}

static int add_alloc_fn(struct cli_args *args, const char *name, const char *arg,
			struct errmsg *err)
{
	struct stats_options *stats = &args->stats.stats;

	return kept(array_append_text(&stats->alloc_fns, &stats->alloc_fn_count,
				      &stats->alloc_fn_capacity, arg), err);
}

static int add_include(struct cli_args *args, const char *name, const char *arg,
		       struct errmsg *err)
{
	return kept(filter_add(&args->stats.stats.filters, true, arg), err);
}

static int add_exclude(struct cli_args *args, const char *name, const char *arg,
		       struct errmsg *err)
{
	return kept(filter_add(&args->stats.stats.filters, false, arg), err);
}

static int add_skip_exe(struct cli_args *args, const char *name, const char *arg,
			struct errmsg *err)
{
	struct exe_filter *f = &args->exe;

	return kept(array_append_text(&f->skip, &f->skip_count, &f->skip_capacity, arg), err);
}

static int add_only_exe(struct cli_args *args, const char *name, const char *arg,
			struct errmsg *err)
{
	struct exe_filter *f = &args->exe;

	return kept(array_append_text(&f->only, &f->only_count, &f->only_capacity, arg), err);
}

static int set_fail_on(struct cli_args *args, const char *name, const char *arg,
		       struct errmsg *err)
{
	return gate_parse_fail_on(arg, &args->gate.fail_on, err);
}

static int set_accept_incomplete(struct cli_args *args, const char *name, const char *arg,
				 struct errmsg *err)
{
	return incomplete_parse(arg, &args->gate.accept_incomplete, err);
}

static int add_suppressions(struct cli_args *args, const char *name, const char *arg,
			    struct errmsg *err)
{
	struct gate_config *gate = &args->gate;

	return kept(array_append_text(&gate->suppression_files, &gate->suppression_file_count,
				      &gate->suppression_file_capacity, arg), err);
}

/* "A,B": two labels a snapshot can have, the earlier first. */
static int set_between(struct cli_args *args, const char *name, const char *arg,
		       struct errmsg *err)
{
	const char *comma = strchr(arg, ',');
	char *first;

	if (!comma || comma == arg || !comma[1] || strchr(comma + 1, ',')) {
		errmsg_set(err, "%s wants two snapshot labels, A,B, not '%s'", name, arg);
		return -EINVAL;
	}
	first = strndup(arg, (size_t)(comma - arg));
	if (!first) {
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	free(args->between_first);
	args->between_first = first;
	args->gate.between[0] = first;
	args->gate.between[1] = comma + 1;
	if (snapshot_check_label(first, err) < 0 || snapshot_check_label(comma + 1, err) < 0)
		return -EINVAL;
	return 0;
}

static int set_error_exitcode(struct cli_args *args, const char *name, const char *arg,
			      struct errmsg *err)
{
	uint64_t code;
	int r = parse_count(name, arg, 0, 255, &code, err);

	if (r == 0 && code == 0) {
		errmsg_set(err, "%s 0 would let a failing gate pass", name);
		r = -EINVAL;
	}
	args->gate.error_exitcode = (int)code;
	return r;
}

static int set_label(struct cli_args *args, const char *name, const char *arg,
		     struct errmsg *err)
{
	args->snapshot.label = arg;
	return snapshot_check_label(arg, err);
}

/* ---- the table ---------------------------------------------------------- */

#define FIELD(field) .offset = offsetof(struct cli_args, field), \
		     .size = sizeof(((struct cli_args *)0)->field)
#define FLAG(field) .kind = VALUE_FLAG, FIELD(field)
#define TEXT(field) .kind = VALUE_TEXT, FIELD(field)
#define COUNT(field, lowest, highest) .kind = VALUE_COUNT, FIELD(field), \
				      .min = (lowest), .max = (highest)
#define CALL(function) .kind = VALUE_CALL, .call = function

const struct cli_option cli_options[OPT_COUNT] = {
#define OPT(id, long_name, short, argument, command_set, value, mark_bits, help_text) \
	[OPT_##id] = { .name = long_name, .short_name = short, .arg = argument, \
		       .commands = command_set, value, .marks = mark_bits, .help = help_text },
#include "options.inc"
#undef OPT
};

/* getopt_long's codes for long options: past every short option's. */
#define LONG_CODE 256

void cli_args_init(struct cli_args *args)
{
	*args = (struct cli_args){ .out = { .top = TEXT_TOP_DEFAULT },
				   .snapshot = { .timeout_s = SNAPSHOT_DEFAULT_TIMEOUT } };
	gate_config_init(&args->gate);
}

void cli_args_free(struct cli_args *args)
{
	free(args->stats.stats.alloc_fns);
	filter_free(&args->stats.stats.filters);
	gate_config_free(&args->gate);
	exe_filter_free(&args->exe);
	free(args->between_first);
}

int parse_count(const char *name, const char *arg, uint64_t min, uint64_t max,
		uint64_t *value, struct errmsg *err)
{
	unsigned long long parsed;
	char *end;

	errno = 0;
	parsed = strtoull(arg, &end, 10);
	if (arg[0] >= '0' && arg[0] <= '9' && !errno && !*end && parsed >= min &&
	    parsed <= max) {
		*value = parsed;
		return 0;
	}
	if (min == 0 && max == UINT64_MAX)
		errmsg_set(err, "%s wants a number, not '%s'", name, arg);
	else
		errmsg_set(err, "%s wants a number from %llu to %llu, not '%s'", name,
			   (unsigned long long)min, (unsigned long long)max, arg);
	return -EINVAL;
}

static int store_value(const struct cli_option *opt, struct cli_args *args,
		       const char *name, const char *arg, struct errmsg *err)
{
	char *field = (char *)args + opt->offset;
	uint64_t count;
	int r;

	switch (opt->kind) {
	case VALUE_FLAG: *(bool *)field = true; return 0;
	case VALUE_TEXT: *(const char **)field = arg; return 0;
	case VALUE_CALL: return opt->call(args, name, arg, err);
	case VALUE_COUNT: break;
	}
	r = parse_count(name, arg, opt->min, opt->max, &count, err);
	if (r == 0 && opt->size == sizeof(uint32_t))
		*(uint32_t *)field = (uint32_t)count;
	else if (r == 0)
		*(uint64_t *)field = count;
	return r;
}

/* "'run' only", "'report' and 'diff'", "'run', 'report' and 'diff'". */
static void command_list(unsigned commands, char *text, size_t size)
{
	static const char *const names[] = { "run", "report", "diff", "snapshot" };
	size_t count = (size_t)__builtin_popcount(commands), used = 0, listed = 0;

	text[0] = '\0';
	for (size_t i = 0; i < 4 && used < size; i++) {
		if (!(commands & (1u << i)))
			continue;
		listed++;
		used += (size_t)snprintf(text + used, size - used, "%s'%s'",
					 listed == 1 ? "" : listed == count ? " and " : ", ",
					 names[i]);
	}
	if (count == 1 && used < size)
		snprintf(text + used, size - used, " only");
}

static int take_option(int id, const char *name, struct cli_args *args,
		       struct errmsg *err)
{
	const struct cli_option *opt = &cli_options[id];

	if (opt->marks & MARK_STATS)
		args->stats.wanted = true;
	if (opt->marks & MARK_GATE)
		args->gate.wanted = true;
	if (opt->marks & MARK_ARMS)
		args->gate.armed = true;
	return store_value(opt, args, name, optarg, err);
}

/* An option left out of the usage that sets what an earlier one sets is
 * its alias (--colour): one getopt code, so that an abbreviation of both
 * is not ambiguous. */
static int canonical_id(int id)
{
	const struct cli_option *opt = &cli_options[id];

	for (int earlier = 0; !opt->help && earlier < id; earlier++) {
		const struct cli_option *e = &cli_options[earlier];

		if (e->kind == opt->kind && e->offset == opt->offset && e->call == opt->call)
			return earlier;
	}
	return id;
}

/* getopt_long's tables of the command's own options: abbreviations are
 * resolved among them only. */
static void getopt_tables(enum cli_command command, struct option *longs, char *shorts)
{
	size_t used = 0, count = 0;

	/* '+' stops run's options at the first operand: the program's are not
	 * ours; ':' tells a missing value from an unknown option */
	if (command == CMD_RUN)
		shorts[used++] = '+';
	shorts[used++] = ':';
	for (int id = 0; id < OPT_COUNT; id++) {
		const struct cli_option *opt = &cli_options[id];

		if (!(opt->commands & command))
			continue;
		longs[count++] = (struct option){ opt->name, opt->arg ? required_argument
								 : no_argument,
						  NULL, LONG_CODE + canonical_id(id) };
		if (opt->short_name) {
			shorts[used++] = opt->short_name;
			if (opt->arg)
				shorts[used++] = ':';
		}
	}
	longs[count] = (struct option){ NULL, 0, NULL, 0 };
	shorts[used] = '\0';
}

/* The option getopt did not know: one of another command (its name given
 * in full), or none at all. */
static int refuse(const char *given, int short_name, struct errmsg *err)
{
	size_t len = strcspn(given, "=");
	char commands[64];

	for (int id = 0; id < OPT_COUNT; id++) {
		const struct cli_option *opt = &cli_options[id];

		if (short_name ? opt->short_name != short_name
			       : strncmp(given, "--", 2) || len - 2 != strlen(opt->name) ||
				 strncmp(given + 2, opt->name, len - 2))
			continue;
		command_list(opt->commands, commands, sizeof(commands));
		if (short_name)
			errmsg_set(err, "-%c is an option of %s", short_name, commands);
		else
			errmsg_set(err, "%.*s is an option of %s", (int)len, given, commands);
		return -EINVAL;
	}
	errmsg_set(err, "unknown option '%s'", given);
	return -EINVAL;
}

/* The option as the user named it, for messages. */
static int option_id(int c, char *name, size_t size)
{
	int id = 0;

	if (c >= LONG_CODE) {
		id = c - LONG_CODE;
		snprintf(name, size, "--%s", cli_options[id].name);
		return id;
	}
	while (cli_options[id].short_name != c)
		id++;
	snprintf(name, size, "-%c", c);
	return id;
}

int cli_parse(int argc, char **argv, enum cli_command command, struct cli_args *args,
	      struct errmsg *err)
{
	struct option longs[OPT_COUNT + 1];
	char shorts[2 * OPT_COUNT + 3], name[40];
	int c;

	getopt_tables(command, longs, shorts);
	optind = 0; /* 0: a fresh start, also after an earlier parse */
	opterr = 0;
	while (!args->help && (c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		int r;

		if (c == ':') {
			errmsg_set(err, "%s needs a value", argv[optind - 1]);
			return -EINVAL;
		}
		if (c == '?')
			return refuse(argv[optind - 1], optopt, err);
		r = take_option(option_id(c, name, sizeof(name)), name, args, err);
		if (r < 0)
			return r;
	}
	return optind;
}

/* ---- the usage text ----------------------------------------------------- */

static const char synopsis[] =
	"usage: leakscope run [OPTIONS] [--] COMMAND [ARGS...]\n"
	"       leakscope report [OPTIONS] SNAPSHOT|DIRECTORY...\n"
	"       leakscope diff [OPTIONS] OLD NEW\n"
	"       leakscope snapshot [--label L] [--timeout SEC] PID\n"
	"       leakscope --help | --version\n";

/* What each set of commands is, above its options. */
static const struct {
	unsigned commands;
	const char *text;
} headings[] = {
	{ CMD_RUN, "\nrun: runs COMMAND with libleakscope.so preloaded and reports the memory\n"
		   "each process of its tree never freed; exits with COMMAND's status.\n" },
	{ CMD_REPORT | CMD_DIFF,
	  "\nreport: reports snapshots written by LD_PRELOAD=libleakscope.so runs.\n"
	  "\ndiff: how live memory and open handles changed from snapshot OLD to NEW,\n"
	  "what changed most first. These also make 'report' print statistics:\n" },
	{ CMD_REPORT, "report --timeline DIR: totals of a series of snapshots, fastest-growing "
		      "sites\n" },
	{ CMD_SNAPSHOT, "\nsnapshot: asks process PID, started with "
			"LEAKSCOPE_OPTIONS=snapshot_signal=N,\n"
			"for a snapshot now and prints its path (docs/SNAPSHOTS.md).\n" },
	{ CMD_RUN | CMD_REPORT, "\ngate (run and report; docs/CI.md): exit --error-exitcode "
				"when new\nfindings of the chosen classes, not suppressed, go "
				"over the limits\n" },
	{ CMD_RUN | CMD_REPORT | CMD_DIFF, "\ncommon options:\n" },
};

static void print_heading(FILE *out, unsigned commands)
{
	for (size_t i = 0; i < sizeof(headings) / sizeof(headings[0]); i++)
		if (headings[i].commands == commands)
			fputs(headings[i].text, out);
}

/* "  -d, --snapshot-dir DIR  write the ...": help from column 26, its
 * continuation lines too. */
static void print_option(FILE *out, const struct cli_option *opt)
{
	char left[64];
	const char *help = opt->help;

	snprintf(left, sizeof(left), "--%s%s%s", opt->name, opt->arg ? " " : "",
		 opt->arg ? opt->arg : "");
	if (opt->short_name)
		fprintf(out, "  -%c, %-18s  ", opt->short_name, left);
	else
		fprintf(out, "      %-18s  ", left);
	while (help) {
		size_t len = strcspn(help, "\n");

		fprintf(out, "%.*s\n", (int)len, help);
		help = help[len] ? help + len + 1 : NULL;
		if (help)
			fprintf(out, "%26s", "");
	}
}

int cli_usage(FILE *out)
{
	unsigned previous = 0;

	fputs(synopsis, out);
	for (int id = 0; id < OPT_COUNT; id++) {
		const struct cli_option *opt = &cli_options[id];

		if (!opt->help)
			continue;
		if (opt->commands != previous)
			print_heading(out, opt->commands);
		previous = opt->commands;
		print_option(out, opt);
	}
	if (fflush(out) != 0 || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "leakscope: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see leakscope --help)\n");
	return -EINVAL;
}
