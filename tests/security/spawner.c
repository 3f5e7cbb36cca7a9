/* SPDX-License-Identifier: MIT */
/* Starts the program it is given and waits for it: when that program is
 * statically linked, the shim cannot follow it, and the report of this
 * one must say so (missed_children). Usage: spawner PROGRAM [ARGS...] */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	pid_t pid;
	int status;

	if (argc < 2 || posix_spawn(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0) {
		fprintf(stderr, "spawner: cannot start %s\n", argc > 1 ? argv[1] : "?");
		return 2;
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}
