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

/* The chains first, as `report --retainers` prints them, then most growth
 * first, then in the shim's order. */
static int by_growth(const void *a, const void *b)
{
	const struct grown_chain *x = a, *y = b;

	if (!x->chain != !y->chain)
		return x->chain ? -1 : 1;
	if (x->bytes_diff != y->bytes_diff)
		return (x->bytes_diff < y->bytes_diff) - (x->bytes_diff > y->bytes_diff);
	return (x->order > y->order) - (x->order < y->order);
}

/* Whether `site` of the newer snapshot grew since the older one, and by
 * how much into *g. */
static bool site_grew(const struct model_process *old_proc, const struct model_leak *site,
		      bool same_process, struct grown_chain *g)
{
	const struct model_leak *old;

	if (!site || site->suppressed_by)
		return false;
	old = old_site(old_proc, site, same_process);
	g->bytes_diff = (int64_t)site->bytes - (int64_t)(old ? old->bytes : 0);
	g->blocks_diff = (int64_t)site->blocks - (int64_t)(old ? old->blocks : 0);
	return g->bytes_diff > 0;
}

int grown_chains(const struct model_process *old_proc, const struct model_process *new_proc,
		 struct grown_chain **out, size_t *count)
{
	bool same_process = old_proc->pid == new_proc->pid &&
			    same_text(old_proc->exe, new_proc->exe);
	size_t chains = new_proc->retainer_count;

	*count = 0;
	*out = calloc(chains + new_proc->unchained_count + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < chains; i++) {
		struct grown_chain g = { .chain = &new_proc->retainers[i], .order = i };

		if (site_grew(old_proc, g.chain->site, same_process, &g))
			(*out)[(*count)++] = g;
	}
	for (size_t i = 0; i < new_proc->unchained_count; i++) {
		struct grown_chain g = { .unchained = &new_proc->unchained[i], .order = chains + i };

		if (site_grew(old_proc, g.unchained->site, same_process, &g))
			(*out)[(*count)++] = g;
	}
	qsort(*out, *count, sizeof(**out), by_growth);
	return 0;
}
