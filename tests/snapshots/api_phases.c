/* SPDX-License-Identifier: MIT */
/* Snapshots from code: three phases, a snapshot after each, through the
 * header's macro and through dlsym. Runs without leakscope too: it then
 * prints the error the header promises and still does its work.
 * Output: one line per snapshot, "LABEL RESULT ERRNO". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "leakscope.h"

#define FIRST 3
#define SECOND 5

/* Not static: stores nobody reads would let the compiler drop the mallocs. */
void *first[FIRST];
void *second[SECOND];

__attribute__((noinline)) static void phase_one(void)
{
	for (int i = 0; i < FIRST; i++)
		first[i] = malloc(40); /* snap-site: first */
}

__attribute__((noinline)) static void phase_two(void)
{
	for (int i = 0; i < SECOND; i++)
		second[i] = malloc(1000); /* snap-site: second */
}

static void report(const char *label, int result)
{
	printf("%s %d %d\n", label, result, result ? errno : 0);
	fflush(stdout);
}

int main(void)
{
	int (*by_name)(const char *) =
		(int (*)(const char *))dlsym(RTLD_DEFAULT, "leakscope_snapshot");
	int result;

	setvbuf(stdout, NULL, _IONBF, 0);  /* no stdio buffer among the blocks */
	result = leakscope_snapshot(NULL);
	report("empty", result);
	phase_one();
	result = leakscope_snapshot("phase one/after");
	report("one", result);
	phase_two();
	for (int i = 0; i < FIRST; i++)
		free(first[i]);
	if (by_name) {
		result = by_name("two");
		report("dlsym", result);
	} else {
		printf("dlsym none 0\n");
	}
	for (int i = 0; i < SECOND; i++)
		free(second[i]);
	return 0;
}
