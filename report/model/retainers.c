/* SPDX-License-Identifier: MIT */
/* From the snapshot's retainer steps (already checked: every chain is one
 * root followed by blocks) to named chains in the model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "retainers.h"

/* A reachable site; in a snapshot without classes (python-exit), the
 * site of unfreed blocks. */
static const struct model_leak *site_of(const struct model_process *proc,
					uint32_t trace)
{
	enum lks_class klass = proc->classified ? LKS_CLASS_REACHABLE : LKS_CLASS_UNFREED;

	for (size_t i = 0; i < proc->leak_count; i++)
		if (proc->leaks[i].klass == klass && proc->leaks[i].stack.trace == trace)
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
	*step = (struct model_retainer_step){ .kind = raw->kind, .address = raw->addr,
		.offset = raw->offset, .size = raw->size, .thread = raw->thread };
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

/* The Python names of the steps (already checked: in step order). 0 or
 * -ENOMEM. */
static int name_python_steps(const struct snapshot *snap, struct model_process *proc)
{
	size_t chain = 0, first = 0;

	for (size_t i = 0; i < snap->pyretainer_count; i++) {
		const struct lks_pyretainer *py = &snap->pyretainers[i];
		struct model_retainer_step *step;

		while (chain < proc->retainer_count &&
		       py->step >= first + proc->retainers[chain].step_count)
			first += proc->retainers[chain++].step_count;
		if (chain == proc->retainer_count)
			return 0;
		step = &proc->retainers[chain].steps[py->step - first];
		if (py->type && !(step->pytype = pool_intern(proc->pool,
							    snap_string(snap, py->type))))
			return -ENOMEM;
		if (step->kind == LKS_RK_PYMODULE &&
		    !(step->pymodule = pool_intern(proc->pool, snap_string(snap, py->module))))
			return -ENOMEM;
		if (py->key && !(step->pykey = pool_intern(proc->pool, snap_string(snap, py->key))))
			return -ENOMEM;
	}
	return 0;
}

/* The sites the walk chose and has no chain to. 0 or -ENOMEM. */
static int build_unchained(const struct snapshot *snap, struct model_process *proc)
{
	if (!snap->pyunchained_count)
		return 0;
	proc->unchained = pool_alloc(proc->pool, snap->pyunchained_count *
				     sizeof(*proc->unchained));
	if (!proc->unchained)
		return -ENOMEM;
	for (size_t i = 0; i < snap->pyunchained_count; i++)
		proc->unchained[proc->unchained_count++] = (struct model_unchained){
			.site = site_of(proc, snap->pyunchained[i].trace),
			.reason = snap->pyunchained[i].reason,
			.walked = snap->pyunchained[i].walked };
	return 0;
}

int retainers_build(const struct snapshot *snap, struct model_process *proc,
		    struct symbolizer *sym, retainers_stack_fn *stack_for, void *ctx)
{
	const struct lks_retainer_step *raw = snap->retainers;
	size_t start = 0;
	int r;

	if ((r = build_unchained(snap, proc)) < 0 || snap->retainer_count == 0)
		return r;
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
	return name_python_steps(snap, proc);
}
