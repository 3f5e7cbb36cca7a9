/* SPDX-License-Identifier: MIT */
/* Typed Python objects of a snapshot (docs/PYTHON.md), read into the report
 * model: per site and type, the live objects and their bytes. */
#ifndef LEAKSCOPE_PYOBJECTS_H
#define LEAKSCOPE_PYOBJECTS_H

#include "model.h"
#include "retainers.h"
#include "snapread.h"

/* Fills proc->pyobjects, largest bytes first, each with the stack its site
 * has, and proc->pytypes, their totals per type. 0 or a negative errno. */
int pyobjects_build(const struct snapshot *snap, struct model_process *proc,
		    retainers_stack_fn *stack_for, void *ctx);

#endif
