/* SPDX-License-Identifier: MIT */
/* A stack of the shim's own for its heavy work at the end (the exit scan and
 * the snapshot): mapped when needed, never reserved at start (RLIMIT_AS), so
 * a program whose thread has the smallest stack POSIX allows can still exit
 * through it. Its pages are an arena region: the scan never reads them as
 * the program's. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

#define OWN_STACK_BYTES (256u << 10) /* the exit path needs about 20 KiB */
#define GUARD_BYTES 4096u            /* lowest page: an overflow faults */

/* call_on_stack(top, fn, arg): fn(arg) with the stack pointer at top (16-byte
 * aligned), then back. The caller's frame pointer is kept in a callee-saved
 * register and described in CFI, so debuggers and unwinders walk across. */
void lks_call_on_stack(void *top, void (*fn)(void *), void *arg);

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl lks_call_on_stack\n"
        ".hidden lks_call_on_stack\n"
        ".type lks_call_on_stack, @function\n"
        "lks_call_on_stack:\n"
        "	.cfi_startproc\n"
        "	endbr64\n"
        "	pushq %rbp\n"
        "	.cfi_def_cfa_offset 16\n"
        "	.cfi_offset %rbp, -16\n"
        "	movq %rsp, %rbp\n"
        "	.cfi_def_cfa_register %rbp\n"
        "	movq %rdi, %rsp\n"
        "	movq %rdx, %rdi\n"
        "	callq *%rsi\n"
        "	movq %rbp, %rsp\n"
        "	popq %rbp\n"
        "	.cfi_def_cfa %rsp, 8\n"
        "	ret\n"
        "	.cfi_endproc\n"
        ".size lks_call_on_stack, .-lks_call_on_stack\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl lks_call_on_stack\n"
        ".hidden lks_call_on_stack\n"
        ".type lks_call_on_stack, %function\n"
        "lks_call_on_stack:\n"
        "	.cfi_startproc\n"
        "	stp x29, x30, [sp, #-16]!\n"
        "	.cfi_def_cfa_offset 16\n"
        "	.cfi_offset x29, -16\n"
        "	.cfi_offset x30, -8\n"
        "	mov x29, sp\n"
        "	.cfi_def_cfa_register x29\n"
        "	mov sp, x0\n"
        "	mov x0, x2\n"
        "	blr x1\n"
        "	mov sp, x29\n"
        "	ldp x29, x30, [sp], #16\n"
        "	.cfi_def_cfa sp, 0\n"
        "	ret\n"
        "	.cfi_endproc\n"
        ".size lks_call_on_stack, .-lks_call_on_stack\n");
#else
void lks_call_on_stack(void *top, void (*fn)(void *), void *arg)
{
	(void)top;
	fn(arg);  /* no switch written for this CPU: the caller's stack */
}
#endif

/* fn(arg) on a stack of our own; on the caller's when none can be mapped
 * (address space exhausted), as before there was one. */
void lks_on_own_stack(void (*fn)(void *), void *arg)
{
	char *stack = lks_map(OWN_STACK_BYTES);

	if (!stack) {
		fn(arg);
		return;
	}
	lks_sys_mprotect(stack, GUARD_BYTES, PROT_NONE);
	lks_call_on_stack(stack + OWN_STACK_BYTES, fn, arg);
	lks_unmap(stack, OWN_STACK_BYTES);
}
