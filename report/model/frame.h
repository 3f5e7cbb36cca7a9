/* SPDX-License-Identifier: MIT */
/* One policy for a stack's frames, used by every output: which frame is the
 * allocation's site and which the program's own, and how a frame reads in
 * text (the JSON frame is jw_frame, jsonw.h). */
#ifndef LEAKSCOPE_FRAME_H
#define LEAKSCOPE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Index of the first frame of `stack` that is neither one of the malloc
 * family (malloc, strdup, operator new, ...) nor matched by an `alloc_fns`
 * glob; the outermost frame when all are; 0 for an empty stack. */
size_t frame_site(const struct model_stack *stack, const char *const *alloc_fns,
		  size_t alloc_fn_count);

/* A frame with a source line that is not in a system library or header. */
bool frame_in_user_code(const struct model_frame *frame);

/* The first frame of a site in the program's own code: past allocation
 * wrappers, with a source line, not in a system library. Falls back to the
 * first frame past the wrappers; NULL for an empty stack. */
const struct model_frame *frame_user(const struct model_stack *stack);

/* Where a site can be shown in source: its frame in the program's own code
 * (frame_user), else the first frame from the site outwards that has a
 * source line in a file with an absolute path, system code included (a
 * relative path, "../sysdeps/...", names no file anyone can open); NULL
 * when no frame has one. */
const struct model_frame *frame_with_source(const struct model_stack *stack);

enum {
	FRAME_INDEX = 1u << 0,    /* "#3 " first */
	FRAME_BASENAME = 1u << 1, /* files and modules without their directory */
	FRAME_DIM = 1u << 2,      /* where there is no source line: dim (ANSI) */
	FRAME_INLINED = 1u << 3,  /* " [inlined]" after an inlined call */
};

/* A frame in one line: "f (file.c:12)", "f (module+0x1a)", "module+0x1a"
 * when no symbol covers it, "?? (0x7f00...)" outside every module. Cut to
 * `size`. */
void frame_text(const struct model_frame *frame, size_t index, unsigned flags,
		char *buf, size_t size);

/* A statistics key's frame, tracemalloc's way round: "file.c:12 (f)",
 * "f (module+0x1a)", "f (module)", "module+0x1a", "module" or "??", as
 * much as the key holds. */
void frame_key_text(const struct model_frame *frame, char *buf, size_t size);

/* The last component of a path. */
const char *base_name(const char *path);
/* `one` for 1, else `many`: "1 block", "2 blocks". */
const char *plural(uint64_t n, const char *one, const char *many);

#endif
