/* SPDX-License-Identifier: MIT */
/* One `leakscope run` from the program to its report model: the shim found,
 * the snapshot directory made (or checked: nobody else may write it), the
 * program run with a random token of the run's, the snapshots that appeared
 * and carry the token read, and the directory kept or removed. */
#ifndef LEAKSCOPE_SESSION_H
#define LEAKSCOPE_SESSION_H

#include <stdbool.h>

#include "errmsg.h"
#include "exefilter.h"
#include "model.h"

struct session_options {
	char *const *argv;
	const char *shim;         /* NULL: found next to the leakscope binary */
	const char *snapshot_dir; /* NULL: a private temporary directory */
	bool keep_snapshots;      /* keep the temporary directory and say where */
	bool wait_children;       /* wait for every descendant, not only argv */
	bool shared_dir;          /* snapshot_dir may be writable by others */
	unsigned depth;           /* 0: the shim's default */
	const struct exe_filter *exe_filter; /* processes listed as skipped */
	const char *const *between; /* --between A,B: labels of the growth gate */
};

/* What happened to the program, for `run` to report and pass on. */
struct session_outcome {
	int exit_code;       /* the program's: 128 + N when killed by signal N */
	int spawn_error;     /* errno when it could not be started, else 0 */
	/* why the started process left no snapshot, or "": the signal that
	 * killed it (no report is written then), or what diagnose.c found */
	char missing[160];
	bool killed;         /* it left none because a signal killed it */
	bool dir_removed;    /* the snapshot directory was gone when it ended */
	/* why it left only snapshots taken while it ran (the report shows the
	 * last), or "" */
	char no_exit[160];
	char *kept_dir;      /* the temporary directory kept, or NULL (malloc'd) */
	/* descendants still running when the command ended: not reported; the
	 * temporary directory is kept for their snapshots */
	unsigned still_running;
	pid_t first_running;
	/* snapshots that appeared in the directory but do not carry this
	 * run's token: not judged; the first one's name */
	size_t ignored;
	char ignored_name[256];
	/* why the symbols of a kept snapshot could not be kept, or "" */
	char symbols_error[300];
};

/* Runs the program and builds the report of every process of its tree. 0,
 * or a negative errno when leakscope itself failed. */
int session_run(const struct session_options *opts, struct model_report *report,
		struct session_outcome *outcome, struct errmsg *err);

#endif
