/* SPDX-License-Identifier: MIT */
/* Who holds reachable memory: for the largest reachable sites, the chain the
 * scan followed from a root to one of their blocks, read back from each
 * block's `via` (the word that first reached it). The reporter names the
 * root: a global's symbol, a thread's stack frame. */
#include "reach.h"

#define MAX_CHAINS 16
#define MAX_STEPS 64        /* longer chains are cut to their last steps */
#define FRAME_SEARCH 4096   /* words above a stack root searched for a frame */
#define CANDIDATES 256      /* blocks of a site tried for the shortest chain */

struct wanted {
	const struct lks_site *site;
	int64_t block;          /* the site's largest block, or -1 */
};

/* The MAX_CHAINS largest reachable sites, largest first. */
static size_t pick_sites(const struct lks_site *sites, size_t count, struct wanted *out)
{
	size_t chosen = 0;

	for (size_t i = 0; i < count; i++) {
		size_t at;

		if (sites[i].klass != LKS_CLASS_REACHABLE)
			continue;
		for (at = chosen; at > 0 && out[at - 1].site->bytes < sites[i].bytes; at--)
			if (at < MAX_CHAINS)
				out[at] = out[at - 1];
		if (at < MAX_CHAINS) {
			out[at] = (struct wanted){ &sites[i], -1 };
			if (chosen < MAX_CHAINS)
				chosen++;
		}
	}
	return chosen;
}

/* Steps from a root to the block, MAX_STEPS + 1 when longer. */
static int chain_length(const struct reach *reach, int64_t at)
{
	int depth = 1;

	while (depth <= MAX_STEPS && (at = reach_find(reach, reach->nodes[at].via)) >= 0)
		depth++;
	return depth;
}

/* Of a site's first CANDIDATES blocks, the one closest to a root: in a
 * list of a site's blocks that is the head, not the far end. */
static void find_blocks(const struct reach *reach, struct wanted *wanted, size_t count)
{
	int best[MAX_CHAINS], tried[MAX_CHAINS] = { 0 };

	for (uint64_t i = 0; i < reach->count; i++) {
		const struct reach_node *node = &reach->nodes[i];

		if ((reach->state[i] & STATE_CLASS) != LKS_CLASS_REACHABLE)
			continue;
		for (size_t w = 0; w < count; w++) {
			const struct lks_site *site = wanted[w].site;
			int length;

			if (node->trace != site->trace || node->size_family >> 56 != site->family ||
			    tried[w] == CANDIDATES)
				continue;
			tried[w]++;
			length = chain_length(reach, (int64_t)i);
			if (wanted[w].block < 0 || length < best[w]) {
				wanted[w].block = (int64_t)i;
				best[w] = length;
			}
		}
	}
}

static bool in_code(const struct reach *reach, uint64_t value)
{
	for (uint32_t i = 0; i < reach->code_count; i++)
		if (value >= reach->code[i].lo && value < reach->code[i].hi)
			return true;
	return false;
}

/* The first code address above a stack root: the return address at the
 * top of the frame that holds the word, so it points into the caller of the
 * function owning that frame. (Searching below for the owner's own call
 * meets stale return addresses in its unwritten slots too often.) */
static uint64_t frame_of(const struct reach *reach, const struct reach_range *root,
                         uint64_t where)
{
	for (uint64_t at = where + 8, n = 0; at + 8 <= root->hi && n < FRAME_SEARCH;
	     at += 8, n++) {
		uint64_t value = *(const uint64_t *)(uintptr_t)at;

		if (in_code(reach, value))
			return value;
	}
	return 0;
}

static struct lks_retainer_step root_step(const struct reach *reach, uint32_t chain,
                                          uint64_t where)
{
	struct lks_retainer_step step = { .chain = chain, .kind = LKS_RK_MMAP, .addr = where };

	for (uint32_t i = 0; i < reach->root_count; i++) {
		const struct reach_range *root = &reach->roots[i];

		if (where < root->lo || where >= root->hi)
			continue;
		step.kind = root->kind;
		step.thread = root->thread;
		if (root->kind == LKS_RK_REGISTER)
			step.offset = (where - root->lo) / 8;
		if (root->kind == LKS_RK_STACK)
			step.frame_ip = frame_of(reach, root, where);
		break;
	}
	return step;
}

static void write_chain(const struct reach *reach, uint32_t chain, int64_t target,
                        struct lks_buf *out)
{
	uint64_t path[MAX_STEPS];
	int depth = 0;
	int64_t at = target, parent;
	struct lks_retainer_step step;

	/* via leads from each block to the one that reached it first: a tree */
	for (; depth < MAX_STEPS; at = parent) {
		path[depth++] = (uint64_t)at;
		parent = reach_find(reach, reach->nodes[at].via);
		if (parent < 0)
			break;
	}
	if (parent >= 0)
		return;  /* too long to show whole: no chain rather than half a one */
	step = root_step(reach, chain, reach->nodes[path[depth - 1]].via);
	lks_buf_append(out, &step, sizeof(step));
	for (int i = depth - 1; i >= 0; i--) {
		const struct reach_node *node = &reach->nodes[path[i]];

		step = (struct lks_retainer_step){ .chain = chain, .kind = LKS_RK_BLOCK,
			.addr = node->addr, .trace = node->trace, .size = NODE_SIZE(node) };
		if (i > 0)
			step.offset = reach->nodes[path[i - 1]].via - node->addr;
		lks_buf_append(out, &step, sizeof(step));
	}
}

/* Reads stacks: called before lks_reach_end lets the threads go. */
void lks_reach_retainers(const struct lks_reach *scan, const struct lks_site *sites,
                         size_t count, struct lks_buf *out)
{
	struct wanted wanted[MAX_CHAINS];
	size_t chosen = pick_sites(sites, count, wanted);
	uint32_t chain = 0;

	find_blocks(&scan->core, wanted, chosen);
	for (size_t i = 0; i < chosen; i++)
		if (wanted[i].block >= 0)
			write_chain(&scan->core, chain++, wanted[i].block, out);
}
