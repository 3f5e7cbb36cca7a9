/* SPDX-License-Identifier: MIT */
/* The gate's baseline: the leak and handle sites of an earlier JSON report,
 * by symbolic key, so that only sites that are new fail the gate. */
#ifndef LEAKSCOPE_BASELINE_H
#define LEAKSCOPE_BASELINE_H

#include <stdbool.h>

#include "model.h"

struct baseline {
	char **keys; /* sorted, each malloc'd */
	size_t count;
};

/* The symbolic key of a site: its kind ("leak", or "handle/" and the
 * handle type) and the functions of a few frames from the allocation site
 * on. No address, line or path goes in, so that another build of the same
 * code gives the same key. A malloc'd string in *out; 0 or -ENOMEM. */
int baseline_key(const char *kind, const struct model_stack *stack, char **out);

/* Reads a JSON report written by --json or --write-baseline. 0, or a
 * negative errno with the reason in `err` (a file that is not a leakscope
 * JSON report is an error, never an empty baseline). */
int baseline_load(struct baseline *baseline, const char *path, struct errmsg *err);

bool baseline_has(const struct baseline *baseline, const char *key);

void baseline_free(struct baseline *baseline);

#endif
