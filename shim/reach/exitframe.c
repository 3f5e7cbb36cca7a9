/* SPDX-License-Identifier: MIT */
/* Where the exiting thread's live stack begins: the stack pointer of the
 * caller of exit() (libc's own calls too: after main returns, when the last
 * thread ends) or of _exit(). Below it lie the frames of exit, of the atexit
 * handlers and of the exit snapshot, over dead frames of the program's
 * whose unwritten slots still hold pointers it dropped: never roots. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>

#include "reach.h"

/* Noted and read by the exiting thread. */
static __thread uint64_t exit_caller_sp __attribute__((tls_model("initial-exec")));
static __thread uint64_t exit_frame_cfa __attribute__((tls_model("initial-exec")));
static __thread uint64_t shim_frame __attribute__((tls_model("initial-exec")));

void lks_reach_note_exit_call(uint64_t caller_sp)
{
	exit_caller_sp = caller_sp;
}

/* The frame of exit(), whichever definition the program's calls reach,
 * found from here up by the shim's own unwinder: its canonical frame
 * address is its caller's stack pointer before the call. 0 when this
 * thread is not in exit(). */
static uint64_t exit_caller_from_unwind(void)
{
	Dl_info info;
	const ElfW(Sym) *symbol = NULL;
	uint64_t lo;

	if (!dladdr1((void *)(uintptr_t)&exit, &info, (void **)&symbol, RTLD_DL_SYMENT) ||
	    !symbol || !symbol->st_size)
		return 0;
	lo = (uint64_t)(uintptr_t)info.dli_fbase + symbol->st_value;
	return lks_unwind_frame_cfa(lo, lo + symbol->st_size);
}

void lks_reach_stack_from(uint64_t frame)
{
	shim_frame = frame;
	exit_frame_cfa = exit_caller_from_unwind();
}

uint64_t reach_exiting_stack_from(uint64_t scan_frame, bool *exact)
{
	*exact = true;
	if (exit_frame_cfa)
		return exit_frame_cfa;
	if (exit_caller_sp)
		return exit_caller_sp;
	*exact = false;
	/* where the shim's end began on the program's stack (or the stack a
	 * fatal signal interrupted): the scan runs on a stack of its own */
	return shim_frame ? shim_frame : scan_frame;
}
