/* SPDX-License-Identifier: MIT */
/* The signals of a run. SIGTERM, SIGINT and SIGHUP that a process sends to
 * leakscope go on to the program, and leakscope stays to report and clean
 * up; the terminal's own (Ctrl-C, Ctrl-\, a hangup) already reach the
 * program, which shares leakscope's process group, so leakscope only notes
 * them. What the user ignored when starting leakscope (nohup) stays
 * ignored, for both. */
#ifndef LEAKSCOPE_RELAY_H
#define LEAKSCOPE_RELAY_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct relay {
	sigset_t mask;   /* leakscope's own, restored at the end */
	sigset_t relayed;
	struct sigaction term, intr, hup, quit, chld;
};

/* Takes the signals over; they wait (blocked) until relay_to names the
 * program. `defaults`: the signals the program must start with at their
 * default action. */
void relay_start(struct relay *relay, sigset_t *defaults);
/* From now on relayed signals go to `pid`; 0 once it was waited for. */
void relay_to(const struct relay *relay, pid_t pid);
/* A relayed signal came, or the terminal's: stop waiting for descendants. */
bool relay_interrupted(void);
/* Sleeps until a child changes state or a signal comes; call with
 * relay_hold() in force, so that neither is missed before the sleep. */
void relay_hold(const struct relay *relay);
void relay_wait(const struct relay *relay);
/* Gives leakscope its own signal handling back. */
void relay_stop(const struct relay *relay);

#endif
