/* SPDX-License-Identifier: MIT */
/* Growing an array: the reporter's one way to make room in a realloc'd
 * buffer, by doubling, with the size arithmetic checked. */
#ifndef LEAKSCOPE_ARRAY_H
#define LEAKSCOPE_ARRAY_H

#include <stddef.h>

/* Makes the array at *items (of item_size-byte items, realloc'd, NULL when
 * empty) hold at least count + more items, at least doubling *capacity.
 * 0, or -ENOMEM when that memory or its size in bytes cannot be had; then
 * *items and *capacity are as they were. */
int array_reserve(void *items, size_t *capacity, size_t count, size_t more,
		  size_t item_size);

/* Appends `text` (kept, not copied) to a growing list of strings: the
 * values of a repeatable option. 0 or -ENOMEM (the list as it was). */
int array_append_text(const char ***list, size_t *count, size_t *capacity,
		      const char *text);

/* array_reserve for an array variable `array` and its capacity variable. */
#define ARRAY_RESERVE(array, capacity, count, more) \
	array_reserve(&(array), &(capacity), (count), (more), sizeof(*(array)))

#endif
