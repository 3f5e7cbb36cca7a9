/* SPDX-License-Identifier: MIT */
/* compare_to: the two tables' entries matched by symbolic key (a merge of
 * the key-sorted lists), then ordered so that what changed most comes first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static int by_key(const void *a, const void *b)
{
	const struct stats_entry *x = *(const struct stats_entry *const *)a;
	const struct stats_entry *y = *(const struct stats_entry *const *)b;

	return strcmp(x->key, y->key);
}

static uint64_t magnitude(int64_t value)
{
	return value < 0 ? -(uint64_t)value : (uint64_t)value;
}

/* tracemalloc's StatisticDiff sort key, largest first; the key text then
 * makes the order total, where tracemalloc would compare tracebacks. */
static int by_change(const void *a, const void *b)
{
	const struct stats_entry *x = a, *y = b;

	if (magnitude(x->size_diff) != magnitude(y->size_diff))
		return magnitude(x->size_diff) > magnitude(y->size_diff) ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (magnitude(x->count_diff) != magnitude(y->count_diff))
		return magnitude(x->count_diff) > magnitude(y->count_diff) ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

static const struct stats_entry **sorted_by_key(const struct stats_entry *entries,
						size_t count)
{
	const struct stats_entry **sorted = calloc(count + 1, sizeof(*sorted));

	if (!sorted)
		return NULL;
	for (size_t i = 0; i < count; i++)
		sorted[i] = &entries[i];
	qsort(sorted, count, sizeof(*sorted), by_key);
	return sorted;
}

static struct stats_entry changed(const struct stats_entry *old_entry,
				  const struct stats_entry *new_entry)
{
	struct stats_entry e = new_entry ? *new_entry : *old_entry;

	e.size = new_entry ? new_entry->size : 0;
	e.count = new_entry ? new_entry->count : 0;
	e.size_diff = (int64_t)e.size - (int64_t)(old_entry ? old_entry->size : 0);
	e.count_diff = (int64_t)e.count - (int64_t)(old_entry ? old_entry->count : 0);
	return e;
}

/* The merge of two key-sorted lists into `out` (room for both). */
static size_t match(const struct stats_entry **olds, size_t old_count,
		    const struct stats_entry **news, size_t new_count,
		    struct stats_entry *out)
{
	size_t i = 0, k = 0, n = 0;

	while (i < old_count || k < new_count) {
		int order = i == old_count ? 1 : k == new_count ? -1
			    : strcmp(olds[i]->key, news[k]->key);

		if (order < 0)
			out[n++] = changed(olds[i++], NULL);
		else if (order > 0)
			out[n++] = changed(NULL, news[k++]);
		else
			out[n++] = changed(olds[i++], news[k++]);
	}
	return n;
}

static int diff_list(const struct stats_entry *olds, size_t old_count,
		     const struct stats_entry *news, size_t new_count,
		     struct stats_entry **out, size_t *out_count)
{
	const struct stats_entry **old_sorted = sorted_by_key(olds, old_count);
	const struct stats_entry **new_sorted = sorted_by_key(news, new_count);
	struct stats_entry *entries = calloc(old_count + new_count + 1, sizeof(*entries));
	int r = -ENOMEM;

	if (old_sorted && new_sorted && entries) {
		*out_count = match(old_sorted, old_count, new_sorted, new_count, entries);
		qsort(entries, *out_count, sizeof(*entries), by_change);
		*out = entries;
		entries = NULL;
		r = 0;
	}
	free(old_sorted);
	free(new_sorted);
	free(entries);
	return r;
}

int diff_tables(const struct stats_table *old_table,
		const struct stats_table *new_table, struct stats_table *out)
{
	struct stats_table table = { .key = new_table->key,
				     .cumulative = new_table->cumulative };
	int r;

	table.total_size = new_table->total_size;
	table.total_count = new_table->total_count;
	table.total_handles = new_table->total_handles;
	table.total_size_diff = (int64_t)new_table->total_size - (int64_t)old_table->total_size;
	table.total_count_diff = (int64_t)new_table->total_count -
				 (int64_t)old_table->total_count;
	table.total_handles_diff = (int64_t)new_table->total_handles -
				   (int64_t)old_table->total_handles;
	r = diff_list(old_table->memory, old_table->memory_count, new_table->memory,
		      new_table->memory_count, &table.memory, &table.memory_count);
	if (r == 0)
		r = diff_list(old_table->handles, old_table->handle_count,
			      new_table->handles, new_table->handle_count,
			      &table.handles, &table.handle_count);
	if (r < 0) {
		stats_free(&table);
		return r;
	}
	*out = table;
	return 0;
}
