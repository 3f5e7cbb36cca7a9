/* SPDX-License-Identifier: MIT */
/* The gate's verdict as JUnit XML, the format GitLab, Jenkins and most CI
 * test panels read: one testcase per process, one failure per new site of
 * a failing gate, with the site's stack as the failure's text. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "out.h"

/* Bytes of the valid UTF-8 sequence at s, or 0. XML 1.0 allows no control
 * characters but tab and newlines, so those count as invalid too. */
static size_t xml_char_length(const unsigned char *s)
{
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r';
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong, surrogate, above U+10FFFF */
	return len;
}

/* Text or attribute value; what XML cannot carry becomes U+FFFD. */
static void put_xml(FILE *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	while (*s) {
		size_t len = xml_char_length(s);

		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\n': fputs("&#10;", out); break;
		default:
			if (len)
				fwrite(s, 1, len, out);
			else
				fputs("\xef\xbf\xbd", out);
		}
		s += len ? len : 1;
	}
}

static void put_frame(FILE *out, size_t index, const struct model_frame *f)
{
	char text[2048];

	frame_text(f, index, FRAME_INDEX | FRAME_INLINED, text, sizeof(text));
	put_xml(out, text);
	fputs("\n", out);
}

/* One failure: its rule, a one-line message, and a stack as its text. */
static void put_failure_of(FILE *out, const char *rule, const char *message,
			   const struct model_stack *stack)
{
	fputs("      <failure type=\"", out);
	put_xml(out, rule);
	fputs("\" message=\"", out);
	put_xml(out, message);
	fputs("\">", out);
	for (size_t i = 0; stack && i < stack->count; i++)
		put_frame(out, i, &stack->frames[i]);
	fputs("</failure>\n", out);
}

static void put_failure(FILE *out, const struct gate_site *site)
{
	char text[512];

	gate_site_text(site, text, sizeof(text));
	put_failure_of(out, site->rule, text,
		       site->leak ? &site->leak->stack : &site->handles->stack);
}

/* The growth gate's failures of the process `pid`; with `first`, also
 * the one of a run in which no process took the two snapshots. */
static size_t put_growth_failures(FILE *out, const struct gate_verdict *v, int32_t pid,
				  bool first)
{
	const struct growth_verdict *g = &v->growth;
	char text[600], message[700];
	size_t count = 0;

	if (g->no_pair && first) {
		snprintf(message, sizeof(message), "no process took snapshots labelled \"%s\" "
			 "and then \"%s\"", v->config->between[0], v->config->between[1]);
		if (out)
			put_failure_of(out, "growth/total", message, NULL);
		count++;
	}
	for (size_t i = 0; i < g->site_count; i++) {
		if (!g->sites[i].over || g->sites[i].pair->to->pid != pid)
			continue;
		growth_site_text(v, &g->sites[i], text, sizeof(text));
		snprintf(message, sizeof(message), "%s: over --max-growth %" PRIu64, text,
			 v->config->max_growth);
		if (out)
			put_failure_of(out, "growth/site", message, g->sites[i].stack);
		count++;
	}
	for (size_t i = 0; i < g->process_count; i++) {
		const struct growth_process *p = &g->processes[i];

		if (!p->over || p->pair->to->pid != pid)
			continue;
		growth_process_text(v, p, text, sizeof(text));
		snprintf(message, sizeof(message), "%s: over --max-total-growth %" PRIu64, text,
			 v->config->max_total_growth);
		if (out)
			put_failure_of(out, "growth/total", message,
				       p->largest ? p->largest->stack : NULL);
		count++;
	}
	return count;
}

/* The process itself (its pid differs in every run, so it is here and
 * not in the name), then the sites that do not fail the gate: known from
 * the baseline, or new but within the limits. */
static void put_output(FILE *out, const struct gate_verdict *v,
		       const struct model_process *proc)
{
	char text[512];

	fprintf(out, "      <system-out>pid %" PRId32 ": ", proc->pid);
	put_xml(out, proc->exe);
	fputs("&#10;", out);
	for (size_t i = 0; i < v->site_count; i++) {
		const struct gate_site *s = &v->sites[i];

		if (s->proc != proc || (v->sites_failed && !s->known))
			continue;
		gate_site_text(s, text, sizeof(text));
		put_xml(out, s->known ? "known from the baseline: " : "within the limits: ");
		put_xml(out, text);
		fputs("&#10;", out);
	}
	fputs("</system-out>\n", out);
}

static bool has_failures(const struct gate_verdict *v, const struct model_process *proc,
			 bool first)
{
	for (size_t i = 0; v->sites_failed && i < v->site_count; i++)
		if (v->sites[i].proc == proc && !v->sites[i].known)
			return true;
	return put_growth_failures(NULL, v, proc->pid, first) > 0;
}

static const char *exe_name(const struct model_process *proc)
{
	return proc->exe[0] ? base_name(proc->exe) : "?";
}

/* A test case's name is the same in every pipeline, so that GitLab and
 * Jenkins follow a failure from one to the next: the executable's name,
 * no pid, and " #N" when N judged processes share it (in report order:
 * the started process first, then by pid). */
static void put_name(FILE *out, const struct model_report *report, size_t judged,
		     size_t index)
{
	const char *name = exe_name(report->processes[index]);
	size_t ordinal = 0, same = 0;

	for (size_t i = 0; i < judged; i++)
		if (strcmp(exe_name(report->processes[i]), name) == 0) {
			same++;
			if (i <= index)
				ordinal++;
		}
	put_xml(out, name);
	if (same > 1)
		fprintf(out, " #%zu", ordinal);
}

static void put_testcase(FILE *out, const struct model_report *report,
			 const struct gate_verdict *v, size_t index)
{
	const struct model_process *proc = report->processes[index];

	fputs("    <testcase classname=\"leakscope\" name=\"", out);
	put_name(out, report, v->process_count, index);
	fputs("\">\n", out);
	if (proc->skipped) {
		fputs("      <skipped message=\"", out);
		put_xml(out, proc->skipped);
		fputs("\"/>\n", out);
	}
	for (size_t i = 0; v->sites_failed && i < v->site_count; i++)
		if (v->sites[i].proc == proc && !v->sites[i].known)
			put_failure(out, &v->sites[i]);
	put_growth_failures(out, v, proc->pid, index == 0);
	put_output(out, v, proc);
	fputs("    </testcase>\n", out);
}

int out_junit(FILE *out, const struct model_report *report,
	      const struct gate_verdict *v)
{
	size_t failed_cases = 0;

	/* "failures" counts testcases that failed, as JUnit's own runner does */
	for (size_t i = 0; i < v->process_count; i++)
		failed_cases += has_failures(v, report->processes[i], i == 0);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out, "<testsuites name=\"leakscope\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\">\n", v->process_count, failed_cases);
	fprintf(out, "  <testsuite name=\"leakscope\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\" skipped=\"%zu\">\n", v->process_count, failed_cases,
		v->skipped_processes);
	for (size_t i = 0; i < v->process_count; i++)
		put_testcase(out, report, v, i);
	fputs("  </testsuite>\n</testsuites>\n", out);
	return 0;
}
