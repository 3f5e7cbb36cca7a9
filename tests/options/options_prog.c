/* SPDX-License-Identifier: MIT */
/* Keeps one block to exit; with "fork", a child that exits on its own
 * first. Run under LEAKSCOPE_OPTIONS by check_options.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *kept = malloc(64);

	if (argc > 1 && !strcmp(argv[1], "fork")) {
		pid_t child = fork();

		if (child == 0)
			exit(0);
		if (child > 0)
			waitpid(child, NULL, 0);
	}
	printf("kept %s\n", kept ? "a block" : "nothing");
	return 0;
}
