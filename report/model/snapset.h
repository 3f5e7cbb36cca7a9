/* SPDX-License-Identifier: MIT */
/* The snapshots of one run: found in a directory or named by the user, the
 * last one of each process kept, the started process put first. */
#ifndef LEAKSCOPE_SNAPSET_H
#define LEAKSCOPE_SNAPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "exefilter.h"
#include "marks.h"
#include "model.h"

struct snapshot;

struct namelist {
	char **names; /* sorted */
	size_t count;
};

struct snapset {
	struct snapshot **snaps;
	size_t count, capacity;
	const struct exe_filter *filter; /* processes left out; NULL: none */
	const char *between[2]; /* --between A,B labels; NULL: no growth gate */
	struct marks marks; /* what the run left beside them */
	int32_t started_pid; /* after snapset_select: the root when known, else 0 */
};

/* The *.lks file names in `dir` (not dot files: those are unfinished), and
 * the run's marks (marks.h). */
int snapset_list_dir(const char *dir, struct namelist *out, struct errmsg *err);
bool namelist_has(const struct namelist *list, const char *name);
void namelist_free(struct namelist *list);

/* A snapshot file, or a mark (by its name) */
int snapset_add_file(struct snapset *set, const char *path, struct errmsg *err);
int snapset_add_paths(struct snapset *set, const struct namelist *paths,
		      struct errmsg *err);
/* Keeps the last snapshot of each process (pid, start time and instance:
 * two processes with one pid are both kept); orders `first_pid` first (0:
 * the one a .started mark names, or else the likely root of the tree),
 * then the others by pid. */
void snapset_select(struct snapset *set, int32_t first_pid);
bool snapset_has_pid(const struct snapset *set, int32_t pid);
/* The processes, and those marked as ended without a snapshot. */
int snapset_build_report(const struct snapset *set, struct model_report *report,
			 struct errmsg *err);
/* With set->between: for each judged process, its first snapshot labelled
 * between[0] and its last labelled between[1] after it, into
 * report->pairs. Before snapset_select, which keeps only the last. 0 or a
 * negative errno. */
int snapset_build_pairs(const struct snapset *set, struct model_report *report,
			struct errmsg *err);
void snapset_free(struct snapset *set);

/* Snapshot files, or directories whose *.lks files are all read, into a
 * report of the last snapshot of each process, those `filter` leaves out
 * as skipped (NULL: none), and the pairs of `between` (NULLs: none). 0 or
 * a negative errno. */
int snapset_load_report(char *const *paths, int count, const struct exe_filter *filter,
			const char *const between[2], struct model_report *report,
			struct errmsg *err);

#endif
