/* SPDX-License-Identifier: MIT */
/* One object's .eh_frame, digested into sorted rows: every FDE listed by
 * .eh_frame_hdr's search table is run once, and each location where its
 * rules change becomes a row (merged with the previous one when equal).
 * Two passes (count, then fill) so the table is mapped at its exact size;
 * a page index finds the rows of a pc in one or two probes. */
#include <string.h>

#include "shim.h"
#include "unwind.h"

#define PAGE_SHIFT 12
#define TABLE_ENC 0x3b          /* datarel | sdata4: what every linker writes */

struct hdr {
	const uint8_t *eh_frame;
	const uint8_t *table;       /* fde_count pairs of int32, hdr-relative */
	uint64_t fde_count;
};

struct sink {
	const struct cfi_module *module;
	const struct fde *fde;
	const uint8_t *fde_at;
	struct cfi_row *rows;       /* NULL while counting */
	uint32_t count;
	struct cfi_row last;
	uint32_t first_start;
	bool have_last, failed;
};

static bool read_hdr(const struct cfi_module *module, struct hdr *out)
{
	const uint8_t *base = module->eh_frame_hdr;
	struct reader r = { base, module->seg_hi, false };
	uint8_t version = rd_u8(&r), ptr_enc = rd_u8(&r), count_enc = rd_u8(&r);
	uint8_t table_enc = rd_u8(&r);

	out->eh_frame = (const uint8_t *)(uintptr_t)rd_encoded(&r, ptr_enc, (uint64_t)(uintptr_t)base);
	out->fde_count = rd_encoded(&r, count_enc, (uint64_t)(uintptr_t)base);
	out->table = r.at;
	return !r.bad && version == 1 && table_enc == TABLE_ENC &&
	       out->fde_count < (uint64_t)(module->seg_hi - r.at) / 8 &&
	       out->eh_frame >= module->seg_lo && out->eh_frame < module->seg_hi;
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

static void make_row(const struct sink *sink, const struct frame_rules *rules,
                     struct cfi_row *row)
{
	const struct rule *ra = &rules->regs[DW_RA];

	memset(row, 0, sizeof(*row));
	if (ra->kind == RULE_UNDEF) {
		row->cfa_kind = CFA_END;
		return;
	}
	if (!sink->fde->signal_frame && ra->kind == RULE_AT && fits16(ra->n) &&
	    rules->regs[DW_RSP].kind == RULE_SAME &&
	    classify_cfa(rules, row) && classify_rbp(&rules->regs[DW_RBP], row)) {
		row->ra_off = (int16_t)ra->n;
		return;
	}
	memset(row, 0, sizeof(*row));
	row->cfa_kind = CFA_SLOW;  /* cfa_off: the FDE, set by the caller */
}

/* ---- the two passes ------------------------------------------------------- */

static bool same_rules(const struct cfi_row *a, const struct cfi_row *b)
{
	return a->cfa_kind == b->cfa_kind && a->cfa_off == b->cfa_off &&
	       a->ra_off == b->ra_off && a->rbp_off == b->rbp_off &&
	       a->rbp_kind == b->rbp_kind;
}

static void put_row(struct sink *sink, uint64_t pc, struct cfi_row *row)
{
	uint64_t off = pc - sink->module->base;

	if (pc < sink->module->base || off > UINT32_MAX) {
		sink->failed = true;
		return;
	}
	row->start = (uint32_t)off;
	if (sink->have_last && same_rules(&sink->last, row))
		return;
	if (sink->have_last && sink->last.start == row->start)
		sink->count--;  /* replaced: the earlier rules covered nothing */
	if (sink->count == 0)
		sink->first_start = row->start;
	if (sink->rows)
		sink->rows[sink->count] = *row;
	sink->count++;
	sink->last = *row;
	sink->have_last = true;
}

static bool emit_rules(uint64_t pc, const struct frame_rules *rules, void *ctx)
{
	struct sink *sink = ctx;
	struct cfi_row row;

	if (pc >= sink->fde->pc_end)
		return true;  /* past the FDE's range: the next row ends it */
	make_row(sink, rules, &row);
	if (row.cfa_kind == CFA_SLOW)
		row.cfa_off = (int32_t)(sink->fde_at - sink->module->seg_lo);
	put_row(sink, pc, &row);
	return !sink->failed;
}

static void put_none(struct sink *sink, uint64_t pc)
{
	struct cfi_row none = { .cfa_kind = CFA_NONE };

	put_row(sink, pc, &none);
}

/* One FDE's rows; when its program cannot be run, the rows it already
 * gave are taken back and its range has none. */
static void digest_fde(struct sink *sink, const struct fde *fde, const uint8_t *fde_at)
{
	struct sink before = *sink;
	struct frame_rules rules;

	sink->fde = fde;
	sink->fde_at = fde_at;
	if (cfi_run(fde, UINT64_MAX, &rules, emit_rules, sink) && !sink->failed)
		return;
	*sink = before;
	put_none(sink, fde->pc_begin);
}

static void walk_fdes(struct sink *sink, const struct hdr *hdr)
{
	const struct cfi_module *module = sink->module;
	uint64_t hdr_base = (uint64_t)(uintptr_t)module->eh_frame_hdr, prev_end = 0;
	struct reader table = { hdr->table, module->seg_hi, false };

	for (uint64_t i = 0; i < hdr->fde_count && !sink->failed; i++) {
		struct fde fde;
		const uint8_t *fde_at;

		rd_fixed(&table, 4);  /* initial location: the FDE says it again */
		fde_at = (const uint8_t *)(uintptr_t)(hdr_base + (uint64_t)(int64_t)(int32_t)rd_fixed(&table, 4));
		if (table.bad)
			break;
		if (!cfi_parse_fde(fde_at, module->seg_lo, module->seg_hi, hdr_base, &fde) ||
		    fde.pc_begin < prev_end || fde.pc_begin == fde.pc_end)
			continue;  /* unreadable, overlapping or empty: no rows */
		if (prev_end && fde.pc_begin > prev_end)
			put_none(sink, prev_end);
		digest_fde(sink, &fde, fde_at);
		prev_end = fde.pc_end;
	}
	if (prev_end)
		put_none(sink, prev_end);
}

static void build_page_index(struct cfi_table *table)
{
	uint32_t row = 0;

	for (uint32_t page = 0; page <= table->page_count; page++) {
		uint64_t at = table->text_lo + ((uint64_t)page << PAGE_SHIFT);

		while (row + 1 < table->row_count && table->rows[row + 1].start <= at)
			row++;
		table->page_first[page] = row;
	}
}

struct cfi_table *lks_cfi_digest(const struct cfi_module *module)
{
	struct sink counted = { .module = module }, filled = { .module = module };
	struct cfi_table *table;
	struct hdr hdr;
	uint64_t text_lo, pages, index_bytes, bytes;

	if (!read_hdr(module, &hdr))
		return NULL;
	walk_fdes(&counted, &hdr);
	if (counted.failed || counted.count < 2)
		return NULL;
	text_lo = counted.first_start & ~((1ull << PAGE_SHIFT) - 1);
	pages = ((counted.last.start - text_lo) >> PAGE_SHIFT) + 1;
	index_bytes = ((pages + 1) * sizeof(uint32_t) + 15) & ~15ull;
	bytes = sizeof(*table) + index_bytes + counted.count * sizeof(struct cfi_row);
	table = lks_map(bytes);
	if (!table)
		return NULL;
	table->page_first = (uint32_t *)(table + 1);
	table->rows = (struct cfi_row *)((char *)table->page_first + index_bytes);
	filled.rows = table->rows;
	walk_fdes(&filled, &hdr);
	if (filled.failed || filled.count != counted.count) {
		lks_unmap(table, bytes);
		return NULL;
	}
	table->row_count = filled.count;
	table->page_count = (uint32_t)pages;
	table->text_lo = text_lo;
	table->bytes = bytes;
	build_page_index(table);
	return table;
}

const struct cfi_row *lks_cfi_row_of(const struct cfi_table *table, uint64_t off)
{
	uint64_t page;
	uint32_t lo, hi;

	if (off < table->text_lo)
		return NULL;
	page = (off - table->text_lo) >> PAGE_SHIFT;
	if (page >= table->page_count)
		return &table->rows[table->row_count - 1];  /* the last: none */
	lo = table->page_first[page];
	hi = table->page_first[page + 1];
	/* the last row of [lo, hi] that starts at or before off */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (table->rows[mid].start <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return table->rows[lo].start <= off ? &table->rows[lo] : NULL;
}
