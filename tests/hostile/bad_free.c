// SPDX-License-Identifier: MIT
/* argv[1] = double: free the same block twice; invalid: free a pointer
 * malloc never returned. glibc aborts in both cases (SIGABRT); with the
 * shim the program must end the same way, and the report says what the
 * shim saw: one free of a block it does not know. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	static long not_heap[8];
	char *volatile block = malloc(40);  /* volatile: no pair folded away */

	puts("freeing");
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "double") == 0) {
		free(block);
		free(block);
	} else {
		void *volatile not_from_malloc = &not_heap[2];

		free(not_from_malloc);
	}
	puts("still running");
	return 0;
}
