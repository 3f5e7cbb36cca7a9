/* SPDX-License-Identifier: MIT */
/* --skip-exe and --only-exe (exefilter.h). */
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>

#include "exefilter.h"
#include "frame.h"

static bool matches(const char *glob, const char *exe)
{
	return fnmatch(glob, exe, 0) == 0 || fnmatch(glob, base_name(exe), 0) == 0;
}

const char *exe_filter_skips(const struct exe_filter *filter, const char *exe)
{
	bool wanted;

	if (!filter)
		return NULL;
	for (size_t i = 0; i < filter->skip_count; i++)
		if (matches(filter->skip[i], exe))
			return filter->skip[i];
	wanted = filter->only_count == 0;
	for (size_t i = 0; !wanted && i < filter->only_count; i++)
		wanted = matches(filter->only[i], exe);
	return wanted ? NULL : "";
}

void exe_filter_free(struct exe_filter *filter)
{
	free(filter->skip);
	free(filter->only);
	*filter = (struct exe_filter){ 0 };
}
