/* SPDX-License-Identifier: MIT */
/* The gate's verdict: which sites fail, their totals, and the limits they
 * go over. Printing is left to the formats and the commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

static const struct {
	const char *name;
	unsigned bit;
} fail_on_names[] = {
	{ "definite", GATE_FAIL_DEFINITE },
	{ "indirect", GATE_FAIL_INDIRECT },
	{ "possible", GATE_FAIL_POSSIBLE },
	{ "reachable", GATE_FAIL_REACHABLE },
	{ "handles", GATE_FAIL_HANDLES },
	{ "child-fds", GATE_FAIL_CHILD_FDS },
	{ "inherited", GATE_FAIL_INHERITED },
};
#define FAIL_ON_NAMES (sizeof(fail_on_names) / sizeof(fail_on_names[0]))

void gate_config_init(struct gate_config *config)
{
	*config = (struct gate_config){
		.fail_on = GATE_FAIL_DEFINITE | GATE_FAIL_INDIRECT | GATE_FAIL_HANDLES,
		.max_leaked_bytes = GATE_NO_LIMIT,
		.max_leaks = GATE_NO_LIMIT,
		.max_handles = GATE_NO_LIMIT,
		.error_exitcode = GATE_DEFAULT_EXIT_CODE,
	};
}

int gate_parse_fail_on(const char *arg, unsigned *fail_on, struct errmsg *err)
{
	const char *at = arg;

	*fail_on = 0;
	while (*at) {
		size_t len = strcspn(at, ","), i;

		for (i = 0; i < FAIL_ON_NAMES; i++)
			if (strlen(fail_on_names[i].name) == len &&
			    !strncmp(at, fail_on_names[i].name, len))
				break;
		if (i == FAIL_ON_NAMES) {
			errmsg_set(err, "--fail-on: unknown class '%.*s' (definite, indirect, "
				   "possible, reachable, handles, child-fds, inherited)", (int)len, at);
			return -EINVAL;
		}
		*fail_on |= fail_on_names[i].bit;
		at += len + (at[len] == ',');
	}
	if (*fail_on == 0) {
		errmsg_set(err, "--fail-on wants at least one class");
		return -EINVAL;
	}
	return 0;
}

int gate_load(struct gate_config *config, struct errmsg *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < config->suppression_file_count; i++)
		r = suppress_load_file(&config->rules, config->suppression_files[i], err);
	if (r == 0 && config->baseline_path)
		r = baseline_load(&config->baseline, config->baseline_path, err);
	return r;
}

void gate_config_free(struct gate_config *config)
{
	free(config->suppression_files);
	suppress_free(&config->rules);
	baseline_free(&config->baseline);
	config->suppression_files = NULL;
	config->suppression_file_count = 0;
}

static const char *leak_rule(unsigned fail_on, enum lks_class klass)
{
	switch (klass) {
	case LKS_CLASS_UNFREED:
		return fail_on & GATE_FAIL_DEFINITE ? "leak/unfreed" : NULL;
	case LKS_CLASS_DEFINITE:
		return fail_on & GATE_FAIL_DEFINITE ? "leak/definite" : NULL;
	case LKS_CLASS_INDIRECT:
		return fail_on & GATE_FAIL_INDIRECT ? "leak/indirect" : NULL;
	case LKS_CLASS_POSSIBLE:
		return fail_on & GATE_FAIL_POSSIBLE ? "leak/possible" : NULL;
	case LKS_CLASS_REACHABLE:
		return fail_on & GATE_FAIL_REACHABLE ? "leak/reachable" : NULL;
	}
	return NULL;
}

static int add_site(struct gate_verdict *v, const struct gate_site *site,
		    const char *kind, const struct model_stack *stack)
{
	struct gate_site *grown = realloc(v->sites, (v->site_count + 1) * sizeof(*grown));
	struct gate_site *added;

	if (!grown)
		return -ENOMEM;
	v->sites = grown;
	added = &v->sites[v->site_count];
	*added = *site;
	if (baseline_key(kind, stack, &added->key) < 0)
		return -ENOMEM;
	added->known = baseline_has(&v->config->baseline, added->key);
	v->site_count++;
	return 0;
}

/* Open handles (--fail-on handles), fds exec'd programs inherited
 * (--fail-on child-fds), or a fork child's fds from its parent it never
 * closed (--fail-on inherited): model_build.c keeps them apart. */
static int judge_handles(struct gate_verdict *v, const struct model_handle_group *groups,
			 size_t count, const struct model_process *proc, const char *rule)
{
	for (size_t i = 0; i < count; i++) {
		const struct model_handle_group *g = &groups[i];
		struct gate_site site = { .proc = proc, .handles = g, .rule = rule,
					  .handle_count = g->count };
		char kind[64];
		int r;

		if (g->suppressed_by)
			continue;
		snprintf(kind, sizeof(kind), "handle/%s", model_handle_type_name(g->type));
		r = add_site(v, &site, kind, &g->stack);
		if (r < 0)
			return r;
	}
	return 0;
}

static int judge_process(struct gate_verdict *v, const struct model_process *proc)
{
	int r = 0;

	for (size_t i = 0; i < proc->leak_count; i++) {
		const struct model_leak *leak = &proc->leaks[i];
		struct gate_site site = { .proc = proc, .leak = leak };

		site.rule = leak_rule(v->config->fail_on, leak->klass);
		if (leak->suppressed_by || !site.rule)
			continue;
		r = add_site(v, &site, "leak", &leak->stack);
		if (r < 0)
			return r;
	}
	if (v->config->fail_on & GATE_FAIL_HANDLES)
		r = judge_handles(v, proc->handle_groups, proc->handle_group_count, proc,
				  "handle/open");
	if (r == 0 && v->config->fail_on & GATE_FAIL_CHILD_FDS)
		r = judge_handles(v, proc->child_groups, proc->child_group_count, proc,
				  "handle/child-fd");
	if (r == 0 && v->config->fail_on & GATE_FAIL_INHERITED)
		r = judge_handles(v, proc->inherited_groups, proc->inherited_group_count, proc,
				  "handle/inherited");
	return r;
}

/* No leak limit given: any new leak site fails, as with --max-leaks 0. */
static void compare_with_limits(struct gate_verdict *v)
{
	const struct gate_config *c = v->config;

	for (size_t i = 0; i < v->site_count; i++) {
		const struct gate_site *s = &v->sites[i];

		if (s->known) {
			v->known_sites++;
		} else if (s->leak) {
			v->leaked_bytes += s->leak->bytes;
			v->leaked_blocks += s->leak->blocks;
			v->leak_sites++;
		} else {
			v->handles += s->handle_count;
			/* a DIR's buffer is heap memory held until it is closed:
			 * byte limits see it, one block per DIR */
			if (s->handles->heap_bytes) {
				v->leaked_bytes += s->handles->heap_bytes;
				v->leaked_blocks += s->handle_count;
			}
		}
	}
	v->over_bytes = c->max_leaked_bytes != GATE_NO_LIMIT &&
			v->leaked_bytes > c->max_leaked_bytes;
	if (c->max_leaks != GATE_NO_LIMIT)
		v->over_leaks = v->leak_sites > c->max_leaks;
	else
		v->over_leaks = c->max_leaked_bytes == GATE_NO_LIMIT && v->leak_sites > 0;
	v->over_handles = v->handles > (c->max_handles == GATE_NO_LIMIT ? 0 : c->max_handles);
	v->failed = v->over_bytes || v->over_leaks || v->over_handles || v->killed;
}

/* Processes a signal killed before they could write a snapshot (SIGKILL):
 * nothing says they were clean. With --started-only, the started one. */
static uint64_t killed_unjudged(const struct gate_config *c, const struct model_report *report)
{
	uint64_t killed = 0;

	if (c->allow_killed)
		return 0;
	for (size_t i = 0; i < report->no_data_count; i++)
		if (report->no_data[i].signal &&
		    (!c->started_only || report->no_data[i].pid == report->started_pid))
			killed++;
	return killed;
}

int gate_judge(struct gate_config *config, struct model_report *report,
	       struct gate_verdict *verdict)
{
	int r = 0;

	*verdict = (struct gate_verdict){ .config = config };
	suppress_apply(&config->rules, report);
	verdict->process_count = config->started_only && report->count ? 1 : report->count;
	for (size_t i = 0; r == 0 && i < verdict->process_count; i++)
		r = judge_process(verdict, report->processes[i]);
	if (r < 0)
		return r;
	verdict->killed = killed_unjudged(config, report);
	compare_with_limits(verdict);
	return 0;
}

void gate_verdict_free(struct gate_verdict *verdict)
{
	for (size_t i = 0; i < verdict->site_count; i++)
		free(verdict->sites[i].key);
	free(verdict->sites);
	verdict->sites = NULL;
	verdict->site_count = 0;
}

void gate_fail_on_text(unsigned fail_on, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < FAIL_ON_NAMES && used < size; i++)
		if (fail_on & fail_on_names[i].bit)
			used += (size_t)snprintf(buf + used, size - used, "%s%s",
						 used ? "," : "", fail_on_names[i].name);
}
