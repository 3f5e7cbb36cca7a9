/* SPDX-License-Identifier: MIT */
/* Where an allocation happened, symbolically: the first frame outside the
 * allocation wrappers, and the key text of a frame or stack for each
 * grouping, built from names and module offsets only, never raw addresses. */
#ifndef LEAKSCOPE_SITEKEY_H
#define LEAKSCOPE_SITEKEY_H

#include <stddef.h>

#include "stats.h"

/* Index of the first frame of `stack` that is neither one of the malloc
 * family (malloc, strdup, operator new, ...) nor matched by an `alloc_fns`
 * glob; the outermost frame when all are; 0 for an empty stack. */
size_t sitekey_site(const struct model_stack *stack, const char *const *alloc_fns,
		    size_t alloc_fn_count);

struct sitekey_buffer {
	char *text;
	size_t length, capacity;
};

/* The key of frames[0..count) grouped by `key` (for any key but traceback
 * only frames[0] counts) into `buffer`, and the frames a report shows for
 * it into `shown` (allocated in `pool`). 0 or -ENOMEM. */
int sitekey_make(enum stats_key key, const struct model_frame *frames, size_t count,
		 struct sitekey_buffer *buffer, struct pool *pool,
		 struct model_stack *shown);
void sitekey_buffer_free(struct sitekey_buffer *buffer);

#endif
