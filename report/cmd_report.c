/* SPDX-License-Identifier: MIT */
/* `leakscope report`, and what it shares with `run`: the gate's verdict on
 * the report model, and which format goes to which file or stream (the
 * report, its JSON copy, the verdict's text, files and suppressions). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "emit.h"
#include "out.h"
#include "snapset.h"

/* What the formats of one report get. */
struct report_outputs {
	const struct model_report *report;
	const struct gate_verdict *verdict; /* NULL: no gate option */
	const struct output_options *out;
};

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
		use_colour(o->out, stream), o->out->show_reachable, o->out->retainers,
		o->out->top, o->verdict });
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

static int write_report_outputs(const struct report_outputs *o, FILE *fallback,
			struct errmsg *err)
{
	const struct emit_output outputs[] = {
		{ o->out->path, fallback,
		  o->out->format == FORMAT_JSON ? write_json : write_text, o },
		{ o->out->json_path, NULL, write_json, o },
	};

	return emit(outputs, 2, err);
}

static int write_verdict_outputs(const struct report_outputs *o,
				 const struct gate_config *gate, struct errmsg *err)
{
	const struct emit_output outputs[] = {
		{ NULL, stderr, write_verdict, o },
		{ gate->junit_path, NULL, write_junit, o },
		{ gate->sarif_path, NULL, write_sarif, o },
		{ gate->write_baseline, NULL, write_json, o }, /* a baseline is a JSON report */
		{ gate->suppressions_out, NULL, write_suppressions, o },
	};

	return emit(outputs, sizeof(outputs) / sizeof(outputs[0]), err);
}

int load_gate(struct gate_config *gate)
{
	struct errmsg err = { "" };

	if (gate_load(gate, &err) == 0)
		return 0;
	fprintf(stderr, "leakscope: %s\n", err.text);
	return -EINVAL;
}

int report_and_judge(struct gate_config *gate, struct model_report *report,
		     const struct output_options *out, bool write_report, FILE *fallback,
		     int status, int failed)
{
	struct gate_verdict verdict = { 0 };
	struct report_outputs outputs = { report, gate->wanted ? &verdict : NULL, out };
	struct errmsg err = { "" };

	if (!gate->no_builtin_handles)
		suppress_builtin_handles(report);
	if (gate->wanted && gate_judge(gate, report, &verdict) < 0) {
		fprintf(stderr, "leakscope: judging the report: %s\n", strerror(ENOMEM));
		return failed;
	}
	if ((write_report && write_report_outputs(&outputs, fallback, &err) < 0) ||
	    (gate->wanted && write_verdict_outputs(&outputs, gate, &err) < 0)) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		status = failed;
	} else if (gate->armed && verdict.failed) {
		status = gate->error_exitcode;
	}
	gate_verdict_free(&verdict);
	return status;
}

int command_report(char **argv, int first, int argc, struct cli_args *args)
{
	struct model_report report = { 0 };
	struct errmsg err = { "" };
	int status;

	if (args->stats.wanted && args->gate.wanted) {
		usage_error("report: the gate judges leak reports, not statistics");
		return EXIT_USAGE;
	}
	if (args->stats.wanted)
		return command_statistics(argv, first, argc, args);
	if (first >= argc) {
		usage_error("%s: no snapshot file or directory given", "report");
		return EXIT_USAGE;
	}
	if (load_gate(&args->gate) < 0)
		return EXIT_USAGE;
	if (snapset_load_report(argv + first, argc - first, &args->exe, args->gate.between,
				&report, &err) < 0) {
		fprintf(stderr, "leakscope: %s\n", err.text);
		return EXIT_FAILED;
	}
	status = report_and_judge(&args->gate, &report, &args->out, true, stdout, 0,
				  EXIT_FAILED);
	model_free_report(&report);
	return status;
}
