/* SPDX-License-Identifier: MIT */
/* The walk: frame after frame, through a per-thread cache of the rows of
 * the pcs this thread walked lately (most stacks repeat the same few
 * dozen return addresses), with the common rows stepped in registers.
 * A row never changes while its object is loaded; a dlclose bumps the
 * generation, which empties every thread's cache. Misses, and the rows
 * that need more, go to lks_cfi_step. */
#include "unwind.h"

#define CACHE_BITS 8

struct cached_row {
	uint64_t pc;
	struct cfi_row row;
};

struct row_cache {
	uint64_t generation;
	struct cached_row rows[1u << CACHE_BITS];
};

static __thread struct row_cache cache __attribute__((tls_model("initial-exec")));
static uint64_t generation = 1;  /* atomic */

void lks_cfi_cache_flush(void)
{
	__atomic_fetch_add(&generation, 1, __ATOMIC_RELEASE);
}

static struct row_cache *cache_now(void)
{
	/* acquire: pairs with the flush that follows a table's drop */
	uint64_t now = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);

	if (lks_unlikely(cache.generation != now)) {
		__builtin_memset(cache.rows, 0, sizeof(cache.rows));
		cache.generation = now;
	}
	return &cache;
}

static inline struct cached_row *slot_of(struct row_cache *rows, uint64_t pc)
{
	return &rows->rows[(pc * 0x9e3779b97f4a7c15u) >> (64 - CACHE_BITS)];
}

/* The registers a cached step needs, kept out of memory. */
struct frame {
	uint64_t pc, rsp, rbp;
	bool rbp_known;
	uint64_t lo, span;   /* readable: [lo, lo + span], 8 bytes each */
};

static inline bool load(const struct frame *f, uint64_t addr, uint64_t *out)
{
	if (addr - f->lo > f->span)
		return false;
	*out = *(const uint64_t *)(uintptr_t)addr;
	return true;
}

/* fast_step of cfi_step.c, on registers; false: give it to the slow one */
static inline bool cached_step(struct frame *f, const struct cfi_row *row)
{
	uint64_t cfa, ra, rbp = f->rbp;

	if (row->cfa_kind == CFA_RSP)
		cfa = f->rsp + (uint64_t)(int64_t)row->cfa_off;
	else if (!f->rbp_known)
		return false;
	else if (row->cfa_kind == CFA_RBP)
		cfa = f->rbp + (uint64_t)(int64_t)row->cfa_off;
	else if (!load(f, f->rbp + (uint64_t)(int64_t)row->cfa_off, &cfa))
		return false;
	if (cfa < f->rsp + 8 || !load(f, cfa + (uint64_t)(int64_t)row->ra_off, &ra))
		return false;
	if (row->rbp_kind == RBP_AT_CFA) {
		if (!load(f, cfa + (uint64_t)(int64_t)row->rbp_off, &rbp))
			return false;
		f->rbp_known = true;
	} else if (row->rbp_kind == RBP_AT_RBP &&
	           (!f->rbp_known || !load(f, f->rbp + (uint64_t)(int64_t)row->rbp_off, &rbp))) {
		return false;
	}
	f->rsp = cfa;
	f->rbp = rbp;
	f->pc = ra;
	return true;
}

static void to_regs(const struct frame *f, struct unwind_regs *regs)
{
	regs->r[DW_RA] = f->pc;
	regs->r[DW_RSP] = f->rsp;
	regs->r[DW_RBP] = f->rbp;
	regs->known = 1u << DW_RA | 1u << DW_RSP | (f->rbp_known ? 1u << DW_RBP : 0);
	regs->exact_pc = false;
}

static void from_regs(struct frame *f, const struct unwind_regs *regs)
{
	f->pc = regs->r[DW_RA];
	f->rsp = regs->r[DW_RSP];
	f->rbp = regs->r[DW_RBP];
	f->rbp_known = regs->known & 1u << DW_RBP;
	f->lo = regs->region.lo;
	f->span = regs->region.hi - regs->region.lo - 8;
}

int lks_cfi_walk(struct unwind_regs *regs, uint64_t *ips, int depth, int max,
                 unsigned *slow, bool *stuck)
{
	struct row_cache *rows = cache_now();
	struct frame f;

	from_regs(&f, regs);
	*stuck = false;
	while (depth < max) {
		uint64_t pc = f.pc - (regs->exact_pc ? 0 : 1);
		struct cached_row *hit = slot_of(rows, pc);
		enum step_result result;

		if (lks_likely(hit->pc == pc) && !regs->exact_pc) {
			if (hit->row.cfa_kind == CFA_END)
				break;
			if (lks_likely(cached_step(&f, &hit->row))) {
				if (f.pc == 0)
					break;
				ips[depth++] = f.pc;
				continue;
			}
		}
		to_regs(&f, regs);
		result = lks_cfi_step(regs, slow, &hit->row);
		hit->pc = hit->row.cfa_kind == CFA_NONE ? 0 : pc;
		if (result != STEP_OK) {
			*stuck = result == STEP_STUCK;
			break;
		}
		from_regs(&f, regs);
		ips[depth++] = f.pc;
	}
	to_regs(&f, regs);
	return depth;
}
