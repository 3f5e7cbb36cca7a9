/* SPDX-License-Identifier: MIT */
/* Baseline keys, and reading them back from an earlier JSON report: the
 * report's stacks are rebuilt as model frames and keyed exactly as the
 * current run's are. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "frame.h"
#include "jsonread.h"
#include "pool.h"
#include "readfile.h"

/* Frames from the site on that make a key: enough to tell two callers of
 * one helper apart, few enough that a change far up the stack (a new
 * caller of main's callee) leaves old sites known. */
#define KEY_FRAMES 4

/* A baseline bigger than this is not a report leakscope wrote. */
#define MAX_BASELINE_SIZE (1024u * 1024u * 1024u)

static int append_frame(FILE *key, const struct model_frame *f)
{
	if (f->function)
		return fprintf(key, "|%s", f->function);
	if (f->file)
		return fprintf(key, "|%s", base_name(f->file));
	return fprintf(key, "|?%s", f->module ? base_name(f->module) : "");
}

int baseline_key(const char *kind, const struct model_stack *stack, char **out)
{
	size_t size, site = frame_site(stack, NULL, 0);
	FILE *key = open_memstream(out, &size);
	int r = 0;

	if (!key)
		return -ENOMEM;
	fputs(kind, key);
	if (stack->count == 0)
		fputs("|(no stack)", key);
	for (size_t i = site; i < stack->count && i < site + KEY_FRAMES; i++)
		if (append_frame(key, &stack->frames[i]) < 0)
			r = -ENOMEM;
	if (fclose(key) != 0 || r < 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static const char *string_member(const struct json_value *object, const char *key)
{
	const struct json_value *value = json_member(object, key);

	return value && value->type == JSON_STRING ? value->string : NULL;
}

__attribute__((format(printf, 3, 4)))
static int invalid(struct errmsg *err, const char *path, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	errmsg_set(err, "baseline %s: %s", path, why);
	return -EINVAL;
}

static int add_key(struct baseline *baseline, char *key)
{
	char **grown = realloc(baseline->keys, (baseline->count + 1) * sizeof(*grown));

	if (!grown) {
		free(key);
		return -ENOMEM;
	}
	baseline->keys = grown;
	baseline->keys[baseline->count++] = key;
	return 0;
}

/* One leak or handle group of the report: its "stack" list into frames. */
static int add_site(struct baseline *baseline, const char *kind,
		    const struct json_value *site, const char *path,
		    struct errmsg *err)
{
	const struct json_value *frames = json_member(site, "stack");
	struct model_stack stack = { 0 };
	char *key;
	int r;

	if (!frames || frames->type != JSON_ARRAY)
		return invalid(err, path, "a %s site without a \"stack\" list", kind);
	stack.count = frames->count;
	stack.frames = calloc(frames->count + 1, sizeof(*stack.frames));
	if (!stack.frames)
		return -ENOMEM;
	for (size_t i = 0; i < frames->count; i++) {
		stack.frames[i].function = string_member(&frames->items[i], "function");
		stack.frames[i].file = string_member(&frames->items[i], "file");
		stack.frames[i].module = string_member(&frames->items[i], "module");
	}
	r = baseline_key(kind, &stack, &key);
	free(stack.frames);
	return r < 0 ? r : add_key(baseline, key);
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
	for (size_t i = 0; r == 0 && i < processes->count; i++)
		r = add_process(baseline, &processes->items[i], path, err);
	return r;
}

static int read_text(const char *path, char **text, size_t *size, struct errmsg *err)
{
	int r = read_whole_file(path, MAX_BASELINE_SIZE, text, size);

	if (r == -EINVAL || r == -EFBIG)
		return invalid(err, path, "not a regular file of at most 1 GiB");
	if (r < 0)
		errmsg_set(err, "baseline %s: %s", path, strerror(-r));
	return r;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	if (r == -ENOMEM)
		errmsg_set(err, "baseline %s: out of memory", path);
	if (r == 0)
		qsort(baseline->keys, baseline->count, sizeof(*baseline->keys),
		      compare_keys);
	free(text);
	pool_free(pool);
	return r;
}

bool baseline_has(const struct baseline *baseline, const char *key)
{
	return baseline->count && bsearch(&key, baseline->keys, baseline->count,
					  sizeof(*baseline->keys), compare_keys);
}

void baseline_free(struct baseline *baseline)
{
	for (size_t i = 0; i < baseline->count; i++)
		free(baseline->keys[i]);
	free(baseline->keys);
	*baseline = (struct baseline){ 0 };
}
