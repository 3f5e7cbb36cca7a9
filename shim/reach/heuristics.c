/* SPDX-License-Identifier: MIT */
/* Interior pointers that programs make on purpose, as Valgrind's memcheck
 * recognises them by default (--leak-check-heuristics=all): a block only
 * such a pointer reaches is reachable, named by the heuristic, instead of
 * possibly lost. And one it does not: one past the end of new T[0]. */
#define _GNU_SOURCE
#include <sys/uio.h>
#include <unistd.h>

#include "reach.h"

#define WORD 8
#define VTABLE_WORDS 20   /* searched for the vtable's function pointers */

/* A word of the program's memory: read through the kernel while a thread
 * runs (it may unmap memory under us), else directly. */
static bool read_word(const struct reach *reach, uint64_t addr, uint64_t *out)
{
	struct iovec local = { out, WORD }, remote = { (void *)(uintptr_t)addr, WORD };

	if (!reach->missed_threads) {
		*out = *(const uint64_t *)(uintptr_t)addr;
		return true;
	}
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == WORD;
}

static const struct reach_range *range_holding(const struct reach_range *ranges,
                                               uint32_t count, uint64_t addr)
{
	for (uint32_t i = 0; i < count; i++)
		if (addr >= ranges[i].lo && addr < ranges[i].hi)
			return &ranges[i];
	return NULL;
}

/* A pointer into a loaded object's image at a table whose first words are
 * null or code addresses, at least two of them code: a vtable. */
static bool vtable_pointer(const struct reach *reach, uint64_t ptr)
{
	const struct reach_range *image;
	unsigned functions = 0;

	if (ptr % WORD || ptr < 4096 ||
	    !(image = range_holding(reach->images, reach->image_count, ptr)))
		return false;
	for (uint64_t at = ptr; at + WORD <= image->hi && at < ptr + VTABLE_WORDS * WORD;
	     at += WORD) {
		uint64_t entry;

		if (!read_word(reach, at, &entry))
			return false;
		if (!entry)
			continue;
		if (!range_holding(reach->code, reach->code_count, entry))
			return false;
		if (++functions == 2)
			return true;
	}
	return false;
}

/* The heuristic by which `value`, a pointer into node other than its
 * start, is a pointer made on purpose; LKS_HEUR_NONE if none. Tried in
 * Valgrind's order: a length prefix is also a valid new[] cookie. */
uint8_t reach_heuristic(const struct reach *reach, const struct reach_node *node,
                        uint64_t value)
{
	uint64_t size = NODE_SIZE(node), first, second;

	if (!read_word(reach, node->addr, &first))
		return LKS_HEUR_NONE;
	if (value == node->addr + 3 * WORD && size >= 3 * WORD &&
	    read_word(reach, node->addr + WORD, &second) &&
	    3 * WORD + second + 1 == size && first <= second)
		return LKS_HEUR_STDSTRING;
	if (value == node->addr + WORD && first > 0 && size - WORD == first)
		return LKS_HEUR_LENGTH64;
	if (value == node->addr + WORD && first > 0 && (size - WORD) % first == 0)
		return LKS_HEUR_NEWARRAY;
	if (value % WORD == 0 && read_word(reach, value, &second) &&
	    vtable_pointer(reach, second) && vtable_pointer(reach, first))
		return LKS_HEUR_MULTIPLE_INHERITANCE;
	return LKS_HEUR_NONE;
}

/* new T[0] of a T with a destructor allocates the element count alone and
 * hands out the address just past it: the block's end, outside it. The
 * block holding a count of 0 whose end `value` is; -1 if none. */
int64_t reach_empty_array_end(const struct reach *reach, uint64_t value)
{
	int64_t found;
	uint64_t count;
	const struct reach_node *node;

	if (value % 16 != WORD || value - WORD < reach->lowest)
		return -1;
	found = reach_find(reach, value - WORD);
	if (found < 0)
		return -1;
	node = &reach->nodes[found];
	if (node->addr != value - WORD || NODE_SIZE(node) != WORD ||
	    node->size_family >> 56 != LKS_FAMILY_NEW_ARRAY ||
	    (reach->state[found] & STATE_NOSCAN) || !read_word(reach, node->addr, &count) ||
	    count != 0)
		return -1;
	return found;
}
