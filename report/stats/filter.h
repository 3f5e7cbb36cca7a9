/* SPDX-License-Identifier: MIT */
/* Which sites a statistics table keeps: --include and --exclude globs on a
 * site's module, file or function (tracemalloc's Filter). */
#ifndef LEAKSCOPE_FILTER_H
#define LEAKSCOPE_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

struct filters {
	const char **include; /* a site is kept when one matches (none: all) */
	size_t include_count, include_capacity;
	const char **exclude; /* ... and none of these matches */
	size_t exclude_count, exclude_capacity;
};

/* The pattern is kept, not copied. 0 or -ENOMEM. */
int filter_add(struct filters *filters, bool include, const char *pattern);
void filter_free(struct filters *filters);

/* `site` is the frame a statistic is attributed to; NULL: no stack. */
bool filter_keeps(const struct filters *filters, const struct model_frame *site);

#endif
