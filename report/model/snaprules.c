/* SPDX-License-Identifier: MIT */
/* The records of a snapshot checked one by one and against each other
 * (snaprules.h, docs/FORMAT.md "What the reader checks"). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snaprules.h"

#define HEADER_FLAGS (LKS_HF_CLASSIFIED | LKS_HF_FORKED | LKS_HF_OWN_MALLOC | LKS_HF_PYTHON)
#define MODULE_FLAGS (LKS_MF_MAIN | LKS_MF_UNLOADED | LKS_MF_SHIM | LKS_MF_VDSO)
#define HANDLE_FLAGS (LKS_HDF_TO_CHILD | LKS_HDF_REFERENCED | LKS_HDF_INHERITED)
/* handles the handles_open counter leaves out */
#define NOT_OPEN_FLAGS (LKS_HDF_TO_CHILD | LKS_HDF_REFERENCED | LKS_HDF_INHERITED)

#define reject(snap, err, ...) snap_reject((err), (snap)->name, __VA_ARGS__)

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts `keys` and says whether one appears twice. */
static bool has_duplicate(uint64_t *keys, size_t count)
{
	if (count < 2)
		return false;
	qsort(keys, count, sizeof(*keys), compare_u64);
	for (size_t i = 1; i < count; i++)
		if (keys[i] == keys[i - 1])
			return true;
	return false;
}

/* The start of a string of the section: offset 0, or just after a NUL. */
static bool string_start(const struct snapshot *snap, uint32_t offset)
{
	return offset < snap->strings_size && (offset == 0 || snap->strings[offset - 1] == '\0');
}

static bool trace_ok(const struct snapshot *snap, uint32_t id)
{
	return id == 0 || snap_trace(snap, id) != NULL;
}

/* With a NUL as the last byte, every offset inside the section starts a
 * terminated string; none is longer than a writer's. */
static int check_strings(const struct snapshot *snap, struct errmsg *err)
{
	size_t run = 0;

	if (snap->strings_size == 0 || snap->strings[0] != '\0')
		return reject(snap, err, "string section does not start with \"\"");
	if (snap->strings[snap->strings_size - 1] != '\0')
		return reject(snap, err, "string section is not NUL-terminated");
	for (size_t i = 0; i < snap->strings_size; i++) {
		run = snap->strings[i] ? run + 1 : 0;
		if (run >= LKS_STRING_MAX)
			return reject(snap, err, "a string of more than %d bytes at %zu",
				      LKS_STRING_MAX - 1, i + 1 - run);
	}
	return 0;
}

/* The writer adds each string once for the record that names it: a string
 * named twice (20,000 handles sharing one long description) is forged. */
static int check_string_uses(const struct snapshot *snap, struct errmsg *err)
{
	size_t count = 0, total = 3 + snap->module_count + snap->handle_count +
			       2 * snap->pycode_count + snap->pytype_count +
			       3 * snap->pyretainer_count;
	uint64_t *uses = malloc(total * sizeof(*uses));
	int r = 0;

	if (!uses)
		return -ENOMEM;
	uses[count++] = snap->header.exe;
	uses[count++] = snap->header.label;
	for (size_t i = 0; i < snap->module_count; i++)
		uses[count++] = snap->modules[i].path;
	for (size_t i = 0; i < snap->handle_count; i++)
		uses[count++] = snap->handles[i].description;
	if (snap->python)
		uses[count++] = snap->python->reason;
	for (size_t i = 0; i < snap->pycode_count; i++) {
		uses[count++] = snap->pycodes[i].qualname;
		uses[count++] = snap->pycodes[i].filename;
	}
	for (size_t i = 0; i < snap->pytype_count; i++)
		uses[count++] = snap->pytypes[i].name;
	for (size_t i = 0; i < snap->pyretainer_count; i++) {
		uses[count++] = snap->pyretainers[i].type;
		uses[count++] = snap->pyretainers[i].module;
		uses[count++] = snap->pyretainers[i].key;
	}
	for (size_t i = 0, kept = 0; r == 0 && i < count; i++) {
		if (!string_start(snap, (uint32_t)uses[i]))
			r = reject(snap, err, "string offset %" PRIu64 " is not a string's start",
				   uses[i]);
		else if (uses[i])  /* offset 0, "", is everybody's */
			uses[kept++] = uses[i];
		if (i + 1 == count && r == 0 && has_duplicate(uses, kept))
			r = reject(snap, err, "a string named by two records");
	}
	free(uses);
	return r;
}

static int check_header(const struct snapshot *snap, struct errmsg *err)
{
	const struct lks_header *h = &snap->header;

	if (h->flags & ~HEADER_FLAGS)
		return reject(snap, err, "header: unknown flags 0x%" PRIx32, h->flags);
	if (h->max_depth < 1 || h->max_depth > LKS_DEPTH_MAX)
		return reject(snap, err, "header: stack depth %" PRIu32 " not in 1..%d",
			      h->max_depth, LKS_DEPTH_MAX);
	/* without a scan, only chains from module dicts (docs/PYTHON.md) */
	if (!(h->flags & LKS_HF_CLASSIFIED) && snap->retainer_count &&
	    (snap->retainers[0].kind != LKS_RK_PYMODULE || !snap->python))
		return reject(snap, err, "retainer chains without a reachability scan");
	if ((h->reason == LKS_REASON_FATAL_SIGNAL) != (h->signal > 0) || h->signal > 64)
		return reject(snap, err, "header: signal %" PRId32 " with reason %" PRIu32,
			      h->signal, h->reason);
	return 0;
}

static int check_modules(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->module_count; i++) {
		const struct lks_module *m = &snap->modules[i];

		if (m->build_id_len > LKS_BUILD_ID_MAX)
			return reject(snap, err, "module %zu: build-id length %" PRIu32, i,
				      m->build_id_len);
		if (m->start > m->end)
			return reject(snap, err, "module %zu: start after end", i);
		if (m->flags & ~MODULE_FLAGS)
			return reject(snap, err, "module %zu: unknown flags 0x%" PRIx32, i,
				      m->flags);
	}
	return 0;
}

/* At most max_depth native frames, and Python frames (docs/PYTHON.md) only
 * in a snapshot of a process that ran CPython, up to LKS_TRACE_FRAMES_MAX
 * frames in all. */
static int check_trace_depth(const struct snapshot *snap, const struct lks_trace *t,
			     struct errmsg *err)
{
	uint32_t native = 0, python = 0;

	for (uint32_t i = 0; i < t->depth; i++) {
		if (LKS_PYFRAME_IS(snap->frames[t->first + i]))
			python++;
		else
			native++;
	}
	if (native < 1 || native > snap->header.max_depth || t->depth > LKS_TRACE_FRAMES_MAX)
		return reject(snap, err, "trace %" PRIu32 ": depth %" PRIu32 " with %" PRIu32
			      " native frames, not 1..%" PRIu32 " native of at most %d",
			      t->id, t->depth, native, snap->header.max_depth,
			      LKS_TRACE_FRAMES_MAX);
	if (python && !(snap->header.flags & LKS_HF_PYTHON))
		return reject(snap, err, "trace %" PRIu32 ": Python frames in a snapshot "
			      "without CPython", t->id);
	return 0;
}

/* The frames section is the traces' frames back to back, in trace order:
 * no frame belongs to two traces (4,000 traces naming the same 4,000
 * frames made a 322 KB file print 1 GB), none to no trace. */
static int check_traces(const struct snapshot *snap, struct errmsg *err)
{
	uint32_t previous = 0;
	uint64_t next_frame = 0;

	for (size_t i = 0; i < snap->trace_count; i++) {
		const struct lks_trace *t = &snap->traces[i];

		if (t->id <= previous)
			return reject(snap, err, "trace %zu: id %" PRIu32 " not above %" PRIu32,
				      i, t->id, previous);
		if (t->first != next_frame)
			return reject(snap, err, "trace %" PRIu32 ": frames from %" PRIu64
				      ", not from %" PRIu64 " where the previous ended",
				      t->id, t->first, next_frame);
		if (t->depth > snap->frame_count - t->first)
			return reject(snap, err, "trace %" PRIu32 ": frames %" PRIu64 "+%" PRIu32
				      " beyond the %zu recorded", t->id, t->first, t->depth,
				      snap->frame_count);
		if (check_trace_depth(snap, t, err) < 0)
			return -EINVAL;
		next_frame += t->depth;
		previous = t->id;
	}
	if (next_frame != snap->frame_count)
		return reject(snap, err, "%zu frames, of which the traces use %" PRIu64,
			      snap->frame_count, next_frame);
	if (previous > snap->counters.traces)
		return reject(snap, err, "trace id %" PRIu32 " above the %" PRIu64
			      " stacks the counters say were interned",
			      previous, snap->counters.traces);
	return 0;
}

/* (trace, family, class, heuristic, apart) once each; classes as the
 * header says: all UNFREED without a scan, none with one. */
static int check_sites(const struct snapshot *snap, uint64_t *keys, struct errmsg *err)
{
	bool classified = snap->header.flags & LKS_HF_CLASSIFIED;

	for (size_t i = 0; i < snap->site_count; i++) {
		const struct lks_site *s = &snap->sites[i];

		if (!trace_ok(snap, s->trace))
			return reject(snap, err, "site %zu: no trace %" PRIu32, i, s->trace);
		if (s->klass > LKS_CLASS_REACHABLE)
			return reject(snap, err, "site %zu: unknown class %u", i, s->klass);
		if (s->family > LKS_FAMILY_NEW_ARRAY)
			return reject(snap, err, "site %zu: unknown family %u", i, s->family);
		if (s->heuristic > LKS_HEUR_EMPTY_ARRAY ||
		    (s->heuristic && s->klass != LKS_CLASS_REACHABLE))
			return reject(snap, err, "site %zu: heuristic %u on class %u",
				      i, s->heuristic, s->klass);
		if (s->apart > LKS_APART_PY_IMMORTAL ||
		    (s->apart && (s->klass < LKS_CLASS_DEFINITE || s->klass > LKS_CLASS_POSSIBLE)))
			return reject(snap, err, "site %zu: counted apart (%u) on class %u",
				      i, s->apart, s->klass);
		if (classified != (s->klass != LKS_CLASS_UNFREED))
			return reject(snap, err, "site %zu: class %u in a snapshot %s a scan",
				      i, s->klass, classified ? "with" : "without");
		if (s->blocks == 0 || s->largest > s->bytes)
			return reject(snap, err, "site %zu: %" PRIu64 " blocks of %" PRIu64
				      " bytes, the largest %" PRIu64, i, s->blocks, s->bytes,
				      s->largest);
		keys[i] = (uint64_t)s->trace << 24 | (uint64_t)s->apart << 20 |
			  (uint64_t)s->heuristic << 16 | (uint64_t)s->family << 8 | s->klass;
	}
	if (has_duplicate(keys, snap->site_count))
		return reject(snap, err, "two sites of one stack, family, class, heuristic and apart");
	return 0;
}

static int check_handles(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->handle_count; i++) {
		const struct lks_handle *h = &snap->handles[i];

		if (!trace_ok(snap, h->trace))
			return reject(snap, err, "handle %zu: no trace %" PRIu32, i, h->trace);
		if (h->type < LKS_HANDLE_FD || h->type > LKS_HANDLE_MMAP)
			return reject(snap, err, "handle %zu: unknown type %u", i, h->type);
		if (h->flags & ~HANDLE_FLAGS)
			return reject(snap, err, "handle %zu: unknown flags 0x%x", i, h->flags);
	}
	return 0;
}

/* Each chain: one root, then one to LKS_RETAIN_BLOCKS_MAX blocks; chain
 * numbers go up, at most LKS_RETAIN_CHAINS_MAX of them. */
static int check_chain_shape(const struct snapshot *snap, size_t i, size_t *chain_start,
			     struct errmsg *err)
{
	const struct lks_retainer_step *step = &snap->retainers[i];
	bool starts = i == 0 || step->chain != snap->retainers[i - 1].chain;
	bool ends = i + 1 == snap->retainer_count ||
		    snap->retainers[i + 1].chain != step->chain;

	if (starts && i > 0 && step->chain < snap->retainers[i - 1].chain)
		return reject(snap, err, "retainer step %zu: chain numbers go down", i);
	if (starts && (step->kind == LKS_RK_BLOCK || ends || step->trace))
		return reject(snap, err, "retainer step %zu: a chain must start with a root "
			      "and reach a block", i);
	if (!starts && step->kind != LKS_RK_BLOCK)
		return reject(snap, err, "retainer step %zu: a root inside a chain", i);
	if (starts)
		*chain_start = i;
	if (i - *chain_start > LKS_RETAIN_BLOCKS_MAX || step->chain >= LKS_RETAIN_CHAINS_MAX)
		return reject(snap, err, "retainer step %zu: chain %" PRIu32 " longer than a "
			      "writer's (%d blocks) or numbered beyond %d", i, step->chain,
			      LKS_RETAIN_BLOCKS_MAX, LKS_RETAIN_CHAINS_MAX - 1);
	return 0;
}

static int check_retainers(const struct snapshot *snap, struct errmsg *err)
{
	size_t chain_start = 0;

	for (size_t i = 0; i < snap->retainer_count; i++) {
		const struct lks_retainer_step *step = &snap->retainers[i];

		if (step->kind < LKS_RK_GLOBAL || step->kind > LKS_RK_PYMODULE)
			return reject(snap, err, "retainer step %zu: unknown kind %" PRIu32, i,
				      step->kind);
		if ((step->kind == LKS_RK_PYMODULE) !=
		    (!(snap->header.flags & LKS_HF_CLASSIFIED) && step->kind != LKS_RK_BLOCK))
			return reject(snap, err, "retainer step %zu: a module root is the only "
				      "root of a snapshot without a reachability scan", i);
		if (check_chain_shape(snap, i, &chain_start, err) < 0)
			return -EINVAL;
		if (!trace_ok(snap, step->trace))
			return reject(snap, err, "retainer step %zu: no trace %" PRIu32, i,
				      step->trace);
	}
	return 0;
}

/* Python names of retainer steps: each for a step of its own, in order;
 * a module name only for a module root, a type only for a block. */
static int check_pyretainers(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->pyretainer_count; i++) {
		const struct lks_pyretainer *py = &snap->pyretainers[i];
		const struct lks_retainer_step *step;

		if (py->step >= snap->retainer_count ||
		    (i > 0 && py->step <= snap->pyretainers[i - 1].step))
			return reject(snap, err, "python retainer %zu: step %" PRIu32 " out of "
				      "order or past the chains", i, py->step);
		step = &snap->retainers[py->step];
		if (step->kind == LKS_RK_PYMODULE ? py->type != 0 :
		    step->kind != LKS_RK_BLOCK || py->module != 0 || py->type == 0)
			return reject(snap, err, "python retainer %zu: a module name for a "
				      "block or a type for a root", i);
	}
	return 0;
}

/* Sites chosen without a chain: a trace of the snapshot, a known reason. */
static int check_pyunchained(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->pyunchained_count; i++) {
		const struct lks_pyunchained *none = &snap->pyunchained[i];

		if (!trace_ok(snap, none->trace))
			return reject(snap, err, "python site without a chain %zu: no trace %"
				      PRIu32, i, none->trace);
		if (none->reason < LKS_PYU_UNREACHED || none->reason > LKS_PYU_FREED)
			return reject(snap, err, "python site without a chain %zu: reason %"
				      PRIu32, i, none->reason);
	}
	return 0;
}

/* One python record exactly when the header says CPython ran; code copies
 * by increasing id, their line tables back to back in the line tables
 * section, as the writer appends them. */
static int check_python(const struct snapshot *snap, struct errmsg *err)
{
	bool flagged = snap->header.flags & LKS_HF_PYTHON;
	uint32_t previous = 0;
	uint64_t next_byte = 0;

	if (flagged != (snap->python != NULL) ||
	    (!flagged && (snap->pycode_count || snap->pybytes_size || snap->pytype_count ||
			  snap->pyobject_count)))
		return reject(snap, err, "python sections %s the header's CPython flag",
			      flagged ? "without" : "with no");
	if (snap->python && (snap->python->status < LKS_PY_ON ||
			     snap->python->status > LKS_PY_NOT_STARTED))
		return reject(snap, err, "python record: bad status %" PRIu32,
			      snap->python->status);
	if (snap->python && (snap->python->gc > LKS_PYGC_LAST ||
			     (snap->python->gc != LKS_PYGC_COLLECTED && snap->python->gc_collected)))
		return reject(snap, err, "python record: bad collection %" PRIu32 " of %" PRIu64,
			      snap->python->gc, snap->python->gc_collected);
	for (size_t i = 0; i < snap->pycode_count; i++) {
		const struct lks_pycode *c = &snap->pycodes[i];

		if (c->id <= previous || c->id > LKS_PYCODE_MAX_ID)
			return reject(snap, err, "python code %zu: id %" PRIu32
				      " not above %" PRIu32, i, c->id, previous);
		if (c->linetable != next_byte)
			return reject(snap, err, "python code %" PRIu32 ": line table at %"
				      PRIu64 ", not at %" PRIu64 " where the previous ended",
				      c->id, c->linetable, next_byte);
		if (c->linetable_len > snap->pybytes_size - next_byte)
			return reject(snap, err, "python code %" PRIu32 ": line table of %"
				      PRIu32 " bytes out of range", c->id, c->linetable_len);
		next_byte += c->linetable_len;
		previous = c->id;
	}
	if (next_byte != snap->pybytes_size)
		return reject(snap, err, "%zu bytes of line tables, of which the code "
			      "copies use %" PRIu64, snap->pybytes_size, next_byte);
	return 0;
}

/* Types by increasing id, each some object's; objects of a type the file
 * holds, at a site's stack, as many as the python record says were typed
 * (the writer counts each typed block once, in one record). */
static int check_pytypes(const struct snapshot *snap, struct errmsg *err)
{
	bool typed = snap->python && (snap->python->flags & LKS_PYF_TYPED);
	uint32_t previous = 0;
	uint64_t blocks = 0;

	if (!typed && (snap->pytype_count || snap->pyobject_count))
		return reject(snap, err, "python objects without LKS_PYF_TYPED");
	for (size_t i = 0; i < snap->pytype_count; i++) {
		const struct lks_pytype *t = &snap->pytypes[i];

		if (t->id <= previous || t->id > LKS_PYCODE_MAX_ID ||
		    (t->flags & ~(LKS_PYTF_HEAP | LKS_PYTF_GC)) || !t->name)
			return reject(snap, err, "python type %zu: id %" PRIu32 " after %" PRIu32
				      ", flags 0x%" PRIx32, i, t->id, previous, t->flags);
		previous = t->id;
	}
	for (size_t i = 0; i < snap->pyobject_count; i++) {
		const struct lks_pyobjects *o = &snap->pyobjects[i];

		if (!snap_pytype(snap, o->type) || !trace_ok(snap, o->trace) ||
		    o->klass > LKS_CLASS_REACHABLE || o->blocks == 0 ||
		    o->bytes / 16 < o->blocks)
			return reject(snap, err, "python objects %zu: type %" PRIu32 ", trace %"
				      PRIu32 ", class %u, %" PRIu64 " blocks of %" PRIu64 " bytes",
				      i, o->type, o->trace, o->klass, o->blocks, o->bytes);
		blocks += o->blocks;
	}
	if (typed && blocks != snap->python->typed_blocks)
		return reject(snap, err, "python objects: %" PRIu64 " blocks, the python record "
			      "says %" PRIu64 " were typed", blocks, snap->python->typed_blocks);
	return 0;
}

/* A Python frame names a code copy the file holds (or 0: none was made). */
static int check_python_frames(const struct snapshot *snap, struct errmsg *err)
{
	for (size_t i = 0; i < snap->frame_count; i++) {
		uint64_t frame = snap->frames[i];

		if (LKS_PYFRAME_IS(frame) && LKS_PYFRAME_CODE(frame) &&
		    !snap_pycode(snap, LKS_PYFRAME_CODE(frame)))
			return reject(snap, err, "frame %zu: python code %" PRIu32
				      " not in the file", i, LKS_PYFRAME_CODE(frame));
	}
	return 0;
}

/* The counters the records can be summed into must be their sums: a file
 * whose sites section went missing still says 12 live blocks. */
static int check_counters(const struct snapshot *snap, struct errmsg *err)
{
	const struct lks_counters *c = &snap->counters;
	uint64_t blocks = 0, bytes = 0, open = 0;

	for (size_t i = 0; i < snap->site_count; i++)
		if (__builtin_add_overflow(blocks, snap->sites[i].blocks, &blocks) ||
		    __builtin_add_overflow(bytes, snap->sites[i].bytes, &bytes))
			return reject(snap, err, "sites: live memory overflows 64 bits");
	for (size_t i = 0; i < snap->handle_count; i++)
		open += !(snap->handles[i].flags & NOT_OPEN_FLAGS);
	if (blocks != c->live_blocks || bytes != c->live_bytes)
		return reject(snap, err, "counters say %" PRIu64 " live blocks of %" PRIu64
			      " bytes, the sites %" PRIu64 " of %" PRIu64,
			      c->live_blocks, c->live_bytes, blocks, bytes);
	if (open != c->handles_open)
		return reject(snap, err, "counters say %" PRIu64 " handles open, the handles "
			      "section %" PRIu64, c->handles_open, open);
	return 0;
}

int snap_check_records(const struct snapshot *snap, struct errmsg *err)
{
	uint64_t *keys = malloc((snap->site_count + 1) * sizeof(*keys));
	int r;

	if (!keys)
		return -ENOMEM;
	if ((r = check_header(snap, err)) < 0 || (r = check_python(snap, err)) < 0 ||
	    (r = check_strings(snap, err)) < 0 || (r = check_string_uses(snap, err)) < 0 ||
	    (r = check_modules(snap, err)) < 0 || (r = check_traces(snap, err)) < 0 ||
	    (r = check_python_frames(snap, err)) < 0 || (r = check_sites(snap, keys, err)) < 0 ||
	    (r = check_handles(snap, err)) < 0 || (r = check_retainers(snap, err)) < 0 ||
	    (r = check_pytypes(snap, err)) < 0 || (r = check_pyretainers(snap, err)) < 0 ||
	    (r = check_pyunchained(snap, err)) < 0)
		goto done;
	r = check_counters(snap, err);
done:
	free(keys);
	if (r == -ENOMEM)
		errmsg_set(err, "%s: out of memory", snap->name);
	return r;
}
