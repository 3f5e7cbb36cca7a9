/* SPDX-License-Identifier: MIT */
/* Shared by the files of shim/python/ only: the interpreter's struct layout
 * as this process's CPython has it, the runtime found at start-up, and the
 * code-object copy table. */
#ifndef LEAKSCOPE_SHIM_PYROOM_H
#define LEAKSCOPE_SHIM_PYROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../shim.h"

/* Byte offsets into CPython's structures (docs/PYTHON.md has the tables). */
struct lks_py_layout {
	/* _PyRuntimeState */
	uint32_t rt_finalizing;   /* PyThreadState * while Py_Finalize runs */
	uint32_t rt_main_interp;  /* interpreters.main */
	uint32_t rt_tss_key;      /* Py_tss_t autoTSSkey: {int init; pthread_key_t} */
	/* PyThreadState */
	uint32_t ts_interp;
	uint32_t ts_thread_id;    /* pthread_self() of its thread */
	uint32_t ts_cframe;       /* 3.11, 3.12: _PyCFrame *; 0 when absent */
	uint32_t current_frame;   /* in the _PyCFrame, else in the thread state */
	/* _PyInterpreterFrame */
	uint32_t fr_code;         /* f_code / f_executable */
	uint32_t fr_previous;
	uint32_t fr_instr;        /* prev_instr (3.11, 3.12) / instr_ptr (3.13) */
	uint32_t fr_owner;        /* char */
	uint32_t fr_is_entry;     /* 3.11: bool; 0 when runs end at CSTACK frames */
	uint8_t owner_cstack;     /* owner of an entry frame; 0xff: none (3.11) */
	uint32_t fr_state;        /* 16 bits holding fr_owner (and fr_is_entry) */
	uint16_t state_mask;      /* their bytes in it; 0: no such word */
	/* PyCodeObject; its bytecode starts at co_code, ob_size code units */
	uint32_t co_filename, co_qualname, co_linetable, co_firstlineno, co_code;
	/* str and bytes */
	uint32_t str_state, str_length, str_ascii_data, str_compact_data;
	uint32_t bytes_data;
};

/* Fixed by CPython's object header, the same in every version we read. */
#define LKS_PY_OB_TYPE 8
#define LKS_PY_OB_SIZE 16
#define LKS_PY_TP_NAME 24
#define LKS_PY_TP_BASICSIZE 32
#define LKS_PY_TP_ITEMSIZE 40

enum py_state {
	PY_ABSENT = 0,   /* no CPython runtime in the process (or python=0) */
	PY_WAITING,      /* found and checked; the runtime is not started yet */
	PY_CHECKING,     /* one thread is checking its first thread state */
	PY_ACTIVE,       /* frames are read */
	PY_REFUSED,      /* something unexpected: native stacks only */
};

struct lks_py_symbols;

struct lks_py_runtime {
	int state;                /* enum py_state, atomic */
	uint32_t status;          /* enum lks_py_status for the snapshot */
	uint32_t version;         /* PY_VERSION_HEX */
	uint32_t flags;           /* LKS_PYF_* */
	uint64_t runtime;         /* &_PyRuntime */
	uint64_t code_type;       /* &PyCode_Type */
	uint64_t type_type, str_type;  /* &PyType_Type, &PyUnicode_Type (pytypeset.c) */
	uint64_t eval_start, eval_end;  /* _PyEval_EvalFrameDefault */
	uint64_t cold_start, cold_end;  /* its .cold part, when a symtab names it */
	struct lks_py_layout layout;
	char reason[160];
	const struct lks_py_symbols *symbols; /* how its names were found */
	int finalizing_seen;      /* atomic: the capture saw Py_Finalize */
	uint64_t bad_frames;      /* atomic: walks stopped at a bad frame */
	uint64_t unpaired;        /* atomic: Python runs left without an eval frame */
};
extern struct lks_py_runtime lks_pyrt;

/* pylayout.c: the layout of a version (3.13: read from _Py_DebugOffsets,
 * checked); false and a reason when the version is not one we know. */
bool lks_py_layout_for(uint32_t version, uint64_t runtime, struct lks_py_layout *out,
                       char *reason, size_t reason_size);
/* Known values of the running interpreter's types against the layout. */
bool lks_py_layout_check_types(const struct lks_py_layout *layout, uint64_t code_type,
                               uint64_t str_type, uint64_t bytes_type,
                               char *reason, size_t reason_size);

/* pysyms.c: the .cold part of a function, from the symbol table of the
 * object holding `function` (none when the object is stripped). */
bool lks_py_cold_range(uint64_t function, uint64_t *start, uint64_t *end);
/* The same, in the object file at `path`, for the function named `name`
 * (no dladdr: it takes the loader's lock). */
bool lks_py_cold_range_in(const char *path, const char *name, uint64_t function,
                          uint64_t *start, uint64_t *end);

/* How CPython's exported names are found: dlsym at start-up (path NULL),
 * or the dynamic symbol table of a libpython loaded later (pylate.c, whose
 * lookup takes no lock). `size`, when not NULL, gets the symbol's size. */
struct lks_py_symbols {
	uint64_t (*find)(const char *name, uint64_t *size);
	const char *path;      /* the object holding them; NULL: ask dladdr */
};
/* pyruntime.c: finds and checks the runtime through `symbols`; sets
 * lks_pyrt.status (release) last, whatever it decides. */
void lks_py_init_from(const struct lks_py_symbols *symbols);

/* pysnap.c: python_gc's outcome (pygc.c) for the next snapshot this
 * thread writes; LKS_PYGC_NONE after it. */
void lks_py_gc_note(uint32_t status, uint64_t collected);

/* pyruntime.c: turns Python frames off with a reason, for good. */
void lks_py_refuse(const char *reason);

/* pycode.c: the copy id of a code object (0: could not copy); `seen` are
 * the fields the hot path read, to tell a reused address from the code
 * object copied before at it. */
struct lks_py_code_seen {
	uint64_t addr, filename, qualname, linetable;
	uint64_t filename_hash, qualname_hash;  /* str's hash, after its length */
	int32_t firstlineno;
	uint32_t code_units;
};
bool lks_pycode_init(void);
uint32_t lks_pycode_id(const struct lks_py_code_seen *seen);

/* The hot path's lookup, inline: the address's first slot, whose record
 * must match every field; anything else goes to lks_pycode_id. */
#define LKS_PYCODE_SLOT_BITS 18
#define LKS_PYCODE_RECORD_SIZE 80
extern uint32_t *lks_pycode_slots;
extern const struct lks_py_code_seen *lks_pycode_seen_base;

static inline uint32_t lks_pycode_hash(uint64_t addr)
{
	return (uint32_t)((addr >> 4) * 0x9e3779b97f4a7c15u >> (64 - LKS_PYCODE_SLOT_BITS));
}

static inline uint32_t lks_pycode_find(const struct lks_py_code_seen *seen)
{
	/* acquire: a published id's record is complete */
	uint32_t id = __atomic_load_n(&lks_pycode_slots[lks_pycode_hash(seen->addr)],
	                              __ATOMIC_ACQUIRE);
	const struct lks_py_code_seen *have = (const struct lks_py_code_seen *)
		((const char *)lks_pycode_seen_base + (size_t)id * LKS_PYCODE_RECORD_SIZE);

	if (lks_likely(id && have->addr == seen->addr && have->filename == seen->filename &&
	               have->qualname == seen->qualname && have->linetable == seen->linetable &&
	               have->qualname_hash == seen->qualname_hash &&
	               have->filename_hash == seen->filename_hash &&
	               have->firstlineno == seen->firstlineno &&
	               have->code_units == seen->code_units))
		return id;
	return lks_pycode_id(seen);
}
uint32_t lks_pycode_count(void);   /* ids handed out: 1..count */
struct lks_pycode_copy {
	const char *qualname, *filename;
	const uint8_t *linetable;
	uint32_t linetable_len, code_bytes;
	int32_t firstlineno;
};
bool lks_pycode_get(uint32_t id, struct lks_pycode_copy *out); /* ready ones */
uint64_t lks_pycode_missed(void);

/* pychain.c: the chains this thread's recent captures read. Started once,
 * when frames are read in a process where every object comes from malloc;
 * then each capture finds its chain among them (the interned Python
 * frames; 0: none), or keeps what it read. */
#define PYCHAIN_MAX 64     /* frames kept (imports reach 55); a deeper chain is read every time */
#define PYCHAIN_CSTACK 1u  /* the frame's owner is the C stack (3.12 on) */
#define PYCHAIN_ENTRY 2u   /* 3.11's is_entry */
struct lks_pychain_frames {  /* what a walk read, leaf first */
	uint32_t count;
	uint64_t code[PYCHAIN_MAX], instr[PYCHAIN_MAX], tag[PYCHAIN_MAX];
	uint16_t state[PYCHAIN_MAX];  /* lks_pychain_state */
	uint8_t flags[PYCHAIN_MAX];
};
/* Chains are kept from now on, compared by `lay`'s offsets; not when a
 * code object's block would not start with it or the layout has no state word. */
void lks_pychain_start(uint64_t code_type, const struct lks_py_layout *lay);
/* What the walk decides a frame by, besides its code and instruction. */
static inline uint8_t lks_pychain_flags(const struct lks_py_layout *lay, uint64_t frame)
{
	bool cstack = *(const uint8_t *)(uintptr_t)(frame + lay->fr_owner) == lay->owner_cstack;
	bool entry = lay->fr_is_entry && *(const uint8_t *)(uintptr_t)(frame + lay->fr_is_entry);

	return (uint8_t)((cstack ? PYCHAIN_CSTACK : 0) | (entry ? PYCHAIN_ENTRY : 0));
}
/* Two bytes at any address: the state's pair starts on an odd byte on
 * 3.12 (69: the owner's byte at 70 and the one before it); one
 * unaligned load on x86, defined in C. */
static inline uint16_t lks_py_load16(uint64_t addr)
{
	uint16_t value;

	__builtin_memcpy(&value, (const void *)(uintptr_t)addr, sizeof(value));
	return value;
}
/* The bytes the flags are a function of, in one load: equal states give
 * equal flags, so a chain compares them raw. */
static inline uint16_t lks_pychain_state(const struct lks_py_layout *lay, uint64_t frame)
{
	return lks_py_load16(frame + lay->fr_state) & lay->state_mask;
}
/* From the constructor (it calls the loader): where the interpreter's own
 * static code objects lie, which need no watch. */
void lks_pychain_learn_static(uint64_t runtime);
uint32_t lks_pychain_find(uint64_t frame);
/* After lks_pychain_find in the same capture: watches the live block of a
 * code object a chain to be kept holds, whose free then drops every kept
 * chain; false when it cannot (no chains kept, no block starts there):
 * the chain must not be kept. */
bool lks_pychain_watch(uint64_t code);
/* After lks_pychain_find in the same capture: the tag of a frame running
 * `code` at `instr`, when the chain found or kept last has the same code
 * object as far from the outermost; 0 otherwise. */
uint64_t lks_pychain_tag(uint32_t outer, uint64_t code, uint64_t instr, uint32_t co_code);
/* What the walk read from the chain starting at `frame`, and its frames. */
void lks_pychain_keep(uint64_t frame, const struct lks_pychain_frames *read, uint32_t pyseq);

/* pymerged.c: (native trace, interned Python frames) -> merged trace, with
 * whether its merge left Python runs unpaired; 0 when not merged before. */
bool lks_pymerged_init(void);
uint32_t lks_pymerged_find(uint32_t native, uint32_t pyseq, bool *unpaired);
void lks_pymerged_put(uint32_t native, uint32_t pyseq, uint32_t merged, bool unpaired);

/* A read of the program's memory that fails instead of faulting. */
bool lks_py_peek(void *dst, uint64_t src, size_t len);

/* A canonical user-space address past the first page, 8-byte aligned
 * (one unsigned compare for the range). */
static inline bool lks_py_plausible(uint64_t ptr)
{
	return ptr - 4096 < (1ull << 47) - 4096 && (ptr & 7) == 0;
}

#endif
