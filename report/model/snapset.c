/* SPDX-License-Identifier: MIT */
/* Which snapshots make up a report: the files and directories named,
 * directory listing, one snapshot per process (its last; processes told
 * apart by pid, start time and instance), the order processes are
 * reported in (the tree's root first), and the processes known to have
 * ended without one (marks.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "frame.h"
#include "marks.h"
#include "snapread.h"
#include "snapset.h"

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_snapshot_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 4 && strcmp(name + len - 4, ".lks") == 0;
}

static int push_name(struct namelist *list, size_t *capacity, const char *name)
{
	int r = ARRAY_RESERVE(list->names, *capacity, list->count, 1);

	if (r < 0)
		return r;
	list->names[list->count] = strdup(name);
	if (!list->names[list->count])
		return -ENOMEM;
	list->count++;
	return 0;
}

int snapset_list_dir(const char *dir, struct namelist *out, struct errmsg *err)
{
	struct namelist list = { 0 };
	size_t capacity = 0;
	struct dirent *entry;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d) {
		r = -errno;
		errmsg_set(err, "%s: %s", dir, strerror(-r));
		return r;
	}
	while (r == 0 && (errno = 0, entry = readdir(d)))
		if (is_snapshot_name(entry->d_name) || marks_is_mark(entry->d_name))
			r = push_name(&list, &capacity, entry->d_name);
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	if (r < 0) {
		errmsg_set(err, "%s: %s", dir, strerror(-r));
		namelist_free(&list);
		return r;
	}
	if (list.count)  /* qsort's array may not be NULL, even empty */
		qsort(list.names, list.count, sizeof(*list.names), compare_names);
	*out = list;
	return 0;
}

bool namelist_has(const struct namelist *list, const char *name)
{
	return list->count &&
	       bsearch(&name, list->names, list->count, sizeof(*list->names),
		       compare_names) != NULL;
}

void namelist_free(struct namelist *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->names[i]);
	free(list->names);
	list->names = NULL;
	list->count = 0;
}

/* A mark of the run (marks.h), taken in beside the snapshots. */
static int add_mark(struct snapset *set, const char *path, const char *name,
		    struct errmsg *err)
{
	char *dir = strndup(path, (size_t)(name - path));
	int r = dir ? marks_add(&set->marks, dir[0] ? dir : ".", name) : -ENOMEM;

	free(dir);
	if (r < 0)
		errmsg_set(err, "out of memory");
	return r;
}

int snapset_add_file(struct snapset *set, const char *path, struct errmsg *err)
{
	const char *name = base_name(path);
	struct snapshot *snap;
	int r;

	if (marks_is_mark(name))
		return add_mark(set, path, name, err);
	r = snap_read_file(path, &snap, err);
	if (r < 0)
		return r;
	r = ARRAY_RESERVE(set->snaps, set->capacity, set->count, 1);
	if (r < 0) {
		snap_free(snap);
		errmsg_set(err, "out of memory");
		return r;
	}
	set->snaps[set->count++] = snap;
	return 0;
}

/* Two processes with one pid (pid 1 of two containers, a pid reused in a
 * long run) differ in their start or in the instance the shim drew. */
static int by_process(const struct lks_header *x, const struct lks_header *y)
{
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start_ticks != y->start_ticks)
		return x->start_ticks < y->start_ticks ? -1 : 1;
	if (x->instance != y->instance)
		return x->instance < y->instance ? -1 : 1;
	return 0;
}

/* Per process, the latest snapshot sorts first. */
static int by_process_latest_first(const void *a, const void *b)
{
	const struct lks_header *x = &(*(struct snapshot *const *)a)->header;
	const struct lks_header *y = &(*(struct snapshot *const *)b)->header;
	int process = by_process(x, y);

	if (process)
		return process;
	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;
	if (x->time_ns != y->time_ns)
		return x->time_ns > y->time_ns ? -1 : 1;
	return 0;
}

/* When the shim in that process started. */
static uint64_t start_time(const struct snapshot *snap)
{
	return snap->header.time_ns - snap->header.uptime_ns;
}

static bool has_pid(const struct snapset *set, int32_t pid, size_t *index)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->snaps[i]->header.pid == pid) {
			*index = i;
			return true;
		}
	return false;
}

/* Without a .started mark (plain LD_PRELOAD runs): a process that is no
 * fork child (one shares its parent's start time) and whose parent is not
 * in the set, the earliest started of those; else the earliest of all. */
static size_t likely_root(const struct snapset *set)
{
	size_t best = SIZE_MAX, parent;

	for (size_t i = 0; i < set->count; i++) {
		const struct lks_header *h = &set->snaps[i]->header;

		if ((h->flags & LKS_HF_FORKED) || has_pid(set, h->ppid, &parent))
			continue;
		if (best == SIZE_MAX || start_time(set->snaps[i]) < start_time(set->snaps[best]))
			best = i;
	}
	for (size_t i = 0; best == SIZE_MAX && i < set->count; i++)
		if (i == 0 || start_time(set->snaps[i]) < start_time(set->snaps[best]))
			best = i;
	return best;
}

/* The others keep their order (by pid). */
static void move_to_front(struct snapshot **snaps, size_t index)
{
	struct snapshot *chosen = snaps[index];

	memmove(snaps + 1, snaps, index * sizeof(*snaps));
	snaps[0] = chosen;
}

void snapset_select(struct snapset *set, int32_t first_pid)
{
	size_t kept = 0, first = 0;

	if (set->count)
		qsort(set->snaps, set->count, sizeof(*set->snaps), by_process_latest_first);
	for (size_t i = 0; i < set->count; i++) {
		if (kept && !by_process(&set->snaps[kept - 1]->header, &set->snaps[i]->header))
			snap_free(set->snaps[i]);
		else
			set->snaps[kept++] = set->snaps[i];
	}
	set->count = kept;
	set->started_pid = first_pid ? first_pid : set->marks.started;
	if (set->count == 0)
		return;
	if (!set->started_pid || !has_pid(set, set->started_pid, &first))
		first = likely_root(set);
	move_to_front(set->snaps, first);
}

bool snapset_has_pid(const struct snapset *set, int32_t pid)
{
	size_t index;

	return has_pid(set, pid, &index);
}

/* The marked processes without a snapshot (one killed by a catchable
 * signal wrote one from its handler), by pid, each once. */
static int add_no_data(const struct snapset *set, struct model_report *report)
{
	const struct marks *marks = &set->marks;

	report->no_data = calloc(marks->ended_count + 1, sizeof(*report->no_data));
	if (!report->no_data)
		return -ENOMEM;
	for (size_t i = 0; i < marks->ended_count; i++) {
		const struct model_no_data *ended = &marks->ended[i];
		bool seen = snapset_has_pid(set, ended->pid);

		for (size_t j = 0; !seen && j < report->no_data_count; j++)
			seen = report->no_data[j].pid == ended->pid;
		if (seen)
			continue;
		report->no_data[report->no_data_count++] = *ended;
		report->killed_count += ended->signal != 0;
	}
	return 0;
}

int snapset_build_report(const struct snapset *set, struct model_report *report,
			 struct errmsg *err)
{
	report->count = 0;
	report->processes = calloc(set->count + 1, sizeof(*report->processes));
	if (!report->processes) {
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < set->count; i++) {
		const char *skipped = exe_filter_skips(set->filter,
						       snap_string(set->snaps[i],
								   set->snaps[i]->header.exe));
		int r = skipped ? model_build_skipped(set->snaps[i], skipped,
						      &report->processes[report->count], err)
				: model_build_process(set->snaps[i],
						      &report->processes[report->count], err);

		if (r < 0) {
			model_free_report(report);
			return r;
		}
		report->count++;
	}
	report->started_pid = set->started_pid;
	if (add_no_data(set, report) < 0) {
		model_free_report(report);
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static bool labelled(const struct snapshot *snap, const char *label)
{
	return strcmp(snap_string(snap, snap->header.label), label) == 0;
}

/* The pair of one process's snapshots snaps[0..n): its first labelled
 * between[0], its last labelled between[1] after that; or none. */
static void find_pair(struct snapshot *const *snaps, size_t n, const char *const between[2],
		      const struct snapshot **from, const struct snapshot **to)
{
	*from = *to = NULL;
	for (size_t i = 0; i < n; i++)
		if (labelled(snaps[i], between[0]) &&
		    (!*from || snaps[i]->header.seq < (*from)->header.seq))
			*from = snaps[i];
	for (size_t i = 0; *from && i < n; i++)
		if (labelled(snaps[i], between[1]) && snaps[i]->header.seq > (*from)->header.seq &&
		    (!*to || snaps[i]->header.seq > (*to)->header.seq))
			*to = snaps[i];
}

static int add_pair(struct model_report *report, const struct snapshot *from,
		    const struct snapshot *to, struct errmsg *err)
{
	struct model_pair *pair;
	int r = ARRAY_RESERVE(report->pairs, report->pair_capacity, report->pair_count, 1);

	if (r < 0) {
		errmsg_set(err, "out of memory");
		return r;
	}
	pair = &report->pairs[report->pair_count];
	*pair = (struct model_pair){ 0 };
	r = model_build_process(from, &pair->from, err);
	if (r == 0)
		r = model_build_process(to, &pair->to, err);
	if (r < 0) {
		model_free_process(pair->from);
		return r;
	}
	report->pair_count++;
	return 0;
}

int snapset_build_pairs(const struct snapset *set, struct model_report *report,
			struct errmsg *err)
{
	struct snapshot **by_pid;
	size_t end;
	int r = 0;

	if (!set->between[0] || set->count == 0)
		return 0;
	by_pid = malloc(set->count * sizeof(*by_pid));
	if (!by_pid) {
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	memcpy(by_pid, set->snaps, set->count * sizeof(*by_pid));
	qsort(by_pid, set->count, sizeof(*by_pid), by_process_latest_first);
	for (size_t first = 0; r == 0 && first < set->count; first = end) {
		const struct snapshot *from, *to;

		for (end = first; end < set->count &&
				  !by_process(&by_pid[end]->header, &by_pid[first]->header); end++)
			;
		find_pair(by_pid + first, end - first, set->between, &from, &to);
		if (to && !exe_filter_skips(set->filter, snap_string(to, to->header.exe)))
			r = add_pair(report, from, to, err);
	}
	free(by_pid);
	return r;
}

int snapset_add_paths(struct snapset *set, const struct namelist *paths,
		     struct errmsg *err)
{
	for (size_t i = 0; i < paths->count; i++) {
		int r = snapset_add_file(set, paths->names[i], err);

		if (r < 0)
			return r;
	}
	return 0;
}

void snapset_free(struct snapset *set)
{
	for (size_t i = 0; i < set->count; i++)
		snap_free(set->snaps[i]);
	free(set->snaps);
	set->snaps = NULL;
	set->count = set->capacity = 0;
	marks_free(&set->marks);
}

static int add_argument(struct snapset *set, const char *path,
			struct errmsg *err)
{
	struct namelist names = { 0 }, paths = { 0 };
	struct stat st;
	int r = 0;

	if (stat(path, &st) < 0) {
		r = -errno;
		errmsg_set(err, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISDIR(st.st_mode))
		return snapset_add_file(set, path, err);
	r = snapset_list_dir(path, &names, err);
	if (r == 0 && names.count == 0) {
		errmsg_set(err, "%s: no snapshot (*.lks) in this directory", path);
		r = -ENOENT;
	}
	paths.names = calloc(names.count + 1, sizeof(char *));
	for (size_t i = 0; r == 0 && i < names.count; i++) {
		if (!paths.names || asprintf(&paths.names[i], "%s/%s", path,
					     names.names[i]) < 0) {
			errmsg_set(err, "out of memory");
			r = -ENOMEM;
			break;
		}
		paths.count++;
	}
	if (r == 0)
		r = snapset_add_paths(set, &paths, err);
	namelist_free(&paths);
	namelist_free(&names);
	return r;
}

int snapset_load_report(char *const *paths, int count, const struct exe_filter *filter,
			const char *const between[2], struct model_report *report,
			struct errmsg *err)
{
	struct snapset set = { .filter = filter, .between = { between[0], between[1] } };
	int r = 0;

	for (int i = 0; r == 0 && i < count; i++)
		r = add_argument(&set, paths[i], err);
	if (r == 0)
		r = snapset_build_pairs(&set, report, err);
	if (r == 0) {
		snapset_select(&set, 0);
		r = snapset_build_report(&set, report, err);
	}
	snapset_free(&set);
	return r;
}
