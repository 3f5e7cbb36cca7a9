/* SPDX-License-Identifier: MIT */
/* Allocation sites and their symbolic keys. A key never holds a runtime
 * address, only names, file:line and module basename (+ offset for a frame
 * without any symbol), so that two runs of one binary (ASLR moves every
 * address), or of a rebuilt one, give equal keys. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "frame.h"
#include "pool.h"
#include "sitekey.h"

__attribute__((format(printf, 2, 3)))
static int append(struct sitekey_buffer *buffer, const char *fmt, ...)
{
	va_list ap;
	int len, r;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -EINVAL;
	r = ARRAY_RESERVE(buffer->text, buffer->capacity, buffer->length, (size_t)len + 1);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(buffer->text + buffer->length, buffer->capacity - buffer->length,
		  fmt, ap);
	va_end(ap);
	buffer->length += (size_t)len;
	return 0;
}

/* Where the code is without debug information: module basename + offset. */
static int append_location(struct sitekey_buffer *b, const struct model_frame *f)
{
	if (!f->module)
		return append(b, "??");
	return append(b, "%s+0x%" PRIx64, base_name(f->module), f->offset);
}

static int append_traceback(struct sitekey_buffer *b, const struct model_frame *frames,
			    size_t count)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < count; i++) {
		const struct model_frame *f = &frames[i];

		r = append(b, "%s|%s:%" PRIu32 "|%s|", f->function ? f->function : "",
			   f->file ? f->file : "", f->line, f->inlined ? "i" : "");
		/* a named frame is its name: its code offset moves with every
		 * rebuild; only a frame without a symbol is its offset */
		if (r == 0 && (f->function || f->file))
			r = append(b, "%s", f->module ? base_name(f->module) : "");
		else if (r == 0)
			r = append_location(b, f);
		if (r == 0)
			r = append(b, "\n");
	}
	return r;
}

/* The key of one frame, and which of its fields a report shows. */
static int append_frame_key(struct sitekey_buffer *b, enum stats_key key,
			    const struct model_frame *f, struct model_frame *shown)
{
	switch (key) {
	case STATS_KEY_LINENO:
		if (!f->file)
			break;
		*shown = (struct model_frame){ .function = f->function, .file = f->file,
					       .line = f->line, .module = f->module,
					       .inlined = f->inlined, .python = f->python };
		return append(b, "%s:%" PRIu32, f->file, f->line);
	case STATS_KEY_FUNCTION:
		if (!f->function)
			break;
		*shown = (struct model_frame){ .function = f->function, .module = f->module };
		return append(b, "%s\t%s", f->function,
			      f->module ? base_name(f->module) : "??");
	case STATS_KEY_FILE:
		if (!f->file)
			break;
		*shown = (struct model_frame){ .file = f->file };
		return append(b, "%s", f->file);
	default:
		break;
	}
	if (key == STATS_KEY_LINENO || key == STATS_KEY_FUNCTION) {
		*shown = *f; /* the exact code address stands for the line */
		return append_location(b, f);
	}
	*shown = (struct model_frame){ .module = f->module };
	return append(b, "%s", f->module ? base_name(f->module) : "??");
}

/* pyline and pytraceback: *frames narrowed to the Python frames, and *key
 * turned into the native key (lineno, traceback) that groups them. Stacks
 * without Python frames keep theirs. 0 or -ENOMEM. */
static int python_only(enum stats_key *key, const struct model_frame **frames,
		       size_t *count, struct pool *pool)
{
	struct model_frame *python;
	size_t n = 0;

	if (*key != STATS_KEY_PYLINE && *key != STATS_KEY_PYTRACEBACK)
		return 0;
	*key = *key == STATS_KEY_PYLINE ? STATS_KEY_LINENO : STATS_KEY_TRACEBACK;
	for (size_t i = 0; i < *count; i++)
		n += (*frames)[i].python;
	if (n == 0)
		return 0;
	python = pool_alloc(pool, n * sizeof(*python));
	if (!python)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < *count; i++)
		if ((*frames)[i].python)
			python[n++] = (*frames)[i];
	*frames = python;
	*count = *key == STATS_KEY_LINENO ? 1 : n;
	return 0;
}

int sitekey_make(enum stats_key key, const struct model_frame *frames, size_t count,
		 struct sitekey_buffer *buffer, struct pool *pool,
		 struct model_stack *shown)
{
	struct model_frame *frame;
	int r = python_only(&key, &frames, &count, pool);

	if (r < 0)
		return r;
	buffer->length = 0;
	*shown = (struct model_stack){ 0 };
	if (count == 0)
		return append(buffer, "(no stack)");
	if (key == STATS_KEY_TRACEBACK) {
		shown->frames = (struct model_frame *)frames;
		shown->count = count;
		return append_traceback(buffer, frames, count);
	}
	frame = pool_alloc(pool, sizeof(*frame));
	if (!frame)
		return -ENOMEM;
	shown->frames = frame;
	shown->count = 1;
	return append_frame_key(buffer, key, &frames[0], frame);
}

void sitekey_buffer_free(struct sitekey_buffer *buffer)
{
	free(buffer->text);
	*buffer = (struct sitekey_buffer){ 0 };
}
