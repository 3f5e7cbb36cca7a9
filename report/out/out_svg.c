/* SPDX-License-Identifier: MIT */
/* The timeline as an SVG chart: one panel each for live bytes (with the
 * sites that grew most drawn under the total), blocks and open handles,
 * against seconds since the first snapshot; every point has a tooltip. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "out.h"
#include "timeline.h"

enum {
	WIDTH = 960,
	LEFT = 90,         /* room for the value labels */
	PLOT_WIDTH = 840,
	TOP = 56,
	PANEL_HEIGHT = 170,
	PANEL_GAP = 70,    /* the axis labels and the next title */
	LEGEND_ROW = 18,
	SITES_DRAWN = 5,
	Y_TICKS = 4,
	X_TICKS = 6,
};

static const char *const site_colours[SITES_DRAWN] = {
	"#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
};

/* XML text: markup escaped; bytes outside printable ASCII become '?' so
 * that any name gives well-formed XML. */
static void put_text(FILE *out, const char *text)
{
	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else if (*s == '&')
			fputs("&amp;", out);
		else if (*s == '"')
			fputs("&quot;", out);
		else if (*s < 0x20 || *s >= 0x7f)
			fputc('?', out);
		else
			fputc(*s, out);
	}
}

/* The smallest 1, 2 or 5 times a power of ten that covers `max` in `ticks`. */
static uint64_t nice_step(uint64_t max, uint64_t ticks)
{
	static const uint64_t multiples[] = { 1, 2, 5 };

	for (uint64_t power = 1;; power *= 10)
		for (size_t i = 0; i < 3; i++)
			if (power * multiples[i] * ticks >= max ||
			    power > UINT64_MAX / 100)
				return power * multiples[i];
}

/* Byte axes step by 1, 2 or 5 KiB (MiB, ...), so that labels read round. */
static uint64_t axis_step(uint64_t max, bool bytes)
{
	uint64_t unit = 1;

	while (bytes && max / unit >= 1024 * Y_TICKS && unit < (UINT64_C(1) << 40))
		unit *= 1024;
	return nice_step((max + unit - 1) / unit, Y_TICKS) * unit;
}

static void put_amount(FILE *out, uint64_t value, bool bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double scaled = (double)value;
	size_t unit = 0;

	if (!bytes) {
		fprintf(out, "%" PRIu64, value);
		return;
	}
	while (scaled >= 1024.0 && unit + 1 < sizeof(units) / sizeof(*units)) {
		scaled /= 1024.0;
		unit++;
	}
	fprintf(out, unit ? "%.1f %s" : "%.0f %s", scaled, units[unit]);
}

/* Growth per minute in the legend, signed, in the unit that reads best. */
static void put_rate(FILE *out, double bytes_per_minute)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double scaled = bytes_per_minute < 0 ? -bytes_per_minute : bytes_per_minute;
	size_t unit = 0;

	while (scaled >= 1024.0 && unit + 1 < sizeof(units) / sizeof(*units)) {
		scaled /= 1024.0;
		unit++;
	}
	fprintf(out, "%c%.1f %s/min", bytes_per_minute < 0 ? '-' : '+', scaled, units[unit]);
}

struct panel {
	const struct timeline *t;
	int top;
	uint64_t y_max;
	bool bytes;
};

static double x_of(const struct panel *p, size_t index)
{
	const struct timeline *t = p->t;
	uint64_t start = t->points[0].proc->uptime_ns;
	uint64_t span = t->points[t->count - 1].proc->uptime_ns - start;

	if (span == 0)
		return LEFT + (double)PLOT_WIDTH * (double)index / (double)(t->count - 1);
	return LEFT + (double)PLOT_WIDTH *
		      (double)(t->points[index].proc->uptime_ns - start) / (double)span;
}

static double y_of(const struct panel *p, uint64_t value)
{
	return p->top + PANEL_HEIGHT - (double)PANEL_HEIGHT * (double)value /
					       (double)p->y_max;
}

static void put_y_axis(FILE *out, const struct panel *p, uint64_t step)
{
	for (uint64_t v = 0; v <= p->y_max; v += step) {
		double y = y_of(p, v);

		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/>\n", LEFT, y, LEFT + PLOT_WIDTH, y);
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", LEFT - 6,
			y + 4);
		put_amount(out, v, p->bytes);
		fputs("</text>\n", out);
	}
}

static void put_x_axis(FILE *out, const struct panel *p)
{
	const struct timeline *t = p->t;
	uint64_t span_ms = (t->points[t->count - 1].proc->uptime_ns -
			    t->points[0].proc->uptime_ns) / 1000000;
	uint64_t step = nice_step(span_ms ? span_ms : 1, X_TICKS);
	int y = p->top + PANEL_HEIGHT;

	for (uint64_t ms = 0; span_ms && ms <= span_ms; ms += step) {
		double x = LEFT + (double)PLOT_WIDTH * (double)ms / (double)span_ms;

		fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f s"
			"</text>\n", x, y + 16, step >= 1000 ? 0 : step >= 100 ? 1 : 3,
			(double)ms / 1000.0);
	}
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
		LEFT, y, LEFT + PLOT_WIDTH, y);
}

static void put_polyline(FILE *out, const struct panel *p, const uint64_t *values,
			 const char *colour, double width)
{
	fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
		"points=\"", colour, width);
	for (size_t i = 0; i < p->t->count; i++)
		fprintf(out, "%s%.1f,%.1f", i ? " " : "", x_of(p, i), y_of(p, values[i]));
	fputs("\"/>\n", out);
}

/* The total: a line and one point per snapshot, each with its numbers. */
static void put_total(FILE *out, const struct panel *p, const char *name,
		      const uint64_t *values)
{
	fprintf(out, "<g class=\"series\" data-series=\"%s\">\n", name);
	put_polyline(out, p, values, "#1f77b4", 2.0);
	for (size_t i = 0; i < p->t->count; i++) {
		const struct model_process *proc = p->t->points[i].proc;

		fprintf(out, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
			"fill=\"#1f77b4\"><title>snapshot %" PRIu32 " \"", x_of(p, i),
			y_of(p, values[i]), proc->seq);
		put_text(out, proc->label);
		fprintf(out, "\" at %.3f s: ", (double)(proc->uptime_ns -
					  p->t->points[0].proc->uptime_ns) / 1e9);
		put_amount(out, values[i], p->bytes);
		fprintf(out, " %s</title></circle>\n", name);
	}
	fputs("</g>\n", out);
}

static void put_panel(FILE *out, const struct timeline *t, int index,
		      const char *name, const uint64_t *values)
{
	struct panel p = { .t = t, .top = TOP + index * (PANEL_HEIGHT + PANEL_GAP),
			   .bytes = index == 0 };
	uint64_t max = 0, step;

	for (size_t i = 0; i < t->count; i++)
		max = values[i] > max ? values[i] : max;
	step = axis_step(max ? max : 1, p.bytes);
	p.y_max = (max + step - 1) / step * step;
	if (p.y_max == 0)
		p.y_max = step;
	fprintf(out, "<g class=\"panel\" data-panel=\"%s\">\n", name);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s %s</text>\n",
		LEFT, p.top - 10, index == 2 ? "open" : "live", name);
	put_y_axis(out, &p, step);
	put_x_axis(out, &p);
	for (size_t i = 0; index == 0 && i < t->site_count && i < SITES_DRAWN; i++) {
		fprintf(out, "<g class=\"series\" data-series=\"site-%zu\">\n", i + 1);
		put_polyline(out, &p, t->sites[i].sizes, site_colours[i], 1.5);
		fputs("</g>\n", out);
	}
	put_total(out, &p, name, values);
	fputs("</g>\n", out);
}

static void put_legend(FILE *out, const struct timeline *t, int top)
{
	char where[400];

	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" "
		"fill=\"#1f77b4\"/>\n<text x=\"%d\" y=\"%d\">total</text>\n", LEFT,
		top - 5, LEFT + 20, top);
	for (size_t i = 0; i < t->site_count && i < SITES_DRAWN; i++) {
		int y = top + (int)(i + 1) * LEGEND_ROW;

		out_stats_where(t->sites[i].growth, where, sizeof(where));
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" "
			"fill=\"%s\"/>\n<text x=\"%d\" y=\"%d\">", LEFT, y - 5,
			site_colours[i], LEFT + 20, y);
		put_rate(out, t->sites[i].bytes_per_minute);
		fputs(": ", out);
		put_text(out, where);
		fputs("</text>\n", out);
	}
}

static int put_chart(FILE *out, const struct timeline *t, uint64_t *values)
{
	const struct model_process *first = t->points[0].proc;
	int legend_top = TOP + 3 * (PANEL_HEIGHT + PANEL_GAP);
	size_t rows = t->site_count < SITES_DRAWN ? t->site_count : SITES_DRAWN;
	int height = legend_top + (int)(rows + 1) * LEGEND_ROW + 10;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">",
		WIDTH, height, WIDTH, height, LEFT);
	put_text(out, first->exe[0] ? first->exe : "?");
	fprintf(out, " (pid %" PRId32 "): %zu snapshots</text>\n", first->pid, t->count);
	for (int panel = 0; panel < 3; panel++) {
		for (size_t i = 0; i < t->count; i++)
			values[i] = panel == 0 ? t->points[i].bytes
				    : panel == 1 ? t->points[i].blocks : t->points[i].handles;
		put_panel(out, t, panel, panel == 0 ? "bytes" : panel == 1 ? "blocks"
			  : "handles", values);
	}
	put_legend(out, t, legend_top);
	fputs("</svg>\n", out);
	return 0;
}

int out_timeline_svg(FILE *out, const struct timeline *t)
{
	uint64_t *values = calloc(t->count, sizeof(*values));
	int r;

	if (!values)
		return -ENOMEM;
	r = put_chart(out, t, values);
	free(values);
	return r;
}
