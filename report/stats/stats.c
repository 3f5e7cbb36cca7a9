/* SPDX-License-Identifier: MIT */
/* Grouping one process's live memory and open handles into statistics:
 * one record per (site, key), sorted by key and merged, then ordered
 * largest first as tracemalloc's Snapshot.statistics does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "frame.h"
#include "pool.h"
#include "sitekey.h"
#include "stats.h"

static const char *const key_names[] = {
	[STATS_KEY_TRACEBACK] = "traceback",
	[STATS_KEY_LINENO] = "lineno",
	[STATS_KEY_FUNCTION] = "function",
	[STATS_KEY_FILE] = "file",
	[STATS_KEY_MODULE] = "module",
	[STATS_KEY_PYLINE] = "pyline",
	[STATS_KEY_PYTRACEBACK] = "pytraceback",
	[STATS_KEY_PYTYPE] = "pytype",
	[STATS_KEY_PYTYPELINE] = "pytypeline",
};

const char *stats_key_name(enum stats_key key)
{
	return key_names[key];
}

int stats_key_parse(const char *name, enum stats_key *out)
{
	for (size_t i = 0; i < sizeof(key_names) / sizeof(*key_names); i++)
		if (strcmp(name, key_names[i]) == 0) {
			*out = (enum stats_key)i;
			return 0;
		}
	return -EINVAL;
}

/* Entries of one list being grouped; one per (site, key) until merged. */
struct grouping {
	const struct stats_options *opts;
	struct pool *pool;
	struct sitekey_buffer key;
	struct stats_entry *entries;
	size_t count, capacity;
	size_t stack_start; /* entries of the stack being added start here */
};

/* Handle keys start with the type, so that a site's sockets and pipes stay
 * apart. The pool interns: equal keys are the same pointer. */
static const char *intern_key(struct grouping *g, enum lks_handle_type type,
			      const char *pytype)
{
	const char *key;
	char *joined;
	int r;

	if (pytype && g->opts->key == STATS_KEY_PYTYPE)
		return pool_intern(g->pool, pytype);
	if (!type && !pytype)
		return pool_intern(g->pool, g->key.text);
	r = pytype ? asprintf(&joined, "%s\n%s", pytype, g->key.text)
		   : asprintf(&joined, "%s\n%s", model_handle_type_name(type), g->key.text);
	if (r < 0)
		return NULL;
	key = pool_intern(g->pool, joined);
	free(joined);
	return key;
}

/* A stack counts once per key, even when recursion repeats a frame. */
static bool seen_in_stack(const struct grouping *g, const char *key)
{
	for (size_t i = g->stack_start; i < g->count; i++)
		if (g->entries[i].key == key)
			return true;
	return false;
}

struct grouped {
	uint64_t size, count;
	enum lks_handle_type type;  /* handles */
	const char *pytype;         /* typed objects */
};

static int push_key(struct grouping *g, const struct model_frame *frames, size_t n,
		    const struct grouped *what)
{
	struct model_stack shown;
	const char *key;
	/* a type's site is its innermost Python line, as tracemalloc's */
	enum stats_key site_key = stats_key_is_pytype(g->opts->key) ? STATS_KEY_PYLINE
								      : g->opts->key;
	int r = sitekey_make(site_key, frames, n, &g->key, g->pool, &shown);

	if (r < 0)
		return r;
	key = intern_key(g, what->type, what->pytype);
	if (!key)
		return -ENOMEM;
	if (seen_in_stack(g, key))
		return 0;
	if ((r = ARRAY_RESERVE(g->entries, g->capacity, g->count, 1)) < 0)
		return r;
	g->entries[g->count++] = (struct stats_entry){
		.key = key, .size = what->size, .count = what->count, .type = what->type,
		.pytype = what->pytype, .stack = shown,
	};
	return 0;
}

/* 1 when the filters kept the stack, 0 when not, or a negative errno. */
static int add_stack(struct grouping *g, const struct model_stack *stack,
		     const struct grouped *what)
{
	const struct stats_options *opts = g->opts;
	size_t site = frame_site(stack, opts->alloc_fns, opts->alloc_fn_count);
	const struct model_frame *frames = stack->frames + site;
	size_t n = stack->count - site;
	int r = 0;

	if (!filter_keeps(&opts->filters, n ? frames : NULL))
		return 0;
	g->stack_start = g->count;
	if (!opts->cumulative || n == 0 || what->pytype)
		r = push_key(g, frames, n, what);
	for (size_t i = 0; r == 0 && opts->cumulative && !what->pytype && i < n; i++)
		r = push_key(g, frames + i, 1, what);
	return r < 0 ? r : 1;
}

static const char *site_text(const struct stats_entry *e)
{
	const struct model_frame *f = e->stack.count ? &e->stack.frames[0] : NULL;

	return f && f->file ? f->file : f && f->function ? f->function : "";
}

/* Equal keys largest first: a merged entry keeps the first one's stack,
 * which for a type is where most of its objects were made. */
static int by_key(const void *a, const void *b)
{
	const struct stats_entry *x = a, *y = b;
	int order = strcmp(x->key, y->key);

	if (order || !x->pytype)
		return order;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(site_text(x), site_text(y));
}

/* Snapshot.statistics order: size, then count, largest first; the key
 * decides ties so that output never depends on qsort. */
static int by_size(const void *a, const void *b)
{
	const struct stats_entry *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* qsort wants a valid pointer even for no entries; an empty list is NULL. */
static void sort_entries(struct stats_entry *entries, size_t count,
			 int (*order)(const void *, const void *))
{
	if (count)
		qsort(entries, count, sizeof(*entries), order);
}

/* Sorts by key and adds up the entries of equal keys; returns the count. */
static size_t merge(struct stats_entry *entries, size_t count)
{
	size_t kept = 0;

	sort_entries(entries, count, by_key);
	for (size_t i = 0; i < count; i++) {
		if (kept && entries[kept - 1].key == entries[i].key) {
			entries[kept - 1].size += entries[i].size;
			entries[kept - 1].count += entries[i].count;
		} else {
			entries[kept++] = entries[i];
		}
	}
	return kept;
}

static int group_pyobjects(struct grouping *g, const struct model_process *proc,
			   struct stats_table *table)
{
	for (size_t i = 0; i < proc->pyobject_count; i++) {
		const struct model_pyobjects *o = &proc->pyobjects[i];
		struct grouped what = { .size = o->bytes, .count = o->blocks, .pytype = o->type };
		int r = add_stack(g, &o->stack, &what);

		if (r < 0)
			return r;
		table->total_size += r ? o->bytes : 0;
		table->total_count += r ? o->blocks : 0;
	}
	return 0;
}

static int group_memory(struct grouping *g, const struct model_process *proc,
			struct stats_table *table)
{
	int r = 0;

	if (stats_key_is_pytype(table->key))
		r = group_pyobjects(g, proc, table);
	for (size_t i = 0; !stats_key_is_pytype(table->key) && i < proc->leak_count; i++) {
		const struct model_leak *leak = &proc->leaks[i];
		struct grouped what = { .size = leak->bytes, .count = leak->blocks };

		if ((r = add_stack(g, &leak->stack, &what)) < 0)
			return r;
		table->total_size += r ? leak->bytes : 0;
		table->total_count += r ? leak->blocks : 0;
		r = 0;
	}
	if (r < 0)
		return r;
	table->memory_count = merge(g->entries, g->count);
	table->memory = g->entries;
	sort_entries(table->memory, table->memory_count, by_size);
	return 0;
}

static int add_handle_groups(struct grouping *g, const struct model_handle_group *groups,
			     size_t count, struct stats_table *table)
{
	for (size_t i = 0; i < count; i++) {
		struct grouped what = { .count = groups[i].count, .type = groups[i].type };
		int r = add_stack(g, &groups[i].stack, &what);

		if (r < 0)
			return r;
		table->total_handles += r ? groups[i].count : 0;
	}
	return 0;
}

/* Held mappings count too: statistics are about what is open, not what
 * leaked, and a growing arena is growth (an in-run snapshot, not scanned,
 * lists the same mappings as open handles). */
static int group_handles(struct grouping *g, const struct model_process *proc,
			 struct stats_table *table)
{
	if (add_handle_groups(g, proc->handle_groups, proc->handle_group_count, table) < 0 ||
	    add_handle_groups(g, proc->held_groups, proc->held_group_count, table) < 0)
		return -ENOMEM;
	table->handle_count = merge(g->entries, g->count);
	table->handles = g->entries;
	sort_entries(table->handles, table->handle_count, by_size);
	return 0;
}

int stats_build(const struct model_process *proc, const struct stats_options *opts,
		struct stats_table *out)
{
	struct stats_table table = { .key = opts->key, .cumulative = opts->cumulative };
	struct grouping g = { .opts = opts };
	int r = -ENOMEM;

	table.pool = g.pool = pool_new();
	if (table.pool && (r = group_memory(&g, proc, &table)) == 0 &&
	    !stats_key_is_pytype(opts->key)) {  /* handles have no Python type */
		g.entries = NULL;
		g.count = g.capacity = 0;
		r = group_handles(&g, proc, &table);
	}
	sitekey_buffer_free(&g.key);
	if (r < 0) {
		free(g.entries);
		stats_free(&table);
		return r;
	}
	*out = table;
	return 0;
}

void stats_free(struct stats_table *table)
{
	free(table->memory);
	free(table->handles);
	pool_free(table->pool);
	*table = (struct stats_table){ 0 };
}

bool stats_listed(const struct stats_listing *listing, const struct stats_entry *e,
		  size_t *listed, struct stats_left_out *left)
{
	if (listing->changed_only && !e->size_diff && !e->count_diff) {
		left->unchanged++;
		return false;
	}
	if (!listing->top || *listed < listing->top) {
		(*listed)++;
		return true;
	}
	left->entries++;
	left->size += e->size;
	left->count += e->count;
	left->size_diff += e->size_diff;
	left->count_diff += e->count_diff;
	return false;
}
