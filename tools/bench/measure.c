/* SPDX-License-Identifier: MIT */
/* Runs a command and writes its wall time, CPU time (user + system) and
 * peak RSS to RESULT-FILE as "WALL_S CPU_S MAXRSS_KIB STATUS" (STATUS: the
 * exit code, or minus the signal that killed it). The kernel keeps a
 * process's peak RSS across exec, so a command forked from the Python
 * benchmark would report at least Python's size; forked from this small
 * program it reports its own. NAME=VALUE pairs are set in the command's
 * environment only (LD_PRELOAD must not reach a wrapper).
 * Usage: measure RESULT-FILE [NAME=VALUE...] -- COMMAND [ARGS...] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec start, end;
	struct rusage usage;
	int status, command = 2;
	FILE *result;
	pid_t pid;

	while (command < argc && strcmp(argv[command], "--") != 0)
		command++;
	if (argc < 4 || command + 1 >= argc) {
		fprintf(stderr, "usage: measure RESULT-FILE [NAME=VALUE...] -- COMMAND [ARGS...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = fork();
	if (pid == 0) {
		for (int i = 2; i < command; i++)
			putenv(argv[i]);
		execvp(argv[command + 1], argv + command + 1);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &usage) != pid)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &end);
	result = fopen(argv[1], "w");
	if (!result)
		return 1;
	fprintf(result, "%.6f %.6f %ld %d\n",
		(double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9,
		seconds(usage.ru_utime) + seconds(usage.ru_stime), usage.ru_maxrss,
		WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	return fclose(result) != 0;
}
