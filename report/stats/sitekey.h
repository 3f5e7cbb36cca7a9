/* SPDX-License-Identifier: MIT */
/* Where an allocation happened, symbolically: the key text of a site's
 * frame or stack for each grouping, built from names and module offsets
 * only, never raw addresses (the site itself is frame_site, frame.h). */
#ifndef LEAKSCOPE_SITEKEY_H
#define LEAKSCOPE_SITEKEY_H

#include <stddef.h>

#include "stats.h"

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
