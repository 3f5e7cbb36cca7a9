/* SPDX-License-Identifier: MIT */
/* The output formats. Each takes the report model, never the raw file, and
 * returns 0 or a negative errno (a write error on `out`). */
#ifndef LEAKSCOPE_OUT_H
#define LEAKSCOPE_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"

struct gate_verdict;

struct out_text_options {
	bool colour;
	bool show_reachable; /* list reachable sites, not only their total */
	bool retainers;      /* what keeps the largest reachable sites alive */
};

int out_text(FILE *out, const struct model_report *report,
	     const struct out_text_options *opts);
/* With the gate's verdict as its "gate" member when `verdict` is not NULL. */
int out_json(FILE *out, const struct model_report *report,
	     const struct gate_verdict *verdict);

/* A JSON string literal for `text`, quotes included: control characters and
 * bytes that are not UTF-8 escaped, valid UTF-8 passed through. */
void out_json_string(FILE *out, const char *text);

#endif
