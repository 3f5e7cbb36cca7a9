/* SPDX-License-Identifier: MIT */
/* What makes a report incomplete, by name: the program's own malloc
 * (own_malloc), and every counter of format.h whose name starts with
 * missed_ above zero (a counter added with such a name is covered without
 * a change here). The gate fails on each one --accept-incomplete does not
 * name (docs/CI.md). */
#ifndef LEAKSCOPE_INCOMPLETE_H
#define LEAKSCOPE_INCOMPLETE_H

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "model.h"

#define INCOMPLETE_ACCEPT_ALL UINT64_MAX

struct incomplete_reason {
	const char *name;   /* "own_malloc", "missed_stacks", ... (static) */
	uint64_t count;     /* how many were missed; 1 for own_malloc */
};

/* "all", or a comma list of reason names, into a set of accepted reasons.
 * 0, or -EINVAL with the names that exist in `err`. */
int incomplete_parse(const char *list, uint64_t *accepted, struct errmsg *err);

/* The reasons `proc` is incomplete that `accepted` does not name, at most
 * `max` of them in `out`; how many there are. */
size_t incomplete_reasons(const struct model_process *proc, uint64_t accepted,
			  struct incomplete_reason *out, size_t max);

#endif
