/* SPDX-License-Identifier: MIT */
/* What a run leaves beside the snapshots, as empty files whose names say
 * it (hidden: no reader of *.lks ever takes one for a snapshot):
 *   .started.PID               leakscope run started PID (the tree's root)
 *   .killed.PID.SIGNAL.NAME    run saw PID, named NAME, die of SIGNAL; the
 *                              shim in a parent that reaped it leaves
 *                              .killed.PID.SIGNAL (format.h)
 *   .unwritten.PID.WHY         the shim could not write PID's end snapshot
 *                              (format.h: nofile-N, every fd in use;
 *                              failed-E-STEP, a step refused)
 * so that `leakscope report DIR` later knows what run knew. */
#ifndef LEAKSCOPE_MARKS_H
#define LEAKSCOPE_MARKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"

#define MARK_STARTED ".started."
#define MARK_KILLED LKS_KILLED_PREFIX

struct marks {
	int32_t started;           /* pid of the newest .started mark, or 0 */
	int64_t started_ns;        /* its modification time */
	struct model_no_data *ended; /* killed or unwritten, as marked */
	size_t ended_count, ended_capacity;
};

bool marks_is_mark(const char *name);
/* Takes in the mark `name` in `dir`; one it cannot parse is ignored. 0 or
 * -ENOMEM. */
int marks_add(struct marks *marks, const char *dir, const char *name);
void marks_free(struct marks *marks);

/* `leakscope run`'s side, into the snapshot directory. 0 or -errno. */
int marks_write_started(const char *dir, pid_t pid);
int marks_write_killed(const char *dir, pid_t pid, int signal, const char *name);

#endif
