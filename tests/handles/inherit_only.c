/* SPDX-License-Identifier: MIT */
/* For the gate: a fork child holds the pipe it inherited until it exits,
 * and leaves nothing else; the parent closes everything. Only the child's
 * inherited fds are left to judge. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) != 0)
		return 1;
	pid = fork();
	if (pid == 0)
		exit(0);
	close(fds[0]);
	close(fds[1]);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? 0 : 1;
}
