/* SPDX-License-Identifier: MIT */
/* `diff --retainers`: the newer snapshot's retainer chains whose site grew
 * since the older one, most growth first (docs/DIFF.md). */
#ifndef LEAKSCOPE_GROWN_H
#define LEAKSCOPE_GROWN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct grown_chain {
	const struct model_retainer *chain;  /* of the newer snapshot */
	int64_t bytes_diff, blocks_diff;     /* of its site */
};

/* Into *out (free()d by the caller), *count of them. 0 or -ENOMEM. */
int grown_chains(const struct model_process *old_proc, const struct model_process *new_proc,
		 struct grown_chain **out, size_t *count);

#endif
