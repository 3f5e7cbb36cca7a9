/* SPDX-License-Identifier: MIT */
/* A per-thread cache of whole stacks, sound by construction: a walk is a
 * function of its start registers, of the rows (fixed while the cache's
 * generation holds) and of the stack words it reads, each at an address
 * that depends only on what came before. So a walk that starts from the
 * same registers and finds every word it read last time unchanged would
 * read the same addresses and give the same stack: the cache keeps those
 * words, checks them all, and on a match gives back the interned trace
 * without stepping a frame. A walk that needed lks_cfi_step (a row not yet
 * cached, a signal frame, an expression) or read more words than fit is
 * not kept. */
#include "unwind.h"

#define ENTRY_BITS 1  /* 2 per thread: static TLS is scarce (PTHREAD_STACK_MIN) */

struct stack_entry {
	uint64_t pc, rsp, hi, generation;
	uint64_t inverted_rbp;  /* inverted, as the words below */
	uint32_t trace, count;  /* count 0: empty */
	int max;                /* the depth the walk was allowed */
	bool used_rbp;          /* else any start rbp gives the same stack */
	bool rbp_known;
	bool fixed_region;      /* hi is the main stack's or the thread's */
	uint32_t offset[STACK_READS_MAX];  /* address - rsp */
	/* The words, inverted: rbp and its saved copies may hold pointers of
	 * the program's, and the exit scan reads this TLS as the program's
	 * memory (the loader maps it); inverted, they point at no block. */
	uint64_t inverted[STACK_READS_MAX];
};

static __thread struct stack_entry entries[1u << ENTRY_BITS]
	__attribute__((tls_model("initial-exec")));

static struct stack_entry *entry_of(const struct unwind_regs *start)
{
	uint64_t hash = (start->r[DW_RA] ^ start->r[DW_RSP] * 31) * 0x9e3779b97f4a7c15u;

	return &entries[hash >> (64 - ENTRY_BITS)];
}

static bool same_start(const struct stack_entry *entry, const struct unwind_regs *start,
                       int max)
{
	return entry->count && entry->max == max && entry->pc == start->r[DW_RA] &&
	       entry->rsp == start->r[DW_RSP] && entry->generation == lks_pc_generation() &&
	       (!entry->used_rbp ||
	        (entry->rbp_known == !!(start->known & 1u << DW_RBP) &&
	         entry->inverted_rbp == ~start->r[DW_RBP]));
}

/* The same stack region as when the words were read. On the main stack or
 * the thread's, the same sp on the same thread is (the entries are the
 * thread's own). On a sigaltstack (which may be replaced at the same
 * place) only a region the caller worked out, with the same top, is. */
static bool same_region(const struct stack_entry *entry, const struct unwind_regs *start)
{
	return entry->fixed_region || (start->region.hi && entry->hi == start->region.hi);
}

bool lks_stack_cache_find(const struct unwind_regs *start, int max, uint32_t *trace)
{
	const struct stack_entry *entry = entry_of(start);
	const char *rsp = (const char *)(uintptr_t)start->r[DW_RSP];
	uint32_t count = entry->count;

	if (!same_start(entry, start, max) || !same_region(entry, start))
		return false;
	/* every offset was inside the region when read, and the region is the
	 * same (same rsp and top): still readable */
	for (uint32_t i = 0; i < count; i++)
		if (~*(const uint64_t *)(rsp + entry->offset[i]) != entry->inverted[i])
			return false;
	*trace = entry->trace;
	return true;
}

void lks_stack_cache_store(const struct unwind_regs *start, int max,
                           const struct stack_reads *reads, uint32_t trace)
{
	struct stack_entry *entry = entry_of(start);

	if (reads->uncacheable || reads->count == 0 || trace == 0)
		return;
	entry->count = 0;  /* invalid while it is rewritten */
	entry->pc = start->r[DW_RA];
	entry->rsp = start->r[DW_RSP];
	entry->inverted_rbp = ~start->r[DW_RBP];
	entry->rbp_known = start->known & 1u << DW_RBP;
	entry->hi = start->region.hi;
	entry->fixed_region = start->region.fixed;
	entry->generation = reads->generation;
	entry->trace = trace;
	entry->max = max;
	entry->used_rbp = reads->used_rbp;
	for (uint32_t i = 0; i < reads->count; i++) {
		entry->offset[i] = (uint32_t)(reads->addr[i] - start->r[DW_RSP]);
		entry->inverted[i] = ~reads->value[i];
	}
	entry->count = reads->count;
}
