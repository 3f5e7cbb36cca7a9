/* SPDX-License-Identifier: MIT */
/* fds open that the shim never saw opened (unseen.c): created by calls it
 * does not interpose (syscall(SYS_openat), openat2, pidfd_getfd, io_uring,
 * libc's internal opens), counted at a snapshot, never listed. */
#ifndef LEAKSCOPE_UNSEEN_H
#define LEAKSCOPE_UNSEEN_H

#include <stdint.h>

/* At start and in a fork child: the fds open now are the process's from
 * before (inherited), not opened unseen. */
void lks_unseen_note_start(void);
/* At a snapshot: the fds above 2 open now that were neither open at start
 * nor are recorded; 0 when the start could not be noted. */
uint64_t lks_unseen_count(void);

#endif
