/* SPDX-License-Identifier: MIT */
/* void *call_without_cfi(void *(*fn)(void)): calls fn from a frame that
 * has no unwind information, as hand-written code or a JIT's does. The
 * shim's unwinder stops there (counted in unwind_truncated); libunwind
 * falls back to the frame-pointer chain and probes each word it reads
 * through a pipe it opened on the program's lowest fds (issue 10 item 1).
 * No .cfi_* directives, on purpose. */
	.text
	.globl call_without_cfi
	.type call_without_cfi, @function
call_without_cfi:
	push %rbp
	mov %rsp, %rbp
	call *%rdi
	pop %rbp
	ret
	.size call_without_cfi, . - call_without_cfi
	.section .note.GNU-stack, "", @progbits
