/* SPDX-License-Identifier: MIT */
/* From the snapshot's retainer steps (already checked: every chain is one
 * root followed by blocks) to named chains in the model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "retainers.h"

static const struct model_leak *site_of(const struct model_process *proc,
					uint32_t trace)
{
	for (size_t i = 0; i < proc->leak_count; i++)
		if (proc->leaks[i].klass == LKS_CLASS_REACHABLE &&
		    proc->leaks[i].stack.trace == trace)
			return &proc->leaks[i];
	return NULL;
}

/* The function a stack root's return address points into (the caller of
 * the frame holding the word): of an inline chain, the outermost. */
static int frame_of(struct model_process *proc, struct symbolizer *sym, uint64_t ip,
		    struct model_stack *out)
{
	const struct model_frame *frames;
	size_t count;
	int r;

	if (!ip)
		return 0;
	r = sym_lookup(sym, ip, &frames, &count);
	if (r < 0 || count == 0)
		return r;
	out->frames = pool_alloc(proc->pool, sizeof(*out->frames));
	if (!out->frames)
		return -ENOMEM;
	out->frames[0] = frames[count - 1];
	out->count = 1;
	out->trace = 1;  /* a stack, not "none captured" */
	return 0;
}

static int fill_step(const struct lks_retainer_step *raw, struct model_process *proc,
		     struct symbolizer *sym, retainers_stack_fn *stack_for, void *ctx,
		     struct model_retainer_step *step)
{
	step->kind = raw->kind;
	step->address = raw->addr;
	step->offset = raw->offset;
	step->size = raw->size;
	step->thread = raw->thread;
	if (raw->kind == LKS_RK_BLOCK)
		return stack_for(ctx, raw->trace, &step->stack);
	if (raw->kind == LKS_RK_GLOBAL)
		return sym_data(sym, raw->addr, &step->symbol, &step->symbol_offset,
				&step->module);
	if (raw->kind == LKS_RK_STACK)
		return frame_of(proc, sym, raw->frame_ip, &step->frame);
	return 0;
}

static int build_chain(const struct lks_retainer_step *raw, size_t count,
		       struct model_process *proc, struct symbolizer *sym,
		       retainers_stack_fn *stack_for, void *ctx,
		       struct model_retainer *chain)
{
	int r;

	chain->steps = pool_alloc(proc->pool, count * sizeof(*chain->steps));
	if (!chain->steps)
		return -ENOMEM;
	chain->step_count = count;
	for (size_t i = 0; i < count; i++) {
		r = fill_step(&raw[i], proc, sym, stack_for, ctx, &chain->steps[i]);
		if (r < 0)
			return r;
	}
	chain->site = site_of(proc, raw[count - 1].trace);
	return 0;
}

int retainers_build(const struct snapshot *snap, struct model_process *proc,
		    struct symbolizer *sym, retainers_stack_fn *stack_for, void *ctx)
{
	const struct lks_retainer_step *raw = snap->retainers;
	size_t start = 0;
	int r;

	if (snap->retainer_count == 0)
		return 0;
	proc->retainers = calloc(snap->retainer_count, sizeof(*proc->retainers));
	if (!proc->retainers)
		return -ENOMEM;
	for (size_t i = 1; i <= snap->retainer_count; i++) {
		if (i < snap->retainer_count && raw[i].chain == raw[start].chain)
			continue;
		r = build_chain(raw + start, i - start, proc, sym, stack_for, ctx,
				&proc->retainers[proc->retainer_count++]);
		if (r < 0)
			return r;
		start = i;
	}
	return 0;
}
