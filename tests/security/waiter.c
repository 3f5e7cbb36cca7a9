/* SPDX-License-Identifier: MIT */
/* A program that leaks 100 bytes (or, with "clean", nothing), says
 * "ready PID" on stdout and waits until its stdin ends: the test does what
 * it does to the run meanwhile, without a timed wait.
 * Usage: waiter leak|clean */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../memory/fixture.h"

static void leak(void)
{
	void *block = malloc(100); /* the leak the gate must fail on */

	escape(block);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "leak") == 0)
		leak();
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (getchar() != EOF)
		;
	return 0;
}
