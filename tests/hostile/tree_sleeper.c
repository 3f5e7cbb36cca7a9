// SPDX-License-Identifier: MIT
/* issue 10 items 5 and 12: a program and its child that wait for ever,
 * their pids written to the file named by argv[1] ("parent PID" and
 * "child PID" lines) so that a checker can see whether anything of the
 * tree outlives `leakscope run`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void note_pid(const char *path, const char *who)
{
	FILE *file = fopen(path, "a");

	if (!file)
		exit(2);
	fprintf(file, "%s %d\n", who, (int)getpid());
	fclose(file);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	free(malloc(64));
	if (fork() == 0) {
		note_pid(argv[1], "child");
		for (;;)
			pause();
	}
	note_pid(argv[1], "parent");
	for (;;)
		pause();
}
