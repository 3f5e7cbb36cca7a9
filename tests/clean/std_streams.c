/* SPDX-License-Identifier: MIT */
/* A clean program that rewires its standard streams the ways shells and
 * daemons do: a pipeline child (fork, dup2 of a pipe onto stdout, exec), a
 * subshell (fork, dup2 onto stdout, exit without exec), a daemon's
 * close(0) + open("/dev/null"), and freopen of stdout. None of that is a
 * handle left open nor an fd leaked into a child. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int waited_ok(pid_t pid)
{
	int status;

	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* `echo piped | ...`: the child's stdout is the pipe, its exec inherits it. */
static int pipeline_child(void)
{
	char buffer[64];
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl("/bin/echo", "echo", "piped", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (read(fds[0], buffer, sizeof(buffer)) > 0)
		;
	close(fds[0]);
	return waited_ok(pid) ? 0 : 1;
}

/* `( ... ) >/dev/null`: a forked child writes to a redirected stdout and
 * exits with it still open, as every shell subshell does. */
static int subshell_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		dup2(null_fd, STDOUT_FILENO);
		close(null_fd);
		exit(write(STDOUT_FILENO, "x", 1) == 1 ? 0 : 1);
	}
	return waited_ok(pid) ? 0 : 1;
}

int main(void)
{
	if (pipeline_child() != 0 || subshell_child() != 0)
		return 1;
	close(STDIN_FILENO);
	if (open("/dev/null", O_RDONLY) != STDIN_FILENO)
		return 1;
	if (!freopen("/dev/null", "w", stdout))
		return 1;
	puts("discarded");
	return 0;
}
