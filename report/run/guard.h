/* SPDX-License-Identifier: MIT */
/* A watcher that ends the program's tree when `leakscope run` itself is
 * killed (SIGKILL, a crash): nothing of the run may keep running unwatched.
 * The started program has a parent-death signal of its own (launch.c); the
 * watcher ends the rest: every process whose environment holds this run's
 * LEAKSCOPE_OPTIONS entry (its run token makes it this run's alone: two
 * runs with the same options do not end each other's trees), whatever its
 * process group or session. Not
 * covered: processes that replaced their environment (a new one at exec,
 * or overwritten in place, as setproctitle does) or whose environment we
 * cannot read (another user, or not dumpable). */
#ifndef LEAKSCOPE_GUARD_H
#define LEAKSCOPE_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

struct guard {
	/* leakscope's end of a socket pair with the watcher: the marker, then
	 * a byte saying the tree ended well; end of file comes back once the
	 * watcher has exited */
	int fd;
	pid_t middle; /* the process that forked it, until reaped */
	bool armed;   /* the marker was sent, the byte not yet */
};

/* Forks the watcher, early: it costs leakscope no wait. Best effort: when
 * it cannot be started, the run goes on without it. */
void guard_start(struct guard *guard);

/* Names the tree (`marker`, a whole "NAME=VALUE" environment entry); from
 * now on, leakscope's death ends it. Must come before leakscope becomes
 * the tree's subreaper, so that the watcher is not part of the tree. */
void guard_arm(struct guard *guard, const char *marker);

/* The tree ended, or was waited for, as it should: the watcher exits
 * without touching it (descendants left running stay running). */
void guard_release(struct guard *guard);

/* The end of the run: released if it was not, and gone when this returns
 * (by then it had time to exit). */
void guard_end(struct guard *guard);

#endif
