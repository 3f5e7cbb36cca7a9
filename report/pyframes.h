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
#include "stats.h"

struct snapshot;
struct pool;

/* --python-internals: keep every native frame of the interpreter. */
extern bool pyframes_show_internals;

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

/* Library code, as gate.c's is_system says of native frames: the standard
 * library's .py files and the frozen bootstrap. */
bool pyframes_is_system(const struct model_frame *f);

/* pyline and pytraceback: narrows *frames to the Python frames and turns
 * *key into the native key (lineno, traceback) that groups them. Stacks
 * without Python frames keep theirs. 0 or -ENOMEM. */
int pyframes_narrow(enum stats_key *key, const struct model_frame **frames,
		    size_t *count, struct pool *pool);

/* Report lines about the interpreter (frames off and why, objects hidden
 * in pymalloc arenas), appended to proc->warnings. 0 or -ENOMEM. */
int pyframes_notes(const struct snapshot *snap, struct model_process *proc);

/* One line on the interpreter for the text report ("python: CPython
 * 3.11.2, Python frames on, objects malloc'd one by one"), into buf. */
const char *pyframes_status_line(const struct model_process *proc, char *buf, size_t size);

struct json;
/* The "python" member of a process in the JSON report (null without). */
void pyframes_put_json(struct json *j, const struct model_process *proc);

#endif
