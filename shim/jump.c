/* SPDX-License-Identifier: MIT */
/* The longjmp family. A signal handler that interrupted the shim and jumps
 * out of it would leave the thread's busy flag set, and every later call
 * on the thread unrecorded; here, where the jump's target is known, a jump
 * that leaves the scope ends it (counted) before it is made. <setjmp.h> is
 * not included: under _FORTIFY_SOURCE it renames longjmp. */
#include "shim.h"

#define JMPBUF_BYTES 200  /* sizeof(jmp_buf) on x86_64 */
#define JB_RSP 6          /* glibc's slot of the stack pointer */

int _setjmp(void *env) __attribute__((returns_twice));

/* glibc keeps the stack pointer in a jmp_buf mangled with the thread's
 * pointer guard: xor with %fs:0x30, then rotated left by 17 bits. */
static uintptr_t saved_stack_pointer(const void *env)
{
#if defined(__x86_64__)
	uintptr_t value = ((const uintptr_t *)env)[JB_RSP], guard;

	__asm__("mov %%fs:0x30, %0" : "=r"(guard));
	return ((value >> 17) | (value << 47)) ^ guard;
#else
	(void)env;
	return 0;
#endif
}

/* Whether saved_stack_pointer reads this C library's jmp_buf right: it
 * must give back a stack pointer next to a buffer of our own. */
static bool layout_checked(void)
{
	static int known; /* atomic: 0 not checked, 1 yes, -1 no */
	_Alignas(16) unsigned char env[JMPBUF_BYTES];
	int seen = __atomic_load_n(&known, __ATOMIC_RELAXED);
	uintptr_t sp, here = (uintptr_t)env;

	if (seen)
		return seen > 0;
	_setjmp(env);  /* returns once: nothing jumps to it */
	sp = saved_stack_pointer(env);
	seen = sp > here - 4096 && sp < here + 4096 ? 1 : -1;
	__atomic_store_n(&known, seen, __ATOMIC_RELAXED);
	return seen > 0;
}

static void before_jump(void *env)
{
	if (lks_unlikely(lks_busy) && layout_checked())
		lks_busy_jump(saved_stack_pointer(env));
}

/* JUMP(name, field): the interposer of one of the family, noreturn. */
#define JUMP(name, field)                                                 \
	LKS_EXPORT __attribute__((noreturn)) void name(void *env, int value); \
	LKS_EXPORT void name(void *env, int value)                        \
	{                                                                 \
		before_jump(env);                                         \
		if (lks_real_get(&lks_real.field))                        \
			lks_real.field(env, value);                       \
		__builtin_trap();                                         \
	}

JUMP(longjmp, longjmp)
JUMP(_longjmp, _longjmp)
JUMP(siglongjmp, siglongjmp)
JUMP(__longjmp_chk, longjmp_chk)
