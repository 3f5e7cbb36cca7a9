/* SPDX-License-Identifier: MIT */
/* Statistics by Python type as text, one line per type as objgraph's
 * show_growth prints them, with the line that made most of them:
 * "MyListener +19,900 (+1.1 MiB) at app.py:13 subscribe()". */
#include <inttypes.h>
#include <stdio.h>

#include "frame.h"
#include "out.h"

/* 19900 -> "19,900", with a sign when asked for. */
static void count_text(int64_t value, bool sign, char *buf, size_t size)
{
	uint64_t magnitude = value < 0 ? -(uint64_t)value : (uint64_t)value;
	char digits[32], *at = digits + sizeof(digits) - 1;
	int n = 0;

	*at = '\0';
	do {
		if (n && n % 3 == 0)
			*--at = ',';
		*--at = (char)('0' + magnitude % 10);
		magnitude /= 10;
		n++;
	} while (magnitude);
	snprintf(buf, size, "%s%s", value < 0 ? "-" : sign ? "+" : "", at);
}

/* 1153433 -> "1.1 MiB"; below 1 KiB in bytes. */
static void size_text(int64_t value, bool sign, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	uint64_t magnitude = value < 0 ? -(uint64_t)value : (uint64_t)value;
	const char *prefix = value < 0 ? "-" : sign ? "+" : "";
	double scaled = (double)magnitude;
	size_t unit = 0;

	if (magnitude < 1024) {
		snprintf(buf, size, "%s%" PRIu64 " B", prefix, magnitude);
		return;
	}
	for (scaled /= 1024; scaled >= 1024 && unit + 1 < sizeof(units) / sizeof(*units);
	     unit++)
		scaled /= 1024;
	snprintf(buf, size, "%s%.1f %s", prefix, scaled, units[unit]);
}

/* "app.py:13 subscribe()" for a Python (or any sourced) frame. */
void out_pytype_where(const struct stats_entry *e, char *buf, size_t size)
{
	const struct model_frame *f = e->stack.count ? &e->stack.frames[0] : NULL;

	if (f && f->python && f->file)
		snprintf(buf, size, "%s:%" PRIu32 " %s()", f->file, f->line,
			 f->function ? f->function : "?");
	else if (f)
		frame_key_text(f, buf, size);
	else
		snprintf(buf, size, "(no stack)");
}

void out_pytype_entry(FILE *out, const struct stats_entry *e, bool is_diff)
{
	char count[40], bytes[40], where[2048];

	count_text(is_diff ? e->count_diff : (int64_t)e->count, is_diff, count, sizeof(count));
	size_text(is_diff ? e->size_diff : (int64_t)e->size, is_diff, bytes, sizeof(bytes));
	out_pytype_where(e, where, sizeof(where));
	fprintf(out, "%s %s (%s) at %s", e->pytype, count, bytes, where);
	if (is_diff) {
		count_text((int64_t)e->count, false, count, sizeof(count));
		fprintf(out, ", %s now", count);
	}
	fputc('\n', out);
}

/* What was typed, and what could not be: said under the totals. */
void out_pytype_coverage(FILE *out, const struct model_process *p)
{
	const struct lks_python *py = &p->python;

	if (!p->has_python || !(py->flags & LKS_PYF_TYPED)) {
		fprintf(out, "no typed Python objects in snapshot %" PRIu32 " (%s)\n", p->seq,
			p->has_python ? "not typed: python_types=0, Python frames off, "
					"or the interpreter not started yet" :
					"no CPython in the process");
		return;
	}
	fprintf(out, "snapshot %" PRIu32 ": %" PRIu64 " Python objects typed, %" PRIu64
		" blocks not (buffers, or objects whose type could not be proven)", p->seq,
		py->typed_blocks, py->untyped_blocks);
	if (py->unreadable_blocks)
		fprintf(out, ", %" PRIu64 " freed while they were read", py->unreadable_blocks);
	fprintf(out, "; typing took %.1f ms\n", (double)py->typing_ns / 1e6);
}
