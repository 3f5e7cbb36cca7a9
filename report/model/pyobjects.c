/* SPDX-License-Identifier: MIT */
/* The python types and python objects sections as the model's typed
 * objects: each record's type named, its stack symbolized once with the
 * sites', largest first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "pyobjects.h"

static int by_size(const void *a, const void *b)
{
	const struct model_pyobjects *x = a, *y = b;
	int names;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	if ((names = strcmp(x->type, y->type)) != 0)
		return names;
	if (x->stack.trace != y->stack.trace)
		return x->stack.trace < y->stack.trace ? -1 : 1;
	return (int)x->klass - (int)y->klass;
}

static int by_total(const void *a, const void *b)
{
	const struct model_pytype_total *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	return strcmp(x->type, y->type);
}

/* Per type, over every site; types are interned, so one name is one
 * pointer. The file's types are unique by id, not by name: two classes
 * of one name add up, as objgraph counts them. */
static int sum_types(const struct snapshot *snap, struct model_process *proc)
{
	struct model_pytype_total *totals = calloc(snap->pytype_count + 1, sizeof(*totals));
	size_t count = 0;

	if (!totals)
		return -ENOMEM;
	proc->pytypes = totals;
	for (size_t i = 0; i < proc->pyobject_count; i++) {
		const struct model_pyobjects *o = &proc->pyobjects[i];
		size_t t = 0;

		while (t < count && totals[t].type != o->type)
			t++;
		if (t == count)
			totals[count++].type = o->type;
		totals[t].blocks += o->blocks;
		totals[t].bytes += o->bytes;
	}
	proc->pytype_count = count;
	qsort(totals, count, sizeof(*totals), by_total);
	return 0;
}

int pyobjects_build(const struct snapshot *snap, struct model_process *proc,
		    retainers_stack_fn *stack_for, void *ctx)
{
	struct model_pyobjects *out;
	int r;

	if (snap->pyobject_count == 0)
		return 0;
	out = calloc(snap->pyobject_count, sizeof(*out));
	if (!out)
		return -ENOMEM;
	proc->pyobjects = out;
	for (size_t i = 0; i < snap->pyobject_count; i++) {
		const struct lks_pyobjects *o = &snap->pyobjects[i];

		out[i].type = pool_intern(proc->pool,
					  snap_string(snap, snap_pytype(snap, o->type)->name));
		if (!out[i].type)
			return -ENOMEM;
		out[i].klass = (enum lks_class)o->klass;
		out[i].blocks = o->blocks;
		out[i].bytes = o->bytes;
		proc->pyobject_count = i + 1;
		if ((r = stack_for(ctx, o->trace, &out[i].stack)) < 0)
			return r;
	}
	qsort(out, proc->pyobject_count, sizeof(*out), by_size);
	return sum_types(snap, proc);
}
