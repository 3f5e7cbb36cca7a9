/* SPDX-License-Identifier: MIT */
/* `diff --retainers`: the newer snapshot's retainer chains whose site grew
 * since the older one, most growth first, then the sites that grew and
 * have no chain, and why (docs/DIFF.md). */
#ifndef LEAKSCOPE_GROWN_H
#define LEAKSCOPE_GROWN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* One of chain and unchained is set, both of the newer snapshot. */
struct grown_chain {
	const struct model_retainer *chain;
	const struct model_unchained *unchained; /* a Python site with no chain */
	int64_t bytes_diff, blocks_diff;         /* of its site */
	size_t order;                            /* in the shim's order */
};

/* Into *out (free()d by the caller), *count of them. 0 or -ENOMEM. */
int grown_chains(const struct model_process *old_proc, const struct model_process *new_proc,
		 struct grown_chain **out, size_t *count);

#endif
