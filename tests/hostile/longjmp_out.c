// SPDX-License-Identifier: MIT
/* issue 10 item 8: a timer's signal handler siglongjmps out whenever it
 * interrupted code of a preloaded libleakscope (found in /proc/self/maps;
 * without the shim the handler never jumps). Afterwards the thread leaks
 * 1,000 blocks: each must be reported, or counted as missed. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

#define JUMPS_WANTED 5
#define ITERATIONS_MAX 300000

static uintptr_t shim_start, shim_end;
static sigjmp_buf back;
static volatile sig_atomic_t jumps;

static void find_shim(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];

	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[8];

		if (strstr(line, "libleakscope") &&
		    sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && perms[2] == 'x') {
			shim_start = start;
			shim_end = end;
		}
	}
	if (maps)
		fclose(maps);
}

static void on_tick(int signo, siginfo_t *info, void *context)
{
	uintptr_t ip = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];

	if (ip >= shim_start && ip < shim_end && jumps < JUMPS_WANTED) {
		jumps++;
		siglongjmp(back, 1);
	}
}

static void __attribute__((noinline)) leak_thousand(void)
{
	for (int i = 0; i < 1000; i++) {
		void *volatile block = malloc(77);
		(void)block;
	}
}

int main(void)
{
	struct sigaction action = { .sa_sigaction = on_tick, .sa_flags = SA_SIGINFO };
	struct itimerval tick = { { 0, 100 }, { 0, 100 } }, off = { { 0, 0 }, { 0, 0 } };
	volatile int iterations = 0;

	find_shim();
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL);
	sigsetjmp(back, 1);
	setitimer(ITIMER_REAL, &tick, NULL);
	while (jumps < JUMPS_WANTED && iterations < ITERATIONS_MAX) {
		iterations = iterations + 1;
		free(malloc(32));
	}
	setitimer(ITIMER_REAL, &off, NULL);
	leak_thousand();
	puts("leaked 1000 blocks of 77 bytes");
	return 0;
}
