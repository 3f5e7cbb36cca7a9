// SPDX-License-Identifier: MIT
/* A thread runs on a 1 KiB stack of its own right above a guard page, as a
 * goroutine does on Go's small stacks, with a 64 KiB sigaltstack for its
 * signals (Go's gsignal stack: every handler in a Go program must be
 * installed with SA_ONSTACK), while the main thread calls exit() (a cgo
 * program calling C's exit). The exit scan holds that thread with a signal:
 * a handler without SA_ONSTACK had its frame pushed onto the small stack,
 * into the guard page, and the kernel killed the process with SIGSEGV (a
 * Go program crashed 1 run in 40: its goroutine stacks have no guard page,
 * and the frame overwrote the next goroutine's stack). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define SMALL_STACK 1024
#define ALT_STACK (64 * 1024)

static ucontext_t thread_context, goroutine;
static volatile int spinning;

static void goroutine_body(void)
{
	spinning = 1;
	for (;;)
		__asm__ volatile("" ::: "memory");
}

static void *thread_main(void *arg)
{
	stack_t alternate = { .ss_sp = malloc(ALT_STACK), .ss_size = ALT_STACK };
	long page = sysconf(_SC_PAGESIZE);
	char *guard;

	(void)arg;
	guard = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || !alternate.ss_sp || sigaltstack(&alternate, NULL) != 0 ||
	    mprotect(guard, (size_t)page, PROT_NONE) != 0)
		abort();
	getcontext(&goroutine);
	goroutine.uc_stack.ss_sp = guard + page;
	goroutine.uc_stack.ss_size = SMALL_STACK;
	goroutine.uc_link = NULL;
	makecontext(&goroutine, goroutine_body, 0);
	swapcontext(&thread_context, &goroutine);
	return NULL;
}

int main(void)
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, thread_main, NULL) != 0)
		return 1;
	while (!spinning)
		usleep(1000);
	printf("exit while a thread spins on a %d-byte stack\n", SMALL_STACK);
	fflush(stdout);
	exit(0);
}
