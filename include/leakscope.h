/* SPDX-License-Identifier: MIT */
/* leakscope's public API: take a snapshot of the live heap from the program's
 * own code. Safe to use in a program that runs without leakscope: the symbol
 * is a weak reference, and the call then fails with ENOSYS. Nothing to link.
 * See docs/SNAPSHOTS.md. */
#ifndef LEAKSCOPE_H
#define LEAKSCOPE_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writes a snapshot of the blocks live now, summed per allocation stack, to
 * PROG.PID.SEQ.LABEL.lks in the output directory (LEAKSCOPE_OPTIONS
 * output_dir), atomically and with mode 0600. LABEL: any text; characters
 * other than [A-Za-z0-9_+-] become '_' in the file name; NULL or "" means
 * "api". Read it with `leakscope report` or compare two with `leakscope diff`.
 *
 * Returns 0, or -1 with errno set:
 *   ENOSYS  the program does not run under leakscope (or recording is off)
 *   EAGAIN  called from a signal handler that interrupted leakscope itself
 *   other   the file could not be written (errno of the failing call)
 *
 * Thread-safe; other threads keep running meanwhile (docs/SNAPSHOTS.md says
 * what a snapshot contains). Not async-signal-safe: do not call it from a
 * signal handler; use `leakscope snapshot PID` from outside instead.
 *
 * The shim exports the symbol, so dlsym(RTLD_DEFAULT, "leakscope_snapshot")
 * finds it too.
 */
#ifndef LEAKSCOPE_WEAK
#define LEAKSCOPE_WEAK __attribute__((weak))
#endif
extern int leakscope_snapshot(const char *label) LEAKSCOPE_WEAK;

/* Calls go through this macro: a weak reference left unresolved is a null
 * function pointer, so it is tested before the call. (leakscope_snapshot)
 * in parentheses names the function itself. */
#define leakscope_snapshot(label)                                          \
	(leakscope_snapshot ? (leakscope_snapshot)(label) : (errno = ENOSYS, -1))

#ifdef __cplusplus
}
#endif

#endif
