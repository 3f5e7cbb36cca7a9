/* SPDX-License-Identifier: MIT */
/* From one accepted snapshot to its report model: stacks symbolized once per
 * trace, leak sites sorted largest first, open handles grouped by stack and
 * type, totals per class. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "model.h"
#include "pool.h"
#include "pyframes.h"
#include "pyobjects.h"
#include "retainers.h"
#include "snapread.h"
#include "suppress.h"
#include "symbols.h"

struct builder {
	const struct snapshot *snap;
	struct model_process *proc;
	struct symbolizer *sym;
	struct model_stack *stacks; /* by index in snap->traces */
	bool *stack_done;
	struct model_frame *scratch;
	size_t scratch_capacity;
};

static int append_frames(struct builder *b, size_t *count,
			 const struct model_frame *frames, size_t n)
{
	int r;

	if (n == 0)
		return 0;  /* frames may be NULL, and memcpy's source may not */
	r = ARRAY_RESERVE(b->scratch, b->scratch_capacity, *count, n);
	if (r < 0)
		return r;
	memcpy(b->scratch + *count, frames, n * sizeof(*frames));
	*count += n;
	return 0;
}

static int symbolize_trace(struct builder *b, const struct lks_trace *trace,
			   struct model_stack *stack)
{
	const uint64_t *addresses = b->snap->frames + trace->first;
	size_t count = 0;
	int r;

	for (uint32_t i = 0; i < trace->depth; i++) {
		const struct model_frame *frames;
		struct model_frame python;
		size_t n = 1;

		if (LKS_PYFRAME_IS(addresses[i])) {
			r = pyframes_symbolize(b->snap, b->proc->pool, addresses[i], &python);
			frames = &python;
		} else {
			r = sym_lookup(b->sym, addresses[i], &frames, &n);
		}
		if (r == 0)
			r = append_frames(b, &count, frames, n);
		if (r < 0)
			return r;
	}
	count = pyframes_fold(b->scratch, count);
	stack->trace = trace->id;
	stack->count = count;
	stack->frames = pool_alloc(b->proc->pool, count * sizeof(*stack->frames));
	if (!stack->frames)
		return -ENOMEM;
	if (count)  /* b->scratch is NULL until a frame was appended */
		memcpy(stack->frames, b->scratch, count * sizeof(*stack->frames));
	return 0;
}

/* Sites of several classes or families share a trace: symbolize it once. */
static int stack_for(struct builder *b, uint32_t id, struct model_stack *out)
{
	const struct lks_trace *trace = snap_trace(b->snap, id);
	size_t index;
	int r;

	memset(out, 0, sizeof(*out));
	if (!trace)
		return 0; /* id 0: the shim could not capture this stack */
	index = (size_t)(trace - b->snap->traces);
	if (!b->stack_done[index]) {
		r = symbolize_trace(b, trace, &b->stacks[index]);
		if (r < 0)
			return r;
		b->stack_done[index] = true;
	}
	*out = b->stacks[index];
	return 0;
}

static int stack_of_trace(void *ctx, uint32_t trace, struct model_stack *out)
{
	return stack_for(ctx, trace, out);
}

static int by_size(const void *a, const void *b)
{
	const struct model_leak *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	if (x->stack.trace != y->stack.trace)
		return x->stack.trace < y->stack.trace ? -1 : 1;
	if (x->klass != y->klass)
		return x->klass < y->klass ? -1 : 1;
	if (x->family != y->family)
		return (int)x->family - (int)y->family;
	return (int)x->heuristic - (int)y->heuristic;
}

/* Lost blocks the shim proved to be CPython's own (docs/PYTHON.md) */
static const char PYTHON_IMMORTAL[] = "builtin:python-immortal";

static void add_to_total(struct model_class_total *total,
			 const struct model_leak *leak)
{
	total->blocks += leak->blocks;
	total->bytes += leak->bytes;
	total->sites++;
}

static void count_leak(struct model_process *proc, const struct model_leak *leak)
{
	if (leak->suppressed_by) {
		add_to_total(&proc->suppressed, leak);
		if (leak->suppressed_by == PYTHON_IMMORTAL)
			add_to_total(&proc->python_immortal, leak);
		return;
	}
	add_to_total(&proc->by_class[leak->klass], leak);
	if (leak->heuristic)
		add_to_total(&proc->by_heuristic[leak->heuristic], leak);
	if (!model_class_is_leak(leak->klass))
		return;
	proc->leaked_blocks += leak->blocks;
	proc->leaked_bytes += leak->bytes;
	proc->leak_sites++;
}

static int build_leaks(struct builder *b)
{
	const struct snapshot *snap = b->snap;
	struct model_process *proc = b->proc;
	int r;

	proc->leaks = calloc(snap->site_count + 1, sizeof(*proc->leaks));
	if (!proc->leaks)
		return -ENOMEM;
	for (size_t i = 0; i < snap->site_count; i++) {
		const struct lks_site *site = &snap->sites[i];
		struct model_leak *leak = &proc->leaks[i];

		leak->klass = site->klass;
		leak->family = site->family;
		leak->heuristic = site->heuristic;
		leak->blocks = site->blocks;
		leak->bytes = site->bytes;
		leak->indirect_blocks = site->indirect_blocks;
		leak->indirect_bytes = site->indirect_bytes;
		leak->largest = site->largest;
		leak->oldest_seq = site->oldest_seq;
		r = stack_for(b, site->trace, &leak->stack);
		if (r < 0)
			return r;
		leak->suppressed_by = site->apart == LKS_APART_PY_IMMORTAL ?
				      PYTHON_IMMORTAL : suppress_builtin(&leak->stack);
		count_leak(proc, leak);
	}
	proc->leak_count = snap->site_count;
	qsort(proc->leaks, proc->leak_count, sizeof(*proc->leaks), by_size);
	return 0;
}

/* Open handles, fds leaked into children, held mappings and a fork
 * child's inherited fds go to four lists; the flags that say which come
 * first in the order. */
#define LIST_FLAGS (LKS_HDF_TO_CHILD | LKS_HDF_REFERENCED | LKS_HDF_INHERITED)

static int by_stack_then_type(const void *a, const void *b)
{
	const struct lks_handle *x = *(const struct lks_handle *const *)a;
	const struct lks_handle *y = *(const struct lks_handle *const *)b;

	if ((x->flags & LIST_FLAGS) != (y->flags & LIST_FLAGS))
		return (x->flags & LIST_FLAGS) < (y->flags & LIST_FLAGS) ? -1 : 1;
	if (x->trace != y->trace)
		return x->trace < y->trace ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_count(const void *a, const void *b)
{
	const struct model_handle_group *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->stack.trace < y->stack.trace ? -1 : x->stack.trace > y->stack.trace;
}

/* `sorted[0..n)` are handles of one trace and type. */
static int fill_group(struct builder *b, const struct lks_handle *const *sorted,
		      size_t n, struct model_handle_group *group)
{
	group->type = sorted[0]->type;
	group->to_child = sorted[0]->flags & LKS_HDF_TO_CHILD;
	group->inherited = sorted[0]->flags & LKS_HDF_INHERITED;
	group->count = n;
	group->handles = pool_alloc(b->proc->pool, n * sizeof(*group->handles));
	if (!group->handles)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct model_handle *h = &group->handles[i];

		h->fd = sorted[i]->fd;
		h->addr = sorted[i]->addr;
		h->size = sorted[i]->size;
		if (group->type == LKS_HANDLE_DIR)
			group->heap_bytes += h->size;
		h->to_child = sorted[i]->flags & LKS_HDF_TO_CHILD;
		h->description = pool_intern(b->proc->pool,
					     snap_string(b->snap, sorted[i]->description));
		if (!h->description)
			return -ENOMEM;
	}
	return stack_for(b, sorted[0]->trace, &group->stack);
}

/* The list a run of handles with these flags goes to, and its counter. */
static struct model_handle_group *next_group(struct model_process *proc, uint16_t flags,
					     size_t **counter)
{
	if (flags & LKS_HDF_REFERENCED) {
		*counter = &proc->held_mappings;
		return &proc->held_groups[proc->held_group_count++];
	}
	if (flags & LKS_HDF_INHERITED) {
		*counter = &proc->inherited_handle_count;
		return &proc->inherited_groups[proc->inherited_group_count++];
	}
	if (flags & LKS_HDF_TO_CHILD) {
		*counter = &proc->child_handle_count;
		return &proc->child_groups[proc->child_group_count++];
	}
	*counter = &proc->handle_count;
	return &proc->handle_groups[proc->handle_group_count++];
}

static int build_handles(struct builder *b, const struct lks_handle **sorted)
{
	const struct snapshot *snap = b->snap;
	struct model_process *proc = b->proc;
	size_t start = 0, count = snap->handle_count, *counter;
	int r;

	for (size_t i = 0; i < count; i++) {
		sorted[i] = &snap->handles[i];
		if (sorted[i]->flags & LKS_HDF_REFERENCED)
			proc->held_mapping_bytes += sorted[i]->size;
	}
	qsort(sorted, count, sizeof(*sorted), by_stack_then_type);
	proc->handle_groups = calloc(count + 1, sizeof(*proc->handle_groups));
	proc->child_groups = calloc(count + 1, sizeof(*proc->child_groups));
	proc->held_groups = calloc(count + 1, sizeof(*proc->held_groups));
	proc->inherited_groups = calloc(count + 1, sizeof(*proc->inherited_groups));
	if (!proc->handle_groups || !proc->child_groups || !proc->held_groups ||
	    !proc->inherited_groups)
		return -ENOMEM;
	for (size_t i = 1; i <= count; i++) {
		uint16_t flags = sorted[start]->flags & LIST_FLAGS;

		if (i < count && sorted[i]->trace == sorted[start]->trace &&
		    sorted[i]->type == sorted[start]->type &&
		    (sorted[i]->flags & LIST_FLAGS) == flags)
			continue;
		r = fill_group(b, sorted + start, i - start, next_group(proc, flags, &counter));
		if (r < 0)
			return r;
		*counter += i - start;
		start = i;
	}
	qsort(proc->handle_groups, proc->handle_group_count,
	      sizeof(*proc->handle_groups), by_count);
	qsort(proc->child_groups, proc->child_group_count,
	      sizeof(*proc->child_groups), by_count);
	qsort(proc->held_groups, proc->held_group_count,
	      sizeof(*proc->held_groups), by_count);
	qsort(proc->inherited_groups, proc->inherited_group_count,
	      sizeof(*proc->inherited_groups), by_count);
	return 0;
}

static int copy_header(struct model_process *proc, const struct snapshot *snap)
{
	const struct lks_header *h = &snap->header;

	proc->pid = h->pid;
	proc->ppid = h->ppid;
	proc->exit_status = h->exit_status;
	proc->signal = h->signal;
	proc->reason = h->reason;
	proc->seq = h->seq;
	proc->flags = h->flags;
	proc->max_depth = h->max_depth;
	proc->time_ns = h->time_ns;
	proc->uptime_ns = h->uptime_ns;
	proc->classified = h->flags & LKS_HF_CLASSIFIED;
	proc->counters = snap->counters;
	proc->exe = pool_intern(proc->pool, snap_string(snap, h->exe));
	proc->label = pool_intern(proc->pool, snap_string(snap, h->label));
	return proc->exe && proc->label ? 0 : -ENOMEM;
}

static int copy_warnings(struct model_process *proc, const struct symbolizer *sym)
{
	size_t count;
	const char *const *warnings = sym_warnings(sym, &count);
	int r;

	if (count == 0)
		return 0;
	r = ARRAY_RESERVE(proc->warnings, proc->warning_capacity, 0, count);
	if (r < 0)
		return r;
	memcpy(proc->warnings, warnings, count * sizeof(*warnings));
	proc->warning_count = count;
	return 0;
}

static int build(struct builder *b, struct errmsg *err)
{
	const struct lks_handle **sorted = NULL;
	int r;

	r = sym_open(b->snap, b->proc->pool, &b->sym, err);
	if (r < 0)
		return r;
	r = -ENOMEM;
	b->stacks = calloc(b->snap->trace_count + 1, sizeof(*b->stacks));
	b->stack_done = calloc(b->snap->trace_count + 1, sizeof(*b->stack_done));
	sorted = calloc(b->snap->handle_count + 1, sizeof(*sorted));
	if (b->stacks && b->stack_done && sorted &&
	    (r = copy_header(b->proc, b->snap)) == 0 &&
	    (r = build_leaks(b)) == 0 && (r = build_handles(b, sorted)) == 0 &&
	    (r = retainers_build(b->snap, b->proc, b->sym, stack_of_trace, b)) == 0 &&
	    (r = pyobjects_build(b->snap, b->proc, stack_of_trace, b)) == 0)
		r = copy_warnings(b->proc, b->sym);
	if (r == 0)
		r = pyframes_notes(b->snap, b->proc);
	if (r < 0)
		errmsg_set(err, "%s: %s", b->snap->name, strerror(-r));
	free(sorted);
	free(b->stacks);
	free(b->stack_done);
	free(b->scratch);
	sym_close(b->sym);
	return r;
}

int model_build_process(const struct snapshot *snap, struct model_process **out,
			struct errmsg *err)
{
	struct builder b = { .snap = snap };
	int r;

	b.proc = calloc(1, sizeof(*b.proc));
	if (!b.proc || !(b.proc->pool = pool_new())) {
		free(b.proc);
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	r = build(&b, err);
	if (r < 0) {
		model_free_process(b.proc);
		return r;
	}
	*out = b.proc;
	return 0;
}

int model_build_skipped(const struct snapshot *snap, const char *glob,
			struct model_process **out, struct errmsg *err)
{
	struct model_process *proc = calloc(1, sizeof(*proc));
	char *why = NULL;
	int r = -ENOMEM;

	if (proc && (proc->pool = pool_new()) && (r = copy_header(proc, snap)) == 0) {
		proc->counters = (struct lks_counters){ 0 };
		if (glob[0] && asprintf(&why, "--skip-exe %s", glob) < 0)
			why = NULL;
		else if (!glob[0])
			why = strdup("not matched by --only-exe");
		proc->skipped = why ? pool_intern(proc->pool, why) : NULL;
		r = proc->skipped ? 0 : -ENOMEM;
	}
	free(why);
	if (r < 0) {
		errmsg_set(err, "out of memory");
		if (proc)
			model_free_process(proc);
		return r;
	}
	*out = proc;
	return 0;
}

int model_read_process(const char *path, struct model_process **out,
		       struct errmsg *err)
{
	struct snapshot *snap;
	int r = snap_read_file(path, &snap, err);

	if (r < 0)
		return r;
	r = model_build_process(snap, out, err);
	snap_free(snap);
	return r;
}
