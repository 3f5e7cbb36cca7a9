/* SPDX-License-Identifier: MIT */
/* What `run` and `report` write: the report in its format and its JSON
 * copy, and, when a gate option asked for a verdict, the verdict on stderr,
 * in its files and as suppressions. */
#ifndef LEAKSCOPE_OUTPUTS_H
#define LEAKSCOPE_OUTPUTS_H

#include <stdio.h>

#include "gate.h"
#include "options.h"

struct report_outputs {
	const struct model_report *report;
	const struct gate_verdict *verdict; /* NULL: no gate option */
	const struct output_options *out;
};

/* The report to out->path, or to `fallback`, then its JSON copy. 0, or a
 * negative errno with the reason in `err`. */
int outputs_write_report(const struct report_outputs *o, FILE *fallback,
			 struct errmsg *err);
/* The verdict's outputs that `gate` asks for. 0 or a negative errno. */
int outputs_write_verdict(const struct report_outputs *o, const struct gate_config *gate,
			  struct errmsg *err);

#endif
