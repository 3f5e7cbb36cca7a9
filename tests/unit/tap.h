/* SPDX-License-Identifier: MIT */
/* A tiny TAP producer for the unit tests: one "ok N - what" line per check,
 * the plan at the end, exit status 1 when any check failed. */
#ifndef LEAKSCOPE_TAP_H
#define LEAKSCOPE_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_run, tap_failed;

__attribute__((format(printf, 2, 3), unused))
static bool ok(bool condition, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	if (!condition)
		tap_failed++;
	printf("%sok %d - ", condition ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return condition;
}

/* Extra detail after a failed check, as a TAP comment. */
__attribute__((format(printf, 1, 2), unused))
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_run);
	return tap_failed ? 1 : 0;
}

#endif
