/* SPDX-License-Identifier: MIT */
/* `leakscope diff`, and `report`'s statistics (--group-by ...) and
 * --timeline modes: their options, and loading, grouping and writing. */
#ifndef LEAKSCOPE_STATCMD_H
#define LEAKSCOPE_STATCMD_H

#include <stdbool.h>

#include "errmsg.h"
#include "stats.h"

struct statcmd {
	struct stats_options stats;
	bool grouped;             /* report: a statistics or timeline option */
	const char *timeline_dir; /* report --timeline DIR */
	const char *svg_path;     /* --svg FILE: the timeline's chart */
	/* where output goes, from the common options */
	bool json;
	const char *output;       /* NULL: stdout */
	const char *json_copy;    /* --json FILE: a JSON copy besides */
};

/* Options that do not go together. 0 or -EINVAL. */
int statcmd_check(const struct statcmd *cmd, bool is_diff, struct errmsg *err);

/* Each writes its output and returns 0 or a negative errno. */
int statcmd_diff(const struct statcmd *cmd, const char *old_path,
		 const char *new_path, struct errmsg *err);
int statcmd_report(const struct statcmd *cmd, char *const *paths, int count,
		   struct errmsg *err);
int statcmd_timeline(const struct statcmd *cmd, struct errmsg *err);

void statcmd_free(struct statcmd *cmd);

#endif
