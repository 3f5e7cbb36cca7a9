/* SPDX-License-Identifier: MIT */
/* Which chains of the newer snapshot lead to a site that grew. A site is
 * the same in both snapshots when its class and stack are: by trace id in
 * snapshots of one process (its stack table's ids), else by the frames'
 * functions, files and lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grown.h"

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_stack(const struct model_stack *a, const struct model_stack *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->frames[i].line != b->frames[i].line ||
		    !same_text(a->frames[i].function, b->frames[i].function) ||
		    !same_text(a->frames[i].file, b->frames[i].file))
			return false;
	return true;
}

static const struct model_leak *old_site(const struct model_process *old_proc,
					 const struct model_leak *site, bool same_process)
{
	for (size_t i = 0; i < old_proc->leak_count; i++) {
		const struct model_leak *old = &old_proc->leaks[i];

		if (old->klass == site->klass && old->family == site->family &&
		    (same_process ? old->stack.trace == site->stack.trace
				  : same_stack(&old->stack, &site->stack)))
			return old;
	}
	return NULL;
}

static int by_growth(const void *a, const void *b)
{
	const struct grown_chain *x = a, *y = b;

	if (x->bytes_diff != y->bytes_diff)
		return (x->bytes_diff < y->bytes_diff) - (x->bytes_diff > y->bytes_diff);
	return (x->chain > y->chain) - (x->chain < y->chain);  /* the shim's order */
}

int grown_chains(const struct model_process *old_proc, const struct model_process *new_proc,
		 struct grown_chain **out, size_t *count)
{
	bool same_process = old_proc->pid == new_proc->pid &&
			    same_text(old_proc->exe, new_proc->exe);

	*count = 0;
	*out = calloc(new_proc->retainer_count + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < new_proc->retainer_count; i++) {
		const struct model_retainer *chain = &new_proc->retainers[i];
		const struct model_leak *old;
		struct grown_chain g = { chain, 0, 0 };

		if (!chain->site || chain->site->suppressed_by)
			continue;
		old = old_site(old_proc, chain->site, same_process);
		g.bytes_diff = (int64_t)chain->site->bytes - (int64_t)(old ? old->bytes : 0);
		g.blocks_diff = (int64_t)chain->site->blocks - (int64_t)(old ? old->blocks : 0);
		if (g.bytes_diff > 0)
			(*out)[(*count)++] = g;
	}
	qsort(*out, *count, sizeof(**out), by_growth);
	return 0;
}
