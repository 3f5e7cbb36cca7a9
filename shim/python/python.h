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

/* A watched block was freed (shim/alloc.c, before the real free): while
 * threads keep the Python frame chains they read, each code object a kept
 * chain holds is watched in the live table (pychain.c; the proof is in
 * docs/PERFORMANCE.md, "Why a reuse is never wrong"). */
void lks_py_code_freed(void);

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

/* pyimmortal.c, for the exit scan: whether a lost block, readable in
 * place, is an immortal str of the interpreter (3.12, 3.13). */
bool lks_py_immortal(const void *block, uint64_t size);

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
