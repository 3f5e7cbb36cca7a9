/* SPDX-License-Identifier: MIT */
/* CIE and FDE records of .eh_frame, and the call-frame programs in them
 * (DWARF 5, section 6.4): run once per object by the digest to make rows,
 * and again for a single pc when a row is too rare to have a fast form. */
#include <string.h>

#include "unwind.h"

#define REMEMBER_DEPTH 2  /* DW_CFA_remember_state nesting; gcc and clang use 1 */

/* The fields of a CIE an FDE needs. */
static bool parse_cie(const uint8_t *cie_at, const uint8_t *lo, const uint8_t *hi,
                      struct fde *out)
{
	struct reader r = { cie_at, hi, false };
	uint64_t length = rd_fixed(&r, 4);
	const uint8_t *aug, *aug_end = NULL;
	uint8_t version;

	if (cie_at < lo || length == 0 || length == 0xffffffffu ||
	    length > (uint64_t)(hi - r.at) || rd_fixed(&r, 4) != 0)
		return false;
	r.end = cie_at + 4 + length;
	version = rd_u8(&r);
	aug = r.at;
	while (rd_u8(&r) != 0 && !r.bad)
		;
	if (r.bad || (version != 1 && version != 3))
		return false;
	if (aug[0] == 'e' && aug[1] == 'h')
		rd_fixed(&r, 8);  /* old gcc's eh_data pointer */
	out->code_align = rd_uleb(&r);
	out->data_align = rd_sleb(&r);
	out->ra_reg = version == 1 ? rd_u8(&r) : (uint8_t)rd_uleb(&r);
	out->pc_encoding = 0;  /* absptr */
	out->signal_frame = false;
	out->has_aug_data = aug[0] == 'z';
	if (out->has_aug_data) {
		uint64_t aug_len = rd_uleb(&r);

		if (aug_len > (uint64_t)(r.end - r.at))
			return false;
		aug_end = r.at + aug_len;
	}
	/* Letters after 'z' are skipped by length once one is unknown. */
	for (const uint8_t *letter = aug + out->has_aug_data; *letter && !r.bad; letter++) {
		if (*letter == 'R') {
			out->pc_encoding = rd_u8(&r);
		} else if (*letter == 'L') {
			rd_u8(&r);
		} else if (*letter == 'P') {
			struct reader skip = { r.at + 1, r.end, false };

			rd_encoded(&skip, r.at[0] & 0x0f, 0);  /* its size only */
			r.at = skip.at;
		} else if (*letter == 'S') {
			out->signal_frame = true;
		} else if (*letter != 'e' && *letter != 'h') {
			if (!out->has_aug_data)
				return false;
			break;
		}
	}
	if (aug_end)
		r.at = aug_end;
	if (r.bad || r.at > r.end || out->ra_reg != DW_RA)
		return false;
	out->cie_program = r.at;
	out->cie_end = r.end;
	return true;
}

bool cfi_parse_fde(const uint8_t *fde_at, const uint8_t *lo, const uint8_t *hi,
                   uint64_t data_base, struct fde *out)
{
	struct reader r = { fde_at, hi, false };
	uint64_t length = rd_fixed(&r, 4), cie_offset, range;
	const uint8_t *id_at = r.at;

	if (fde_at < lo || length == 0 || length == 0xffffffffu ||
	    length > (uint64_t)(hi - r.at))
		return false;
	r.end = fde_at + 4 + length;
	cie_offset = rd_fixed(&r, 4);
	if (cie_offset == 0 || cie_offset > (uint64_t)(id_at - lo) ||
	    !parse_cie(id_at - cie_offset, lo, hi, out))
		return false;
	out->pc_begin = rd_encoded(&r, out->pc_encoding, data_base);
	range = rd_encoded(&r, out->pc_encoding & 0x0f, 0);
	out->pc_end = out->pc_begin + range;
	if (out->has_aug_data) {
		uint64_t aug_len = rd_uleb(&r);

		if (aug_len > (uint64_t)(r.end - r.at))
			return false;
		r.at += aug_len;
	}
	out->program = r.at;
	out->end = r.end;
	return !r.bad && out->pc_end >= out->pc_begin;
}

/* ---- running a program ---------------------------------------------------- */

struct machine {
	const struct fde *fde;
	struct frame_rules *rules;
	struct frame_rules initial;           /* after the CIE: DW_CFA_restore */
	struct frame_rules saved[REMEMBER_DEPTH];
	unsigned depth;
	uint64_t loc;
};

static void set_rule(struct machine *m, uint64_t reg, uint8_t kind, int64_t n)
{
	if (reg < DW_REG_COUNT)
		m->rules->regs[reg] = (struct rule){ kind, n, 0 };
}

static void set_expr(struct machine *m, uint64_t reg, uint8_t kind, struct reader *r)
{
	uint64_t len = rd_uleb(r);

	if (len > (uint64_t)(r->end - r->at)) {
		r->bad = true;
		return;
	}
	if (reg < DW_REG_COUNT)
		m->rules->regs[reg] = (struct rule){ kind, (int64_t)(uintptr_t)r->at,
		                                     (uint32_t)len };
	r->at += len;
}

static void restore(struct machine *m, uint64_t reg)
{
	if (reg < DW_REG_COUNT)
		m->rules->regs[reg] = m->initial.regs[reg];
}

static void def_cfa(struct machine *m, uint64_t reg, int64_t off)
{
	m->rules->cfa_reg = (uint8_t)(reg < DW_REG_COUNT ? reg : DW_REG_COUNT);
	m->rules->cfa_off = off;
	m->rules->cfa_expr = NULL;
}

/* The instructions that only change rules; false on an unknown one. */
static bool rule_insn(struct machine *m, uint8_t op, struct reader *r)
{
	int64_t da = m->fde->data_align;
	uint64_t reg;

	switch (op) {
	case 0x05: reg = rd_uleb(r); set_rule(m, reg, RULE_AT, (int64_t)rd_uleb(r) * da); break;
	case 0x06: restore(m, rd_uleb(r)); break;
	case 0x07: set_rule(m, rd_uleb(r), RULE_UNDEF, 0); break;
	case 0x08: set_rule(m, rd_uleb(r), RULE_SAME, 0); break;
	case 0x09: reg = rd_uleb(r); set_rule(m, reg, RULE_REG, (int64_t)rd_uleb(r)); break;
	case 0x0a:
		if (m->depth == REMEMBER_DEPTH)
			return false;
		m->saved[m->depth++] = *m->rules;
		break;
	case 0x0b:  /* the CFA rule comes back too, as libgcc and libunwind have it */
		if (m->depth == 0)
			return false;
		*m->rules = m->saved[--m->depth];
		break;
	case 0x0c: reg = rd_uleb(r); def_cfa(m, reg, (int64_t)rd_uleb(r)); break;
	case 0x0d:
		m->rules->cfa_reg = (uint8_t)rd_uleb(r);
		m->rules->cfa_expr = NULL;
		break;
	case 0x0e: m->rules->cfa_off = (int64_t)rd_uleb(r); break;
	case 0x0f: {
		uint64_t len = rd_uleb(r);

		if (len > (uint64_t)(r->end - r->at))
			return false;
		m->rules->cfa_expr = r->at;
		m->rules->cfa_expr_len = (uint32_t)len;
		r->at += len;
		break;
	}
	case 0x10: reg = rd_uleb(r); set_expr(m, reg, RULE_AT_EXPR, r); break;
	case 0x11: reg = rd_uleb(r); set_rule(m, reg, RULE_AT, rd_sleb(r) * da); break;
	case 0x12: reg = rd_uleb(r); def_cfa(m, reg, rd_sleb(r) * da); break;
	case 0x13: m->rules->cfa_off = rd_sleb(r) * da; break;
	case 0x14: reg = rd_uleb(r); set_rule(m, reg, RULE_VAL, (int64_t)rd_uleb(r) * da); break;
	case 0x15: reg = rd_uleb(r); set_rule(m, reg, RULE_VAL, rd_sleb(r) * da); break;
	case 0x16: reg = rd_uleb(r); set_expr(m, reg, RULE_VAL_EXPR, r); break;
	case 0x2e: rd_uleb(r); break;  /* GNU_args_size: no effect on the CFA */
	case 0x2f: reg = rd_uleb(r); set_rule(m, reg, RULE_AT, -(int64_t)rd_uleb(r) * da); break;
	default: return false;
	}
	return true;
}

/* One instruction. *advance is set to the new location when it moves. */
static bool run_insn(struct machine *m, struct reader *r, uint64_t *advance)
{
	uint8_t op = rd_u8(r), low = op & 0x3f;
	uint64_t ca = m->fde->code_align;

	*advance = m->loc;
	switch (op >> 6) {
	case 1: *advance = m->loc + low * ca; return true;
	case 2: set_rule(m, low, RULE_AT, (int64_t)rd_uleb(r) * m->fde->data_align); return true;
	case 3: restore(m, low); return true;
	}
	switch (op) {
	case 0x00: return true;
	case 0x01: *advance = rd_encoded(r, m->fde->pc_encoding, 0); return true;
	case 0x02: *advance = m->loc + rd_fixed(r, 1) * ca; return true;
	case 0x03: *advance = m->loc + rd_fixed(r, 2) * ca; return true;
	case 0x04: *advance = m->loc + rd_fixed(r, 4) * ca; return true;
	default: return rule_insn(m, op, r);
	}
}

/* Runs [at, end). Stops (true) before the first advance past stop_pc
 * when emit is NULL. */
static bool run_program(struct machine *m, const uint8_t *at, const uint8_t *end,
                        uint64_t stop_pc, cfi_emit_fn *emit, void *ctx)
{
	struct reader r = { at, end, false };
	uint64_t next;

	while (r.at < r.end) {
		if (!run_insn(m, &r, &next) || r.bad)
			return false;
		if (next == m->loc)
			continue;
		if (next < m->loc)
			return false;
		if (emit) {
			if (!emit(m->loc, m->rules, ctx))
				return false;
		} else if (next > stop_pc) {
			return true;
		}
		m->loc = next;
	}
	return true;
}

bool cfi_run(const struct fde *fde, uint64_t pc, struct frame_rules *rules,
             cfi_emit_fn *emit, void *ctx)
{
	struct machine m = { .fde = fde, .rules = rules, .loc = fde->pc_begin };

	memset(rules, 0, sizeof(*rules));
	rules->cfa_reg = DW_RSP;
	if (!run_program(&m, fde->cie_program, fde->cie_end, UINT64_MAX, NULL, NULL))
		return false;
	m.initial = *rules;
	m.loc = fde->pc_begin;
	m.depth = 0;
	if (!run_program(&m, fde->program, fde->end, pc, emit, ctx))
		return false;
	return emit ? emit(m.loc, rules, ctx) : true;
}
