/* SPDX-License-Identifier: MIT */
/* Filling in a struct errmsg; a NULL destination is allowed so that callers
 * which only want the errno need not provide one. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "errmsg.h"

static void set(struct errmsg *err, const char *fmt, va_list ap)
{
	if (err)
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
}

void errmsg_set(struct errmsg *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(err, fmt, ap);
	va_end(ap);
}

int errmsg_invalid(struct errmsg *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(err, fmt, ap);
	va_end(ap);
	return -EINVAL;
}
