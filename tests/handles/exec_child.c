/* SPDX-License-Identifier: MIT */
/* fds without close-on-exec reach the programs this one runs: through
 * fork + execve and through posix_spawn. The parent closes them before it
 * exits, so they are not open handles, only "leaked into child". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int run_true_forked(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? 0 : 1;
}

static int run_true_spawned(void)
{
	char *argv[] = { "true", NULL };
	int status;
	pid_t pid;

	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
		return 1;
	return waitpid(pid, &status, 0) == pid ? 0 : 1;
}

int main(void)
{
	int leaked[2], sealed[2], spawned;

	if (pipe(leaked) != 0) /* expect-handle: type=pipe count=2 child desc=pipe:[ */
		return 1;
	if (pipe2(sealed, O_CLOEXEC) != 0)
		return 1;
	if (run_true_forked() != 0)
		return 1;
	close(leaked[0]);
	close(leaked[1]);
	spawned = open("/dev/null", O_RDONLY); /* expect-handle: type=fd count=1 child desc=/dev/null */
	if (run_true_spawned() != 0)
		return 1;
	close(spawned);
	close(sealed[0]);
	close(sealed[1]);
	return 0;
}
