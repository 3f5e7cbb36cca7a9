/* SPDX-License-Identifier: MIT */
/* The CPython room of the shim (docs/PYTHON.md): what the rest of the shim
 * calls. Everything else in shim/python/ is private to the room. */
#ifndef LEAKSCOPE_SHIM_PYTHON_H
#define LEAKSCOPE_SHIM_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

struct lks_buf;
struct lks_strtab;

/* From the constructor, in its quiet scope: finds a CPython runtime in the
 * process and checks its layout; Python frames stay off when it fails. */
void lks_py_init(void);

/* The capture's last step: the interned native stack `native` with the
 * Python frames of this thread merged in where _PyEval_EvalFrameDefault ran
 * them, interned; `native` itself when the thread runs no Python code. */
uint32_t lks_py_merge(uint32_t native);

/* What the free path watches for while threads keep the Python frame
 * chains they read (pychain.c; the proof is in docs/PERFORMANCE.md, "Why a
 * reuse is never wrong"): every code object freed is counted. */
struct lks_py_freewatch {
	uint64_t code_type;   /* atomic: &PyCode_Type; 0: no chain is kept */
	uint64_t code_size;   /* its tp_basicsize: no smaller block holds one */
	uint64_t code_frees;  /* atomic: blocks freed that held or may have held one */
};
extern struct lks_py_freewatch lks_py_freewatch;

/* Whether frees are watched for code objects: only while chains are kept. */
static inline __attribute__((always_inline)) bool lks_py_watching_frees(void)
{
	return __atomic_load_n(&lks_py_freewatch.code_type, __ATOMIC_RELAXED) != 0;
}

/* A block going back to the allocator, before it does: its recorded size,
 * or `recorded` false when the live table did not know it (then it may
 * have been a code object, and counts as one). */
static inline __attribute__((always_inline)) void lks_py_releasing(uint64_t addr, bool recorded,
                                                                   uint64_t size)
{
	/* acquire: code_size is set; pychain.c says why a stale 0 is harmless */
	uint64_t code_type = __atomic_load_n(&lks_py_freewatch.code_type, __ATOMIC_ACQUIRE);

	if (__builtin_expect(!code_type, 1))
		return;
	/* a block at least a code object's size is read inside its own bytes */
	if (recorded && (size < lks_py_freewatch.code_size ||
	                 *(const uint64_t *)(uintptr_t)(addr + 8) != code_type))
		return;
	__atomic_fetch_add(&lks_py_freewatch.code_frees, 1, __ATOMIC_RELAXED);
}

/* The unwinder met this object for the first time (registry.c): when no
 * runtime was found at start-up and it is a libpython, the runtime is
 * looked for in it (pylate.c: no lock, no loader call). */
struct link_map;
void lks_py_object_learned(const struct link_map *map);

/* Every snapshot taken during the run comes here (API, request, interval):
 * with python_gc=1 a full garbage collection first, where it is safe
 * (pygc.c); then lks_snapshot_now. */
int lks_py_in_run_snapshot(enum lks_reason reason, const char *label, char *path,
                           size_t size);

/* Set once the capture saw Py_Finalize under way (python_exit=1): the
 * recording path then takes the 'python-exit' snapshot, after the block
 * is recorded, with lks_py_exit_snapshot. */
extern int lks_py_exit_due;  /* atomic */
void lks_py_exit_snapshot(void);

/* Typing the snapshot's live blocks (pytypes.c): begun before the snapshot
 * reads the live table and before any thread is stopped (NULL: no typing
 * in this process), given each block the snapshot counts in a site, then
 * written by lks_py_snapshot and ended. */
struct lks_pytypes;
struct lks_block;
struct lks_pytypes *lks_pytypes_begin(void);
void lks_pytypes_visit(struct lks_pytypes *types, const struct lks_block *block, uint8_t klass);
void lks_pytypes_end(struct lks_pytypes *types);

/* The buffers of the Python sections of one snapshot. */
struct lks_site;
struct lks_py_parts {
	struct lks_buf *info, *codes, *bytes;  /* PYTHON, PYCODES, PYBYTES */
	struct lks_buf *types, *objects;       /* PYTYPES, PYOBJECTS */
	/* RETAINERS and PYRETAINERS, chains to `sites` (pyretain.c), and
	 * PYUNCHAINED, the sites chosen without one; or NULL: none; with
	 * `to_growth` (in-run snapshots) to those that grew */
	struct lks_buf *retainers, *pyretainers, *unchained;
	const struct lks_site *sites;
	size_t site_count;
	bool to_growth;
};

/* The Python sections, and LKS_HF_PYTHON in *header_flags when a runtime
 * was found (else the sections stay empty); the typed objects when `types`
 * is not NULL, and with them the retainer chains when parts asks. 0, or -1 when a buffer could not grow. */
int lks_py_snapshot(const struct lks_py_parts *parts, struct lks_pytypes *types,
                    struct lks_strtab *strings, uint32_t *header_flags);

#endif
