// SPDX-License-Identifier: MIT
/* How much stack a program needs, with or without a preloaded library: the
 * smallest stack (to 64 bytes) on which each case still succeeds, found by
 * bisection, each try in a fork child. Run it once plainly and once with
 * LD_PRELOAD; the difference is what the preload costs.
 *   malloc     malloc+free on a ucontext stack, 2nd call (warm)
 *   sigalt     malloc in a handler on a sigaltstack
 *   exit       exit() from a thread that allocated, on a thread stack
 * Not a test: it prints numbers (docs/PERFORMANCE.md quotes them).
 *   cc -O2 -pthread -o stack_need tools/bench/stack_need.c
 *   ./stack_need exit; LD_PRELOAD=build/shim/libleakscope.so ./stack_need exit */
#define _GNU_SOURCE
#include <alloca.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static ucontext_t back, on_small;

/* volatile: the compiler may not fold a malloc/free pair away */
static void allocate(void)
{
	void *volatile block = malloc(40);

	free(block);
}

/* size bytes of stack ending at a page end, with 256 KiB of guard below:
 * an overflow faults instead of silently writing over the heap, even a
 * frame that skips a guard page without touching it */
static void *guarded_stack(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t guard = 256 * 1024;
	size_t span = (size + page - 1) / page * page + guard;
	char *base = mmap(NULL, span, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED || mprotect(base, guard, PROT_NONE))
		exit(2);
	return base + span - size;
}

static void malloc_on_small(void)
{
	allocate();
}

static int try_malloc(size_t size)
{
	char *stack = guarded_stack(size);

	allocate();  /* warm: the shim and malloc set up already */
	getcontext(&on_small);
	on_small.uc_stack.ss_sp = stack;
	on_small.uc_stack.ss_size = size;
	on_small.uc_link = &back;
	makecontext(&on_small, malloc_on_small, 0);
	swapcontext(&back, &on_small);
	return 0;
}

static void handler(int signo)
{
	allocate();
}

static int try_sigalt(size_t size)
{
	stack_t alt = { .ss_sp = guarded_stack(size), .ss_size = size };
	struct sigaction action = { .sa_handler = handler, .sa_flags = SA_ONSTACK };

	allocate();
	if (sigaltstack(&alt, NULL))
		return 2;  /* below MINSIGSTKSZ: not a stack a program can have */
	sigemptyset(&action.sa_mask);
	sigaction(SIGUSR1, &action, NULL);
	raise(SIGUSR1);
	return 0;
}

/* Below PTHREAD_STACK_MIN, the thread's stack is that size and the thread
 * first uses up the difference: what is left is the size tried. */
static void *leave(void *burn)
{
	volatile char *used = alloca((size_t)burn + 1);

	used[0] = 0;
	allocate();
	exit(0);
}

static int try_exit(size_t size)
{
	size_t burn = size < PTHREAD_STACK_MIN ? PTHREAD_STACK_MIN - size : 0;
	pthread_attr_t attr;
	pthread_t thread;

	pthread_attr_init(&attr);
	/* a big guard, as guarded_stack's: an overflow faults, never lands
	 * in a neighbouring mapping */
	if (pthread_attr_setstacksize(&attr, size + burn) ||
	    pthread_attr_setguardsize(&attr, 256 * 1024))
		return 2;
	if (pthread_create(&thread, &attr, leave, (void *)burn))
		return 2;
	pthread_join(thread, NULL);
	return 1;
}

static int works(int (*attempt)(size_t), size_t size)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		/* the child's own snapshot goes nowhere and says nothing */
		_exit(attempt(size));
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "malloc";
	int (*attempt)(size_t) = strcmp(mode, "exit") == 0 ? try_exit
	                       : strcmp(mode, "sigalt") == 0 ? try_sigalt : try_malloc;
	size_t low = 512, high = 1 << 20;

	if (!works(attempt, high)) {
		printf("%s: fails even on %zu bytes\n", mode, high);
		return 1;
	}
	if (works(attempt, low)) {
		printf("%s: works on %zu bytes (the smallest tried)\n", mode, low);
		return 0;
	}
	while (high - low > 64) {
		size_t mid = (low + high) / 2 & ~(size_t)15;

		if (works(attempt, mid))
			high = mid;
		else
			low = mid;
	}
	printf("%s: needs %zu bytes of stack\n", mode, high);
	return 0;
}
