/* SPDX-License-Identifier: MIT */
/* Reading a series: which process, in which order, each snapshot grouped
 * like a diff's, and the growth of each site from the first to the last. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "snapread.h"
#include "snapset.h"
#include "timeline.h"

#define DEFAULT_SITES 10

struct member {
	char *path;
	int32_t pid;
	uint32_t seq;
	uint64_t instance;  /* with the pid, the process (two may share a pid) */
	uint64_t start_ns; /* when the shim started in that process */
};

static bool same_process(const struct member *x, const struct member *y)
{
	return x->pid == y->pid && x->instance == y->instance;
}

static int by_process_then_seq(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->instance != y->instance)
		return x->instance < y->instance ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int read_member(const char *dir, const char *name, struct member *m,
		       struct errmsg *err)
{
	struct snapshot *snap;
	int r;

	if (asprintf(&m->path, "%s/%s", dir, name) < 0) {
		m->path = NULL;
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	r = snap_read_file(m->path, &snap, err);
	if (r < 0)
		return r;
	m->pid = snap->header.pid;
	m->instance = snap->header.instance;
	m->seq = snap->header.seq;
	m->start_ns = snap->header.time_ns - snap->header.uptime_ns;
	snap_free(snap);
	return 0;
}

/* The run of `members` (sorted by process) with the most snapshots. */
static size_t pick_series(const struct member *members, size_t count, size_t *length)
{
	size_t best = 0, best_length = 0;

	for (size_t i = 0, n; i < count; i += n) {
		for (n = 1; i + n < count && same_process(&members[i + n], &members[i]); n++)
			;
		if (n > best_length || (n == best_length &&
					members[i].start_ns < members[best].start_ns)) {
			best = i;
			best_length = n;
		}
	}
	*length = best_length;
	return best;
}

static uint64_t size_at(const struct stats_table *table, const char *key)
{
	for (size_t i = 0; i < table->memory_count; i++)
		if (strcmp(table->memory[i].key, key) == 0)
			return table->memory[i].size;
	return 0;
}

static int add_point(struct timeline *t, const char *path,
		     const struct stats_options *opts, struct errmsg *err)
{
	struct timeline_point *point = &t->points[t->count];
	struct model_process **proc = &t->procs[t->count];
	struct stats_table *table = &t->tables[t->count];
	int r = model_read_process(path, proc, err);

	if (r < 0)
		return r;
	r = stats_build(*proc, opts, table);
	if (r < 0) {
		model_free_process(*proc);
		errmsg_set(err, "%s: %s", path, strerror(-r));
		return r;
	}
	*point = (struct timeline_point){ .proc = *proc, .bytes = table->total_size,
					  .blocks = table->total_count,
					  .handles = table->total_handles };
	t->count++;
	return 0;
}

static double per_minute(int64_t diff, uint64_t elapsed_ns)
{
	return elapsed_ns ? (double)diff * 60e9 / (double)elapsed_ns : 0.0;
}

/* Growth is measured up to the last snapshot taken while the program ran:
 * an exit snapshot comes after the program freed what it no longer needs
 * and would hide the growth. With none but the first, the last of all. */
static size_t growth_end(const struct timeline *t)
{
	for (size_t i = t->count - 1; i > 0; i--) {
		enum lks_reason reason = t->points[i].proc->reason;

		if (reason != LKS_REASON_EXIT && reason != LKS_REASON__EXIT)
			return i;
	}
	return t->count - 1;
}

/* Sites whose bytes grew, most first (the diff's order puts them there
 * unless a shrinking site moved more), up to `limit` (0: every one); the
 * growing sites past it are summed up in left_out. */
static int find_growth(struct timeline *t, size_t limit)
{
	const struct stats_listing listing = { limit, false };
	size_t end = t->growth_end = growth_end(t), listed = 0;
	uint64_t elapsed = t->points[end].proc->uptime_ns - t->points[0].proc->uptime_ns;
	int r = diff_tables(&t->tables[0], &t->tables[end], &t->growth);

	if (r < 0)
		return r;
	if (!limit || limit > t->growth.memory_count)
		limit = t->growth.memory_count;
	t->sites = calloc(limit + 1, sizeof(*t->sites));
	if (!t->sites)
		return -ENOMEM;
	for (size_t i = 0; i < t->growth.memory_count; i++) {
		const struct stats_entry *e = &t->growth.memory[i];
		struct timeline_site *site = &t->sites[t->site_count];

		if (e->size_diff <= 0 || !stats_listed(&listing, e, &listed, &t->left_out))
			continue;
		site->growth = e;
		site->bytes_per_minute = per_minute(e->size_diff, elapsed);
		site->sizes = calloc(t->count, sizeof(*site->sizes));
		if (!site->sizes)
			return -ENOMEM;
		for (size_t k = 0; k < t->count; k++)
			site->sizes[k] = size_at(&t->tables[k], e->key);
		t->site_count++;
	}
	return 0;
}

static int read_series(struct timeline *t, const struct member *series, size_t length,
		       const struct stats_options *opts, struct errmsg *err)
{
	int r = 0;

	t->points = calloc(length, sizeof(*t->points));
	t->procs = calloc(length, sizeof(*t->procs));
	t->tables = calloc(length, sizeof(*t->tables));
	if (!t->points || !t->procs || !t->tables) {
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < length; i++)
		r = add_point(t, series[i].path, opts, err);
	if (r == 0 && (r = find_growth(t, opts->top_given ? opts->top : DEFAULT_SITES)) < 0)
		errmsg_set(err, "out of memory");
	return r;
}

static int list_members(const char *dir, struct member **out, size_t *count,
			struct errmsg *err)
{
	struct namelist names = { 0 };
	struct member *members;
	int r = snapset_list_dir(dir, &names, err);

	if (r < 0)
		return r;
	members = calloc(names.count + 1, sizeof(*members));
	if (!members) {
		errmsg_set(err, "out of memory");
		r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < names.count; i++) {
		r = read_member(dir, names.names[i], &members[i], err);
		*count = i + 1;
	}
	namelist_free(&names);
	*out = members;
	return r;
}

int timeline_build(const char *dir, const struct stats_options *opts,
		   struct timeline *out, struct errmsg *err)
{
	struct timeline t = { .key = opts->key };
	struct member *members = NULL;
	size_t count = 0, first = 0, length = 0;
	int r = list_members(dir, &members, &count, err);

	if (r == 0) {
		qsort(members, count, sizeof(*members), by_process_then_seq);
		first = pick_series(members, count, &length);
		t.other_snapshots = count - length;
	}
	if (r == 0 && length < 2) {
		errmsg_set(err, "%s: a timeline needs two or more snapshots of one "
			   "process, found %zu", dir, length);
		r = -EINVAL;
	}
	if (r == 0)
		r = read_series(&t, members + first, length, opts, err);
	for (size_t i = 0; i < count; i++)
		free(members[i].path);
	free(members);
	if (r < 0) {
		timeline_free(&t);
		return r;
	}
	*out = t;
	return 0;
}

void timeline_free(struct timeline *t)
{
	for (size_t i = 0; i < t->site_count; i++)
		free(t->sites[i].sizes);
	free(t->sites);
	stats_free(&t->growth);
	for (size_t i = 0; i < t->count; i++) {
		stats_free(&t->tables[i]);
		model_free_process(t->procs[i]);
	}
	free(t->tables);
	free(t->procs);
	free(t->points);
	*t = (struct timeline){ 0 };
}
