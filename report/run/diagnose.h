/* SPDX-License-Identifier: MIT */
/* Why a program run under the shim left no snapshot: the loader ignores
 * LD_PRELOAD for some programs, and saying so beats a clean-looking report. */
#ifndef LEAKSCOPE_DIAGNOSE_H
#define LEAKSCOPE_DIAGNOSE_H

/* One phrase for the command as execvp would find it. */
const char *diagnose_no_snapshot(const char *command);

#endif
