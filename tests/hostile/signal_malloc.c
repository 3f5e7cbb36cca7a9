// SPDX-License-Identifier: MIT
/* malloc from a signal handler under a 100 us timer, while the program
 * allocates. The handler stays out of the C library's own malloc (which is
 * not reentrant): it allocates only when the interrupted code is not in
 * libc. Its first 50 allocations are leaked from handler_leak: each must
 * be reported or counted as missed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

#define HANDLER_LEAKS 50

static uintptr_t libc_start, libc_end;
static volatile sig_atomic_t leaked;

static void find_libc(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];

	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[8];

		if (strstr(line, "/libc.so") &&
		    sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && perms[2] == 'x') {
			libc_start = start;
			libc_end = end;
		}
	}
	if (maps)
		fclose(maps);
}

static void __attribute__((noinline)) handler_leak(void)
{
	void *volatile block = malloc(33);
	(void)block;
}

static void on_tick(int signo, siginfo_t *info, void *context)
{
	uintptr_t ip = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];

	if (ip >= libc_start && ip < libc_end)
		return;
	free(malloc(40));
	if (leaked < HANDLER_LEAKS) {
		handler_leak();
		leaked++;
	}
}

int main(void)
{
	struct sigaction action = { .sa_sigaction = on_tick,
	                            .sa_flags = SA_SIGINFO | SA_RESTART };
	struct itimerval tick = { { 0, 100 }, { 0, 100 } }, off = { { 0, 0 }, { 0, 0 } };
	long iterations = 0;

	find_libc();
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL);
	setitimer(ITIMER_REAL, &tick, NULL);
	while (leaked < HANDLER_LEAKS || iterations < 100000) {
		free(malloc(24 + (size_t)(iterations % 100)));
		iterations++;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	printf("%d allocations leaked from a signal handler\n", HANDLER_LEAKS);
	return 0;
}
