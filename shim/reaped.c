/* SPDX-License-Identifier: MIT */
/* The program's wait calls: a child it reaps that a signal killed is marked
 * beside the snapshots (format.h, LKS_KILLED_PREFIX), since one killed by
 * SIGKILL wrote none and the report must still name it. The call, its
 * result and errno are the program's own; only the mark is added. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/wait.h>

#include "enter.h"
#include "snapfile.h"
#include "sys.h"

/* Before the shim has started, forwarded by system call (sys.h). */
#define FORWARD(raw, fn, ...)                                                 \
	(lks_started() && lks_real_get(&lks_real.fn) ? lks_real.fn(__VA_ARGS__) : (raw))

static void note(pid_t pid, int killed_by)
{
	int saved_errno = errno;

	/* a process killed by a catchable signal wrote its snapshot: the
	 * report lists a mark only for a pid without one */
	if (pid > 0 && killed_by && __atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) == LKS_ACTIVE)
		lks_snapfile_mark_killed(pid, killed_by);
	errno = saved_errno;
}

/* The status is always asked for (the caller may pass NULL), and given
 * back only where the kernel would have written it. */
static pid_t reaped(pid_t got, int status, int *caller_status)
{
	if (got > 0) {
		note(got, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		if (caller_status)
			*caller_status = status;
	}
	return got;
}

LKS_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
	int got_status = 0;
	pid_t got = FORWARD(lks_sys_wait4(pid, &got_status, options, usage), wait4, pid,
			    &got_status, options, usage);

	return reaped(got, got_status, status);
}

LKS_EXPORT pid_t wait3(int *status, int options, struct rusage *usage)
{
	int got_status = 0;
	pid_t got = FORWARD(lks_sys_wait4(-1, &got_status, options, usage), wait3, &got_status,
			    options, usage);

	return reaped(got, got_status, status);
}

LKS_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	int got_status = 0;
	pid_t got = FORWARD(lks_sys_wait4(pid, &got_status, options, NULL), waitpid, pid,
			    &got_status, options);

	return reaped(got, got_status, status);
}

LKS_EXPORT pid_t wait(int *status)
{
	int got_status = 0;
	pid_t got = FORWARD(lks_sys_wait4(-1, &got_status, 0, NULL), wait, &got_status);

	return reaped(got, got_status, status);
}

/* WNOWAIT leaves the child to be reaped (and marked) by a later call. */
LKS_EXPORT int waitid(idtype_t id_type, id_t id, siginfo_t *info, int options)
{
	int r = FORWARD(lks_sys_waitid(id_type, id, info, options), waitid, id_type, id, info,
			options);

	if (r == 0 && info && !(options & WNOWAIT) &&
	    (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED))
		note(info->si_pid, info->si_status);
	return r;
}
