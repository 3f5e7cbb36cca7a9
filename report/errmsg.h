/* SPDX-License-Identifier: MIT */
/* The one-line error text that travels back to main.c, the only place that
 * prints errors: functions return a negative errno and fill this in. */
#ifndef LEAKSCOPE_ERRMSG_H
#define LEAKSCOPE_ERRMSG_H

struct errmsg {
	char text[512];
};

void errmsg_set(struct errmsg *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* errmsg_set, returning -EINVAL: the readers of input files reject what is
 * wrong with one call, their own words around the reason joined to its
 * format by a macro ("%s: line %u: " fmt). */
int errmsg_invalid(struct errmsg *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
