/* SPDX-License-Identifier: MIT */
/* The gate's verdict for people: what failed and why, what each suppression
 * matched, and (--print-suppressions) the lines that would silence it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "out.h"

/* New sites named in the verdict; the report above it has them all. */
#define SITES_LISTED 10

static const char *class_words(enum lks_class klass)
{
	switch (klass) {
	case LKS_CLASS_UNFREED: return "not freed";
	case LKS_CLASS_DEFINITE: return "definitely lost";
	case LKS_CLASS_INDIRECT: return "indirectly lost";
	case LKS_CLASS_POSSIBLE: return "possibly lost";
	case LKS_CLASS_REACHABLE: return "still reachable";
	}
	return "leaked";
}

void gate_site_text(const struct gate_site *site, char *buf, size_t size)
{
	const struct model_stack *stack = site->leak ? &site->leak->stack
						     : &site->handles->stack;
	const struct model_frame *f = frame_user(stack);
	int used;

	if (site->leak)
		used = snprintf(buf, size, "%" PRIu64 " %s in %" PRIu64 " %s %s",
				site->leak->bytes, plural(site->leak->bytes, "byte", "bytes"),
				site->leak->blocks, plural(site->leak->blocks, "block", "blocks"),
				class_words(site->leak->klass));
	else
		used = snprintf(buf, size, "%" PRIu64 " %s %s (%s)", site->handle_count,
				strcmp(site->rule, "handle/open") ? "inherited" : "open",
				plural(site->handle_count, "handle", "handles"),
				model_handle_type_name(site->handles->type));
	if (used < 0 || (size_t)used >= size)
		return;
	buf += used;
	size -= (size_t)used;
	if (!f) {
		snprintf(buf, size, " (no stack)");
	} else if (size > 4) {
		memcpy(buf, " at ", 4);
		frame_text(f, 0, FRAME_BASENAME, buf + 4, size - 4);
	}
}

void growth_site_text(const struct gate_verdict *v, const struct growth_site *site,
		      char *buf, size_t size)
{
	const struct model_frame *f = frame_user(site->stack);
	int used = snprintf(buf, size, "%" PRIu64 " %s (%+" PRId64 " %s) more from \"%s\" to "
			    "\"%s\"", site->growth, plural(site->growth, "byte", "bytes"),
			    (int64_t)(site->to_blocks - site->from_blocks),
			    plural(site->to_blocks - site->from_blocks, "block", "blocks"),
			    v->config->between[0], v->config->between[1]);

	if (used < 0 || (size_t)used + 4 >= size || !f)
		return;
	memcpy(buf + used, " at ", 4);
	frame_text(f, 0, FRAME_BASENAME, buf + used + 4, size - (size_t)used - 4);
}

void growth_process_text(const struct gate_verdict *v, const struct growth_process *p,
			 char *buf, size_t size)
{
	snprintf(buf, size, "live memory grew by %" PRId64 " %s from \"%s\" to \"%s\" (%"
		 PRIu64 " -> %" PRIu64 ")", p->growth, plural((uint64_t)p->growth, "byte", "bytes"),
		 v->config->between[0], v->config->between[1], p->from_bytes, p->to_bytes);
}

/* The growth gate's part: what grew most, and what went over a limit. */
static void print_growth(FILE *out, const struct gate_verdict *v)
{
	const struct growth_verdict *g = &v->growth;
	const struct gate_config *c = v->config;
	char text[600];
	size_t listed = 0;

	if (!g->wanted)
		return;
	if (g->no_pair) {
		fprintf(out, "  no judged process took snapshots labelled \"%s\" and then \"%s\": "
			"the growth gate has nothing to compare\n", c->between[0], c->between[1]);
		return;
	}
	for (size_t i = 0; i < g->site_count && listed < SITES_LISTED; i++) {
		if (!g->sites[i].over)
			continue;
		growth_site_text(v, &g->sites[i], text, sizeof(text));
		fprintf(out, "  grew: %s, pid %" PRId32 ": over --max-growth %" PRIu64 "\n", text,
			g->sites[i].pair->to->pid, c->max_growth);
		listed++;
	}
	if (g->over_sites > listed)
		fprintf(out, "  ... and %zu more sites over --max-growth\n", g->over_sites - listed);
	for (size_t i = 0; i < g->process_count; i++) {
		if (!g->processes[i].over)
			continue;
		growth_process_text(v, &g->processes[i], text, sizeof(text));
		fprintf(out, "  pid %" PRId32 ": %s: over --max-total-growth %" PRIu64 "\n",
			g->processes[i].pair->to->pid, text, c->max_total_growth);
	}
}

/* Always said when --between was given, failing or not: how much grew. */
static void print_growth_summary(FILE *out, const struct gate_verdict *v)
{
	const struct growth_verdict *g = &v->growth;
	char text[600];

	if (!g->wanted || g->no_pair)
		return;
	fprintf(out, "leakscope: growth from \"%s\" to \"%s\" in %zu %s: %zu %s grew",
		v->config->between[0], v->config->between[1], g->process_count,
		plural(g->process_count, "process", "processes"), g->site_count,
		plural(g->site_count, "site", "sites"));
	if (g->site_count) {
		growth_site_text(v, &g->sites[0], text, sizeof(text));
		fprintf(out, ", the most %s", text);
	}
	fputc('\n', out);
}

static void print_limits(FILE *out, const struct gate_verdict *v)
{
	const struct gate_config *c = v->config;

	if (v->over_leaks && c->max_leaks == GATE_NO_LIMIT)
		fprintf(out, "  %" PRIu64 " new leak %s (no --max-leaks: any fails)\n",
			v->leak_sites, plural(v->leak_sites, "site", "sites"));
	else if (v->over_leaks)
		fprintf(out, "  %" PRIu64 " leak sites: over --max-leaks %" PRIu64 "\n",
			v->leak_sites, c->max_leaks);
	if (v->over_bytes)
		fprintf(out, "  %" PRIu64 " bytes leaked: over --max-leaked-bytes %" PRIu64 "\n",
			v->leaked_bytes, c->max_leaked_bytes);
	if (v->over_handles)
		fprintf(out, "  %" PRIu64 " %s: over --max-handles %" PRIu64 "\n", v->handles,
			plural(v->handles, "handle", "handles"),
			c->max_handles == GATE_NO_LIMIT ? 0 : c->max_handles);
}

/* One line per incomplete process: its reasons, and how to pass anyway. */
static void print_incomplete(FILE *out, const struct gate_verdict *v)
{
	for (size_t i = 0; i < v->incomplete_count; i++) {
		const struct gate_incomplete *at = &v->incomplete[i];
		bool first = i == 0 || v->incomplete[i - 1].proc != at->proc;
		bool last = i + 1 == v->incomplete_count || v->incomplete[i + 1].proc != at->proc;

		if (first)
			fprintf(out, "  report incomplete, pid %" PRId32 " (%s):", at->proc->pid,
				base_name(at->proc->exe));
		if (!strcmp(at->reason.name, "own_malloc"))
			fprintf(out, "%s own_malloc", first ? "" : ",");
		else
			fprintf(out, "%s %s %" PRIu64, first ? "" : ",", at->reason.name,
				at->reason.count);
		if (last)
			fprintf(out, " (--accept-incomplete to pass it)\n");
	}
}

static void print_rules(FILE *out, const struct suppress_rules *rules)
{
	for (size_t i = 0; i < rules->count; i++) {
		const struct suppress_rule *r = &rules->rules[i];

		if (r->sites == 0)
			fprintf(out, "leakscope: unused suppression %s\n", r->name);
		else if (r->kind == SUPPRESS_HANDLE)
			fprintf(out, "leakscope: suppression %s matched %" PRIu64 " %s\n",
				r->name, r->handles, plural(r->handles, "handle", "handles"));
		else
			fprintf(out, "leakscope: suppression %s matched %" PRIu64 " %s, %" PRIu64
				" bytes in %" PRIu64 " %s\n", r->name, r->sites,
				plural(r->sites, "site", "sites"), r->bytes, r->blocks,
				plural(r->blocks, "block", "blocks"));
	}
}

int out_gate_text(FILE *out, const struct gate_verdict *v)
{
	char fail_on[128], site[512];
	size_t listed = 0;

	gate_fail_on_text(v->config->fail_on, fail_on, sizeof(fail_on));
	print_rules(out, &v->config->rules);
	print_growth_summary(out, v);
	fprintf(out, "leakscope: gate %s (fail on %s%s): %" PRIu64 " new leak %s, %"
		PRIu64 " bytes in %" PRIu64 " %s; %" PRIu64 " %s", !v->failed ? "passed" : v->config->armed ? "FAILED" : "would fail",
		fail_on, v->config->started_only ? ", started process only" : "",
		v->leak_sites, plural(v->leak_sites, "site", "sites"), v->leaked_bytes,
		v->leaked_blocks, plural(v->leaked_blocks, "block", "blocks"), v->handles,
		plural(v->handles, "handle", "handles"));
	if (v->config->baseline_path)
		fprintf(out, "; %" PRIu64 " %s known from %s", v->known_sites,
			plural(v->known_sites, "site", "sites"), v->config->baseline_path);
	if (v->skipped_processes)
		fprintf(out, "; %zu %s skipped (--skip-exe, --only-exe)", v->skipped_processes,
			plural(v->skipped_processes, "process", "processes"));
	fputc('\n', out);
	for (size_t i = 0; i < v->site_count; i++) {
		if (v->sites[i].known || listed++ >= SITES_LISTED)
			continue;
		gate_site_text(&v->sites[i], site, sizeof(site));
		fprintf(out, "  new: %s, pid %" PRId32 "\n", site, v->sites[i].proc->pid);
	}
	/* the text report lists every site a failed gate names, and of a
	 * passed one its first --top possibly lost and reachable ones */
	if (listed > SITES_LISTED)
		fprintf(out, "  ... and %zu more new %s (the report lists them all%s)\n",
			listed - SITES_LISTED, plural(listed - SITES_LISTED, "site", "sites"),
			v->failed ? "" : " with --top 0");
	if (v->killed)
		fprintf(out, "  %" PRIu64 " %s killed with no snapshot: nothing says %s clean "
			"(--allow-killed lets that pass)\n", v->killed,
			plural(v->killed, "process", "processes"), v->killed == 1 ? "it was" : "they were");
	print_limits(out, v);
	print_incomplete(out, v);
	print_growth(out, v);
	return 0;
}

/* A name as a pattern that matches it alone: anchored, globs escaped. */
static void exact_pattern(const char *name, char *buf, size_t size)
{
	size_t used = 0;

	buf[used++] = '^';
	for (; *name && used + 3 < size; name++) {
		if (strchr("*?[]\\", *name))
			buf[used++] = '\\';
		buf[used++] = *name;
	}
	buf[used++] = '$';
	buf[used] = '\0';
}

static void suppression_line(const struct gate_site *site, char *buf, size_t size)
{
	const struct model_stack *stack = site->leak ? &site->leak->stack
						     : &site->handles->stack;
	const struct model_frame *f = frame_user(stack);
	const char *name = "?";
	char pattern[1024];

	if (f && f->function)
		name = f->function;
	else if (f && f->file)
		name = base_name(f->file);
	else if (f && f->module)
		name = base_name(f->module);
	exact_pattern(name, pattern, sizeof(pattern));
	snprintf(buf, size, "%s:%s", site->leak ? "leak" : "handle", pattern);
}

int out_gate_suppressions(FILE *out, const struct gate_verdict *v)
{
	char (*lines)[1100] = calloc(v->site_count + 1, sizeof(*lines));
	size_t count = 0;

	if (!lines)
		return -ENOMEM;
	fprintf(out, "# leakscope: suppressions for the new sites of this run\n");
	for (size_t i = 0; i < v->site_count; i++) {
		size_t k = 0;

		if (v->sites[i].known)
			continue;
		suppression_line(&v->sites[i], lines[count], sizeof(lines[count]));
		while (k < count && strcmp(lines[k], lines[count]))
			k++;
		if (k == count)
			fprintf(out, "%s\n", lines[count++]);
	}
	free(lines);
	return 0;
}
