/* SPDX-License-Identifier: MIT */
/* The JSON report, as documented in docs/JSON.md. Output is indented and
 * its key order fixed, so that golden files and diffs stay readable. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "gate.h"
#include "out.h"

#define JSON_SCHEMA_VERSION 1

struct json {
	FILE *out;
	int depth;
	bool first; /* no member written yet at this depth */
};

/* Length of the valid UTF-8 sequence at s, or 0: overlong forms, UTF-16
 * surrogates and code points above U+10FFFF are not valid. The string's
 * NUL stops every check before it reads past the end. */
static size_t utf8_length(const unsigned char *s)
{
	unsigned char low = 0x80, high = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (s[0] == 0xe0)
			low = 0xa0;
		if (s[0] == 0xed)
			high = 0x9f;
		return s[1] >= low && s[1] <= high && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (s[0] == 0xf0)
			low = 0x90;
		if (s[0] == 0xf4)
			high = 0x8f;
		return s[1] >= low && s[1] <= high && (s[2] & 0xc0) == 0x80 &&
		       (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

void out_json_string(FILE *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	fputc('"', out);
	while (*s) {
		size_t len = utf8_length(s);

		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\r')
			fputs("\\r", out);
		else if (*s < 0x20 || *s == 0x7f || len == 0)
			/* a byte that is not UTF-8 becomes the code point of the
			 * same value (reads right for Latin-1 names) */
			fprintf(out, "\\u%04x", *s);
		else
			fwrite(s, 1, len, out);
		s += len ? len : 1;
	}
	fputc('"', out);
}

static void member(struct json *j, const char *key)
{
	fprintf(j->out, "%s\n%*s", j->first ? "" : ",", 2 * j->depth, "");
	j->first = false;
	if (key)
		fprintf(j->out, "\"%s\": ", key);
}

static void open_with(struct json *j, const char *key, char bracket)
{
	member(j, key);
	fputc(bracket, j->out);
	j->depth++;
	j->first = true;
}

static void close_with(struct json *j, char bracket)
{
	j->depth--;
	if (!j->first)
		fprintf(j->out, "\n%*s", 2 * j->depth, "");
	fputc(bracket, j->out);
	j->first = false;
}

static void put_uint(struct json *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRIu64, value);
}

static void put_int(struct json *j, const char *key, int64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRId64, value);
}

static void put_bool(struct json *j, const char *key, bool value)
{
	member(j, key);
	fputs(value ? "true" : "false", j->out);
}

/* NULL becomes null: "unknown" is not the same as "". */
static void put_string(struct json *j, const char *key, const char *value)
{
	member(j, key);
	if (value)
		out_json_string(j->out, value);
	else
		fputs("null", j->out);
}

/* Addresses are hex strings: JSON numbers lose precision above 2^53. */
static void put_hex(struct json *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->out, "\"0x%" PRIx64 "\"", value);
}

static void put_stack(struct json *j, const struct model_stack *stack)
{
	put_uint(j, "trace", stack->trace);
	open_with(j, "stack", '[');
	for (size_t i = 0; i < stack->count; i++) {
		const struct model_frame *f = &stack->frames[i];

		open_with(j, NULL, '{');
		put_string(j, "function", f->function);
		put_string(j, "file", f->file);
		if (f->file)
			put_uint(j, "line", f->line);
		else
			put_string(j, "line", NULL);
		put_string(j, "module", f->module);
		put_hex(j, "address", f->address);
		if (f->module)
			put_hex(j, "offset", f->offset);
		else
			put_string(j, "offset", NULL);
		put_bool(j, "inlined", f->inlined);
		close_with(j, '}');
	}
	close_with(j, ']');
}

static void put_summary(struct json *j, const struct model_process *p)
{
	const struct lks_counters *c = &p->counters;
	const struct model_class_total *reachable = &p->by_class[LKS_CLASS_REACHABLE];

	open_with(j, "summary", '{');
	put_uint(j, "leaked_bytes", p->leaked_bytes);
	put_uint(j, "leaked_blocks", p->leaked_blocks);
	put_uint(j, "leak_sites", p->leak_sites);
	put_uint(j, "suppressed_bytes", p->suppressed.bytes);
	put_uint(j, "suppressed_blocks", p->suppressed.blocks);
	put_uint(j, "reachable_bytes", reachable->bytes);
	put_uint(j, "reachable_blocks", reachable->blocks);
	put_uint(j, "handles_open", p->handle_count);
	put_uint(j, "child_fds", p->child_handle_count);
	put_uint(j, "allocs", c->allocs);
	put_uint(j, "frees", c->frees);
	put_uint(j, "live_blocks", c->live_blocks);
	put_uint(j, "live_bytes", c->live_bytes);
	put_uint(j, "missed_allocs", c->missed_allocs);
	put_uint(j, "missed_stacks", c->missed_stacks);
	put_uint(j, "unknown_frees", c->unknown_frees);
	put_uint(j, "mismatched_frees", c->mismatched_frees);
	put_uint(j, "missed_handles", c->missed_handles);
	put_uint(j, "bootstrap_allocs", c->bootstrap_allocs);
	put_uint(j, "traces", c->traces);
	put_uint(j, "tool_bytes", c->tool_bytes);
	put_uint(j, "scanned_bytes", c->scanned_bytes);
	put_uint(j, "missed_threads", c->missed_threads);
	put_uint(j, "snapshot_ns", c->snapshot_ns);
	close_with(j, '}');
}

static void put_leaks(struct json *j, const struct model_process *p)
{
	open_with(j, "leaks", '[');
	for (size_t i = 0; i < p->leak_count; i++) {
		const struct model_leak *leak = &p->leaks[i];

		open_with(j, NULL, '{');
		put_string(j, "class", model_class_name(leak->klass));
		put_string(j, "family", model_family_name(leak->family));
		put_uint(j, "bytes", leak->bytes);
		put_uint(j, "blocks", leak->blocks);
		put_uint(j, "indirect_bytes", leak->indirect_bytes);
		put_uint(j, "indirect_blocks", leak->indirect_blocks);
		put_uint(j, "largest", leak->largest);
		put_uint(j, "oldest_seq", leak->oldest_seq);
		put_string(j, "suppressed", leak->suppressed_by);
		put_stack(j, &leak->stack);
		close_with(j, '}');
	}
	close_with(j, ']');
}

static void put_handle(struct json *j, const struct model_handle *h)
{
	open_with(j, NULL, '{');
	put_int(j, "fd", h->fd);
	put_string(j, "description", h->description);
	put_hex(j, "addr", h->addr);
	put_uint(j, "size", h->size);
	put_bool(j, "to_child", h->to_child);
	close_with(j, '}');
}

/* Groups of open handles ("handles") or of fds exec'd programs inherited
 * ("leaked_into_child"); the group's description is its first handle's. */
static void put_handles(struct json *j, const char *key,
			const struct model_handle_group *groups, size_t count)
{
	open_with(j, key, '[');
	for (size_t i = 0; i < count; i++) {
		const struct model_handle_group *g = &groups[i];

		open_with(j, NULL, '{');
		put_string(j, "type", model_handle_type_name(g->type));
		put_uint(j, "count", g->count);
		put_string(j, "description", g->count ? g->handles[0].description : "");
		put_string(j, "suppressed", g->suppressed_by);
		open_with(j, "items", '[');
		for (size_t k = 0; k < g->count; k++)
			put_handle(j, &g->handles[k]);
		close_with(j, ']');
		put_stack(j, &g->stack);
		close_with(j, '}');
	}
	close_with(j, ']');
}

static void put_retainer_step(struct json *j, const struct model_retainer_step *step)
{
	open_with(j, NULL, '{');
	put_string(j, "kind", model_root_name(step->kind));
	put_hex(j, "address", step->address);
	if (step->kind == LKS_RK_BLOCK) {
		put_uint(j, "size", step->size);
		put_uint(j, "offset", step->offset);
		put_stack(j, &step->stack);
	} else if (step->kind == LKS_RK_GLOBAL) {
		put_string(j, "symbol", step->symbol);
		put_uint(j, "symbol_offset", step->symbol_offset);
		put_string(j, "module", step->module);
	} else if (step->kind == LKS_RK_STACK) {
		put_uint(j, "thread", step->thread);
		put_string(j, "function", step->frame.count ? step->frame.frames[0].function
							       : NULL);
	} else {
		put_uint(j, "thread", step->thread);
		if (step->kind == LKS_RK_REGISTER)
			put_uint(j, "register", step->offset);
	}
	close_with(j, '}');
}

/* Each chain: the site it leads to (its first frame) and the steps. */
static void put_retainers(struct json *j, const struct model_process *p)
{
	open_with(j, "retainers", '[');
	for (size_t i = 0; i < p->retainer_count; i++) {
		const struct model_retainer *chain = &p->retainers[i];

		open_with(j, NULL, '{');
		put_uint(j, "site_bytes", chain->site ? chain->site->bytes : 0);
		put_uint(j, "site_blocks", chain->site ? chain->site->blocks : 0);
		put_string(j, "suppressed", chain->site ? chain->site->suppressed_by : NULL);
		open_with(j, "steps", '[');
		for (size_t k = 0; k < chain->step_count; k++)
			put_retainer_step(j, &chain->steps[k]);
		close_with(j, ']');
		close_with(j, '}');
	}
	close_with(j, ']');
}

static void put_process(struct json *j, const struct model_process *p)
{
	open_with(j, NULL, '{');
	put_int(j, "pid", p->pid);
	put_int(j, "ppid", p->ppid);
	put_string(j, "exe", p->exe);
	if ((p->reason == LKS_REASON_EXIT || p->reason == LKS_REASON__EXIT) &&
	    p->exit_status >= 0)
		put_int(j, "exit_status", p->exit_status);
	else
		put_string(j, "exit_status", NULL);
	put_string(j, "reason", model_reason_name(p->reason));
	put_string(j, "label", p->label);
	put_uint(j, "seq", p->seq);
	put_bool(j, "classified", p->classified);
	put_bool(j, "forked", p->flags & LKS_HF_FORKED);
	put_uint(j, "time_ns", p->time_ns);
	put_uint(j, "uptime_ns", p->uptime_ns);
	put_uint(j, "max_depth", p->max_depth);
	open_with(j, "warnings", '[');
	for (size_t i = 0; i < p->warning_count; i++)
		put_string(j, NULL, p->warnings[i]);
	close_with(j, ']');
	put_summary(j, p);
	put_leaks(j, p);
	put_handles(j, "handles", p->handle_groups, p->handle_group_count);
	put_handles(j, "leaked_into_child", p->child_groups, p->child_group_count);
	put_retainers(j, p);
	close_with(j, '}');
}

static void put_gate_site(struct json *j, const struct gate_site *site)
{
	const struct model_stack *stack = site->leak ? &site->leak->stack
						     : &site->handles->stack;
	const struct model_frame *f = gate_user_frame(stack);

	open_with(j, NULL, '{');
	put_int(j, "pid", site->proc->pid);
	put_string(j, "rule", site->rule);
	put_bool(j, "new", !site->known);
	put_uint(j, "bytes", site->leak ? site->leak->bytes : 0);
	put_uint(j, "blocks", site->leak ? site->leak->blocks : 0);
	put_uint(j, "handles", site->handle_count);
	put_string(j, "function", f ? f->function : NULL);
	put_string(j, "file", f ? f->file : NULL);
	put_uint(j, "line", f ? f->line : 0);
	put_uint(j, "trace", stack->trace);
	put_string(j, "key", site->key);
	close_with(j, '}');
}

/* The CI gate's verdict (docs/CI.md), when a gate option was given. */
static void put_gate(struct json *j, const struct gate_verdict *v)
{
	const struct suppress_rules *rules = &v->config->rules;
	char fail_on[128];

	gate_fail_on_text(v->config->fail_on, fail_on, sizeof(fail_on));
	open_with(j, "gate", '{');
	put_bool(j, "failed", v->failed);
	put_string(j, "fail_on", fail_on);
	put_bool(j, "started_only", v->config->started_only);
	put_uint(j, "new_leak_sites", v->leak_sites);
	put_uint(j, "new_leaked_bytes", v->leaked_bytes);
	put_uint(j, "new_leaked_blocks", v->leaked_blocks);
	put_uint(j, "new_handles", v->handles);
	put_uint(j, "known_sites", v->known_sites);
	put_bool(j, "over_max_leaks", v->over_leaks);
	put_bool(j, "over_max_leaked_bytes", v->over_bytes);
	put_bool(j, "over_max_handles", v->over_handles);
	open_with(j, "sites", '[');
	for (size_t i = 0; i < v->site_count; i++)
		put_gate_site(j, &v->sites[i]);
	close_with(j, ']');
	open_with(j, "suppressions", '[');
	for (size_t i = 0; i < rules->count; i++) {
		open_with(j, NULL, '{');
		put_string(j, "rule", rules->rules[i].name);
		put_uint(j, "sites", rules->rules[i].sites);
		put_uint(j, "bytes", rules->rules[i].bytes);
		put_uint(j, "blocks", rules->rules[i].blocks);
		put_uint(j, "handles", rules->rules[i].handles);
		put_bool(j, "unused", rules->rules[i].sites == 0);
		close_with(j, '}');
	}
	close_with(j, ']');
	close_with(j, '}');
}

int out_json(FILE *out, const struct model_report *report)
{
	struct json j = { .out = out, .first = true };

	fputc('{', out);
	j.depth = 1;
	put_uint(&j, "version", JSON_SCHEMA_VERSION);
	open_with(&j, "processes", '[');
	for (size_t i = 0; i < report->count; i++)
		put_process(&j, report->processes[i]);
	close_with(&j, ']');
	if (report->gate)
		put_gate(&j, report->gate);
	close_with(&j, '}');
	fputc('\n', out);
	if (fflush(out) != 0 || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}
