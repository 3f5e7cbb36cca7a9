/* SPDX-License-Identifier: MIT */
/* Leaks and handles that are not the program's to fix. Built-in rules name
 * the C runtime's own one-time allocations (Valgrind's default.supp and
 * LSan's built-in list do the same); suppression files given with
 * --suppressions add the user's (format in docs/CI.md). Suppressed sites are
 * counted apart and never reported as leaked.
 * The two apply at different times: built-in rules while each process's
 * model is built (model_build.c), so every output and statistic leaves the
 * runtime's own allocations out; the user's only when a gate option asks
 * for a verdict (gate_judge), before any output is written. */
#ifndef LEAKSCOPE_SUPPRESS_H
#define LEAKSCOPE_SUPPRESS_H

#include <stdint.h>

#include "model.h"

/* The name of the built-in rule that matches `stack`, or NULL. */
const char *suppress_builtin(const struct model_stack *stack);
/* Marks the handle groups of by-design handles (bash's script fd, make's
 * jobserver) as suppressed by their built-in rule and counts them apart.
 * `run` and `report` apply it before any output, unless
 * --no-builtin-handle-suppressions. */
void suppress_builtin_handles(struct model_report *report);

enum suppress_kind { SUPPRESS_LEAK, SUPPRESS_HANDLE };

struct suppress_rule {
	enum suppress_kind kind;
	char *name;    /* "FILE:LINE: leak:PATTERN", as reports show it */
	char *glob;    /* the pattern as an fnmatch(3) glob */
	/* what it matched; a rule that matched nothing is "unused" */
	uint64_t sites, blocks, bytes, handles;
};

struct suppress_rules {
	struct suppress_rule *rules;
	size_t count, capacity;
};

/* Adds the rules of one suppression file. 0, or a negative errno with
 * "FILE:LINE: why" in `err` for a file that cannot be read or parsed. */
int suppress_load_file(struct suppress_rules *rules, const char *path,
		       struct errmsg *err);

/* Marks the leak sites and handle groups the rules match as suppressed
 * (the first matching rule wins), moves them out of each process's totals
 * and counts what each rule matched. */
void suppress_apply(struct suppress_rules *rules, struct model_report *report);

/* The name of the first leak rule that matches `stack`, or NULL; nothing
 * is counted (the growth gate asks of snapshots that are not reported). */
const char *suppress_leak_rule(const struct suppress_rules *rules,
			       const struct model_stack *stack);

void suppress_free(struct suppress_rules *rules);

#endif
