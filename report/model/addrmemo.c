/* SPDX-License-Identifier: MIT */
/* An open-addressing table from address to a run of frames (addrmemo.h). */
#include <errno.h>
#include <stdlib.h>

#include "addrmemo.h"
#include "array.h"

struct addr_memo_slot {
	uint64_t key;
	size_t first, count; /* in memo->frames */
	bool used;
};

static size_t slot_index(uint64_t key, size_t capacity)
{
	return (size_t)((key * 0x9e3779b97f4a7c15u) >> 20) & (capacity - 1);
}

static struct addr_memo_slot *find_slot(struct addr_memo_slot *slots, size_t capacity,
					uint64_t key)
{
	size_t i = slot_index(key, capacity);

	while (slots[i].used && slots[i].key != key)
		i = (i + 1) & (capacity - 1);
	return &slots[i];
}

static int grow_slots(struct addr_memo *memo)
{
	size_t capacity = memo->slot_capacity ? memo->slot_capacity * 2 : 1024;
	struct addr_memo_slot *slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < memo->slot_capacity; i++)
		if (memo->slots[i].used)
			*find_slot(slots, capacity, memo->slots[i].key) = memo->slots[i];
	free(memo->slots);
	memo->slots = slots;
	memo->slot_capacity = capacity;
	return 0;
}

bool memo_find(const struct addr_memo *memo, uint64_t key,
	       const struct model_frame **frames, size_t *count)
{
	const struct addr_memo_slot *slot;

	if (!memo->slot_capacity)
		return false;
	slot = find_slot(memo->slots, memo->slot_capacity, key);
	if (!slot->used)
		return false;
	*frames = &memo->frames[slot->first];
	*count = slot->count;
	return true;
}

int memo_push(struct addr_memo *memo, const struct model_frame *frame)
{
	int r = ARRAY_RESERVE(memo->frames, memo->frame_capacity, memo->frame_count, 1);

	if (r < 0)
		return r;
	memo->frames[memo->frame_count++] = *frame;
	return 0;
}

int memo_remember(struct addr_memo *memo, uint64_t key, size_t first)
{
	if (memo->slots_used + 1 > memo->slot_capacity / 2 && grow_slots(memo) < 0)
		return -ENOMEM;
	*find_slot(memo->slots, memo->slot_capacity, key) = (struct addr_memo_slot){
		.key = key, .first = first, .count = memo->frame_count - first, .used = true
	};
	memo->slots_used++;
	return 0;
}

void memo_release(struct addr_memo *memo)
{
	free(memo->slots);
	free(memo->frames);
	*memo = (struct addr_memo){ 0 };
}
