/* SPDX-License-Identifier: MIT */
/* The JSON report, as documented in docs/JSON.md. Output is indented and
 * its key order fixed, so that golden files and diffs stay readable. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "jsonw.h"
#include "out.h"
#include "pyframes.h"

static void put_stack(struct json *j, const struct model_stack *stack)
{
	jw_uint(j, "trace", stack->trace);
	jw_open(j, "stack", '[');
	for (size_t i = 0; i < stack->count; i++)
		jw_frame(j, &stack->frames[i]);
	jw_close(j, ']');
}

static void put_summary(struct json *j, const struct model_process *p)
{
	const struct lks_counters *c = &p->counters;
	const struct model_class_total *reachable = &p->by_class[LKS_CLASS_REACHABLE];

	jw_open(j, "summary", '{');
	jw_uint(j, "leaked_bytes", p->leaked_bytes);
	jw_uint(j, "leaked_blocks", p->leaked_blocks);
	jw_uint(j, "leak_sites", p->leak_sites);
	jw_uint(j, "suppressed_bytes", p->suppressed.bytes);
	jw_uint(j, "suppressed_blocks", p->suppressed.blocks);
	jw_uint(j, "python_immortal_bytes", p->python_immortal.bytes);
	jw_uint(j, "python_immortal_blocks", p->python_immortal.blocks);
	jw_uint(j, "reachable_bytes", reachable->bytes);
	jw_uint(j, "reachable_blocks", reachable->blocks);
	jw_uint(j, "handles_open", p->handle_count);
	jw_uint(j, "child_fds", p->child_handle_count);
	jw_uint(j, "inherited_fds", p->inherited_handle_count);
	jw_uint(j, "suppressed_handles", p->suppressed_handles);
	jw_uint(j, "held_mappings", p->held_mappings);
	jw_uint(j, "held_mapping_bytes", p->held_mapping_bytes);
	jw_uint(j, "allocs", c->allocs);
	jw_uint(j, "frees", c->frees);
	jw_uint(j, "live_blocks", c->live_blocks);
	jw_uint(j, "live_bytes", c->live_bytes);
	jw_uint(j, "missed_allocs", c->missed_allocs);
	jw_uint(j, "missed_stacks", c->missed_stacks);
	jw_uint(j, "unknown_frees", c->unknown_frees);
	jw_uint(j, "mismatched_frees", c->mismatched_frees);
	jw_uint(j, "missed_handles", c->missed_handles);
	jw_uint(j, "bootstrap_allocs", c->bootstrap_allocs);
	jw_uint(j, "traces", c->traces);
	jw_uint(j, "tool_bytes", c->tool_bytes);
	jw_uint(j, "tool_resident_bytes", c->tool_resident_bytes);
	jw_uint(j, "scanned_bytes", c->scanned_bytes);
	jw_uint(j, "missed_threads", c->missed_threads);
	jw_uint(j, "closed_unseen", c->closed_unseen);
	jw_uint(j, "replaced_unseen", c->replaced_unseen);
	jw_uint(j, "unmapped_unseen", c->unmapped_unseen);
	jw_uint(j, "opened_unseen", c->opened_unseen);
	jw_uint(j, "unreadable_root_bytes", c->unreadable_root_bytes);
	jw_uint(j, "missed_children", c->missed_children);
	jw_uint(j, "unwind_truncated", c->unwind_truncated);
	jw_uint(j, "unwind_slow_frames", c->unwind_slow_frames);
	jw_uint(j, "unwind_table_bytes", c->unwind_table_bytes);
	jw_uint(j, "unwind_checked", c->unwind_checked);
	jw_uint(j, "unwind_differences", c->unwind_differences);
	jw_uint(j, "snapshot_ns", c->snapshot_ns);
	jw_uint(j, "busy_allocs", c->busy_allocs);
	jw_uint(j, "recovered_scopes", c->recovered_scopes);
	jw_uint(j, "as_limit_bytes", c->as_limit_bytes);
	jw_close(j, '}');
}

static void put_leaks(struct json *j, const struct model_process *p)
{
	jw_open(j, "leaks", '[');
	for (size_t i = 0; i < p->leak_count; i++) {
		const struct model_leak *leak = &p->leaks[i];

		jw_open(j, NULL, '{');
		jw_str(j, "class", model_class_name(leak->klass));
		jw_str(j, "family", model_family_name(leak->family));
		jw_str(j, "heuristic", model_heuristic_name(leak->heuristic));
		jw_uint(j, "bytes", leak->bytes);
		jw_uint(j, "blocks", leak->blocks);
		jw_uint(j, "indirect_bytes", leak->indirect_bytes);
		jw_uint(j, "indirect_blocks", leak->indirect_blocks);
		jw_uint(j, "largest", leak->largest);
		jw_uint(j, "oldest_seq", leak->oldest_seq);
		jw_str(j, "suppressed", leak->suppressed_by);
		put_stack(j, &leak->stack);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

static void put_handle(struct json *j, const struct model_handle *h)
{
	jw_open(j, NULL, '{');
	jw_int(j, "fd", h->fd);
	jw_str(j, "description", h->description);
	jw_hex(j, "addr", h->addr);
	jw_uint(j, "size", h->size);
	jw_bool(j, "to_child", h->to_child);
	jw_close(j, '}');
}

/* Groups of open handles ("handles"), of fds exec'd programs inherited
 * ("leaked_into_child") or of a fork child's fds from its parent
 * ("inherited"); the group's description is its first handle's. */
static void put_handles(struct json *j, const char *key,
			const struct model_handle_group *groups, size_t count)
{
	jw_open(j, key, '[');
	for (size_t i = 0; i < count; i++) {
		const struct model_handle_group *g = &groups[i];

		jw_open(j, NULL, '{');
		jw_str(j, "type", model_handle_type_name(g->type));
		jw_uint(j, "count", g->count);
		jw_uint(j, "heap_bytes", g->heap_bytes);
		jw_str(j, "description", g->count ? g->handles[0].description : "");
		jw_str(j, "suppressed", g->suppressed_by);
		jw_open(j, "items", '[');
		for (size_t k = 0; k < g->count; k++)
			put_handle(j, &g->handles[k]);
		jw_close(j, ']');
		put_stack(j, &g->stack);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

static void put_retainer_step(struct json *j, const struct model_retainer_step *step)
{
	jw_open(j, NULL, '{');
	jw_str(j, "kind", model_root_name(step->kind));
	jw_hex(j, "address", step->address);
	if (step->kind == LKS_RK_BLOCK) {
		jw_uint(j, "size", step->size);
		jw_uint(j, "offset", step->offset);
		put_stack(j, &step->stack);
		jw_str(j, "pytype", step->pytype);
		jw_str(j, "pykey", step->pykey);
	} else if (step->kind == LKS_RK_PYMODULE) {
		jw_str(j, "module", step->pymodule);
		jw_str(j, "sys_modules_key", step->pykey);
	} else if (step->kind == LKS_RK_GLOBAL) {
		jw_str(j, "symbol", step->symbol);
		jw_uint(j, "symbol_offset", step->symbol_offset);
		jw_str(j, "module", step->module);
	} else if (step->kind == LKS_RK_STACK) {
		jw_uint(j, "thread", step->thread);
		jw_str(j, "function", step->frame.count ? step->frame.frames[0].function
							       : NULL);
	} else if (step->kind == LKS_RK_TLS && step->thread == LKS_THREAD_FINISHED) {
		jw_bool(j, "finished_thread", true);
	} else {
		jw_uint(j, "thread", step->thread);
		if (step->kind == LKS_RK_REGISTER)
			jw_uint(j, "register", step->offset);
	}
	jw_close(j, '}');
}

void out_json_chain(struct json *j, const struct model_retainer *chain)
{
	jw_uint(j, "site_bytes", chain->site ? chain->site->bytes : 0);
	jw_uint(j, "site_blocks", chain->site ? chain->site->blocks : 0);
	jw_str(j, "suppressed", chain->site ? chain->site->suppressed_by : NULL);
	jw_open(j, "steps", '[');
	for (size_t k = 0; k < chain->step_count; k++)
		put_retainer_step(j, &chain->steps[k]);
	jw_close(j, ']');
}

/* Each chain: the site it leads to (its first frame) and the steps. */
static void put_retainers(struct json *j, const struct model_process *p)
{
	jw_open(j, "retainers", '[');
	for (size_t i = 0; i < p->retainer_count; i++) {
		const struct model_retainer *chain = &p->retainers[i];

		jw_open(j, NULL, '{');
		out_json_chain(j, chain);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

void out_json_unchained(struct json *j, const struct model_unchained *none)
{
	static const char *const reasons[] = { [LKS_PYU_UNREACHED] = "unreached",
		[LKS_PYU_BUDGET] = "budget", [LKS_PYU_DEEP] = "deep", [LKS_PYU_FREED] = "freed" };

	jw_uint(j, "site_bytes", none->site->bytes);
	jw_uint(j, "site_blocks", none->site->blocks);
	jw_str(j, "suppressed", none->site->suppressed_by);
	jw_str(j, "reason", reasons[none->reason]);
	jw_uint(j, "walked", none->walked);
	put_stack(j, &none->site->stack);
}

/* The sites the walk from the modules chose and has no chain to, and why. */
static void put_unchained(struct json *j, const struct model_process *p)
{
	jw_open(j, "unchained", '[');
	for (size_t i = 0; i < p->unchained_count; i++) {
		if (!p->unchained[i].site)
			continue;
		jw_open(j, NULL, '{');
		out_json_unchained(j, &p->unchained[i]);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

/* The typed objects per type (null when the snapshot typed none). */
static void put_python_types(struct json *j, const struct model_process *proc)
{
	const struct lks_python *py = &proc->python;

	if (!(py->flags & LKS_PYF_TYPED)) {
		jw_str(j, "objects", NULL);
		return;
	}
	jw_open(j, "objects", '{');
	jw_uint(j, "typed_blocks", py->typed_blocks);
	jw_uint(j, "untyped_blocks", py->untyped_blocks);
	jw_uint(j, "unreadable_blocks", py->unreadable_blocks);
	jw_uint(j, "typing_ns", py->typing_ns);
	jw_open(j, "types", '[');
	for (size_t i = 0; i < proc->pytype_count; i++) {
		jw_open(j, NULL, '{');
		jw_str(j, "type", proc->pytypes[i].type);
		jw_uint(j, "blocks", proc->pytypes[i].blocks);
		jw_uint(j, "bytes", proc->pytypes[i].bytes);
		jw_close(j, '}');
	}
	jw_close(j, ']');
	jw_close(j, '}');
}

/* What the shim did with CPython in this process; null without one. */
static void put_python(struct json *j, const struct model_process *proc)
{
	const struct lks_python *py = &proc->python;
	char version[32];

	if (!proc->has_python) {
		jw_str(j, "python", NULL);
		return;
	}
	jw_open(j, "python", '{');
	jw_str(j, "version", pyframes_version(py, version, sizeof(version)));
	jw_str(j, "frames", pyframes_status_name(py->status));
	jw_str(j, "reason", proc->python_reason[0] ? proc->python_reason : NULL);
	jw_bool(j, "pythonmalloc_malloc", py->flags & LKS_PYF_RAW_MALLOC);
	jw_bool(j, "environment_ignored", py->flags & LKS_PYF_ENV_IGNORED);
	jw_uint(j, "code_objects", py->codes);
	jw_uint(j, "missed_code_objects", py->missed_codes);
	jw_uint(j, "bad_frames", py->bad_frames);
	jw_uint(j, "unpaired_stacks", py->unpaired);
	jw_str(j, "gc", pyframes_gc_name(py->gc));
	jw_uint(j, "gc_collected", py->gc_collected);
	put_python_types(j, proc);
	jw_close(j, '}');
}

static void put_process(struct json *j, const struct model_process *p)
{
	jw_open(j, NULL, '{');
	jw_int(j, "pid", p->pid);
	jw_int(j, "ppid", p->ppid);
	jw_str(j, "exe", p->exe);
	if ((p->reason == LKS_REASON_EXIT || p->reason == LKS_REASON__EXIT) &&
	    p->exit_status >= 0)
		jw_int(j, "exit_status", p->exit_status);
	else
		jw_str(j, "exit_status", NULL);
	jw_str(j, "reason", model_reason_name(p->reason));
	if (p->reason == LKS_REASON_FATAL_SIGNAL)
		jw_int(j, "signal", p->signal);
	else
		jw_str(j, "signal", NULL);
	jw_str(j, "label", p->label);
	jw_str(j, "skipped", p->skipped);
	jw_uint(j, "seq", p->seq);
	jw_bool(j, "classified", p->classified);
	jw_bool(j, "forked", p->flags & LKS_HF_FORKED);
	jw_bool(j, "own_malloc", p->flags & LKS_HF_OWN_MALLOC);
	jw_uint(j, "time_ns", p->time_ns);
	jw_uint(j, "uptime_ns", p->uptime_ns);
	jw_uint(j, "max_depth", p->max_depth);
	put_python(j, p);
	jw_open(j, "warnings", '[');
	for (size_t i = 0; i < p->warning_count; i++)
		jw_str(j, NULL, p->warnings[i]);
	jw_close(j, ']');
	put_summary(j, p);
	put_leaks(j, p);
	put_handles(j, "handles", p->handle_groups, p->handle_group_count);
	put_handles(j, "leaked_into_child", p->child_groups, p->child_group_count);
	put_handles(j, "inherited", p->inherited_groups, p->inherited_group_count);
	put_retainers(j, p);
	put_unchained(j, p);
	jw_close(j, '}');
}

static void put_gate_site(struct json *j, const struct gate_site *site)
{
	const struct model_stack *stack = site->leak ? &site->leak->stack
						     : &site->handles->stack;
	const struct model_frame *f = frame_user(stack);

	jw_open(j, NULL, '{');
	jw_int(j, "pid", site->proc->pid);
	jw_str(j, "rule", site->rule);
	jw_bool(j, "new", !site->known);
	jw_uint(j, "bytes", site->leak ? site->leak->bytes : 0);
	jw_uint(j, "blocks", site->leak ? site->leak->blocks : 0);
	jw_uint(j, "handles", site->handle_count);
	jw_str(j, "function", f ? f->function : NULL);
	jw_str(j, "file", f ? f->file : NULL);
	if (f && f->file && f->line)
		jw_uint(j, "line", f->line);
	else
		jw_str(j, "line", NULL);
	jw_uint(j, "trace", stack->trace);
	jw_str(j, "key", site->id.key);
	jw_bool(j, "moved", site->match == BASELINE_MOVED);
	jw_close(j, '}');
}

static void put_limit(struct json *j, const char *key, uint64_t limit)
{
	if (limit == GATE_NO_LIMIT)
		jw_str(j, key, NULL);
	else
		jw_uint(j, key, limit);
}

static void put_growth_site(struct json *j, const struct growth_site *site)
{
	const struct model_frame *f = frame_user(site->stack);

	jw_open(j, NULL, '{');
	jw_int(j, "pid", site->pair->to->pid);
	jw_str(j, "rule", "growth/site");
	jw_bool(j, "over_max_growth", site->over);
	jw_uint(j, "growth", site->growth);
	jw_uint(j, "from_bytes", site->from_bytes);
	jw_uint(j, "to_bytes", site->to_bytes);
	jw_uint(j, "from_blocks", site->from_blocks);
	jw_uint(j, "to_blocks", site->to_blocks);
	jw_str(j, "function", f ? f->function : NULL);
	jw_str(j, "file", f ? f->file : NULL);
	if (f && f->file && f->line)
		jw_uint(j, "line", f->line);
	else
		jw_str(j, "line", NULL);
	jw_uint(j, "trace", site->stack->trace);
	jw_str(j, "key", site->id.key);
	jw_close(j, '}');
}

/* The growth gate's part of the verdict (--between). */
static void put_growth(struct json *j, const struct gate_verdict *v)
{
	const struct growth_verdict *g = &v->growth;

	jw_open(j, "growth", '{');
	jw_open(j, "between", '[');
	jw_str(j, NULL, v->config->between[0]);
	jw_str(j, NULL, v->config->between[1]);
	jw_close(j, ']');
	put_limit(j, "max_growth", v->config->max_growth);
	put_limit(j, "max_total_growth", v->config->max_total_growth);
	jw_bool(j, "failed", g->failed);
	jw_bool(j, "no_pair", g->no_pair);
	jw_open(j, "processes", '[');
	for (size_t i = 0; i < g->process_count; i++) {
		const struct growth_process *p = &g->processes[i];

		jw_open(j, NULL, '{');
		jw_int(j, "pid", p->pair->to->pid);
		jw_str(j, "exe", p->pair->to->exe);
		jw_uint(j, "from_seq", p->pair->from->seq);
		jw_uint(j, "to_seq", p->pair->to->seq);
		jw_uint(j, "from_bytes", p->from_bytes);
		jw_uint(j, "to_bytes", p->to_bytes);
		jw_int(j, "growth", p->growth);
		jw_bool(j, "over_max_total_growth", p->over);
		jw_close(j, '}');
	}
	jw_close(j, ']');
	jw_open(j, "sites", '[');
	for (size_t i = 0; i < g->site_count; i++)
		put_growth_site(j, &g->sites[i]);
	jw_close(j, ']');
	jw_close(j, '}');
}

/* The CI gate's verdict (docs/CI.md), when a gate option was given. */
static void put_gate(struct json *j, const struct gate_verdict *v)
{
	const struct suppress_rules *rules = &v->config->rules;
	char fail_on[128];

	gate_fail_on_text(v->config->fail_on, fail_on, sizeof(fail_on));
	jw_open(j, "gate", '{');
	jw_bool(j, "failed", v->failed);
	jw_str(j, "fail_on", fail_on);
	jw_bool(j, "started_only", v->config->started_only);
	jw_uint(j, "new_leak_sites", v->leak_sites);
	jw_uint(j, "new_leaked_bytes", v->leaked_bytes);
	jw_uint(j, "new_leaked_blocks", v->leaked_blocks);
	jw_uint(j, "new_handles", v->handles);
	jw_uint(j, "known_sites", v->known_sites);
	jw_uint(j, "skipped_processes", v->skipped_processes);
	jw_bool(j, "over_max_leaks", v->over_leaks);
	jw_bool(j, "over_max_leaked_bytes", v->over_bytes);
	jw_bool(j, "over_max_handles", v->over_handles);
	jw_uint(j, "killed_no_snapshot", v->killed);
	jw_open(j, "sites", '[');
	for (size_t i = 0; i < v->site_count; i++)
		put_gate_site(j, &v->sites[i]);
	jw_close(j, ']');
	jw_open(j, "incomplete", '[');
	for (size_t i = 0; i < v->incomplete_count; i++) {
		jw_open(j, NULL, '{');
		jw_int(j, "pid", v->incomplete[i].proc->pid);
		jw_str(j, "reason", v->incomplete[i].reason.name);
		jw_uint(j, "count", v->incomplete[i].reason.count);
		jw_close(j, '}');
	}
	jw_close(j, ']');
	jw_open(j, "suppressions", '[');
	for (size_t i = 0; i < rules->count; i++) {
		jw_open(j, NULL, '{');
		jw_str(j, "rule", rules->rules[i].name);
		jw_uint(j, "sites", rules->rules[i].sites);
		jw_uint(j, "bytes", rules->rules[i].bytes);
		jw_uint(j, "blocks", rules->rules[i].blocks);
		jw_uint(j, "handles", rules->rules[i].handles);
		jw_bool(j, "unused", rules->rules[i].sites == 0);
		jw_close(j, '}');
	}
	jw_close(j, ']');
	if (v->growth.wanted)
		put_growth(j, v);
	jw_close(j, '}');
}

/* "failed_step": "renameat2", "errno": 1 ("EPERM"), or nulls */
static void put_write_failure(struct json *j, const struct model_no_data *d)
{
	const char *errno_name = d->write_errno ? strerrorname_np(d->write_errno) : NULL;

	jw_str(j, "failed_step", d->write_step[0] ? d->write_step : NULL);
	jw_str(j, "errno", errno_name);
}

/* Processes known to have ended without a snapshot. */
static void put_no_data(struct json *j, const struct model_report *report)
{
	jw_open(j, "no_snapshot", '[');
	for (size_t i = 0; i < report->no_data_count; i++) {
		const struct model_no_data *d = &report->no_data[i];

		jw_open(j, NULL, '{');
		jw_int(j, "pid", d->pid);
		jw_str(j, "name", d->name[0] ? d->name : NULL);
		jw_str(j, "why", d->signal ? "killed" : d->fd_limit ? "every fd in use" :
				 "write failed");
		if (d->signal)
			jw_int(j, "signal", d->signal);
		else
			jw_str(j, "signal", NULL);
		if (d->fd_limit)
			jw_int(j, "rlimit_nofile", d->fd_limit);
		else
			jw_str(j, "rlimit_nofile", NULL);
		put_write_failure(j, d);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

int out_json(FILE *out, const struct model_report *report,
	     const struct gate_verdict *verdict)
{
	struct json j = { .out = out, .first = true };

	fputc('{', out);
	j.depth = 1;
	jw_uint(&j, "version", MODEL_JSON_VERSION);
	jw_open(&j, "processes", '[');
	for (size_t i = 0; i < report->count; i++)
		put_process(&j, report->processes[i]);
	jw_close(&j, ']');
	if (report->started_pid)
		jw_int(&j, "started_pid", report->started_pid);
	else
		jw_str(&j, "started_pid", NULL);
	put_no_data(&j, report);
	if (verdict)
		put_gate(&j, verdict);
	jw_close(&j, '}');
	fputc('\n', out);
	return 0;
}
