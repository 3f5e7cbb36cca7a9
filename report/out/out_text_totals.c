/* SPDX-License-Identifier: MIT */
/* The end of each process's text report: the totals by class, handle and
 * counter, and the SUMMARY line, which says when the numbers above it are
 * incomplete and which counter says so. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "out_text.h"

/* Most of what the shim maps is reserved and never touched: what is in RAM
 * is its real cost. Files of older shims only have the reservation. */
static void print_tool_memory(FILE *out, const struct lks_counters *c)
{
	const double mib = 1024.0 * 1024.0;

	if (c->tool_resident_bytes)
		fprintf(out, "the shim's tables held %.1f MiB in RAM (%.1f MiB reserved)\n",
			(double)c->tool_resident_bytes / mib, (double)c->tool_bytes / mib);
	else
		fprintf(out, "the shim reserved %.1f MiB for its tables\n",
			(double)c->tool_bytes / mib);
}

/* Names each rule that suppressed handles once, in the order the lists
 * show the groups. */
void print_rule_names(FILE *out, const struct model_process *p)
{
	const struct model_handle_group *const lists[] = {
		p->handle_groups, p->child_groups, p->inherited_groups
	};
	const size_t counts[] = {
		p->handle_group_count, p->child_group_count, p->inherited_group_count
	};
	const char *named[16];
	size_t named_count = 0;

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (size_t i = 0; i < counts[l]; i++) {
			const char *rule = lists[l][i].suppressed_by;
			size_t k = 0;

			while (rule && k < named_count && strcmp(named[k], rule))
				k++;
			if (!rule || k < named_count || named_count == 16)
				continue;
			fprintf(out, "%s%s", named_count ? ", " : "", rule);
			named[named_count++] = rule;
		}
}

/* A line per class of block the snapshot has (an exit snapshot's classes,
 * an in-run snapshot's "not freed"), and what the heuristics kept. */
static void print_class_totals(FILE *out, const struct model_process *p,
			       bool reachable_listed)
{
	static const char *const titles[] = {
		[LKS_CLASS_UNFREED] = "not freed",
		[LKS_CLASS_DEFINITE] = "definitely lost",
		[LKS_CLASS_INDIRECT] = "indirectly lost",
		[LKS_CLASS_POSSIBLE] = "possibly lost",
		[LKS_CLASS_REACHABLE] = "still reachable",
	};

	for (int k = 0; k <= LKS_CLASS_REACHABLE; k++) {
		const struct model_class_total *t = &p->by_class[k];
		bool expected = p->classified ? k != LKS_CLASS_UNFREED
					      : k == LKS_CLASS_UNFREED;

		if (!expected && t->sites == 0)
			continue;
		fprintf(out, "  %-16s ", titles[k]);
		print_amount(out, t->bytes, t->blocks);
		fprintf(out, " from %" PRIu64 " %s%s\n", t->sites,
			plural(t->sites, "site", "sites"),
			k == LKS_CLASS_REACHABLE && t->sites && !reachable_listed ?
			" (not listed)" : "");
	}
	for (int h = LKS_HEUR_NONE + 1; h <= LKS_HEUR_EMPTY_ARRAY; h++) {
		const struct model_class_total *t = &p->by_heuristic[h];

		if (!t->sites)
			continue;
		fprintf(out, "    of which via %s: ", model_heuristic_name(h));
		print_amount(out, t->bytes, t->blocks);
		fputc('\n', out);
	}
}

/* Open handles, and the fds that are not: passed to children, inherited,
 * suppressed, or closed behind the shim's back. */
static void print_handle_totals(FILE *out, const struct model_process *p)
{
	const struct lks_counters *c = &p->counters;

	fprintf(out, "  %-16s %zu", "handles open", p->handle_count);
	if (p->held_mappings)
		fprintf(out, " (and %zu %s of %.1f MiB still pointed at, not listed)",
			p->held_mappings, plural(p->held_mappings, "mapping", "mappings"),
			(double)p->held_mapping_bytes / (1024.0 * 1024.0));
	fputc('\n', out);
	if (p->child_handle_count)
		fprintf(out, "  %-16s %zu\n", "fds to children", p->child_handle_count);
	if (p->inherited_handle_count)
		fprintf(out, "  %-16s %zu %s from the parent, never closed (not open handles "
			"of this process)\n", "inherited", p->inherited_handle_count,
			plural(p->inherited_handle_count, "fd", "fds"));
	if (p->suppressed_handles) {
		/* counted and named, never listed as open */
		fprintf(out, "  %-16s %zu %s by ", "suppressed", p->suppressed_handles,
			plural(p->suppressed_handles, "handle", "handles"));
		print_rule_names(out, p);
		fputc('\n', out);
	}
	if (c->closed_unseen) {
		fprintf(out, "  %-16s %" PRIu64 " %s by calls the shim did not see (not open)",
			"closed unseen", c->closed_unseen,
			plural(c->closed_unseen, "fd closed", "fds closed"));
		if (c->replaced_unseen)
			fprintf(out, ", %" PRIu64 " now holding another file", c->replaced_unseen);
		fputc('\n', out);
	}
	if (c->unmapped_unseen)
		fprintf(out, "  %-16s %" PRIu64 " %s by calls the shim did not see (not open)\n",
			"unmapped unseen", c->unmapped_unseen,
			plural(c->unmapped_unseen, "mapping unmapped", "mappings unmapped"));
	if (c->opened_unseen)
		fprintf(out, "  %-16s %" PRIu64 " %s by calls the shim did not see (not listed)\n",
			"opened unseen", c->opened_unseen,
			plural(c->opened_unseen, "fd open, opened", "fds open, opened"));
}

void print_totals(FILE *out, const struct model_process *p, bool reachable_listed)
{
	const struct lks_counters *c = &p->counters;

	fprintf(out, "totals:\n");
	print_class_totals(out, p, reachable_listed);
	if (p->suppressed.sites) {
		fprintf(out, "  %-16s ", "suppressed");
		print_amount(out, p->suppressed.bytes, p->suppressed.blocks);
		fprintf(out, " from %" PRIu64 " %s (by suppression rules)\n",
			p->suppressed.sites, plural(p->suppressed.sites, "site", "sites"));
	}
	if (p->python_immortal.sites) {
		fprintf(out, "    of which CPython's immortal strings: ");
		print_amount(out, p->python_immortal.bytes, p->python_immortal.blocks);
		fprintf(out, " the interpreter left at exit (builtin:python-immortal)\n");
	}
	print_handle_totals(out, p);
	fprintf(out, "  %-16s %" PRIu64 " allocations, %" PRIu64 " frees; ", "activity",
		c->allocs, c->frees);
	print_tool_memory(out, c);
}

/* Allocations the shim saw but could not record while it was recording
 * another on the same thread: a signal handler's. */
static void print_missed_why(FILE *out, const struct lks_counters *c)
{
	if (c->busy_allocs)
		fprintf(out, ", of which %" PRIu64 " made while the shim was busy: signal "
			"handlers (busy_allocs)", c->busy_allocs);
}

/* The counters whose non-zero value makes the leak numbers incomplete,
 * each named in a clause, so that nobody mistakes a partial report for a
 * clean one. */
static void print_incomplete(FILE *out, const struct model_process *p)
{
	const struct lks_counters *c = &p->counters;
	const char *sep = "; report incomplete: ";
	const struct {
		uint64_t count;
		const char *one, *many, *key;
	} missed[] = {
		{ c->missed_allocs, "allocation not recorded", "allocations not recorded",
		  "missed_allocs" },
		{ c->missed_stacks, "stack not captured", "stacks not captured", "missed_stacks" },
		{ c->missed_handles, "handle not recorded", "handles not recorded",
		  "missed_handles" },
		{ c->missed_threads, "thread not stopped for the reachability scan",
		  "threads not stopped for the reachability scan", "missed_threads" },
		{ c->missed_children, "program started without the shim",
		  "programs started without the shim", "missed_children" },
	};

	if (p->flags & LKS_HF_OWN_MALLOC) {
		fprintf(out, "%sthe program's own malloc was not interposed: no allocation "
			"was seen (own_malloc)", sep);
		sep = ", ";
	}
	for (size_t i = 0; i < sizeof(missed) / sizeof(missed[0]); i++)
		if (missed[i].count) {
			fprintf(out, "%s%" PRIu64 " %s (%s)", sep, missed[i].count,
				plural(missed[i].count, missed[i].one, missed[i].many),
				missed[i].key);
			if (i == 0)
				print_missed_why(out, c);
			sep = ", ";
		}
	if (c->unreadable_root_bytes)
		fprintf(out, "%s%" PRIu64 " bytes of globals the program made unreadable, "
			"not scanned (unreadable_root_bytes)", sep, c->unreadable_root_bytes);
}

/* Counters worth a word that do not make the numbers incomplete. */
static void print_notes(FILE *out, const struct lks_counters *c)
{
	if (c->as_limit_bytes)
		fprintf(out, "; the shim's tables stopped growing at RLIMIT_AS %.1f MiB "
			"(as_limit_bytes)",
			(double)c->as_limit_bytes / (1024.0 * 1024.0));
	if (c->recovered_scopes)
		fprintf(out, "; %" PRIu64 " %s out of the shim, recording went on "
			"(recovered_scopes)", c->recovered_scopes,
			plural(c->recovered_scopes, "jump", "jumps"));
	if (c->mismatched_frees)
		fprintf(out, "; %" PRIu64 " mismatched frees (mismatched_frees)",
			c->mismatched_frees);
	if (c->unwind_truncated)
		fprintf(out, "; %" PRIu64 " %s cut short (unwind_truncated)", c->unwind_truncated,
			plural(c->unwind_truncated, "stack", "stacks"));
	if (c->unwind_checked)
		fprintf(out, "; unwind check: %" PRIu64 " of %" PRIu64 " stacks differ from "
			"libunwind (unwind_differences)", c->unwind_differences, c->unwind_checked);
	/* blocks allocated before the shim was ready: freed, so no leak is
	 * missing, but worth a word when someone counts */
	if (c->unknown_frees)
		fprintf(out, "; %" PRIu64 " frees of blocks never recorded (unknown_frees)",
			c->unknown_frees);
}

void print_summary(FILE *out, const struct style *st, const struct model_process *p)
{
	fprintf(out, "%sSUMMARY: ", st->bold);
	print_amount(out, p->leaked_bytes, p->leaked_blocks);
	/* an in-run snapshot is not classified: its blocks are live, not lost */
	fprintf(out, " %s from %" PRIu64 " %s, %zu %s open",
		p->classified ? "leaked" : "not freed", p->leak_sites,
		plural(p->leak_sites, "site", "sites"), p->handle_count,
		plural(p->handle_count, "handle", "handles"));
	if (p->child_handle_count)
		fprintf(out, ", %zu %s leaked into child programs", p->child_handle_count,
			plural(p->child_handle_count, "fd", "fds"));
	if (p->inherited_handle_count)
		fprintf(out, ", %zu inherited %s never closed", p->inherited_handle_count,
			plural(p->inherited_handle_count, "fd", "fds"));
	if (p->classified) {
		fprintf(out, ", ");
		print_amount(out, p->by_class[LKS_CLASS_REACHABLE].bytes,
			     p->by_class[LKS_CLASS_REACHABLE].blocks);
		fprintf(out, " still reachable");
	}
	print_incomplete(out, p);
	print_notes(out, &p->counters);
	fprintf(out, "%s\n", st->reset);
}
