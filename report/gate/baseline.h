/* SPDX-License-Identifier: MIT */
/* The gate's baseline: the leak and handle sites of an earlier JSON report,
 * by identity (siteid.h), and which sites of this run it knows, so that
 * only new sites fail the gate. */
#ifndef LEAKSCOPE_BASELINE_H
#define LEAKSCOPE_BASELINE_H

#include <stdbool.h>

#include "errmsg.h"
#include "siteid.h"

struct baseline {
	struct site_id *sites; /* distinct keys, sorted by key */
	size_t count, capacity;
	const struct site_id **by_chain; /* the same, sorted by chain */
};

/* How the baseline knows a site of this run. */
enum baseline_match {
	BASELINE_NEW,   /* not known: the site fails */
	BASELINE_EXACT, /* the same identity is in the baseline */
	/* moved within its functions: no identity matches, but the baseline
	 * has at least as many sites of its chain that this run lacks as this
	 * run has sites of the chain that it lacks (lines were inserted above
	 * the call inside the function, or a call was moved) */
	BASELINE_MOVED,
};

/* Reads a JSON report written by --json or --write-baseline. 0, or a
 * negative errno with the reason in `err` (a file that is not a leakscope
 * JSON report of a version this leakscope reads is an error, never an
 * empty baseline). */
int baseline_load(struct baseline *baseline, const char *path, struct errmsg *err);

/* For each of `count` distinct identities of this run (no two with one
 * key), how the baseline knows it. 0 or -ENOMEM. */
int baseline_match(const struct baseline *baseline, const struct site_id *const *ids,
		   size_t count, enum baseline_match *matches);

void baseline_free(struct baseline *baseline);

#endif
