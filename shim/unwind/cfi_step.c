/* SPDX-License-Identifier: MIT */
/* One frame of the walk: from the registers of a frame to its caller's.
 * The common rows (CFA from rsp or rbp, realigned frames' CFA through the
 * word at rbp - 8) take a few loads; the rest (signal trampolines, PLT
 * stubs, any DWARF expression) run the FDE's program again for that pc,
 * with every register it can restore. Every read is checked against the
 * walk's stack region first. */
#include <sys/auxv.h>

#include "unwind.h"

#define BIT(reg) (1u << (reg))

static bool read_word(const struct stack_region *region, uint64_t addr, uint64_t *out)
{
	if (!region_holds(region, addr))
		return false;
	*out = *(const uint64_t *)(uintptr_t)addr;
	return true;
}

static enum step_result fast_step(struct unwind_regs *regs, const struct cfi_row *row)
{
	uint64_t rsp = regs->r[DW_RSP], rbp = regs->r[DW_RBP], new_rbp = rbp, cfa, ra;
	bool rbp_known = regs->known & BIT(DW_RBP);

	if (row->cfa_kind == CFA_RSP)
		cfa = rsp + (uint64_t)(int64_t)row->cfa_off;
	else if (!rbp_known)
		return STEP_STUCK;
	else if (row->cfa_kind == CFA_RBP)
		cfa = rbp + (uint64_t)(int64_t)row->cfa_off;
	else if (!read_word(&regs->region, rbp + (uint64_t)(int64_t)row->cfa_off, &cfa))
		return STEP_STUCK;
	/* the return address was pushed above the caller's stack pointer */
	if (cfa < rsp + 8 || !read_word(&regs->region, cfa + (uint64_t)(int64_t)row->ra_off, &ra))
		return STEP_STUCK;
	if (row->rbp_kind == RBP_AT_CFA) {
		if (!read_word(&regs->region, cfa + (uint64_t)(int64_t)row->rbp_off, &new_rbp))
			return STEP_STUCK;
		rbp_known = true;
	} else if (row->rbp_kind == RBP_AT_RBP &&
	           (!rbp_known ||
	            !read_word(&regs->region, rbp + (uint64_t)(int64_t)row->rbp_off, &new_rbp))) {
		return STEP_STUCK;
	}
	regs->r[DW_RSP] = cfa;
	regs->r[DW_RBP] = new_rbp;
	regs->r[DW_RA] = ra;
	regs->known = BIT(DW_RSP) | BIT(DW_RA) | (rbp_known ? BIT(DW_RBP) : 0);
	regs->exact_pc = false;
	return ra == 0 ? STEP_END : STEP_OK;
}

/* A register the caller gets back; one that cannot be found is unknown
 * (it matters only if a later rule needs it). */
static void apply_rule(const struct unwind_regs *old, const struct rule *rule,
                       uint64_t cfa, unsigned reg, struct unwind_regs *next)
{
	uint64_t value = 0, addr;
	bool known = false;

	switch (rule->kind) {
	case RULE_SAME:
		known = old->known & BIT(reg);
		value = old->r[reg];
		break;
	case RULE_AT:
		known = read_word(&old->region, cfa + (uint64_t)rule->n, &value);
		break;
	case RULE_VAL:
		value = cfa + (uint64_t)rule->n;
		known = true;
		break;
	case RULE_REG:
		known = rule->n >= 0 && rule->n < DW_REG_COUNT && (old->known & BIT(rule->n));
		value = known ? old->r[rule->n] : 0;
		break;
	case RULE_AT_EXPR:
		known = lks_cfi_eval((const uint8_t *)(uintptr_t)rule->n, rule->len, old, true,
		                     cfa, &addr) &&
		        read_word(&old->region, addr, &value);
		break;
	case RULE_VAL_EXPR:
		known = lks_cfi_eval((const uint8_t *)(uintptr_t)rule->n, rule->len, old, true,
		                     cfa, &value);
		break;
	}
	next->r[reg] = value;
	if (known)
		next->known |= BIT(reg);
}

static bool rules_at(const struct cfi_module *module, const struct cfi_row *row,
                     uint64_t pc, struct fde *fde, struct frame_rules *rules)
{
	const uint8_t *fde_at = module->seg_lo + (uint32_t)row->cfa_off;

	return cfi_parse_fde(fde_at, module->seg_lo, module->seg_hi,
	                     (uint64_t)(uintptr_t)module->eh_frame_hdr, fde) &&
	       pc >= fde->pc_begin && pc < fde->pc_end && cfi_run(fde, pc, rules, NULL, NULL);
}

static enum step_result slow_step(struct unwind_regs *regs, const struct cfi_module *module,
                                  const struct cfi_row *row, uint64_t pc)
{
	struct unwind_regs next = { .region = regs->region };
	struct frame_rules rules;
	struct fde fde;
	uint64_t cfa;

	if (!rules_at(module, row, pc, &fde, &rules))
		return STEP_STUCK;
	if (rules.regs[DW_RA].kind == RULE_UNDEF)
		return STEP_END;
	if (rules.cfa_expr) {
		if (!lks_cfi_eval(rules.cfa_expr, rules.cfa_expr_len, regs, false, 0, &cfa))
			return STEP_STUCK;
	} else if (rules.cfa_reg < DW_REG_COUNT && (regs->known & BIT(rules.cfa_reg))) {
		cfa = regs->r[rules.cfa_reg] + (uint64_t)rules.cfa_off;
	} else {
		return STEP_STUCK;
	}
	for (unsigned reg = 0; reg < DW_REG_COUNT; reg++)
		apply_rule(regs, &rules.regs[reg], cfa, reg, &next);
	if (rules.regs[DW_RSP].kind == RULE_SAME) {
		next.r[DW_RSP] = cfa;  /* the CFA is the caller's stack pointer */
		next.known |= BIT(DW_RSP);
	}
	if ((next.known & (BIT(DW_RA) | BIT(DW_RSP))) != (BIT(DW_RA) | BIT(DW_RSP)))
		return STEP_STUCK;
	/* A signal frame may leave a sigaltstack for the interrupted stack;
	 * any other frame must move up the same one. */
	if (fde.signal_frame && !region_holds(&next.region, next.r[DW_RSP])) {
		if (!lks_stack_region(next.r[DW_RSP], &next.region))
			return STEP_STUCK;
	} else if (!fde.signal_frame && next.r[DW_RSP] < regs->r[DW_RSP] + 8) {
		return STEP_STUCK;
	}
	next.exact_pc = fde.signal_frame;
	*regs = next;
	return regs->r[DW_RA] == 0 ? STEP_END : STEP_OK;
}

/* The loader's entry code (_dl_start_user, which runs the constructors
 * of the first objects) has no CFI and nothing above it: an end. */
static bool in_loader(const struct cfi_module *module)
{
	/* where the kernel mapped the program interpreter; read once */
	static uint64_t loader_base;

	if (!loader_base)
		loader_base = getauxval(AT_BASE);
	return loader_base >= module->start && loader_base < module->end;
}

/* ---- one step, its row worked out or found --------------------------- */

enum step_result lks_cfi_step(struct unwind_regs *regs, unsigned *slow)
{
	/* a return address is after the call: look up the call itself */
	uint64_t pc = regs->r[DW_RA] - (regs->exact_pc ? 0 : 1);
	const struct cfi_module *module = lks_cfi_module_of(pc);
	struct cfi_row row;

	if (!module)
		return STEP_STUCK;
	if (!lks_pc_cache_get(pc, &row)) {
		lks_cfi_row_for(module, pc, &row);
		lks_pc_cache_put(pc, &row);
	}
	switch (row.cfa_kind) {
	case CFA_NONE:
		return in_loader(module) ? STEP_END : STEP_STUCK;
	case CFA_END:
		return STEP_END;
	case CFA_SLOW:
		(*slow)++;
		return slow_step(regs, module, &row, pc);
	default:
		return fast_step(regs, &row);
	}
}
