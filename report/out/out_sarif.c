/* SPDX-License-Identifier: MIT */
/* The gate's verdict as SARIF 2.1.0 for GitHub code scanning: one result
 * per new site, located at its first frame in the program's own code, the
 * frames with source lines as a code flow and the whole stack in `stacks`.
 * Paths under the working directory (the checkout, in CI) are written
 * relative to %SRCROOT%, which code scanning needs to show the alert. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "jsonw.h"
#include "out.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

/* Every rule with its help: what the finding means and what to do about
 * it, which code scanning shows beside each alert. */
static const struct {
	const char *id, *name, *text, *help;
} rules[] = {
	{ "leak/unfreed", "UnfreedMemory",
	  "Memory allocated here was never freed (no reachability scan ran).",
	  "The process ended, or the snapshot was taken, with memory from this allocation "
	  "site still allocated, and no reachability scan said whether anything still "
	  "pointed to it. Free it when it is no longer needed, or run with the scan "
	  "(LEAKSCOPE_OPTIONS reach=1, the default at exit) to tell lost memory from "
	  "memory kept on purpose. A by-design allocation can be suppressed with a "
	  "leak:FUNCTION line in a --suppressions file." },
	{ "leak/definite", "DefinitelyLostMemory",
	  "Memory allocated here was never freed and nothing points to it.",
	  "No pointer to these blocks was left anywhere in the process at exit: the last "
	  "one was overwritten or went out of scope, so the memory can never be freed. "
	  "Free it on every path before its last pointer is lost. The stack shows where "
	  "it was allocated; a by-design leak can be suppressed with a leak:FUNCTION line "
	  "in a --suppressions file, or accepted with a --baseline." },
	{ "leak/indirect", "IndirectlyLostMemory",
	  "Memory allocated here is reachable only from lost memory.",
	  "These blocks are pointed to only from blocks that are themselves lost (for "
	  "example the nodes of a list whose head was leaked). Fixing the leak of the "
	  "blocks that point to them usually fixes this one too: free the whole "
	  "structure, not only its root." },
	{ "leak/possible", "PossiblyLostMemory",
	  "Memory allocated here is reachable only through interior pointers.",
	  "At exit the only pointers to these blocks pointed into their middle, not to "
	  "their start. That is either a leak, or a data structure that keeps pointers "
	  "past a header on purpose; check which, then free the blocks or suppress the "
	  "site." },
	{ "leak/reachable", "ReachableMemory",
	  "Memory allocated here was still referenced, never freed, at exit.",
	  "A pointer to these blocks still existed at exit (a global, a static, a live "
	  "structure), but they were never freed. This is often a cache or a singleton "
	  "kept on purpose; free it at exit if the program should end clean." },
	{ "handle/open", "OpenHandle",
	  "A handle (file descriptor, FILE*, DIR* or mapping) created here was never closed.",
	  "The file descriptor, FILE*, DIR* or memory mapping created at this stack was "
	  "still open when the process ended. Close it on every path (close, fclose, "
	  "closedir, munmap), or suppress a by-design handle with a handle:FUNCTION line "
	  "in a --suppressions file." },
	{ "handle/child-fd", "HandleInheritedByChild",
	  "A file descriptor created here without close-on-exec leaks into exec'd programs.",
	  "This descriptor had no close-on-exec flag, so a program the process executed "
	  "or spawned inherited it. Open it with O_CLOEXEC (SOCK_CLOEXEC, pipe2 with "
	  "O_CLOEXEC, fcntl FD_CLOEXEC) unless the child is meant to use it." },
	{ "growth/site", "MemoryGrowthAtSite",
	  "Live memory allocated here grew by more than --max-growth between two snapshots.",
	  "Between the two labelled snapshots given to --between, the memory still "
	  "allocated at this site grew by more than --max-growth bytes. When the code "
	  "between them is a loop repeated a fixed number of times, memory that keeps "
	  "growing with the repetitions is a leak even if it stays reachable (an unbounded "
	  "cache, a list never trimmed)." },
	{ "growth/total", "MemoryGrowthOfProcess",
	  "The process's live memory grew by more than --max-total-growth between two snapshots.",
	  "Between the two labelled snapshots given to --between, the memory the process "
	  "held grew by more than --max-total-growth bytes in all. The result is located "
	  "at the site that grew most; the report lists the others." },
	{ "handle/inherited", "InheritedHandleNeverClosed",
	  "A file descriptor created here before a fork stayed open in the child until it exited.",
	  "A forked child inherited this descriptor from its parent and never closed it "
	  "before it exited. Close descriptors a child does not use right after fork "
	  "(or open them with O_CLOEXEC when the child execs); suppress a by-design one "
	  "with a handle:FUNCTION line in a --suppressions file." },
};
#define RULE_COUNT (sizeof(rules) / sizeof(rules[0]))

struct sarif {
	FILE *out;
	char root[PATH_MAX]; /* the working directory, with a trailing '/' */
	size_t root_len;
};

static size_t rule_index(const char *id)
{
	size_t i = 0;

	while (i + 1 < RULE_COUNT && strcmp(rules[i].id, id))
		i++;
	return i;
}

/* A path as the path of a URI: RFC 3986 unreserved bytes and '/' as they
 * are, everything else percent-encoded. */
static void put_uri_path(FILE *out, const char *path)
{
	for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~/", *s))
			fputc(*s, out);
		else
			fprintf(out, "%%%02X", *s);
	}
}

static void put_artifact(struct sarif *s, const char *path)
{
	fputs("\"artifactLocation\": {\"uri\": \"", s->out);
	if (s->root_len && strncmp(path, s->root, s->root_len) == 0) {
		put_uri_path(s->out, path + s->root_len);
		fputs("\", \"uriBaseId\": \"%SRCROOT%\"}", s->out);
		return;
	}
	if (path[0] == '/')
		fputs("file://", s->out);
	put_uri_path(s->out, path);
	fputs("\"}", s->out);
}

/* A physical location for a frame with a source file, else for its module
 * (no region); 0 when the frame has neither. */
static bool put_physical(struct sarif *s, const struct model_frame *f)
{
	if (!f || (!f->file && !f->module))
		return false;
	fputs("\"physicalLocation\": {", s->out);
	put_artifact(s, f->file ? f->file : f->module);
	if (f->file && f->line)
		fprintf(s->out, ", \"region\": {\"startLine\": %" PRIu32 "}", f->line);
	fputs("}", s->out);
	return true;
}

static void put_frame_text(FILE *out, const struct model_frame *f)
{
	char text[1024];

	frame_text(f, 0, 0, text, sizeof(text));
	fputs("\"message\": {\"text\": ", out);
	out_json_string(out, text);
	fputs("}", out);
}

/* The frames in the program's own code, where code scanning can show the
 * source. A thread flow needs one location at least: a stack without any
 * has no code flow, only `stacks`. */
static void put_code_flow(struct sarif *s, const struct model_stack *stack)
{
	bool first = true, any = false;

	for (size_t i = 0; i < stack->count; i++)
		any |= frame_in_user_code(&stack->frames[i]);
	if (!any)
		return;
	fputs(",\n      \"codeFlows\": [{\"threadFlows\": [{\"locations\": [", s->out);
	for (size_t i = 0; i < stack->count; i++) {
		const struct model_frame *f = &stack->frames[i];

		if (!frame_in_user_code(f))
			continue;
		fputs(first ? "\n        " : ",\n        ", s->out);
		first = false;
		fputs("{\"location\": {", s->out);
		put_physical(s, f);
		fputs(", ", s->out);
		put_frame_text(s->out, f);
		fputs("}}", s->out);
	}
	fputs("]}]}]", s->out);
}

static void put_stack(struct sarif *s, const struct model_stack *stack)
{
	fputs(",\n      \"stacks\": [{\"message\": {\"text\": \"allocation stack\"}, "
	      "\"frames\": [", s->out);
	for (size_t i = 0; i < stack->count; i++) {
		const struct model_frame *f = &stack->frames[i];

		fputs(i ? ",\n        " : "\n        ", s->out);
		fputs("{\"location\": {", s->out);
		if (frame_in_user_code(f) && put_physical(s, f))
			fputs(", ", s->out);
		put_frame_text(s->out, f);
		fputs("}", s->out);
		if (f->module) {
			fputs(", \"module\": ", s->out);
			out_json_string(s->out, f->module);
		}
		fputs("}", s->out);
	}
	fputs("]}]", s->out);
}

/* What every result has: its rule, message, location, fingerprint and
 * stacks; the caller adds its properties and closes it. */
struct result {
	const char *rule;
	const char *text;
	const struct model_stack *stack;
	const struct model_process *proc;
	uint64_t fingerprint;
};

static void put_result_head(struct sarif *s, const struct gate_verdict *v,
			    const struct result *r, bool first)
{
	const struct model_frame *shown = r->stack ? frame_with_source(r->stack) : NULL;

	fprintf(s->out, "%s\n    {\"ruleId\": \"%s\", \"ruleIndex\": %zu, \"level\": \"%s\",",
		first ? "" : ",", r->rule, rule_index(r->rule), v->failed ? "error" : "warning");
	fputs("\n      \"message\": {\"text\": ", s->out);
	out_json_string(s->out, r->text);
	fputs("},\n      \"locations\": [{", s->out);
	if (shown) {
		put_physical(s, shown);
	} else {
		/* no frame has a source line: the whole executable, with no
		 * made-up line (code scanning needs a file in every result) */
		fputs("\"physicalLocation\": {", s->out);
		put_artifact(s, r->proc->exe[0] ? r->proc->exe : "unknown");
		fputs("}", s->out);
	}
	fprintf(s->out, "}],\n      \"partialFingerprints\": {\"leakscopeSite/v2\": "
		"\"%016" PRIx64 "\"}", r->fingerprint);
	if (v->config->baseline_path)
		fputs(",\n      \"baselineState\": \"new\"", s->out);
	if (r->stack) {
		put_code_flow(s, r->stack);
		put_stack(s, r->stack);
	}
	fprintf(s->out, ",\n      \"properties\": {\"pid\": %" PRId32, r->proc->pid);
}

static void put_result(struct sarif *s, const struct gate_verdict *v,
		       const struct gate_site *site, bool first)
{
	char text[600];
	struct result r = { site->rule, text,
			    site->leak ? &site->leak->stack : &site->handles->stack,
			    site->proc, site->fingerprint };

	gate_site_text(site, text, sizeof(text));
	put_result_head(s, v, &r, first);
	if (site->leak)
		fprintf(s->out, ", \"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64,
			site->leak->bytes, site->leak->blocks);
	else
		fprintf(s->out, ", \"handles\": %" PRIu64, site->handle_count);
	fputs("}}", s->out);
}

/* The growth gate's failures: each site over --max-growth, and each
 * process over --max-total-growth, shown at the site that grew most. */
static void put_growth(struct sarif *s, const struct gate_verdict *v, bool first)
{
	const struct growth_verdict *g = &v->growth;
	char text[600];

	for (size_t i = 0; i < g->site_count; i++) {
		const struct growth_site *site = &g->sites[i];
		struct result r = { "growth/site", text, site->stack, site->pair->to,
				    site->fingerprint };

		if (!site->over)
			continue;
		growth_site_text(v, site, text, sizeof(text));
		put_result_head(s, v, &r, first);
		fprintf(s->out, ", \"growth\": %" PRIu64 ", \"from_bytes\": %" PRIu64
			", \"to_bytes\": %" PRIu64 "}}", site->growth, site->from_bytes,
			site->to_bytes);
		first = false;
	}
	for (size_t i = 0; i < g->process_count; i++) {
		const struct growth_process *p = &g->processes[i];
		struct result r = { "growth/total", text, p->largest ? p->largest->stack : NULL,
				    p->pair->to, p->largest ? ~p->largest->fingerprint : 0 };

		if (!p->over)
			continue;
		growth_process_text(v, p, text, sizeof(text));
		put_result_head(s, v, &r, first);
		fprintf(s->out, ", \"growth\": %" PRId64 ", \"from_bytes\": %" PRIu64
			", \"to_bytes\": %" PRIu64 "}}", p->growth, p->from_bytes, p->to_bytes);
		first = false;
	}
}

static void put_driver(FILE *out)
{
	fputs("      \"tool\": {\"driver\": {\"name\": \"leakscope\", \"version\": \""
	      LEAKSCOPE_VERSION "\", \"rules\": [", out);
	for (size_t i = 0; i < RULE_COUNT; i++) {
		fprintf(out, "%s\n        {\"id\": \"%s\", \"name\": \"%s\", ",
			i ? "," : "", rules[i].id, rules[i].name);
		fprintf(out, "\"shortDescription\": {\"text\": \"%s\"}, ", rules[i].text);
		fprintf(out, "\"fullDescription\": {\"text\": \"%s\"}, ", rules[i].text);
		fprintf(out, "\"help\": {\"text\": \"%s\"}, ", rules[i].help);
		fputs("\"defaultConfiguration\": {\"level\": \"error\"}, "
		      "\"properties\": {\"tags\": [\"reliability\", \"resource-leak\"]}}", out);
	}
	fputs("]}},\n", out);
}

static void find_root(struct sarif *s)
{
	if (!getcwd(s->root, sizeof(s->root) - 1))
		return;
	s->root_len = strlen(s->root);
	if (s->root[s->root_len - 1] != '/')
		s->root[s->root_len++] = '/';
	s->root[s->root_len] = '\0';
}

int out_sarif(FILE *out, const struct gate_verdict *v)
{
	struct sarif s = { .out = out };
	bool first = true;

	find_root(&s);
	fputs("{\n  \"$schema\": \"" SARIF_SCHEMA "\",\n  \"version\": \"2.1.0\",\n"
	      "  \"runs\": [\n    {\n", out);
	put_driver(out);
	if (s.root_len) {
		fputs("      \"originalUriBaseIds\": {\"%SRCROOT%\": {\"uri\": \"file://", out);
		put_uri_path(out, s.root);
		fputs("\"}},\n", out);
	}
	fputs("      \"results\": [", out);
	for (size_t i = 0; i < v->site_count; i++) {
		if (v->sites[i].known)
			continue;
		put_result(&s, v, &v->sites[i], first);
		first = false;
	}
	put_growth(&s, v, first);
	fputs("]\n    }\n  ]\n}\n", out);
	return 0;
}
