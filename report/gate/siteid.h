/* SPDX-License-Identifier: MIT */
/* A site's identity from one build to the next (docs/CI.md, "What a
 * baseline survives"): the kind, the functions of a few frames from the
 * allocation site on, and where in each function the call is, counted in
 * lines from the function's first line. No address, path or byte count
 * goes in. */
#ifndef LEAKSCOPE_SITEID_H
#define LEAKSCOPE_SITEID_H

#include <stdint.h>

#include "model.h"

/* Frames from the site on that make an identity: enough to tell two
 * callers of one helper apart, few enough that a change far up the stack
 * (a new caller of main's callee) leaves old sites known. */
#define SITE_ID_FRAMES 4
#define SITE_ID_NO_POSITION UINT32_MAX

struct site_id {
	/* "leak|store+3|main+12|__libc_start_call_main|...": the chain with
	 * each frame's position in its function */
	char *key;
	/* the same without positions: what a site keeps when lines move */
	char *chain;
	/* line - function_line of each frame from the site on, for frames in
	 * the program's own code with both known; SITE_ID_NO_POSITION else */
	uint32_t positions[SITE_ID_FRAMES];
};

/* The identity of a site of `kind` ("leak", or "handle/" and the handle
 * type) allocated at `stack`. 0 or -ENOMEM. */
int site_id_make(const char *kind, const struct model_stack *stack, struct site_id *id);
void site_id_free(struct site_id *id);

/* Order of two sites of one chain in their functions: by positions, from
 * the site outwards, then by key. */
int site_id_compare_positions(const struct site_id *a, const struct site_id *b);

#endif
