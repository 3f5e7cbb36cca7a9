/* SPDX-License-Identifier: MIT */
/* The walk: frame after frame, each pc's row from the table shared by all
 * threads (pc_cache.c), the common rows stepped in registers. A row never
 * changes while its object is loaded: a dlclose clears its rows and bumps
 * their generation, which whole stacks keep. Misses, and the rows that need
 * more, go to lks_cfi_step. */
#include "unwind.h"

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

/* One step by a fast row, on registers held in locals; false: leave it
 * to lks_cfi_step. Reads only [lo, lo + span]. */
static inline bool cached_step(const struct cfi_row *row, uint64_t *pc, uint64_t *rsp,
                               uint64_t *rbp, bool *rbp_known, uint64_t lo, uint64_t span,
                               struct stack_reads *reads)
{
	uint64_t cfa, at, ra, new_rbp = *rbp;
	unsigned cfa_kind = row->cfa_kind, rbp_kind = row->rbp_kind;

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

int lks_cfi_walk(struct unwind_regs *regs, uint64_t *restrict ips, int depth, int max,
                 unsigned *slow, bool *stuck, struct stack_reads *reads)
{
	uint64_t pc = regs->r[DW_RA], rsp = regs->r[DW_RSP], rbp = regs->r[DW_RBP];
	uint64_t lo = regs->region.lo, span = regs->region.hi - lo - 8;
	bool rbp_known = regs->known & 1u << DW_RBP;

	*stuck = false;
	if (reads)
		*reads = (struct stack_reads){ .generation = lks_pc_generation() };
	while (depth < max) {
		struct cfi_row row;
		enum step_result result;

		/* a return address is after the call: look up the call itself */
		if (lks_likely(!regs->exact_pc && lks_pc_cache_get(pc - 1, &row))) {
			if (row.cfa_kind == CFA_END)
				break;
			if (row.cfa_kind >= CFA_RSP && row.cfa_kind <= CFA_DEREF_RBP &&
			    cached_step(&row, &pc, &rsp, &rbp, &rbp_known, lo, span, reads)) {
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
		result = lks_cfi_step(regs, slow);
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
