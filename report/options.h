/* SPDX-License-Identifier: MIT */
/* The command line's options (options.inc) and the settings they fill in
 * for each command: one parser, one usage text, one "is an option of"
 * check, all made from the table. */
#ifndef LEAKSCOPE_OPTIONS_H
#define LEAKSCOPE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errmsg.h"
#include "exefilter.h"
#include "gate.h"
#include "session.h"
#include "stats.h"

enum cli_command {
	CMD_RUN = 1u << 0,
	CMD_REPORT = 1u << 1,
	CMD_DIFF = 1u << 2,
	CMD_SNAPSHOT = 1u << 3,
	CMD_ALL = CMD_RUN | CMD_REPORT | CMD_DIFF | CMD_SNAPSHOT,
};

enum cli_format { FORMAT_TEXT, FORMAT_JSON };
enum cli_colour { COLOUR_AUTO, COLOUR_ALWAYS, COLOUR_NEVER };

/* Where and how the report is written (run, report, diff). */
struct output_options {
	enum cli_format format;
	enum cli_colour colour;
	const char *path;      /* NULL: the command's default stream */
	const char *json_path; /* NULL: no JSON copy besides the main output */
	bool show_reachable;   /* text: list reachable sites, not only the total */
	bool retainers;        /* text: what keeps the largest reachable sites */
	size_t top;            /* text: possibly lost and reachable sites listed */
};

/* Text lists the largest entries, as tracemalloc's users print
 * `top_stats[:10]`: a diff of a Python program has thousands of sites, most
 * unchanged, and its exit report hundreds possibly lost. JSON is for
 * programs: every entry (of statistics: unless --top says). */
#define TEXT_TOP_DEFAULT 20

/* diff's options, and report's when it prints statistics or a timeline. */
struct stats_args {
	struct stats_options stats;
	bool wanted;              /* report: a statistics or timeline option */
	const char *timeline_dir; /* report --timeline DIR */
	const char *svg_path;     /* --svg FILE: the timeline's chart */
};

#define SNAPSHOT_DEFAULT_TIMEOUT 10 /* seconds */

struct snapshot_args {
	const char *label;   /* NULL: the shim's default, "request" */
	unsigned timeout_s;
};

/* Everything an option can set; each command reads its part. */
struct cli_args {
	struct output_options out;
	struct session_options run;
	struct stats_args stats;
	struct gate_config gate;
	struct snapshot_args snapshot;
	struct exe_filter exe; /* --skip-exe, --only-exe */
	char *between_first;   /* --between's first label (malloc'd) */
	bool help;
};

enum cli_option_id {
#define OPT(id, ...) OPT_##id,
#include "options.inc"
#undef OPT
	OPT_COUNT
};

enum cli_value_kind { VALUE_FLAG, VALUE_TEXT, VALUE_COUNT, VALUE_CALL };

enum {
	MARK_STATS = 1u << 0,
	MARK_GATE = 1u << 1,
	MARK_ARMS = 1u << 2,
};

struct cli_option {
	const char *name;
	char short_name;        /* 0: none */
	const char *arg;        /* NULL: takes no value */
	unsigned commands;      /* enum cli_command bits */
	enum cli_value_kind kind;
	size_t offset, size;    /* the field in struct cli_args */
	uint64_t min, max;      /* VALUE_COUNT */
	int (*call)(struct cli_args *args, const char *name, const char *arg,
		    struct errmsg *err);
	unsigned marks;
	const char *help;       /* NULL: left out of the usage */
};

extern const struct cli_option cli_options[OPT_COUNT];

void cli_args_init(struct cli_args *args);
void cli_args_free(struct cli_args *args);

/* The options of `command` in argv[1..] into `args`, up to the first
 * operand for `run` (the rest is the program's) or all of them otherwise
 * (operands are moved to the end). Stops at --help. The index of the first
 * operand, or -EINVAL with the reason in `err`. */
int cli_parse(int argc, char **argv, enum cli_command command, struct cli_args *args,
	      struct errmsg *err);

/* The usage text, made from the table. 0 or a negative errno. */
int cli_usage(FILE *out);
/* "leakscope: WHY (see leakscope --help)" on stderr; -EINVAL. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A decimal number, digits only, from min to max. 0, or -EINVAL with
 * "NAME wants ..." in `err`. */
int parse_count(const char *name, const char *arg, uint64_t min, uint64_t max,
		uint64_t *value, struct errmsg *err);

#endif
