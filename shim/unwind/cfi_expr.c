/* SPDX-License-Identifier: MIT */
/* DWARF expressions of call-frame rules (DWARF 5, section 2.5): the
 * stack machine glibc's signal trampoline, PLT stubs and realigned frames
 * use. Memory is read only inside the walk's stack region. */
#include "unwind.h"

#define STACK_DEPTH 16
#define MAX_OPS 64  /* a branch loop cannot keep the walk busy */

struct eval {
	uint64_t stack[STACK_DEPTH];
	unsigned depth;
	const struct unwind_regs *regs;
	bool bad;
};

static void push(struct eval *e, uint64_t value)
{
	if (e->depth == STACK_DEPTH) {
		e->bad = true;
		return;
	}
	e->stack[e->depth++] = value;
}

static uint64_t pop(struct eval *e)
{
	if (e->depth == 0) {
		e->bad = true;
		return 0;
	}
	return e->stack[--e->depth];
}

static uint64_t reg_value(struct eval *e, uint64_t reg)
{
	if (reg >= DW_REG_COUNT || !(e->regs->known & (1u << reg))) {
		e->bad = true;
		return 0;
	}
	return e->regs->r[reg];
}

static uint64_t deref(struct eval *e, uint64_t addr, unsigned size)
{
	uint64_t value = 0;

	if (size == 0 || size > 8 || !region_holds(&e->regs->region, addr)) {
		e->bad = true;
		return 0;
	}
	__builtin_memcpy(&value, (const void *)(uintptr_t)addr, size);
	return value;
}

static uint64_t binary(uint8_t op, uint64_t a, uint64_t b, bool *bad)
{
	switch (op) {
	case 0x1a: return a & b;
	case 0x1b: if (b == 0) { *bad = true; return 0; } return (uint64_t)((int64_t)a / (int64_t)b);
	case 0x1c: return a - b;
	case 0x1d: if (b == 0) { *bad = true; return 0; } return a % b;
	case 0x1e: return a * b;
	case 0x21: return a | b;
	case 0x22: return a + b;
	case 0x24: return b < 64 ? a << b : 0;
	case 0x25: return b < 64 ? a >> b : 0;
	case 0x26: return b < 64 ? (uint64_t)((int64_t)a >> b) : 0;
	case 0x27: return a ^ b;
	case 0x29: return a == b;
	case 0x2a: return (int64_t)a >= (int64_t)b;
	case 0x2b: return (int64_t)a > (int64_t)b;
	case 0x2c: return (int64_t)a <= (int64_t)b;
	case 0x2d: return (int64_t)a < (int64_t)b;
	case 0x2e: return a != b;
	default: *bad = true; return 0;
	}
}

static uint64_t constant(uint8_t op, struct reader *r)
{
	switch (op) {
	case 0x08: return rd_fixed(r, 1);
	case 0x09: return (uint64_t)(int64_t)(int8_t)rd_fixed(r, 1);
	case 0x0a: return rd_fixed(r, 2);
	case 0x0b: return (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2);
	case 0x0c: return rd_fixed(r, 4);
	case 0x0d: return (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4);
	case 0x0e: case 0x0f: return rd_fixed(r, 8);
	case 0x10: return rd_uleb(r);
	default: return (uint64_t)rd_sleb(r);  /* 0x11 */
	}
}

/* Stack shuffles and unary operators; false when op is none of them. */
static bool shuffle(struct eval *e, uint8_t op, struct reader *r)
{
	uint64_t a, b, c;

	switch (op) {
	case 0x12: a = pop(e); push(e, a); push(e, a); return true;
	case 0x13: pop(e); return true;
	case 0x14: b = pop(e); a = pop(e); push(e, a); push(e, b); push(e, a); return true;
	case 0x15: a = rd_u8(r);
		if (a >= e->depth) e->bad = true; else push(e, e->stack[e->depth - 1 - a]);
		return true;
	case 0x16: b = pop(e); a = pop(e); push(e, b); push(e, a); return true;
	case 0x17: c = pop(e); b = pop(e); a = pop(e); push(e, c); push(e, a); push(e, b); return true;
	case 0x19: a = pop(e); push(e, (int64_t)a < 0 ? -a : a); return true;
	case 0x1f: push(e, -pop(e)); return true;
	case 0x20: push(e, ~pop(e)); return true;
	case 0x23: push(e, pop(e) + rd_uleb(r)); return true;
	default: return false;
	}
}

static bool run_op(struct eval *e, uint8_t op, struct reader *r, const uint8_t *start)
{
	if (op >= 0x30 && op <= 0x4f) {
		push(e, op - 0x30u);                             /* lit */
	} else if (op >= 0x50 && op <= 0x6f) {
		push(e, reg_value(e, op - 0x50u));               /* reg */
	} else if (op >= 0x70 && op <= 0x8f) {
		uint64_t base = reg_value(e, op - 0x70u);         /* breg */

		push(e, base + (uint64_t)rd_sleb(r));
	} else if (op >= 0x08 && op <= 0x11) {
		push(e, constant(op, r));
	} else if (op == 0x06) {
		push(e, deref(e, pop(e), 8));
	} else if (op == 0x94) {
		unsigned size = rd_u8(r);

		push(e, deref(e, pop(e), size));
	} else if (op == 0x92) {
		uint64_t reg = rd_uleb(r), base = reg_value(e, reg);

		push(e, base + (uint64_t)rd_sleb(r));
	} else if (op == 0x90) {
		push(e, reg_value(e, rd_uleb(r)));
	} else if (op == 0x2f || op == 0x28) {
		int16_t skip = (int16_t)rd_fixed(r, 2);

		if (op == 0x2f || pop(e) != 0) {
			if (skip < start - r->at || skip > r->end - r->at)
				return false;
			r->at += skip;
		}
	} else if (op == 0x96) {
		/* nop */
	} else if (!shuffle(e, op, r)) {
		uint64_t b = pop(e), a = pop(e);

		push(e, binary(op, a, b, &e->bad));
	}
	return !e->bad && !r->bad;
}

bool lks_cfi_eval(const uint8_t *expr, uint32_t len, const struct unwind_regs *regs,
                  bool push_cfa, uint64_t cfa, uint64_t *out)
{
	struct eval e = { .regs = regs };
	struct reader r = { expr, expr + len, false };

	if (push_cfa)
		push(&e, cfa);
	for (int ops = 0; r.at < r.end; ops++)
		if (ops == MAX_OPS || !run_op(&e, rd_u8(&r), &r, expr))
			return false;
	*out = pop(&e);
	return !e.bad;
}
