/* SPDX-License-Identifier: MIT */
/* The gate tests' program: each mode leaves a known set of leaks and
 * handles. Lines marked "gate-site: NAME" are where test_gate.py expects
 * the site NAME to be reported. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void other_leak(void);
void lib_leak(void);

static void *kept;

/* Hides a pointer from the optimizer without storing it anywhere a
 * reachability scan could find it. */
static void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

__attribute__((noinline)) static void leak_definite(void)
{
	escape(malloc(100)); /* gate-site: leak_definite */
}

__attribute__((noinline)) static void leak_new(void)
{
	escape(malloc(7)); /* gate-site: leak_new */
}

__attribute__((noinline)) static void keep_reachable(void)
{
	kept = malloc(50); /* gate-site: keep_reachable */
}

__attribute__((noinline)) static void open_handle(void)
{
	int fd = open("/dev/null", O_RDONLY); /* gate-site: open_handle */

	escape(&fd);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "clean";

	if (strcmp(mode, "clean") == 0)
		return argc > 2 ? atoi(argv[2]) : 0;
	leak_definite();
	keep_reachable();
	other_leak();
	lib_leak();
	open_handle();
	if (strcmp(mode, "new") == 0)
		leak_new();
	if (strcmp(mode, "fork") == 0) {
		pid_t child = fork();

		if (child == 0) {
			leak_new();
			exit(0);
		}
		waitpid(child, NULL, 0);
	}
	return argc > 2 ? atoi(argv[2]) : 0;
}
