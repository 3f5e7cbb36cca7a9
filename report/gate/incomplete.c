/* SPDX-License-Identifier: MIT */
/* The reasons a report is incomplete (incomplete.h), from format.h's one
 * list of counters. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "incomplete.h"

#define MISSED_PREFIX "missed_"

static const struct {
	const char *name;
	size_t offset;
} counters[] = {
#define COUNTER_ENTRY(name) { #name, offsetof(struct lks_counters, name) },
	LKS_COUNTERS(COUNTER_ENTRY)
#undef COUNTER_ENTRY
};
#define COUNTERS (sizeof(counters) / sizeof(counters[0]))
_Static_assert(COUNTERS < 64, "one bit per reason, own_malloc the last");

#define OWN_MALLOC_BIT (UINT64_C(1) << 63)
#define OWN_MALLOC_NAME "own_malloc"

static bool counts_missed(size_t index)
{
	return strncmp(counters[index].name, MISSED_PREFIX, strlen(MISSED_PREFIX)) == 0;
}

/* The bit of reason `name` (`len` bytes), or 0 when there is none. */
static uint64_t reason_bit(const char *name, size_t len)
{
	if (len == strlen(OWN_MALLOC_NAME) && !strncmp(name, OWN_MALLOC_NAME, len))
		return OWN_MALLOC_BIT;
	for (size_t i = 0; i < COUNTERS; i++)
		if (counts_missed(i) && strlen(counters[i].name) == len &&
		    !strncmp(name, counters[i].name, len))
			return UINT64_C(1) << i;
	return 0;
}

static void list_names(char *buf, size_t size)
{
	size_t used = (size_t)snprintf(buf, size, "all, %s", OWN_MALLOC_NAME);

	for (size_t i = 0; i < COUNTERS && used < size; i++)
		if (counts_missed(i))
			used += (size_t)snprintf(buf + used, size - used, ", %s",
						 counters[i].name);
}

int incomplete_parse(const char *list, uint64_t *accepted, struct errmsg *err)
{
	char names[400];

	*accepted = 0;
	while (*list) {
		size_t len = strcspn(list, ",");
		uint64_t bit = len == 3 && !strncmp(list, "all", 3) ? INCOMPLETE_ACCEPT_ALL
								   : reason_bit(list, len);

		if (!bit) {
			list_names(names, sizeof(names));
			errmsg_set(err, "--accept-incomplete: no reason '%.*s' (%s)", (int)len,
				   list, names);
			return -EINVAL;
		}
		*accepted |= bit;
		list += len + (list[len] == ',');
	}
	return 0;
}

size_t incomplete_reasons(const struct model_process *proc, uint64_t accepted,
			  struct incomplete_reason *out, size_t max)
{
	const uint8_t *record = (const uint8_t *)&proc->counters;
	size_t found = 0;

	if ((proc->flags & LKS_HF_OWN_MALLOC) && !(accepted & OWN_MALLOC_BIT)) {
		if (found < max)
			out[found] = (struct incomplete_reason){ OWN_MALLOC_NAME, 1 };
		found++;
	}
	for (size_t i = 0; i < COUNTERS; i++) {
		uint64_t count;

		if (!counts_missed(i) || (accepted & (UINT64_C(1) << i)))
			continue;
		memcpy(&count, record + counters[i].offset, sizeof(count));
		if (!count)
			continue;
		if (found < max)
			out[found] = (struct incomplete_reason){ counters[i].name, count };
		found++;
	}
	return found;
}
