/* SPDX-License-Identifier: MIT */
/* Reading a baseline, an earlier JSON report: its stacks are rebuilt as
 * model frames and identified exactly as the current run's are; and which
 * of this run's sites it knows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "baseline.h"
#include "frame.h"
#include "jsonread.h"
#include "pool.h"
#include "readfile.h"

/* A baseline bigger than this is not a report leakscope wrote (its tree
 * takes up to 8 times the text: jsonread.c). */
#define MAX_BASELINE_SIZE (256u * 1024u * 1024u)

static const char *string_member(const struct json_value *object, const char *key)
{
	const struct json_value *value = json_member(object, key);

	return value && value->type == JSON_STRING ? value->string : NULL;
}

#define invalid(err, path, fmt, ...) \
	errmsg_invalid((err), "baseline %s: " fmt, (path), ##__VA_ARGS__)

static uint32_t line_member(const struct json_value *object, const char *key)
{
	const struct json_value *value = json_member(object, key);

	if (!value || value->type != JSON_NUMBER || value->number < 1 ||
	    value->number > UINT32_MAX)
		return 0;
	return (uint32_t)value->number;
}

static int add_id(struct baseline *baseline, struct site_id *id)
{
	int r = ARRAY_RESERVE(baseline->sites, baseline->capacity, baseline->count, 1);

	if (r < 0) {
		site_id_free(id);
		return r;
	}
	baseline->sites[baseline->count++] = *id;
	return 0;
}

/* One leak or handle group of the report: its "stack" list into frames. */
static int add_site(struct baseline *baseline, const char *kind,
		    const struct json_value *site, const char *path,
		    struct errmsg *err)
{
	const struct json_value *frames = json_member(site, "stack");
	struct model_stack stack = { 0 };
	struct site_id id;
	int r;

	if (!frames || frames->type != JSON_ARRAY)
		return invalid(err, path, "a %s site without a \"stack\" list", kind);
	stack.count = frames->count;
	stack.frames = calloc(frames->count + 1, sizeof(*stack.frames));
	if (!stack.frames)
		return -ENOMEM;
	for (size_t i = 0; i < frames->count; i++) {
		const struct json_value *frame = &frames->items[i];
		struct model_frame *f = &stack.frames[i];

		f->function = string_member(frame, "function");
		f->file = string_member(frame, "file");
		f->line = f->file ? line_member(frame, "line") : 0;
		f->function_line = line_member(frame, "function_line");
		f->module = string_member(frame, "module");
	}
	r = site_id_make(kind, &stack, &id);
	free(stack.frames);
	return r < 0 ? r : add_id(baseline, &id);
}

static int add_handles(struct baseline *baseline, const struct json_value *list,
		       const char *path, struct errmsg *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < list->count; i++) {
		const char *type = string_member(&list->items[i], "type");
		char kind[64];

		if (!type)
			return invalid(err, path, "a handle site without a \"type\"");
		snprintf(kind, sizeof(kind), "handle/%s", type);
		r = add_site(baseline, kind, &list->items[i], path, err);
	}
	return r;
}

static int add_process(struct baseline *baseline, const struct json_value *proc,
		       const char *path, struct errmsg *err)
{
	const struct json_value *leaks = json_member(proc, "leaks");
	/* open handles, fds exec'd programs inherited, a fork child's fds */
	const char *const handle_lists[] = { "handles", "leaked_into_child", "inherited" };
	int r = 0;

	if (!leaks || leaks->type != JSON_ARRAY)
		return invalid(err, path, "a process without a \"leaks\" list");
	for (size_t i = 0; r == 0 && i < leaks->count; i++)
		r = add_site(baseline, "leak", &leaks->items[i], path, err);
	for (size_t i = 0; r == 0 && i < sizeof(handle_lists) / sizeof(handle_lists[0]); i++) {
		const struct json_value *list = json_member(proc, handle_lists[i]);

		if (list && list->type == JSON_ARRAY)
			r = add_handles(baseline, list, path, err);
	}
	return r;
}

static int add_report(struct baseline *baseline, const struct json_value *root,
		      const char *path, struct errmsg *err)
{
	const struct json_value *processes = json_member(root, "processes");
	const struct json_value *version = json_member(root, "version");
	int r = 0;

	if (!processes || processes->type != JSON_ARRAY || !version ||
	    version->type != JSON_NUMBER)
		return invalid(err, path, "not a leakscope JSON report "
			       "(no \"version\" and \"processes\")");
	if (version->number != MODEL_JSON_VERSION)
		return invalid(err, path, "version %.17g of the JSON report is not one this "
			       "leakscope reads (%d)", version->number, MODEL_JSON_VERSION);
	for (size_t i = 0; r == 0 && i < processes->count; i++)
		r = add_process(baseline, &processes->items[i], path, err);
	return r;
}

static int read_text(const char *path, char **text, size_t *size, struct errmsg *err)
{
	int r = read_whole_file(path, MAX_BASELINE_SIZE, text, size);

	if (r == -EINVAL || r == -EFBIG)
		return invalid(err, path, "not a regular file of at most 256 MiB");
	if (r < 0)
		errmsg_set(err, "baseline %s: %s", path, strerror(-r));
	return r;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct site_id *)a)->key, ((const struct site_id *)b)->key);
}

static int by_chain(const void *a, const void *b)
{
	return strcmp((*(const struct site_id *const *)a)->chain,
		      (*(const struct site_id *const *)b)->chain);
}

/* A report lists a site once per process that has it: keep one. */
static int index_sites(struct baseline *baseline)
{
	size_t kept = 0;

	if (baseline->count)
		qsort(baseline->sites, baseline->count, sizeof(*baseline->sites), by_key);
	for (size_t i = 0; i < baseline->count; i++) {
		if (kept && strcmp(baseline->sites[kept - 1].key, baseline->sites[i].key) == 0)
			site_id_free(&baseline->sites[i]);
		else
			baseline->sites[kept++] = baseline->sites[i];
	}
	baseline->count = kept;
	baseline->by_chain = calloc(kept + 1, sizeof(*baseline->by_chain));
	if (!baseline->by_chain)
		return -ENOMEM;
	for (size_t i = 0; i < kept; i++)
		baseline->by_chain[i] = &baseline->sites[i];
	if (kept)
		qsort(baseline->by_chain, kept, sizeof(*baseline->by_chain), by_chain);
	return 0;
}

int baseline_load(struct baseline *baseline, const char *path, struct errmsg *err)
{
	struct pool *pool = pool_new();
	const struct json_value *root;
	char *text = NULL;
	size_t size = 0;
	char name[300];
	int r = pool ? read_text(path, &text, &size, err) : -ENOMEM;

	snprintf(name, sizeof(name), "baseline %s", path);
	if (r == 0)
		r = json_parse(text, size, name, pool, &root, err);
	if (r == 0)
		r = add_report(baseline, root, path, err);
	if (r == 0)
		r = index_sites(baseline);
	if (r == -ENOMEM)
		errmsg_set(err, "baseline %s: out of memory", path);
	free(text);
	pool_free(pool);
	return r;
}

static int key_vs_site(const void *key, const void *site)
{
	return strcmp(key, ((const struct site_id *)site)->key);
}

/* count first: an empty table may have no array at all */
static bool has_key(const struct site_id *sorted, size_t count, const char *key)
{
	return count && bsearch(key, sorted, count, sizeof(*sorted), key_vs_site);
}

/* A site of this run, and where its match goes. */
struct run_site {
	const struct site_id *id;
	size_t index;
};

static int run_by_key(const void *a, const void *b)
{
	return strcmp(((const struct run_site *)a)->id->key,
		      ((const struct run_site *)b)->id->key);
}

static int run_by_chain(const void *a, const void *b)
{
	return strcmp(((const struct run_site *)a)->id->chain,
		      ((const struct run_site *)b)->id->chain);
}

static int key_vs_run(const void *key, const void *site)
{
	return strcmp(key, ((const struct run_site *)site)->id->key);
}

static bool in_run(const struct run_site *by_key, size_t count, const char *key)
{
	return count && bsearch(key, by_key, count, sizeof(*by_key), key_vs_run);
}

/* The baseline's sites of `chain` that are not in this run. */
static size_t vanished(const struct baseline *baseline, const char *chain,
		       const struct run_site *by_key, size_t count)
{
	size_t low = 0, high = baseline->count, n = 0;

	while (low < high) {  /* the first entry of the chain */
		size_t mid = low + (high - low) / 2;

		if (strcmp(baseline->by_chain[mid]->chain, chain) < 0)
			low = mid + 1;
		else
			high = mid;
	}
	for (; low < baseline->count && strcmp(baseline->by_chain[low]->chain, chain) == 0;
	     low++)
		n += !in_run(by_key, count, baseline->by_chain[low]->key);
	return n;
}

/* The run's sites of one chain, group[0..n), that have no exact match are
 * known as moved when the baseline lost at least as many of that chain:
 * lines inserted inside a function above a known leak keep it known; a
 * new leak in that function (one more site of the chain) makes every
 * unmatched one of them new. */
static void match_chain(const struct baseline *baseline, const struct run_site *group,
			size_t n, const struct run_site *by_key, size_t count,
			enum baseline_match *matches)
{
	size_t unmatched = 0;

	for (size_t i = 0; i < n; i++)
		unmatched += matches[group[i].index] == BASELINE_NEW;
	if (unmatched == 0 || unmatched > vanished(baseline, group[0].id->chain, by_key, count))
		return;
	for (size_t i = 0; i < n; i++)
		if (matches[group[i].index] == BASELINE_NEW)
			matches[group[i].index] = BASELINE_MOVED;
}

int baseline_match(const struct baseline *baseline, const struct site_id *const *ids,
		   size_t count, enum baseline_match *matches)
{
	struct run_site *by_key = calloc(count + 1, sizeof(*by_key));
	struct run_site *by_chain = calloc(count + 1, sizeof(*by_chain));
	size_t end;

	if (!by_key || !by_chain) {
		free(by_key);
		free(by_chain);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		by_key[i] = by_chain[i] = (struct run_site){ ids[i], i };
		matches[i] = has_key(baseline->sites, baseline->count, ids[i]->key)
				     ? BASELINE_EXACT : BASELINE_NEW;
	}
	if (count) {
		qsort(by_key, count, sizeof(*by_key), run_by_key);
		qsort(by_chain, count, sizeof(*by_chain), run_by_chain);
	}
	for (size_t start = 0; start < count; start = end) {
		for (end = start; end < count && strcmp(by_chain[end].id->chain,
							by_chain[start].id->chain) == 0; end++)
			;
		match_chain(baseline, by_chain + start, end - start, by_key, count, matches);
	}
	free(by_key);
	free(by_chain);
	return 0;
}

void baseline_free(struct baseline *baseline)
{
	for (size_t i = 0; i < baseline->count; i++)
		site_id_free(&baseline->sites[i]);
	free(baseline->sites);
	free(baseline->by_chain);
	*baseline = (struct baseline){ 0 };
}
