/* SPDX-License-Identifier: MIT */
/* Writing a snapshot file (snapfile.c): the parts a snapshot is built in,
 * one buffer per section of format.h's list, and their atomic store. */
#ifndef LEAKSCOPE_SNAPFILE_H
#define LEAKSCOPE_SNAPFILE_H

#include "shim.h"

/* The sections in the order they are written: format.h's list. */
enum lks_part {
#define LKS_PART_INDEX(number, NAME, name, record) LKS_PART_##NAME,
	LKS_SECTIONS(LKS_PART_INDEX)
#undef LKS_PART_INDEX
	LKS_PART_COUNT
};

struct lks_snap_parts {
	struct lks_buf buf[LKS_PART_COUNT];  /* LKS_PART_STRINGS: from strings */
	struct lks_strtab strings;
};

/* Writes the file into the output directory as EXE.PID.SEQ.LABEL.lks (a
 * suffix -2, -3... when that name is taken); path (path_size bytes) gets
 * its path. header->section_count must be LKS_PART_COUNT. 0, or -1 with
 * the step that failed in *error. */
int lks_snapfile_store(const struct lks_header *header, struct lks_snap_parts *parts,
                       char *path, size_t path_size, const char *label,
                       struct lks_write_error *error);
void lks_snapfile_free(struct lks_snap_parts *parts);
/* When the end snapshot of process pid could not be written: an empty
 * file .unwritten.PID.WHY in the output directory (format.h), made without
 * an fd. pid is given: getpid may be what failed. */
void lks_snapfile_mark_unwritten(int pid, const char *why);
/* A child this process reaped that `signal` killed: an empty file
 * .killed.PID.SIGNAL (format.h), made without an fd. Async-signal-safe. */
void lks_snapfile_mark_killed(int pid, int signal);

#endif
