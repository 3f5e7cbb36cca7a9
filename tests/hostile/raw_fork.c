// SPDX-License-Identifier: MIT
/* A child made without the atfork handlers, as crash handlers and sandboxes
 * make them: argv[1] is _Fork (glibc 2.34, async-signal-safe) or clone (the
 * raw system call). It leaks 3 blocks from child_leak and exits; its
 * report is its own, as a fork() child's is. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

static void __attribute__((noinline)) child_leak(void)
{
	for (int i = 0; i < 3; i++) {
		sink = malloc(66);
		memset(sink, 0, 66);
	}
	sink = NULL;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	int status;
	pid_t child;

	if (strcmp(how, "_Fork") == 0)
		child = _Fork();
	else if (strcmp(how, "clone") == 0)
		child = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	else
		return 2;
	if (child == 0) {
		child_leak();
		exit(0);
	}
	if (child < 0 || waitpid(child, &status, 0) != child)
		return 1;
	printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
