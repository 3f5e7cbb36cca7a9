/* SPDX-License-Identifier: MIT */
/* Which processes a report judges: --skip-exe and --only-exe globs on the
 * executable, as Valgrind's --trace-children-skip. A process left out is
 * still listed, as skipped; it is never silently dropped. */
#ifndef LEAKSCOPE_EXEFILTER_H
#define LEAKSCOPE_EXEFILTER_H

#include <stddef.h>

struct exe_filter {
	const char **skip; /* globs: a process whose executable matches one is skipped */
	size_t skip_count, skip_capacity;
	const char **only; /* globs: when any, a process must match one of them */
	size_t only_count, only_capacity;
};

/* Why the process of executable `exe` (its /proc/self/exe path) is
 * skipped: the --skip-exe glob that matches it, or "" when no --only-exe
 * glob does; NULL when it is judged. A glob matches the whole path or its
 * last component; '*' matches '/' too. A NULL filter skips nothing. */
const char *exe_filter_skips(const struct exe_filter *filter, const char *exe);

void exe_filter_free(struct exe_filter *filter);

#endif
