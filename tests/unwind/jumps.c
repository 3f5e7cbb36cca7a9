/* SPDX-License-Identifier: MIT */
/* Stacks through what is not a plain call: after a longjmp out of deep
 * recursion, in a signal handler (through the kernel's signal frame and
 * glibc's __restore_rt), in a handler on a sigaltstack (the walk moves
 * from the alternate stack back to the thread's; run again from the same
 * place on each of two sigaltstacks, which the stack cache must tell
 * apart from each other and from the thread's stack), after a siglongjmp out
 * of a handler, and through a realigned frame (gcc's DRAP: the CFA is a
 * DWARF expression). Each leaks one block whose stack reaches main. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "unwind_test.h"

static jmp_buf jump_back;
static sigjmp_buf signal_back;
static volatile int calls;

__attribute__((noinline)) static void deep_jump(int level)
{
	if (level == 0)
		longjmp(jump_back, 1);
	if (level > 0)  /* gcc does not know that longjmp ends it */
		deep_jump(level - 1);
	calls = calls + 1;
}

__attribute__((noinline)) static void after_longjmp(void)
{
	escape(malloc(16));
}

static void on_signal(int signo)
{
	escape(malloc(signo == SIGUSR1 ? 40 : 48));
}

__attribute__((noinline)) static void raise_usr1(void)
{
	raise(SIGUSR1);
	calls = calls + 1;
}

__attribute__((noinline)) static void raise_on_altstack(int which)
{
	static char alt[2][64 * 1024];
	stack_t stack = { .ss_sp = alt[which], .ss_size = sizeof(alt[which]) };
	struct sigaction action = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK };

	sigaltstack(&stack, NULL);
	sigaction(SIGUSR2, &action, NULL);
	raise(SIGUSR2);
	calls = calls + 1;
}

static void jump_out(int signo)
{
	siglongjmp(signal_back, signo);
}

__attribute__((noinline)) static void after_siglongjmp(void)
{
	escape(malloc(56));
}

__attribute__((noinline)) static void leaf_under_realigned(void *aligned, void *vla)
{
	escape(aligned);
	escape(vla);
	escape(malloc(64));
}

/* An aligned local and an alloca make gcc realign the frame with DRAP. */
__attribute__((noinline)) static void realigned(int bytes)
{
	char aligned[64] __attribute__((aligned(64)));
	char *vla = __builtin_alloca(bytes);

	memset(aligned, 1, sizeof(aligned));
	memset(vla, 2, bytes);
	leaf_under_realigned(aligned, vla);
	calls = calls + 1;
}

int main(void)
{
	struct sigaction action = { .sa_handler = on_signal };

	if (!setjmp(jump_back))
		deep_jump(50);
	after_longjmp();
	sigaction(SIGUSR1, &action, NULL);
	raise_usr1();
	for (int round = 0; round < 4; round++)
		raise_on_altstack(round / 2);
	action.sa_handler = jump_out;
	sigaction(SIGTERM, &action, NULL);
	if (!sigsetjmp(signal_back, 1))
		raise(SIGTERM);
	after_siglongjmp();
	realigned(100 + calls % 2);
	return 0;
}
