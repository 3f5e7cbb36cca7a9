/* SPDX-License-Identifier: MIT */
/* Handles that leak into child programs: fds without close-on-exec that the
 * program opened itself, noted when it execs or spawns. */
#ifndef LEAKSCOPE_EXECNOTE_H
#define LEAKSCOPE_EXECNOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "fdinfo.h"

#define LKS_NOTE_FRAMES 64

struct lks_exec_note {
	int32_t fd;
	uint16_t type;
	uint32_t depth;
	uint64_t frames[LKS_NOTE_FRAMES]; /* the open site, leaf first */
	char description[LKS_DESCRIPTION_MAX];
};

void lks_execnote_init(void);
void lks_execnote_after_fork(void);
/* Before the real execve (the image is replaced: a fork child's notes go to
 * its parent) or posix_spawn/popen/system (the notes stay here). */
void lks_execnote_before_exec(bool replaces_image);
/* A program started from here runs without the shim (untraced.h): counted
 * where the notes of lks_execnote_before_exec go; the count of this
 * process's, for its snapshots (missed_children). */
void lks_execnote_count_untraced(bool replaces_image);
uint64_t lks_execnote_untraced(void);
void lks_execnote_foreach(void (*visit)(const struct lks_exec_note *, void *), void *ctx);

#endif
