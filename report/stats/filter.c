/* SPDX-License-Identifier: MIT */
/* Glob filters on a site's frame. Module and file patterns match the full
 * path or its last component: "libc.so*" matches /lib/x86_64-linux-gnu/libc.so.6. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "filter.h"

int filter_add(struct filters *filters, bool include, const char *pattern)
{
	if (include)
		return array_append_text(&filters->include, &filters->include_count,
					 &filters->include_capacity, pattern);
	return array_append_text(&filters->exclude, &filters->exclude_count,
				 &filters->exclude_capacity, pattern);
}

void filter_free(struct filters *filters)
{
	free(filters->include);
	free(filters->exclude);
	*filters = (struct filters){ 0 };
}

static bool path_matches(const char *pattern, const char *path)
{
	const char *slash;

	if (!path)
		return false;
	if (fnmatch(pattern, path, 0) == 0)
		return true;
	slash = strrchr(path, '/');
	return slash && fnmatch(pattern, slash + 1, 0) == 0;
}

static bool frame_matches(const char *pattern, const struct model_frame *site)
{
	if (!site)
		return false;
	return path_matches(pattern, site->module) || path_matches(pattern, site->file) ||
	       (site->function && fnmatch(pattern, site->function, 0) == 0);
}

static bool any_matches(const char *const *patterns, size_t count,
			const struct model_frame *site)
{
	for (size_t i = 0; i < count; i++)
		if (frame_matches(patterns[i], site))
			return true;
	return false;
}

bool filter_keeps(const struct filters *filters, const struct model_frame *site)
{
	if (filters->include_count &&
	    !any_matches(filters->include, filters->include_count, site))
		return false;
	return !any_matches(filters->exclude, filters->exclude_count, site);
}
