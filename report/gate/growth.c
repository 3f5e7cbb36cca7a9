/* SPDX-License-Identifier: MIT */
/* The growth gate's verdict (growth.h): the sites of each pair's two
 * snapshots by identity (siteid.h), bytes summed over classes and stacks
 * that share one, then compared. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "growth.h"

/* One site's live memory in one of the two snapshots. */
struct side {
	struct site_id id;
	const struct model_stack *stack;
	uint64_t bytes, blocks;
	bool later; /* in B */
};

struct sides {
	struct side *items;
	size_t count, capacity;
};

static int add_side(struct sides *s, const struct model_leak *leak, bool later)
{
	struct side *side;
	int r = ARRAY_RESERVE(s->items, s->capacity, s->count, 1);

	if (r < 0)
		return r;
	side = &s->items[s->count];
	*side = (struct side){ .stack = &leak->stack, .bytes = leak->bytes,
			       .blocks = leak->blocks, .later = later };
	if (site_id_make("leak", &leak->stack, &side->id) < 0)
		return -ENOMEM;
	s->count++;
	return 0;
}

/* Every live site of a snapshot, whatever its class, but the runtime's
 * own and the user's suppressions. */
static int add_process(struct sides *s, const struct model_process *proc, bool later,
		       const struct suppress_rules *rules, uint64_t *total)
{
	for (size_t i = 0; i < proc->leak_count; i++) {
		const struct model_leak *leak = &proc->leaks[i];
		int r;

		if (leak->suppressed_by || suppress_leak_rule(rules, &leak->stack))
			continue;
		*total += leak->bytes;
		if ((r = add_side(s, leak, later)) < 0)
			return r;
	}
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct side *)a)->id.key, ((const struct side *)b)->id.key);
}

static int add_site(struct growth_verdict *v, const struct growth_site *site)
{
	int r = ARRAY_RESERVE(v->sites, v->site_capacity, v->site_count, 1);

	if (r < 0)
		return r;
	v->sites[v->site_count++] = *site;
	return 0;
}

/* sides[first..end) share one identity: a site that grew is kept, its
 * identity moved into the verdict. */
static int merge(struct growth_verdict *v, const struct model_pair *pair,
		 struct side *sides, size_t first, size_t end, uint64_t max_growth)
{
	struct growth_site site = { .pair = pair };

	for (size_t i = first; i < end; i++) {
		if (sides[i].later) {
			site.to_bytes += sides[i].bytes;
			site.to_blocks += sides[i].blocks;
			if (!site.stack)
				site.stack = sides[i].stack;
		} else {
			site.from_bytes += sides[i].bytes;
			site.from_blocks += sides[i].blocks;
		}
	}
	if (site.to_bytes <= site.from_bytes)
		return 0;
	site.growth = site.to_bytes - site.from_bytes;
	site.over = max_growth != UINT64_MAX && site.growth > max_growth;
	site.id = sides[first].id;
	sides[first].id = (struct site_id){ 0 };
	return add_site(v, &site);
}

static int judge_pair(struct growth_verdict *v, const struct model_pair *pair,
		      const struct suppress_rules *rules, uint64_t max_growth,
		      struct growth_process *proc)
{
	struct sides s = { 0 };
	size_t end;
	int r;

	*proc = (struct growth_process){ .pair = pair };
	r = add_process(&s, pair->from, false, rules, &proc->from_bytes);
	if (r == 0)
		r = add_process(&s, pair->to, true, rules, &proc->to_bytes);
	if (r == 0 && s.count)
		qsort(s.items, s.count, sizeof(*s.items), by_key);
	for (size_t first = 0; r == 0 && first < s.count; first = end) {
		for (end = first; end < s.count &&
				  strcmp(s.items[end].id.key, s.items[first].id.key) == 0; end++)
			;
		r = merge(v, pair, s.items, first, end, max_growth);
	}
	for (size_t i = 0; i < s.count; i++)
		site_id_free(&s.items[i].id);
	free(s.items);
	proc->growth = (int64_t)(proc->to_bytes - proc->from_bytes);
	return r;
}

static int most_grown_first(const void *a, const void *b)
{
	const struct growth_site *x = a, *y = b;

	if (x->growth != y->growth)
		return x->growth > y->growth ? -1 : 1;
	return strcmp(x->id.key, y->id.key);
}

static uint64_t hash(const char *text)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *text; text++)
		h = (h ^ (unsigned char)*text) * 0x100000001b3u; /* FNV-1a */
	return h;
}

/* Sorted, each process pointed at its largest site, counted. */
static void conclude(struct growth_verdict *v, uint64_t max_total_growth)
{
	if (v->site_count)
		qsort(v->sites, v->site_count, sizeof(*v->sites), most_grown_first);
	for (size_t i = 0; i < v->site_count; i++) {
		v->sites[i].fingerprint = hash(v->sites[i].id.key);
		v->over_sites += v->sites[i].over;
	}
	for (size_t i = 0; i < v->process_count; i++) {
		struct growth_process *p = &v->processes[i];

		for (size_t k = 0; !p->largest && k < v->site_count; k++)
			if (v->sites[k].pair == p->pair)
				p->largest = &v->sites[k];
		p->over = max_total_growth != UINT64_MAX && p->growth > 0 &&
			  (uint64_t)p->growth > max_total_growth;
		v->over_processes += p->over;
	}
	v->no_pair = v->process_count == 0;
	v->failed = v->no_pair || v->over_sites || v->over_processes;
}

int growth_judge(struct growth_verdict *v, const struct model_report *report,
		 const struct suppress_rules *rules, uint64_t max_growth,
		 uint64_t max_total_growth, int32_t judged_pid)
{
	int r = 0;

	v->wanted = true;
	v->processes = calloc(report->pair_count + 1, sizeof(*v->processes));
	if (!v->processes)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < report->pair_count; i++) {
		const struct model_pair *pair = &report->pairs[i];

		if (judged_pid && pair->to->pid != judged_pid)
			continue;
		r = judge_pair(v, pair, rules, max_growth, &v->processes[v->process_count]);
		if (r == 0)
			v->process_count++;
	}
	if (r == 0)
		conclude(v, max_total_growth);
	return r;
}

void growth_verdict_free(struct growth_verdict *v)
{
	for (size_t i = 0; i < v->site_count; i++)
		site_id_free(&v->sites[i].id);
	free(v->sites);
	free(v->processes);
	*v = (struct growth_verdict){ 0 };
}
