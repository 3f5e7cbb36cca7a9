/* SPDX-License-Identifier: MIT */
/* The report and verdict outputs of `run` and `report`: which format goes
 * to which file or stream (emit.c writes them). */
#include <stdlib.h>
#include <unistd.h>

#include "emit.h"
#include "out.h"
#include "outputs.h"

/* Colour for a terminal, unless asked otherwise or NO_COLOR is set. */
static bool use_colour(const struct output_options *opts, FILE *stream)
{
	if (opts->colour != COLOUR_AUTO)
		return opts->colour == COLOUR_ALWAYS;
	return !opts->path && isatty(fileno(stream)) && !getenv("NO_COLOR");
}

static int write_text(FILE *stream, const void *what)
{
	const struct report_outputs *o = what;

	return out_text(stream, o->report, &(struct out_text_options){
		use_colour(o->out, stream), o->out->show_reachable, o->out->retainers });
}

static int write_json(FILE *stream, const void *what)
{
	const struct report_outputs *o = what;

	return out_json(stream, o->report, o->verdict);
}

static int write_junit(FILE *stream, const void *what)
{
	const struct report_outputs *o = what;

	return out_junit(stream, o->report, o->verdict);
}

static int write_sarif(FILE *stream, const void *what)
{
	return out_sarif(stream, ((const struct report_outputs *)what)->verdict);
}

static int write_verdict(FILE *stream, const void *what)
{
	return out_gate_text(stream, ((const struct report_outputs *)what)->verdict);
}

static int write_suppressions(FILE *stream, const void *what)
{
	return out_gate_suppressions(stream, ((const struct report_outputs *)what)->verdict);
}

int outputs_write_report(const struct report_outputs *o, FILE *fallback,
			 struct errmsg *err)
{
	const struct emit_output outputs[] = {
		{ o->out->path, fallback,
		  o->out->format == FORMAT_JSON ? write_json : write_text, o },
		{ o->out->json_path, NULL, write_json, o },
	};

	return emit(outputs, 2, err);
}

int outputs_write_verdict(const struct report_outputs *o, const struct gate_config *gate,
			  struct errmsg *err)
{
	const struct emit_output outputs[] = {
		{ NULL, stderr, write_verdict, o },
		{ gate->junit_path, NULL, write_junit, o },
		{ gate->sarif_path, NULL, write_sarif, o },
		{ gate->write_baseline, NULL, write_json, o }, /* a baseline is a JSON report */
		{ NULL, gate->print_suppressions ? stdout : NULL, write_suppressions, o },
	};

	return emit(outputs, sizeof(outputs) / sizeof(outputs[0]), err);
}
