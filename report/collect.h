/* SPDX-License-Identifier: MIT */
/* Getting a report model: from a program run under the shim, or from
 * snapshot files and directories written by an earlier run. */
#ifndef LEAKSCOPE_COLLECT_H
#define LEAKSCOPE_COLLECT_H

#include <stdbool.h>

#include "errmsg.h"
#include "model.h"

struct collect_run {
	char *const *argv;
	const char *shim;         /* NULL: found next to the leakscope binary */
	const char *snapshot_dir; /* NULL: a private temporary directory */
	bool keep_snapshots;      /* keep the temporary directory and say where */
	bool wait_children;       /* wait for every descendant, not only argv */
	unsigned depth;           /* 0: the shim's default */
};

/* What happened to the program, for main.c to report and pass on. */
struct collect_outcome {
	int exit_code;       /* the program's: 128 + N when killed by signal N */
	int spawn_error;     /* errno when it could not be started, else 0 */
	/* why the started process left no snapshot, or "": the signal that
	 * killed it (no report is written then), or what diagnose.c found */
	char missing[160];
	char *kept_dir;      /* the temporary directory kept, or NULL (malloc'd) */
	/* descendants still running when the command ended: not reported; the
	 * temporary directory is kept for their snapshots */
	unsigned still_running;
	pid_t first_running;
};

/* Runs the program and builds the report of every process of its tree. 0,
 * or a negative errno when leakscope itself failed. */
int collect_from_run(const struct collect_run *opts, struct model_report *report,
		     struct collect_outcome *outcome, struct errmsg *err);

/* Snapshot files, or directories whose *.lks files are all read; the last
 * snapshot of each process is reported. */
int collect_from_files(char *const *paths, int count,
		       struct model_report *report, struct errmsg *err);

#endif
