/* SPDX-License-Identifier: MIT */
/* The gate's verdict: which sites fail, their totals, and the limits they
 * go over. Printing is left to the formats and the commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
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
		.max_growth = GATE_NO_LIMIT,
		.max_total_growth = GATE_NO_LIMIT,
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

/* The growth gate needs both its snapshots and a limit. */
static int check_growth(const struct gate_config *config, struct errmsg *err)
{
	bool limited = config->max_growth != GATE_NO_LIMIT ||
		       config->max_total_growth != GATE_NO_LIMIT;

	if (limited && !config->between[0]) {
		errmsg_set(err, "--max-growth and --max-total-growth need --between A,B: "
			   "the labels of the two snapshots to compare");
		return -EINVAL;
	}
	if (config->between[0] && !limited) {
		errmsg_set(err, "--between wants --max-growth or --max-total-growth");
		return -EINVAL;
	}
	return 0;
}

int gate_load(struct gate_config *config, struct errmsg *err)
{
	int r = check_growth(config, err);

	if (r < 0)
		return r;
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
	config->suppression_file_count = config->suppression_file_capacity = 0;
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
	struct gate_site *added;
	int r = ARRAY_RESERVE(v->sites, v->site_capacity, v->site_count, 1);

	if (r < 0)
		return r;
	added = &v->sites[v->site_count];
	*added = *site;
	if (site_id_make(kind, stack, &added->id) < 0)
		return -ENOMEM;
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

/* A report that says it missed something cannot say the program is clean. */
static int judge_completeness(struct gate_verdict *v, const struct model_process *proc)
{
	struct incomplete_reason reasons[8];
	size_t count = incomplete_reasons(proc, v->config->accept_incomplete, reasons, 8);
	int r;

	if (count > 8)
		count = 8;
	r = ARRAY_RESERVE(v->incomplete, v->incomplete_capacity, v->incomplete_count, count);
	if (r < 0)
		return r;
	for (size_t i = 0; i < count; i++)
		v->incomplete[v->incomplete_count++] = (struct gate_incomplete){ proc, reasons[i] };
	return 0;
}

static int judge_process(struct gate_verdict *v, const struct model_process *proc)
{
	int r;

	if (proc->skipped) {
		v->skipped_processes++;
		return 0;  /* not judged: never incomplete either */
	}
	r = judge_completeness(v, proc);
	if (r < 0)
		return r;
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

/* ---- which sites are known, and their fingerprints ---- */

static int by_key_then_site(const void *a, const void *b)
{
	const struct gate_site *x = *(struct gate_site *const *)a;
	const struct gate_site *y = *(struct gate_site *const *)b;
	int c = strcmp(x->id.key, y->id.key);

	return c ? c : (x < y ? -1 : x > y);
}

static int by_chain_then_position(const void *a, const void *b)
{
	const struct gate_site *x = *(struct gate_site *const *)a;
	const struct gate_site *y = *(struct gate_site *const *)b;
	int c = strcmp(x->id.chain, y->id.chain);

	return c ? c : site_id_compare_positions(&x->id, &y->id);
}

static uint64_t hash(uint64_t h, const char *text)
{
	for (; *text; text++)
		h = (h ^ (unsigned char)*text) * 0x100000001b3u; /* FNV-1a */
	return h;
}

/* Distinct sites, distinct[0..n), sorted by chain and position: the k-th
 * of a chain hashes with k. */
static void fingerprint(struct gate_site **distinct, size_t n)
{
	size_t ordinal = 0;

	qsort(distinct, n, sizeof(*distinct), by_chain_then_position);
	for (size_t i = 0; i < n; i++) {
		char number[32];
		struct gate_site *site = distinct[i];

		ordinal = i && strcmp(distinct[i - 1]->id.chain, site->id.chain) == 0
				  ? ordinal + 1 : 0;
		snprintf(number, sizeof(number), "#%zu", ordinal);
		site->fingerprint = hash(hash(0xcbf29ce484222325u, site->id.chain), number);
	}
}

/* One site per identity goes to the baseline (a leak of one code path in
 * ten processes is one site); the others of its key take its answer. */
static int identify(struct gate_verdict *v)
{
	struct gate_site **sorted = calloc(v->site_count + 1, sizeof(*sorted));
	struct gate_site **distinct = calloc(v->site_count + 1, sizeof(*distinct));
	const struct site_id **ids = calloc(v->site_count + 1, sizeof(*ids));
	enum baseline_match *matches = calloc(v->site_count + 1, sizeof(*matches));
	size_t n = 0;
	int r = -ENOMEM;

	if (sorted && distinct && ids && matches) {
		for (size_t i = 0; i < v->site_count; i++)
			sorted[i] = &v->sites[i];
		if (v->site_count)
			qsort(sorted, v->site_count, sizeof(*sorted), by_key_then_site);
		for (size_t i = 0; i < v->site_count; i++) {
			if (i && strcmp(sorted[i - 1]->id.key, sorted[i]->id.key) == 0)
				continue;
			ids[n] = &sorted[i]->id;
			distinct[n++] = sorted[i];
		}
		r = baseline_match(&v->config->baseline, ids, n, matches);
	}
	for (size_t i = 0, k = 0; r == 0 && i < v->site_count; i++) {
		struct gate_site *site = sorted[i];

		if (i && strcmp(sorted[i - 1]->id.key, site->id.key))
			k++;
		site->match = matches[k];
		site->known = matches[k] != BASELINE_NEW;
	}
	if (r == 0) {
		fingerprint(distinct, n);
		for (size_t i = 1; i < v->site_count; i++)
			if (strcmp(sorted[i - 1]->id.key, sorted[i]->id.key) == 0)
				sorted[i]->fingerprint = sorted[i - 1]->fingerprint;
	}
	free(sorted);
	free(distinct);
	free(ids);
	free(matches);
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
	v->failed = v->over_bytes || v->over_leaks || v->over_handles || v->killed ||
		    v->incomplete_count;
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
	if (r == 0)
		r = identify(verdict);
	if (r == 0 && config->between[0])
		r = growth_judge(&verdict->growth, report, &config->rules, config->max_growth,
				 config->max_total_growth,
				 config->started_only && report->count ? report->processes[0]->pid
								       : 0);
	if (r < 0)
		return r;
	verdict->killed = killed_unjudged(config, report);
	compare_with_limits(verdict);
	verdict->sites_failed = verdict->failed;
	verdict->failed |= verdict->growth.failed;
	return 0;
}

void gate_verdict_free(struct gate_verdict *verdict)
{
	for (size_t i = 0; i < verdict->site_count; i++)
		site_id_free(&verdict->sites[i].id);
	free(verdict->sites);
	verdict->sites = NULL;
	verdict->site_count = verdict->site_capacity = 0;
	free(verdict->incomplete);
	verdict->incomplete = NULL;
	verdict->incomplete_count = verdict->incomplete_capacity = 0;
	growth_verdict_free(&verdict->growth);
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
