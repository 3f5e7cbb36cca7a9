/* SPDX-License-Identifier: MIT */
/* What the two halves of the text report share: out_text.c lists each
 * process's findings, out_text_totals.c closes it with its totals and the
 * SUMMARY line. */
#ifndef LEAKSCOPE_OUT_TEXT_H
#define LEAKSCOPE_OUT_TEXT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "frame.h"
#include "model.h"

struct style {
	const char *bold, *alert, *reset;
	unsigned frame_flags; /* FRAME_DIM where frames have no source line */
};

/* "1200 bytes in 3 blocks" */
static inline void print_amount(FILE *out, uint64_t bytes, uint64_t blocks)
{
	fprintf(out, "%" PRIu64 " %s in %" PRIu64 " %s", bytes,
		plural(bytes, "byte", "bytes"), blocks, plural(blocks, "block", "blocks"));
}

/* Each rule that suppressed handles, named once. */
void print_rule_names(FILE *out, const struct model_process *p);
/* "totals:" and a line per class, handle kind and counter worth one. */
void print_totals(FILE *out, const struct model_process *p, bool reachable_listed);
/* "SUMMARY: ...", and why the numbers are incomplete where they are. */
void print_summary(FILE *out, const struct style *st, const struct model_process *p);

#endif
