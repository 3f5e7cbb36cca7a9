/* SPDX-License-Identifier: MIT */
/* Starting the program as posix_spawnp(3) would (PATH searched, no shell
 * for a file that is not a program), with a parent-death signal set in the
 * child before exec: when leakscope dies, even of SIGKILL, the program it
 * started dies with it (guard.h ends the rest of the tree). */
#ifndef LEAKSCOPE_LAUNCH_H
#define LEAKSCOPE_LAUNCH_H

#include <signal.h>
#include <sys/types.h>

/* argv[0] looked up in PATH; `env` its environment; the child's signal
 * mask is `mask` and the signals in `defaults` are set to their default
 * action. 0 with the child's pid, or the errno that kept it from starting
 * (ENOENT, EACCES, ...; no child is left then). */
int launch_program(char *const *argv, char *const *env, const sigset_t *mask,
		  const sigset_t *defaults, pid_t *pid);

#endif
