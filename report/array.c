/* SPDX-License-Identifier: MIT */
/* Room in a growing array (array.h): doubling, so that n appends copy
 * O(n) items in all, and never a size that wraps around. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

#define FIRST_CAPACITY 16

int array_reserve(void *items, size_t *capacity, size_t count, size_t more,
		  size_t item_size)
{
	size_t limit = SIZE_MAX / item_size, need, room;
	void *old, *grown;

	if (count > limit || more > limit - count)
		return -ENOMEM;  /* no size_t holds the bytes: as calloc says it */
	need = count + more;
	if (need <= *capacity)
		return 0;
	room = *capacity > limit / 2 ? limit : *capacity * 2;
	if (room < FIRST_CAPACITY && FIRST_CAPACITY <= limit)
		room = FIRST_CAPACITY;
	if (room < need)
		room = need;
	/* `items` points at a T *, read and written as bytes: a T * may not be
	 * accessed as a void * */
	memcpy(&old, items, sizeof(old));
	grown = realloc(old, room * item_size);
	if (!grown)
		return -ENOMEM;
	memcpy(items, &grown, sizeof(grown));
	*capacity = room;
	return 0;
}

int array_append_text(const char ***list, size_t *count, size_t *capacity,
		      const char *text)
{
	int r = array_reserve(list, capacity, *count, 1, sizeof(**list));

	if (r == 0)
		(*list)[(*count)++] = text;
	return r;
}
