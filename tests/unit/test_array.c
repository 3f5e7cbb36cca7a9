/* SPDX-License-Identifier: MIT */
/* array_reserve: room for what is asked, items kept across a move, the
 * capacity at least doubled (so n appends copy O(n) items), and a size
 * that does not fit in size_t refused with the array left as it was. TAP
 * output. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"
#include "tap.h"

static void appends_keep_items(void)
{
	unsigned *items = NULL;
	size_t capacity = 0, grew = 0, last = 0;
	bool kept = true;

	for (unsigned i = 0; i < 100000; i++) {
		if (ARRAY_RESERVE(items, capacity, i, 1) < 0)
			break;
		if (capacity != last) {
			grew++;
			if (last && capacity < 2 * last)
				kept = false;
			last = capacity;
		}
		items[i] = i * 7;
	}
	for (unsigned i = 0; items && i < 100000; i++)
		kept = kept && items[i] == i * 7;
	ok(items && capacity >= 100000 && kept, "100,000 appends keep every item");
	ok(grew <= 14, "the capacity at least doubles (%zu moves)", grew);
	free(items);
}

static void reserves_room_asked(void)
{
	char *text = NULL;
	size_t capacity = 0;

	ok(ARRAY_RESERVE(text, capacity, 0, 1000) == 0 && capacity >= 1000,
	   "room for 1,000 at once (capacity %zu)", capacity);
	ok(ARRAY_RESERVE(text, capacity, 1000, 0) == 0 && capacity >= 1000,
	   "nothing more asked: nothing moves");
	free(text);
}

static void refuses_wrapping_sizes(void)
{
	uint64_t *items = NULL, *before;
	size_t capacity = 0;

	ARRAY_RESERVE(items, capacity, 0, 4);
	before = items;
	ok(ARRAY_RESERVE(items, capacity, 2, SIZE_MAX / 8) == -ENOMEM &&
	   items == before && capacity >= 4,
	   "count + more above SIZE_MAX / item size: -ENOMEM, array unchanged");
	ok(ARRAY_RESERVE(items, capacity, SIZE_MAX, 1) == -ENOMEM && items == before,
	   "count + more wrapping around: -ENOMEM, array unchanged");
	free(items);
}

static void appends_texts_in_order(void)
{
	static const char *const values[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i",
					      "j", "k", "l", "m", "n", "o", "p", "q", "r" };
	const char **list = NULL;
	size_t count = 0, capacity = 0;
	bool kept = true;

	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++)
		kept = kept && array_append_text(&list, &count, &capacity, values[i]) == 0;
	for (size_t i = 0; kept && i < count; i++)
		kept = list[i] == values[i];
	ok(kept && count == 18 && capacity >= 18,
	   "18 texts appended past the first capacity, each kept in order, not copied");
	free(list);
}

int main(void)
{
	appends_keep_items();
	appends_texts_in_order();
	reserves_room_asked();
	refuses_wrapping_sizes();
	return tap_done();
}
