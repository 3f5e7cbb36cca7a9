/* SPDX-License-Identifier: MIT */
/* The directory a run's snapshots go to: a private temporary one, or the
 * user's, in which only snapshots that appeared during the run count. */
#ifndef LEAKSCOPE_OUTDIR_H
#define LEAKSCOPE_OUTDIR_H

#include <stdbool.h>

#include "errmsg.h"
#include "snapset.h"

struct outdir {
	char *path; /* absolute: the program may change directory */
	bool temporary;
	struct namelist before; /* snapshots already there */
};

/* `requested` NULL: a new mkdtemp directory under $TMPDIR or /tmp. A
 * requested one must be the user's and writable by nobody else, unless
 * `shared` (-EPERM with the reason). */
int outdir_open(const char *requested, bool shared, struct outdir *dir,
		struct errmsg *err);
/* The snapshots written since outdir_open, as paths. */
int outdir_new_snapshots(const struct outdir *dir, struct namelist *paths,
			 struct errmsg *err);
/* Removes a temporary directory and its files unless `keep`. */
int outdir_close(struct outdir *dir, bool keep, struct errmsg *err);

#endif
