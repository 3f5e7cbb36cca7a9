/* SPDX-License-Identifier: MIT */
/* A fork child that never closes the fds it inherited holds them open
 * until it exits: its report lists them as inherited, apart from the
 * handles it opened itself. The parent closes its own copies. One
 * inherited fd the child closes, one its parent closed behind the shim's
 * back before the fork, are not listed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* expect-closed-unseen: 1 (the parent's count) */

int main(void)
{
	int kept = open("/dev/null", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/null inherited process=child */
	int closed = open("/dev/zero", O_RDONLY);
	int unseen = open("/dev/zero", O_RDONLY);
	int pipe_fds[2], status;
	pid_t pid;

	if (kept < 0 || closed < 0 || unseen < 0)
		return 1;
	if (pipe(pipe_fds) != 0) /* expect-handle: type=pipe count=2 desc=pipe:[ inherited process=child */
		return 1;
	syscall(SYS_close, unseen);
	pid = fork();
	if (pid == 0) {
		close(closed);
		open("/dev/urandom", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/urandom process=child */
		exit(0);
	}
	close(kept);
	close(closed);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? 0 : 1;
}
