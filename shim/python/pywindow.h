/* SPDX-License-Identifier: MIT */
/* Shared by pytypes.c and pyretain.c only: listed heap blocks read in
 * address order through process_vm_readv, those close together in one
 * piece, so a block freed under an in-run snapshot is a failed read, never
 * a fault. */
#ifndef LEAKSCOPE_SHIM_PYWINDOW_H
#define LEAKSCOPE_SHIM_PYWINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "pytypes.h"

#define PYW_HEAD 48               /* pre-header, GC header, refcount, type */
#define PYW_WINDOW (64u << 10)    /* bytes of heap read in one piece */
#define PYW_PIECES 16             /* pieces per system call */

struct pywindow {
	uint64_t first, end;      /* the listed blocks [first, end) */
	uint64_t start, len;      /* the bytes read */
};

/* Kept with the typing's state: its megabyte of buffers stays touched. */
struct pywindows {
	pid_t pid;
	struct pywindow windows[PYW_PIECES];
	struct iovec local[PYW_PIECES], remote[PYW_PIECES];
	uint8_t buffer[PYW_PIECES][PYW_WINDOW];
};

/* A block's bytes from `from` on; bytes NULL: they could not be read
 * (freed since). A block larger than a window comes in pieces. */
typedef void pywindow_give_fn(void *ctx, uint64_t block, uint64_t from, const uint8_t *bytes,
                              uint64_t len);

struct pywindow_list {
	const struct pytype_block *blocks;
	const uint32_t *list;     /* indices into blocks by ascending address;
	                           * NULL: every block, in order */
	uint64_t count;
	bool whole;               /* every byte of a block, else its head */
	pywindow_give_fn *give;
	void *ctx;
};

/* give() once for each listed block (pieces of a large one in order). */
void pywindows_read(struct pywindows *w, const struct pywindow_list *list);

#endif
