/* SPDX-License-Identifier: MIT */
/* Filling in a struct errmsg; a NULL destination is allowed so that callers
 * which only want the errno need not provide one. */
#include <stdarg.h>
#include <stdio.h>

#include "errmsg.h"

void errmsg_set(struct errmsg *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}
