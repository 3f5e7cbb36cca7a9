/* SPDX-License-Identifier: MIT */
/* Python frames in the report: tagged frames named from the code copies of
 * the snapshot (line from the copied location table), the interpreter's
 * native frames folded away around them, and the report's notes about the
 * interpreter. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "frame.h"
#include "pool.h"
#include "pyframes.h"
#include "snapread.h"

static bool show_internals;

void pyframes_keep_internals(void)
{
	show_internals = true;
}

/* ---- the location table (CPython's Objects/locations.md, 3.11 to 3.13) -- */

struct cursor {
	const uint8_t *table;
	size_t size, at;
};

static uint32_t varint(struct cursor *c)
{
	uint32_t value = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		if (c->at >= c->size || shift > 28)
			return value;
		byte = c->table[c->at++];
		value |= (uint32_t)(byte & 63) << shift;
		shift += 6;
	} while (byte & 64);
	return value;
}

static int32_t svarint(struct cursor *c)
{
	uint32_t value = varint(c);

	return value & 1 ? -(int32_t)(value >> 1) : (int32_t)(value >> 1);
}

/* Each entry: a first byte 1CCCCLLL (code C, L+1 code units), then the
 * code's operands; only the line deltas matter here. */
uint32_t pyframes_line(const uint8_t *table, size_t size, int32_t firstlineno,
		       uint32_t offset)
{
	struct cursor c = { table, size, 0 };
	int64_t line = firstlineno, address = 0;

	while (c.at < size) {
		uint8_t first = table[c.at++];
		unsigned code = first >> 3 & 15;
		int64_t end = address + ((first & 7) + 1) * 2;
		bool located = code != 15;

		if (code == 14) {
			line += svarint(&c);
			varint(&c);
			varint(&c);
			varint(&c);
		} else if (code == 13) {
			line += svarint(&c);
		} else if (code >= 10 && code <= 12) {
			line += code - 10;
			c.at += 2;
		} else if (code < 10) {
			c.at += 1;
		}
		if (offset >= address && offset < end)
			return located && line > 0 && line <= UINT32_MAX ? (uint32_t)line : 0;
		address = end;
	}
	return 0;
}

int pyframes_symbolize(const struct snapshot *snap, struct pool *pool, uint64_t value,
		       struct model_frame *out)
{
	const struct lks_pycode *code = snap_pycode(snap, LKS_PYFRAME_CODE(value));

	*out = (struct model_frame){ .address = value, .offset = LKS_PYFRAME_OFFSET(value),
				     .python = true };
	if (!code) {
		out->function = pool_intern(pool, "<python code not copied>");
		return out->function ? 0 : -ENOMEM;
	}
	out->function = pool_intern(pool, snap_string(snap, code->qualname));
	out->file = pool_intern(pool, snap_string(snap, code->filename));
	out->line = pyframes_line(snap->pybytes + code->linetable, code->linetable_len,
				  code->firstlineno, LKS_PYFRAME_OFFSET(value));
	if (!out->function || !out->file)
		return -ENOMEM;
	return 0;
}

/* ---- folding the interpreter's frames ---------------------------------- */

/* The interpreter (the python executable or libpython), the standard
 * library's C extensions, and libffi under ctypes. */
static bool is_internal(const struct model_frame *f, const char *interpreter)
{
	const char *base;

	if (f->python || !f->module)
		return false;
	if (interpreter && strcmp(f->module, interpreter) == 0)
		return true;
	base = base_name(f->module);
	return strstr(f->module, "/lib-dynload/") || strncmp(base, "libffi.", 7) == 0 ||
	       strncmp(base, "libpython3", 10) == 0;
}

/* What starts the process or a thread, outside the outermost Python frame. */
static bool is_start(const struct model_frame *f)
{
	static const char *const names[] = { "__libc_start_main", "__libc_start_main_impl",
					     "__libc_start_call_main",
					     "_start", "start_thread", "clone", "clone3" };

	for (size_t i = 0; f->function && i < sizeof(names) / sizeof(*names); i++)
		if (strcmp(f->function, names[i]) == 0)
			return true;
	return false;
}

static const char *interpreter_of(const struct model_frame *frames, size_t count,
				  size_t *outermost)
{
	const char *module = NULL;
	bool python = false;

	for (size_t i = 0; i < count; i++) {
		if (frames[i].python) {
			python = true;
			*outermost = i;
		} else if (!module && frames[i].function && frames[i].module &&
			   strcmp(frames[i].function, "_PyEval_EvalFrameDefault") == 0) {
			module = frames[i].module;
		}
	}
	return python ? (module ? module : "") : NULL;
}

/* A run of internal frames is dropped when a Python frame follows it (or
 * nothing does); kept when the program's own native code follows. */
size_t pyframes_fold(struct model_frame *frames, size_t count)
{
	size_t outermost = 0, kept = 0, pending = 0;
	const char *interpreter = interpreter_of(frames, count, &outermost);

	if (!interpreter || show_internals)
		return count;
	for (size_t i = 0; i < count; i++) {
		struct model_frame f = frames[i];

		if (i > outermost) {
			if (!is_internal(&f, interpreter) && !is_start(&f))
				frames[kept++] = f;
			continue;
		}
		if (is_internal(&f, interpreter)) {
			frames[kept + pending++] = f;
			continue;
		}
		if (f.python)
			pending = 0;  /* the internals under a Python frame go */
		kept += pending;
		pending = 0;
		frames[kept++] = f;
	}
	return kept;
}

/* ---- library frames and grouping keys ---------------------------------- */

bool pyframes_is_system(const struct model_frame *f)
{
	if (!f->python || !f->file)
		return false;
	return f->file[0] == '<' || strstr(f->file, "/lib/python3") != NULL;
}

/* ---- what the report says about the interpreter ------------------------ */

static int add_note(struct model_process *proc, const char *text)
{
	const char *kept = pool_intern(proc->pool, text);
	int r = kept ? ARRAY_RESERVE(proc->warnings, proc->warning_capacity,
				     proc->warning_count, 1) : -ENOMEM;

	if (r < 0)
		return r;
	proc->warnings[proc->warning_count++] = kept;
	return 0;
}

int pyframes_notes(const struct snapshot *snap, struct model_process *proc)
{
	const struct lks_python *py = snap->python;
	char text[512], version[48], number[32];
	int r = 0;

	if (!py)
		return 0;
	proc->has_python = true;
	proc->python = *py;
	proc->python_reason = pool_intern(proc->pool, snap_string(snap, py->reason));
	if (!proc->python_reason)
		return -ENOMEM;
	snprintf(version, sizeof(version), "CPython %s",
		 pyframes_version(py, number, sizeof(number)) ?: "(version unknown)");
	if (py->status == LKS_PY_UNSUPPORTED) {
		snprintf(text, sizeof(text), "%s: Python frames off (%s); stacks are native only",
			 version, snap_string(snap, py->reason));
		r = add_note(proc, text);
	} else if (py->status == LKS_PY_OFF) {
		snprintf(text, sizeof(text), "%s: Python frames turned off (python=0)", version);
		r = add_note(proc, text);
	}
	if (r == 0 && py->gc > LKS_PYGC_COLLECTED) {
		snprintf(text, sizeof(text), "%s: python_gc=1, but no garbage collection before "
			 "this snapshot (%s): cycles not yet collected count as live memory",
			 version, pyframes_gc_name(py->gc));
		r = add_note(proc, text);
	}
	if (r == 0 && (!(py->flags & LKS_PYF_RAW_MALLOC) || py->flags & LKS_PYF_ENV_IGNORED)) {
		snprintf(text, sizeof(text), "%s: %s: Python objects of 512 bytes or less come "
			 "from pymalloc's arenas and show only as arena blocks", version,
			 py->flags & LKS_PYF_ENV_IGNORED ?
			 "-E or -I made it ignore PYTHONMALLOC" :
			 "PYTHONMALLOC is not 'malloc'");
		r = add_note(proc, text);
	}
	return r;
}

const char *pyframes_gc_name(uint32_t gc)
{
	static const char *const names[] = {
#define GC_NAME(number, NAME, name) [number] = name,
		LKS_PY_GCS(GC_NAME)
#undef GC_NAME
	};

	return gc <= LKS_PYGC_LAST ? names[gc] : "?";
}

const char *pyframes_version(const struct lks_python *py, char *buf, size_t size)
{
	if (!py->version)
		return NULL;
	snprintf(buf, size, "%u.%u.%u", py->version >> 24, py->version >> 16 & 0xff,
		 py->version >> 8 & 0xff);
	return buf;
}

const char *pyframes_status_name(uint32_t status)
{
	static const char *const names[] = {
		[LKS_PY_ON] = "on", [LKS_PY_OFF] = "off",
		[LKS_PY_UNSUPPORTED] = "unsupported", [LKS_PY_NOT_STARTED] = "not started",
	};

	return status >= LKS_PY_ON && status <= LKS_PY_NOT_STARTED ? names[status] : "?";
}
