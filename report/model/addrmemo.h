/* SPDX-License-Identifier: MIT */
/* Frames remembered by address: what an address expanded to (its inline
 * chain and function), kept so that each address is expanded once, per
 * process snapshot by its runtime address and per object file by its
 * link-time address. */
#ifndef LEAKSCOPE_ADDRMEMO_H
#define LEAKSCOPE_ADDRMEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct addr_memo_slot;

struct addr_memo {
	struct addr_memo_slot *slots;
	size_t slot_capacity, slots_used;
	struct model_frame *frames; /* every remembered chain, one after another */
	size_t frame_count, frame_capacity;
};

/* The frames remembered for `key`: false when there are none. */
bool memo_find(const struct addr_memo *memo, uint64_t key,
	       const struct model_frame **frames, size_t *count);

/* Appends a frame to the chain being built; 0 or -ENOMEM. */
int memo_push(struct addr_memo *memo, const struct model_frame *frame);

/* Remembers the frames pushed since `first` as key's; 0 or -ENOMEM. */
int memo_remember(struct addr_memo *memo, uint64_t key, size_t first);

void memo_release(struct addr_memo *memo);

#endif
