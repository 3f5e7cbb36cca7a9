/* SPDX-License-Identifier: MIT */
/* Retainer chains of a snapshot, read into the report model: each root
 * named (a global's symbol and object, a thread's frame), each block with
 * its allocation site. */
#ifndef LEAKSCOPE_RETAINERS_H
#define LEAKSCOPE_RETAINERS_H

#include "model.h"
#include "snapread.h"
#include "symbols.h"

/* The symbolized stack of a trace id, shared with the leak sites. */
typedef int retainers_stack_fn(void *ctx, uint32_t trace, struct model_stack *out);

/* Fills proc->retainers; proc->leaks must be built and sorted. 0 or a
 * negative errno. */
int retainers_build(const struct snapshot *snap, struct model_process *proc,
		    struct symbolizer *sym, retainers_stack_fn *stack_for, void *ctx);

#endif
