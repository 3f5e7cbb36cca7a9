/* SPDX-License-Identifier: MIT */
/* The walk: frame after frame, through a per-thread cache of the rows of
 * the pcs this thread walked lately (most stacks repeat the same few
 * dozen return addresses), with the common rows stepped in registers.
 * A row never changes while its object is loaded; a dlclose bumps the
 * generation, which empties every thread's cache. Misses, and the rows
 * that need more, go to lks_cfi_step. */
#include "unwind.h"

#define CACHE_BITS 8

/* A row of cfi_step.c, packed: 16 bytes with its pc. */
struct cached_row {
	uint64_t pc;         /* the pc looked up (return address - 1); 0: none */
	int32_t cfa_off;
	int16_t rbp_off;
	int8_t ra_off;
	uint8_t kinds;       /* cfa_kind | rbp_kind << 4 */
};

struct row_cache {
	uint64_t generation;
	struct cached_row rows[1u << CACHE_BITS];
};

static __thread struct row_cache cache __attribute__((tls_model("initial-exec")));
/* atomic; 0 matches a new thread's zeroed cache: no clearing at its start */
static uint64_t generation;

void lks_cfi_cache_flush(void)
{
	__atomic_fetch_add(&generation, 1, __ATOMIC_RELEASE);
}

uint64_t lks_cfi_generation(void)
{
	/* acquire: pairs with the flush that follows a table's drop */
	return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

static struct cached_row *cache_now(uint64_t now)
{
	if (lks_unlikely(cache.generation != now)) {
		__builtin_memset(cache.rows, 0, sizeof(cache.rows));
		cache.generation = now;
	}
	return cache.rows;
}

static void remember(struct cached_row *slot, uint64_t pc, const struct cfi_row *row)
{
	slot->pc = 0;
	if (row->cfa_kind < CFA_RSP || row->cfa_kind > CFA_END ||
	    row->ra_off < INT8_MIN || row->ra_off > INT8_MAX)
		return;  /* not a fast row: always stepped by lks_cfi_step */
	slot->cfa_off = row->cfa_off;
	slot->rbp_off = row->rbp_off;
	slot->ra_off = (int8_t)row->ra_off;
	slot->kinds = (uint8_t)(row->cfa_kind | row->rbp_kind << 4);
	slot->pc = pc;
}

/* One step by a cached row, on registers held in locals; false: leave
 * it to lks_cfi_step. Reads only [lo, lo + span]. */
static inline void note(struct stack_reads *reads, uint64_t addr, uint64_t value)
{
	if (!reads)
		return;
	if (lks_unlikely(reads->count == STACK_READS_MAX)) {
		reads->uncacheable = true;
		return;
	}
	reads->addr[reads->count] = addr;
	reads->value[reads->count++] = value;
}

/* The start rbp matters to the stack only if a step used it before a
 * frame's saved copy replaced it (-O2 code keeps anything in rbp). */
static inline void note_rbp(struct stack_reads *reads)
{
	if (reads && !reads->rbp_reloaded)
		reads->used_rbp = true;
}

static inline bool cached_step(const struct cached_row *row, uint64_t *pc, uint64_t *rsp,
                               uint64_t *rbp, bool *rbp_known, uint64_t lo, uint64_t span,
                               struct stack_reads *reads)
{
	uint64_t cfa, at, ra, new_rbp = *rbp;
	unsigned cfa_kind = row->kinds & 15, rbp_kind = row->kinds >> 4;

	if (cfa_kind == CFA_RSP) {
		cfa = *rsp + (uint64_t)(int64_t)row->cfa_off;
	} else {
		if (!*rbp_known)
			return false;
		note_rbp(reads);
		cfa = *rbp + (uint64_t)(int64_t)row->cfa_off;
		if (cfa_kind == CFA_DEREF_RBP) {
			if (cfa - lo > span)
				return false;
			at = cfa;
			cfa = *(const uint64_t *)(uintptr_t)at;
			note(reads, at, cfa);
		}
	}
	at = cfa + (uint64_t)(int64_t)row->ra_off;
	/* the return address was pushed above the caller's stack pointer */
	if (cfa < *rsp + 8 || at - lo > span)
		return false;
	ra = *(const uint64_t *)(uintptr_t)at;
	note(reads, at, ra);
	if (rbp_kind != RBP_SAME) {
		at = (rbp_kind == RBP_AT_CFA ? cfa : *rbp) + (uint64_t)(int64_t)row->rbp_off;
		if ((rbp_kind == RBP_AT_RBP && !*rbp_known) || at - lo > span)
			return false;
		if (rbp_kind == RBP_AT_RBP)
			note_rbp(reads);
		new_rbp = *(const uint64_t *)(uintptr_t)at;
		note(reads, at, new_rbp);
		*rbp_known = true;
		if (reads)
			reads->rbp_reloaded = true;
	}
	*rsp = cfa;
	*rbp = new_rbp;
	*pc = ra;
	return true;
}

/* The frames lks_cfi_step takes: a miss, a slow row, after a signal frame. */
static enum step_result table_step(struct unwind_regs *regs, struct cached_row *slot,
                                   unsigned *slow)
{
	uint64_t pc = regs->r[DW_RA] - 1;
	bool exact = regs->exact_pc;
	struct cfi_row used;
	enum step_result result = lks_cfi_step(regs, slow, &used);

	if (!exact)
		remember(slot, pc, &used);
	return result;
}

int lks_cfi_walk(struct unwind_regs *regs, uint64_t *restrict ips, int depth, int max,
                 unsigned *slow, bool *stuck, struct stack_reads *reads)
{
	uint64_t now = lks_cfi_generation();
	struct cached_row *const rows = cache_now(now);
	uint64_t pc = regs->r[DW_RA], rsp = regs->r[DW_RSP], rbp = regs->r[DW_RBP];
	uint64_t lo = regs->region.lo, span = regs->region.hi - lo - 8;
	bool rbp_known = regs->known & 1u << DW_RBP;

	*stuck = false;
	if (reads) {
		reads->generation = now;
		reads->count = 0;
		reads->uncacheable = false;
		reads->used_rbp = false;
		reads->rbp_reloaded = false;
	}
	while (depth < max) {
		/* a return address is after the call: look up the call itself */
		struct cached_row *slot = &rows[((pc - 1) * 0x9e3779b97f4a7c15u) >> (64 - CACHE_BITS)];
		enum step_result result;

		if (lks_likely(slot->pc == pc - 1 && !regs->exact_pc)) {
			if ((slot->kinds & 15) == CFA_END)
				break;
			if (lks_likely(cached_step(slot, &pc, &rsp, &rbp, &rbp_known, lo, span, reads))) {
				if (pc == 0)
					break;
				ips[depth++] = pc;
				continue;
			}
		}
		regs->r[DW_RA] = pc;
		regs->r[DW_RSP] = rsp;
		regs->r[DW_RBP] = rbp;
		regs->known = 1u << DW_RA | 1u << DW_RSP | (rbp_known ? 1u << DW_RBP : 0);
		result = table_step(regs, slot, slow);
		if (reads)
			reads->uncacheable = true;  /* its reads are not noted */
		if (result != STEP_OK) {
			*stuck = result == STEP_STUCK;
			break;
		}
		pc = regs->r[DW_RA];
		rsp = regs->r[DW_RSP];
		rbp = regs->r[DW_RBP];
		rbp_known = regs->known & 1u << DW_RBP;
		lo = regs->region.lo;
		span = regs->region.hi - lo - 8;
		ips[depth++] = pc;
	}
	return depth;
}
