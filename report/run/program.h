/* SPDX-License-Identifier: MIT */
/* Running the program under the shim, as system(3) runs a command: the
 * terminal's signals reach the program, and SIGTERM, SIGINT and SIGHUP sent
 * to leakscope are passed on (relay.h). leakscope is the tree's subreaper:
 * a descendant orphaned by its parent becomes its child, so it is known
 * when COMMAND ends before it. When leakscope is killed, the tree ends with
 * it (launch.h, guard.h). */
#ifndef LEAKSCOPE_PROGRAM_H
#define LEAKSCOPE_PROGRAM_H

#include <stdbool.h>
#include <sys/types.h>

#include "errmsg.h"
#include "guard.h"

struct run_options {
	char *const *argv;        /* the command; argv[0] is looked up in PATH */
	const char *shim;         /* absolute path of libleakscope.so */
	const char *snapshot_dir; /* absolute, without ':' */
	const char *run_token;    /* 32 hex digits, for the shim's run_token option */
	unsigned depth;           /* stack depth; 0 leaves the shim's default */
	bool wait_children;       /* wait for every descendant, not only COMMAND */
	struct guard *guard;      /* started; armed and released here; or NULL */
};

struct run_outcome {
	pid_t pid;
	int wait_status;
	int spawn_error; /* errno when the command could not be started, else 0 */
	/* descendants still running when COMMAND ended (not waited for) */
	unsigned still_running;
	pid_t first_running;
};

/* 0 once the program ran and was waited for (or could not be started: see
 * spawn_error); a negative errno when leakscope itself failed. */
int run_program(const struct run_options *opts, struct run_outcome *out,
		struct errmsg *err);

/* The program's own exit status; 128 + signal number when it was killed. */
int run_exit_code(int wait_status);

#endif
