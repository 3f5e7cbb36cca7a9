/* SPDX-License-Identifier: MIT */
/* The unwinder's room: the loaded objects (registry.c), the row of each
 * pc walked, worked out from its FDE (cfi_rows.c, cfi_program.c) and kept
 * for every thread (pc_cache.c), the stack a walk may read
 * (stack_bounds.c), one frame's step (cfi_step.c), the walk (cfi_walk.c),
 * whole stacks (stack_cache.c) and the capture (capture.c). Nothing here
 * takes a lock, allocates through libc or opens an fd. */
#ifndef LEAKSCOPE_UNWIND_H
#define LEAKSCOPE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define lks_likely(x) __builtin_expect(!!(x), 1)
#define lks_unlikely(x) __builtin_expect(!!(x), 0)

/* DWARF register numbers of x86_64 (the System V psABI's). */
enum { DW_RBP = 6, DW_RSP = 7, DW_RA = 16, DW_REG_COUNT = 17 };

/* ---- one row: how to step out of the frame of a pc ----------------------- */

enum cfa_kind {
	CFA_NONE = 0,   /* no CFI here: the walk cannot go on */
	CFA_RSP,        /* rsp + cfa_off */
	CFA_RBP,        /* rbp + cfa_off */
	CFA_DEREF_RBP,  /* *(rbp + cfa_off): gcc's realigned (DRAP) frames */
	CFA_END,        /* return address undefined: the outermost frame */
	CFA_SLOW,       /* anything else: cfa_off is the FDE's offset in
	                   .eh_frame, run again by the interpreter */
};

enum rbp_kind {
	RBP_SAME = 0,
	RBP_AT_CFA,     /* *(cfa + rbp_off) */
	RBP_AT_RBP,     /* *(rbp + rbp_off): realigned frames save it there */
};

struct cfi_row {
	uint32_t unused;
	int32_t cfa_off;
	int16_t ra_off;   /* return address at *(cfa + ra_off) */
	int16_t rbp_off;
	uint8_t cfa_kind; /* enum cfa_kind */
	uint8_t rbp_kind; /* enum rbp_kind */
	uint8_t pad[2];
};
_Static_assert(sizeof(struct cfi_row) == 16, "16 bytes per row");

/* ---- bounded reading of an object's bytes (dwarf.c) -------------------- */

struct reader {
	const uint8_t *at, *end;
	bool bad;             /* a read went past end: every later value is 0 */
};

uint8_t rd_u8(struct reader *r);
uint64_t rd_fixed(struct reader *r, unsigned bytes);
uint64_t rd_uleb(struct reader *r);
int64_t rd_sleb(struct reader *r);
/* A DW_EH_PE_* encoded pointer; datarel is relative to data_base. */
uint64_t rd_encoded(struct reader *r, uint8_t encoding, uint64_t data_base);

/* ---- CIE/FDE programs (cfi_program.c) ----------------------------------- */

enum rule_kind {
	RULE_SAME = 0,    /* unchanged by the call (or not described) */
	RULE_UNDEF,
	RULE_AT,          /* saved at cfa + n */
	RULE_VAL,         /* value is cfa + n */
	RULE_REG,         /* value of register n */
	RULE_AT_EXPR,     /* saved at the address an expression computes */
	RULE_VAL_EXPR,    /* value is what an expression computes */
};

struct rule {
	uint8_t kind;     /* enum rule_kind */
	int64_t n;        /* offset or register; for EXPR: the expression's
	                     address, its length in len */
	uint32_t len;
};

struct frame_rules {
	uint8_t cfa_reg;  /* when cfa_expr == 0 */
	int64_t cfa_off;
	const uint8_t *cfa_expr; /* DW_CFA_def_cfa_expression's block */
	uint32_t cfa_expr_len;
	struct rule regs[DW_REG_COUNT];
};

/* A parsed FDE and its CIE: enough to run both programs. */
struct fde {
	uint64_t pc_begin, pc_end;      /* run-time addresses */
	const uint8_t *cie_program, *cie_end;
	const uint8_t *program, *end;
	uint64_t code_align;
	int64_t data_align;
	uint8_t ra_reg, pc_encoding;
	bool signal_frame;              /* 'S': the pc is not a return address */
	bool has_aug_data;              /* 'z': FDEs carry augmentation data */
};

/* Reads the FDE at fde (bounded by [lo, hi) of the mapped segment). */
bool cfi_parse_fde(const uint8_t *fde_at, const uint8_t *lo, const uint8_t *hi,
                   uint64_t data_base, struct fde *out);
/* Runs the CIE's and the FDE's programs. emit is called with the rules in
 * force from each location on (ascending); it returns false to stop. With
 * emit NULL, runs up to and including pc and leaves the rules in *rules. */
typedef bool cfi_emit_fn(uint64_t pc, const struct frame_rules *rules, void *ctx);
bool cfi_run(const struct fde *fde, uint64_t pc, struct frame_rules *rules,
             cfi_emit_fn *emit, void *ctx);

/* ---- the stack a walk may read (stack_bounds.c) ------------------------- */

struct stack_region {
	uint64_t lo, hi;      /* [lo, hi): readable for the whole walk */
	bool fixed;           /* the main stack or this thread's: hi is a
	                         function of the thread and sp alone */
};

void lks_stack_bounds_init(void);
/* The region holding sp: the main stack, this thread's stack, or its
 * sigaltstack; false when sp is on none of them (a coroutine's stack). */
bool lks_stack_region(uint64_t sp, struct stack_region *out);

static inline bool region_holds(const struct stack_region *region, uint64_t addr)
{
	return addr >= region->lo && addr <= region->hi - 8 && region->hi >= 8;
}

/* ---- objects and their rows (registry.c, cfi_rows.c, pc_cache.c) ----- */

struct cfi_module {
	uint64_t start, end;          /* mapped range of the object */
	uint64_t base;                /* its load bias */
	const uint8_t *seg_lo, *seg_hi; /* the segment of .eh_frame(_hdr) */
	const uint8_t *eh_frame_hdr;
	const uint8_t *search_table;  /* fde_count pairs of int32 */
	uint64_t fde_count;
};

/* The module holding pc, its search table checked; NULL when pc is in no
 * object or it has no usable .eh_frame_hdr. */
const struct cfi_module *lks_cfi_module_of(uint64_t pc);
bool lks_cfi_read_hdr(struct cfi_module *module);
/* The row for pc (CFA_NONE when no FDE covers it). */
void lks_cfi_row_for(const struct cfi_module *module, uint64_t pc, struct cfi_row *row);

/* pc -> row for every thread (pc_cache.c): the lookup is here, inline,
 * as the walk does it once a frame. */
#define PC_FIRST_BITS 10          /* 1,024 rows (16 KiB) at first */
#define PC_MAX_BITS 16            /* 65,536 rows, 1 MiB at most */
#define PC_BITS_MASK 63u          /* the table word's low bits: log2 of its rows */
#define PC_PROBES 8

struct pc_slot {
	uint64_t pc;                  /* atomic: 0 empty, pc | 1 << 63 filling */
	uint64_t packed;              /* the row: see pack() in pc_cache.c */
};
/* atomic: the current table's slots (page-aligned) | log2 of their count;
 * one word, so a reader never pairs a table with another's size. 0 before
 * the first table. */
extern uintptr_t lks_pc_table;

bool lks_pc_cache_init(void);
void lks_pc_cache_put(uint64_t pc, const struct cfi_row *row);
/* dlclose of [start, end): its rows go, and the generation moves on */
void lks_pc_cache_forget(uint64_t start, uint64_t end);
/* The rows' generation, bumped at every dlclose: a whole stack kept under
 * an older one is not trusted (stack_cache.c). Inline: the stack cache's
 * hit path reads it on every capture. */
extern uint64_t lks_pc_rows_generation;  /* atomic */

static inline uint64_t lks_pc_generation(void)
{
	/* acquire: pairs with the bump that follows a dlclose */
	return __atomic_load_n(&lks_pc_rows_generation, __ATOMIC_ACQUIRE);
}

static inline struct pc_slot *lks_pc_slots_of(uintptr_t table)
{
	return (struct pc_slot *)(table & ~(uintptr_t)PC_BITS_MASK);
}

static inline uint64_t lks_pc_mask_of(uintptr_t table)
{
	return (1ull << (table & PC_BITS_MASK)) - 1;
}

static inline uint64_t lks_pc_home(uintptr_t table, uint64_t pc)
{
	return (pc * 0x9e3779b97f4a7c15u) >> (64 - (table & PC_BITS_MASK));
}

static inline void lks_pc_unpack(uint64_t packed, struct cfi_row *row)
{
	row->cfa_off = (int32_t)(uint32_t)packed;
	row->rbp_off = (int16_t)(uint16_t)(packed >> 32);
	row->ra_off = (int8_t)(uint8_t)(packed >> 48);
	row->cfa_kind = (uint8_t)(packed >> 56 & 7);
	row->rbp_kind = (uint8_t)(packed >> 59 & 3);
}

/* A reader checks the pc again after the row: a slot cleared by a dlclose
 * and taken by another pc meanwhile reads as a miss. */
static inline bool lks_pc_cache_get(uint64_t pc, struct cfi_row *row)
{
	/* acquire: a new table's mapping is complete before its word */
	uintptr_t table = __atomic_load_n(&lks_pc_table, __ATOMIC_ACQUIRE);
	struct pc_slot *slots = lks_pc_slots_of(table);
	uint64_t mask = lks_pc_mask_of(table), at;

	if (lks_unlikely(!table))
		return false;
	at = lks_pc_home(table, pc);
	for (int probe = 0; probe < PC_PROBES; probe++, at = (at + 1) & mask) {
		struct pc_slot *slot = &slots[at];
		/* acquire: the row was written before the pc was published */
		uint64_t seen = __atomic_load_n(&slot->pc, __ATOMIC_ACQUIRE), packed;

		if (seen == 0)
			return false;
		if (seen == pc) {
			packed = __atomic_load_n(&slot->packed, __ATOMIC_RELAXED);
			/* acquire fence: the row read comes before the check */
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&slot->pc, __ATOMIC_RELAXED) != pc)
				return false;
			lks_pc_unpack(packed, row);
			return true;
		}
	}
	return false;
}

/* ---- one step (cfi_step.c) ---------------------------------------------- */

struct unwind_regs {
	uint64_t r[DW_REG_COUNT];        /* r[DW_RA] is the pc */
	uint32_t known;               /* bit per register */
	bool exact_pc;                /* after a signal frame: do not back up */
	struct stack_region region;
};

enum step_result { STEP_OK, STEP_END, STEP_STUCK };

/* One step, its row found or worked out (and kept). *slow counts the
 * steps that ran a program again. */
enum step_result lks_cfi_step(struct unwind_regs *regs, unsigned *slow);

/* ---- the walk (cfi_walk.c) ------------------------------------------------- */

#define STACK_READS_MAX 64

/* The stack words a walk read, in order, for the stack cache. */
struct stack_reads {
	uint64_t generation;     /* of the rows the walk used */
	uint32_t count;
	bool uncacheable;        /* a step not by a cached row, or too many */
	bool used_rbp;           /* the start rbp was read before it was reloaded */
	bool rbp_reloaded;
	uint64_t addr[STACK_READS_MAX];
	uint64_t value[STACK_READS_MAX];
};

/* Appends the pcs of the callers to ips[depth..max); the new depth.
 * *stuck: the walk stopped at a frame it could not step. reads (or NULL)
 * gets the words read. */
int lks_cfi_walk(struct unwind_regs *regs, uint64_t *ips, int depth, int max,
                 unsigned *slow, bool *stuck, struct stack_reads *reads);

/* ---- whole stacks (stack_cache.c) ---------------------------------------- */

/* start's region may be unknown (hi 0): a hit whose stack was the main
 * one or the thread's needs none (the same sp on the same thread lies on
 * the same stack); a sigaltstack's entry then misses. */
bool lks_stack_cache_find(const struct unwind_regs *start, int max, uint32_t *trace);
void lks_stack_cache_store(const struct unwind_regs *start, int max,
                           const struct stack_reads *reads, uint32_t trace);
/* Evaluates a DWARF expression (cfi_expr.c); push_cfa: DW_CFA_expression
 * and val_expression start with the CFA on the stack. */
bool lks_cfi_eval(const uint8_t *expr, uint32_t len, const struct unwind_regs *regs,
                  bool push_cfa, uint64_t cfa, uint64_t *out);

/* ---- the reference (reference.c): libunwind from the same registers ---- */

void lks_reference_init(void);
int lks_reference_walk(const struct unwind_regs *start, uint64_t *ips, int max);
uint64_t lks_unwind_table_bytes(void);

#endif
