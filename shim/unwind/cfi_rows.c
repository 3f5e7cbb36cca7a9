/* SPDX-License-Identifier: MIT */
/* The row of one pc: its FDE found by binary search in .eh_frame_hdr's
 * table (sorted by start address), the CIE's and the FDE's programs run
 * up to the pc, and the rules in force there said in a row's few fields,
 * or the row marked slow (the step runs that FDE again). Done once per
 * pc, not per object: a short process pays only for the pcs it walks.
 * Reads stay inside the object's segment. */
#include <string.h>

#include "unwind.h"

#define TABLE_ENC 0x3b          /* datarel | sdata4: what every linker writes */

/* The search table of .eh_frame_hdr, checked once per object. */
bool lks_cfi_read_hdr(struct cfi_module *module)
{
	const uint8_t *base = module->eh_frame_hdr;
	struct reader r = { base, module->seg_hi, false };
	uint8_t version = rd_u8(&r), ptr_enc = rd_u8(&r), count_enc = rd_u8(&r);
	uint8_t table_enc = rd_u8(&r);
	const uint8_t *eh_frame;

	eh_frame = (const uint8_t *)(uintptr_t)rd_encoded(&r, ptr_enc, (uint64_t)(uintptr_t)base);
	module->fde_count = rd_encoded(&r, count_enc, (uint64_t)(uintptr_t)base);
	module->search_table = r.at;
	return !r.bad && version == 1 && table_enc == TABLE_ENC && module->fde_count > 0 &&
	       module->fde_count < (uint64_t)(module->seg_hi - r.at) / 8 &&
	       eh_frame >= module->seg_lo && eh_frame < module->seg_hi;
}

/* ---- rules -> row --------------------------------------------------------- */

/* "DW_OP_breg6 N" (then "DW_OP_deref" when deref): N in *off. */
static bool is_breg_rbp(const uint8_t *expr, uint32_t len, bool deref, int64_t *off)
{
	struct reader r = { expr, expr + len, false };

	if (rd_u8(&r) != 0x70 + DW_RBP)
		return false;
	*off = rd_sleb(&r);
	if (deref && rd_u8(&r) != 0x06)
		return false;
	return !r.bad && r.at == r.end;
}

static bool fits16(int64_t value)
{
	return value >= INT16_MIN && value <= INT16_MAX;
}

static bool classify_cfa(const struct frame_rules *rules, struct cfi_row *row)
{
	int64_t off;

	if (rules->cfa_expr) {
		if (!is_breg_rbp(rules->cfa_expr, rules->cfa_expr_len, true, &off) ||
		    off < INT32_MIN || off > INT32_MAX)
			return false;
		row->cfa_kind = CFA_DEREF_RBP;
		row->cfa_off = (int32_t)off;
		return true;
	}
	if ((rules->cfa_reg != DW_RSP && rules->cfa_reg != DW_RBP) ||
	    rules->cfa_off < INT32_MIN || rules->cfa_off > INT32_MAX)
		return false;
	row->cfa_kind = rules->cfa_reg == DW_RSP ? CFA_RSP : CFA_RBP;
	row->cfa_off = (int32_t)rules->cfa_off;
	return true;
}

static bool classify_rbp(const struct rule *rbp, struct cfi_row *row)
{
	int64_t off;

	switch (rbp->kind) {
	case RULE_SAME:
	case RULE_UNDEF:
		row->rbp_kind = RBP_SAME;
		return true;
	case RULE_AT:
		row->rbp_kind = RBP_AT_CFA;
		row->rbp_off = (int16_t)rbp->n;
		return fits16(rbp->n);
	case RULE_AT_EXPR:
		if (!is_breg_rbp((const uint8_t *)(uintptr_t)rbp->n, rbp->len, false, &off) ||
		    !fits16(off))
			return false;
		row->rbp_kind = RBP_AT_RBP;
		row->rbp_off = (int16_t)off;
		return true;
	default:
		return false;
	}
}

static void make_row(const struct fde *fde, const struct frame_rules *rules,
                     struct cfi_row *row)
{
	const struct rule *ra = &rules->regs[DW_RA];

	memset(row, 0, sizeof(*row));
	if (ra->kind == RULE_UNDEF) {
		row->cfa_kind = CFA_END;
		return;
	}
	if (!fde->signal_frame && ra->kind == RULE_AT && ra->n >= INT8_MIN && ra->n <= INT8_MAX &&
	    rules->regs[DW_RSP].kind == RULE_SAME &&
	    classify_cfa(rules, row) && classify_rbp(&rules->regs[DW_RBP], row)) {
		row->ra_off = (int16_t)ra->n;
		return;
	}
	memset(row, 0, sizeof(*row));
	row->cfa_kind = CFA_SLOW;  /* cfa_off: the FDE, set by the caller */
}

/* ---- one pc -------------------------------------------------------------- */

/* The FDE whose start is the last at or before pc (entries: two int32,
 * start and FDE, relative to .eh_frame_hdr). */
static const uint8_t *fde_before(const struct cfi_module *module, uint64_t pc)
{
	const int32_t *table = (const int32_t *)(const void *)module->search_table;
	uint64_t base = (uint64_t)(uintptr_t)module->eh_frame_hdr;
	uint64_t lo = 0, hi = module->fde_count;

	if (pc < base + (uint64_t)(int64_t)table[0])
		return NULL;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (base + (uint64_t)(int64_t)table[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return (const uint8_t *)(uintptr_t)(base + (uint64_t)(int64_t)table[2 * lo + 1]);
}

void lks_cfi_row_for(const struct cfi_module *module, uint64_t pc, struct cfi_row *row)
{
	const uint8_t *fde_at = fde_before(module, pc);
	struct frame_rules rules;
	struct fde fde;

	memset(row, 0, sizeof(*row));  /* CFA_NONE */
	if (!fde_at ||
	    !cfi_parse_fde(fde_at, module->seg_lo, module->seg_hi,
	                   (uint64_t)(uintptr_t)module->eh_frame_hdr, &fde) ||
	    pc < fde.pc_begin || pc >= fde.pc_end || !cfi_run(&fde, pc, &rules, NULL, NULL))
		return;
	make_row(&fde, &rules, row);
	if (row->cfa_kind == CFA_SLOW)
		row->cfa_off = (int32_t)(fde_at - module->seg_lo);
}
