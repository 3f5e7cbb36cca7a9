/* SPDX-License-Identifier: MIT */
/* The gate's verdict as SARIF 2.1.0 for GitHub code scanning: one result
 * per new site, located at its first frame in the program's own code, the
 * frames with source lines as a code flow and the whole stack in `stacks`.
 * Paths under the working directory (the checkout, in CI) are written
 * relative to %SRCROOT%, which code scanning needs to show the alert. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "jsonw.h"
#include "out.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

static const struct {
	const char *id, *name, *text;
} rules[] = {
	{ "leak/unfreed", "UnfreedMemory",
	  "Memory allocated here was never freed (no reachability scan ran)." },
	{ "leak/definite", "DefinitelyLostMemory",
	  "Memory allocated here was never freed and nothing points to it." },
	{ "leak/indirect", "IndirectlyLostMemory",
	  "Memory allocated here is reachable only from lost memory." },
	{ "leak/possible", "PossiblyLostMemory",
	  "Memory allocated here is reachable only through interior pointers." },
	{ "leak/reachable", "ReachableMemory",
	  "Memory allocated here was still referenced, never freed, at exit." },
	{ "handle/open", "OpenHandle",
	  "A handle (file descriptor, FILE*, DIR* or mapping) created here was never closed." },
	{ "handle/child-fd", "HandleInheritedByChild",
	  "A file descriptor created here without close-on-exec leaks into exec'd programs." },
	{ "handle/inherited", "InheritedHandleNeverClosed",
	  "A file descriptor created here before a fork stayed open in the child until it exited." },
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

static uint64_t fingerprint(const char *key)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 0x100000001b3u;
	return h;
}

static void put_result(struct sarif *s, const struct gate_verdict *v,
		       const struct gate_site *site, bool first)
{
	const struct model_stack *stack = site->leak ? &site->leak->stack
						     : &site->handles->stack;
	const struct model_frame *user = frame_user(stack);
	char text[600];

	gate_site_text(site, text, sizeof(text));
	fprintf(s->out, "%s\n    {\"ruleId\": \"%s\", \"ruleIndex\": %zu, \"level\": \"%s\",",
		first ? "" : ",", site->rule, rule_index(site->rule),
		v->failed ? "error" : "warning");
	fputs("\n      \"message\": {\"text\": ", s->out);
	out_json_string(s->out, text);
	fputs("},\n      \"locations\": [{", s->out);
	if (!user || !frame_in_user_code(user)) {
		/* no source line of its own: the module stands for it, at line
		 * 1, since code scanning wants a region in every location */
		fputs("\"physicalLocation\": {", s->out);
		put_artifact(s, user && user->module ? user->module
			     : site->proc->exe[0] ? site->proc->exe : "unknown");
		fputs(", \"region\": {\"startLine\": 1}}", s->out);
	} else {
		put_physical(s, user);
	}
	fprintf(s->out, "}],\n      \"partialFingerprints\": {\"leakscopeSite/v1\": "
		"\"%016" PRIx64 "\"}", fingerprint(site->key));
	if (v->config->baseline_path)
		fputs(",\n      \"baselineState\": \"new\"", s->out);
	put_code_flow(s, stack);
	put_stack(s, stack);
	fprintf(s->out, ",\n      \"properties\": {\"pid\": %" PRId32, site->proc->pid);
	if (site->leak)
		fprintf(s->out, ", \"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64,
			site->leak->bytes, site->leak->blocks);
	else
		fprintf(s->out, ", \"handles\": %" PRIu64, site->handle_count);
	fputs("}}", s->out);
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
	fputs("]\n    }\n  ]\n}\n", out);
	if (fflush(out) != 0 || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}
