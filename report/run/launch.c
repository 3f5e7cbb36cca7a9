/* SPDX-License-Identifier: MIT */
/* fork and exec of the program (launch.h). The child says why exec failed
 * through a close-on-exec pipe: nothing read means it runs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"

/* The errno of the attempt that tells most, as execvp reports it: a file
 * found but not executable (EACCES) beats "not in this directory". */
static int exec_in_path(char *const *argv, char *const *env)
{
	const char *path = getenv("PATH"), *dir;
	char candidate[PATH_MAX];
	bool denied = false;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		return errno;
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (dir = path; dir; dir = strchr(dir, ':') ? strchr(dir, ':') + 1 : NULL) {
		int len = (int)strcspn(dir, ":");

		/* an empty entry is the current directory, as for execvp */
		if (snprintf(candidate, sizeof(candidate), "%.*s%s%s", len, dir,
			     len ? "/" : "", argv[0]) >= (int)sizeof(candidate))
			continue;
		execve(candidate, argv, env);
		if (errno == EACCES)
			denied = true;
		else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
			 errno != ENODEV && errno != ETIMEDOUT)
			return errno;
	}
	return denied ? EACCES : ENOENT;
}

__attribute__((noreturn))
static void child(char *const *argv, char *const *env, const sigset_t *mask,
		  const sigset_t *defaults, pid_t parent, int error_fd)
{
	struct sigaction fallback = { .sa_handler = SIG_DFL };
	int error = 0;

	for (int signo = 1; signo < NSIG; signo++)
		if (sigismember(defaults, signo) == 1)
			sigaction(signo, &fallback, NULL);
	/* leakscope may be gone already, before this could be set: its death
	 * signal was then never sent, so check who the parent is now */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		error = errno;
	else if (getppid() != parent)
		error = ESRCH;
	if (!error) {
		sigprocmask(SIG_SETMASK, mask, NULL);
		error = exec_in_path(argv, env);
	}
	while (write(error_fd, &error, sizeof(error)) < 0 && errno == EINTR)
		;
	_exit(127);
}

int launch_program(char *const *argv, char *const *env, const sigset_t *mask,
		  const sigset_t *defaults, pid_t *pid)
{
	pid_t parent = getpid();
	int error_pipe[2], error = 0;
	ssize_t got;

	if (pipe2(error_pipe, O_CLOEXEC) < 0)
		return errno;
	*pid = fork();
	if (*pid == 0)
		child(argv, env, mask, defaults, parent, error_pipe[1]);
	if (*pid < 0)
		error = errno;
	close(error_pipe[1]);
	do
		got = read(error_pipe[0], &error, sizeof(error));
	while (got < 0 && errno == EINTR);
	close(error_pipe[0]);
	if (*pid > 0 && got == sizeof(error)) {
		/* it never ran: reap it here, nobody else will want it */
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (*pid > 0 && got != sizeof(error))
		return 0;
	*pid = 0;
	return error;
}
