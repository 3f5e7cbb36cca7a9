/* SPDX-License-Identifier: MIT */
/* Python frames in the report (docs/PYTHON.md): a tagged frame of the
 * snapshot becomes its code object's qualified name, file and line; the
 * interpreter's own native frames around Python frames are folded away. */
#ifndef LEAKSCOPE_PYFRAMES_H
#define LEAKSCOPE_PYFRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "model.h"

struct snapshot;
struct pool;

/* --python-internals: keep every native frame of the interpreter. */
void pyframes_keep_internals(void);

/* The frame a tagged value stands for (`value` must satisfy
 * LKS_PYFRAME_IS and come from the accepted snapshot). 0 or -ENOMEM. */
int pyframes_symbolize(const struct snapshot *snap, struct pool *pool, uint64_t value,
		       struct model_frame *out);

/* Folds frames[0..count) in place: the eval loop and CPython's internals
 * between Python frames and outside the outermost one are dropped when
 * the stack holds Python frames. Returns the new count. */
size_t pyframes_fold(struct model_frame *frames, size_t count);

/* The line of the instruction at byte `offset` of a code object, from its
 * location table (3.11 to 3.13); 0 when the table gives none. */
uint32_t pyframes_line(const uint8_t *table, size_t size, int32_t firstlineno,
		       uint32_t offset);

/* Library code, as frame.c's is_system says of native frames: the standard
 * library's .py files and the frozen bootstrap. */
bool pyframes_is_system(const struct model_frame *f);

/* Report lines about the interpreter (frames off and why, objects hidden
 * in pymalloc arenas), appended to proc->warnings. 0 or -ENOMEM. */
int pyframes_notes(const struct snapshot *snap, struct model_process *proc);

/* "collected", "main thread busy"... (enum lks_py_gc); "?" when unknown. */
const char *pyframes_gc_name(uint32_t gc);

/* "on", "off", "unsupported", "not started" (enum lks_py_status). */
const char *pyframes_status_name(uint32_t status);

/* The interpreter's version as "3.11.2" into buf, or NULL when the
 * interpreter does not say it (before 3.11: no Py_Version). */
const char *pyframes_version(const struct lks_python *py, char *buf, size_t size);

#endif
